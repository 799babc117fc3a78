"""/api/v1 activities, sign-ups and scans: statuses, error codes and the rows written (or kept when refused).

The clock is frozen: ``record_scan`` and ``sign_up`` read ``utcnow`` from their modules, which the ``clock`` fixture
replaces; activities are placed relative to that frozen moment.
"""
from __future__ import annotations

import datetime as dt
import itertools
import uuid
from dataclasses import dataclass

import pytest

from volunteer_registry.accounts.models import User
from volunteer_registry.activities import services as activity_services
from volunteer_registry.activities.models import Activity, Shift, Signup
from volunteer_registry.activities.services import sign_up
from volunteer_registry.checkin import services as checkin_services
from volunteer_registry.checkin.kiosk import WINDOW_SECONDS, kiosk_token
from volunteer_registry.checkin.models import AttendanceSession, Scan
from volunteer_registry.extensions import db
from volunteer_registry.models import utcnow
from volunteer_registry.organizations.services import decide_organization

from .conftest import assert_error, committed_count, documented_statuses, token_for

_serial = itertools.count(1)
HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    frozen = Clock(utcnow().replace(microsecond=0))
    monkeypatch.setattr(checkin_services, "utcnow", frozen)
    monkeypatch.setattr(activity_services, "utcnow", frozen)
    return frozen


@dataclass
class Site:
    org: object
    coordinator: User
    coordinator_token: str
    volunteer_user: User
    volunteer: object
    volunteer_token: str
    activity: Activity  # published, from an hour ago to three hours on, grace 30 minutes; the volunteer signed up
    now: dt.datetime


def add_volunteer(make, activity=None):
    """A volunteer with an account and a token, signed up for ``activity`` (a day before it starts) if given."""
    user = make.user()
    volunteer = make.volunteer(user)
    if activity is not None:
        sign_up(user, activity, now=activity.starts_at - dt.timedelta(days=1))
    db.session.commit()
    return user, volunteer, token_for(user)


@pytest.fixture
def site(app, make, clock) -> Site:
    org = make.org()
    coordinator = make.coordinator(org)
    activity = make.activity(org, starts_at=clock.now - HOUR, ends_at=clock.now + 3 * HOUR, grace_minutes=30)
    db.session.commit()
    user, volunteer, token = add_volunteer(make, activity)
    return Site(org, coordinator, token_for(coordinator), user, volunteer, token, activity, clock.now)


def event_id() -> str:
    return f"evt-{uuid.uuid4().hex}"


def card_scan(api, site: Site, token: str | None = None, **fields):
    body = {"event_id": event_id(), "activity": site.activity.code,
            "volunteer_number": site.volunteer.volunteer_number, "direction": "auto"}
    body.update(fields)
    return api.post("/scans", token=token or site.coordinator_token, json=body)


def kiosk_scan(api, site: Site, token: str, kiosk: str, **fields):
    body = {"event_id": event_id(), "activity": site.activity.code, "kiosk_token": kiosk, "direction": "auto"}
    body.update(fields)
    return api.post("/scans", token=token, json=body)


def assert_refused(response, status: int, code: str) -> dict:
    """A refused scan: the error, and the scan that was kept (as stored)."""
    assert response.status_code == status, (response.status_code, response.get_json())
    body = response.get_json()
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert body["scan"]["accepted"] is False and body["scan"]["result"] is None
    assert body["scan"]["refusal_code"] == code
    stored = db.session.scalar(db.select(Scan).where(Scan.event_id == body["scan"]["event_id"]))
    assert stored is not None, "a refused scan must be kept"
    assert (stored.accepted, stored.refusal_code, stored.session_id) == (False, code, None)
    return body


def activity_body(org_code: str, **overrides) -> dict:
    body = {"organization": org_code, "title": "Reading to the elderly", "category": "elderly",
            "recipient": "Chengxi care home", "region_code": "630102", "address": "12 Wusi Road",
            "starts_at": "2031-05-01T09:00:00+08:00", "ends_at": "2031-05-01T12:30:00+08:00",
            "person_in_charge": "Ma Li", "capacity": 20, "grace_minutes": 15, "allows_walk_ins": True,
            "latitude": 36.62, "longitude": 101.78, "radius_m": 300, "risk_disclosure": "Stairs",
            "requires_training": True, "requires_insurance": False, "description": "Weekly visits"}
    body.update(overrides)
    return body


