"""Ongoing service in Chromium, on phones: a coordinator turns an activity into a weekly duty roster (one holiday
skipped) and sets up a service point, whose A6 poster's QR code is read by ``zbarimg`` from the PDF rendered by
``pdftoppm``; a volunteer joins the roster in one tap and is signed up for its shifts; on a shift's day, with the
phone's location near the point, they open the poster's URL and check in, and later check out: the session carries
the point and the shift, is flagged static_qr, and its hours wait for a coordinator.

The clock is moved with time-machine (the app runs in this process); the browsers keep real time. A screenshot of
every step is kept in ``test-artifacts/roster/``.
"""
from __future__ import annotations

import datetime as dt
import re
import subprocess
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from volunteer_registry.activities.models import RosterMember, Shift, ShiftSeries, Signup
from volunteer_registry.checkin.models import AttendanceSession
from volunteer_registry.extensions import db
from volunteer_registry.ledger.models import LedgerEntry, LedgerState
from volunteer_registry.points.models import ServicePoint
from volunteer_registry.timeutil import LOCAL_ZONE

from .journeys import PHONE, ROOT, Journey, decode_qr, fresh, sign_in

time_machine = pytest.importorskip("time_machine", reason="pip install -r requirements.txt")
expect = pytest.importorskip("playwright.sync_api", reason="pip install -r requirements.txt").expect

pytestmark = pytest.mark.slow

ARTIFACTS = ROOT / "test-artifacts" / "roster"
WEEKDAY_CODES = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
#: the service point: Jiegu's square, and a phone 40 m from it
POINT = {"latitude": 33.00540, "longitude": 97.00850}
NEAR = {"latitude": 33.00576, "longitude": 97.00850}


def fits_the_phone(page) -> None:
    """Nothing wider than the phone's screen: no sideways scrolling of the page."""
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths


@pytest.fixture
def journey(browser, live_server):
    journey = Journey(browser, live_server, ARTIFACTS)
    try:
        yield journey
    finally:
        journey.close()


