"""Scheduled activities (activities.schedule): extra shifts, duty rosters by RFC 5545 rules, the rolling horizon,
editing a roster from now on, joining and leaving it, and who may do what."""
from __future__ import annotations

import datetime as dt

import pytest

from volunteer_registry.activities.models import Activity, RosterMember, Shift, ShiftSeries, Signup
from volunteer_registry.activities.schedule import (
    ScheduleError,
    SeriesData,
    ShiftData,
    add_shift,
    cancel_shift,
    create_series,
    describe_series,
    extend_horizons,
    join_roster,
    leave_roster,
    series_of,
    update_series,
)
from volunteer_registry.activities.schemas import HORIZON_DAYS
from volunteer_registry.activities.services import ActivityError, sign_up, withdraw
from volunteer_registry.checkin.models import AttendanceSession
from volunteer_registry.demo.seed import seed_demo
from volunteer_registry.errors import Forbidden
from volunteer_registry.extensions import db
from volunteer_registry.notifications.models import Notification
from volunteer_registry.timeutil import LOCAL_ZONE

T = dt.timedelta
#: the tests' clock: Friday 1 January 2027, 08:00 Beijing time
NOW = dt.datetime(2027, 1, 1, 0, 0, tzinfo=dt.UTC)


def beijing(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LOCAL_ZONE).astimezone(dt.UTC)


def roster_activity(make, org=None, **overrides):
    start = beijing(dt.date(2027, 1, 5), 9)
    return make.activity(org, starts_at=start, ends_at=start + T(hours=3), **overrides)


def weekly(**overrides) -> SeriesData:
    values = {"frequency": "weekly", "weekdays": ["TU"], "interval": "1", "first_day": "2027-01-05",
              "until": "2027-12-28", "start_time": "09:00", "duration_minutes": "180", "capacity": "",
              "role": "", "exceptions": ""}
    values.update(overrides)
    return SeriesData.from_mapping(values)


def shifts_of(series) -> list[Shift]:
    return list(db.session.scalars(db.select(Shift).where(Shift.series_id == series.id)
                                   .order_by(Shift.occurrence)))


def notices(user, kind) -> list[Notification]:
    return list(db.session.scalars(db.select(Notification).where(Notification.user_id == user.id,
                                                                 Notification.kind == kind)))


def test_a_weekly_roster_over_a_year_skips_its_holidays_and_grows_with_the_horizon(make):
    activity = roster_activity(make)
    coordinator = make.coordinator(activity.organization)
    assert db.session.scalars(db.select(Shift).where(Shift.activity_id == activity.id)).one().series_id is None
    series = create_series(coordinator, activity, weekly(exceptions="2027-02-09\n2027-10-05"), NOW)
    # computed independently: every seventh day from 5 January to 28 December, less the two holidays
    expected, day = [], dt.date(2027, 1, 5)
    while day <= dt.date(2027, 12, 28):
        if day not in (dt.date(2027, 2, 9), dt.date(2027, 10, 5)):
            expected.append(day)
        day += T(days=7)
    assert len(expected) == 50
    assert series_of(series) == expected
    assert series.rule == "FREQ=WEEKLY;INTERVAL=1;BYDAY=TU;UNTIL=20271228"
    assert series.exceptions == ["2027-02-09", "2027-10-05"]
    # the automatic one-off shift, unused, gave way to the roster's
    assert db.session.scalar(db.select(db.func.count()).select_from(Shift).where(
        Shift.activity_id == activity.id, Shift.series_id.is_(None))) == 0
    horizon = NOW.astimezone(LOCAL_ZONE).date() + T(days=HORIZON_DAYS)
    made = shifts_of(series)
    assert [shift.occurrence for shift in made] == [d for d in expected if d <= horizon]
    assert all(s.starts_at == beijing(s.occurrence, 9) and s.ends_at == beijing(s.occurrence, 12) for s in made)
    # the activity spans the roster
    assert activity.starts_at == beijing(dt.date(2027, 1, 5), 9)
    assert activity.ends_at == beijing(dt.date(2027, 12, 28), 12)
    assert "Tuesday" in describe_series(series)
    # extending the same day makes nothing; a month on, the next ones; a daily timer over the year, all of them
    assert extend_horizons(NOW) == 0
    created = extend_horizons(NOW + T(days=28))
    assert created == len([d for d in expected if horizon < d <= horizon + T(days=28)]) > 0
    assert extend_horizons(NOW + T(days=28)) == 0
    moment = NOW + T(days=28)
    while moment < NOW + T(days=365):
        moment += T(days=1)
        extend_horizons(moment)
    assert [shift.occurrence for shift in shifts_of(series)] == expected


