"""The check-in pages through the test client: kiosk, the page its QR opens, scanner JSON, the day, manual entries."""
import datetime as dt
import io
import re
import uuid
from urllib.parse import unquote, urlsplit

import pytest
import sqlalchemy as sa
from PIL import Image

from volunteer_registry.activities.services import sign_up
from volunteer_registry.checkin import views
from volunteer_registry.checkin.kiosk import kiosk_token
from volunteer_registry.checkin.models import AttendanceSession, ManualEntry, Scan
from volunteer_registry.checkin.services import ScanRequest, record_scan
from volunteer_registry.extensions import db
from volunteer_registry.models import utcnow
from volunteer_registry.timeutil import local

from ..conftest import PASSWORD, Factory, build_app, login, serve

T = dt.timedelta


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


@pytest.fixture
def clock(monkeypatch):
    """Move the check-in views' clock: ``clock(minutes)`` puts it that far from the real now."""
    real = utcnow

    def move(minutes: float):
        monkeypatch.setattr(views, "utcnow", lambda: real() + T(minutes=minutes))

    return move


def kiosk_path(token: str) -> str:
    return f"/k/{token}"


def event_id_in(html: str) -> str:
    match = re.search(r'name="event_id"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="event_id"', html)
    assert match, "no event_id field on the page"
    return match.group(1) or match.group(2)


# --- kiosk ---------------------------------------------------------------------------------------------------------

def test_kiosk_end_to_end(app, make, setting):
    activity, coordinator, volunteer = setting
    screen = app.test_client()
    login(screen, coordinator)
    page = screen.get(f"/activities/{activity.code}/kiosk")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert activity.title in html and "js/kiosk.js" in html and "<script>" not in html

    state = screen.get(f"/activities/{activity.code}/kiosk/state").get_json()
    assert state["present"] == 0 and state["refresh_seconds"] == 20
    assert state["svg"].lstrip().startswith("<?xml") and "<svg" in state["svg"]
    url = urlsplit(state["url"])
    assert url.netloc == "registry.test" and url.path.startswith("/k/" + activity.code + ".")

    phone = app.test_client()
    login(phone, make.account_of(volunteer))
    tap_page = phone.get(url.path)
    assert tap_page.status_code == 200
    html = tap_page.get_data(as_text=True)
    assert "Check in" in html and "You are not checked in." in html
    event_id = event_id_in(html)

    tapped = phone.post(url.path, data={"event_id": event_id})
    assert tapped.status_code == 200, tapped.get_data(as_text=True)
    shown = local(db.session.scalar(sa.select(Scan.scanned_at))).strftime("%H:%M")
    assert f"Checked in at {shown}" in tapped.get_data(as_text=True)
    # a double tap is the same event: still one scan, one session
    again = phone.post(url.path, data={"event_id": event_id})
    assert again.status_code == 200 and "Checked in at" in again.get_data(as_text=True)
    assert (count(Scan), count(AttendanceSession)) == (1, 1)
    assert screen.get(f"/activities/{activity.code}/kiosk/state").get_json()["present"] == 1

    # the next QR on the screen: the same phone now checks out
    path = urlsplit(screen.get(f"/activities/{activity.code}/kiosk/state").get_json()["url"]).path
    out_page = phone.get(path).get_data(as_text=True)
    assert "Check out" in out_page and "You are checked in since" in out_page
    out = phone.post(path, data={"event_id": event_id_in(out_page)})
    assert out.status_code == 200 and "Checked out — 0 min" in out.get_data(as_text=True)
    session = db.session.scalar(sa.select(AttendanceSession))
    assert session.checked_out_at is not None and count(Scan) == 2
    assert screen.get(f"/activities/{activity.code}/kiosk/state").get_json()["present"] == 0


