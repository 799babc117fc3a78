"""Scheduled activities: extra shifts, duty rosters that recur by an RFC 5545 rule (python-dateutil's rrule, in
Beijing time), the rolling horizon their shifts are created up to, and volunteers joining or leaving a roster.

A roster's shifts exist only up to HORIZON_DAYS ahead; ``extend_horizons`` (``flask shifts extend``, daily) makes
the next ones and signs the roster's members up for them. Editing a roster changes its future shifts only: past and
running shifts are what happened.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from dateutil.rrule import rrulestr
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, text

from .. import signals
from ..accounts.permissions import require
from ..audit.services import record_event
from ..extensions import db
from ..models import utcnow
from ..text import check_plain_text
from ..timeutil import LOCAL_ZONE, local, parse_datetime
from ..volunteers.queries import volunteer_for_user
from .models import Activity, RosterMember, Shift, ShiftSeries, Signup
from .rules import edit_refusal, holds_place, roster_refusal
from .schemas import (
    CAPACITY_MAX,
    EXCEPTIONS_MAX,
    FREQUENCIES,
    HORIZON_DAYS,
    INTERVAL_MAX,
    ROLE_MAX,
    SERIES_DAYS_MAX,
    SHIFT_CANCEL,
    SHIFT_MINUTES_MAX,
    SHIFTS_PER_ACTIVITY_MAX,
    WEEKDAYS,
)
from .services import ActivityError, move_up, place_in_shift, release

#: an activity without a series spans at most this long (services.clean_activity_data's rule)
ONE_OFF_DAYS_MAX = 31


class ScheduleError(ActivityError):
    messages = {
        **ActivityError.messages,
        "frequency_unknown": _l("Choose how often the roster recurs."),
        "weekdays_required": _l("Choose at least one weekday."),
        "weekday_unknown": _l("Choose weekdays from the list."),
        "interval_invalid": _l("Every 1 to %(max)s days or weeks.", max=INTERVAL_MAX),
        "date_invalid": _l("Enter a date."),
        "first_day_past": _l("The first day is today or later."),
        "end_required": _l("Give a last day or a number of shifts."),
        "end_twice": _l("Give a last day or a number of shifts, not both."),
        "until_before_first": _l("The last day is on or after the first day."),
        "count_invalid": _l("The number of shifts is a whole number from 1 to %(max)s.", max=SERIES_DAYS_MAX),
        "series_too_long": _l("A roster runs for at most %(days)s days from its first day.", days=SERIES_DAYS_MAX),
        "start_time_invalid": _l("Enter a time as HH:MM."),
        "duration_invalid": _l("A shift lasts 1 to %(max)s minutes.", max=SHIFT_MINUTES_MAX),
        "exception_invalid": _l("One date per line, as YYYY-MM-DD."),
        "too_many_exceptions": _l("At most %(max)s dates are skipped.", max=EXCEPTIONS_MAX),
        "no_occurrences": _l("This rule gives no shift at all."),
        "shift_too_long": _l("A shift lasts at most 24 hours."),
        "shift_in_past": _l("A new shift starts in the future."),
        "shift_started": _l("This shift has already started."),
        "too_many_shifts": _l("An activity has at most %(max)s shifts.", max=SHIFTS_PER_ACTIVITY_MAX),
        "too_long_roster": _l("An activity's shifts span at most %(days)s days (31 without a roster).",
                              days=SERIES_DAYS_MAX),
        "series_exists": _l("This activity already has a roster: edit it."),
        "already_on_roster": _l("You are already on this roster."),
        "not_on_roster": _l("You are not on this roster."),
        "roster_ended": _l("This roster has no shifts ahead."),
    }
    statuses = {**ActivityError.statuses, "series_exists": 409, "already_on_roster": 409, "not_on_roster": 404,
                "roster_ended": 409, "shift_started": 409}


# --- the rule ---------------------------------------------------------------------------------------------------

_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass
class SeriesData:
    """A roster's rule as a coordinator enters it (a form's or a JSON body's values, read by ``from_mapping``)."""

    frequency: str
    weekdays: tuple[str, ...]
    interval: int | None
    first_day: dt.date | None
    until: dt.date | None
    count: int | None
    start_time: str
    duration_minutes: int | None
    capacity: int | None = None
    role: str = ""
    exceptions: tuple = ()
    _invalid: tuple = ()

    @classmethod
    def from_mapping(cls, data) -> SeriesData:
        invalid = []

        def number(key):
            value = data.get(key)
            if value is None or (isinstance(value, str) and not value.strip()):
                return None
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                invalid.append(key)
                return None
            try:
                return int(value)
            except (TypeError, ValueError, OverflowError):
                invalid.append(key)
                return None

        def day(key):
            value = data.get(key)
            if value is None or value == "":
                return None
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                return value
            try:
                return dt.date.fromisoformat(str(value).strip())
            except ValueError:
                invalid.append(key)
                return None

        weekdays = data.get("weekdays") or ()
        if isinstance(weekdays, str):
            weekdays = [part for part in re.split(r"[,\s]+", weekdays) if part]
        exceptions = data.get("exceptions") or ()
        if isinstance(exceptions, str):
            exceptions = [line for line in exceptions.splitlines() if line.strip()]
        start_time = data.get("start_time")
        if isinstance(start_time, dt.time):
            start_time = start_time.strftime("%H:%M")
        return cls(frequency=str(data.get("frequency") or "").strip(),
                   weekdays=tuple(str(w).strip().upper() for w in weekdays) if isinstance(weekdays, (list, tuple))
                   else ("?",),
                   interval=number("interval"), first_day=day("first_day"), until=day("until"),
                   count=number("count"), start_time=str(start_time or "").strip(),
                   duration_minutes=number("duration_minutes"), capacity=number("capacity"),
                   role=str(data.get("role") or ""),
                   exceptions=tuple(exceptions) if isinstance(exceptions, (list, tuple)) else ("?",),
                   _invalid=tuple(invalid))


