"""The generated OpenAPI document says what the endpoints really do: every route is in it and nothing else; every
request body it documents is accepted when valid and refused, with a documented 4xx, when it breaks a declared
limit; the answers validate against the documented response schemas; and a limit is declared once, so changing it
changes the form, the service and the document together."""
from __future__ import annotations

import datetime as dt
import uuid

import jsonschema_rs
import pytest
from werkzeug.datastructures import MultiDict

from volunteer_registry.activities.forms import ActivityForm
from volunteer_registry.activities.models import Shift
from volunteer_registry.activities.schemas import ACTIVITY, ACTIVITY_INPUT
from volunteer_registry.activities.services import ActivityData, ActivityError, clean_activity_data
from volunteer_registry.activities.services import sign_up as sign_up_service
from volunteer_registry.api.openapi import openapi_path
from volunteer_registry.certificates.models import Certificate
from volunteer_registry.checkin.services import ScanRequest, record_scan
from volunteer_registry.exchange.services import create_transfer_code
from volunteer_registry.extensions import db
from volunteer_registry.ledger.log import extend_log
from volunteer_registry.organizations.services import apply_for_membership

from ..certificates.conftest import certified  # noqa: F401  (the fixture)
from ..conftest import valid_credit_code, valid_resident_id
from .conftest import HTTP_METHODS, token_for

T = dt.timedelta


@pytest.fixture
def document(api):
    response = api.get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def _schema_of(document: dict, schema: dict) -> dict:
    """A documented schema, its $refs resolved against the document's components when validated."""
    return {**schema, "components": document["components"]}


