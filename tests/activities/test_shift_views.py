"""The shift pages: a coordinator makes an activity a duty roster, adds and cancels shifts; a volunteer joins the
roster, and signs up for or withdraws from one shift; bad rules come back as field errors; other organizations'
staff are refused."""
from __future__ import annotations

import datetime as dt

import pytest

from volunteer_registry.activities.models import RosterMember, Shift, ShiftSeries, Signup
from volunteer_registry.extensions import db
from volunteer_registry.models import utcnow
from volunteer_registry.timeutil import LOCAL_ZONE

from ..conftest import login

#: a day ten days from now, in Beijing time
DAY = (utcnow().astimezone(LOCAL_ZONE) + dt.timedelta(days=10)).date()
WEEKDAY = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][DAY.weekday()]


def roster_form(**overrides) -> dict:
    values = {"frequency": "weekly", "weekdays": [WEEKDAY], "interval": "1", "first_day": DAY.isoformat(),
              "until": (DAY + dt.timedelta(days=180)).isoformat(), "count": "", "start_time": "09:00",
              "duration_minutes": "180", "capacity": "2", "role": "", "exceptions": ""}
    values.update(overrides)
    return values


def at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=LOCAL_ZONE).astimezone(dt.UTC)


def scheduled(make):
    start = at(DAY, 9)
    activity = make.activity(starts_at=start, ends_at=start + dt.timedelta(hours=3))
    return activity, make.coordinator(activity.organization)


def test_a_coordinator_makes_a_roster_and_a_volunteer_joins_it_and_picks_shifts(client, make):
    activity, coordinator = scheduled(make)
    db.session.commit()
    login(client, coordinator)
    page = client.get(f"/activities/{activity.code}")
    assert f"/activities/{activity.code}/shifts" in page.text
    assert client.get(f"/activities/{activity.code}/shifts").status_code == 200
    response = client.post(f"/activities/{activity.code}/roster", data=roster_form())
    assert response.status_code == 302
    series = db.session.scalars(db.select(ShiftSeries)).one()
    assert series.rule == f"FREQ=WEEKLY;INTERVAL=1;BYDAY={WEEKDAY};UNTIL={DAY + dt.timedelta(days=180):%Y%m%d}"
    shifts = db.session.scalars(db.select(Shift).where(Shift.activity_id == activity.id)
                                .order_by(Shift.starts_at)).all()
    assert [s.occurrence for s in shifts] == [DAY + dt.timedelta(days=7 * n) for n in range(len(shifts))]
    assert len(shifts) >= 6 and all(s.series_id == series.id for s in shifts)
    shown = client.get(f"/activities/{activity.code}/shifts").text
    assert "Every week on" in shown and "Cancel this shift" in shown

    volunteer = make.account_of(make.volunteer())
    db.session.commit()
    login(client, volunteer)
    page = client.get(f"/activities/{activity.code}").text
    assert "Join this roster (Every week on" in page and "09:00–12:00" in page
    assert page.count('name="shift"') == len(shifts)
    assert client.post(f"/activities/{activity.code}/roster/join").status_code == 302
    mine = db.session.scalars(db.select(Signup).where(Signup.volunteer.has(user_id=volunteer.id))
                              .order_by(Signup.shift_id)).all()
    assert [(s.shift_id, s.status) for s in mine] == [(s.id, "accepted") for s in shifts]
    page = client.get(f"/activities/{activity.code}").text
    assert "Leave the roster" in page and "Join this roster" not in page
    # one shift withdrawn, then signed up again, by its own button
    client.post(f"/activities/{activity.code}/withdraw", data={"shift": str(shifts[1].id)})
    db.session.expire_all()
    statuses = {s.shift_id: s.status for s in db.session.scalars(db.select(Signup))}
    assert statuses[shifts[1].id] == "withdrawn" and statuses[shifts[0].id] == "accepted"
    client.post(f"/activities/{activity.code}/signup", data={"shift": str(shifts[1].id)})
    db.session.expire_all()
    assert db.session.scalar(db.select(Signup.status).where(Signup.shift_id == shifts[1].id)) == "accepted"
    # a shift of another activity is not this one's
    other = make.activity()
    db.session.commit()
    other_shift = db.session.scalars(db.select(Shift).where(Shift.activity_id == other.id)).one()
    client.post(f"/activities/{activity.code}/signup", data={"shift": str(other_shift.id)})
    assert db.session.scalar(db.select(db.func.count()).select_from(Signup)
                             .where(Signup.shift_id == other_shift.id)) == 0
    client.post(f"/activities/{activity.code}/roster/leave")
    db.session.expire_all()
    member = db.session.scalars(db.select(RosterMember)).one()
    assert member.status == "left"
    assert set(db.session.scalars(db.select(Signup.status))) == {"withdrawn"}