# --- POST /activities ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["coordinator", "org_admin"])
def test_staff_create_a_draft_activity(api, make, role):
    org = make.org()
    user = make.coordinator(org) if role == "coordinator" else make.org_admin_of(org)
    token = token_for(user)
    response = api.post("/activities", token=token, json=activity_body(org.code))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "draft" and body["organization"] == org.code
    assert body["starts_at"] == "2031-05-01T01:00:00+00:00"  # Beijing time in, UTC out
    assert body["ends_at"] == "2031-05-01T04:30:00+00:00"
    for key in ("title", "category", "recipient", "region_code", "address", "person_in_charge", "capacity",
                "grace_minutes", "allows_walk_ins", "latitude", "longitude", "radius_m", "risk_disclosure",
                "requires_training", "requires_insurance", "description"):
        assert body[key] == activity_body(org.code)[key], key
    assert body["is_recruiting"] is True and body["signup_mode"] == "auto"
    stored = db.session.scalar(db.select(Activity).where(Activity.code == body["code"]))
    assert (stored.status, stored.organization_id, stored.created_by_id) == ("draft", org.id, user.id)
    assert stored.starts_at == dt.datetime(2031, 5, 1, 1, 0, tzinfo=dt.UTC)


def test_create_and_publish_at_once(api, make):
    org = make.org()
    token = token_for(make.coordinator(org))
    response = api.post("/activities", token=token, json=activity_body(org.code, publish=True))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "published"
    assert committed_count(Activity, Activity.status == "published") == 1
    # published: anyone can read it, without a token
    got = api.get(f"/activities/{response.get_json()['code'].lower()}")
    assert got.status_code == 200 and got.get_json() == response.get_json()


@pytest.mark.parametrize("who, org_status, status, code", [
    ("volunteer", "approved", 403, "forbidden"),
    ("other_coordinator", "approved", 403, "forbidden"),
    ("platform", "approved", 403, "forbidden"),
    ("own_admin", "pending", 403, "forbidden"),  # sees its pending organization, may not run activities yet
    ("own_admin", "suspended", 403, "forbidden"),
    ("volunteer", "pending", 404, "not_found"),
    ("anonymous", "approved", 401, "token_required"),
])
def test_create_activity_refused(api, make, who, org_status, status, code):
    org = make.org(status=org_status)
    user = {"volunteer": lambda: make.account_of(make.volunteer()),
            "other_coordinator": lambda: make.coordinator(make.org()),
            "platform": make.admin, "own_admin": lambda: make.org_admin_of(org),
            "anonymous": lambda: None}[who]()
    db.session.commit()
    token = token_for(user) if user is not None else None
    assert_error(api.post("/activities", token=token, json=activity_body(org.code, publish=True)), status, code)
    assert committed_count(Activity) == 0


@pytest.mark.parametrize("overrides, status, code, field", [
    ({"organization": "NOSUCH44"}, 404, "not_found", None),
    ({"organization": None}, 404, "not_found", None),
    ({"starts_at": "next tuesday"}, 422, "datetime_invalid", "starts_at"),
    ({"ends_at": "2031-05-01T08:00:00+08:00"}, 422, "ends_before_start", "ends_at"),
    ({"category": "parties"}, 422, "category_unknown", "category"),
    ({"title": ""}, 422, "field_required", "title"),
    ({"capacity": 0}, 422, "capacity_invalid", "capacity"),
    ({"grace_minutes": 721}, 422, "grace_invalid", "grace_minutes"),
    ({"latitude": None}, 422, "coordinates_invalid", "latitude"),
    ({"publish": "yes"}, 400, "invalid_parameter", "publish"),
])
def test_create_activity_invalid(api, make, overrides, status, code, field):
    org = make.org()
    token = token_for(make.coordinator(org))
    assert_error(api.post("/activities", token=token, json=activity_body(org.code, **overrides)), status, code, field)
    assert committed_count(Activity) == 0