def test_daily_every_other_day_by_count(make):
    activity = roster_activity(make)
    series = create_series(make.coordinator(activity.organization), activity, SeriesData.from_mapping({
        "frequency": "daily", "interval": "2", "first_day": "2027-01-05", "count": "10", "start_time": "18:30",
        "duration_minutes": "90"}), NOW)
    assert series.rule == "FREQ=DAILY;INTERVAL=2;COUNT=10"
    assert series_of(series) == [dt.date(2027, 1, 5) + T(days=2 * n) for n in range(10)]
    assert shifts_of(series)[0].starts_at == beijing(dt.date(2027, 1, 5), 18, 30)


@pytest.mark.parametrize("overrides, code, field", [
    ({"until": "2028-01-06"}, "series_too_long", "until"),  # 366 days after the first day
    ({"until": "", "count": "0"}, "count_invalid", "count"),
    ({"until": "", "count": "many"}, "count_invalid", "count"),
    ({"until": "", "count": "", "weekdays": ["MO", "TU", "WE", "TH", "FR", "SA", "SU"], "interval": "2"},
     "end_required", "until"),
    ({"until": "", "count": "60", "interval": "2"}, "series_too_long", "count"),  # 60 fortnights: two years
    ({"count": "3"}, "end_twice", "count"),
    ({"weekdays": []}, "weekdays_required", "weekdays"),
    ({"weekdays": ["XX"]}, "weekday_unknown", "weekdays"),
    ({"exceptions": "2027-02-30"}, "exception_invalid", "exceptions"),
    ({"exceptions": "next tuesday"}, "exception_invalid", "exceptions"),
    ({"frequency": "hourly"}, "frequency_unknown", "frequency"),
    ({"interval": "0"}, "interval_invalid", "interval"),
    ({"first_day": "2026-12-01"}, "first_day_past", "first_day"),
    ({"first_day": "soon"}, "date_invalid", "first_day"),
    ({"until": "2027-01-01"}, "until_before_first", "until"),
    ({"start_time": "25:00"}, "start_time_invalid", "start_time"),
    ({"duration_minutes": "0"}, "duration_invalid", "duration_minutes"),
    ({"duration_minutes": str(24 * 60 + 1)}, "duration_invalid", "duration_minutes"),
    ({"capacity": "0"}, "capacity_invalid", "capacity"),
    ({"role": "x" * 61}, "too_long", "role"),
])
def test_a_bad_rule_is_refused_on_its_field_and_writes_nothing(make, overrides, code, field):
    activity = roster_activity(make)
    with pytest.raises(ScheduleError) as info:
        create_series(make.coordinator(activity.organization), activity, weekly(**overrides), NOW)
    assert (info.value.code, info.value.field) == (code, field)
    assert db.session.scalar(db.select(db.func.count()).select_from(ShiftSeries)) == 0


def test_a_year_to_the_day_is_allowed(make):
    activity = roster_activity(make)
    series = create_series(make.coordinator(activity.organization), activity, weekly(until="2028-01-04"), NOW)
    assert series_of(series)[-1] == dt.date(2028, 1, 4)


