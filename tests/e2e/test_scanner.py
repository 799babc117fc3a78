"""The coordinator's scanner page in Chromium: scans typed while offline wait in the page's queue with their
original time, reach the server once the network returns, and sending the same event ids again changes nothing.
The page also opens again without network (its service worker serves it)."""
from __future__ import annotations

import datetime as dt
import re
import time

import pytest
import sqlalchemy as sa

from volunteer_registry.checkin.models import AttendanceSession, Scan
from volunteer_registry.checkin.services import ScanRequest, record_scan
from volunteer_registry.extensions import db
from volunteer_registry.timeutil import parse_datetime

from ..conftest import PASSWORD
from .conftest import TIMEOUT_MS

expect = pytest.importorskip("playwright.sync_api", reason="the playwright module is missing: "
                              "pip install -r requirements.txt").expect

pytestmark = pytest.mark.slow  # a live server and a browser

QUEUE_KEY = "vr-scanner-queue"  # where static/js/scanner.js keeps its queue (localStorage)


def committed(model, *where) -> list:
    """The rows of ``model`` the server committed, read afresh (the test's session ends its transaction first)."""
    db.session.rollback()
    rows = db.session.scalars(sa.select(model).where(*where).order_by(model.id)).all()
    for row in rows:
        db.session.expunge(row)
    db.session.rollback()
    return rows


@pytest.fixture
def scene(make):
    """A walk-in activity running now, its coordinator, and two volunteers with their numbers."""
    org = make.org()
    coordinator = make.coordinator(org)
    activity = make.activity(org, allows_walk_ins=True)
    volunteers = [make.volunteer(name="卓玛"), make.volunteer(name="扎西")]
    db.session.commit()
    return {"code": activity.code, "title": activity.title, "coordinator": coordinator.email,
            "numbers": [v.volunteer_number for v in volunteers], "names": [v.name for v in volunteers]}


def sign_in_to_scanner(page, scene) -> str:
    """Open the scanner, sign in through the real form it redirects to, land back on the scanner."""
    path = f"/activities/{scene['code']}/scanner"
    page.goto(path)
    assert "/login" in page.url
    page.fill("input[name=identifier]", scene["coordinator"])
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"**{path}")
    assert page.locator("h1").inner_text() == scene["title"]
    return path


def eventually(page, script: str, arg=None) -> None:
    """Wait (at most TIMEOUT_MS) until ``script`` is true in the page, awaiting it when it returns a promise
    (page.wait_for_function does not await one, and the page's CSP forbids the string form it would eval)."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not page.evaluate(script, arg):
        assert time.monotonic() < deadline, f"still false after {TIMEOUT_MS} ms: {script}"
        page.wait_for_timeout(100)


def queue(page) -> list[dict]:
    """The scans waiting in the page's queue, as scanner.js stored them."""
    return page.evaluate("key => JSON.parse(localStorage.getItem(key) || '[]')", QUEUE_KEY)


def type_number(page, number: str) -> None:
    page.fill("#typed-number", number)
    page.click("#typed-form button[type=submit]")


def expect_queue(page, numbers: list[str]) -> None:
    """The queue on screen lists exactly ``numbers``, in order, each marked "queued"."""
    expect(page.locator("#queue-count")).to_have_text(str(len(numbers)), timeout=TIMEOUT_MS)
    items = page.locator("#queue-list li")
    expect(items).to_have_count(len(numbers), timeout=TIMEOUT_MS)
    for item, number in zip(items.all(), numbers, strict=True):
        expect(item.locator("span")).to_have_text([re.compile(r"\S"), re.compile(re.escape(number)), "queued"],
                                                  timeout=TIMEOUT_MS)


