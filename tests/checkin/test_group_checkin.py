"""Group check-in of a shift: the page, and the scans it sends (one per person, each with its own event id) through
the scans endpoint, live and as an offline batch resent by the queue."""
import datetime as dt
import re
import uuid

import pytest
import sqlalchemy as sa

from volunteer_registry.activities.models import Shift
from volunteer_registry.activities.services import sign_up
from volunteer_registry.checkin.models import AttendanceSession, Scan
from volunteer_registry.extensions import db
from volunteer_registry.ledger.models import LedgerEntry
from volunteer_registry.models import utcnow

from ..conftest import login

T = dt.timedelta
GROUP = 30


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


@pytest.fixture
def crew(make):
    """An activity on now (its one shift), its coordinator, and 30 volunteers who signed up the day before."""
    activity = make.activity()
    coordinator = make.coordinator(activity.organization)
    shift = db.session.scalar(sa.select(Shift).where(Shift.activity_id == activity.id))
    volunteers = []
    for _ in range(GROUP):
        volunteer = make.volunteer()
        sign_up(make.account_of(volunteer), activity, now=activity.starts_at - T(days=1))
        volunteers.append(volunteer)
    db.session.commit()
    return activity, shift, coordinator, volunteers


def batch(volunteers, shift, direction, scanned_at):
    """What group.js queues for one tap of "Check in selected" / "Check out selected" while offline."""
    return [{"event_id": str(uuid.uuid4()), "volunteer_number": volunteer.volunteer_number, "shift": shift.id,
             "direction": direction, "scanned_at": scanned_at.isoformat(), "offline": True}
            for volunteer in volunteers]


def test_the_group_page_lists_the_shift_and_is_for_coordinators(app, make, crew):
    activity, shift, coordinator, volunteers = crew
    client = app.test_client()
    login(client, coordinator)
    page = client.get(f"/activities/{activity.code}/shifts/{shift.id}/group")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'data-shift="{shift.id}"' in html and f'data-scan-url="/activities/{activity.code}/scans"' in html
    # the shared offline queue first, then the page's own script
    assert html.index('src="/static/js/scan-queue.js"') < html.index('src="/static/js/group.js"')
    assert "<script>" not in html
    assert len(re.findall(r'name="volunteer" value="', html)) == GROUP
    for volunteer in volunteers:
        assert volunteer.volunteer_number in html
    assert "All present" in html and "Check in selected" in html and "Check out selected" in html
    # the service worker caches this page for offline use, and group.js and the queue with it
    worker = client.get("/scanner-sw.js").get_data(as_text=True)
    assert "/static/js/group.js" in worker and "/static/js/scan-queue.js" in worker and "group" in worker
    with client.get("/static/js/group.js") as script:
        assert script.status_code == 200 and b"ScanQueue.create" in script.data
    with client.get("/static/js/scan-queue.js") as script:
        assert script.status_code == 200 and b"vr-scanner-queue" in script.data

    other_shift = make.activity()
    foreign = db.session.scalar(sa.select(Shift.id).where(Shift.activity_id == other_shift.id))
    assert client.get(f"/activities/{activity.code}/shifts/{foreign}/group").status_code == 404

    for outsider in (make.account_of(volunteers[0]), make.coordinator(make.org())):
        db.session.commit()
        other = app.test_client()
        login(other, outsider)
        assert other.get(f"/activities/{activity.code}/shifts/{shift.id}/group").status_code == 403


def test_an_offline_group_of_30_is_recorded_once_however_often_it_is_resent(app, crew):
    activity, shift, coordinator, volunteers = crew
    client = app.test_client()
    login(client, coordinator)
    url = f"/activities/{activity.code}/scans"
    arrived = (utcnow() - T(minutes=20)).replace(microsecond=0)
    scans_in = batch(volunteers, shift, "in", arrived)

    answers = [client.post(url, json=body) for body in scans_in]
    assert [answer.status_code for answer in answers] == [201] * GROUP
    assert all(a.get_json()["accepted"] and a.get_json()["result"] == "in" and a.get_json()["shift"] == shift.id
               for a in answers)
    assert (count(AttendanceSession), count(Scan), count(Scan, Scan.accepted.is_(True))) == (GROUP, GROUP, GROUP)

    # the queue's retry after the network came back: every answer is the first one, nothing new is written
    retries = [client.post(url, json=body) for body in scans_in]
    assert [retry.status_code for retry in retries] == [200] * GROUP
    assert all(retry.get_json()["replayed"] for retry in retries)
    assert ([r.get_json()["session"]["id"] for r in retries] == [a.get_json()["session"]["id"] for a in answers])
    db.session.rollback()
    assert (count(AttendanceSession), count(Scan), count(Scan, Scan.accepted.is_(True))) == (GROUP, GROUP, GROUP)
    sessions = db.session.scalars(sa.select(AttendanceSession)).all()
    assert {s.shift_id for s in sessions} == {shift.id}
    assert {s.checked_in_at for s in sessions} == {arrived}
    assert all("offline" in s.flags for s in sessions)
    assert {s.volunteer_id for s in sessions} == {v.id for v in volunteers}

    # check-out of all, then the same batch again: 30 ledger entries, once
    left = (utcnow() - T(minutes=2)).replace(microsecond=0)
    scans_out = batch(volunteers, shift, "out", left)
    outs = [client.post(url, json=body) for body in scans_out]
    assert [out.status_code for out in outs] == [201] * GROUP
    assert all(out.get_json()["session"]["minutes"] == 18 for out in outs)
    again = [client.post(url, json=body) for body in scans_out]
    assert [a.status_code for a in again] == [200] * GROUP and all(a.get_json()["replayed"] for a in again)
    db.session.rollback()
    assert count(LedgerEntry, LedgerEntry.kind == "service") == GROUP
    assert count(LedgerEntry, LedgerEntry.kind == "service", LedgerEntry.shift_id == shift.id) == GROUP
    assert count(Scan) == 2 * GROUP and count(AttendanceSession, AttendanceSession.checked_out_at.is_(None)) == 0

    # the page now shows them as left
    html = client.get(f"/activities/{activity.code}/shifts/{shift.id}/group").get_data(as_text=True)
    assert html.count('data-role="state">left<') == GROUP


def test_a_group_scan_for_someone_not_in_the_shift_is_refused_and_kept(app, make, crew):
    activity, shift, coordinator, _volunteers = crew
    stranger = make.volunteer()
    db.session.commit()
    client = app.test_client()
    login(client, coordinator)
    body = batch([stranger], shift, "in", utcnow())[0] | {"offline": False}
    answer = client.post(f"/activities/{activity.code}/scans", json=body)
    assert answer.status_code == 403
    assert answer.get_json()["code"] == "not_signed_up" and not answer.get_json()["accepted"]
    db.session.rollback()
    kept = db.session.scalar(sa.select(Scan))
    assert (kept.refusal_code, kept.shift_id, kept.volunteer_id) == ("not_signed_up", shift.id, stranger.id)
    assert count(AttendanceSession) == 0


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", True, [1]])
def test_a_shift_that_is_not_a_number_is_a_400_naming_the_field(app, crew, value):
    activity, _shift, coordinator, volunteers = crew
    client = app.test_client()
    login(client, coordinator)
    answer = client.post(f"/activities/{activity.code}/scans",
                         json={"event_id": uuid.uuid4().hex, "volunteer_number": volunteers[0].volunteer_number,
                               "shift": value})
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "shift_invalid" and answer.get_json()["error"]["field"] == "shift"
    assert count(Scan) == 0
