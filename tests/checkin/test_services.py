"""Every check-in rule and refusal code, under explicit clocks (services take ``now``)."""
import datetime as dt
import uuid

import pytest
import sqlalchemy as sa

from volunteer_registry.activities.services import sign_up
from volunteer_registry.checkin.kiosk import WINDOW_SECONDS, kiosk_token
from volunteer_registry.checkin.models import AttendanceSession, ManualEntry, Scan
from volunteer_registry.checkin.services import (
    CheckInError,
    ScanRequest,
    close_ended_activities,
    decide_manual_entry,
    fix_missed_checkout,
    record_manual_entry,
    record_scan,
    served_minutes,
    union_minutes,
)
from volunteer_registry.errors import Forbidden
from volunteer_registry.extensions import db
from volunteer_registry.integrity.services import IntegrityRefusal
from volunteer_registry.organizations.services import decide_organization

T = dt.timedelta


def eid() -> str:
    return uuid.uuid4().hex


def card(setting, at, direction="auto", **extra):
    activity, coordinator, volunteer = setting
    request = ScanRequest(event_id=extra.pop("event_id", eid()), activity_code=activity.code,
                          volunteer_number=extra.pop("number", volunteer.volunteer_number), direction=direction,
                          **extra)
    return record_scan(coordinator, request, now=at)


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_check_in_then_out_makes_one_closed_session(setting):
    activity = setting[0]
    start = activity.starts_at
    first = card(setting, start + T(minutes=5))
    assert first.accepted and first.scan.result == "in" and first.session.is_open
    second = card(setting, start + T(minutes=95))
    assert second.scan.result == "out" and second.session.id == first.session.id
    assert second.session.checked_out_at == start + T(minutes=95)
    assert served_minutes(activity.id, setting[2].id) == 90
    assert (count(Scan), count(AttendanceSession)) == (2, 1)


def test_a_retried_event_id_returns_the_first_result_and_writes_nothing(setting):
    at = setting[0].starts_at + T(minutes=1)
    first = card(setting, at, event_id="retry-0001")
    again = card(setting, at + T(minutes=3), event_id="retry-0001")
    assert again.replayed and again.scan.id == first.scan.id and again.session.id == first.session.id
    assert again.scan.result == "in" and (count(Scan), count(AttendanceSession)) == (1, 1)


@pytest.mark.parametrize("offset, code", [
    (-T(minutes=31), "activity_not_started"),   # grace period is 30 minutes
    (T(hours=4, minutes=31), "activity_ended"),
])
def test_outside_the_activity_and_its_grace_period(setting, offset, code):
    result = card(setting, setting[0].starts_at + offset)
    assert not result.accepted and result.error.code == code and result.scan.refusal_code == code
    assert (count(Scan), count(AttendanceSession)) == (1, 0)  # the refused scan is kept


@pytest.mark.parametrize("offset", [-T(minutes=29), T(hours=4, minutes=29)])
def test_inside_the_grace_period(setting, offset):
    assert card(setting, setting[0].starts_at + offset, direction="in").accepted


def test_refusals_are_kept_with_their_reason(setting, make):
    activity, coordinator, _volunteer = setting
    at = activity.starts_at + T(minutes=10)
    stranger = make.volunteer()
    assert card(setting, at, number=stranger.volunteer_number).error.code == "not_signed_up"
    assert card(setting, at, direction="out").error.code == "not_checked_in"
    assert card(setting, at, number="AAAA-AAAA-AAAA").error.code == "volunteer_unknown"
    card(setting, at, direction="in")
    assert card(setting, at + T(minutes=1), direction="in").error.code == "already_checked_in"
    refused = db.session.scalars(sa.select(Scan.refusal_code).where(Scan.accepted.is_(False)).order_by(Scan.id))
    assert list(refused) == ["not_signed_up", "not_checked_in", "volunteer_unknown", "already_checked_in"]
    assert db.session.scalar(sa.select(Scan.typed_number).where(Scan.refusal_code == "volunteer_unknown")) \
        == "AAAA-AAAA-AAAA"