@dataclass(frozen=True)
class CleanSeries:
    """A checked rule: the columns of a ShiftSeries and every day it gives."""

    rule: str
    first_day: dt.date
    start_time: str
    duration_minutes: int
    capacity: int | None
    role: str
    exceptions: list[str]
    days: tuple[dt.date, ...]


def _rrule(rule: str, first_day: dt.date):
    return rrulestr(rule, dtstart=dt.datetime.combine(first_day, dt.time()))


def series_days(rule: str, first_day: dt.date, exceptions=()) -> list[dt.date]:
    """Every (Beijing) day of the rule from ``first_day``, without the exceptions (ISO dates)."""
    skipped = {dt.date.fromisoformat(day) if isinstance(day, str) else day for day in exceptions}
    return [moment.date() for moment in _rrule(rule, first_day) if moment.date() not in skipped]


def clean_series(data: SeriesData, *, today: dt.date, keep_first_day: dt.date | None = None) -> CleanSeries:
    """Check a roster's rule; the RRULE text and the days it gives. ``keep_first_day``: an edited roster's first
    day, which may have passed. Raises ScheduleError with the field: frequency_unknown, weekdays_required,
    weekday_unknown, interval_invalid, date_invalid, first_day_past, end_required, end_twice, count_invalid,
    until_before_first, series_too_long, start_time_invalid, duration_invalid, capacity_invalid, too_long (role),
    exception_invalid, too_many_exceptions, no_occurrences."""
    if data.frequency not in FREQUENCIES:
        raise ScheduleError("frequency_unknown", field="frequency")
    weekdays: list[str] = []
    if data.frequency == "weekly":
        if any(day not in WEEKDAYS for day in data.weekdays):
            raise ScheduleError("weekday_unknown", field="weekdays")
        weekdays = [day for day in WEEKDAYS if day in data.weekdays]
        if not weekdays:
            raise ScheduleError("weekdays_required", field="weekdays")
    interval = 1 if data.interval is None and "interval" not in data._invalid else data.interval
    if interval is None or not 1 <= interval <= INTERVAL_MAX:
        raise ScheduleError("interval_invalid", field="interval")
    if data.first_day is None:
        raise ScheduleError("date_invalid", field="first_day")
    if data.first_day < today and data.first_day != keep_first_day:
        raise ScheduleError("first_day_past", field="first_day")
    if "until" in data._invalid:
        raise ScheduleError("date_invalid", field="until")
    if "count" in data._invalid or (data.count is not None and not 1 <= data.count <= SERIES_DAYS_MAX):
        raise ScheduleError("count_invalid", field="count")
    if data.until is None and data.count is None:
        raise ScheduleError("end_required", field="until")
    if data.until is not None and data.count is not None:
        raise ScheduleError("end_twice", field="count")
    if data.until is not None and data.until < data.first_day:
        raise ScheduleError("until_before_first", field="until")
    if data.until is not None and (data.until - data.first_day).days >= SERIES_DAYS_MAX:
        raise ScheduleError("series_too_long", field="until")
    match = _TIME.match(data.start_time or "")
    if match is None:
        raise ScheduleError("start_time_invalid", field="start_time")
    if data.duration_minutes is None or not 1 <= data.duration_minutes <= SHIFT_MINUTES_MAX:
        raise ScheduleError("duration_invalid", field="duration_minutes")
    if "capacity" in data._invalid or (data.capacity is not None and not 1 <= data.capacity <= CAPACITY_MAX):
        raise ScheduleError("capacity_invalid", field="capacity")
    role = check_plain_text(data.role, field="role", error=ScheduleError)
    if len(role) > ROLE_MAX:
        raise ScheduleError("too_long", field="role", max=ROLE_MAX)
    if len(data.exceptions) > EXCEPTIONS_MAX:
        raise ScheduleError("too_many_exceptions", field="exceptions")
    exceptions = set()
    for value in data.exceptions:
        try:
            exceptions.add(value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value).strip()))
        except ValueError:
            raise ScheduleError("exception_invalid", field="exceptions") from None
    parts = [f"FREQ={'DAILY' if data.frequency == 'daily' else 'WEEKLY'}", f"INTERVAL={interval}"]
    if weekdays:
        parts.append("BYDAY=" + ",".join(weekdays))
    parts.append(f"UNTIL={data.until:%Y%m%d}" if data.until is not None else f"COUNT={data.count}")
    rule = ";".join(parts)
    iso = sorted(day.isoformat() for day in exceptions)
    days = series_days(rule, data.first_day, iso)
    if not days:
        raise ScheduleError("no_occurrences", field="first_day")
    if (days[-1] - data.first_day).days >= SERIES_DAYS_MAX:
        raise ScheduleError("series_too_long", field="count")
    return CleanSeries(rule=rule, first_day=data.first_day, start_time=data.start_time,
                       duration_minutes=data.duration_minutes, capacity=data.capacity, role=role, exceptions=iso,
                       days=tuple(days))


