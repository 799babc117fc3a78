"""The rule of a scan as a pure function of its facts (pretix's check-in): :func:`scan_decision` answers whether a
scan is accepted, as which direction, or with which refusal code (CheckInError's codes). Nothing here reads the
database: :func:`~.services.record_scan` gathers the facts (the volunteer's open session, then one query for the
rest, and only when no earlier refusal applies), asks here, then writes.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..activities.models import Activity, Shift
from ..activities.rules import scan_refusal
from ..timeutil import local
from .models import AttendanceSession


@dataclass(frozen=True)
class ScanFacts:
    """What decides a scan.

    ``problem``: a refusal already found about who scanned (kiosk_qr_stale, kiosk_qr_forged, volunteer_unknown,
    volunteer_profile_required); the facts about the person are then not gathered. ``shift``: the shift the scan
    is for (the one on at ``moment``, or the nearest); None: the activity's own times count. ``offline_age``: how long a
    queued scan waited before it arrived (None for a live scan). ``signed_up``: the volunteer holds an accepted
    place. ``open_session``: their latest session at the activity still open. ``session_starts``: when their
    sessions at the activity that began within a day of ``moment`` began."""

    activity: Activity
    moment: dt.datetime
    direction: str
    offline_max_age: dt.timedelta
    sessions_per_day: int
    problem: str | None = None
    shift: Shift | None = None
    offline_age: dt.timedelta | None = None
    signed_up: bool = False
    open_session: AttendanceSession | None = None
    session_starts: tuple[dt.datetime, ...] = ()


@dataclass(frozen=True)
class ScanDecision:
    """A refusal code, or the accepted direction ("in" or "out") and the session a check-out closes."""

    refusal: str | None = None
    direction: str | None = None
    session: AttendanceSession | None = None


def window_refusal(activity: Activity, moment: dt.datetime, shift: Shift | None = None) -> str | None:
    """Why the activity takes no scan at ``moment``: the activity's state (activities.rules.scan_refusal), then
    shift_cancelled, then activity_not_started or activity_ended outside the shift's times (the activity's when no
    shift is given) widened by the grace period; None otherwise."""
    refusal = scan_refusal(activity)
    if refusal is not None:
        return refusal
    if shift is not None and shift.status != "open":
        return "shift_cancelled"
    span = shift or activity
    grace = dt.timedelta(minutes=activity.grace_minutes)
    if moment < span.starts_at - grace:
        return "activity_not_started"
    if moment > span.ends_at + grace:
        return "activity_ended"
    return None


def sessions_on_day(starts, moment: dt.datetime) -> int:
    """How many of the sessions that began at ``starts`` began on the (Beijing) day of ``moment``."""
    day = local(moment).date()
    return sum(1 for start in starts if local(start).date() == day)


def early_refusal(facts: ScanFacts) -> str | None:
    """The refusals that need no facts about the volunteer's sign-up and sessions: the ``problem`` about who
    scanned, offline_too_old, then the activity's state and times (:func:`window_refusal`). When there is one,
    those facts need not be gathered."""
    if facts.problem is not None:
        return facts.problem
    if facts.offline_age is not None and facts.offline_age > facts.offline_max_age:
        return "offline_too_old"
    return window_refusal(facts.activity, facts.moment, facts.shift)


def scan_decision(facts: ScanFacts) -> ScanDecision:
    """The scan's outcome. Refusals, first found first: :func:`early_refusal`, not_signed_up (unless the activity
    allows walk-ins), then by direction already_checked_in, too_many_sessions (check-ins per Beijing day),
    not_checked_in, check_out_before_check_in."""
    refusal = early_refusal(facts)
    if refusal is not None:
        return ScanDecision(refusal=refusal)
    if not facts.activity.allows_walk_ins and not facts.signed_up:
        return ScanDecision(refusal="not_signed_up")
    current = facts.open_session
    direction = facts.direction if facts.direction != "auto" else ("out" if current else "in")
    if direction == "in":
        if current is not None:
            return ScanDecision(refusal="already_checked_in")
        if sessions_on_day(facts.session_starts, facts.moment) >= facts.sessions_per_day:
            return ScanDecision(refusal="too_many_sessions")
        return ScanDecision(direction="in")
    if current is None:
        return ScanDecision(refusal="not_checked_in")
    if facts.moment < current.checked_in_at:
        return ScanDecision(refusal="check_out_before_check_in")
    return ScanDecision(direction="out", session=current)
