"""The fraud drill: a coordinator and an org admin of one organization, both volunteers there too, try every way we
could find to inflate hours for themselves or a friend, through the services, the pages, the API and the CLI. Each
attempt must end refused with its code, or in another person's queue, with the approved figures unchanged; every
self-related refusal is in the audit log. On SQLite and on PostgreSQL (TEST_DATABASE_URL), like the whole suite.

docs/INTEGRITY.md lists these attempts and what a determined insider could still do.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from volunteer_registry.activities.services import ActivityData, create_activity, publish_activity
from volunteer_registry.audit.models import AuditEvent
from volunteer_registry.checkin.models import AttendanceSession
from volunteer_registry.checkin.services import (
    CheckInError,
    ScanRequest,
    close_ended_activities,
    decide_manual_entry,
    fix_missed_checkout,
    record_manual_entry,
    record_scan,
)
from volunteer_registry.corrections.services import decide_correction, report_error
from volunteer_registry.extensions import db
from volunteer_registry.integrity.services import IntegrityRefusal
from volunteer_registry.ledger.log import extend_log, verify_ledger
from volunteer_registry.ledger.models import LedgerEntry, LedgerState
from volunteer_registry.ledger.services import LedgerError, annul_entry, correct_entry, decide_entries, hours_of
from volunteer_registry.models import utcnow
from volunteer_registry.organizations.models import StaffRole

from ..api.conftest import Api, token_for
from ..conftest import login

T = dt.timedelta


@dataclass
class Org:
    org: object
    activity: object
    admin: object  # the org admin, who is a volunteer here too
    coordinator: object  # a coordinator, who is a volunteer here too
    honest: object  # a second coordinator, who takes the decisions the others may not
    admin_self: object  # the volunteer records of the admin and the coordinator
    coordinator_self: object
    friend: object  # a volunteer the insiders would like to help


@pytest.fixture
def insiders(make) -> Org:
    activity = make.activity(title="社区服务站值班", allows_walk_ins=True, starts_at=utcnow().replace(microsecond=0)
                             - T(hours=6), ends_at=utcnow().replace(microsecond=0) + T(hours=6))
    org = activity.organization
    admin, coordinator, honest = make.org_admin_of(org), make.coordinator(org), make.coordinator(org)
    admin_self, coordinator_self = make.volunteer(user=admin, name="马主任"), make.volunteer(user=coordinator,
                                                                                           name="李协调")
    friend = make.volunteer(name="王朋友")
    db.session.commit()
    return Org(org, activity, admin, coordinator, honest, admin_self, coordinator_self, friend)


def scan(actor, activity, volunteer, direction, at):
    """A card scan by ``actor`` at ``at`` (the server's time then)."""
    return record_scan(actor, ScanRequest(event_id=uuid.uuid4().hex, activity_code=activity.code,
                                          volunteer_number=volunteer.volunteer_number, direction=direction), now=at)


def served(actor, activity, volunteer, start, end):
    """A card scan in at ``start`` and out at ``end``: the service entry."""
    assert scan(actor, activity, volunteer, "in", start).accepted
    result = scan(actor, activity, volunteer, "out", end)
    assert result.accepted, result.error
    db.session.commit()
    return result.entry


def refusals(code=None) -> list[dict]:
    db.session.rollback()
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "integrity.refused"))
    return [e.details for e in events if code is None or e.details.get("code") == code]


def approved_minutes(volunteer) -> int:
    db.session.rollback()
    return hours_of(volunteer.id).minutes


# --- approving one's own record ------------------------------------------------------------------------------------