def test_two_shifts_of_one_activity_have_their_own_places_and_waiting_lists(make):
    activity = roster_activity(make, capacity=1)
    coordinator = make.coordinator(activity.organization)
    first = db.session.scalars(db.select(Shift).where(Shift.activity_id == activity.id)).one()
    second = add_shift(coordinator, activity, ShiftData.from_mapping({
        "starts_at": "2027-01-05T14:00", "ends_at": "2027-01-05T17:00", "capacity": "1", "role": "driver"}), NOW)
    assert activity.ends_at == beijing(dt.date(2027, 1, 5), 17)
    assert first.ends_at == beijing(dt.date(2027, 1, 5), 12)  # the first shift kept its own times
    a, b = (make.account_of(make.volunteer()) for _ in range(2))
    with pytest.raises(ActivityError) as info:
        sign_up(a, activity, NOW)
    assert info.value.code == "shift_required"
    assert sign_up(a, activity, NOW, shift=first.id).status == "accepted"
    assert sign_up(b, activity, NOW, shift=first.id).status == "waitlisted"
    assert sign_up(b, activity, NOW, shift=second.id).status == "accepted"
    withdraw(a, activity, NOW, shift=first.id)
    on_first = db.session.scalars(db.select(Signup).where(Signup.shift_id == first.id,
                                                          Signup.volunteer_id != None)).all()  # noqa: E711
    assert {(s.volunteer.user_id, s.status) for s in on_first} == {(a.id, "withdrawn"), (b.id, "accepted")}


def test_a_shift_is_at_most_a_day_and_a_one_off_activity_at_most_31_days(make):
    activity = roster_activity(make)
    coordinator = make.coordinator(activity.organization)
    with pytest.raises(ScheduleError) as info:
        add_shift(coordinator, activity, ShiftData.from_mapping({"starts_at": "2027-01-06T09:00",
                                                                 "ends_at": "2027-01-07T09:01"}), NOW)
    assert (info.value.code, info.value.field) == ("shift_too_long", "ends_at")
    with pytest.raises(ScheduleError) as info:
        add_shift(coordinator, activity, ShiftData.from_mapping({"starts_at": "2027-03-06T09:00",
                                                                 "ends_at": "2027-03-06T10:00"}), NOW)
    assert info.value.code == "too_long_activity"
    with pytest.raises(ScheduleError) as info:
        add_shift(coordinator, activity, ShiftData.from_mapping({"starts_at": "2026-12-31T09:00",
                                                                 "ends_at": "2026-12-31T10:00"}), NOW)
    assert info.value.code == "shift_in_past"
    # with a roster, the activity may span a year
    create_series(coordinator, activity, weekly(), NOW)
    extra = add_shift(coordinator, activity, ShiftData.from_mapping({"starts_at": "2027-06-06T09:00",
                                                                     "ends_at": "2027-06-06T10:00"}), NOW)
    assert extra.series_id is None and extra.starts_at == beijing(dt.date(2027, 6, 6), 9)


def test_cancelling_a_shift_releases_and_tells_its_people(make):
    activity = roster_activity(make, capacity=1)
    coordinator = make.coordinator(activity.organization)
    shift = db.session.scalars(db.select(Shift).where(Shift.activity_id == activity.id)).one()
    a, b = (make.account_of(make.volunteer()) for _ in range(2))
    sign_up(a, activity, NOW)
    sign_up(b, activity, NOW)
    cancel_shift(coordinator, shift, "暴雪", NOW)
    assert shift.status == "cancelled"
    statuses = set(db.session.scalars(db.select(Signup.status).where(Signup.shift_id == shift.id)))
    assert statuses == {"withdrawn"}  # nobody moved up into a cancelled shift
    assert [n.params["reason"] for n in notices(a, "shift.cancelled")] == ["暴雪"]
    assert len(notices(b, "shift.cancelled")) == 1
    with pytest.raises(ScheduleError) as info:
        cancel_shift(coordinator, shift, "", NOW)
    assert info.value.code == "shift_cancelled"
    with pytest.raises(ActivityError) as info:
        sign_up(make.account_of(make.volunteer()), activity, NOW, shift=shift)
    assert info.value.code == "shift_cancelled"


def test_a_started_shift_cannot_be_cancelled(make):
    activity = roster_activity(make)
    shift = db.session.scalars(db.select(Shift).where(Shift.activity_id == activity.id)).one()
    with pytest.raises(ScheduleError) as info:
        cancel_shift(make.coordinator(activity.organization), shift, "", shift.starts_at + T(minutes=1))
    assert info.value.code == "shift_started" and shift.status == "open"