def test_a_weekly_roster_served_at_a_service_point_with_its_poster(journey, make, tmp_path):
    # 09:00 in Beijing tomorrow: the coordinator's morning; the roster's first shift is the day after, 10:00-13:00
    today = dt.date.today() + dt.timedelta(days=1)
    first = today + dt.timedelta(days=1)
    holiday = first + dt.timedelta(days=7)
    until = first + dt.timedelta(days=21)
    morning = dt.datetime.combine(today, dt.time(9), LOCAL_ZONE)
    with time_machine.travel(morning, tick=True) as clock:
        org = make.org(join_mode="open")
        coordinator = make.coordinator(org)
        activity = make.activity(org, title="结古镇敬老院陪伴", starts_at=morning + dt.timedelta(hours=3),
                                 ends_at=morning + dt.timedelta(hours=5))
        volunteer_user = make.user("13897650002")
        volunteer = make.volunteer(volunteer_user, name="卓玛", phone="13897650002")
        db.session.commit()
        code, activity_id, volunteer_id = activity.code, activity.id, volunteer.id

        # 1. the coordinator makes the activity a weekly duty roster, on a phone
        staff = journey.person(PHONE)
        sign_in(staff, coordinator.email)
        staff.goto(f"/activities/{code}")
        staff.click("a:has-text('Shifts and roster')")
        expect(staff).to_have_url(re.compile(rf"/activities/{code}/shifts$"))
        expect(staff.locator("#roster-heading")).to_have_text("Make it a duty roster")
        form = staff.locator("form[action$='/roster']")
        form.locator("select[name=frequency]").select_option("weekly")
        form.locator(f"input[name=weekdays][value={WEEKDAY_CODES[first.weekday()]}]").check()
        form.locator("input[name=first_day]").fill(first.isoformat())
        form.locator("input[name=until]").fill(until.isoformat())
        form.locator("input[name=start_time]").fill("10:00")
        form.locator("input[name=duration_minutes]").fill("180")
        form.locator("input[name=capacity]").fill("4")
        form.locator("textarea[name=exceptions]").fill(holiday.isoformat())
        fits_the_phone(staff)
        form.locator("button[type=submit]").click()
        expect(staff.locator("main")).to_contain_text("Roster saved")
        weekday = first.strftime("%A")
        expect(staff.locator("#roster-heading")).to_have_text("Edit the duty roster")
        summary = staff.locator("section:has(#roster-heading) strong")
        expect(summary).to_have_text(f"Every week on {weekday}, 10:00–13:00, until {until.isoformat()}")
        next_line = staff.locator("section:has(#roster-heading) p:has-text('Next:')")
        expect(next_line).to_be_visible()
        assert next_line.inner_text().count("·") == 2  # three days: the first, and two after the holiday
        fits_the_phone(staff)
        journey.shot(staff, "coordinator-roster-saved")
        [(series_id, exceptions)] = fresh(sa.select(ShiftSeries.id, ShiftSeries.exceptions)
                                          .where(ShiftSeries.activity_id == activity_id))
        assert exceptions == [holiday.isoformat()]
        roster_shifts = fresh(sa.select(Shift.id, Shift.occurrence, Shift.starts_at, Shift.capacity)
                              .where(Shift.series_id == series_id, Shift.status == "open").order_by(Shift.starts_at))
        assert [row.occurrence for row in roster_shifts] == [first, first + dt.timedelta(days=14), until]
        assert all(row.capacity == 4 for row in roster_shifts)
        # the activity's automatic one-off shift, unused, gave way to the roster's
        assert fresh(sa.select(Shift.id).where(Shift.activity_id == activity_id).order_by(Shift.starts_at)) == \
            [(row.id,) for row in roster_shifts]
        assert roster_shifts[0].starts_at == dt.datetime.combine(first, dt.time(10), LOCAL_ZONE)

        # 2. a service point with its coordinates; its A6 poster's QR code, as printed
        staff.goto(f"/activities/{code}/points")
        staff.fill("input[name=name]", "结古镇敬老院")
        staff.fill("input[name=address]", "结古镇民主路 12 号")
        staff.fill("input[name=latitude]", str(POINT["latitude"]))
        staff.fill("input[name=longitude]", str(POINT["longitude"]))
        staff.fill("input[name=radius_m]", "150")
        fits_the_phone(staff)
        staff.click("button:has-text('Set up the point')")
        expect(staff.locator("main")).to_contain_text("Service point 结古镇敬老院 set up")
        expect(staff.locator("#poster-1")).to_contain_text("In use")
        fits_the_phone(staff)
        journey.shot(staff, "coordinator-service-point")
        [(point_id, radius)] = fresh(sa.select(ServicePoint.id, ServicePoint.radius_m)
                                     .where(ServicePoint.activity_id == activity_id))
        assert radius == 150
        a6 = staff.locator("#poster-1 a:has-text('Print on A6')")
        response = staff.request.get(a6.get_attribute("href"))
        assert response.status == 200 and response.headers["content-type"] == "application/pdf"
        pdf = tmp_path / "poster.pdf"
        pdf.write_bytes(response.body())
        assert pdf.read_bytes().startswith(b"%PDF-")
        subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "poster")],
                       check=True, timeout=60)
        [rendered] = tmp_path.glob("poster*.png")
        poster_url = decode_qr(rendered)
        assert re.fullmatch(r"HTTPS?://127\.0\.0\.1:\d+/P/[0-9A-Z._~-]+", poster_url), poster_url
        assert poster_url.lower() == staff.locator("#poster-1 code").inner_text().lower()

        # 3. the volunteer joins the roster on their phone
        phone = journey.person(PHONE)
        sign_in(phone, "13897650002")
        phone.goto(f"/activities/{code}")
        join = phone.locator("#shifts button:has-text('Join this roster')")
        expect(join).to_be_visible()
        fits_the_phone(phone)
        join.click()
        expect(phone.locator("main")).to_contain_text("You are on the roster")
        expect(phone.locator("#shifts")).to_contain_text("You are on this roster")
        expect(phone.locator("#shifts button:has-text('Leave the roster')")).to_be_visible()
        fits_the_phone(phone)
        journey.shot(phone, "volunteer-joined-roster")
        assert fresh(sa.select(RosterMember.status).where(RosterMember.series_id == series_id,
                                                          RosterMember.volunteer_id == volunteer_id)) == [("active",)]
        places = fresh(sa.select(Signup.shift_id, Signup.status).where(Signup.volunteer_id == volunteer_id))
        assert {(shift_id, status) for shift_id, status in places if shift_id in {r.id for r in roster_shifts}} == \
            {(row.id, "accepted") for row in roster_shifts}

        # 4. the day of the first shift, 10:20: at the care home, the phone's location near the point
        clock.move_to(dt.datetime.combine(first, dt.time(10, 20), LOCAL_ZONE))
        there = journey.person(PHONE, geolocation=NEAR, permissions=["geolocation"])
        sign_in(there, "13897650002")
        there.goto(urlsplit(poster_url).path)
        expect(there.locator("h1")).to_have_text("结古镇敬老院")
        expect(there.locator("main")).to_contain_text("Shift:")
        expect(there.locator("main")).to_contain_text("You are not checked in.")
        fits_the_phone(there)
        journey.shot(there, "poster-page")
        there.click("button.tap__button:has-text('Check in')")
        expect(there.locator("h1.tap__done")).to_contain_text("Checked in")
        expect(there.locator("main")).to_contain_text("need a coordinator's approval")
        expect(there.locator("main")).not_to_contain_text("outside the service point's area")
        fits_the_phone(there)
        journey.shot(there, "volunteer-checked-in")
        [session] = fresh(sa.select(AttendanceSession.id, AttendanceSession.point_id, AttendanceSession.shift_id,
                                    AttendanceSession.flags, AttendanceSession.checked_out_at)
                          .where(AttendanceSession.volunteer_id == volunteer_id))
        assert (session.point_id, session.shift_id, session.checked_out_at) == (point_id, roster_shifts[0].id, None)
        assert "static_qr" in session.flags and "outside_radius" not in session.flags

        # 5. 12:50, the same poster: check out; the hours wait for a coordinator
        clock.move_to(dt.datetime.combine(first, dt.time(12, 50), LOCAL_ZONE))
        there.goto(urlsplit(poster_url).path)
        expect(there.locator("main")).to_contain_text("You are checked in since")
        there.click("button.tap__button:has-text('Check out')")
        expect(there.locator("h1.tap__done")).to_contain_text("Checked out")
        fits_the_phone(there)
        journey.shot(there, "volunteer-checked-out")
        [(entry_shift, entry_session, status, minutes, flagged)] = fresh(
            sa.select(LedgerEntry.shift_id, LedgerEntry.session_id, LedgerState.status, LedgerState.minutes,
                      LedgerState.flagged)
            .join(LedgerState, LedgerState.entry_id == LedgerEntry.id)
            .where(LedgerEntry.volunteer_id == volunteer_id))
        assert (entry_shift, entry_session, status) == (roster_shifts[0].id, session.id, "pending")
        assert 145 <= minutes <= 155 and flagged
    shots = sorted(path.name for path in ARTIFACTS.glob("*.png"))
    assert len(shots) == journey.step and all((ARTIFACTS / name).stat().st_size > 5_000 for name in shots)
    print(f"roster journey: {journey.step} screenshots in {ARTIFACTS.relative_to(ROOT)}/: {', '.join(shots)}")