def test_a_kiosk_qr_from_two_windows_ago_is_refused(app, make, setting):
    activity, _coordinator, volunteer = setting
    old = kiosk_token(activity.code, utcnow() - T(seconds=40))
    phone = app.test_client()
    login(phone, make.account_of(volunteer))
    page = phone.get(kiosk_path(old))
    assert page.status_code == 422
    assert "This QR code has expired" in page.get_data(as_text=True)
    with phone.session_transaction() as session:
        assert "kiosk" not in session
    tapped = phone.post(kiosk_path(old), data={"event_id": uuid.uuid4().hex})
    assert tapped.status_code == 422 and "This QR code has expired" in tapped.get_data(as_text=True)
    scan = db.session.scalar(sa.select(Scan))
    assert scan.refusal_code == "kiosk_qr_stale" and not scan.accepted and count(AttendanceSession) == 0


def test_a_forged_kiosk_qr_is_not_found(app, make, setting):
    activity, _coordinator, volunteer = setting
    token = kiosk_token(activity.code, utcnow())
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    phone = app.test_client()
    login(phone, make.account_of(volunteer))
    assert phone.get(kiosk_path(forged)).status_code == 404
    assert phone.post(kiosk_path(forged), data={"event_id": uuid.uuid4().hex}).status_code == 404
    assert count(Scan) == 0


def test_anonymous_signs_in_and_comes_back_still_accepted(app, make, setting, clock):
    activity, _coordinator, volunteer = setting
    account = make.account_of(volunteer)
    path = kiosk_path(kiosk_token(activity.code, utcnow()))
    phone = app.test_client()
    first = phone.get(path)
    assert first.status_code == 302
    login_url = urlsplit(first.headers["Location"])
    assert login_url.path == "/login" and f"next={path.replace('/', '%2F')}" in login_url.query

    clock(1)  # typing the password takes a while
    signed_in = phone.post(f"/login?{login_url.query}",
                           data={"identifier": account.identifier, "password": PASSWORD})
    assert signed_in.status_code == 302 and urlsplit(signed_in.headers["Location"]).path == path

    clock(2)  # the token is long stale now, but this browser checked it fresh two minutes ago
    page = phone.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    tapped = phone.post(path, data={"event_id": event_id_in(page.get_data(as_text=True))})
    assert tapped.status_code == 200 and "Checked in at" in tapped.get_data(as_text=True)
    scan = db.session.scalar(sa.select(Scan))
    assert scan.accepted and scan.result == "in" and scan.method == "kiosk"
    assert abs(scan.scanned_at - (utcnow() + T(minutes=2))) < T(seconds=30)  # the tap's time, not the QR's

    # someone who never opened it fresh (a forwarded photo) is refused at the same moment
    other = make.volunteer()
    sign_up(make.account_of(other), activity, now=activity.starts_at - T(days=1))
    db.session.commit()
    home = app.test_client()
    login(home, make.account_of(other))
    assert home.get(path).status_code == 422
    assert home.post(path, data={"event_id": uuid.uuid4().hex}).status_code == 422

    # and the grace ends after five minutes even here
    clock(6)
    assert phone.get(path).status_code == 422
    assert phone.post(path, data={"event_id": uuid.uuid4().hex}).status_code == 422
    assert count(Scan, Scan.accepted.is_(True)) == 1


def test_kiosk_page_without_a_profile_asks_for_one(app, make, setting):
    activity = setting[0]
    path = kiosk_path(kiosk_token(activity.code, utcnow()))
    nobody = make.user()
    db.session.commit()
    client = app.test_client()
    login(client, nobody)
    response = client.get(path)
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert target.path == "/volunteer/profile" and "next=/k/" in unquote(target.query)


# --- volunteer card ------------------------------------------------------------------------------------------------

def test_volunteer_card(app, make):
    volunteer = make.volunteer()
    db.session.commit()
    client = app.test_client()
    login(client, make.account_of(volunteer))
    page = client.get("/volunteer/card")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert volunteer.volunteer_number in html and volunteer.name in html and 'src="data:image/svg+xml;base64,' in html
    png = client.get("/volunteer/card.png")
    assert png.status_code == 200 and png.mimetype == "image/png" and png.data.startswith(b"\x89PNG")
    assert volunteer.volunteer_number in png.headers["Content-Disposition"]

    no_profile = make.user()
    db.session.commit()
    nobody = app.test_client()
    login(nobody, no_profile)
    assert urlsplit(nobody.get("/volunteer/card").headers["Location"]).path == "/volunteer/profile"
    assert app.test_client().get("/volunteer/card.png").status_code == 302