def test_editing_a_roster_changes_only_its_future_shifts(make):
    activity = roster_activity(make)
    coordinator = make.coordinator(activity.organization)
    series = create_series(coordinator, activity, weekly(weekdays=["MO", "WE", "FR"], first_day="2027-01-04",
                                                         until="2027-03-31"), NOW)
    volunteer = make.account_of(make.volunteer())
    join_roster(volunteer, series, NOW)
    before = {s.occurrence: (s.id, s.starts_at) for s in shifts_of(series)}
    # a week later (Monday 11 January, 08:00 UTC: that day's shift is running), Wednesdays go, the rest start at 10
    later = beijing(dt.date(2027, 1, 11), 10)
    update_series(coordinator, series, weekly(weekdays=["MO", "FR"], first_day="2027-01-04", until="2027-03-31",
                                              start_time="10:00"), later)
    after = {s.occurrence: s for s in shifts_of(series)}
    for day, (shift_id, starts) in before.items():
        shift = after[day]
        assert shift.id == shift_id  # moved in place, never replaced
        if starts <= later:  # past and running: unchanged
            assert (shift.starts_at, shift.status) == (starts, "open")
        elif day.weekday() == 2:  # a Wednesday ahead: cancelled, its place released
            assert shift.status == "cancelled"
            signup = db.session.scalar(db.select(Signup).where(Signup.shift_id == shift.id))
            assert signup.status == "withdrawn"
        else:
            assert shift.status == "open" and shift.starts_at == beijing(day, 10)
            signup = db.session.scalar(db.select(Signup).where(Signup.shift_id == shift.id))
            assert signup.status == "accepted"
    future_wednesdays = [d for d, (_, s) in before.items() if s > later and d.weekday() == 2]
    future_others = [d for d, (_, s) in before.items() if s > later and d.weekday() != 2]
    assert future_wednesdays and future_others
    assert len(notices(volunteer, "shift.cancelled")) == len(future_wednesdays)
    assert len(notices(volunteer, "shift.changed")) == len(future_others)
    assert after[dt.date(2027, 1, 11)].starts_at == beijing(dt.date(2027, 1, 11), 9)


def test_joining_a_roster_signs_up_for_each_shift_now_and_later_and_leaving_withdraws(make):
    activity = roster_activity(make)
    coordinator = make.coordinator(activity.organization)
    series = create_series(coordinator, activity, weekly(capacity="1"), NOW)
    first, second = (make.account_of(make.volunteer()) for _ in range(2))
    join_roster(first, series, NOW)
    join_roster(second, series, NOW)
    shifts = shifts_of(series)

    def statuses(user):
        return [db.session.scalar(db.select(Signup.status).join(Signup.volunteer)
                                  .where(Signup.shift_id == s.id, Signup.volunteer.has(user_id=user.id)))
                for s in shifts_of(series)]

    assert statuses(first) == ["accepted"] * len(shifts)
    assert statuses(second) == ["waitlisted"] * len(shifts)
    with pytest.raises(ScheduleError) as info:
        join_roster(first, series, NOW)
    assert info.value.code == "already_on_roster"
    # the horizon's next shifts sign the members up, in the order they joined
    assert extend_horizons(NOW + T(days=14)) == 2
    assert statuses(first) == ["accepted"] * (len(shifts) + 2)
    assert statuses(second) == ["waitlisted"] * (len(shifts) + 2)
    # leaving after the first shift: the later ones go to the next on the list
    moment = shifts[0].starts_at + T(hours=1)
    leave_roster(first, series, moment)
    assert statuses(first) == ["accepted"] + ["withdrawn"] * (len(shifts) + 1)
    assert statuses(second) == ["waitlisted"] + ["accepted"] * (len(shifts) + 1)
    member = db.session.scalar(db.select(RosterMember).where(RosterMember.volunteer.has(user_id=first.id)))
    assert (member.status, member.left_at) == ("left", moment)
    with pytest.raises(ScheduleError) as info:
        leave_roster(first, series, moment)
    assert info.value.code == "not_on_roster"
    # gone from the roster, not signed up for what the horizon adds next
    extend_horizons(NOW + T(days=21))
    assert statuses(first)[-1] is None and statuses(second)[-1] == "accepted"


