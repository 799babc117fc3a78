"""Kiosk, scanner and day view for one shift (``?shift=<id>``, by default the one on now): the shift goes into the
scan, and the scan is checked against that shift's times."""
import datetime as dt
import re
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from volunteer_registry.activities.models import Shift
from volunteer_registry.activities.services import sign_up
from volunteer_registry.checkin.models import AttendanceSession, Scan
from volunteer_registry.extensions import db
from volunteer_registry.models import utcnow

from ..conftest import login

T = dt.timedelta


@pytest.fixture
def rota(make):
    """An activity from eight hours ago to ten hours on with three shifts: one that ended (-8 h to -6 h), one on now
    (-1 h to +3 h) and a later one (+6 h to +8 h, five places); a volunteer with a place in the one on now and the
    later one; the coordinator."""
    now = utcnow().replace(microsecond=0)
    activity = make.activity(starts_at=now - T(hours=8), ends_at=now + T(hours=10))
    on_now = db.session.scalar(sa.select(Shift).where(Shift.activity_id == activity.id))
    on_now.starts_at, on_now.ends_at = now - T(hours=1), now + T(hours=3)
    ended = Shift(activity_id=activity.id, organization_id=activity.organization_id, starts_at=now - T(hours=8),
                  ends_at=now - T(hours=6), role="Morning desk", status="open")
    later = Shift(activity_id=activity.id, organization_id=activity.organization_id, starts_at=now + T(hours=6),
                  ends_at=now + T(hours=8), capacity=5, role="Evening desk", status="open")
    db.session.add_all([ended, later])
    db.session.flush()
    volunteer = make.volunteer()
    for shift in (on_now, later):
        sign_up(make.account_of(volunteer), activity, now=activity.starts_at - T(days=1), shift=shift)
    coordinator = make.coordinator(activity.organization)
    db.session.commit()
    return activity, {"ended": ended, "now": on_now, "later": later}, volunteer, coordinator


def signed_in(app, user):
    client = app.test_client()
    login(client, user)
    return client


def test_the_kiosk_qr_carries_the_shift_on_now_or_the_one_asked(app, rota):
    activity, shifts, _volunteer, coordinator = rota
    screen = signed_in(app, coordinator)
    page = screen.get(f"/activities/{activity.code}/kiosk")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"/activities/{activity.code}/kiosk/state?shift={shifts['now'].id}" in html
    state = screen.get(f"/activities/{activity.code}/kiosk/state").get_json()
    assert state["shift"] == shifts["now"].id
    assert parse_qs(urlsplit(state["url"]).query) == {"shift": [str(shifts["now"].id)]}

    state = screen.get(f"/activities/{activity.code}/kiosk/state?shift={shifts['later'].id}").get_json()
    assert state["shift"] == shifts["later"].id and f"shift={shifts['later'].id}" in state["url"]
    assert "Evening desk" in screen.get(f"/activities/{activity.code}/kiosk?shift={shifts['later'].id}").get_data(
        as_text=True)
    for bad in ("abc", "99999999", "-3"):
        assert screen.get(f"/activities/{activity.code}/kiosk?shift={bad}").status_code == 404


def test_a_kiosk_tap_is_checked_against_the_shift_of_its_qr(app, make, rota):
    activity, shifts, volunteer, coordinator = rota
    screen = signed_in(app, coordinator)
    phone = signed_in(app, make.account_of(volunteer))

    def tap(shift):
        url = urlsplit(screen.get(f"/activities/{activity.code}/kiosk/state?shift={shift.id}").get_json()["url"])
        path = f"{url.path}?{url.query}"
        html = phone.get(path).get_data(as_text=True)
        assert f'action="{url.path}?shift={shift.id}"' in html  # the button keeps the shift
        event_id = re.search(r'name="event_id"[^>]*value="([^"]+)"', html).group(1)
        return phone.post(path, data={"event_id": event_id})

    refused = tap(shifts["later"])
    assert refused.status_code == 409 and "Check-in opens" in refused.get_data(as_text=True)
    db.session.rollback()
    scan = db.session.scalar(sa.select(Scan))
    assert (scan.refusal_code, scan.shift_id) == ("activity_not_started", shifts["later"].id)

    accepted = tap(shifts["now"])
    assert accepted.status_code == 200 and "Checked in at" in accepted.get_data(as_text=True)
    db.session.rollback()
    session = db.session.scalar(sa.select(AttendanceSession))
    assert session.shift_id == shifts["now"].id

    # a link changed by hand to another activity's shift is refused, nothing written
    other = db.session.scalar(sa.select(Shift.id).where(Shift.activity_id == make.activity().id))
    db.session.commit()
    url = urlsplit(screen.get(f"/activities/{activity.code}/kiosk/state").get_json()["url"])
    html = phone.get(f"{url.path}?shift={other}").get_data(as_text=True)
    event_id = re.search(r'name="event_id"[^>]*value="([^"]+)"', html).group(1)
    answer = phone.post(f"{url.path}?shift={other}", data={"event_id": event_id})
    assert answer.status_code == 404 and "not part of the activity" in answer.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Scan)) == 2