def test_nobody_approves_their_own_service_through_the_service_the_page_or_the_api(app, insiders):
    s = insiders
    own = served(s.coordinator, s.activity, s.coordinator_self, s.activity.starts_at, s.activity.starts_at + T(hours=2))
    with pytest.raises(IntegrityRefusal) as info:
        decide_entries(s.coordinator, s.org, [own.id], "approve")
    assert info.value.code == "conflict_of_interest"
    assert refusals("conflict_of_interest")[-1]["refused"] == "ledger.approve"  # audited, though rolled back

    page = app.test_client()
    login(page, s.coordinator)
    response = page.post(f"/organizations/{s.org.code}/entries/decision", data={"entries": [own.id],
                                                                               "decision": "approve"})
    assert response.status_code == 403 and "This is your own service record" in response.get_data(as_text=True)

    api = Api(app.test_client())
    answer = api.post("/entries/decisions", token=token_for(s.coordinator),
                      json={"entries": [own.id], "decision": "approve"})
    assert (answer.status_code, answer.get_json()["error"]["code"]) == (403, "conflict_of_interest")
    assert approved_minutes(s.coordinator_self) == 0 and len(refusals("conflict_of_interest")) == 3

    # another person decides it: that is the rule working, not a way around it
    decide_entries(s.honest, s.org, [own.id], "approve")
    db.session.commit()
    assert approved_minutes(s.coordinator_self) == 120


def test_the_approval_page_says_whose_decision_it_is_before_anyone_tries(app, insiders):
    s = insiders
    own = served(s.coordinator, s.activity, s.coordinator_self, s.activity.starts_at, s.activity.starts_at + T(hours=1))
    page = app.test_client()
    login(page, s.coordinator)
    html = page.get(f"/organizations/{s.org.code}/entries").get_data(as_text=True)
    row = html[html.index(f'id="entry-{own.id}"'):]
    row = row[:row.index("</tr>")]
    assert "This is your own service: someone else must decide it." in row and 'value="approve"' not in row


def test_the_org_admin_cannot_annul_reject_or_correct_their_own_record_either(insiders):
    s = insiders
    own = served(s.coordinator, s.activity, s.admin_self, s.activity.starts_at, s.activity.starts_at + T(hours=1))
    for attempt in (lambda: decide_entries(s.admin, s.org, [own.id], "reject", "mine"),
                    lambda: correct_entry(s.admin, own, 30, "less")):
        with pytest.raises(IntegrityRefusal) as info:
            attempt()
        assert info.value.code == "conflict_of_interest"
        db.session.rollback()
    decide_entries(s.honest, s.org, [own.id], "approve")
    db.session.commit()
    with pytest.raises(IntegrityRefusal):
        annul_entry(s.admin, own, "mine")
    assert approved_minutes(s.admin_self) == 60


# --- recording for a friend, then approving it --------------------------------------------------------------------

def test_a_back_dated_offline_scan_of_a_friend_needs_a_second_person(insiders):
    s = insiders
    now = s.activity.starts_at + T(hours=5)
    start = s.activity.starts_at
    for direction, at in (("in", start), ("out", start + T(hours=4))):
        result = record_scan(s.coordinator, ScanRequest(
            event_id=uuid.uuid4().hex, activity_code=s.activity.code, volunteer_number=s.friend.volunteer_number,
            direction=direction, scanned_at=at, offline=True), now=now)
        assert result.accepted
    entry = result.entry
    assert "offline" in entry.flags and entry.minutes == 240
    db.session.commit()
    with pytest.raises(IntegrityRefusal) as info:
        decide_entries(s.coordinator, s.org, [entry.id], "approve")
    assert info.value.code == "own_recording"
    assert approved_minutes(s.friend) == 0
    decide_entries(s.honest, s.org, [entry.id], "approve")  # someone else checked it
    db.session.commit()
    assert approved_minutes(s.friend) == 240


def test_offline_scans_too_old_or_before_the_start_are_refused(insiders):
    s = insiders
    long_ago = s.activity.starts_at - T(days=5)
    old = make_activity(s, starts_at=long_ago, ends_at=long_ago + T(hours=8))
    for activity, at, now, code in ((old, long_ago + T(hours=1), utcnow(), "offline_too_old"),
                                    (s.activity, s.activity.starts_at - T(hours=3), utcnow(),
                                     "activity_not_started")):
        result = record_scan(s.coordinator, ScanRequest(
            event_id=uuid.uuid4().hex, activity_code=activity.code, volunteer_number=s.friend.volunteer_number,
            direction="in", scanned_at=at, offline=True), now=now)
        assert (result.accepted, result.error.code) == (False, code)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AttendanceSession)) == 0