def shift_times(day: dt.date, start_time: str, duration_minutes: int) -> tuple[dt.datetime, dt.datetime]:
    """A roster shift's start and end (UTC) on the Beijing ``day``."""
    hours, minutes = (int(part) for part in start_time.split(":"))
    start = dt.datetime.combine(day, dt.time(hours, minutes), tzinfo=LOCAL_ZONE).astimezone(dt.UTC)
    return start, start + dt.timedelta(minutes=duration_minutes)


def series_of(series: ShiftSeries) -> list[dt.date]:
    """Every day of the roster (its exceptions skipped)."""
    return series_days(series.rule, series.first_day, series.exceptions or ())


def describe_series(series: ShiftSeries) -> str:
    """The rule in words: "Every week on Tuesday, 09:00–12:00, until 2027-12-07"."""
    values = series_values(series)
    interval = values["interval"]
    start, end = shift_times(series.first_day, series.start_time, series.duration_minutes)
    hours = f"{local(start):%H:%M}–{local(end):%H:%M}"
    if values["frequency"] == "weekly":
        names = ", ".join(str(label) for code, label in WEEKDAYS.items() if code in values["weekdays"])
        when = (_("Every week on %(days)s", days=names) if interval == 1
                else _("Every %(n)s weeks on %(days)s", n=interval, days=names))
    else:
        when = _("Every day") if interval == 1 else _("Every %(n)s days", n=interval)
    days = series_of(series)
    end_text = _("until %(day)s", day=days[-1].isoformat()) if days else ""
    return f"{when}, {hours}" + (f", {end_text}" if end_text else "")


