"""Each "may this be done now" rule is one function: for every situation in its table, the pure function's answer,
the service's outcome (its error code, or success and the rows written) and what the page offers agree."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest

from volunteer_registry.accounts.models import User
from volunteer_registry.activities.models import Activity, Signup
from volunteer_registry.activities.rules import (
    close_refusal,
    decide_refusal,
    edit_refusal,
    publish_refusal,
    signup_refusal,
    withdraw_refusal,
)
from volunteer_registry.activities.services import (
    ActivityData,
    ActivityError,
    close_activity,
    decide_signup,
    publish_activity,
    sign_up,
    update_activity,
    withdraw,
)
from volunteer_registry.audit.models import AuditEvent
from volunteer_registry.checkin.kiosk import kiosk_token
from volunteer_registry.checkin.models import AttendanceSession, Scan
from volunteer_registry.checkin.rules import ScanFacts, scan_decision
from volunteer_registry.checkin.services import ScanRequest, open_session, record_scan
from volunteer_registry.extensions import db
from volunteer_registry.integrity import rules as limits
from volunteer_registry.models import utcnow
from volunteer_registry.organizations.services import decide_organization

from ..conftest import login

T = dt.timedelta

#: what the activity page says when it offers neither button (templates/activities/show.html)
REASONS = {
    "activity_closed": "This activity is closed.",
    "activity_started": "This activity has already started.",
    "activity_draft": "This is a draft: volunteers cannot see it yet.",
    "recruitment_closed": "Recruitment for this activity is closed.",
}


def count(model, *where) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def rows() -> tuple[int, int, int]:
    return count(Signup), count(Scan), count(AttendanceSession)


def page(client, activity: Activity) -> tuple[int, str]:
    response = client.get(f"/activities/{activity.code}")
    return response.status_code, response.get_data(as_text=True)


def offers(text: str, activity: Activity, action: str) -> bool:
    """Whether the page holds the form (or link) of ``action`` for this activity."""
    return f'"/activities/{activity.code}/{action}"' in text


def _starting_in(make, org, delta: T, **overrides) -> Activity:
    start = utcnow().replace(microsecond=0) + delta
    return make.activity(org, starts_at=start, ends_at=start + T(hours=3), **overrides)


def _person(make, org):
    """A volunteer who also coordinates the organization: they may see its drafts and closed activities, so the
    page shows them every reason."""
    user = make.coordinator(org)
    make.volunteer(user)
    return user


# --- signing up and withdrawing ------------------------------------------------------------------------------------

def _sign_up_situation(make, name):
    """(activity, person) for a situation of the sign-up table."""
    org = make.org()
    person = _person(make, org)
    if name == "started":
        activity = make.activity(org)  # started an hour ago
    else:
        activity = _starting_in(make, org, T(days=3), is_recruiting=name != "recruitment_closed",
                                status="draft" if name == "draft" else "published")
    if name == "closed":
        close_activity(make.org_admin_of(org), activity)
    elif name == "organization_suspended":  # published while it was approved
        decide_organization(make.admin(), org, "suspend", "test")
    elif name in ("signed_up", "pending_a_coordinator", "waitlisted", "withdrawn"):
        entry = sign_up(person, activity, now=activity.starts_at - T(days=1))
        entry.status = {"signed_up": "accepted", "pending_a_coordinator": "pending"}.get(name, name)
    db.session.commit()
    return activity, person


SIGN_UP_TABLE = [
    # situation, signup_refusal, withdraw_refusal, the reason the page gives when it offers neither
    ("open", None, "not_signed_up", None),
    ("recruitment_closed", "recruitment_closed", "not_signed_up", "recruitment_closed"),
    ("started", "activity_started", "not_signed_up", "activity_started"),
    ("draft", "activity_not_published", "not_signed_up", "activity_draft"),
    ("closed", "activity_not_published", "not_signed_up", "activity_closed"),
    ("organization_suspended", "activity_not_published", "not_signed_up", None),
    ("signed_up", "already_signed_up", None, None),
    ("pending_a_coordinator", "already_signed_up", None, None),
    ("waitlisted", "already_signed_up", None, None),
    ("withdrawn", None, "not_signed_up", None),
]


@pytest.mark.parametrize(("situation", "signup_code", "withdraw_code", "reason"), SIGN_UP_TABLE,
                         ids=[row[0] for row in SIGN_UP_TABLE])
def test_sign_up_and_withdraw_one_rule(app, make, situation, signup_code, withdraw_code, reason):
    activity, person = _sign_up_situation(make, situation)
    signup = db.session.scalar(db.select(Signup).where(Signup.activity_id == activity.id))
    now = utcnow()

    # the pure functions
    assert signup_refusal(activity, signup, now) == signup_code
    assert withdraw_refusal(activity, signup, now) == withdraw_code

    # the page offers exactly what the rules allow, and says why not
    client = app.test_client()
    login(client, person)
    status, text = page(client, activity)
    if status == 404:  # an unapproved organization's activity: nobody but the platform sees it
        assert situation == "organization_suspended"
    else:
        assert status == 200
        assert offers(text, activity, "signup") == (signup_code is None)
        assert offers(text, activity, "withdraw") == (withdraw_code is None)
        for code, message in REASONS.items():
            assert (message in text) == (code == reason), (code, message)

    # the service raises the same codes, and writes nothing when it refuses
    before = rows(), count(AuditEvent)
    if signup_code is None:
        entry = sign_up(person, activity)
        assert entry.status == "accepted" and rows()[0] == max(before[0][0], 1)
    else:
        with pytest.raises(ActivityError) as refused:
            sign_up(person, activity)
        assert refused.value.code == signup_code
        assert (rows(), count(AuditEvent)) == before
    db.session.rollback()
    before = rows(), count(AuditEvent)
    if withdraw_code is None:
        assert withdraw(person, activity).status == "withdrawn"
    else:
        with pytest.raises(ActivityError) as refused:
            withdraw(person, activity)
        assert refused.value.code == withdraw_code
        assert (rows(), count(AuditEvent)) == before


# --- editing, publishing, closing -----------------------------------------------------------------------------------

def _edit_data(activity: Activity) -> ActivityData:
    return ActivityData(title=activity.title + " (changed)", category=activity.category,
                        recipient=activity.recipient, region_code=activity.region_code, address=activity.address,
                        starts_at=activity.starts_at, ends_at=activity.ends_at,
                        person_in_charge=activity.person_in_charge)


STATE_TABLE = [
    # status, edit_refusal, publish_refusal, close_refusal
    ("draft", None, None, None),
    ("published", None, "activity_not_draft", None),
    ("closed", "activity_closed", "activity_not_draft", "activity_closed"),
]


@pytest.mark.parametrize("action", ["edit", "publish", "close"])
@pytest.mark.parametrize(("status", "edit_code", "publish_code", "close_code"), STATE_TABLE,
                         ids=[row[0] for row in STATE_TABLE])
def test_edit_publish_and_close_one_rule(app, make, action, status, edit_code, publish_code, close_code):
    org = make.org()
    admin = make.org_admin_of(org)
    activity = _starting_in(make, org, T(days=3), status="published" if status == "closed" else status)
    if status == "closed":
        close_activity(admin, activity)
    db.session.commit()
    rule, service, expected = {
        "edit": (edit_refusal, lambda: update_activity(admin, activity, _edit_data(activity)), edit_code),
        "publish": (publish_refusal, lambda: publish_activity(admin, activity), publish_code),
        "close": (close_refusal, lambda: close_activity(admin, activity), close_code),
    }[action]

    assert rule(activity) == expected

    client = app.test_client()
    login(client, admin)
    _status, text = page(client, activity)
    assert offers(text, activity, action) == (expected is None)
    manage = client.get(f"/organizations/{org.code}/activities").get_data(as_text=True)
    if action == "edit":
        assert offers(manage, activity, "edit") == (expected is None)

    before = activity.status, activity.title, count(AuditEvent)
    if expected is None:
        service()
        assert count(AuditEvent) == before[2] + 1
    else:
        with pytest.raises(ActivityError) as refused:
            service()
        assert refused.value.code == expected
        assert (activity.status, activity.title, count(AuditEvent)) == before


# --- deciding a sign-up ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "expected"), [("pending", None), ("accepted", "signup_not_pending"),
                                                   ("waitlisted", "signup_not_pending"),
                                                   ("declined", "signup_not_pending"),
                                                   ("withdrawn", "signup_not_pending")])
def test_deciding_a_sign_up_one_rule(app, make, status, expected):
    org = make.org()
    coordinator = make.coordinator(org)
    activity = _starting_in(make, org, T(days=3), signup_mode="approval")
    volunteer = make.volunteer()
    signup = sign_up(make.account_of(volunteer), activity, now=activity.starts_at - T(days=2))
    signup.status = status
    db.session.commit()

    assert decide_refusal(signup) == expected

    client = app.test_client()
    login(client, coordinator)
    text = client.get(f"/activities/{activity.code}/signups").get_data(as_text=True)
    assert (f"/activities/{activity.code}/signups/{signup.id}/decision" in text) == (expected is None)

    if expected is None:
        assert decide_signup(coordinator, signup, approve=True).status == "accepted"
    else:
        with pytest.raises(ActivityError) as refused:
            decide_signup(coordinator, signup, approve=True)
        assert refused.value.code == expected
        assert signup.status == status


# --- checking in and out --------------------------------------------------------------------------------------------

SCAN_TABLE = [
    # situation, direction, the scan's refusal (None: accepted), whether the page offers the check-in pages
    ("running", "auto", None, True),
    ("running_checked_in", "in", "already_checked_in", True),
    ("running_checked_in", "out", None, True),
    ("running", "out", "not_checked_in", True),
    ("not_signed_up", "in", "not_signed_up", True),
    ("walk_in", "in", None, True),
    ("before_start", "in", "activity_not_started", True),
    ("after_end", "in", "activity_ended", True),
    ("closed", "in", "activity_not_open", False),
    ("organization_suspended", "in", "organization_suspended", False),
    ("three_sessions_today", "in", "too_many_sessions", True),
]


def _scan_situation(make, name):
    """(activity, coordinator, volunteer, moment) for a situation of the scan table."""
    org = make.org()
    coordinator = make.coordinator(org)
    activity = make.activity(org, allows_walk_ins=name == "walk_in")  # from an hour ago to three hours on
    volunteer = make.volunteer()
    if name not in ("not_signed_up", "walk_in"):
        sign_up(make.account_of(volunteer), activity, now=activity.starts_at - T(days=1))
    moment = activity.starts_at + T(minutes=30)
    if name == "before_start":
        moment = activity.starts_at - T(minutes=31)
    elif name == "after_end":
        moment = activity.ends_at + T(minutes=31)
    elif name == "closed":
        close_activity(make.org_admin_of(org), activity)
    elif name == "organization_suspended":
        decide_organization(make.admin(), org, "suspend", "test")
    elif name == "running_checked_in":
        _scan(activity, coordinator, volunteer, activity.starts_at, "in")
    elif name == "three_sessions_today":
        for minute in (0, 5, 10, 15, 20, 25):
            _scan(activity, coordinator, volunteer, activity.starts_at + T(minutes=minute), "auto")
    db.session.commit()
    return activity, coordinator, volunteer, moment


def _scan(activity, coordinator, volunteer, at, direction):
    """A card scan by the coordinator; where the organization is not approved they may no longer scan, so the
    volunteer scans the kiosk's QR code themself."""
    if activity.organization.status != "approved":
        request = ScanRequest(event_id=uuid.uuid4().hex, activity_code=activity.code,
                              kiosk_token=kiosk_token(activity.code, at), direction=direction)
        return record_scan(db.session.get(User, volunteer.user_id), request, now=at)
    request = ScanRequest(event_id=uuid.uuid4().hex, activity_code=activity.code,
                          volunteer_number=volunteer.volunteer_number, direction=direction)
    return record_scan(coordinator, request, now=at)