def one_local_day(s, first_hour: int, last_hour: int):
    """An activity from ``first_hour`` to ``last_hour`` o'clock, Beijing time, three days from now: the daily rules
    count by the Beijing date, so the drill's sessions must not straddle midnight whatever time the suite runs."""
    from volunteer_registry.timeutil import LOCAL_ZONE

    day = (utcnow().astimezone(LOCAL_ZONE) + T(days=3)).date()
    at = lambda hour: dt.datetime.combine(day, dt.time(hour), tzinfo=LOCAL_ZONE).astimezone(dt.UTC)  # noqa: E731
    return make_activity(s, starts_at=at(first_hour), ends_at=at(last_hour))


def make_activity(s, *, created_at=None, **times):
    data = ActivityData(title="湟水河清洁", category="environment", recipient="河岸", region_code=s.org.region_code,
                        address="湟水河", person_in_charge="马晓东", grace_minutes=30, allows_walk_ins=True, **times)
    activity = create_activity(s.coordinator, s.org, data,
                               now=created_at or min(utcnow(), times["starts_at"] - T(days=1)))
    publish_activity(s.coordinator, activity)
    db.session.commit()
    return activity


def test_a_manual_entry_for_a_friend_is_decided_by_someone_else(insiders):
    s = insiders
    manual = record_manual_entry(s.coordinator, s.activity, s.friend, s.activity.starts_at,
                                 s.activity.starts_at + T(hours=3), "the scanner was down")
    with pytest.raises(IntegrityRefusal) as info:
        decide_manual_entry(s.coordinator, manual, True)
    assert info.value.code == "own_recording"
    db.session.rollback()
    # his own service entered by hand for him by the admin: he may not approve it either
    manual = record_manual_entry(s.admin, s.activity, s.coordinator_self, s.activity.starts_at,
                                 s.activity.starts_at + T(hours=3), "his, by hand")
    with pytest.raises(IntegrityRefusal) as info:
        decide_manual_entry(s.coordinator, manual, True)
    assert info.value.code == "conflict_of_interest"
    db.session.rollback()
    assert approved_minutes(s.coordinator_self) == approved_minutes(s.friend) == 0


def test_a_retroactive_activity_needs_a_second_person_for_every_entry(insiders):
    s = insiders
    start = s.activity.starts_at
    retro = make_activity(s, starts_at=start, ends_at=start + T(hours=8), created_at=start + T(hours=2))
    assert retro.is_retroactive
    entry = served(s.admin, retro, s.friend, start + T(hours=2, minutes=1), start + T(hours=4))
    assert "retroactive" in entry.flags
    # the admin scanned it, but the coordinator created the activity after it started: neither approves
    for person in (s.admin, s.coordinator):
        with pytest.raises(IntegrityRefusal) as info:
            decide_entries(person, s.org, [entry.id], "approve")
        assert info.value.code == "own_recording"
        db.session.rollback()
    decide_entries(s.honest, s.org, [entry.id], "approve")
    db.session.commit()
    assert approved_minutes(s.friend) == 119


# --- moving approved minutes ---------------------------------------------------------------------------------------

def test_a_fixed_check_out_never_moves_approved_minutes_silently(insiders):
    """The review's case: an approved entry's check-out 'fixed' to a year ahead became 525,535 minutes."""
    s = insiders
    past = make_activity(s, starts_at=s.activity.starts_at - T(days=2), ends_at=s.activity.starts_at - T(days=2)
                         + T(hours=4))
    assert scan(s.coordinator, past, s.friend, "in", past.starts_at).accepted
    assert close_ended_activities(now=past.ends_at + T(hours=1)) == 1
    entry = db.session.scalar(sa.select(LedgerEntry).where(LedgerEntry.activity_id == past.id))
    decide_entries(s.admin, s.org, [entry.id], "approve")  # auto-closed: the admin did not scan it, so may
    db.session.commit()
    assert approved_minutes(s.friend) == 240
    session = db.session.get(AttendanceSession, entry.session_id)
    for moment, code in ((utcnow() + T(days=365), "checkout_in_future"),
                         (past.ends_at + T(hours=2), "outside_activity")):
        with pytest.raises(CheckInError) as info:
            fix_missed_checkout(s.coordinator, session, moment, "she stayed")
        assert info.value.code == code
        db.session.rollback()
    fix_missed_checkout(s.coordinator, session, past.ends_at + T(minutes=20), "she stayed to tidy up")
    db.session.commit()
    state = db.session.get(LedgerState, entry.id)
    assert (state.status, state.minutes, state.proposed_minutes) == ("approved", 240, 260)
    assert approved_minutes(s.friend) == 240  # until another person approves the correction
    with pytest.raises(IntegrityRefusal) as info:
        decide_entries(s.coordinator, s.org, [entry.id], "approve")
    assert info.value.code == "own_recording"
    db.session.rollback()
    decide_entries(s.honest, s.org, [entry.id], "approve")
    db.session.commit()
    assert approved_minutes(s.friend) == 260