# --- shifts -------------------------------------------------------------------------------------------------------


@dataclass
class ShiftData:
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    capacity: int | None = None
    role: str = ""
    _invalid: tuple = ()

    @classmethod
    def from_mapping(cls, data) -> ShiftData:
        invalid = []
        capacity = data.get("capacity")
        if capacity is None or (isinstance(capacity, str) and not capacity.strip()):
            capacity = None
        else:
            try:
                if isinstance(capacity, bool):
                    raise ValueError
                capacity = int(capacity)
            except (TypeError, ValueError, OverflowError):
                invalid.append("capacity")
                capacity = None
        return cls(starts_at=parse_datetime(data.get("starts_at")), ends_at=parse_datetime(data.get("ends_at")),
                   capacity=capacity, role=str(data.get("role") or ""), _invalid=tuple(invalid))


def _shifts(activity: Activity, *, open_only: bool = False) -> list[Shift]:
    query = db.select(Shift).where(Shift.activity_id == activity.id)
    if open_only:
        query = query.where(Shift.status == "open")
    return list(db.session.scalars(query.order_by(Shift.starts_at, Shift.id)))


def series_for(activity: Activity) -> ShiftSeries | None:
    """The activity's duty roster, if it has one."""
    return db.session.scalar(db.select(ShiftSeries).where(ShiftSeries.activity_id == activity.id)
                             .order_by(ShiftSeries.id).limit(1))


def _widen(activity: Activity, series: ShiftSeries | None = None, *, exact: bool = False) -> None:
    """The activity's start and end cover its open shifts (and its roster's whole span); ``exact``: they become
    that span (the automatic one-off shift was removed, so its times no longer count)."""
    db.session.flush()  # the shifts first: the one-off hook must see that the activity has several
    spans = [(shift.starts_at, shift.ends_at) for shift in _shifts(activity, open_only=True)]
    if series is not None:
        days = series_of(series)
        if days:
            spans.append(shift_times(days[0], series.start_time, series.duration_minutes))
            spans.append(shift_times(days[-1], series.start_time, series.duration_minutes))
    if not spans:
        return
    starts, ends = min(span[0] for span in spans), max(span[1] for span in spans)
    if starts < activity.starts_at or exact:
        activity.starts_at = starts
    if ends > activity.ends_at or exact:
        activity.ends_at = ends
    db.session.flush()