def test_walk_ins(make):
    activity = make.activity(allows_walk_ins=True)
    coordinator = make.coordinator(activity.organization)
    walk_in = make.volunteer()
    result = card((activity, coordinator, walk_in), activity.starts_at + T(minutes=3))
    assert result.accepted and result.scan.result == "in"


def test_suspended_organization_and_closed_activity(setting, make):
    activity = setting[0]
    at = activity.starts_at + T(minutes=10)
    decide_organization(make.admin(), activity.organization, "suspend", "inspection")
    # staff of a suspended organization lose their permissions: the scanner is refused outright
    with pytest.raises(Forbidden):
        card(setting, at)
    assert count(Scan) == 0


def test_suspension_refuses_kiosk_scans_with_a_code(setting, make):
    activity, _coordinator, volunteer = setting
    at = activity.starts_at + T(minutes=10)
    decide_organization(make.admin(), activity.organization, "suspend", "inspection")
    result = record_scan(make.account_of(volunteer), ScanRequest(event_id=eid(), activity_code=activity.code,
                                                                 kiosk_token=kiosk_token(activity.code, at)), now=at)
    assert result.error.code == "organization_suspended" and count(AttendanceSession) == 0


def test_unpublished_activity(make):
    activity = make.activity(status="draft")
    coordinator = make.coordinator(activity.organization)
    volunteer = make.volunteer()
    result = card((activity, coordinator, volunteer), activity.starts_at + T(minutes=1))
    assert result.error.code == "activity_not_open"


def test_card_scans_need_the_activity_organizations_staff(setting, make):
    activity, _coordinator, volunteer = setting
    other_coordinator = make.coordinator(make.org())
    with pytest.raises(Forbidden):
        record_scan(other_coordinator, ScanRequest(event_id=eid(), activity_code=activity.code,
                                                   volunteer_number=volunteer.volunteer_number),
                    now=activity.starts_at)
    with pytest.raises(Forbidden):  # a volunteer cannot scan their own card
        record_scan(make.account_of(volunteer), ScanRequest(event_id=eid(), activity_code=activity.code,
                                                            volunteer_number=volunteer.volunteer_number),
                    now=activity.starts_at)
    assert count(Scan) == 0


@pytest.mark.parametrize("event_id, direction, number, token, code", [
    ("short", "auto", "X", None, "event_id_invalid"),
    ("has spaces in it", "auto", "X", None, "event_id_invalid"),
    (None, "sideways", "X", None, "direction_invalid"),
    (None, "auto", None, None, "scan_subject_missing"),
    (None, "auto", "X", "Y", "scan_subject_missing"),
])
def test_malformed_requests_write_nothing(setting, event_id, direction, number, token, code):
    activity, coordinator, _volunteer = setting
    with pytest.raises(CheckInError) as info:
        record_scan(coordinator, ScanRequest(event_id=event_id or eid(), activity_code=activity.code,
                                             volunteer_number=number, kiosk_token=token, direction=direction),
                    now=activity.starts_at)
    assert info.value.code == code and count(Scan) == 0


def test_kiosk_scan_checks_the_volunteer_in_and_out(setting, make):
    activity, _coordinator, volunteer = setting
    person = make.account_of(volunteer)
    at = activity.starts_at + T(minutes=2)

    def kiosk(moment, shown_at):
        return record_scan(person, ScanRequest(event_id=eid(), kiosk_token=kiosk_token(activity.code, shown_at)),
                           now=moment)

    assert kiosk(at, at).scan.result == "in"
    assert kiosk(at + T(minutes=30), at + T(minutes=30) - T(seconds=WINDOW_SECONDS)).scan.result == "out"
    assert served_minutes(activity.id, volunteer.id) == 30


