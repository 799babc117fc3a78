"""Property-based fuzzing of the JSON API and the main forms: whatever arrives, never a server error.

Bodies start from a valid request (so the fuzzing reaches the rules and the database, not only the first check) and
then have keys replaced by arbitrary JSON (nulls, numbers, nested lists and objects, huge strings, any Unicode
including lone surrogates), removed, or joined by unknown keys. Every 4xx must be the documented error object, and
every status must be one the OpenAPI document lists for the operation.
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import PASSWORD, login, valid_credit_code, valid_resident_id
from volunteer_registry.extensions import db, limiter
from volunteer_registry.organizations.models import JOIN_MODES, ORG_TYPES
from volunteer_registry.organizations.services import apply_for_membership
from volunteer_registry.volunteers.identity import normalize_id_number

from .conftest import assert_error_shape, documented_statuses, token_for

#: derandomized: every run (a developer's, CI's) tries the same examples, so a failure is never luck; no example
#: database, so nothing is written outside the test's folder. The whole file runs in well under a minute.
FUZZ = settings(max_examples=250, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.large_base_example])
FORMS = settings(FUZZ, max_examples=150)

# --- strategies -------------------------------------------------------------------------------------------------

#: any code point, lone surrogates included (JSON can carry them as \ud800 escapes)
any_char = st.characters(exclude_categories=())
any_text = st.text(any_char, max_size=40)
#: what a form, a query string or a URL can carry (UTF-8 encodable: no surrogates)
encodable_char = st.characters(exclude_categories=["Cs"])
form_text = st.text(encodable_char, max_size=40)
huge_text = st.builds(lambda piece, n: piece * n, st.text(any_char, min_size=1, max_size=4),
                      st.integers(min_value=500, max_value=60_000))
special_text = st.sampled_from([
    "", " ", "\x00", "null", "true", "0", "-1", "1e999", "２０００-０１-０１", "١٣٨٠٠١٣٨٠٠٠", "<script>", "' OR 1=1 --",
    "%s%(x)s{0}", "\u202e", "ﷺ" * 100, "e\u0301", "ß", "İ", "\ud800", "\udfff", "\ud83d", "\ufeff", "\r\n"])
texts = st.one_of(special_text, any_text, huge_text)
leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=-(2**70), max_value=2**70),
                   st.floats(allow_nan=True, allow_infinity=True), texts)
json_values = st.recursive(leaves, lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(any_text, children, max_size=4), max_leaves=8)
extra_keys = st.dictionaries(any_text, json_values, max_size=3)


def mutated(valid_bodies, keys: list[str], text_keys: list[str] = ()):
    """A valid body with some expected keys set to arbitrary JSON, some removed, and unknown keys added; or a
    valid body with a little arbitrary text around one of its text values (which gets past most checks)."""
    def build(base, replaced, removed, extra):
        body = {**extra, **base, **replaced}
        for key in removed:
            body.pop(key, None)
        return body

    def perturb(base, key, before, after):
        value = base.get(key)
        return {**base, key: before + ("" if value is None else str(value)) + after}

    rewritten = st.builds(build, valid_bodies, st.dictionaries(st.sampled_from(keys), json_values),
                          st.sets(st.sampled_from(keys)), extra_keys)
    if not text_keys:
        return rewritten
    nudged = st.builds(perturb, valid_bodies, st.sampled_from(text_keys), texts, texts)
    return st.one_of(valid_bodies, rewritten, nudged, nudged)


def path_segment(*known: str):
    """A path segment: a real one, or any text that cannot change which route matches."""
    return st.one_of(st.sampled_from(known),
                     st.text(st.characters(exclude_categories=["Cs"], exclude_characters="/"), min_size=1, max_size=30))


ORG_KEYS = ["name", "org_type", "credit_code", "region_code", "address", "person_in_charge", "contact_phone",
            "contact_email", "description", "join_mode"]
ORG_TEXT_KEYS = ["name", "address", "person_in_charge", "description", "contact_email", "contact_phone",
                 "credit_code"]
VOLUNTEER_KEYS = ["name", "gender", "birth_date", "id_type", "id_number", "phone", "email", "region_code", "skills",
                  "consent", "guardian_name", "guardian_consent"]
VOLUNTEER_TEXT_KEYS = ["name", "skills", "guardian_name", "email", "phone", "id_number", "birth_date"]
REGIONS = ["630000", "630100", "630102", "632801", "632857"]

#: valid applications, each with a credit code of its own (a repeated one would stop at credit_code_taken, and the
#: database outlives each example)
valid_orgs = st.fixed_dictionaries({
    "name": st.sampled_from(["Kunlun Helpers", "青海志愿者协会", "ཚོགས་པ།"]),
    "org_type": st.sampled_from(list(ORG_TYPES)),
    "credit_code": st.builds(valid_credit_code),  # a fresh one at every draw
    "region_code": st.sampled_from(REGIONS),
    "address": st.sampled_from(["1 Kunlun Road", "西宁市城东区八一路 1 号"]),
    "person_in_charge": st.sampled_from(["Ma Li", "才让"]),
    "contact_phone": st.sampled_from(["13912345678", "+86 139-1234-5678", "0971-8412345"]),
    "contact_email": st.sampled_from(["org@example.org", "志愿@例子.中国"]),
    "description": st.sampled_from(["", "Visits to the elderly"]),
    "join_mode": st.sampled_from(list(JOIN_MODES)),
}).map(lambda body: {**body, "credit_code": None} if body["org_type"] == "community_team" else body)


_sequences = itertools.count()


def _volunteer(gender, birth, passport, email, skills):
    sequence = next(_sequences) % 500  # a document of its own at every draw
    body = {"name": "卓玛", "gender": gender, "birth_date": birth.isoformat(), "phone": "13800138000",
            "region_code": "630102", "skills": skills, "consent": True, "email": email}
    if passport:
        body.update(id_type="passport", id_number=f"E{sequence:08d}")
    else:
        body.update(id_type="resident_id", id_number=valid_resident_id(
            birth=birth, sequence=sequence * 2 + (1 if gender == "male" else 0), gender=gender))
    if dt.date.today().year - birth.year <= 15:
        body.update(guardian_name="才让", guardian_consent=True)
    return body


#: valid profiles, each with an ID document of its own
valid_volunteers = st.builds(
    _volunteer, st.sampled_from(["male", "female"]),
    st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date.today() - dt.timedelta(days=365 * 6)),
    st.booleans(), st.sampled_from([None, "zhuoma@example.org"]),
    st.one_of(st.sampled_from(["", "first aid"]), st.lists(st.sampled_from(["driving", "Tibetan"]), max_size=2)))


#: hand-picked cases every run tries first (hostile text in an otherwise valid body)
KNOWN_ORG = {"name": "Helpers", "org_type": "community_team", "credit_code": None, "region_code": "630102",
             "address": "1 Kunlun Road", "person_in_charge": "Ma Li", "contact_phone": "13912345678",
             "contact_email": "org@example.org"}
KNOWN_VOLUNTEER = {"name": "卓玛", "gender": "female", "birth_date": "1949-12-31", "id_number": "11010519491231002X",
                   "phone": "13800138000", "region_code": "630102", "consent": True}


# --- checks -----------------------------------------------------------------------------------------------------


class Contract:
    """Checks each response at once for what must never happen (a 5xx, an error body of another shape) and
    collects the statuses the OpenAPI document does not list, reported after the run so that one undocumented
    status does not stop the search for server errors."""

    def __init__(self, document: dict):
        self.document = document
        self.undocumented: dict[tuple[str, str, int], str] = {}

    def check(self, response, method: str, template: str) -> None:
        status = response.status_code
        assert status < 500, (status, response.get_data(as_text=True)[:300])
        assert response.mimetype == "application/json", (status, response.mimetype)
        if status >= 400:
            assert_error_shape(response)
        else:
            assert isinstance(response.get_json(), dict)
        if str(status) not in documented_statuses(self.document, method, template):
            self.undocumented.setdefault((method, template, status), response.get_data(as_text=True)[:200])

    def assert_documented(self) -> None:
        assert self.undocumented == {}, "answered but not listed in the OpenAPI document: " + "; ".join(
            f"{m} {t} → {s} {body.strip()}" for (m, t, s), body in sorted(self.undocumented.items()))


@pytest.fixture
def contract(api):
    return Contract(api.get("/openapi.json").get_json())


def send(api, method, path, token, body):
    """Send ``body`` as JSON (Flask's encoder writes NaN and Infinity, which Python's decoder reads back)."""
    return api.call(method, path, token=token, data=json.dumps(body), content_type="application/json")


# --- JSON endpoints ---------------------------------------------------------------------------------------------


@pytest.fixture
def setting(make):
    """An approved and a pending organization, their staff, a platform admin, volunteers and their tokens."""
    admin = make.admin()
    approved = make.org(join_mode="approval")
    pending = make.org(status="pending")
    staff = make.org_admin_of(approved)
    volunteer_user = make.user()
    volunteer = make.volunteer(volunteer_user)
    apply_for_membership(volunteer_user, approved)
    tokens = {"admin": token_for(admin), "staff": token_for(staff), "volunteer": token_for(volunteer_user),
              "newcomer": token_for(make.user()), "other": token_for(make.user())}
    return {"approved": approved.code, "pending": pending.code, "volunteer_number": volunteer.volunteer_number,
            "tokens": tokens}


TOKENS = st.sampled_from(["admin", "staff", "volunteer", "newcomer", "other", None, "vr_forged"])


def _token(setting, name):
    return setting["tokens"].get(name, name)


def test_fuzz_apply_for_organization(api, setting, contract):
    @FUZZ
    @given(body=mutated(valid_orgs, ORG_KEYS, ORG_TEXT_KEYS), who=TOKENS)
    @example(body={**KNOWN_ORG, "name": "Helpers \ud800"}, who="newcomer")
    @example(body={**KNOWN_ORG, "description": "\x00" * 10}, who="newcomer")
    def run(body, who):
        response = send(api, "POST", "/organizations", _token(setting, who), body)
        contract.check(response, "POST", "/organizations")

    run()
    contract.assert_documented()


def test_fuzz_decide_organization(api, setting, contract):
    valid = st.fixed_dictionaries({"decision": st.sampled_from(["approve", "reject", "suspend", "reinstate"]),
                                   "reason": st.sampled_from(["Documents checked", None])})

    @FUZZ
    @given(body=mutated(valid, ["decision", "reason"], ["decision", "reason"]), who=TOKENS,
           code=path_segment(setting["pending"], setting["approved"]))
    @example(body={"decision": "reject", "reason": "\udfff"}, who="admin", code=setting["pending"])
    def run(body, who, code):
        response = send(api, "POST", f"/organizations/{quote(code, safe='')}/decision", _token(setting, who), body)
        contract.check(response, "POST", "/organizations/{code}/decision")

    run()
    contract.assert_documented()


def test_fuzz_volunteer_profile(api, setting, contract):
    @FUZZ
    @given(body=mutated(valid_volunteers, VOLUNTEER_KEYS, VOLUNTEER_TEXT_KEYS),
           who=st.sampled_from(["newcomer", "other", "volunteer", None]))
    @example(body={**KNOWN_VOLUNTEER, "name": "卓玛\ud800"}, who="newcomer")
    @example(body={**KNOWN_VOLUNTEER, "birth_date": "0001-01-01", "id_type": "passport"}, who="newcomer")
    def run(body, who):
        response = send(api, "PUT", "/me/volunteer", _token(setting, who), body)
        contract.check(response, "PUT", "/me/volunteer")
        number = body.get("id_number")
        if isinstance(number, str) and len(normalize_id_number(number)) > 10:
            number = normalize_id_number(number)
            rest = json.dumps({k: v for k, v in body.items() if k != "id_number"}, ensure_ascii=False).upper()
            answer = json.dumps(response.get_json(), ensure_ascii=False).upper()
            if number not in rest:
                assert number not in answer, "the full ID number is in the response"

    run()
    contract.assert_documented()


def test_fuzz_membership_decision(api, setting, contract):
    number = setting["volunteer_number"]

    @FUZZ
    @given(body=mutated(st.fixed_dictionaries({"decision": st.sampled_from(["approve", "decline"])}), ["decision"],
                           ["decision"]), who=TOKENS,
           code=path_segment(setting["approved"], setting["pending"]),
           volunteer=path_segment(number, number.replace("-", "").lower(), "3333-3333-3333"))
    def run(body, who, code, volunteer):
        path = f"/organizations/{quote(code, safe='')}/members/{quote(volunteer, safe='')}/decision"
        response = send(api, "POST", path, _token(setting, who), body)
        contract.check(response, "POST", "/organizations/{code}/members/{volunteer_number}/decision")

    run()
    contract.assert_documented()


def test_fuzz_join_and_member_list(api, setting, contract):
    @settings(FUZZ, max_examples=150)
    @given(who=TOKENS, code=path_segment(setting["approved"], setting["pending"]), body=json_values,
           status=st.one_of(st.sampled_from(["", "pending", "active"]), form_text),
           page=st.one_of(st.sampled_from(["1", "2", "0"]), form_text, st.integers().map(str)))
    @example(who="staff", code=setting["approved"], body=None, status="", page="²")
    def run(who, code, body, status, page):
        path = f"/organizations/{quote(code, safe='')}/members"
        response = send(api, "POST", path, _token(setting, who), body)
        contract.check(response, "POST", "/organizations/{code}/members")
        response = api.get(path, token=_token(setting, who), query={"status": status, "page": page})
        contract.check(response, "GET", "/organizations/{code}/members")

    run()
    contract.assert_documented()


def test_fuzz_ledger_endpoints(api, make, setting, contract):
    """Entry decisions, a volunteer's hours and the public monitor interface, with anything in the body, path or
    query: never a 5xx, always the documented error shape and a documented status."""
    from volunteer_registry.checkin.services import ScanRequest, record_scan
    from volunteer_registry.ledger.services import extend_log
    from volunteer_registry.organizations.queries import organization_by_code

    activity = make.activity(organization_by_code(setting["approved"]), allows_walk_ins=True)
    scanner = make.coordinator(activity.organization)
    for n, direction in enumerate(("in", "out", "in", "out")):  # two entries (ids 1 and 2) in a signed tree
        record_scan(scanner, ScanRequest(event_id=f"fuzz-ledger-{n}", activity_code=activity.code,
                                         volunteer_number=setting["volunteer_number"], direction=direction),
                    now=activity.starts_at + dt.timedelta(minutes=10 * n))
    extend_log()
    db.session.commit()
    decisions = st.fixed_dictionaries({"entries": st.lists(st.integers(-5, 5), max_size=3),
                                       "decision": st.sampled_from(["approve", "reject"]),
                                       "reason": st.sampled_from(["checked", ""])})
    numbers = st.one_of(st.sampled_from(["0", "1", "2", "-1", "", "10"]), form_text,
                        st.integers(-2**70, 2**70).map(str))

    @settings(FUZZ, max_examples=150)
    @given(body=mutated(decisions, ["entries", "decision", "reason"], ["decision", "reason"]), who=TOKENS,
           number=path_segment(setting["volunteer_number"]), start=numbers, end=numbers, status=form_text)
    @example(body={"entries": [2**64], "decision": "approve"}, who="staff", number=setting["volunteer_number"],
             start="0", end="1", status="pending")
    def run(body, who, number, start, end, status):
        token = _token(setting, who)
        contract.check(send(api, "POST", "/entries/decisions", token, body), "POST", "/entries/decisions")
        contract.check(api.get(f"/volunteers/{quote(number, safe='')}/hours", token=token), "GET",
                       "/volunteers/{number}/hours")
        contract.check(api.get(f"/organizations/{setting['approved']}/entries", token=token,
                               query={"status": status}), "GET", "/organizations/{code}/entries")
        contract.check(api.get("/ledger/leaves", query={"start": start, "end": end}), "GET", "/ledger/leaves")
        contract.check(api.get("/ledger/proof/inclusion", query={"index": start, "tree_size": end}), "GET",
                       "/ledger/proof/inclusion")
        contract.check(api.get("/ledger/proof/consistency", query={"first": start, "second": end}), "GET",
                       "/ledger/proof/consistency")

    run()
    contract.assert_documented()


def test_fuzz_certificate_endpoints(api, make, setting, contract):
    """Issuing, reading and revoking certificates, and the public verification link, with anything in the body,
    path or token: never a 5xx, always the documented error shape and a documented status."""
    import cbor2

    from volunteer_registry.certificates.services import issue_certificate, today
    from volunteer_registry.certificates.tokens import token_text
    from volunteer_registry.ledger.services import decide_entries, record_missing_service
    from volunteer_registry.models import utcnow
    from volunteer_registry.organizations.queries import organization_by_code
    from volunteer_registry.volunteers.queries import volunteer_by_number

    org = organization_by_code(setting["approved"])
    activity = make.activity(org, starts_at=utcnow() - dt.timedelta(days=3), ends_at=utcnow() + dt.timedelta(hours=1))
    volunteer = volunteer_by_number(setting["volunteer_number"])
    start = utcnow() - dt.timedelta(days=2)
    entry = record_missing_service(make.coordinator(org), activity, volunteer.id, start, start + dt.timedelta(hours=2),
                                   "paper sheet")
    admin = make.org_admin_of(org)
    decide_entries(admin, org, [entry.id], "approve")
    certificate = issue_certificate(admin, org, volunteer, today() - dt.timedelta(days=10), today(), render=False)
    db.session.commit()
    code, token = certificate.code, token_text(certificate.token)
    dates = st.one_of(st.sampled_from([today().isoformat(), "2020-02-30", "0001-01-01", "9999-12-31", ""]), form_text)
    issues = st.fixed_dictionaries({"volunteer_number": st.sampled_from([setting["volunteer_number"]]),
                                    "organization": st.sampled_from([setting["approved"], setting["pending"]]),
                                    "period_start": dates, "period_end": dates})
    revocations = st.fixed_dictionaries({"reason": st.sampled_from(["issued twice", ""])})
    cose = st.builds(lambda parts: cbor2.dumps(cbor2.CBORTag(18, parts)), st.lists(st.one_of(
        st.binary(max_size=80), st.integers(), st.dictionaries(st.integers(-8, 8), st.binary(max_size=10), max_size=3),
        st.just(b""), st.none()), max_size=5))
    tokens = st.one_of(st.just(token), st.binary(max_size=300).map(lambda raw: token_text(raw) if raw else "A"),
                       cose.map(token_text), path_segment(token))

    @settings(FUZZ, max_examples=120)
    @given(body=mutated(issues, ["volunteer_number", "organization", "period_start", "period_end"],
                        ["period_start", "period_end"]),
           revocation=mutated(revocations, ["reason"], ["reason"]), who=TOKENS, path=path_segment(code),
           link=tokens)
    @example(body={"volunteer_number": setting["volunteer_number"], "organization": setting["approved"],
                   "period_start": "2020-01-01", "period_end": "2020-01-01"}, revocation={"reason": "\ud800"},
             who="staff", path=code, link=token)
    def run(body, revocation, who, path, link):
        limiter.reset()  # the verification link is rate-limited per address; the fuzzer is one address
        token_ = _token(setting, who)
        contract.check(send(api, "POST", "/certificates", token_, body), "POST", "/certificates")
        segment = quote(path, safe="")
        contract.check(api.get(f"/certificates/{segment}", token=token_), "GET", "/certificates/{code}")
        contract.check(send(api, "POST", f"/certificates/{segment}/revocation", token_, revocation), "POST",
                       "/certificates/{code}/revocation")
        for accept in ("application/json", "text/html"):
            response = api.client.get("/V/" + quote(link, safe=""), headers={"Accept": accept})
            assert response.status_code in (200, 400, 404), (link, response.status_code)
            if accept == "application/json":
                assert response.get_json()["status"] in ("valid", "revoked", "superseded", "invalid")

    run()
    contract.assert_documented()


def test_fuzz_directory_queries(api, setting, contract):
    @settings(FUZZ, max_examples=150)
    @given(q=form_text, region=st.one_of(st.sampled_from(["630102", "630100", "630000", ""]), form_text),
           page=st.one_of(st.sampled_from(["1", "2", "0", "-1"]), form_text, st.integers().map(str)),
           code=path_segment(setting["approved"], setting["pending"]), who=TOKENS)
    @example(q="", region="", page="²", code=setting["approved"], who=None)
    @example(q="", region="", page="461168601842738792", code=setting["approved"], who=None)
    def run(q, region, page, code, who):
        response = api.get("/organizations", query={"q": q, "region": region, "page": page})
        contract.check(response, "GET", "/organizations")
        response = api.get(f"/organizations/{quote(code, safe='')}", token=_token(setting, who))
        contract.check(response, "GET", "/organizations/{code}")

    run()
    contract.assert_documented()


# --- web forms --------------------------------------------------------------------------------------------------


def as_form(body: dict) -> dict:
    """A JSON body as a browser would post it: no nulls, ticked boxes as "y", unticked ones absent."""
    form = {}
    for key, value in body.items():
        if value is True:
            form[key] = "y"
        elif isinstance(value, list):
            form[key] = ", ".join(value)
        elif value is not None and value is not False:
            form[key] = value
    return form


def form_values(valid, keys: list[str]):
    """A valid form with some fields replaced by arbitrary text (or repeated values), some removed, extras added;
    or a valid form with a little arbitrary text around one of its values."""
    value = st.one_of(form_text, st.text(encodable_char, min_size=200, max_size=5000),
                      st.lists(form_text, min_size=2, max_size=3))

    def build(base, replaced, removed, extra):
        form = {**extra, **base, **replaced}
        for key in removed:
            form.pop(key, None)
        return form

    def perturb(base, key, before, after):
        return {**base, key: before + str(base.get(key, "")) + after}

    return st.one_of(
        valid,
        st.builds(build, valid, st.dictionaries(st.sampled_from(keys), value), st.sets(st.sampled_from(keys)),
                  st.dictionaries(form_text, form_text, max_size=3)),
        st.builds(perturb, valid, st.sampled_from(keys), form_text, form_text))


def post_form(app, path, form, user=None):
    client = app.test_client()
    limiter.reset()
    if user is not None:
        login(client, user)
    response = client.post(path, data=form)
    db.session.rollback()  # what the end of a real request does
    assert response.status_code < 500, (path, response.status_code, form)
    return response


def test_fuzz_signup_form(app, make):
    make.user("taken@example.org")
    db.session.commit()
    valid = st.sampled_from([{"identifier": "new@example.org", "password": PASSWORD, "confirm": PASSWORD},
                             {"identifier": "13812345678", "password": PASSWORD, "confirm": PASSWORD},
                             {"identifier": "taken@example.org", "password": PASSWORD, "confirm": PASSWORD}])

    @FORMS
    @given(form=form_values(valid, ["identifier", "password", "confirm"]))
    def run(form):
        post_form(app, "/signup", form)

    run()


def test_fuzz_login_form(app, make):
    make.user("member@example.org")
    db.session.commit()
    valid = st.sampled_from([{"identifier": "member@example.org", "password": PASSWORD, "remember": "y"},
                             {"identifier": "member@example.org", "password": "wrong password"}])

    @FORMS
    @given(form=form_values(valid, ["identifier", "password", "remember"]))
    def run(form):
        post_form(app, "/login", form)

    run()


def test_fuzz_organization_application_form(app, make):
    user = make.user()
    db.session.commit()
    @FORMS
    @given(form=form_values(valid_orgs.map(as_form), ORG_KEYS))
    def run(form):
        post_form(app, "/organizations/apply", form, user)

    run()


def test_fuzz_volunteer_profile_form(app, make):
    users = [make.user(), make.user()]
    db.session.commit()
    @FORMS
    @given(form=form_values(valid_volunteers.map(as_form), VOLUNTEER_KEYS), who=st.sampled_from([0, 1]))
    def run(form, who):
        post_form(app, "/volunteer/profile", form, users[who])

    run()