def test_offline_scans_are_sent_once_on_reconnect_and_replays_change_nothing(page, context, scene):
    sign_in_to_scanner(page, scene)
    numbers = scene["numbers"]

    # no network: both typed numbers wait in the queue, and nothing reaches the server
    context.set_offline(True)
    expect(page.locator("#scanner-net")).to_have_text("Offline: scans are queued", timeout=TIMEOUT_MS)
    for number in numbers:
        type_number(page, number)
    expect_queue(page, numbers)
    waiting = queue(page)
    assert [item["volunteer_number"] for item in waiting] == numbers
    assert [item["offline"] for item in waiting] == [True, True]  # both will be sent as offline scans
    event_ids = [item["event_id"] for item in waiting]
    scanned_at = [parse_datetime(item["scanned_at"]) for item in waiting]
    assert len(set(event_ids)) == 2
    assert committed(Scan) == [] and committed(AttendanceSession) == []

    # the network returns: the page sends its queue by itself, once
    reconnected_at = dt.datetime.now(dt.UTC)
    context.set_offline(False)
    expect(page.locator("#scanner-net")).to_have_text("Online", timeout=TIMEOUT_MS)
    expect_queue(page, [])
    expect(page.locator("#scanner-present")).to_have_text("2", timeout=TIMEOUT_MS)
    recent = page.locator("#recent-list li")
    expect(recent).to_have_count(2, timeout=TIMEOUT_MS)
    for name in scene["names"]:
        expect(recent.filter(has_text=f"{name}: Checked in at")).to_have_count(1, timeout=TIMEOUT_MS)
    assert queue(page) == []

    scans = committed(Scan)
    assert sorted(s.event_id for s in scans) == sorted(event_ids)
    by_event = {s.event_id: s for s in scans}
    for event_id, moment in zip(event_ids, scanned_at, strict=True):
        scan = by_event[event_id]
        assert (scan.accepted, scan.result, scan.method, scan.flags) == (True, "in", "offline", ["offline"])
        # the time that counts is the one the browser recorded offline, not the time the server received it
        assert scan.scanned_at == scan.client_time == moment
        assert scan.scanned_at < reconnected_at <= scan.received_at
    sessions = committed(AttendanceSession)
    assert len(sessions) == 2
    assert {s.id for s in sessions} == {s.session_id for s in scans}
    assert all(s.is_open and s.source == "offline" and s.flags == ["offline"] for s in sessions)
    assert sorted(s.checked_in_at for s in sessions) == sorted(scanned_at)

    # the same event ids again, from the page with its CSRF token: the first results, nothing new written
    answers = page.evaluate("""async ({url, items}) => {
        const csrf = document.getElementById("scanner").dataset.csrf;
        return Promise.all(items.map(async (item) => {
            const response = await fetch(url, {
                method: "POST", credentials: "same-origin", cache: "no-store",
                headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf},
                body: JSON.stringify({event_id: item.event_id, volunteer_number: item.volunteer_number,
                                      direction: item.direction, scanned_at: item.scanned_at, offline: true}),
            });
            return {status: response.status, body: await response.json()};
        }));
    }""", {"url": f"/activities/{scene['code']}/scans", "items": waiting})
    assert [a["status"] for a in answers] == [200, 200], answers
    for answer, event_id in zip(answers, event_ids, strict=True):
        body = answer["body"]
        assert (body["replayed"], body["accepted"], body["result"], body["event_id"]) == (True, True, "in", event_id)
        assert body["session"]["id"] == by_event[event_id].session_id
        assert body["present"] == 2
    assert [s.event_id for s in committed(Scan)] == [s.event_id for s in scans]
    assert [s.id for s in committed(AttendanceSession)] == [s.id for s in sessions]


def test_a_queued_scan_whose_event_id_another_account_sent_is_shown_refused_and_dropped(page, make, scene):
    """The server answers event_id_taken (409, nothing of the first scan): the page drops the scan from its queue and
    shows it refused — it neither retries it for ever nor shows the other account's volunteer."""
    org = make.org()
    other = make.coordinator(org)
    theirs = make.activity(org, allows_walk_ins=True)
    stranger = make.volunteer(name="Dolkar Tsomo")
    db.session.commit()
    other_id, taken = other.id, "taken-by-another-account-0001"
    record_scan(other, ScanRequest(event_id=taken, activity_code=theirs.code,
                                   volunteer_number=stranger.volunteer_number))
    db.session.commit()

    path = sign_in_to_scanner(page, scene)
    # a queue holding that event id: left on a shared device by another account, or edited by hand
    page.evaluate("([key, item]) => localStorage.setItem(key, JSON.stringify([item]))", [QUEUE_KEY, {
        "event_id": taken, "url": f"/activities/{scene['code']}/scans", "activity": scene["code"],
        "volunteer_number": stranger.volunteer_number, "direction": "auto",
        "scanned_at": dt.datetime.now(dt.UTC).isoformat(), "offline": True}])
    type_number(page, scene["numbers"][0])  # queued behind it; the flush sends both, in order

    expect_queue(page, [])
    recent = page.locator("#recent-list li")
    expect(recent).to_have_count(2, timeout=TIMEOUT_MS)
    refused = page.locator("#recent-list li.scan-list__item--refused")
    expect(refused).to_have_count(1, timeout=TIMEOUT_MS)
    expect(refused).to_contain_text("Refused: Another account has already sent a scan with this event id.")
    expect(recent.filter(has_text=f"{scene['names'][0]}: Checked in at")).to_have_count(1, timeout=TIMEOUT_MS)
    assert "Dolkar Tsomo" not in page.locator("#scanner-result").inner_text()
    assert "Dolkar Tsomo" not in page.locator("#recent-list").inner_text()
    assert queue(page) == []
    page.reload()  # and it is not sent again
    expect_queue(page, [])
    assert page.url.endswith(path)
    scans = committed(Scan)
    assert [(s.event_id, s.recorded_by_id) for s in scans if s.event_id == taken] == [(taken, other_id)]
    assert len(scans) == 2


def test_scanner_opens_again_without_network_from_its_service_worker(page, context, live_server, scene):
    path = sign_in_to_scanner(page, scene)
    # the worker takes control of the page and caches it (scanner.js asks it to, after the first visit)
    eventually(page, "() => navigator.serviceWorker.controller !== null")
    eventually(page, "async path => Boolean(await caches.match(path))", path)

    context.set_offline(True)
    asked = len(live_server.requests)
    response = page.reload()
    assert response is not None and response.ok and response.from_service_worker
    assert live_server.requests[asked:] == []  # page, script and style all came from the worker's cache
    assert page.locator("h1").inner_text() == scene["title"]
    expect(page.locator("#scanner-net")).to_have_text("Offline: scans are queued", timeout=TIMEOUT_MS)

    # and it works: a typed number waits in the queue, then is sent when the network returns
    number = scene["numbers"][0]
    type_number(page, number)
    expect_queue(page, [number])
    assert committed(Scan) == []
    [waiting] = queue(page)
    context.set_offline(False)
    expect_queue(page, [])
    [scan] = committed(Scan)
    assert (scan.event_id, scan.accepted, scan.method) == (waiting["event_id"], True, "offline")
    assert scan.flags == ["offline"]
    assert scan.scanned_at == parse_datetime(waiting["scanned_at"])
