"""The reminder the day before goes per shift: a volunteer in two shifts of one activity is reminded of each,
naming that shift's day and time; a roster member is reminded of each of the roster's shifts, once however often
the job runs; a cancelled shift or a withdrawn place is not reminded."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from volunteer_registry.activities.models import RosterMember, Shift, ShiftSeries
from volunteer_registry.activities.services import sign_up, withdraw
from volunteer_registry.extensions import db
from volunteer_registry.models import utcnow
from volunteer_registry.notifications.models import Notification
from volunteer_registry.notifications.scheduled import send_reminders
from volunteer_registry.timeutil import LOCAL_ZONE

from .test_events import english, local_time, notifications_of

T = dt.timedelta


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return local_time(day, hour) + T(minutes=minute)


def add_shift(activity, starts_at, hours=2, *, series=None, status="open") -> Shift:
    shift = Shift(activity_id=activity.id, organization_id=activity.organization_id, starts_at=starts_at,
                  ends_at=starts_at + T(hours=hours), capacity=None, role="", status=status,
                  series_id=series.id if series else None,
                  occurrence=starts_at.astimezone(LOCAL_ZONE).date() if series else None)
    db.session.add(shift)
    db.session.flush()
    return shift


def reminders() -> list[Notification]:
    return list(db.session.scalars(sa.select(Notification).where(Notification.kind == "activity.reminder")
                                   .order_by(Notification.id)))


def test_two_shifts_of_one_activity_give_two_reminders_each_naming_its_time(app, make):
    org = make.org(name="西宁市城东区志愿者协会")
    today = utcnow().astimezone(LOCAL_ZONE).date()
    tomorrow = today + T(days=1)
    activity = make.activity(org, title="社区义诊", address="东关大街 12 号", starts_at=at(tomorrow, 9, 30),
                             ends_at=at(tomorrow, 11, 30))
    morning = db.session.scalar(sa.select(Shift).where(Shift.activity_id == activity.id))
    afternoon = add_shift(activity, at(tomorrow, 14))
    later = add_shift(activity, at(tomorrow + T(days=1), 9))
    both, one = (make.account_of(make.volunteer(birth_date=dt.date(1991, 2, day))) for day in (1, 2))
    for shift in (morning, afternoon, later):
        sign_up(both, activity, now=at(today, 7), shift=shift)
    sign_up(one, activity, now=at(today, 7), shift=afternoon)
    db.session.commit()

    assert send_reminders(now=at(today, 8)) == 0  # not before 09:00
    assert send_reminders(now=at(today, 9)) == 3  # two for the one in both shifts, one for the other
    assert send_reminders(now=at(today, 9, 5)) == 0  # once per shift, however often it runs
    assert send_reminders(now=at(today, 21)) == 0
    texts = sorted(english(n)[1] for n in notifications_of(both, "activity.reminder"))
    day = tomorrow.isoformat()
    assert texts[0].startswith(
        f"社区义诊 of 西宁市城东区志愿者协会 starts tomorrow, {day} at 09:30, at 东关大街 12 号.")
    assert texts[1].startswith(f"社区义诊 of 西宁市城东区志愿者协会 starts tomorrow, {day} at 14:00, at ")
    subjects = sorted(english(n)[0] for n in notifications_of(both, "activity.reminder"))
    assert subjects == ["Tomorrow at 09:30: 社区义诊", "Tomorrow at 14:00: 社区义诊"]
    [other] = notifications_of(one, "activity.reminder")
    assert f"{day} at 14:00" in english(other)[1]
    assert sorted(n.once for n in reminders()) == sorted(
        [f"reminder:shift:{morning.id}", f"reminder:shift:{afternoon.id}", f"reminder:shift:{afternoon.id}"])
    # the next day: the third shift, the day before it
    assert send_reminders(now=at(tomorrow, 9)) == 1
    assert f"{(tomorrow + T(days=1)).isoformat()} at 09:00" in english(notifications_of(both)[-1])[1]


def test_a_roster_member_is_reminded_of_each_shift_once(app, make):
    org = make.org()
    today = utcnow().astimezone(LOCAL_ZONE).date()
    first_day = today + T(days=1)
    admin = make.org_admin_of(org)
    activity = make.activity(org, title="养老院陪伴", starts_at=at(first_day, 15), ends_at=at(first_day, 17))
    series = ShiftSeries(activity_id=activity.id, organization_id=org.id, rule="FREQ=DAILY;COUNT=3",
                         first_day=first_day, start_time="15:00", duration_minutes=120, capacity=None, role="",
                         exceptions=[], created_by_id=admin.id)
    db.session.add(series)
    db.session.flush()
    sole = db.session.scalar(sa.select(Shift).where(Shift.activity_id == activity.id))
    sole.series_id, sole.occurrence = series.id, first_day
    shifts = [sole] + [add_shift(activity, at(first_day + T(days=n), 15), series=series) for n in (1, 2)]
    member = make.volunteer()
    user = make.account_of(member)
    db.session.add(RosterMember(series_id=series.id, volunteer_id=member.id, status="active"))
    for shift in shifts:  # the roster signs its members up for each of its shifts
        sign_up(user, activity, now=at(today, 7), shift=shift)
    shifts[2].status = "cancelled"
    db.session.commit()

    for day_offset, expected in ((0, 1), (1, 1), (2, 0)):  # the third shift was cancelled: nothing to remind
        day = today + T(days=day_offset)
        assert send_reminders(now=at(day, 9)) == expected
        assert send_reminders(now=at(day, 9)) == 0  # the job runs twice: still once
        assert send_reminders(now=at(day, 18)) == 0
    listed = notifications_of(user, "activity.reminder")
    assert [n.once for n in listed] == [f"reminder:shift:{shifts[0].id}", f"reminder:shift:{shifts[1].id}"]
    assert f"{first_day.isoformat()} at 15:00" in english(listed[0])[1]
    assert f"{(first_day + T(days=1)).isoformat()} at 15:00" in english(listed[1])[1]


def test_a_withdrawn_place_is_not_reminded(app, make):
    org = make.org()
    today = utcnow().astimezone(LOCAL_ZONE).date()
    tomorrow = today + T(days=1)
    activity = make.activity(org, starts_at=at(tomorrow, 10), ends_at=at(tomorrow, 12))
    second = add_shift(activity, at(tomorrow, 13))
    user = make.account_of(make.volunteer())
    sign_up(user, activity, now=at(today, 7), shift=second)
    withdraw(user, activity, now=at(today, 8), shift=second)
    db.session.commit()
    assert send_reminders(now=at(today, 9)) == 0
    assert reminders() == []