def add_shift(actor, activity: Activity, data: ShiftData, now: dt.datetime | None = None) -> Shift:
    """One more shift of the activity (its start and end widen to cover it). Raises Forbidden unless ``actor``
    may run the organization's activities, then activity_closed, datetime_invalid, ends_before_start,
    shift_too_long, shift_in_past, capacity_invalid, too_long (role), too_many_shifts, too_long_activity (the
    activity would span more than 31 days, or SERIES_DAYS_MAX with a roster)."""
    require("activities.manage", activity.organization, user=actor)
    now = now or utcnow()
    if edit_refusal(activity):
        raise ScheduleError(edit_refusal(activity))
    for key in ("starts_at", "ends_at"):
        if getattr(data, key) is None:
            raise ScheduleError("datetime_invalid", field=key)
    if data.ends_at <= data.starts_at:
        raise ScheduleError("ends_before_start", field="ends_at")
    if data.ends_at - data.starts_at > dt.timedelta(minutes=SHIFT_MINUTES_MAX):
        raise ScheduleError("shift_too_long", field="ends_at")
    if data.starts_at <= now:
        raise ScheduleError("shift_in_past", field="starts_at")
    if "capacity" in data._invalid or (data.capacity is not None and not 1 <= data.capacity <= CAPACITY_MAX):
        raise ScheduleError("capacity_invalid", field="capacity")
    role = check_plain_text(data.role, field="role", error=ScheduleError)
    if len(role) > ROLE_MAX:
        raise ScheduleError("too_long", field="role", max=ROLE_MAX)
    existing = _shifts(activity)
    if len(existing) >= SHIFTS_PER_ACTIVITY_MAX:
        raise ScheduleError("too_many_shifts")
    series = series_for(activity)
    limit = SERIES_DAYS_MAX if series is not None else ONE_OFF_DAYS_MAX
    starts = min([data.starts_at, activity.starts_at])
    ends = max([data.ends_at, activity.ends_at])
    if ends - starts > dt.timedelta(days=limit):
        raise ScheduleError("too_long_roster" if series is not None else "too_long_activity", field="starts_at")
    shift = Shift(activity_id=activity.id, organization_id=activity.organization_id, starts_at=data.starts_at,
                  ends_at=data.ends_at, capacity=data.capacity, role=role, status="open", created_at=now)
    db.session.add(shift)
    _widen(activity)
    record_event("shift.added", actor=actor, organization=activity.organization, target=activity, shift=shift.id,
                 starts_at=shift.starts_at.isoformat())
    return shift


def _holding(shift: Shift) -> list[Signup]:
    return list(db.session.scalars(db.select(Signup).where(Signup.shift_id == shift.id,
                                                           Signup.status.in_(("accepted", "pending", "waitlisted")))
                                   .order_by(Signup.created_at, Signup.id)))


def _cancel(actor, shift: Shift, reason: str, now: dt.datetime) -> list[Signup]:
    """Cancel the shift; everyone's place in it is released (no one moves up into a cancelled shift)."""
    shift.status = "cancelled"
    released = _holding(shift)
    for signup in released:
        signup.status = "withdrawn"
        signup.decided_at = now
        record_event("signup.released", actor=actor, organization=shift.activity.organization, target=signup,
                     activity=shift.activity.code, shift=shift.id)
    db.session.flush()
    record_event("shift.cancelled", actor=actor, organization=shift.activity.organization, target=shift.activity,
                 shift=shift.id, released=len(released), reason=reason or None)
    signals.shift_cancelled.send(shift, signups=released, reason=reason)
    return released


def cancel_shift(actor, shift: Shift, reason: str = "", now: dt.datetime | None = None) -> Shift:
    """Cancel a shift that has not started: the people signed up are released and told. Raises Forbidden unless
    ``actor`` may run the organization's activities, then text_* and too_long (the reason), shift_cancelled
    (already), shift_started."""
    require("activities.manage", shift.activity.organization, user=actor)
    now = now or utcnow()
    reason = SHIFT_CANCEL.check({"reason": reason}, error=ScheduleError)["reason"]
    if shift.status != "open":
        raise ScheduleError("shift_cancelled")
    if shift.starts_at <= now:
        raise ScheduleError("shift_started")
    _cancel(actor, shift, reason, now)
    return shift


# --- duty rosters ---------------------------------------------------------------------------------------------------


def _today(now: dt.datetime) -> dt.date:
    return local(now).date()