@pytest.mark.parametrize("overrides, field, message", [
    ({"until": (DAY + dt.timedelta(days=400)).isoformat()}, "until", "at most 366 days"),
    ({"until": "", "count": "0"}, "count", "number of shifts is a whole number"),
    ({"weekdays": []}, "weekdays", "Choose at least one weekday"),
    ({"exceptions": "2027-02-30"}, "exceptions", "One date per line"),
    ({"start_time": "9 o'clock"}, "start_time", ""),
    ({"first_day": "tomorrow"}, "first_day", ""),
])
def test_a_bad_rule_is_shown_on_its_field(client, make, overrides, field, message):
    activity, coordinator = scheduled(make)
    db.session.commit()
    login(client, coordinator)
    response = client.post(f"/activities/{activity.code}/roster", data=roster_form(**overrides))
    assert response.status_code == 422
    assert message in response.text and f'id="{field}-error" role="alert"' in response.text
    assert db.session.scalar(db.select(db.func.count()).select_from(ShiftSeries)) == 0


def test_adding_and_cancelling_a_shift_by_the_page(client, make):
    activity, coordinator = scheduled(make)
    volunteer = make.account_of(make.volunteer())
    db.session.commit()
    login(client, coordinator)
    response = client.post(f"/activities/{activity.code}/shifts/add", data={
        "starts_at": f"{DAY.isoformat()}T14:00", "ends_at": f"{DAY.isoformat()}T17:00", "capacity": "3",
        "role": "司机"})
    assert response.status_code == 302
    added = db.session.scalars(db.select(Shift).where(Shift.role == "司机")).one()
    assert added.starts_at == at(DAY, 14) and added.capacity == 3
    bad = client.post(f"/activities/{activity.code}/shifts/add", data={
        "starts_at": f"{DAY.isoformat()}T14:00", "ends_at": f"{(DAY + dt.timedelta(days=2)).isoformat()}T14:00"})
    assert bad.status_code == 422 and "at most 24 hours" in bad.text
    login(client, volunteer)
    client.post(f"/activities/{activity.code}/signup", data={"shift": str(added.id)})
    login(client, coordinator)
    client.post(f"/activities/{activity.code}/shifts/{added.id}/cancel", data={"reason": "车辆维修"})
    db.session.expire_all()
    assert db.session.get(Shift, added.id).status == "cancelled"
    assert db.session.scalar(db.select(Signup.status).where(Signup.shift_id == added.id)) == "withdrawn"


def test_staff_of_another_organization_are_refused(client, make):
    activity, _ = scheduled(make)
    shift = db.session.scalars(db.select(Shift).where(Shift.activity_id == activity.id)).one()
    stranger = make.coordinator(make.org())
    db.session.commit()
    login(client, stranger)
    assert client.get(f"/activities/{activity.code}/shifts").status_code == 403
    assert client.post(f"/activities/{activity.code}/roster", data=roster_form()).status_code == 403
    assert client.post(f"/activities/{activity.code}/shifts/{shift.id}/cancel", data={}).status_code == 403
    assert client.post(f"/activities/{activity.code}/shifts/add", data={
        "starts_at": f"{DAY.isoformat()}T14:00", "ends_at": f"{DAY.isoformat()}T17:00"}).status_code == 403
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(ShiftSeries)) == 0
    assert db.session.get(Shift, shift.id).status == "open"
    assert db.session.scalar(db.select(db.func.count()).select_from(Shift)) == 1