def test_nobody_fixes_their_own_check_out(insiders):
    s = insiders
    assert scan(s.admin, s.activity, s.coordinator_self, "in", s.activity.starts_at).accepted
    session = db.session.scalar(sa.select(AttendanceSession))
    with pytest.raises(IntegrityRefusal) as info:
        fix_missed_checkout(s.coordinator, session, s.activity.starts_at + T(hours=5), "I forgot",
                            now=s.activity.starts_at + T(hours=5, minutes=30))
    assert info.value.code == "conflict_of_interest"


def test_a_correction_from_a_volunteers_report_waits_for_another_person(insiders):
    s = insiders
    entry = served(s.coordinator, s.activity, s.friend, s.activity.starts_at, s.activity.starts_at + T(hours=3))
    decide_entries(s.honest, s.org, [entry.id], "approve")
    db.session.commit()
    from volunteer_registry.accounts.models import User

    request = report_error(db.session.get(User, s.friend.user_id), entry, "wrong", claimed_minutes=170)
    decide_correction(s.coordinator, request, True, "agreed")
    db.session.commit()
    assert approved_minutes(s.friend) == 180
    with pytest.raises(LedgerError) as info:  # and never more than the time between check-in and check-out
        correct_entry(s.admin, entry, 600, "more")
    assert info.value.code in ("correction_pending", "minutes_exceed_interval")


# --- plausibility --------------------------------------------------------------------------------------------------

def test_the_same_minutes_never_count_twice_across_activities(insiders):
    s = insiders
    other = make_activity(s, starts_at=s.activity.starts_at, ends_at=s.activity.ends_at)
    first = served(s.coordinator, s.activity, s.friend, s.activity.starts_at, s.activity.starts_at + T(hours=3))
    second = served(s.coordinator, other, s.friend, s.activity.starts_at + T(hours=1),
                    s.activity.starts_at + T(hours=4))
    assert "overlap" in second.flags
    with pytest.raises(LedgerError) as info:  # together, or one after the other
        decide_entries(s.honest, s.org, [first.id, second.id], "approve")
    assert (info.value.code, info.value.params["other"]) == ("overlaps_other_entry", first.id)
    db.session.rollback()
    decide_entries(s.honest, s.org, [first.id], "approve")
    db.session.commit()
    with pytest.raises(LedgerError) as info:
        decide_entries(s.honest, s.org, [second.id], "approve")
    assert info.value.code == "overlaps_other_entry"
    db.session.rollback()
    assert approved_minutes(s.friend) == 180


def test_no_day_longer_than_the_cap_and_no_fourth_check_in(app, insiders):
    s = insiders
    day = one_local_day(s, 5, 23)
    # a session of 17 hours cannot be fixed in
    assert scan(s.coordinator, day, s.friend, "in", day.starts_at).accepted
    session = db.session.scalar(sa.select(AttendanceSession).where(AttendanceSession.activity_id == day.id))
    with pytest.raises(CheckInError) as info:
        fix_missed_checkout(s.honest, session, day.starts_at + T(hours=17), "all day",
                            now=day.starts_at + T(hours=18))
    assert info.value.code == "daily_cap_exceeded"
    db.session.rollback()
    # three check-ins at one activity in a day are the most
    other = one_local_day(s, 8, 18)
    for n in range(3):
        start = other.starts_at + T(minutes=30 * n)
        served(s.coordinator, other, s.admin_self, start, start + T(minutes=10))
    fourth = scan(s.coordinator, other, s.admin_self, "in", other.starts_at + T(hours=2))
    assert (fourth.accepted, fourth.error.code) == (False, "too_many_sessions")


