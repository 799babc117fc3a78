"""The API's shifts: an activity's upcoming shifts with their places, and signing up for one of them."""
from __future__ import annotations

import datetime as dt

from volunteer_registry.activities.models import Shift, Signup
from volunteer_registry.activities.schedule import ShiftData, add_shift
from volunteer_registry.extensions import db
from volunteer_registry.models import utcnow

from .conftest import token_for


def two_shifts(make, capacity=1):
    start = utcnow().replace(microsecond=0) + dt.timedelta(days=3)
    activity = make.activity(starts_at=start, ends_at=start + dt.timedelta(hours=3), capacity=capacity)
    first = db.session.scalars(db.select(Shift).where(Shift.activity_id == activity.id)).one()
    second = add_shift(make.org_admin_of(activity.organization), activity, ShiftData(
        starts_at=start + dt.timedelta(hours=5), ends_at=start + dt.timedelta(hours=8), capacity=capacity,
        role="driver"))
    db.session.commit()
    return activity, first.id, second.id


def test_shifts_are_listed_and_signed_up_for_one_by_one(api, make):
    activity, first, second = two_shifts(make)
    a, b = (make.account_of(make.volunteer()) for _ in range(2))
    token_a, token_b = token_for(a), token_for(b)
    listed = api.get(f"/activities/{activity.code}/shifts")
    assert listed.status_code == 200
    items = listed.get_json()["items"]
    assert [(i["id"], i["role"], i["capacity"], i["accepted"], i["waitlisted"], i["series"]) for i in items] == [
        (first, "", 1, 0, 0, None), (second, "driver", 1, 0, 0, None)]
    # several shifts: the body must name one
    refused = api.post(f"/activities/{activity.code}/signups", token=token_a)
    assert refused.status_code == 400 and refused.get_json()["error"] == {
        "code": "shift_required", "message": refused.get_json()["error"]["message"], "field": "shift"}
    assert api.post(f"/activities/{activity.code}/signups", token=token_a,
                    json={"shift": first}).get_json()["status"] == "accepted"
    assert api.post(f"/activities/{activity.code}/signups", token=token_b,
                    json={"shift": first}).get_json()["status"] == "waitlisted"
    assert api.post(f"/activities/{activity.code}/signups", token=token_b,
                    json={"shift": second}).get_json()["status"] == "accepted"
    items = api.get(f"/activities/{activity.code}/shifts").get_json()["items"]
    assert [(i["accepted"], i["waitlisted"]) for i in items] == [(1, 1), (1, 0)]


def test_a_bad_shift_is_a_4xx_naming_the_field(api, make):
    activity, first, _ = two_shifts(make)
    other, other_first, _ = two_shifts(make)
    token = token_for(make.account_of(make.volunteer()))
    for body, status, code in (({"shift": "first"}, 400, "invalid_parameter"), ({"shift": 0}, 400,
                                                                                 "invalid_parameter"),
                               ({"shift": other_first}, 404, "shift_unknown"),
                               ({"shift": 2**40}, 400, "invalid_parameter")):
        response = api.post(f"/activities/{activity.code}/signups", token=token, json=body)
        assert response.status_code == status, body
        assert response.get_json()["error"]["code"] == code and response.get_json()["error"]["field"] == "shift"
    assert db.session.scalar(db.select(db.func.count()).select_from(Signup)) == 0


def test_a_one_off_activity_takes_a_sign_up_without_a_body(api, make):
    activity = make.activity(starts_at=utcnow() + dt.timedelta(days=2), ends_at=utcnow() + dt.timedelta(days=2,
                                                                                                          hours=2))
    db.session.commit()
    response = api.post(f"/activities/{activity.code}/signups", token=token_for(make.account_of(make.volunteer())))
    assert response.status_code == 201 and response.get_json()["status"] == "accepted"


def test_a_draft_s_shifts_are_hidden_from_strangers(api, make):
    activity = make.activity(status="draft")
    db.session.commit()
    assert api.get(f"/activities/{activity.code}/shifts").status_code == 404
    staff = token_for(make.org_admin_of(activity.organization))
    assert len(api.get(f"/activities/{activity.code}/shifts", token=staff).get_json()["items"]) == 1