def test_a_draft_roster_cannot_be_joined(make):
    activity = roster_activity(make, status="draft")
    series = create_series(make.org_admin_of(activity.organization), activity, weekly(), NOW)
    with pytest.raises(ScheduleError) as info:
        join_roster(make.account_of(make.volunteer()), series, NOW)
    assert info.value.code == "activity_not_published"
    assert db.session.scalar(db.select(db.func.count()).select_from(RosterMember)) == 0


def test_coordinators_of_another_organization_are_forbidden(make):
    activity = roster_activity(make)
    mine = make.coordinator(activity.organization)
    series = create_series(mine, activity, weekly(), NOW)
    stranger = make.coordinator(make.org())
    shift = shifts_of(series)[0]
    with pytest.raises(Forbidden):
        add_shift(stranger, activity, ShiftData.from_mapping({"starts_at": "2027-01-06T09:00",
                                                              "ends_at": "2027-01-06T10:00"}), NOW)
    with pytest.raises(Forbidden):
        cancel_shift(stranger, shift, "", NOW)
    with pytest.raises(Forbidden):
        update_series(stranger, series, weekly(weekdays=["WE"]), NOW)
    other = roster_activity(make)
    with pytest.raises(Forbidden):
        create_series(stranger, other, weekly(), NOW)
    volunteer = make.account_of(make.volunteer())
    with pytest.raises(Forbidden):
        create_series(volunteer, other, weekly(), NOW)
    assert shift.status == "open" and series.rule.endswith("BYDAY=TU;UNTIL=20271228")


def test_flask_shifts_extend_creates_the_next_shifts_once(app, make):
    activity = roster_activity(make)
    series = create_series(make.coordinator(activity.organization), activity, weekly(), NOW)
    db.session.commit()
    before = len(shifts_of(series))
    runner = app.test_cli_runner()
    later = (NOW + T(days=14)).isoformat()
    result = runner.invoke(args=["shifts", "extend", "--now", later])
    assert result.exit_code == 0 and result.output.strip() == "created 2 shifts"
    assert runner.invoke(args=["shifts", "extend", "--now", later]).output.strip() == "created 0 shifts"
    db.session.expire_all()
    assert len(shifts_of(series)) == before + 2
    bad = runner.invoke(args=["shifts", "extend", "--now", "someday"])
    assert bad.exit_code != 0 and "--now" in bad.output


def test_the_demo_duty_is_a_weekday_roster_and_keeps_its_check_ins(app):
    assert seed_demo()
    duty = db.session.scalars(db.select(Activity).where(Activity.title == "社区服务站日常值班")).one()
    series = db.session.scalars(db.select(ShiftSeries).where(ShiftSeries.activity_id == duty.id)).one()
    assert series.rule.startswith("FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,TU,WE,TH,FR;UNTIL=")
    ahead = shifts_of(series)
    assert len(ahead) >= 30 and all(s.occurrence.weekday() < 5 for s in ahead)
    assert all(s.starts_at.astimezone(LOCAL_ZONE).time() == dt.time(9) for s in ahead)
    members = db.session.scalars(db.select(RosterMember).where(RosterMember.series_id == series.id)).all()
    assert len(members) == 2 and {m.status for m in members} == {"active"}
    # each member holds a place in every shift ahead (three places a shift)
    for member in members:
        held = db.session.scalars(db.select(Signup.status).where(Signup.volunteer_id == member.volunteer_id,
                                                                 Signup.shift_id.in_([s.id for s in ahead])))
        assert list(held) == ["accepted"] * len(ahead)
    # today's open day keeps the two check-ins, on its own shift
    sessions = db.session.scalars(db.select(AttendanceSession).where(AttendanceSession.activity_id == duty.id)).all()
    assert len(sessions) == 2 and {s.shift_id for s in sessions} != {None}
    assert all(db.session.get(Shift, s.shift_id).series_id is None for s in sessions)
    # the station's printed poster, in use: its QR opens the point's check-in page
    from volunteer_registry.points.models import ServicePoint, ServicePointPoster
    from volunteer_registry.points.tokens import poster_facts, poster_token

    point = db.session.scalars(db.select(ServicePoint).where(ServicePoint.activity_id == duty.id)).one()
    poster = db.session.scalars(db.select(ServicePointPoster).where(ServicePointPoster.point_id == point.id)).one()
    assert (point.status, poster.is_revoked, point.radius_m) == ("active", False, 150)
    assert poster_facts(poster_token(point, poster)) == (point, poster, None)