def test_kiosk_qr_from_two_windows_ago_is_stale_and_a_forged_one_refused(setting, make):
    activity, _coordinator, volunteer = setting
    person = make.account_of(volunteer)
    at = activity.starts_at + T(minutes=2)
    old = kiosk_token(activity.code, at - T(seconds=2 * WINDOW_SECONDS))
    result = record_scan(person, ScanRequest(event_id=eid(), kiosk_token=old), now=at)
    assert result.error.code == "kiosk_qr_stale"
    code, window, mac = kiosk_token(activity.code, at).split(".")
    forged = f"{code}.{int(window) + 1}.{mac}"
    result = record_scan(person, ScanRequest(event_id=eid(), activity_code=activity.code, kiosk_token=forged), now=at)
    assert result.error.code == "kiosk_qr_forged"
    other = make.activity(activity.organization)
    wrong_activity = kiosk_token(other.code, at)
    result = record_scan(person, ScanRequest(event_id=eid(), activity_code=activity.code,
                                             kiosk_token=wrong_activity), now=at)
    assert result.error.code == "kiosk_qr_forged"
    assert count(AttendanceSession) == 0 and count(Scan) == 3


def test_flags_offline_skew_and_radius(make):
    activity = make.activity(latitude=36.6171, longitude=101.7782, radius_m=200)
    coordinator = make.coordinator(activity.organization)
    volunteer = make.volunteer()
    sign_up(make.account_of(volunteer), activity, now=activity.starts_at - T(days=1))
    setting = (activity, coordinator, volunteer)
    now = activity.starts_at + T(hours=1)
    # an offline scan keeps its original time and is flagged
    offline = card(setting, now, direction="in", offline=True, scanned_at=now - T(minutes=40))
    assert offline.scan.scanned_at == now - T(minutes=40) and offline.scan.flags == ["offline"]
    assert offline.session.checked_in_at == now - T(minutes=40) and offline.session.flags == ["offline"]
    # an online scan whose device clock is off by more than two minutes: server time counts, flagged
    skewed = card(setting, now, direction="out", scanned_at=now + T(minutes=7),
                  latitude=36.6300, longitude=101.7782)  # about 1.4 km north
    assert skewed.scan.scanned_at == now
    assert set(skewed.scan.flags) == {"clock_skew", "outside_radius"}
    assert {"offline", "clock_skew", "outside_radius"} <= set(skewed.session.flags)
    near = card(setting, now + T(minutes=1), direction="in", latitude=36.6172, longitude=101.7783)
    assert near.scan.flags == []


def test_minutes_are_the_union_of_intervals(setting, make):
    activity, coordinator, volunteer = setting
    base = activity.starts_at
    card(setting, base, direction="in")
    card(setting, base + T(minutes=60), direction="out")
    card(setting, base + T(minutes=90), direction="in")
    card(setting, base + T(minutes=120), direction="out")
    assert served_minutes(activity.id, volunteer.id) == 90
    assert union_minutes([(base, base + T(minutes=60)), (base + T(minutes=30), base + T(minutes=90)),
                          (base + T(minutes=200), base + T(minutes=210))]) == 100


def test_open_sessions_are_closed_at_the_end_and_flagged(setting):
    activity = setting[0]
    card(setting, activity.starts_at + T(minutes=10), direction="in")
    assert close_ended_activities(now=activity.ends_at + T(minutes=29)) == 0  # still within the grace period
    assert close_ended_activities(now=activity.ends_at + T(minutes=31)) == 1
    session = db.session.scalar(sa.select(AttendanceSession))
    assert session.checked_out_at == activity.ends_at and session.flags == ["auto_closed"]


def test_a_session_longer_than_the_cap_is_flagged(make):
    from volunteer_registry.models import utcnow

    start = utcnow().replace(microsecond=0) - T(hours=14)
    activity = make.activity(starts_at=start, ends_at=start + T(hours=20))
    coordinator = make.coordinator(activity.organization)
    volunteer = make.volunteer()
    sign_up(make.account_of(volunteer), activity, now=start - T(days=1))
    setting = (activity, coordinator, volunteer)
    card(setting, start, direction="in")
    result = card(setting, start + T(hours=13), direction="out")
    assert "too_long" in result.session.flags