def test_create_activity_needs_a_json_object(api, make):
    org = make.org()
    token = token_for(make.coordinator(org))
    assert_error(api.post("/activities", token=token, json=[activity_body(org.code)]), 400, "invalid_json")
    assert_error(api.post("/activities", token=token, data="title=x", content_type="text/plain"), 400,
                 "invalid_json")
    assert committed_count(Activity) == 0


# --- GET /activities/{code} ----------------------------------------------------------------------------------


def test_a_draft_is_visible_only_to_its_organizations_staff(api, make):
    org = make.org()
    draft = make.activity(org, status="draft")
    coordinator, other, volunteer = make.coordinator(org), make.coordinator(make.org()), make.user()
    db.session.commit()
    path = f"/activities/{draft.code}"
    assert api.get(path, token=token_for(coordinator)).get_json()["status"] == "draft"
    assert api.get(path, token=token_for(make.org_admin_of(org))).status_code == 200
    for token in (None, token_for(other), token_for(volunteer), token_for(make.admin())):
        assert_error(api.get(path, token=token), 404, "not_found")
    assert_error(api.get("/activities/NOSUCH44"), 404, "not_found")
    assert_error(api.get(path, token="vr_wrong"), 401, "token_invalid")


def test_activities_of_a_suspended_organization_are_hidden(api, make):
    org = make.org()
    activity = make.activity(org)
    db.session.commit()
    assert api.get(f"/activities/{activity.code}").status_code == 200
    decide_organization(make.admin(), org, "suspend", "under review")
    db.session.commit()
    assert_error(api.get(f"/activities/{activity.code}"), 404, "not_found")


# --- POST /activities/{code}/signups -------------------------------------------------------------------------


def test_sign_up_through_the_api(api, make, clock):
    org = make.org()
    activity = make.activity(org, starts_at=clock.now + 24 * HOUR, ends_at=clock.now + 27 * HOUR, capacity=1)
    first, first_volunteer, first_token = add_volunteer(make)
    _second, _v, second_token = add_volunteer(make)
    path = f"/activities/{activity.code}/signups"

    response = api.post(path, token=first_token)
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"activity": activity.code, "volunteer_number": first_volunteer.volunteer_number,
                                   "status": "accepted"}
    assert api.post(path, token=second_token).get_json()["status"] == "waitlisted"  # capacity 1
    assert_error(api.post(path, token=first_token), 409, "already_signed_up")
    assert_error(api.post(path, token=token_for(make.user())), 422, "volunteer_profile_required")
    assert_error(api.post(path), 401, "token_required")
    assert committed_count(Signup, Signup.activity_id == activity.id) == 2
    assert committed_count(Signup, Signup.volunteer_id == first_volunteer.id, Signup.status == "accepted") == 1

    clock.now = activity.starts_at
    _late, late_volunteer, late_token = add_volunteer(make)
    assert_error(api.post(path, token=late_token), 409, "activity_started")
    assert committed_count(Signup, Signup.volunteer_id == late_volunteer.id) == 0


def test_sign_up_refused_for_drafts_and_unknown_activities(api, make, clock):
    org = make.org()
    draft = make.activity(org, status="draft", starts_at=clock.now + HOUR, ends_at=clock.now + 2 * HOUR)
    _user, _volunteer, token = add_volunteer(make)
    assert_error(api.post(f"/activities/{draft.code}/signups", token=token), 404, "not_found")
    assert_error(api.post("/activities/NOSUCH44/signups", token=token), 404, "not_found")
    assert committed_count(Signup) == 0


# --- POST /scans: accepted -----------------------------------------------------------------------------------


