"""Service points and posters (set up, edit, retire, issue, revoke, reprint), and scans at a poster: located,
flagged static_qr (outside_radius when far), always reviewed; refused without a location, at a withdrawn poster
(kept), and for a forged one (nothing written)."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from volunteer_registry.audit.models import AuditEvent
from volunteer_registry.checkin.models import AttendanceSession, Scan
from volunteer_registry.checkin.services import CheckInError
from volunteer_registry.errors import Forbidden
from volunteer_registry.extensions import db
from volunteer_registry.integrity.services import IntegrityRefusal
from volunteer_registry.ledger.models import LedgerState
from volunteer_registry.ledger.services import decide_entries
from volunteer_registry.organizations.models import StaffRole
from volunteer_registry.points.models import ServicePoint, ServicePointPoster
from volunteer_registry.points.services import (
    PointError,
    create_point,
    issue_poster,
    retire_point,
    revoke_and_reprint,
    revoke_poster,
    update_point,
)
from volunteer_registry.points.tokens import poster_token

from .conftest import HERE, point_data, poster_scan

T = dt.timedelta


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action.like("point.%"))
                                   .order_by(AuditEvent.id)))


def test_a_point_is_set_up_with_numbered_posters(place):
    point = place.point
    assert (point.name, point.radius_m, point.status) == ("东关社区养老服务站", 150, "active")
    assert (point.latitude, point.longitude) == HERE
    assert point.activity_id == place.activity.id and point.organization_id == place.activity.organization_id
    assert len(point.code) == 8 and point.code.isupper()
    assert place.poster.serial == 1 and not place.poster.is_revoked
    second = issue_poster(place.coordinator, point)
    revoke_poster(place.coordinator, second, "torn down by the wind")
    third = issue_poster(place.coordinator, point)
    assert (second.serial, third.serial) == (2, 3)  # a revoked poster's number is not given again
    assert actions() == ["point.created", "point.poster_issued", "point.poster_issued", "point.poster_revoked",
                         "point.poster_issued"]


@pytest.mark.parametrize("overrides, code, field", [
    ({"name": "  "}, "field_required", "name"),
    ({"name": "站" * 81}, "too_long", "name"),
    ({"address": ""}, "field_required", "address"),
    ({"latitude": None}, "field_required", "latitude"),
    ({"latitude": 90.5}, "latitude_invalid", "latitude"),
    ({"longitude": "east"}, "longitude_invalid", "longitude"),
    ({"longitude": float("nan")}, "longitude_invalid", "longitude"),
    ({"radius_m": 5}, "radius_invalid", "radius_m"),
    ({"radius_m": 60_000}, "radius_invalid", "radius_m"),
    ({"radius_m": 12.5}, "radius_invalid", "radius_m"),
])
def test_bad_fields_are_refused_by_name_and_nothing_is_written(place, overrides, code, field):
    before = count(ServicePoint)
    with pytest.raises(PointError) as info:
        create_point(place.coordinator, place.activity, point_data(**overrides))
    assert (info.value.code, info.value.field) == (code, field)
    with pytest.raises(PointError) as info:
        update_point(place.coordinator, place.point, point_data(**overrides))
    assert info.value.code == code
    db.session.rollback()
    assert count(ServicePoint) == before
    assert db.session.get(ServicePoint, place.point.id).name == "东关社区养老服务站"


def test_edit_and_retire(place):
    update_point(place.coordinator, place.point, point_data(name="东关站", radius_m=300))
    assert (place.point.name, place.point.radius_m) == ("东关站", 300)
    retire_point(place.coordinator, place.point)
    assert place.point.status == "retired"
    for call in (lambda: retire_point(place.coordinator, place.point),
                 lambda: issue_poster(place.coordinator, place.point),
                 lambda: update_point(place.coordinator, place.point, point_data())):
        with pytest.raises(PointError) as info:
            call()
        assert info.value.code == "point_retired"


def test_another_organizations_coordinator_and_a_volunteer_cannot_manage_points(place, make):
    outsider = make.coordinator(make.org())
    member = make.account_of(place.volunteer)
    db.session.commit()
    for actor in (outsider, member):
        for call in (lambda actor=actor: create_point(actor, place.activity, point_data()),
                     lambda actor=actor: update_point(actor, place.point, point_data(name="Taken")),
                     lambda actor=actor: retire_point(actor, place.point),
                     lambda actor=actor: issue_poster(actor, place.point),
                     lambda actor=actor: revoke_poster(actor, place.poster, "mine now")):
            with pytest.raises(Forbidden):
                call()
            db.session.rollback()
    assert (count(ServicePoint), count(ServicePointPoster)) == (1, 1)
    point = db.session.get(ServicePoint, place.point.id)
    assert (point.name, point.status, place.poster.revoked_at) == ("东关社区养老服务站", "active", None)


def test_revoking_needs_a_reason_and_happens_once(place):
    with pytest.raises(PointError) as info:
        revoke_poster(place.coordinator, place.poster, "  ")
    assert (info.value.code, info.value.field) == ("field_required", "reason")
    new = revoke_and_reprint(place.coordinator, place.poster, "photographed and shared in a group chat")
    assert place.poster.is_revoked and place.poster.revoked_by_id == place.coordinator.id
    assert place.poster.revocation_reason == "photographed and shared in a group chat"
    assert new.serial == 2 and not new.is_revoked
    with pytest.raises(PointError) as info:
        revoke_poster(place.coordinator, place.poster, "again")
    assert info.value.code == "poster_revoked"


# --- scans at the poster -------------------------------------------------------------------------------------------

def test_a_scan_near_the_point_checks_in_and_the_entry_always_waits_for_review(place, make):
    activity, volunteer = place.activity, place.volunteer
    person = make.account_of(volunteer)
    at = activity.starts_at + T(minutes=5)
    # 40 m north of the point, inside its 150 m
    first = poster_scan(person, place.token, at, latitude=HERE[0] + 0.00036)
    assert first.accepted and first.scan.result == "in"
    session = first.session
    assert session.point_id == place.point.id and first.scan.poster_id == place.poster.id
    assert first.scan.method == "kiosk" and session.shift_id is not None
    assert session.flags == ["static_qr"]
    second = poster_scan(person, place.token, at + T(minutes=90))
    assert second.scan.result == "out" and second.session.id == session.id
    entry = second.entry
    assert entry is not None and entry.minutes == 90 and "static_qr" in entry.flags
    state = db.session.get(LedgerState, entry.id)
    assert state.status == "pending"  # never approved by itself
    db.session.commit()
    # the volunteer cannot decide it (not staff); a coordinator who is the volunteer may not either
    with pytest.raises(Forbidden):
        decide_entries(person, activity.organization, [entry.id], "approve")
    db.session.rollback()
    db.session.add(StaffRole(organization_id=activity.organization_id, user_id=person.id, role="coordinator"))
    db.session.commit()
    with pytest.raises(IntegrityRefusal):
        decide_entries(person, activity.organization, [entry.id], "approve")
    db.session.rollback()
    assert db.session.get(LedgerState, entry.id).status == "pending"
    decide_entries(place.coordinator, activity.organization, [entry.id], "approve")
    assert db.session.get(LedgerState, entry.id).status == "approved"


def test_a_scan_far_from_the_point_is_flagged_and_waits(place, make):
    person = make.account_of(place.volunteer)
    at = place.activity.starts_at + T(minutes=5)
    far = poster_scan(person, place.token, at, latitude=HERE[0] + 0.01)  # about 1.1 km north
    assert far.accepted and far.scan.result == "in"
    assert set(far.session.flags) == {"static_qr", "outside_radius"}
    out = poster_scan(person, place.token, at + T(minutes=60))
    assert db.session.get(LedgerState, out.entry.id).status == "pending"
    assert "outside_radius" in out.entry.flags


@pytest.mark.parametrize("latitude, longitude", [(None, None), (HERE[0], None), (None, HERE[1])])
def test_no_location_is_refused_and_nothing_is_written(place, make, latitude, longitude):
    person = make.account_of(place.volunteer)
    before = (count(Scan), count(AttendanceSession))
    with pytest.raises(CheckInError) as info:
        poster_scan(person, place.token, place.activity.starts_at + T(minutes=5), latitude=latitude,
                    longitude=longitude)
    assert (info.value.code, info.value.http_status) == ("location_required", 422)
    db.session.rollback()
    assert (count(Scan), count(AttendanceSession)) == before


def test_a_revoked_poster_is_refused_and_kept_and_its_reprint_works(place, make):
    person = make.account_of(place.volunteer)
    at = place.activity.starts_at + T(minutes=5)
    old_token = place.token
    new = revoke_and_reprint(place.coordinator, place.poster, "lost")
    refused = poster_scan(person, old_token, at)
    assert not refused.accepted and refused.error.code == "poster_revoked"
    assert refused.scan.refusal_code == "poster_revoked" and refused.session is None
    assert count(AttendanceSession) == 0 and count(Scan) == 1
    accepted = poster_scan(person, poster_token(place.point, new), at + T(minutes=1))
    assert accepted.accepted and accepted.scan.poster_id == new.id and accepted.session.point_id == place.point.id


def test_a_retired_points_posters_are_refused_and_kept(place, make):
    retire_point(place.coordinator, place.point)
    result = poster_scan(make.account_of(place.volunteer), place.token, place.activity.starts_at + T(minutes=5))
    assert result.error.code == "point_retired" and count(Scan) == 1 and count(AttendanceSession) == 0


def test_forged_and_tampered_tokens_are_refused_and_nothing_is_written(place, make, app):
    person = make.account_of(place.volunteer)
    token = place.token
    code, serial, mac = token[1:].split(".")
    other_mac = ("A" if mac[0] != "A" else "B") + mac[1:]
    app.config["SECRET_KEY"], real = "another-server", app.config["SECRET_KEY"]
    foreign = poster_token(place.point, place.poster)  # the same point and number, signed by another server
    app.config["SECRET_KEY"] = real
    tampered = [f"P{code}.{serial}.{other_mac}", f"P{code}.{int(serial) + 1}.{mac}", foreign, "PXXXX.1." + mac,
                "not a token"]
    for bad in tampered:
        with pytest.raises(CheckInError) as info:
            poster_scan(person, bad, place.activity.starts_at + T(minutes=5))
        assert info.value.code == "poster_forged", bad
        db.session.rollback()
    assert (count(Scan), count(AttendanceSession)) == (0, 0)