def test_the_cap_is_configured_and_applies_to_corrections_too(app, setting):
    activity, coordinator, volunteer = setting
    app.config["CHECKIN_SESSION_CAP_HOURS"] = 0.5
    card(setting, activity.starts_at, direction="in")
    short = card(setting, activity.starts_at + T(minutes=29), direction="out")
    assert short.session.flags == []
    card(setting, activity.starts_at + T(minutes=40), direction="in")
    long = card(setting, activity.starts_at + T(minutes=80), direction="out")
    assert long.session.flags == ["too_long"]
    opened = card(setting, activity.starts_at + T(minutes=90), direction="in").session
    fix_missed_checkout(coordinator, opened, opened.checked_in_at + T(minutes=45), "forgot to scan out",
                        now=activity.starts_at + T(minutes=150))
    assert opened.flags == ["corrected", "too_long"]


def test_fixing_a_missed_check_out_is_a_correction(setting):
    activity, coordinator, volunteer = setting
    session = card(setting, activity.starts_at + T(minutes=10), direction="in").session
    with pytest.raises(CheckInError) as info:
        fix_missed_checkout(coordinator, session, activity.starts_at + T(hours=2), "")
    assert info.value.code == "reason_required"
    with pytest.raises(CheckInError) as info:  # not a check-out that has not happened yet
        fix_missed_checkout(coordinator, session, activity.starts_at + T(hours=2), "left without scanning",
                            now=activity.starts_at + T(hours=1))
    assert info.value.code == "checkout_in_future"
    scan = fix_missed_checkout(coordinator, session, activity.starts_at + T(hours=2), "left without scanning",
                               now=activity.starts_at + T(hours=3))
    assert (scan.method, scan.reason, scan.recorded_by_id) == ("correction", "left without scanning", coordinator.id)
    assert session.checked_out_at == activity.starts_at + T(hours=2) and "corrected" in session.flags
    assert served_minutes(activity.id, volunteer.id) == 110
    # the earlier check-in scan is untouched, and scans cannot be edited at all
    with pytest.raises(sa.exc.DatabaseError):
        db.session.execute(sa.text("UPDATE scans SET reason = 'edited'"))
        db.session.flush()
    db.session.rollback()


def test_manual_entry_needs_someone_else_to_approve(setting, make):
    activity, coordinator, volunteer = setting
    entry = record_manual_entry(coordinator, activity, volunteer, activity.starts_at,
                                activity.starts_at + T(hours=2), "paper sign-in sheet")
    assert entry.status == "pending" and count(AttendanceSession) == 0
    with pytest.raises(IntegrityRefusal) as info:
        decide_manual_entry(coordinator, entry, True)
    assert info.value.code == "own_recording" and entry.status == "pending"
    org_admin = make.org_admin_of(activity.organization)
    decide_manual_entry(org_admin, entry, True)
    session = db.session.get(AttendanceSession, entry.session_id)
    assert session.source == "manual" and session.flags == ["manual"]
    assert served_minutes(activity.id, volunteer.id) == 120
    with pytest.raises(CheckInError) as info:
        decide_manual_entry(org_admin, entry, False)
    assert info.value.code == "entry_not_pending"


@pytest.mark.parametrize("start, end, reason, code", [
    (T(0), T(hours=1), " ", "reason_required"),
    (T(hours=1), T(hours=1), "x", "ends_before_start"),
    (-T(hours=2), T(hours=1), "x", "outside_activity"),
])
def test_manual_entry_refusals(setting, start, end, reason, code):
    activity, coordinator, volunteer = setting
    with pytest.raises(CheckInError) as info:
        record_manual_entry(coordinator, activity, volunteer, activity.starts_at + start, activity.starts_at + end,
                            reason)
    assert info.value.code == code and count(ManualEntry) == 0
