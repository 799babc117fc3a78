"""Read helpers for the check-in pages: the coordinator's view of the day, sessions and manual entries, the shift a
page is for and who is in it, and an organization's week of shifts (the stations view)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func

from ..accounts.models import User
from ..activities.models import Activity, Shift, Signup
from ..errors import NotFound
from ..extensions import db
from ..timeutil import LOCAL_ZONE, local
from ..volunteers.models import Volunteer
from .models import FLAGS, AttendanceSession, ManualEntry, Scan
from .services import CheckInError, served_minutes


def session_in(activity: Activity, session_id: int) -> AttendanceSession:
    """A session of this activity; another activity's session does not exist here. Raises NotFound."""
    session = db.session.get(AttendanceSession, session_id)
    if session is None or session.activity_id != activity.id:
        raise NotFound("not_found")
    return session


def manual_entry_in(activity: Activity, entry_id: int) -> ManualEntry:
    """A manual entry of this activity. Raises NotFound."""
    entry = db.session.get(ManualEntry, entry_id)
    if entry is None or entry.activity_id != activity.id:
        raise NotFound("not_found")
    return entry


def present_count(activity: Activity) -> int:
    """How many volunteers are checked in now."""
    return db.session.scalar(db.select(func.count(func.distinct(AttendanceSession.volunteer_id))).where(
        AttendanceSession.activity_id == activity.id, AttendanceSession.checked_out_at.is_(None))) or 0


def flag_labels(flags) -> list[str]:
    return [str(FLAGS.get(flag, flag)) for flag in flags or ()]


@dataclass
class GoneRow:
    """A volunteer who came and left: their sessions and the minutes they count for (the union of sessions)."""

    volunteer: Volunteer
    sessions: list[AttendanceSession]
    minutes: int

    @property
    def first_in(self) -> dt.datetime:
        return min(s.checked_in_at for s in self.sessions)

    @property
    def last_out(self) -> dt.datetime:
        return max(s.checked_out_at for s in self.sessions)


@dataclass
class RefusedRow:
    scan: Scan
    reason: str
    volunteer: Volunteer | None


@dataclass
class DayView:
    present: list[AttendanceSession] = field(default_factory=list)
    gone: list[GoneRow] = field(default_factory=list)
    refused: list[RefusedRow] = field(default_factory=list)
    flagged: list[tuple[AttendanceSession, list[str]]] = field(default_factory=list)
    fixable_ids: set[int] = field(default_factory=set)  #: open or auto-closed sessions: "fix check-out"


def day_view(activity: Activity) -> DayView:
    """Everything the coordinator's view of the day shows, computed here so the template only displays."""
    sessions = db.session.scalars(db.select(AttendanceSession).where(
        AttendanceSession.activity_id == activity.id).order_by(AttendanceSession.checked_in_at)).all()
    view = DayView()
    view.present = [s for s in sessions if s.is_open]
    present_ids = {s.volunteer_id for s in view.present}
    by_volunteer: dict[int, list[AttendanceSession]] = {}
    for s in sessions:
        if not s.is_open and s.volunteer_id not in present_ids:
            by_volunteer.setdefault(s.volunteer_id, []).append(s)
    view.gone = sorted((GoneRow(group[0].volunteer, group, served_minutes(activity.id, vid))
                        for vid, group in by_volunteer.items()), key=lambda row: row.last_out, reverse=True)
    view.flagged = [(s, flag_labels(s.flags)) for s in sessions if s.flags]
    view.fixable_ids = {s.id for s in sessions if s.is_open or "auto_closed" in (s.flags or ())}
    scans = db.session.scalars(db.select(Scan).where(Scan.activity_id == activity.id, Scan.accepted.is_(False))
                               .order_by(Scan.id.desc())).all()
    view.refused = [RefusedRow(scan, CheckInError(scan.refusal_code, minutes=activity.grace_minutes).message,
                               scan.volunteer) for scan in scans]
    return view


