"""A replayed event id is answered with the first result only to the account that sent it (issue 17, item 4).

Anyone else who posts that event id — a coordinator of another organization or of the same one, a volunteer at the
kiosk, a device with an API token — gets ``event_id_taken`` (409) and learns nothing about the first scan: not the
volunteer's name or number, not the session, the minutes or the time, not even whether it was accepted. Nothing is
written. The sender's own retry with the same event id but another volunteer, activity or kind of scan gets
``event_id_reused`` (409). The same rule holds when the two requests race (the IntegrityError path of record_scan).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from volunteer_registry.accounts.models import User
from volunteer_registry.activities.models import Activity
from volunteer_registry.activities.services import sign_up
from volunteer_registry.checkin import services as checkin_services
from volunteer_registry.checkin.kiosk import kiosk_token
from volunteer_registry.checkin.models import AttendanceSession, Scan
from volunteer_registry.checkin.services import CheckInError, ScanRequest, record_scan
from volunteer_registry.extensions import db
from volunteer_registry.ledger.models import LedgerEntry
from volunteer_registry.models import utcnow

from ..api.conftest import Api, committed_count, token_for
from ..conftest import login

T = dt.timedelta
EVENT_ID = "victim-checkout-0001"
NAME = "Dolkar Tsomo"  # ASCII, so that it would show in a JSON body as it is (jsonify escapes other characters)
MINUTES = 83  # the first scan closes a session of 1 h 23 min
DURATION = "1 h 23 min"


@dataclass
class Scene:
    activity: Activity  # running now; the volunteer signed up
    second: Activity  # another activity of the same organization, running now
    coordinator: User  # sent the first scan
    volunteer: object
    number: str
    first: dict  # the scanner's answer to the first scan (201)

    def scan_body(self, **extra) -> dict:
        return {"event_id": EVENT_ID, "volunteer_number": self.number, "direction": "out", **extra}


@pytest.fixture
def scene(app, make) -> Scene:
    org = make.org()
    coordinator = make.coordinator(org)
    activity = make.activity(org)
    second = make.activity(org, title="Second shift", allows_walk_ins=True)
    volunteer = make.volunteer(name=NAME)
    sign_up(make.account_of(volunteer), activity, now=activity.starts_at - T(days=1))
    db.session.commit()
    record_scan(coordinator, ScanRequest(event_id="victim-checkin-0001", activity_code=activity.code,
                                         volunteer_number=volunteer.volunteer_number, direction="in"),
                now=utcnow().replace(microsecond=0) - T(minutes=MINUTES))
    db.session.commit()
    sender = web_client(app, coordinator)
    number = volunteer.volunteer_number
    first = sender.post(f"/activities/{activity.code}/scans",
                        json={"event_id": EVENT_ID, "volunteer_number": number, "direction": "out"})
    db.session.rollback()
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["session"]["minutes"] == MINUTES and body["volunteer"]["name"] == NAME
    return Scene(activity, second, coordinator, volunteer, number, body)


def web_client(app, user):
    client = app.test_client()
    login(client, user)
    return client


def rows() -> tuple[int, int, int]:
    return committed_count(Scan), committed_count(AttendanceSession), committed_count(LedgerEntry)


def assert_tells_nothing(response, scene: Scene, code: str = "event_id_taken", *, html: bool = False) -> None:
    """A coded refusal that holds nothing of the first scan."""
    text = response.get_data(as_text=True)
    assert response.status_code == 409, text
    for secret in (NAME, scene.number, scene.number.replace("-", ""), DURATION):
        assert secret not in text
    if html:
        assert "Not recorded" in text and "Checked out" not in text and "Checked in" not in text
        return
    body = response.get_json()
    assert set(body) == {"error"}, body  # no scan, volunteer, session, replayed or accepted
    assert body["error"]["code"] == code and set(body["error"]) <= {"code", "message", "field"}
    assert str(MINUTES) not in text and scene.first["scanned_at"] not in text


def assert_sender_still_gets_the_first_result(app, scene: Scene) -> None:
    again = web_client(app, scene.coordinator).post(f"/activities/{scene.activity.code}/scans",
                                                    json=scene.scan_body())
    assert again.status_code == 200, again.get_json()
    assert again.get_json() == {**scene.first, "replayed": True}


# --- the scanner page's JSON route ---------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["coordinator_of_another_organization", "another_coordinator_of_the_same"])
def test_the_scanner_refuses_someone_elses_event_id(app, make, scene, who):
    if who == "coordinator_of_another_organization":
        org = make.org()
        stranger, where = make.coordinator(org), make.activity(org, allows_walk_ins=True)
    else:
        stranger, where = make.coordinator(scene.activity.organization), scene.activity
    db.session.commit()
    before = rows()

    response = web_client(app, stranger).post(f"/activities/{where.code}/scans", json=scene.scan_body())
    assert_tells_nothing(response, scene)
    # a plain form post (an integration) is answered in JSON too, with the same refusal
    form = web_client(app, stranger).post(f"/activities/{where.code}/scans", data=scene.scan_body())
    assert_tells_nothing(form, scene)
    assert rows() == before
    assert_sender_still_gets_the_first_result(app, scene)
    assert rows() == before


# --- the kiosk page ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["another_volunteer", "the_volunteer_scanned"])
def test_a_kiosk_tap_with_someone_elses_event_id_is_refused(app, make, scene, who):
    if who == "another_volunteer":
        volunteer = make.volunteer(name="Pema Lhamo")
        sign_up(make.account_of(volunteer), scene.activity, now=scene.activity.starts_at - T(days=1))
        db.session.commit()
    else:  # even the person the first scan was about did not send it: the answer is the coordinator's
        volunteer = scene.volunteer
    phone = web_client(app, make.account_of(volunteer))
    path = f"/k/{kiosk_token(scene.activity.code, utcnow())}"
    assert phone.get(path).status_code == 200
    before = rows()

    tapped = phone.post(path, data={"event_id": EVENT_ID})
    assert_tells_nothing(tapped, scene, html=True)
    assert CheckInError("event_id_taken").message in tapped.get_data(as_text=True)
    assert rows() == before
    assert_sender_still_gets_the_first_result(app, scene)


# --- the API -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["coordinator_of_another_organization", "another_coordinator_of_the_same",
                                 "volunteer_with_a_kiosk_token"])
def test_the_api_refuses_someone_elses_event_id(app, make, scene, who):
    api = Api(app.test_client())
    body = {"event_id": EVENT_ID, "activity": scene.activity.code, "direction": "out"}
    if who == "coordinator_of_another_organization":
        org = make.org()
        caller, where = make.coordinator(org), make.activity(org, allows_walk_ins=True)
        body.update(activity=where.code, volunteer_number=scene.number)
    elif who == "another_coordinator_of_the_same":
        caller = make.coordinator(scene.activity.organization)
        body.update(volunteer_number=scene.number)
    else:
        caller = make.user()
        make.volunteer(caller, name="Pema Lhamo")
        body.update(kiosk_token=kiosk_token(scene.activity.code, utcnow()))
    db.session.commit()
    token = token_for(caller)
    before = rows()

    assert_tells_nothing(api.post("/scans", token=token, json=body), scene)
    anonymous = api.post("/scans", json=body)  # no token at all: refused before any look-up
    assert anonymous.status_code == 401 and set(anonymous.get_json()) == {"error"}
    assert NAME not in anonymous.get_data(as_text=True)
    assert rows() == before

    # the sender's account, through its own API token, still gets the first result
    mine = api.post("/scans", token=token_for(scene.coordinator),
                    json={**body, "activity": scene.activity.code, "volunteer_number": scene.number,
                          "kiosk_token": None})
    assert mine.status_code == 200, mine.get_json()
    answer = mine.get_json()
    assert answer["replayed"] is True and answer["volunteer"]["name"] == NAME
    assert answer["session"]["id"] == scene.first["session"]["id"] and answer["session"]["minutes"] == MINUTES
    assert rows() == before


# --- the sender's own retry for another scan -----------------------------------------------------------------------

def test_the_senders_retry_for_another_volunteer_or_activity_is_event_id_reused(app, make, scene):
    other = make.volunteer(name="Pema Lhamo")
    sign_up(make.account_of(other), scene.activity, now=scene.activity.starts_at - T(days=1))
    db.session.commit()
    sender = web_client(app, scene.coordinator)
    before = rows()

    another_volunteer = sender.post(f"/activities/{scene.activity.code}/scans",
                                    json=scene.scan_body(volunteer_number=other.volunteer_number))
    assert_tells_nothing(another_volunteer, scene, "event_id_reused")
    another_activity = sender.post(f"/activities/{scene.second.code}/scans", json=scene.scan_body())
    assert_tells_nothing(another_activity, scene, "event_id_reused")
    api = Api(app.test_client())
    through_api = api.post("/scans", token=token_for(scene.coordinator),
                           json={"event_id": EVENT_ID, "activity": scene.activity.code,
                                 "volunteer_number": other.volunteer_number})
    assert_tells_nothing(through_api, scene, "event_id_reused")
    with pytest.raises(CheckInError) as kiosk_instead:  # the same account, a kiosk scan instead of a card
        record_scan(scene.coordinator, ScanRequest(event_id=EVENT_ID,
                                                   kiosk_token=kiosk_token(scene.activity.code, utcnow())))
    assert kiosk_instead.value.code == "event_id_reused"
    db.session.rollback()
    assert rows() == before

    # the same scan sent again — another direction, or from the offline queue — is still the same scan
    assert_sender_still_gets_the_first_result(app, scene)
    queued = sender.post(f"/activities/{scene.activity.code}/scans", json=scene.scan_body(offline=True,
                                                                                          direction="auto"))
    assert queued.status_code == 200 and queued.get_json() == {**scene.first, "replayed": True}
    assert rows() == before


def test_a_volunteers_own_kiosk_event_id_at_another_kiosk_is_event_id_reused(make, scene):
    user = make.account_of(scene.volunteer)
    sign_up(user, scene.second, now=scene.second.starts_at - T(days=1))
    db.session.commit()
    now = utcnow()
    tap = ScanRequest(event_id="own-kiosk-tap-0001", kiosk_token=kiosk_token(scene.activity.code, now))
    first = record_scan(user, tap, now=now)
    assert first.accepted and first.scan.result == "in"
    db.session.commit()
    again = record_scan(user, tap, now=now)  # a double tap: the first result
    assert again.replayed and again.scan.id == first.scan.id
    with pytest.raises(CheckInError) as elsewhere:
        record_scan(user, ScanRequest(event_id="own-kiosk-tap-0001",
                                      kiosk_token=kiosk_token(scene.second.code, now)), now=now)
    assert elsewhere.value.code == "event_id_reused" and elsewhere.value.http_status == 409
    db.session.rollback()
    assert committed_count(Scan, Scan.event_id == "own-kiosk-tap-0001") == 1


# --- the race: the other request gets there between the look-up and the write -------------------------------------

@pytest.mark.parametrize(("who", "code"), [("another_coordinator", "event_id_taken"),
                                           ("the_sender_for_another_volunteer", "event_id_reused")])
def test_losing_the_race_to_someone_elses_scan_tells_nothing(make, scene, monkeypatch, who, code):
    """The loser of a race on one event id reads the winner's scan after the IntegrityError: the same rule."""
    other = make.volunteer(name="Pema Lhamo")
    sign_up(make.account_of(other), scene.activity, now=scene.activity.starts_at - T(days=1))
    winner = make.coordinator(scene.activity.organization)
    db.session.commit()
    caller = make.coordinator(scene.activity.organization) if who == "another_coordinator" else winner
    db.session.commit()
    real_open_session = checkin_services.open_session
    raced = []

    def open_session_while_the_winner_commits(activity, volunteer):
        if not raced:  # the winner's request records the same event id now, after the loser's look-up
            raced.append(True)
            won = record_scan(winner, ScanRequest(event_id="raced-event-0001", activity_code=scene.activity.code,
                                                  volunteer_number=scene.number, direction="in"))
            assert won.accepted and won.scan.result == "in"
            db.session.commit()
        return real_open_session(activity, volunteer)

    monkeypatch.setattr(checkin_services, "open_session", open_session_while_the_winner_commits)
    before = rows()
    with pytest.raises(CheckInError) as refused:
        record_scan(caller, ScanRequest(event_id="raced-event-0001", activity_code=scene.activity.code,
                                        volunteer_number=other.volunteer_number, direction="in"))
    assert raced == [True]
    assert refused.value.code == code and refused.value.http_status == 409
    for secret in (NAME, scene.number, DURATION):
        assert secret not in refused.value.message
    db.session.rollback()
    assert rows() == (before[0] + 1, before[1] + 1, before[2])  # the winner's scan and session only
    assert committed_count(Scan, Scan.event_id == "raced-event-0001",
                           Scan.recorded_by_id == winner.id) == 1