def _one_off_unused(activity: Activity, series: ShiftSeries) -> Shift | None:
    """The activity's automatic one-off shift when it is its only shift and nobody has used it (no sign-up, no
    scan, no attendance, no manual entry), else None."""
    shifts = _shifts(activity)
    if len(shifts) != 1 or shifts[0].series_id is not None:
        return None
    shift = shifts[0]
    if db.session.scalar(db.select(func.count()).select_from(Signup).where(Signup.shift_id == shift.id)):
        return None
    # check-in's rows name the shift; asked by table so that this part does not import check-in's (which imports
    # this one)
    for table in ("scans", "attendance_sessions", "manual_entries"):
        if db.session.execute(text(f"SELECT 1 FROM {table} WHERE shift_id = :id LIMIT 1"),  # noqa: S608
                              {"id": shift.id}).first():
            return None
    return shift


def create_series(actor, activity: Activity, data: SeriesData, now: dt.datetime | None = None) -> ShiftSeries:
    """Give the activity a duty roster: its shifts are created up to the horizon, the activity's span widens to
    the roster's, and its automatic one-off shift goes if nobody used it. Raises Forbidden unless ``actor`` may
    run the organization's activities, then activity_closed, series_exists and clean_series's codes."""
    require("activities.manage", activity.organization, user=actor)
    now = now or utcnow()
    if edit_refusal(activity):
        raise ScheduleError(edit_refusal(activity))
    if series_for(activity) is not None:
        raise ScheduleError("series_exists")
    clean = clean_series(data, today=_today(now))
    series = ShiftSeries(activity_id=activity.id, organization_id=activity.organization_id, rule=clean.rule,
                         first_day=clean.first_day, start_time=clean.start_time,
                         duration_minutes=clean.duration_minutes, capacity=clean.capacity, role=clean.role,
                         exceptions=clean.exceptions, created_by_id=actor.id, created_at=now)
    db.session.add(series)
    db.session.flush()
    unused = _one_off_unused(activity, series)
    if unused is not None:
        db.session.delete(unused)
        db.session.flush()
    created = _extend(series, now)
    _widen(activity, series, exact=unused is not None)
    record_event("series.created", actor=actor, organization=activity.organization, target=activity,
                 series=series.id, rule=series.rule, shifts=len(created))
    return series


def update_series(actor, series: ShiftSeries, data: SeriesData, now: dt.datetime | None = None) -> ShiftSeries:
    """Change a roster from now on. Its future shifts (not started at ``now``) on days the new rule still gives
    move to the new times and places in place, keeping their sign-ups (those signed up are told of a new time);
    those on days it no longer gives are cancelled and their people released and told; new days within the
    horizon get shifts. Past and running shifts never change. Raises Forbidden, activity_closed and
    clean_series's codes."""
    activity = series.activity
    require("activities.manage", activity.organization, user=actor)
    now = now or utcnow()
    if edit_refusal(activity):
        raise ScheduleError(edit_refusal(activity))
    clean = clean_series(data, today=_today(now), keep_first_day=series.first_day)
    before = (series.rule, series.first_day, series.start_time, series.duration_minutes, series.capacity,
              series.role, list(series.exceptions or ()))
    series.rule, series.first_day, series.start_time = clean.rule, clean.first_day, clean.start_time
    series.duration_minutes, series.capacity, series.role = clean.duration_minutes, clean.capacity, clean.role
    series.exceptions, series.updated_at = clean.exceptions, now
    days = set(clean.days)
    moved = cancelled = 0
    future = db.session.scalars(db.select(Shift).where(Shift.series_id == series.id, Shift.status == "open",
                                                       Shift.starts_at > now).order_by(Shift.starts_at))
    for shift in list(future):
        if shift.occurrence not in days:
            _cancel(actor, shift, _("The roster changed: this day is no longer one of its days."), now)
            cancelled += 1
            continue
        starts, ends = shift_times(shift.occurrence, clean.start_time, clean.duration_minutes)
        previous = shift.starts_at
        grew = clean.capacity is None or (shift.capacity is not None and clean.capacity > shift.capacity)
        changed_time = (starts, ends) != (shift.starts_at, shift.ends_at)
        shift.starts_at, shift.ends_at = starts, ends
        shift.capacity, shift.role = clean.capacity, clean.role
        db.session.flush()
        if grew:
            while move_up(shift, now) is not None:
                pass
        if changed_time:
            moved += 1
            holding = _holding(shift)
            if holding:
                signals.shift_changed.send(shift, signups=holding, previous_start=previous)
    created = _extend(series, now)
    _widen(activity, series)
    record_event("series.updated", actor=actor, organization=activity.organization, target=activity,
                 series=series.id, rule=series.rule, previous_rule=before[0], moved=moved, cancelled=cancelled,
                 created=len(created))
    return series


