"""The contract of volunteer_registry/access.py and accounts/permissions.py: routes load and authorize through the
decorators (404 for what the caller may not know exists, 403 without the permission, the sign-in page for an
anonymous visitor, JSON on the API); services refuse an actor without the permission and write nothing; and no
view loads an organization, activity or certificate by hand."""
from __future__ import annotations

import datetime as dt
import inspect
import sys

import pytest
import sqlalchemy as sa

from volunteer_registry.activities.models import Activity, Signup
from volunteer_registry.activities.services import (
    ActivityData,
    close_activity,
    create_activity,
    decide_signup,
    publish_activity,
    sign_up,
    update_activity,
)
from volunteer_registry.audit.models import AuditEvent
from volunteer_registry.certificates.services import issue_certificate, today
from volunteer_registry.checkin.models import AttendanceSession, ManualEntry, Scan
from volunteer_registry.checkin.services import (
    ScanRequest,
    decide_manual_entry,
    fix_missed_checkout,
    record_manual_entry,
    record_scan,
)
from volunteer_registry.errors import Forbidden
from volunteer_registry.extensions import db
from volunteer_registry.models import utcnow

from .api.conftest import Api, token_for
from .certificates.conftest import approved_service
from .conftest import login

T = dt.timedelta


@pytest.fixture
def api(client):
    return Api(client)


def _counts(*models) -> dict:
    """How many rows each table holds (what a refused call must leave as it was), audit events included."""
    db.session.expire_all()
    return {model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (*models, AuditEvent)}


def _refused(call, *models) -> None:
    """``call()`` raises Forbidden and, after the rollback a request would make, no row was added or removed."""
    db.session.commit()
    before = _counts(*models)
    with pytest.raises(Forbidden):
        call()
    db.session.rollback()
    assert _counts(*models) == before


def _status(response, status: int) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:300]


def _json_error(response, status: int, code: str) -> None:
    _status(response, status)
    assert response.is_json and response.get_json()["error"]["code"] == code


def _sent_to_sign_in(response) -> None:
    _status(response, 302)
    assert response.headers["Location"].split("?")[0].endswith("/login")


# --- the decorators, per kind of object --------------------------------------------------------------------------

def test_organization_pages_and_endpoints(make, client, api):
    approved, pending = make.org(), make.org(status="pending")
    coordinator, stranger = make.coordinator(approved), make.user()
    db.session.commit()
    # anonymous: the sign-in page before anything is looked up, even for a code that does not exist
    for code in (approved.code, pending.code, "NOPE0000"):
        _sent_to_sign_in(client.get(f"/organizations/{code}/entries"))
    login(client, stranger)
    _status(client.get(f"/organizations/{approved.code}/entries"), 403)  # it exists; deciding is not theirs
    _status(client.get(f"/organizations/{pending.code}/entries"), 404)  # not approved: not theirs to know
    _status(client.get("/organizations/NOPE0000/entries"), 404)
    _status(client.get(f"/organizations/{pending.code}"), 404)  # a public page: visibility only
    _status(client.get(f"/organizations/{approved.code}"), 200)
    login(client, coordinator)
    _status(client.get(f"/organizations/{approved.code}/entries"), 200)
    # the API: the token's account, JSON refusals
    _json_error(api.get(f"/organizations/{approved.code}/members"), 401, "token_required")
    token = token_for(stranger)
    _json_error(api.get(f"/organizations/{approved.code}/members", token=token), 403, "forbidden")
    _json_error(api.get(f"/organizations/{pending.code}/members", token=token), 404, "not_found")
    _json_error(api.get(f"/organizations/{pending.code}"), 404, "not_found")  # token_optional, none sent
    _status(api.get(f"/organizations/{approved.code}"), 200)
    _status(api.get(f"/organizations/{approved.code}/members", token=token_for(coordinator)), 200)