@pytest.mark.parametrize(("situation", "direction", "expected", "page_offers"), SCAN_TABLE,
                         ids=[f"{row[0]}-{row[1]}" for row in SCAN_TABLE])
def test_a_scan_one_rule(app, make, situation, direction, expected, page_offers):
    activity, coordinator, volunteer, moment = _scan_situation(make, situation)
    current = open_session(activity, volunteer)
    starts = tuple(db.session.scalars(db.select(AttendanceSession.checked_in_at).where(
        AttendanceSession.activity_id == activity.id, AttendanceSession.volunteer_id == volunteer.id)))
    signed_up = count(Signup, Signup.activity_id == activity.id, Signup.status == "accepted") > 0

    # the pure function, given the facts as this test knows them
    decision = scan_decision(ScanFacts(activity=activity, moment=moment, direction=direction,
                                       offline_max_age=limits.offline_max_age(),
                                       sessions_per_day=limits.sessions_per_day(), signed_up=signed_up,
                                       open_session=current, session_starts=starts))
    assert decision.refusal == expected

    # the page offers the scanning pages only where the activity takes scans
    client = app.test_client()
    login(client, coordinator)
    status, text = page(client, activity)
    assert (status == 200 and f"/activities/{activity.code}/kiosk" in text) == page_offers

    # the service gives the same answer, keeps the scan, and opens or closes a session only when it accepts
    scans, sessions = count(Scan), count(AttendanceSession)
    open_before = count(AttendanceSession, AttendanceSession.checked_out_at.is_(None))
    result = _scan(activity, coordinator, volunteer, moment, direction)
    assert (result.error.code if result.error else None) == expected
    assert result.accepted == (expected is None) and count(Scan) == scans + 1
    if expected is not None:
        assert result.scan.refusal_code == expected
        assert (count(AttendanceSession), count(AttendanceSession, AttendanceSession.checked_out_at.is_(None))) \
            == (sessions, open_before)
    else:
        assert result.scan.result == decision.direction
        opened = 1 if decision.direction == "in" else 0
        assert count(AttendanceSession) == sessions + opened
        assert count(AttendanceSession, AttendanceSession.checked_out_at.is_(None)) == open_before + (
            1 if decision.direction == "in" else -1)