def _extend(series: ShiftSeries, now: dt.datetime) -> list[Shift]:
    """Create the roster's shifts not yet made, up to the horizon (starting after ``now``), and sign its members
    up for them."""
    activity = series.activity
    if activity.status == "closed":
        return []
    horizon = _today(now) + dt.timedelta(days=HORIZON_DAYS)
    made = set(db.session.scalars(db.select(Shift.occurrence).where(Shift.series_id == series.id)))
    created = []
    for day in series_of(series):
        if day > horizon:
            break
        if day in made:
            continue
        starts, ends = shift_times(day, series.start_time, series.duration_minutes)
        if starts <= now:
            continue
        shift = Shift(activity_id=activity.id, organization_id=series.organization_id, series_id=series.id,
                      occurrence=day, starts_at=starts, ends_at=ends, capacity=series.capacity, role=series.role,
                      status="open", created_at=now)
        db.session.add(shift)
        created.append(shift)
    if not created:
        return created
    db.session.flush()
    if activity.status == "published":
        members = list(db.session.scalars(db.select(RosterMember).where(RosterMember.series_id == series.id,
                                                                        RosterMember.status == "active")
                                          .order_by(RosterMember.joined_at, RosterMember.id)))
        for shift in created:
            for member in members:
                signup = place_in_shift(None, activity, shift, member.volunteer, None, now, announce=False)
                if signup.status == "waitlisted":  # a full shift: they should know they have no place yet
                    signals.signup_decided.send(signup)
    return created


def extend_horizons(now: dt.datetime | None = None) -> int:
    """Every roster's shifts up to HORIZON_DAYS ahead of ``now``, its members signed up for the new ones (run daily:
    ``flask shifts extend``; running it again the same day creates nothing). How many shifts were created."""
    now = now or utcnow()
    total = 0
    rosters = db.session.scalars(db.select(ShiftSeries).join(Activity, Activity.id == ShiftSeries.activity_id)
                                 .where(Activity.status != "closed").order_by(ShiftSeries.id))
    for series in list(rosters):
        created = _extend(series, now)
        if created:
            _widen(series.activity, series)
            record_event("series.extended", organization=series.activity.organization, target=series.activity,
                         series=series.id, shifts=len(created))
        total += len(created)
    return total


def roster_member(series: ShiftSeries, volunteer) -> RosterMember | None:
    if volunteer is None:
        return None
    return db.session.scalar(db.select(RosterMember).where(RosterMember.series_id == series.id,
                                                           RosterMember.volunteer_id == volunteer.id))


def _future_shifts(series: ShiftSeries, now: dt.datetime) -> list[Shift]:
    return list(db.session.scalars(db.select(Shift).where(Shift.series_id == series.id, Shift.status == "open",
                                                          Shift.starts_at > now).order_by(Shift.starts_at)))


def _volunteer(user):
    volunteer = volunteer_for_user(user)
    if volunteer is None:
        raise ScheduleError("volunteer_profile_required")
    return volunteer


