"""Group check-in in Chromium: a crew checked in without network waits in the scanner's queue, one scan per person
with its own event id and the shift, reaches the server once the network returns, and sending it again changes
nothing; each person's outcome is shown on their row."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from volunteer_registry.activities.models import Shift
from volunteer_registry.activities.services import sign_up
from volunteer_registry.checkin.models import AttendanceSession, Scan
from volunteer_registry.extensions import db

from ..conftest import PASSWORD
from .conftest import TIMEOUT_MS
from .test_scanner import committed, queue

expect = pytest.importorskip("playwright.sync_api", reason="the playwright module is missing: "
                              "pip install -r requirements.txt").expect

pytestmark = pytest.mark.slow  # a live server and a browser


@pytest.fixture
def crew(make):
    """An activity on now (its one shift), its coordinator, three volunteers with a place in the shift."""
    org = make.org()
    coordinator = make.coordinator(org)
    activity = make.activity(org)
    shift = db.session.scalar(sa.select(Shift).where(Shift.activity_id == activity.id))
    volunteers = [make.volunteer(name=name) for name in ("卓玛", "扎西", "Li Wei")]
    for volunteer in volunteers:
        sign_up(make.account_of(volunteer), activity, now=activity.starts_at - dt.timedelta(days=1))
    db.session.commit()
    return {"code": activity.code, "shift": shift.id, "coordinator": coordinator.email,
            "numbers": [v.volunteer_number for v in volunteers]}


def test_a_crew_checked_in_offline_is_sent_once_on_reconnect(page, context, crew):
    path = f"/activities/{crew['code']}/shifts/{crew['shift']}/group"
    page.goto(path)
    assert "/login" in page.url
    page.fill("input[name=identifier]", crew["coordinator"])
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"**{path}")
    expect(page.locator("#group-list li")).to_have_count(3, timeout=TIMEOUT_MS)

    context.set_offline(True)
    expect(page.locator("#scanner-net")).to_have_text("Offline: scans are queued", timeout=TIMEOUT_MS)
    page.click("#group-all")
    page.click("#group-in")
    expect(page.locator("#queue-count")).to_have_text("3", timeout=TIMEOUT_MS)
    waiting = queue(page)
    assert sorted(item["volunteer_number"] for item in waiting) == sorted(crew["numbers"])
    assert {str(item["shift"]) for item in waiting} == {str(crew["shift"])}
    assert {item["direction"] for item in waiting} == {"in"} and all(item["offline"] for item in waiting)
    assert len({item["event_id"] for item in waiting}) == 3  # one event id per person
    for number in crew["numbers"]:
        expect(page.locator(f"#group-list li[data-number='{number}'] [data-role=outcome]")).to_contain_text(
            "queued", timeout=TIMEOUT_MS)
    assert committed(Scan) == []

    context.set_offline(False)
    expect(page.locator("#queue-count")).to_have_text("0", timeout=TIMEOUT_MS)
    for number in crew["numbers"]:
        row = page.locator(f"#group-list li[data-number='{number}']")
        expect(row.locator("[data-role=outcome]")).to_contain_text("Checked in at", timeout=TIMEOUT_MS)
        expect(row.locator("[data-role=state]")).to_have_text("present", timeout=TIMEOUT_MS)
    scans = committed(Scan)
    assert sorted(s.event_id for s in scans) == sorted(item["event_id"] for item in waiting)
    assert all((s.accepted, s.method, s.shift_id, s.flags) == (True, "offline", crew["shift"], ["offline"])
               for s in scans)
    assert len(committed(AttendanceSession)) == 3

    # the same items again (a second device's sync, a retry): the first results, nothing written
    answers = page.evaluate("""async ({url, items}) => {
        const csrf = document.getElementById("group").dataset.csrf;
        return Promise.all(items.map(async (item) => {
            const response = await fetch(url, {
                method: "POST", credentials: "same-origin", cache: "no-store",
                headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf},
                body: JSON.stringify({event_id: item.event_id, volunteer_number: item.volunteer_number,
                                      shift: item.shift, direction: item.direction, scanned_at: item.scanned_at,
                                      offline: true}),
            });
            return {status: response.status, body: await response.json()};
        }));
    }""", {"url": f"/activities/{crew['code']}/scans", "items": waiting})
    assert [a["status"] for a in answers] == [200, 200, 200], answers
    assert all(a["body"]["replayed"] for a in answers)
    assert len(committed(Scan)) == 3 and len(committed(AttendanceSession)) == 3
