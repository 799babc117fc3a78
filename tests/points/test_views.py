"""The coordinator's pages (list and create, a point with its posters, revoke and reprint, retire) and the page a
poster opens for the volunteer (sign in and back, the location asked for, the outcome and its flags)."""
from __future__ import annotations

import html
import re
import uuid

import pytest
import sqlalchemy as sa

from volunteer_registry.checkin.models import AttendanceSession, Scan
from volunteer_registry.extensions import db
from volunteer_registry.points.models import ServicePoint, ServicePointPoster
from volunteer_registry.points.services import create_point, issue_poster, retire_point, revoke_poster
from volunteer_registry.points.tokens import poster_token

from ..conftest import Factory, build_app, login, serve
from .conftest import HERE, point_data

FORM = {"name": "湟水河巡护站", "address": "西宁市城北区湟水河北岸 3 号", "latitude": "36.6402",
        "longitude": "101.7451", "radius_m": "200"}


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


# --- the coordinator -----------------------------------------------------------------------------------------------

def test_a_coordinator_sets_up_a_point_and_gets_its_first_poster(place, client):
    login(client, place.coordinator)
    listing = client.get(f"/activities/{place.activity.code}/points")
    assert listing.status_code == 200 and "东关社区养老服务站" in text(listing)
    created = client.post(f"/activities/{place.activity.code}/points", data=FORM)
    point = db.session.scalar(sa.select(ServicePoint).where(ServicePoint.name == "湟水河巡护站"))
    assert created.status_code == 302 and created.headers["Location"].endswith(f"/points/{point.code}")
    assert (point.latitude, point.longitude, point.radius_m) == (36.6402, 101.7451, 200)
    assert [p.serial for p in db.session.scalars(sa.select(ServicePointPoster)
                                                  .where(ServicePointPoster.point_id == point.id))] == [1]
    page = client.get(f"/points/{point.code}")
    body = text(page)
    assert page.status_code == 200 and "Poster No. 1" in body
    for size in ("A4", "A6"):
        assert f"/points/{point.code}/posters/1.pdf?size={size}" in body
    # the activity's page links here for its staff
    assert f"/activities/{place.activity.code}/points" in text(client.get(f"/activities/{place.activity.code}"))


@pytest.mark.parametrize("field, value, message", [
    ("name", "", "This field is required."),
    ("latitude", "91", "between -90"),
    ("latitude", "north", "Not a valid float value"),
    ("radius_m", "5", "between 10"),
])
def test_bad_input_shows_the_field_error_and_writes_nothing(place, client, field, value, message):
    login(client, place.coordinator)
    response = client.post(f"/activities/{place.activity.code}/points", data={**FORM, field: value})
    assert response.status_code == 422
    assert re.search(rf'id="{field}-error"[^>]*>[^<]*{re.escape(message)}', response.get_data(as_text=True))
    assert count(ServicePoint) == 1


def test_revoke_and_reprint_then_retire(place, client):
    login(client, place.coordinator)
    url = f"/points/{place.point.code}/posters/1/revoke"
    no_reason = client.post(url, data={"poster1-reason": "", "poster1-reprint": "y"})
    assert no_reason.status_code == 302 and count(ServicePointPoster) == 1
    assert db.session.get(ServicePointPoster, place.poster.id).revoked_at is None
    done = client.post(url, data={"poster1-reason": "photographed and shared", "poster1-reprint": "y"})
    assert done.status_code == 302
    old = db.session.get(ServicePointPoster, place.poster.id)
    assert old.is_revoked and old.revocation_reason == "photographed and shared"
    body = text(client.get(f"/points/{place.point.code}"))
    assert "Poster No. 2" in body and "Withdrawn" in body
    assert "/posters/1.pdf" not in body and "/posters/2.pdf?size=A4" in body
    # without the reprint box: withdrawn, no new poster
    client.post(f"/points/{place.point.code}/posters/2/revoke", data={"poster2-reason": "torn down"})
    assert count(ServicePointPoster) == 2
    assert client.post(f"/points/{place.point.code}/posters", data={}).status_code == 302
    assert count(ServicePointPoster) == 3
    assert client.post(f"/points/{place.point.code}/retire", data={}).status_code == 302
    assert db.session.get(ServicePoint, place.point.id).status == "retired"
    assert "no longer work" in text(client.get(f"/points/{place.point.code}"))


def test_edit_a_point(place, client):
    login(client, place.coordinator)
    assert client.get(f"/points/{place.point.code}/edit").status_code == 200
    saved = client.post(f"/points/{place.point.code}/edit", data={**FORM, "radius_m": "400"})
    assert saved.status_code == 302
    assert db.session.get(ServicePoint, place.point.id).radius_m == 400


def test_another_organization_and_volunteers_cannot_manage_points(place, client, make):
    outsider = make.coordinator(make.org())
    db.session.commit()
    code = place.point.code
    anonymous = client.get(f"/points/{code}")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    for person in (outsider, make.account_of(place.volunteer)):
        login(client, person)
        for path in (f"/activities/{place.activity.code}/points", f"/points/{code}", f"/points/{code}/edit",
                     f"/points/{code}/posters/1.pdf"):
            assert client.get(path).status_code == 403, path
        for path, data in ((f"/activities/{place.activity.code}/points", FORM), (f"/points/{code}/retire", {}),
                           (f"/points/{code}/posters", {}),
                           (f"/points/{code}/posters/1/revoke", {"poster1-reason": "mine"})):
            assert client.post(path, data=data).status_code == 403, path
    assert (count(ServicePoint), count(ServicePointPoster)) == (1, 1)
    assert db.session.get(ServicePoint, place.point.id).status == "active"
    assert db.session.get(ServicePointPoster, place.poster.id).revoked_at is None
    login(client, outsider)
    assert client.get("/points/NOPE0000").status_code == 404


