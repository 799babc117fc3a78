"""Read helpers for the check-in pages: the coordinator's view of the day, sessions and manual entries."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func

from ..accounts.models import User
from ..activities.models import Activity
from ..errors import NotFound
from ..extensions import db
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