@dataclass
class EntryRow:
    entry: ManualEntry
    entered_by: str
    decided_by: str | None
    is_own: bool


def manual_entries(activity: Activity, user) -> list[EntryRow]:
    """The activity's manual entries, pending first, with who entered and decided them."""
    entries = db.session.scalars(db.select(ManualEntry).where(ManualEntry.activity_id == activity.id).order_by(
        (ManualEntry.status != "pending"), ManualEntry.id.desc())).all()
    ids = {e.entered_by_id for e in entries} | {e.decided_by_id for e in entries if e.decided_by_id}
    people = {u.id: u.identifier for u in db.session.scalars(db.select(User).where(User.id.in_(ids)))} if ids else {}
    return [EntryRow(e, people.get(e.entered_by_id, "?"), people.get(e.decided_by_id) if e.decided_by_id else None,
                     e.entered_by_id == user.id) for e in entries]


# --- shifts: the one a page is for, who is in it, and the organization's week -----------------------------------

def shift_in(activity: Activity, shift_id: int) -> Shift:
    """A shift of this activity; another activity's shift does not exist here. Raises NotFound."""
    shift = db.session.get(Shift, shift_id)
    if shift is None or shift.activity_id != activity.id:
        raise NotFound("not_found")
    return shift


def current_shift(activity: Activity, now: dt.datetime) -> Shift | None:
    """The shift a check-in page is for by default: the open one on at ``now`` (within the grace period), else
    the next open one, else the last one. None only for an activity without shifts."""
    grace = dt.timedelta(minutes=activity.grace_minutes)
    base = db.select(Shift).where(Shift.activity_id == activity.id)
    on_now = db.session.scalar(base.where(Shift.status == "open", Shift.starts_at <= now + grace,
                                          Shift.ends_at >= now - grace).order_by(Shift.starts_at, Shift.id).limit(1))
    if on_now is not None:
        return on_now
    later = db.session.scalar(base.where(Shift.status == "open", Shift.starts_at > now)
                              .order_by(Shift.starts_at, Shift.id).limit(1))
    return later or db.session.scalar(base.order_by(Shift.ends_at.desc(), Shift.id.desc()).limit(1))


def shift_is_on(shift: Shift, activity: Activity, now: dt.datetime) -> bool:
    """Whether scans for ``shift`` are taken at ``now``: open, and within its times widened by the grace period."""
    grace = dt.timedelta(minutes=activity.grace_minutes)
    return shift.status == "open" and shift.starts_at - grace <= now <= shift.ends_at + grace


def shifts_around(activity: Activity, shift: Shift | None, limit: int = 30) -> list[Shift]:
    """The activity's shifts on the (Beijing) day of ``shift``, for a page's shift picker and the day view."""
    if shift is None:
        return []
    day = local(shift.starts_at).date()
    start = dt.datetime.combine(day, dt.time(), LOCAL_ZONE).astimezone(dt.UTC)
    return list(db.session.scalars(db.select(Shift).where(
        Shift.activity_id == activity.id, Shift.starts_at >= start, Shift.starts_at < start + dt.timedelta(days=1))
        .order_by(Shift.starts_at, Shift.id).limit(limit)))


@dataclass
class RosterRow:
    """A volunteer with an accepted place in a shift, and where they are in it: "present" (an open session of the
    shift), "left" (sessions of the shift, all closed) or "expected"."""

    volunteer: Volunteer
    state: str


@dataclass
class ShiftRoster:
    shift: Shift
    rows: list[RosterRow]
    open_places: int | None  #: None: no limit