def test_a_platform_permission_is_checked_before_the_code_is_looked_up(make, client, api):
    """Civil affairs' pages name a platform permission: without it the code tells nothing (403 whether or not it
    exists); with it every organization is found, approved or not."""
    pending, stranger, platform = make.org(status="pending"), make.user(), make.admin()
    db.session.commit()
    login(client, stranger)
    for code in (pending.code, "NOPE0000"):
        _status(client.get(f"/admin/supervision/organizations/{code}"), 403)
        _json_error(api.post(f"/organizations/{code}/decision", token=token_for(stranger), json={}), 403,
                    "forbidden")
    login(client, platform)
    _status(client.get(f"/admin/supervision/organizations/{pending.code}"), 200)
    _status(client.get("/admin/supervision/organizations/NOPE0000"), 404)
    decided = api.post(f"/organizations/{pending.code}/decision", token=token_for(platform),
                       json={"decision": "approve"})
    _status(decided, 200)
    assert decided.get_json()["status"] == "approved"


def test_activity_pages_and_endpoints(make, client, api):
    published = make.activity()
    draft = make.activity(published.organization, status="draft")
    coordinator = make.coordinator(published.organization)
    outsider = make.coordinator(make.org())  # staff, but of another organization
    db.session.commit()
    _sent_to_sign_in(client.get(f"/activities/{published.code}/signups"))
    _status(client.get(f"/activities/{draft.code}"), 404)  # a draft exists for its organization's staff only
    _status(client.get(f"/activities/{published.code}"), 200)
    login(client, outsider)
    _status(client.get(f"/activities/{published.code}/signups"), 403)
    _status(client.get(f"/activities/{draft.code}/signups"), 404)
    _status(client.get(f"/activities/{published.code}/day"), 403)
    login(client, coordinator)
    for path in (f"/activities/{draft.code}", f"/activities/{draft.code}/signups", f"/activities/{published.code}/day"):
        _status(client.get(path), 200)
    token = token_for(outsider)
    _json_error(api.get(f"/activities/{published.code}/attendance", token=token), 403, "forbidden")
    _json_error(api.get(f"/activities/{draft.code}/attendance", token=token), 404, "not_found")
    _json_error(api.get(f"/activities/{draft.code}"), 404, "not_found")
    _status(api.get(f"/activities/{published.code}"), 200)
    _status(api.get(f"/activities/{draft.code}/attendance", token=token_for(coordinator)), 200)


def test_certificate_pages_and_endpoints(make, client, api):
    activity = make.activity(starts_at=utcnow().replace(microsecond=0) - T(days=20), ends_at=utcnow() + T(days=1))
    org = activity.organization
    admin, volunteer = make.org_admin_of(org), make.volunteer()
    make.volunteer(admin, name="马晓东")  # the handler's name on the certificate
    approved_service(make, activity, volunteer, 120, days_ago=5)
    certificate = issue_certificate(admin, org, volunteer, today() - T(days=30), today(), render=False)
    stranger = make.user()
    db.session.commit()
    _sent_to_sign_in(client.get(f"/certificates/{certificate.code}"))
    _sent_to_sign_in(client.get("/certificates/NOPE0000"))
    login(client, stranger)
    _status(client.get(f"/certificates/{certificate.code}"), 404)  # its existence is not theirs to learn
    login(client, make.account_of(volunteer))
    _status(client.get(f"/certificates/{certificate.code}"), 200)
    _json_error(api.get(f"/certificates/{certificate.code}", token=token_for(stranger)), 404, "not_found")
    _json_error(api.get(f"/certificates/{certificate.code}"), 401, "token_required")
    _status(api.get(f"/certificates/{certificate.code}", token=token_for(admin)), 200)


# --- services authorize the actor they are given -----------------------------------------------------------------

def _activity_data(org, **overrides) -> ActivityData:
    start = utcnow().replace(microsecond=0) + T(days=2)
    values = dict(title="Riverside clean-up", category="environment", recipient="Huangshui river banks",
                  region_code=org.region_code, address="Huangshui riverside park", person_in_charge="Ma Li",
                  starts_at=start, ends_at=start + T(hours=3), grace_minutes=30)
    values.update(overrides)
    return ActivityData(**values)