def test_approving_beyond_the_daily_cap_is_refused(app, insiders):
    s = insiders
    app.config["INTEGRITY_DAILY_CAP_HOURS"] = 4
    morning, afternoon = one_local_day(s, 8, 12), one_local_day(s, 13, 18)
    first = served(s.coordinator, morning, s.friend, morning.starts_at, morning.starts_at + T(hours=3))
    second = served(s.coordinator, afternoon, s.friend, afternoon.starts_at, afternoon.starts_at + T(hours=2))
    assert "long_day" in second.flags
    decide_entries(s.honest, s.org, [first.id], "approve")
    db.session.commit()
    with pytest.raises(LedgerError) as info:
        decide_entries(s.honest, s.org, [second.id], "approve")
    assert info.value.code == "daily_cap_exceeded"


# --- an organization with nobody else ------------------------------------------------------------------------------

def test_with_nobody_else_to_decide_the_record_goes_to_civil_affairs(app, make):
    org = make.org()
    admin = make.org_admin_of(org)
    own = make.volunteer(user=admin)
    activity = make.activity(org, allows_walk_ins=True)
    entry = served(admin, activity, own, activity.starts_at, activity.starts_at + T(hours=2))
    with pytest.raises(IntegrityRefusal):
        decide_entries(admin, org, [entry.id], "approve")
    db.session.rollback()
    platform = make.admin()
    db.session.commit()
    page = app.test_client()
    login(page, platform)
    queue = page.get("/platform/entries").get_data(as_text=True)
    assert f'id="entry-{entry.id}"' in queue
    response = page.post("/platform/entries/decision", data={"entries": [entry.id], "decision": "approve"})
    assert response.status_code == 302
    assert approved_minutes(own) == 120
    # once a second person joins the organization, its records are its own to decide again
    other = served(admin, activity, own, activity.starts_at + T(hours=3), activity.starts_at + T(hours=4))
    make.coordinator(org)
    db.session.commit()
    assert f'id="entry-{other.id}"' not in page.get("/platform/entries").get_data(as_text=True)
    response = page.post("/platform/entries/decision", data={"entries": [other.id], "decision": "approve"})
    assert response.status_code == 422 and approved_minutes(own) == 120


def test_the_ledger_still_verifies_after_the_drill(insiders):
    s = insiders
    entry = served(s.coordinator, s.activity, s.coordinator_self, s.activity.starts_at,
                   s.activity.starts_at + T(hours=1))
    with pytest.raises(IntegrityRefusal):
        decide_entries(s.coordinator, s.org, [entry.id], "approve")
    db.session.rollback()
    decide_entries(s.honest, s.org, [entry.id], "approve")
    extend_log()
    db.session.commit()
    assert verify_ledger().ok and approved_minutes(s.coordinator_self) == 60
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffRole).where(
        StaffRole.organization_id == s.org.id)) == 3


def test_corrections_approved_together_count_as_they_will_be_against_the_cap(insiders):
    """Two approved 8-hour entries fill a 16-hour day; lowering both by an hour in one decision must pass: each is
    counted once, at its new figure, not at its old one and its new one."""
    s = insiders
    morning, evening = one_local_day(s, 6, 14), one_local_day(s, 14, 22)
    first = served(s.coordinator, morning, s.friend, morning.starts_at, morning.ends_at)
    second = served(s.coordinator, evening, s.friend, evening.starts_at, evening.ends_at)
    decide_entries(s.honest, s.org, [first.id, second.id], "approve")
    db.session.commit()
    assert approved_minutes(s.friend) == 960
    for entry in (first, second):
        correct_entry(s.coordinator, db.session.get(LedgerEntry, entry.id), 420, "an hour's lunch break")
    decide_entries(s.honest, s.org, [first.id, second.id], "approve")
    db.session.commit()
    assert approved_minutes(s.friend) == 840