def shift_rosters(activity: Activity, shifts: list[Shift]) -> list[ShiftRoster]:
    """Each shift's signed-up volunteers with their state and the places left: one query for the sign-ups of all
    the shifts, one for the sessions."""
    ids = [shift.id for shift in shifts]
    if not ids:
        return []
    signups = db.session.execute(db.select(Signup.shift_id, Volunteer).join(Volunteer, Volunteer.id ==
                                                                            Signup.volunteer_id)
                                 .where(Signup.shift_id.in_(ids), Signup.status == "accepted")
                                 .order_by(Volunteer.name, Volunteer.id)).all()
    volunteer_ids = {volunteer.id for _shift_id, volunteer in signups}
    sessions = db.session.execute(db.select(AttendanceSession.volunteer_id, AttendanceSession.shift_id,
                                            AttendanceSession.checked_out_at).where(
        AttendanceSession.activity_id == activity.id,
        AttendanceSession.volunteer_id.in_(volunteer_ids))).all() if volunteer_ids else []
    # a session without a shift (recorded before shifts existed) counts for every shift of the activity
    present = {(row.volunteer_id, row.shift_id) for row in sessions if row.checked_out_at is None}
    came = {(row.volunteer_id, row.shift_id) for row in sessions}
    by_shift: dict[int, list[RosterRow]] = {shift_id: [] for shift_id in ids}
    for shift_id, volunteer in signups:
        state = ("present" if {(volunteer.id, shift_id), (volunteer.id, None)} & present
                 else "left" if {(volunteer.id, shift_id), (volunteer.id, None)} & came else "expected")
        by_shift[shift_id].append(RosterRow(volunteer, state))
    return [ShiftRoster(shift, by_shift[shift.id],
                        None if shift.capacity is None else max(shift.capacity - len(by_shift[shift.id]), 0))
            for shift in shifts]


@dataclass
class StationShift:
    """A shift on the stations view: who is coming, places left, the waiting list, and whether it is on now."""

    shift: Shift
    activity: Activity
    names: list[str]
    open_places: int | None
    waiting: int
    on_now: bool


@dataclass
class StationDay:
    day: dt.date
    shifts: list[StationShift]


def week_start(day: dt.date) -> dt.date:
    """The Monday of ``day``'s week."""
    return day - dt.timedelta(days=day.weekday())


def stations_week(org, monday: dt.date, now: dt.datetime) -> list[StationDay]:
    """The week (Monday to Sunday, Beijing time) of ``org``'s published activities' shifts, by day: one query for
    the shifts with their activities, one for the sign-ups of all of them."""
    start = dt.datetime.combine(monday, dt.time(), LOCAL_ZONE).astimezone(dt.UTC)
    rows = db.session.execute(db.select(Shift, Activity).join(Activity, Activity.id == Shift.activity_id).where(
        Shift.organization_id == org.id, Activity.organization_id == org.id, Activity.status == "published",
        Shift.status == "open", Shift.starts_at >= start, Shift.starts_at < start + dt.timedelta(days=7))
        .order_by(Shift.starts_at, Shift.id)).all()
    ids = [shift.id for shift, _activity in rows]
    names: dict[int, list[str]] = {shift_id: [] for shift_id in ids}
    waiting: dict[int, int] = dict.fromkeys(ids, 0)
    if ids:
        for shift_id, status, name in db.session.execute(
                db.select(Signup.shift_id, Signup.status, Volunteer.name)
                .join(Volunteer, Volunteer.id == Signup.volunteer_id)
                .where(Signup.shift_id.in_(ids), Signup.status.in_(("accepted", "waitlisted")))
                .order_by(Signup.created_at, Signup.id)):
            if status == "accepted":
                names[shift_id].append(name)
            else:
                waiting[shift_id] += 1
    days = [StationDay(monday + dt.timedelta(days=offset), []) for offset in range(7)]
    for shift, activity in rows:
        index = (local(shift.starts_at).date() - monday).days
        days[index].shifts.append(StationShift(
            shift, activity, names[shift.id],
            None if shift.capacity is None else max(shift.capacity - len(names[shift.id]), 0),
            waiting[shift.id], shift_is_on(shift, activity, now)))
    return days