def test_activity_services_refuse_an_actor_without_the_permission(make):
    org = make.org()
    draft = make.activity(org, status="draft")
    published = make.activity(org)
    outsider = make.coordinator(make.org())
    member = make.account_of(make.volunteer())
    for actor in (outsider, member):
        _refused(lambda actor=actor: create_activity(actor, org, _activity_data(org)), Activity)
        _refused(lambda actor=actor: update_activity(actor, draft, _activity_data(org, title="Renamed")), Activity)
        _refused(lambda actor=actor: publish_activity(actor, draft), Activity)
        _refused(lambda actor=actor: close_activity(actor, published), Activity)
    db.session.expire_all()
    assert (draft.status, draft.title, published.status) == ("draft", "Riverside clean-up", "published")


def test_decide_signup_refuses_an_actor_without_the_permission(make):
    start = utcnow().replace(microsecond=0) + T(days=2)
    activity = make.activity(signup_mode="approval", starts_at=start, ends_at=start + T(hours=3))
    signup = sign_up(make.account_of(make.volunteer()), activity)
    assert signup.status == "pending"
    _refused(lambda: decide_signup(make.coordinator(make.org()), signup, True), Signup)
    db.session.expire_all()
    assert signup.status == "pending" and signup.decided_at is None


def test_check_in_services_refuse_an_actor_without_the_permission(make):
    activity = make.activity()
    coordinator, outsider = make.coordinator(activity.organization), make.coordinator(make.org())
    volunteer = make.volunteer()
    sign_up(make.account_of(volunteer), activity, now=activity.starts_at - T(days=1))
    start = activity.starts_at + T(minutes=10)
    tables = (ManualEntry, AttendanceSession, Scan)
    _refused(lambda: record_manual_entry(outsider, activity, volunteer, start, start + T(hours=1), "paper sheet"),
             *tables)
    entry = record_manual_entry(coordinator, activity, volunteer, start, start + T(hours=1), "paper sheet")
    _refused(lambda: decide_manual_entry(outsider, entry, True), *tables)  # not even an integrity refusal is kept
    db.session.expire_all()
    assert entry.status == "pending"
    # a card scan by a coordinator of another organization: refused before anything is kept
    _refused(lambda: record_scan(outsider, ScanRequest(event_id="contract-scan-1", activity_code=activity.code,
                                                       volunteer_number=volunteer.volunteer_number)), *tables)
    result = record_scan(coordinator, ScanRequest(event_id="contract-scan-2", activity_code=activity.code,
                                                  volunteer_number=volunteer.volunteer_number))
    assert result.error is None
    session = result.session
    _refused(lambda: fix_missed_checkout(outsider, session, utcnow().replace(microsecond=0), "left early"), *tables)
    db.session.expire_all()
    assert session.is_open


# --- the contract is enforced --------------------------------------------------------------------------------------

#: loading by hand, which only volunteer_registry/access.py may do for a view
HAND_LOADERS = ("visible_organization", "visible_activity", "staff_activity", "readable_certificate")


def test_no_view_loads_an_object_by_hand(app):
    """Every view function behind the URL map, and every module that defines one, leaves loading by public code
    to access.py: none of them names visible_organization (nor the activity's and certificate's loaders)."""
    checked, modules = 0, set()
    for rule in app.url_map.iter_rules():
        view = inspect.unwrap(app.view_functions[rule.endpoint])
        module = inspect.getmodule(view)
        if not module.__name__.startswith("volunteer_registry."):
            continue  # Flask's static files
        assert module.__name__ != "volunteer_registry.access", rule.endpoint
        source = inspect.getsource(view)
        for name in HAND_LOADERS:
            assert name not in source, f"{rule.endpoint} ({rule.rule}) calls {name}: use volunteer_registry/access.py"
        modules.add(module.__name__)
        checked += 1
    for name in modules:  # helpers beside the views (an _organization_for) would hide a hand-written pair
        source = inspect.getsource(sys.modules[name])
        for loader in HAND_LOADERS:
            assert loader not in source, f"{name} names {loader}: use volunteer_registry/access.py"
    assert checked > 100 and "volunteer_registry.api.views" in modules


def test_the_decorators_are_seen_through(app):
    """The check above reads the views' own code: the decorators keep it reachable (functools.wraps)."""
    view = inspect.unwrap(app.view_functions["ledger.organization_entries_page"])
    assert view.__module__ == "volunteer_registry.ledger.views"
    assert "def organization_entries_page(org)" in inspect.getsource(view)