def test_card_scan_checks_in_then_out(api, site, clock):
    response = card_scan(api, site, event_id="evt-in-0001", scanned_at=site.now.isoformat())
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["replayed"] is False
    (shift_id,) = db.session.scalars(db.select(Shift.id).where(Shift.activity_id == site.activity.id)).all()
    assert body["scan"] == {"event_id": "evt-in-0001", "accepted": True, "result": "in", "refusal_code": None,
                            "method": "card", "direction": "auto", "flags": [], "scanned_at": site.now.isoformat(),
                            "shift": shift_id}
    assert body["volunteer"] == {"volunteer_number": site.volunteer.volunteer_number, "name": site.volunteer.name}
    session = body["session"]
    assert (session["checked_in_at"], session["checked_out_at"], session["minutes"], session["shift"]) == (
        site.now.isoformat(), None, None, shift_id)
    assert committed_count(AttendanceSession) == 1

    clock.now = site.now + 95 * MINUTE
    out = card_scan(api, site, direction="out")
    assert out.status_code == 201, out.get_json()
    out_body = out.get_json()
    assert out_body["scan"]["result"] == "out"
    assert out_body["session"]["id"] == session["id"]
    assert out_body["session"]["checked_out_at"] == clock.now.isoformat()
    assert out_body["session"]["minutes"] == 95
    assert committed_count(Scan) == 2 and committed_count(AttendanceSession) == 1
    stored = db.session.get(AttendanceSession, session["id"])
    assert (stored.checked_in_at, stored.checked_out_at) == (site.now, site.now + 95 * MINUTE)


def test_auto_direction_alternates(api, site, clock):
    results = []
    for minutes in (0, 10, 20, 30):
        clock.now = site.now + minutes * MINUTE
        response = card_scan(api, site)
        assert response.status_code == 201, response.get_json()
        results.append(response.get_json()["scan"]["result"])
    assert results == ["in", "out", "in", "out"]
    assert committed_count(AttendanceSession) == 2


def test_kiosk_scan_by_the_volunteer_themself(api, site, clock):
    response = kiosk_scan(api, site, site.volunteer_token, kiosk_token(site.activity.code, clock.now))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["scan"]["method"] == "kiosk" and body["scan"]["result"] == "in"
    assert body["volunteer"]["volunteer_number"] == site.volunteer.volunteer_number
    # the QR of the previous window still works (a phone takes a few seconds)
    clock.now += dt.timedelta(seconds=WINDOW_SECONDS)
    previous = kiosk_token(site.activity.code, clock.now - dt.timedelta(seconds=WINDOW_SECONDS))
    out = kiosk_scan(api, site, site.volunteer_token, previous)
    assert out.status_code == 201 and out.get_json()["scan"]["result"] == "out"


def test_scans_outside_the_radius_or_with_a_wrong_clock_are_accepted_but_flagged(api, make, site, clock):
    placed = make.activity(site.org, starts_at=clock.now - HOUR, ends_at=clock.now + HOUR, latitude=36.6171,
                           longitude=101.7782, radius_m=200, allows_walk_ins=True)
    db.session.commit()
    far = card_scan(api, site, activity=placed.code, location={"latitude": 36.70, "longitude": 101.7782})
    assert far.status_code == 201, far.get_json()
    assert far.get_json()["scan"]["flags"] == ["outside_radius"]
    assert far.get_json()["session"]["flags"] == ["outside_radius"]
    near = card_scan(api, site, direction="in", location={"latitude": 36.6172, "longitude": 101.7782})
    assert near.status_code == 201 and near.get_json()["scan"]["flags"] == []
    skewed = card_scan(api, site, direction="out", scanned_at=(clock.now - 10 * MINUTE).isoformat())
    assert skewed.status_code == 201
    assert skewed.get_json()["scan"]["flags"] == ["clock_skew"]
    assert skewed.get_json()["scan"]["scanned_at"] == clock.now.isoformat()  # the server's time counts


def test_walk_ins_need_no_sign_up(api, make, site):
    walk_in = make.activity(site.org, starts_at=site.now - HOUR, ends_at=site.now + HOUR, allows_walk_ins=True)
    _user, stranger, _token = add_volunteer(make)
    response = card_scan(api, site, activity=walk_in.code, volunteer_number=stranger.volunteer_number)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["scan"]["result"] == "in"
    # the same person at the activity that takes no walk-ins
    assert_refused(card_scan(api, site, volunteer_number=stranger.volunteer_number), 403, "not_signed_up")


# --- POST /scans: a retry returns the first result ---------------------------------------------------------