def join_roster(user, series: ShiftSeries, now: dt.datetime | None = None) -> RosterMember:
    """The volunteer joins the roster: signed up for each of its open future shifts now (waitlisted where full)
    and for each one the horizon adds later, until they leave. Raises volunteer_profile_required, then
    activities.rules.roster_refusal's codes: activity_not_published, recruitment_closed, roster_ended,
    already_on_roster."""
    now = now or utcnow()
    volunteer = _volunteer(user)
    activity = series.activity
    member = roster_member(series, volunteer)
    shifts = _future_shifts(series, now)
    has_future = bool(shifts) or any(shift_times(day, series.start_time, series.duration_minutes)[0] > now
                                     for day in series_of(series)[-1:])
    refusal = roster_refusal(activity, member, has_future)
    if refusal is not None:
        raise ScheduleError(refusal)
    if member is None:
        member = RosterMember(series_id=series.id, volunteer_id=volunteer.id)
        db.session.add(member)
    member.status, member.joined_at, member.left_at = "active", now, None
    db.session.flush()
    places = 0
    for shift in shifts:
        signup = db.session.scalar(db.select(Signup).where(Signup.shift_id == shift.id,
                                                           Signup.volunteer_id == volunteer.id))
        if holds_place(signup):
            continue
        place_in_shift(user, activity, shift, volunteer, signup, now, announce=False)
        places += 1
    record_event("roster.joined", actor=user, organization=activity.organization, target=activity,
                 series=series.id, signups=places)
    return member


def leave_roster(user, series: ShiftSeries, now: dt.datetime | None = None) -> RosterMember:
    """The volunteer leaves the roster: their places in its shifts not yet started are withdrawn (the first on
    each waiting list moves up). Raises volunteer_profile_required, not_on_roster."""
    now = now or utcnow()
    volunteer = _volunteer(user)
    member = roster_member(series, volunteer)
    if member is None or member.status != "active":
        raise ScheduleError("not_on_roster")
    withdrawn = 0
    for shift in _future_shifts(series, now):
        signup = db.session.scalar(db.select(Signup).where(Signup.shift_id == shift.id,
                                                           Signup.volunteer_id == volunteer.id))
        if holds_place(signup):
            release(user, signup, now)
            withdrawn += 1
    member.status, member.left_at = "left", now
    db.session.flush()
    record_event("roster.left", actor=user, organization=series.activity.organization, target=series.activity,
                 series=series.id, withdrawn=withdrawn)
    return member



def series_values(series: ShiftSeries) -> dict:
    """The roster's rule as its form's values (the opposite of SeriesData.from_mapping)."""
    parts = dict(part.split("=", 1) for part in series.rule.split(";") if "=" in part)
    until = parts.get("UNTIL")
    hours, minutes = (int(part) for part in series.start_time.split(":"))
    return {"frequency": "weekly" if parts.get("FREQ") == "WEEKLY" else "daily",
            "weekdays": [day for day in parts.get("BYDAY", "").split(",") if day],
            "interval": int(parts.get("INTERVAL", 1)), "first_day": series.first_day,
            "until": dt.datetime.strptime(until[:8], "%Y%m%d").date() if until else None,
            "count": int(parts["COUNT"]) if "COUNT" in parts else None, "start_time": dt.time(hours, minutes),
            "duration_minutes": series.duration_minutes, "capacity": series.capacity, "role": series.role,
            "exceptions": "\n".join(series.exceptions or ())}


def next_days(series: ShiftSeries, now: dt.datetime, limit: int = 5) -> list[dt.datetime]:
    """The starts (UTC) of the roster's next ``limit`` shifts after ``now``, by its rule."""
    found = []
    for day in series_of(series):
        starts = shift_times(day, series.start_time, series.duration_minutes)[0]
        if starts > now:
            found.append(starts)
            if len(found) == limit:
                break
    return found