def test_a_roster_activity_keeps_its_span_when_its_details_are_edited(make):
    """A roster spans up to a year: editing the activity's other details works (the 31-day rule is a one-off
    activity's), and its times stay the span of its shifts whatever the form sent."""
    from volunteer_registry.activities.services import ActivityData, update_activity

    activity = roster_activity(make)
    coordinator = make.coordinator(activity.organization)
    create_series(coordinator, activity, weekly(), NOW)
    span = (activity.starts_at, activity.ends_at)
    assert span[1] - span[0] > dt.timedelta(days=31)
    values = {key: getattr(activity, key) for key in (
        "title", "category", "recipient", "region_code", "address", "person_in_charge", "grace_minutes",
        "signup_mode", "capacity")}
    values.update(title="Station duty, renamed", starts_at=span[0] + dt.timedelta(days=3),
                  ends_at=span[0] + dt.timedelta(days=4))
    update_activity(coordinator, activity, ActivityData.from_mapping(values))
    db.session.flush()
    assert activity.title == "Station duty, renamed"
    assert (activity.starts_at, activity.ends_at) == span


def test_an_activity_of_several_shifts_counts_the_places_of_those_not_yet_over(make):
    from volunteer_registry.activities.queries import places_left

    activity = roster_activity(make, capacity=2)
    coordinator = make.coordinator(activity.organization)
    first = db.session.scalars(db.select(Shift).where(Shift.activity_id == activity.id)).one()
    add_shift(coordinator, activity, ShiftData.from_mapping({
        "starts_at": "2027-01-05T14:00", "ends_at": "2027-01-05T17:00", "capacity": "3", "role": ""}), NOW)
    sign_up(make.account_of(make.volunteer()), activity, NOW, shift=first.id)
    assert places_left([activity], NOW)[activity.id] == 1 + 3
    # the first shift (09:00-12:00 Beijing) is over at 13:00: only the afternoon's places are left
    assert places_left([activity], beijing(dt.date(2027, 1, 5), 13))[activity.id] == 3
    add_shift(coordinator, activity, ShiftData.from_mapping({
        "starts_at": "2027-01-06T14:00", "ends_at": "2027-01-06T17:00", "capacity": "", "role": ""}), NOW)
    assert places_left([activity], NOW)[activity.id] is None  # a shift without a limit


def test_a_roster_replacing_the_unused_one_off_shift_takes_its_times_from_the_roster(make):
    """The activity's times were its one-off shift's (Monday afternoon); once the roster (Tuesdays at 09:00)
    replaces that unused shift, they are the roster's span, not a span that still starts on the Monday."""
    start = beijing(dt.date(2027, 1, 4), 14)
    activity = make.activity(starts_at=start, ends_at=start + T(hours=2))
    coordinator = make.coordinator(activity.organization)
    create_series(coordinator, activity, weekly(until="2027-03-30"), NOW)
    assert (activity.starts_at, activity.ends_at) == (beijing(dt.date(2027, 1, 5), 9),
                                                      beijing(dt.date(2027, 3, 30), 12))


@pytest.mark.parametrize("shift", ["2147483648", "2200000000", "99999999999999999999", "-1", "0", "x"])
def test_a_shift_id_past_the_largest_key_is_unknown(make, shift):
    """Past INTEGER's 32 bits a shift id would fail PostgreSQL's whole transaction; it is shift_unknown instead."""
    activity = roster_activity(make)
    volunteer = make.volunteer()
    with pytest.raises(ActivityError) as info:
        sign_up(make.account_of(volunteer), activity, NOW, shift=shift)
    assert info.value.code == "shift_unknown"
    assert db.session.scalar(db.select(db.func.count()).select_from(Signup)
                             .where(Signup.volunteer_id == volunteer.id)) == 0