def test_a_retried_scan_returns_the_first_result_and_writes_nothing(api, site, clock):
    first = card_scan(api, site, event_id="evt-retry-1")
    assert first.status_code == 201
    clock.now += 5 * MINUTE  # a retry later, even one that would now check out, is the same scan
    for _ in range(3):
        again = card_scan(api, site, event_id="evt-retry-1", direction="out")
        assert again.status_code == 200, again.get_json()
        body = again.get_json()
        assert body["replayed"] is True
        assert {**body, "replayed": False} == first.get_json()
    assert committed_count(Scan) == 1 and committed_count(AttendanceSession) == 1


def test_a_retried_refusal_is_the_same_refusal(api, site):
    first = assert_refused(card_scan(api, site, event_id="evt-refused-1", direction="out"), 409, "not_checked_in")
    again = card_scan(api, site, event_id="evt-refused-1", direction="in")
    assert again.status_code == 409
    assert {**again.get_json(), "replayed": False} == first
    assert again.get_json()["replayed"] is True
    assert committed_count(Scan) == 1 and committed_count(AttendanceSession) == 0


def test_a_retried_refusal_keeps_its_message_parameters(api, site, clock):
    """A retried activity_not_started answers the first answer's message, minutes filled in."""
    clock.now = site.activity.starts_at - 31 * MINUTE
    first = card_scan(api, site, event_id="evt-early-0001")
    again = card_scan(api, site, event_id="evt-early-0001")
    assert first.status_code == again.status_code == 409
    assert again.get_json()["error"] == first.get_json()["error"]
    assert "30 minutes" in first.get_json()["error"]["message"]


def test_offline_queue_replayed_twice_writes_each_scan_once(api, make, site, clock):
    others = [add_volunteer(make, site.activity)[1] for _ in range(2)]
    people = [site.volunteer, *others]
    base = site.now - 50 * MINUTE  # queued on the device while the network was down
    queue = [  # (person, direction, minutes after base)
        (0, "in", 0), (1, "in", 2), (2, "in", 3), (0, "out", 40), (1, "out", 45),
    ]
    bodies = [{"event_id": f"queue-{uuid.uuid4().hex[:12]}-{n}", "activity": site.activity.code,
               "volunteer_number": people[who].volunteer_number, "direction": direction,
               "scanned_at": (base + minutes * MINUTE).isoformat(), "offline": True}
              for n, (who, direction, minutes) in enumerate(queue)]

    clock.now = site.now  # the network came back
    first = [api.post("/scans", token=site.coordinator_token, json=body) for body in bodies]
    assert [r.status_code for r in first] == [201] * 5, [r.get_json() for r in first]
    assert all(r.get_json()["replayed"] is False for r in first)
    # the device did not hear the answers and sends its queue again
    clock.now = site.now + 2 * MINUTE
    second = [api.post("/scans", token=site.coordinator_token, json=body) for body in bodies]
    assert [r.status_code for r in second] == [200] * 5, [r.get_json() for r in second]
    assert all(r.get_json()["replayed"] is True for r in second)
    assert [r.get_json()["session"]["id"] for r in second] == [r.get_json()["session"]["id"] for r in first]

    assert committed_count(Scan) == 5
    assert committed_count(Scan, Scan.method == "offline") == 5
    assert committed_count(AttendanceSession) == 3
    sessions = {s.volunteer_id: s for s in db.session.scalars(db.select(AttendanceSession))}
    for who, start, end in ((0, 0, 40), (1, 2, 45), (2, 3, None)):
        session = sessions[people[who].id]
        assert session.checked_in_at == base + start * MINUTE
        assert session.checked_out_at == (base + end * MINUTE if end is not None else None)
        assert "offline" in session.flags and "clock_skew" not in session.flags
    assert second[3].get_json()["session"]["minutes"] == 40


# --- POST /scans: refusals are answered with their code and kept --------------------------------------------


def test_not_signed_up(api, make, site):
    _user, stranger, _token = add_volunteer(make)
    body = assert_refused(card_scan(api, site, volunteer_number=stranger.volunteer_number), 403, "not_signed_up")
    assert body["volunteer"]["volunteer_number"] == stranger.volunteer_number
    assert committed_count(AttendanceSession) == 0