def _resolved(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


# --- routes and paths -----------------------------------------------------------------------------------------------


def test_every_api_route_is_documented_and_every_documented_operation_has_a_route(app, document):
    routes = {(openapi_path(rule.rule), method.lower())
              for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, item in document["paths"].items() for method in item
                  if method in HTTP_METHODS}
    assert len(routes) >= 25
    assert routes == documented


def test_an_endpoint_without_a_declaration_is_not_served_undocumented(app):
    from volunteer_registry.api import openapi

    rule = next(rule for rule in app.url_map.iter_rules() if rule.endpoint == "api.me")
    with pytest.raises(LookupError, match="api.me"):
        openapi._operation(rule, lambda: None, {})


# --- request bodies: a valid one passes, one breaking each declared limit is refused ---------------------------------


def _person(make, name="卓玛", **overrides):
    return make.volunteer(name=name, **overrides)


def _scene(key, api, make, certified_site):  # noqa: C901 (one small scene per documented body)
    """(method, path, token, a valid body) for the operation ``key``, with the rows it needs."""
    if key == ("post", "/organizations"):
        user = make.user()
        db.session.commit()
        return lambda: {"name": "Kunlun Volunteers", "org_type": "social_group", "credit_code": valid_credit_code(),
                        "region_code": "630102", "address": "1 Kunlun Road", "person_in_charge": "Ma Li",
                        "contact_phone": "13912345678", "contact_email": "org@example.org",
                        "description": "Visits to the elderly", "join_mode": "approval"}, "/organizations", user
    if key == ("post", "/organizations/{code}/decision"):
        org = make.org(status="pending")
        admin = make.admin()
        db.session.commit()
        return lambda: {"decision": "approve"}, f"/organizations/{org.code}/decision", admin
    if key == ("put", "/me/volunteer"):
        user = make.user()
        db.session.commit()
        birth = dt.date(1990, 5, 17)
        return lambda: {"name": "王芳", "gender": "female", "birth_date": birth.isoformat(),
                        "id_type": "resident_id", "id_number": valid_resident_id(birth=birth, gender="female"),
                        "phone": "13800138000", "email": "wf@example.org", "region_code": "630102",
                        "skills": "first aid", "consent": True}, "/me/volunteer", user
    if key == ("post", "/organizations/{code}/members/{volunteer_number}/decision"):
        org = make.org(join_mode="approval")
        person = _person(make)
        apply_for_membership(make.account_of(person), org)
        db.session.commit()
        path = f"/organizations/{org.code}/members/{person.volunteer_number}/decision"
        return lambda: {"decision": "approve"}, path, make.org_admin_of(org)
    if key == ("post", "/activities"):
        org = make.org()
        coordinator = make.coordinator(org)
        db.session.commit()
        return lambda: {"organization": org.code, "title": "Reading to the elderly", "category": "elderly",
                        "recipient": "Chengxi care home", "region_code": "630102", "address": "12 Wusi Road",
                        "starts_at": "2031-05-01T09:00:00+08:00", "ends_at": "2031-05-01T12:30:00+08:00",
                        "person_in_charge": "Ma Li", "capacity": 20, "grace_minutes": 15, "latitude": 36.62,
                        "longitude": 101.78, "radius_m": 300, "signup_mode": "auto",
                        "risk_disclosure": "Stairs", "description": "Weekly visits"}, "/activities", coordinator
    if key == ("post", "/activities/{code}/signups"):
        activity = make.activity(starts_at=dt.datetime(2031, 5, 1, 1, tzinfo=dt.UTC),
                                 ends_at=dt.datetime(2031, 5, 1, 4, tzinfo=dt.UTC))
        person = _person(make)
        db.session.commit()
        shift_id = db.session.scalar(db.select(Shift.id).where(Shift.activity_id == activity.id))
        return lambda: {"shift": shift_id}, f"/activities/{activity.code}/signups", make.account_of(person)
    if key in (("post", "/scans"), ("post", "/entries/decisions")):
        activity = make.activity()
        coordinator = make.coordinator(activity.organization)
        person = _person(make)
        sign_up_service(make.account_of(person), activity, now=activity.starts_at - T(days=1))
        db.session.commit()
        if key == ("post", "/scans"):
            return lambda: {"event_id": uuid.uuid4().hex, "activity": activity.code,
                            "volunteer_number": person.volunteer_number, "direction": "in",
                            "location": {"latitude": 36.62, "longitude": 101.78}}, "/scans", coordinator
        entry = None
        for direction, minutes in (("in", 0), ("out", 45)):
            entry = record_scan(coordinator, ScanRequest(
                event_id=uuid.uuid4().hex, activity_code=activity.code, volunteer_number=person.volunteer_number,
                direction=direction), now=activity.starts_at + T(minutes=minutes)).entry
        db.session.commit()
        entry_id = entry.id
        return lambda: {"entries": [entry_id], "decision": "approve"}, "/entries/decisions", coordinator
    if key == ("post", "/exchange/transfers"):
        person = _person(make, name="次仁")
        db.session.commit()

        def fresh_code() -> dict:  # a code works once: each request gets its own
            code, _row = create_transfer_code(person, None)
            db.session.commit()
            return {"code": code}
        return fresh_code, "/exchange/transfers", make.account_of(person)
    org, admin, volunteer, _coordinator, _activities = certified_site
    period = {"period_start": (dt.date.today() - T(days=30)).isoformat(), "period_end": dt.date.today().isoformat()}
    if key == ("post", "/certificates"):
        return lambda: {"volunteer_number": volunteer.volunteer_number, "organization": org.code,
                        **period}, "/certificates", admin
    if key == ("post", "/certificates/{code}/revocation"):
        # the certificate POST /certificates issued, or one issued now
        code = db.session.scalar(db.select(Certificate.code).where(Certificate.organization_id == org.id,
                                                                   Certificate.status == "valid"))
        if code is None:
            issued = api.post("/certificates", token=token_for(admin), json={
                "volunteer_number": volunteer.volunteer_number, "organization": org.code, **period})
            assert issued.status_code == 201, issued.get_json()
            code = issued.get_json()["code"]
        return lambda: {"reason": "The period was wrong."}, f"/certificates/{code}/revocation", admin
    raise LookupError(f"no scene for {key}: add one for the new request body")


#: limits the service does not refuse, and why (none may be added without a reason)
NOT_REFUSED = {
    ("Revocation", "reason", "maxLength"): "a revocation's reason is kept cut to its first 500 characters "
                                           "(certificates.services), as the paper printed it",
}


def _breaking(name: str, schema: dict, document: dict, valid: dict, prefix: tuple = ()):
    """(field path, limit, a value that breaks it) for each declared limit of ``schema``'s properties."""
    for key, spec in _resolved(document, schema).get("properties", {}).items():
        spec = _resolved(document, spec)
        where = (*prefix, key)
        if "maxLength" in spec:
            yield where, "maxLength", "x" * (spec["maxLength"] + 1)
        if "pattern" in spec:
            yield where, "pattern", "!"
        if "enum" in spec:
            yield where, "enum", "not-one-of-them"
        if "minimum" in spec:
            yield where, "minimum", spec["minimum"] - 1
        if "maximum" in spec:
            yield where, "maximum", spec["maximum"] + 1
        if "minItems" in spec:
            yield where, "minItems", []
        if "maxItems" in spec:
            # distinct items: a repeated id is one id (the service decides each entry once)
            yield where, "maxItems", [*valid.get(key, []), *range(10**9, 10**9 + spec["maxItems"] + 1)]
        items = spec.get("items", {})
        if "minimum" in items:
            yield where, "items.minimum", [items["minimum"] - 1]
        if "maximum" in items:
            yield where, "items.maximum", [items["maximum"] + 1]
        if spec.get("type") == "object" and "properties" in spec:
            yield from _breaking(name, spec, document, valid.get(key) or {}, where)


def _with(body: dict, where: tuple, value) -> dict:
    body = dict(body)
    if len(where) == 1:
        body[where[0]] = value
    else:
        body[where[0]] = _with(body.get(where[0]) or {}, where[1:], value)
    return body


def _request_bodies(document: dict):
    for path, item in sorted(document["paths"].items()):
        for method, operation in sorted(item.items()):
            if "requestBody" in operation:
                yield (method, path), operation


def test_every_documented_request_body_is_accepted_when_valid_and_refused_beyond_each_limit(api, make, document,
                                                                                         certified):  # noqa: F811
    checked, refused = [], 0
    for key, operation in _request_bodies(document):
        method, template = key
        schema_ref = operation["requestBody"]["content"]["application/json"]["schema"]
        name = schema_ref["$ref"].rsplit("/", 1)[1]
        valid, path, user = _scene(key, api, make, certified)
        token = token_for(user)
        refusals = {status for status in operation["responses"] if status.startswith("4")}
        first = valid()
        for where, limit, value in _breaking(name, schema_ref, document, first):
            if (name, ".".join(where), limit) in NOT_REFUSED:
                continue
            response = api.call(method.upper(), path, token=token, json=_with(valid(), where, value))
            assert str(response.status_code) in refusals, (key, where, limit, response.status_code,
                                                             response.get_data(as_text=True)[:300])
            assert response.get_json()["error"]["code"], (key, where, limit)
            refused += 1
        response = api.call(method.upper(), path, token=token, json=valid())
        assert response.status_code in (200, 201), (key, response.status_code, response.get_data(as_text=True))
        success = operation["responses"][str(response.status_code)]["content"]["application/json"]["schema"]
        validator = jsonschema_rs.Draft202012Validator(_schema_of(document, success))
        assert validator.is_valid(response.get_json()), (key, list(validator.iter_errors(response.get_json()))[:3])
        checked.append(key)
    assert len(checked) == 11 and refused >= 40, (checked, refused)


# --- answers --------------------------------------------------------------------------------------------------------


def test_real_answers_validate_against_the_documented_response_schemas(api, make, document, certified):  # noqa: F811
    org, admin, volunteer, coordinator, (river, _library) = certified
    platform = token_for(make.admin())
    staff, own = token_for(admin), token_for(make.account_of(volunteer))
    certificate = api.post("/certificates", token=staff, json={
        "volunteer_number": volunteer.volunteer_number, "organization": org.code,
        "period_start": (dt.date.today() - T(days=30)).isoformat(), "period_end": dt.date.today().isoformat()})
    assert certificate.status_code == 201
    code = certificate.get_json()["code"]
    calls = [
        ("/me", own), ("/me/volunteer", own), ("/organizations", None), (f"/organizations/{org.code}", None),
        (f"/organizations/{org.code}", staff), (f"/organizations/{org.code}/members", staff),
        (f"/activities/{river.code}", None), (f"/activities/{river.code}/attendance", staff),
        (f"/organizations/{org.code}/entries", staff), (f"/organizations/{org.code}/entries?status=approved", staff),
        (f"/volunteers/{volunteer.volunteer_number}/hours", own),
        (f"/volunteers/{volunteer.volunteer_number}/hours", staff), (f"/certificates/{code}", own),
        (f"/organizations/{org.code}/stats", staff), ("/stats", platform),
        ("/organizations/NOSUCH44", None), ("/stats", own), ("/me", None),
    ]
    templates = {path: path for path in document["paths"]}
    seen = set()
    for url, token in calls:
        path, _sep, query = url.partition("?")
        response = api.get(path, token=token, query=dict([query.split("=")]) if query else None)
        template = next(t for t in templates if _matches(t, path))
        answer = document["paths"][template]["get"]["responses"][str(response.status_code)]
        schema = answer["content"]["application/json"]["schema"]
        validator = jsonschema_rs.Draft202012Validator(_schema_of(document, schema))
        body = response.get_json()
        assert validator.is_valid(body), (url, response.status_code, list(validator.iter_errors(body))[:3])
        seen.add((template, response.status_code))
    assert len(seen) >= 15


def _matches(template: str, path: str) -> bool:
    parts, given = template.split("/"), path.split("/")
    return len(parts) == len(given) and all(p == g or p.startswith("{") for p, g in zip(parts, given, strict=True))


# --- one declaration ------------------------------------------------------------------------------------------------


def test_a_limit_changed_in_its_schema_changes_the_form_the_service_and_the_document(app, api, monkeypatch):
    title = ACTIVITY["title"]
    assert ACTIVITY_INPUT["title"] is title  # the API's body reads the same declaration
    # a frozen declaration, changed in place for this test only
    monkeypatch.setitem(title.__dict__, "max_length", 10)

    document = api.get("/openapi.json").get_json()
    assert document["components"]["schemas"]["ActivityInput"]["properties"]["title"]["maxLength"] == 10

    with app.test_request_context(method="POST"):
        form = ActivityForm(formdata=MultiDict({"title": "x" * 11}), meta={"csrf": False})
        form.validate()
        assert "10" in form.title.errors[0]
        assert form.title.flags.maxlength == 10

    data = ActivityData(title="x" * 11, category="elderly", recipient="Care home", region_code="630102",
                        address="12 Wusi Road", starts_at=dt.datetime(2031, 5, 1, 1, tzinfo=dt.UTC),
                        ends_at=dt.datetime(2031, 5, 1, 4, tzinfo=dt.UTC), person_in_charge="Ma Li")
    with pytest.raises(ActivityError) as refused:
        clean_activity_data(data)
    assert (refused.value.code, refused.value.field, refused.value.params) == ("too_long", "title", {"max": 10})


# --- the answers the parts' schemas declare: each validates, and its required fields are what it returns ---------


def _object(document: dict, schema: dict) -> tuple[set, set]:
    """(required, properties) of a documented object schema, through $refs and an allOf."""
    schema = _resolved(document, schema)
    required, properties = set(schema.get("required", [])), set(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        more_required, more_properties = _object(document, part)
        required, properties = required | more_required, properties | more_properties
    return required, properties


def _declared_fields(document: dict, schema: dict, body, where: str) -> None:
    """Every object in ``body`` holds its schema's required fields and no undeclared one, all the way down."""
    schema = _resolved(document, schema)
    if isinstance(body, dict):
        required, properties = _object(document, schema)
        assert required <= set(body) <= properties, (where, sorted(required), sorted(body), sorted(properties))
        fields = {**schema.get("properties", {})}
        for part in schema.get("allOf", []):
            fields.update(_resolved(document, part).get("properties", {}))
        for key, value in body.items():
            _declared_fields(document, fields[key], value, f"{where}.{key}")
    elif isinstance(body, list):
        for item in body:
            _declared_fields(document, schema.get("items", {}), item, f"{where}[]")


def test_each_declared_answer_validates_and_its_required_fields_are_the_keys_returned(api, make, document,
                                                                                      certified):  # noqa: F811
    org, admin, volunteer, coordinator, (river, _library) = certified
    scanned, present = _person(make, "扎西"), _person(make, "次仁")
    for person in (scanned, present):
        sign_up_service(make.account_of(person), river, now=river.starts_at - T(days=1))
    platform, staff = token_for(make.admin()), token_for(admin)
    own, scanner = token_for(make.account_of(volunteer)), token_for(coordinator)
    db.session.commit()

    def scan(person, direction):
        return ("post", "/scans", scanner, {"event_id": uuid.uuid4().hex, "activity": river.code,
                                            "volunteer_number": person.volunteer_number, "direction": direction})

    calls = [
        ("get", "/me", own, None), ("get", "/me", platform, None),
        ("get", f"/organizations/{org.code}/stats", staff, None), ("get", "/stats", platform, None),
        ("get", f"/volunteers/{volunteer.volunteer_number}/hours", own, None),
        ("get", f"/volunteers/{volunteer.volunteer_number}/hours", staff, None),
        scan(scanned, "in"), scan(scanned, "out"), scan(scanned, "out"), scan(present, "in"),
        ("get", f"/activities/{river.code}/attendance", staff, None),
    ]
    answered = []
    for method, url, token, body in calls:
        response = api.call(method.upper(), url, token=token, json=body)
        answered.append((method, url, response.status_code, response.get_json()))
    extend_log()
    db.session.commit()
    size = api.get("/ledger/leaves", query={"start": 0, "end": 1}).get_json()["tree_size"]
    assert size >= 3
    for url, query in (("/ledger/leaves", {"start": 0, "end": size}),
                       ("/ledger/proof/inclusion", {"index": 1, "tree_size": size}),
                       ("/ledger/proof/consistency", {"first": 1, "second": size})):
        response = api.get(url, query=query)
        answered.append(("get", url, response.status_code, response.get_json()))

    seen = set()
    for method, url, status, body in answered:
        template = next(t for t in document["paths"] if _matches(t, url))
        schema = document["paths"][template][method]["responses"][str(status)]["content"]["application/json"][
            "schema"]
        validator = jsonschema_rs.Draft202012Validator(_schema_of(document, schema))
        assert validator.is_valid(body), (url, status, list(validator.iter_errors(body))[:3])
        required, _properties = _object(document, schema)
        if status < 400:
            assert required == set(body), (url, status, sorted(required), sorted(body))
        _declared_fields(document, schema, body, url)
        seen.add((template, status, schema["$ref"].rsplit("/", 1)[1]))
    assert {(template, name) for template, _status, name in seen} == {
        ("/me", "Me"), ("/organizations/{code}/stats", "OrganizationStats"), ("/stats", "PlatformStats"),
        ("/volunteers/{number}/hours", "Hours"), ("/scans", "ScanResult"), ("/scans", "ScanRefusal"),
        ("/activities/{code}/attendance", "Attendance"), ("/ledger/leaves", "LeafPage"),
        ("/ledger/proof/inclusion", "InclusionProof"), ("/ledger/proof/consistency", "ConsistencyProof")}
    assert {status for template, status, _name in seen if template == "/scans"} == {201, 409}