def test_the_scanner_sends_its_shift_and_the_shift_picks_the_window(app, make, rota):
    activity, shifts, volunteer, coordinator = rota
    client = signed_in(app, coordinator)
    page = client.get(f"/activities/{activity.code}/scanner?shift={shifts['later'].id}").get_data(as_text=True)
    assert f'data-shift="{shifts["later"].id}"' in page and "Evening desk" in page
    default = client.get(f"/activities/{activity.code}/scanner").get_data(as_text=True)
    assert f'data-shift="{shifts["now"].id}"' in default
    assert f'/activities/{activity.code}/shifts/{shifts["now"].id}/group' in default
    with client.get("/static/js/scan-queue.js") as script:   # the queue scanner.js sends through
        assert b"shift: item.shift" in script.data

    url = f"/activities/{activity.code}/scans"

    def scan(shift, **extra):
        body = {"event_id": uuid.uuid4().hex, "volunteer_number": volunteer.volunteer_number,
                "scanned_at": utcnow().isoformat(), "direction": "in", **extra}
        if shift is not None:
            body["shift"] = shift.id
        return client.post(url, json=body)

    for name, code in (("later", "activity_not_started"), ("ended", "activity_ended")):
        answer = scan(shifts[name])
        assert answer.status_code == 409 and answer.get_json()["code"] == code
        assert answer.get_json()["shift"] == shifts[name].id
    answer = scan(None)
    assert answer.status_code == 201 and answer.get_json()["shift"] == shifts["now"].id
    other = db.session.scalar(sa.select(Shift).where(Shift.activity_id == make.activity().id))
    db.session.commit()
    answer = scan(other)
    assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "shift_unknown"
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Scan)) == 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AttendanceSession)) == 1


def roster_section(html: str, shift) -> str:
    match = re.search(rf'<section class="card shift-roster" id="shift-{shift.id}">(.*?)</section>', html, re.S)
    assert match, f"no roster for shift {shift.id}"
    return match.group(1)


def test_the_day_view_lists_each_shifts_volunteers_with_their_state_and_places(app, make, rota):
    activity, shifts, volunteer, coordinator = rota
    client = signed_in(app, coordinator)
    before = roster_section(client.get(f"/activities/{activity.code}/day").get_data(as_text=True), shifts["now"])
    assert volunteer.name in before and "not yet here" in before and "no limit on places" in before

    answer = client.post(f"/activities/{activity.code}/scans",
                         json={"event_id": uuid.uuid4().hex, "volunteer_number": volunteer.volunteer_number,
                               "shift": shifts["now"].id})
    assert answer.status_code == 201
    html = client.get(f"/activities/{activity.code}/day").get_data(as_text=True)
    now_roster = roster_section(html, shifts["now"])
    assert volunteer.volunteer_number in now_roster and ">present<" in now_roster
    assert f'/activities/{activity.code}/shifts/{shifts["now"].id}/group' in now_roster

    later = roster_section(client.get(f"/activities/{activity.code}/day?shift={shifts['later'].id}")
                           .get_data(as_text=True), shifts["later"])
    assert "Evening desk" in later and "4 places open" in later and "1 signed up" in later
    assert volunteer.name in later and "not yet here" in later
    assert client.get(f"/activities/{activity.code}/day?shift=x").status_code == 404


def test_a_session_left_open_closes_at_its_shifts_end_while_the_activity_runs_on(app, rota):
    """Nobody checked out of the shift on now: once its end and the grace period are past, the batch closes the
    session at the shift's end (flagged auto_closed) and records it, hours before the activity itself ends; the
    later shift is untouched."""
    from volunteer_registry.checkin.services import ScanRequest, close_ended_activities, record_scan
    from volunteer_registry.ledger.models import LedgerEntry

    activity, shifts, volunteer, coordinator = rota
    now = utcnow().replace(microsecond=0)
    result = record_scan(coordinator, ScanRequest(event_id=uuid.uuid4().hex, activity_code=activity.code,
                                                  volunteer_number=volunteer.volunteer_number, direction="in"),
                         now=now)
    assert result.accepted and result.session.shift_id == shifts["now"].id
    grace = T(minutes=activity.grace_minutes)
    assert close_ended_activities(shifts["now"].ends_at + grace - T(minutes=1)) == 0  # within the grace period
    assert close_ended_activities(shifts["now"].ends_at + grace + T(minutes=1)) == 1
    session = db.session.get(AttendanceSession, result.session.id)
    assert (session.checked_out_at, "auto_closed" in session.flags) == (shifts["now"].ends_at, True)
    assert shifts["now"].ends_at + grace < activity.ends_at  # the activity runs on
    entry = db.session.scalar(sa.select(LedgerEntry).where(LedgerEntry.session_id == session.id))
    served = int((shifts["now"].ends_at - session.checked_in_at).total_seconds() // 60)
    assert (entry.shift_id, entry.minutes) == (shifts["now"].id, served) and served >= 179