@pytest.mark.parametrize("offset, expected", [
    (-31, "activity_not_started"),  # before the start, beyond the 30-minute grace period
    (-29, None),  # inside the grace period
])
def test_not_started(api, site, clock, offset, expected):
    clock.now = site.activity.starts_at + offset * MINUTE
    response = card_scan(api, site)
    if expected:
        body = assert_refused(response, 409, expected)
        assert "30" in body["error"]["message"]
        assert committed_count(AttendanceSession) == 0
    else:
        assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize("offset, expected", [(31, "activity_ended"), (29, None)])
def test_ended(api, site, clock, offset, expected):
    card_scan(api, site, direction="in")  # checked in while it ran
    clock.now = site.activity.ends_at + offset * MINUTE
    response = card_scan(api, site, direction="out")
    if expected:
        assert_refused(response, 409, expected)
        assert committed_count(AttendanceSession, AttendanceSession.checked_out_at.is_(None)) == 1
    else:
        assert response.status_code == 201, response.get_json()
        assert committed_count(AttendanceSession, AttendanceSession.checked_out_at.is_(None)) == 0


def test_check_out_without_check_in(api, site):
    assert_refused(card_scan(api, site, direction="out"), 409, "not_checked_in")
    assert committed_count(AttendanceSession) == 0


def test_check_in_twice(api, site):
    assert card_scan(api, site, direction="in").status_code == 201
    assert_refused(card_scan(api, site, direction="in"), 409, "already_checked_in")
    assert committed_count(AttendanceSession) == 1 and committed_count(Scan) == 2


def test_check_out_before_the_check_in(api, site, clock):
    assert card_scan(api, site, direction="in").status_code == 201
    earlier = (clock.now - 10 * MINUTE).isoformat()
    assert_refused(card_scan(api, site, direction="out", scanned_at=earlier, offline=True), 409,
                   "check_out_before_check_in")


def test_volunteer_unknown(api, site):
    body = assert_refused(card_scan(api, site, volunteer_number="3333-3333-3333"), 404, "volunteer_unknown")
    assert body["volunteer"] is None
    assert db.session.scalar(db.select(Scan.typed_number)) == "3333-3333-3333"


def test_activity_not_open(api, make, site):
    draft = make.activity(site.org, status="draft", starts_at=site.now - HOUR, ends_at=site.now + HOUR)
    db.session.commit()
    assert_refused(card_scan(api, site, activity=draft.code), 409, "activity_not_open")


def test_suspended_organization_refuses_a_kiosk_scan(api, make, site, clock):
    decide_organization(make.admin(), site.org, "suspend", "under review")
    db.session.commit()
    response = kiosk_scan(api, site, site.volunteer_token, kiosk_token(site.activity.code, clock.now))
    assert_refused(response, 403, "organization_suspended")
    assert committed_count(AttendanceSession) == 0


def test_suspended_organizations_staff_may_not_scan_cards(api, make, site):
    """Staff of a suspended organization hold no permissions: the card scan is refused before it is a scan."""
    decide_organization(make.admin(), site.org, "suspend", "under review")
    db.session.commit()
    assert_error(card_scan(api, site), 403, "forbidden")
    assert committed_count(Scan) == 0


def test_kiosk_qr_from_two_windows_ago_is_stale(api, site, clock):
    stale = kiosk_token(site.activity.code, clock.now - 2 * dt.timedelta(seconds=WINDOW_SECONDS))
    assert_refused(kiosk_scan(api, site, site.volunteer_token, stale), 422, "kiosk_qr_stale")
    assert committed_count(AttendanceSession) == 0


@pytest.mark.parametrize("forge", ["mac", "window", "other_activity", "garbage"])
def test_forged_kiosk_qr(api, make, site, clock, forge):
    good = kiosk_token(site.activity.code, clock.now)
    code, window, mac = good.split(".")
    other = make.activity(site.org, starts_at=site.now - HOUR, ends_at=site.now + HOUR)
    db.session.commit()
    token = {"mac": f"{code}.{window}.{'A' * 16 if mac != 'A' * 16 else 'B' * 16}",
             "window": f"{code}.{int(window) + 1}.{mac}",
             "other_activity": kiosk_token(other.code, clock.now),  # a good QR, but not this activity's
             "garbage": "not a token"}[forge]
    assert_refused(kiosk_scan(api, site, site.volunteer_token, token), 422, "kiosk_qr_forged")
    assert committed_count(AttendanceSession) == 0