# --- the volunteer at the poster -----------------------------------------------------------------------------------

def tap(client, token, **location):
    page = client.get(f"/P/{token}").get_data(as_text=True)
    event_id = re.search(r'name="event_id" type="hidden" value="([^"]+)"', page).group(1)
    return client.post(f"/P/{token}", data={"event_id": event_id, **location})


def test_the_poster_page_signs_in_first_and_comes_back(place, client):
    response = client.get(f"/P/{place.token}")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"] and "next=" in response.headers["Location"]
    assert f"%2FP%2F{place.token}" in response.headers["Location"]


def test_the_volunteer_checks_in_and_out_with_the_location(place, client, make):
    login(client, make.account_of(place.volunteer))
    page = client.get(f"/P/{place.token}")
    body = text(page)
    assert page.status_code == 200
    assert "东关社区养老服务站" in body and "社区助老服务" in body and "Shift:" in body
    assert "js/poster.js" in body and 'name="latitude"' in body
    checked_in = tap(client, place.token, latitude=str(HERE[0]), longitude=str(HERE[1]))
    assert checked_in.status_code == 200
    body = text(checked_in)
    assert "Checked in at" in body and "need a coordinator's approval" in body
    assert "outside the service point's area" not in body
    session = db.session.scalar(sa.select(AttendanceSession))
    assert session.point_id == place.point.id and session.flags == ["static_qr"]
    # the lowercase path a QR reader may make of the printed one works the same
    out = client.post(f"/p/{place.token.lower()}", data={"event_id": uuid.uuid4().hex,
                                                         "latitude": str(HERE[0]), "longitude": str(HERE[1])})
    assert out.status_code == 200 and "Checked out" in text(out)


def test_far_from_the_point_the_outcome_says_so(place, client, make):
    login(client, make.account_of(place.volunteer))
    response = tap(client, place.token, latitude=str(HERE[0] + 0.02), longitude=str(HERE[1]))
    assert response.status_code == 200
    assert "outside the service point's area" in text(response)
    assert set(db.session.scalar(sa.select(AttendanceSession)).flags) == {"static_qr", "outside_radius"}


@pytest.mark.parametrize("location, status, message", [
    ({}, 422, "needs your phone's location"),
    ({"latitude": "", "longitude": ""}, 422, "needs your phone's location"),
    ({"latitude": "here", "longitude": "101.7"}, 400, "The location cannot be read."),
    ({"latitude": "95", "longitude": "101.7"}, 400, "The location cannot be read."),
])
def test_without_a_location_nothing_is_written(place, client, make, location, status, message):
    login(client, make.account_of(place.volunteer))
    response = tap(client, place.token, **location)
    assert response.status_code == status and message in text(response)
    assert (count(Scan), count(AttendanceSession)) == (0, 0)


def test_a_withdrawn_poster_and_a_forged_one(place, client, make):
    login(client, make.account_of(place.volunteer))
    revoke_poster(place.coordinator, place.poster, "lost")
    db.session.commit()
    withdrawn = client.get(f"/P/{place.token}")
    assert withdrawn.status_code == 409 and "This poster was withdrawn" in text(withdrawn)
    kept = client.post(f"/P/{place.token}", data={"event_id": uuid.uuid4().hex, "latitude": str(HERE[0]),
                                                  "longitude": str(HERE[1])})
    assert kept.status_code == 409 and "This poster was withdrawn" in text(kept)
    assert db.session.scalar(sa.select(Scan.refusal_code)) == "poster_revoked" and count(AttendanceSession) == 0
    forged = place.token[:-1] + ("A" if place.token[-1] != "A" else "B")
    for response in (client.get(f"/P/{forged}"), client.get("/P/nothing-here")):
        assert response.status_code == 404 and "not a service point's QR code" in text(response)
    assert count(Scan) == 1


def test_a_retired_point_says_so(place, client, make):
    login(client, make.account_of(place.volunteer))
    retire_point(place.coordinator, place.point)
    db.session.commit()
    response = client.get(f"/P/{place.token}")
    assert response.status_code == 409 and "no longer in use" in text(response)


@pytest.fixture
def csrf_app(tmp_path):
    yield from serve(build_app(tmp_path, WTF_CSRF_ENABLED=True))


def test_the_forms_need_their_csrf_token(csrf_app):
    make = Factory(csrf_app)
    activity = make.activity()
    coordinator = make.coordinator(activity.organization)
    volunteer = make.volunteer()
    point = create_point(coordinator, activity, point_data())
    poster = issue_poster(coordinator, point)
    db.session.commit()
    token = poster_token(point, poster)
    client = csrf_app.test_client()
    login(client, coordinator)
    assert client.post(f"/activities/{activity.code}/points", data=FORM).status_code == 400
    assert client.post(f"/points/{point.code}/posters/1/revoke", data={"poster1-reason": "x"}).status_code == 400
    assert client.post(f"/points/{point.code}/retire").status_code == 400
    assert (count(ServicePoint), count(ServicePointPoster)) == (1, 1)
    login(client, make.account_of(volunteer))
    refused = client.post(f"/P/{token}", data={"event_id": uuid.uuid4().hex, "latitude": str(HERE[0]),
                                               "longitude": str(HERE[1])})
    assert refused.status_code == 400 and count(Scan) == 0