# --- scanner -------------------------------------------------------------------------------------------------------

def scan_json(volunteer_number, **extra):
    return {"event_id": extra.pop("event_id", uuid.uuid4().hex), "volunteer_number": volunteer_number,
            "direction": extra.pop("direction", "auto"), "scanned_at": extra.pop("scanned_at", utcnow().isoformat()),
            "offline": extra.pop("offline", False), **extra}


def test_scanner_page_is_an_installable_offline_page(app, setting):
    activity, coordinator, _volunteer = setting
    client = app.test_client()
    login(client, coordinator)
    page = client.get(f"/activities/{activity.code}/scanner")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'rel="manifest" href="/activities/{activity.code}/scanner.webmanifest"' in html
    assert 'data-csrf="' in html and f'data-scan-url="/activities/{activity.code}/scans"' in html
    assert "<script>" not in html
    assert html.index('src="/static/js/scan-queue.js"') < html.index('src="/static/js/scanner.js"')
    manifest = client.get(f"/activities/{activity.code}/scanner.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    assert manifest.get_json()["start_url"] == f"/activities/{activity.code}/scanner"
    # phones install only with raster icons of 192 and 512 pixels: each is served and is a PNG of that size
    icons = {icon["sizes"]: icon["src"] for icon in manifest.get_json()["icons"] if icon["type"] == "image/png"}
    assert sorted(icons) == ["192x192", "512x512"]
    for size, src in icons.items():
        with client.get(src) as icon:
            assert icon.status_code == 200
            width, height = Image.open(io.BytesIO(icon.data)).size
            assert f"{width}x{height}" == size
    worker = client.get("/scanner-sw.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert "/static/vendor/jsqr/jsQR.js" in worker.get_data(as_text=True)
    with client.get("/static/vendor/jsqr/jsQR.js") as vendored:
        assert vendored.status_code == 200 and b"jsQR" in vendored.data


def test_scan_accepted_replayed_and_refused(app, setting):
    activity, coordinator, volunteer = setting
    client = app.test_client()
    login(client, coordinator)
    url = f"/activities/{activity.code}/scans"
    body = scan_json(volunteer.volunteer_number, event_id="scanner-0001")

    first = client.post(url, json=body)
    assert first.status_code == 201
    answer = first.get_json()
    assert answer["accepted"] and not answer["replayed"] and answer["result"] == "in" and answer["code"] is None
    assert answer["volunteer"] == {"name": volunteer.name, "number": volunteer.volunteer_number}
    assert answer["session"]["checked_out_at"] is None and answer["present"] == 1

    # the offline queue sends it again after reconnecting: the first result, no second row
    again = client.post(url, json={**body, "offline": True})
    assert again.status_code == 200
    assert again.get_json()["replayed"] and again.get_json()["session"]["id"] == answer["session"]["id"]
    assert (count(Scan), count(AttendanceSession)) == (1, 1)

    refused = client.post(url, json=scan_json("XXXX-0000-YYYY"))
    assert refused.status_code == 404
    answer = refused.get_json()
    assert not answer["accepted"] and answer["code"] == "volunteer_unknown" and answer["message"]
    db.session.rollback()
    kept = db.session.scalar(sa.select(Scan).where(Scan.accepted.is_(False)))
    assert kept.refusal_code == "volunteer_unknown" and kept.typed_number == "XXXX-0000-YYYY"  # committed


def test_an_offline_scan_keeps_its_original_time_and_is_flagged(app, setting):
    activity, coordinator, volunteer = setting
    client = app.test_client()
    login(client, coordinator)
    then = (utcnow() - T(minutes=25)).replace(microsecond=0)
    response = client.post(f"/activities/{activity.code}/scans",
                           json=scan_json(volunteer.volunteer_number, scanned_at=then.isoformat(), offline=True))
    assert response.status_code == 201
    assert response.get_json()["session"]["flags"] == ["offline"]
    scan = db.session.scalar(sa.select(Scan))
    assert scan.scanned_at == then and scan.method == "offline"


def test_scan_endpoint_malformed_and_anonymous(app, setting):
    activity, coordinator, volunteer = setting
    url = f"/activities/{activity.code}/scans"
    anonymous = app.test_client().post(url, json=scan_json(volunteer.volunteer_number))
    assert anonymous.status_code == 401 and anonymous.get_json()["error"]["code"] == "sign_in_required"
    client = app.test_client()
    login(client, coordinator)
    bad_time = client.post(url, json=scan_json(volunteer.volunteer_number, scanned_at="yesterday-ish"))
    assert bad_time.status_code == 400 and bad_time.get_json()["error"]["code"] == "scanned_at_invalid"
    bad_id = client.post(url, json=scan_json(volunteer.volunteer_number, event_id="x"))
    assert bad_id.status_code == 400 and bad_id.get_json()["error"]["code"] == "event_id_invalid"
    assert count(Scan) == 0


@pytest.fixture
def csrf_app(tmp_path):
    yield from serve(build_app(tmp_path, WTF_CSRF_ENABLED=True))


def test_scans_need_the_csrf_token_in_a_header(csrf_app):
    make = Factory(csrf_app)
    activity = make.activity()
    coordinator = make.coordinator(activity.organization)
    volunteer = make.volunteer()
    sign_up(make.account_of(volunteer), activity, now=activity.starts_at - T(days=1))
    db.session.commit()
    client = csrf_app.test_client()
    login(client, coordinator)
    url = f"/activities/{activity.code}/scans"
    refused = client.post(url, json=scan_json(volunteer.volunteer_number))
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "bad_request"
    assert count(Scan) == 0
    page = client.get(f"/activities/{activity.code}/scanner").get_data(as_text=True)
    token = re.search(r'data-csrf="([^"]+)"', page).group(1)
    accepted = client.post(url, json=scan_json(volunteer.volunteer_number), headers={"X-CSRFToken": token})
    assert accepted.status_code == 201 and count(Scan) == 1


# --- the day -------------------------------------------------------------------------------------------------------

def card_scan(activity, coordinator, number, at, **extra):
    return record_scan(coordinator, ScanRequest(event_id=uuid.uuid4().hex, activity_code=activity.code,
                                                volunteer_number=number, **extra), now=at)


def test_the_day_view(app, make, setting):
    activity, coordinator, staying = setting
    leaving, offline = make.volunteer(name="次仁"), make.volunteer(name="Ma Lan")
    for person in (leaving, offline):
        sign_up(make.account_of(person), activity, now=activity.starts_at - T(days=1))
    start = activity.starts_at
    card_scan(activity, coordinator, staying.volunteer_number, start + T(minutes=2))
    card_scan(activity, coordinator, leaving.volunteer_number, start + T(minutes=5))
    card_scan(activity, coordinator, leaving.volunteer_number, start + T(minutes=50))
    card_scan(activity, coordinator, "ABCD-EFGH-JKLM", start + T(minutes=6))
    card_scan(activity, coordinator, offline.volunteer_number, start + T(minutes=10), offline=True,
              scanned_at=start + T(minutes=10))
    db.session.commit()
    client = app.test_client()
    login(client, coordinator)
    html = client.get(f"/activities/{activity.code}/day").get_data(as_text=True)
    present = html.split("Present now")[1].split("Came and left")[0]
    assert staying.name in present and local(start + T(minutes=2)).strftime("%H:%M") in present
    assert leaving.name not in present
    gone = html.split("Came and left")[1].split("Refused scans")[0]
    assert leaving.name in gone and '<td data-label="Minutes" class="minutes">45</td>' in gone
    refused = html.split("Refused scans")[1].split("Flagged for review")[0]
    assert "ABCD-EFGH-JKLM" in refused and "No volunteer has this number" in refused
    flagged = html.split("Flagged for review")[1]
    assert offline.name in flagged and "Scanned offline" in flagged
    assert f"/activities/{activity.code}/kiosk" in html and f"/activities/{activity.code}/scanner" in html


def test_the_day_view_closes_ended_sessions_and_fixes_a_check_out(app, make):
    now = utcnow().replace(second=0, microsecond=0)
    activity = make.activity(starts_at=now - T(hours=6), ends_at=now - T(hours=2), grace_minutes=30)
    coordinator = make.coordinator(activity.organization)
    volunteer = make.volunteer()
    sign_up(make.account_of(volunteer), activity, now=activity.starts_at - T(days=1))
    card_scan(activity, coordinator, volunteer.volunteer_number, activity.starts_at + T(minutes=10))
    other = make.activity(activity.organization)
    sign_up(make.account_of(volunteer), other, now=other.starts_at - T(days=1))
    foreign = card_scan(other, coordinator, volunteer.volunteer_number, other.starts_at + T(minutes=5)).session
    db.session.commit()
    session_id = db.session.scalar(sa.select(AttendanceSession.id).where(
        AttendanceSession.activity_id == activity.id))

    client = app.test_client()
    login(client, coordinator)
    html = client.get(f"/activities/{activity.code}/day").get_data(as_text=True)
    session = db.session.get(AttendanceSession, session_id)
    assert session.checked_out_at == activity.ends_at and "auto_closed" in session.flags
    assert "Never checked out: closed at the activity&#39;s end" in html or \
        "Never checked out: closed at the activity's end" in html
    assert f"/activities/{activity.code}/sessions/{session_id}/checkout" in html

    url = f"/activities/{activity.code}/sessions/{session_id}/checkout"
    left = local(activity.starts_at + T(minutes=100)).strftime("%Y-%m-%dT%H:%M")
    assert client.post(url, data={"checked_out_at": left, "reason": ""}).status_code == 302
    assert "corrected" not in db.session.get(AttendanceSession, session_id).flags
    response = client.post(url, data={"checked_out_at": left, "reason": "left at lunch, forgot to scan"})
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path.endswith("/day")
    session = db.session.get(AttendanceSession, session_id)
    assert session.checked_out_at == (activity.starts_at + T(minutes=100)).replace(second=0)
    assert "corrected" in session.flags
    assert "auto_closed" not in session.flags
    correction = db.session.scalar(sa.select(Scan).where(Scan.method == "correction"))
    assert correction.reason == "left at lunch, forgot to scan" and correction.recorded_by_id == coordinator.id
    html = client.get(f"/activities/{activity.code}/day").get_data(as_text=True)
    assert '<td data-label="Minutes" class="minutes">90</td>' in html

    # another activity's session through this activity's URL does not exist
    stray = client.post(f"/activities/{activity.code}/sessions/{foreign.id}/checkout",
                        data={"checked_out_at": left, "reason": "nope"})
    assert stray.status_code == 404
    assert db.session.get(AttendanceSession, foreign.id).checked_out_at is None


# --- manual entries ------------------------------------------------------------------------------------------------

def test_manual_entry_then_approval_by_someone_else(app, make, setting):
    activity, coordinator, volunteer = setting
    client = app.test_client()
    login(client, coordinator)
    assert client.get(f"/activities/{activity.code}/manual").status_code == 200
    start = local(activity.starts_at + T(minutes=15)).strftime("%Y-%m-%dT%H:%M")
    end = local(activity.starts_at + T(minutes=75)).strftime("%Y-%m-%dT%H:%M")
    url = f"/activities/{activity.code}/manual"

    unknown = client.post(url, data={"volunteer_number": "ABCD-EFGH-JKLM", "started_at": start, "ended_at": end,
                                     "reason": "phone battery died"})
    html = unknown.get_data(as_text=True)
    assert unknown.status_code == 200 and 'id="volunteer_number-error"' in html
    assert "No volunteer has this number" in html
    backwards = client.post(url, data={"volunteer_number": volunteer.volunteer_number, "started_at": end,
                                       "ended_at": start, "reason": "phone battery died"})
    assert 'id="ended_at-error"' in backwards.get_data(as_text=True)
    assert count(ManualEntry) == 0

    entered = client.post(url, data={"volunteer_number": volunteer.volunteer_number, "started_at": start,
                                     "ended_at": end, "reason": "phone battery died"})
    assert entered.status_code == 302
    assert urlsplit(entered.headers["Location"]).path == f"/activities/{activity.code}/manual-entries"
    entry = db.session.scalar(sa.select(ManualEntry))
    assert entry.status == "pending" and entry.started_at == (activity.starts_at + T(minutes=15)).replace(second=0)

    listing = client.get(f"/activities/{activity.code}/manual-entries").get_data(as_text=True)
    assert "phone battery died" in listing and "someone else must approve it" in listing
    decision = f"/activities/{activity.code}/manual-entries/{entry.id}/decision"
    own = client.post(decision, data={"decision": "approve"}, follow_redirects=True)
    assert "You recorded this yourself and it needs review: someone else must decide it." in own.get_data(
        as_text=True)
    db.session.rollback()
    assert db.session.get(ManualEntry, entry.id).status == "pending" and count(AttendanceSession) == 0

    admin = app.test_client()
    login(admin, make.org_admin_of(activity.organization))
    assert admin.post(decision, data={"decision": "approve"}).status_code == 302
    entry = db.session.get(ManualEntry, entry.id)
    assert entry.status == "approved" and entry.session_id is not None
    assert db.session.get(AttendanceSession, entry.session_id).flags == ["manual"]


# --- who may ------------------------------------------------------------------------------------------------------

def test_a_coordinator_of_another_organization_is_refused_and_nothing_is_written(app, make, setting):
    activity, coordinator, volunteer = setting
    open_session = card_scan(activity, coordinator, volunteer.volunteer_number, utcnow()).session
    entry_client = app.test_client()
    login(entry_client, coordinator)
    start = local(activity.starts_at + T(minutes=15)).strftime("%Y-%m-%dT%H:%M")
    end = local(activity.starts_at + T(minutes=75)).strftime("%Y-%m-%dT%H:%M")
    db.session.commit()
    entry_client.post(f"/activities/{activity.code}/manual", data={
        "volunteer_number": volunteer.volunteer_number, "started_at": start, "ended_at": end, "reason": "r"})
    entry = db.session.scalar(sa.select(ManualEntry))
    outsider = make.coordinator(make.org())
    db.session.commit()
    scans_before = count(Scan)

    client = app.test_client()
    login(client, outsider)
    code = activity.code
    for path in ("kiosk", "kiosk/state", "scanner", "day", "manual", "manual-entries"):
        assert client.get(f"/activities/{code}/{path}").status_code == 403, path
    scan = client.post(f"/activities/{code}/scans", json=scan_json(volunteer.volunteer_number))
    assert scan.status_code == 403 and scan.get_json()["error"]["code"] == "forbidden"
    assert client.post(f"/activities/{code}/manual", data={
        "volunteer_number": volunteer.volunteer_number, "started_at": start, "ended_at": end,
        "reason": "r"}).status_code == 403
    assert client.post(f"/activities/{code}/sessions/{open_session.id}/checkout", data={
        "checked_out_at": end, "reason": "r"}).status_code == 403
    assert client.post(f"/activities/{code}/manual-entries/{entry.id}/decision",
                       data={"decision": "approve"}).status_code == 403
    db.session.rollback()
    assert count(Scan) == scans_before and count(ManualEntry) == 1
    assert db.session.get(AttendanceSession, open_session.id).checked_out_at is None
    assert db.session.get(ManualEntry, entry.id).status == "pending"

    # a volunteer is no coordinator either; nobody signed in is sent to sign in
    volunteer_client = app.test_client()
    login(volunteer_client, make.account_of(volunteer))
    assert volunteer_client.get(f"/activities/{code}/scanner").status_code == 403
    assert urlsplit(app.test_client().get(f"/activities/{code}/day").headers["Location"]).path == "/login"
    assert app.test_client().get("/activities/NOSUCH99/day").status_code == 302
    assert client.get("/activities/NOSUCH99/day").status_code == 404


def test_a_form_post_to_the_scan_endpoint_works_too(app, setting):
    activity, coordinator, volunteer = setting
    client = app.test_client()
    login(client, coordinator)
    then = (utcnow() - T(minutes=20)).replace(microsecond=0)
    response = client.post(f"/activities/{activity.code}/scans", data={
        "event_id": "form-post-0001", "volunteer_number": volunteer.volunteer_number,
        "scanned_at": then.isoformat(), "offline": "true"})
    assert response.status_code == 201 and response.get_json()["result"] == "in"
    scan = db.session.scalar(sa.select(Scan))
    assert scan.method == "offline" and scan.scanned_at == then