def test_kiosk_scan_needs_a_volunteer_profile(api, make, site, clock):
    token = token_for(make.user())
    response = kiosk_scan(api, site, token, kiosk_token(site.activity.code, clock.now))
    assert_refused(response, 422, "volunteer_profile_required")


# --- POST /scans: requests that are not scans write nothing -------------------------------------------------


@pytest.mark.parametrize("overrides, status, code", [
    ({"scanned_at": "yesterday"}, 400, "scanned_at_invalid"),
    ({"scanned_at": 1700000000}, 400, "scanned_at_invalid"),
    ({"location": {"latitude": "north", "longitude": 101.7}}, 400, "location_invalid"),
    ({"location": {"latitude": 91, "longitude": 101.7}}, 400, "location_invalid"),
    ({"location": {"latitude": 36.6}}, 400, "location_invalid"),
    ({"location": {"latitude": 10 ** 400, "longitude": 101.7}}, 400, "location_invalid"),
    ({"location": {"latitude": float("nan"), "longitude": 101.7}}, 400, "location_invalid"),
    ({"location": [36.6, 101.7]}, 400, "location_invalid"),
    ({"location": {"latitude": True, "longitude": 101.7}}, 400, "location_invalid"),
    ({"offline": "yes"}, 400, "invalid_parameter"),
    ({"event_id": "short"}, 400, "event_id_invalid"),
    ({"event_id": None}, 400, "event_id_invalid"),
    ({"event_id": "has spaces in it"}, 400, "event_id_invalid"),
    ({"direction": "sideways"}, 400, "direction_invalid"),
    ({"direction": 1}, 400, "direction_invalid"),
    ({"volunteer_number": None}, 400, "scan_subject_missing"),
    ({"kiosk_token": "X.1.AAAAAAAAAAAAAAAA"}, 400, "scan_subject_missing"),
    ({"activity": "NOSUCH44"}, 404, "not_found"),
])
def test_malformed_scans_write_nothing(api, site, overrides, status, code):
    assert_error(card_scan(api, site, **overrides), status, code)
    assert committed_count(Scan) == 0


@pytest.mark.parametrize("who", ["volunteer", "other_coordinator", "platform"])
def test_only_the_organizations_staff_scan_cards(api, make, site, who):
    user = {"volunteer": lambda: site.volunteer_user, "other_coordinator": lambda: make.coordinator(make.org()),
            "platform": make.admin}[who]()
    db.session.commit()
    assert_error(card_scan(api, site, token=token_for(user)), 403, "forbidden")
    assert committed_count(Scan) == 0


def test_scans_need_a_token(api, site):
    assert_error(api.post("/scans", json={"event_id": event_id(), "activity": site.activity.code,
                                          "volunteer_number": site.volunteer.volunteer_number}), 401,
                 "token_required")
    assert_error(api.post("/scans", token=site.coordinator_token, json="scan"), 400, "invalid_json")
    assert committed_count(Scan) == 0


def test_an_org_admin_scans_too(api, make, site):
    response = card_scan(api, site, token=token_for(make.org_admin_of(site.org)))
    assert response.status_code == 201, response.get_json()


# --- GET /activities/{code}/attendance -----------------------------------------------------------------------


def test_attendance_shows_who_is_present_and_minutes(api, make, site, clock):
    _user, other, _token = add_volunteer(make, site.activity)
    card_scan(api, site, direction="in")
    card_scan(api, site, direction="in", volunteer_number=other.volunteer_number)
    clock.now = site.now + 30 * MINUTE
    card_scan(api, site, direction="out")
    clock.now = site.now + 40 * MINUTE
    card_scan(api, site, direction="in")
    clock.now = site.now + 50 * MINUTE
    card_scan(api, site, direction="out")

    response = api.get(f"/activities/{site.activity.code}/attendance", token=site.coordinator_token)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [p["volunteer"]["volunteer_number"] for p in body["present"]] == [other.volunteer_number]
    assert [(c["volunteer"]["volunteer_number"], c["minutes"]) for c in body["closed"]] == [
        (site.volunteer.volunteer_number, 30), (site.volunteer.volunteer_number, 10)]
    totals = {v["volunteer_number"]: v["minutes"] for v in body["volunteers"]}
    assert totals == {site.volunteer.volunteer_number: 40, other.volunteer_number: 0}


def test_attendance_is_for_the_organizations_staff(api, make, site):
    path = f"/activities/{site.activity.code}/attendance"
    assert api.get(path, token=token_for(make.org_admin_of(site.org))).status_code == 200
    assert_error(api.get(path, token=site.volunteer_token), 403, "forbidden")
    assert_error(api.get(path, token=token_for(make.coordinator(make.org()))), 403, "forbidden")
    assert_error(api.get(path), 401, "token_required")
    assert_error(api.get("/activities/NOSUCH44/attendance", token=site.coordinator_token), 404, "not_found")


# --- the OpenAPI document ------------------------------------------------------------------------------------


def test_every_checkin_status_is_documented(api, make, site, clock):
    """Every (operation, status) met above is in the OpenAPI document."""
    document = api.get("/openapi.json").get_json()
    seen = []

    def call(method, template, path, **kwargs):
        response = api.call(method, path, **kwargs)
        seen.append((method, template, response.status_code))
        return response

    coordinator, volunteer = site.coordinator_token, site.volunteer_token
    org = site.org.code
    for token, body in ((coordinator, activity_body(org)), (volunteer, activity_body(org)), (None, {}),
                        (coordinator, activity_body("NOSUCH44")), (coordinator, activity_body(org, title="")),
                        (coordinator, [])):
        call("POST", "/activities", "/activities", token=token, json=body)
    for path, token in ((f"/activities/{site.activity.code}", None), ("/activities/NOSUCH44", None),
                        (f"/activities/{site.activity.code}", "vr_wrong")):
        call("GET", "/activities/{code}", path, token=token)
    upcoming = make.activity(site.org, starts_at=clock.now + HOUR, ends_at=clock.now + 2 * HOUR)
    db.session.commit()
    signups = "/activities/{code}/signups"
    for path, token in ((f"/activities/{upcoming.code}/signups", volunteer),
                        (f"/activities/{upcoming.code}/signups", volunteer),
                        (f"/activities/{upcoming.code}/signups", coordinator),
                        ("/activities/NOSUCH44/signups", volunteer), (f"/activities/{upcoming.code}/signups", None)):
        call("POST", signups, path, token=token)
    attendance = "/activities/{code}/attendance"
    for path, token in ((f"/activities/{site.activity.code}/attendance", coordinator),
                        (f"/activities/{site.activity.code}/attendance", volunteer),
                        (f"/activities/{site.activity.code}/attendance", None),
                        ("/activities/NOSUCH44/attendance", coordinator)):
        call("GET", attendance, path, token=token)
    number = site.volunteer.volunteer_number
    base = {"activity": site.activity.code, "volunteer_number": number}
    for token, body in ((coordinator, {**base, "event_id": "doc-scan-1"}), (coordinator, {**base, "event_id":
                        "doc-scan-1"}), (coordinator, {**base, "event_id": "doc-scan-2", "direction": "in"}),
                        (coordinator, {**base, "event_id": "x"}), (None, {**base, "event_id": "doc-scan-3"}),
                        (volunteer, {**base, "event_id": "doc-scan-4"}),
                        (coordinator, {**base, "event_id": "doc-scan-5", "volunteer_number": "3333-3333-3333"}),
                        (volunteer, {"event_id": "doc-scan-6", "activity": site.activity.code,
                                     "kiosk_token": "garbage"})):
        call("POST", "/scans", "/scans", token=token, json=body)

    expected = {("POST", "/activities", s) for s in (201, 400, 401, 403, 404, 422)} | {
        ("GET", "/activities/{code}", s) for s in (200, 401, 404)} | {
        ("POST", signups, s) for s in (201, 401, 404, 409, 422)} | {
        ("GET", attendance, s) for s in (200, 401, 403, 404)} | {
        ("POST", "/scans", s) for s in (200, 201, 400, 401, 403, 404, 409, 422)}
    assert expected <= set(seen), sorted(expected - set(seen))
    undocumented = sorted({(m, t, s) for m, t, s in seen if str(s) not in documented_statuses(document, m, t)})
    assert undocumented == []
