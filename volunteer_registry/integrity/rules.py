"""The rules of honest recording as pure functions of the facts, and their limits (declared once, here).

Nothing here reads the database or the request: the services gather the facts, decide here, then write.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app, has_app_context

#: the limits, each a configuration key with its default (DESIGN.md, issue 16)
LIMITS = {
    "INTEGRITY_DAILY_CAP_HOURS": 16,  #: at most this many approved hours one volunteer serves in one (Beijing) day
    "INTEGRITY_OFFLINE_MAX_AGE_HOURS": 72,  #: a device's queued scan older than this when it arrives is refused
    "INTEGRITY_SESSIONS_PER_DAY": 3,  #: check-in/check-out pairs per volunteer, per activity, per day
}


def limit(name: str) -> float:
    """The limit ``name`` (a key of :data:`LIMITS`) as configured, or its default."""
    value = current_app.config.get(name) if has_app_context() else None
    return LIMITS[name] if value in (None, "") else float(value)


def daily_cap_minutes() -> int:
    return int(limit("INTEGRITY_DAILY_CAP_HOURS") * 60)


def offline_max_age() -> dt.timedelta:
    return dt.timedelta(hours=limit("INTEGRITY_OFFLINE_MAX_AGE_HOURS"))


def sessions_per_day() -> int:
    return int(limit("INTEGRITY_SESSIONS_PER_DAY"))


@dataclass(frozen=True)
class DecisionFacts:
    """What decides whether a person may decide about a record.

    ``volunteer_user_id``: the account of the volunteer whose record it is (None: the volunteer has no account).
    ``recorded_by``: the accounts that put the record there (scanned it, entered it, fixed it, proposed the
    correction, created its retroactive activity). ``needs_review``: the record is one that a second person must
    check (a back-dated or offline scan, a manual entry, a fixed check-out, a correction, an entry of a
    retroactive activity)."""

    actor_id: int
    volunteer_user_id: int | None
    recorded_by: frozenset[int] = frozenset()
    needs_review: bool = False


def decision_refusal(facts: DecisionFacts) -> str | None:
    """Why the actor may not decide this record, as a code, or None.

    ``conflict_of_interest``: the record is the actor's own service. ``own_recording``: the record needs review
    and the actor is among those who recorded it."""
    if facts.volunteer_user_id is not None and facts.actor_id == facts.volunteer_user_id:
        return "conflict_of_interest"
    if facts.needs_review and facts.actor_id in facts.recorded_by:
        return "own_recording"
    return None


def may_decide(candidate_id: int, facts: DecisionFacts) -> bool:
    """Whether ``candidate_id`` (another staff member) could decide the record described by ``facts``."""
    return decision_refusal(DecisionFacts(candidate_id, facts.volunteer_user_id, facts.recorded_by,
                                          facts.needs_review)) is None


#: flags on a session or an entry that make it one a second person must check
REVIEW_FLAGS = frozenset({"offline", "clock_skew", "manual", "corrected", "retroactive", "overlap", "long_day",
                          "outside_radius", "too_long", "auto_closed", "static_qr"})


def needs_review(source: str | None, flags) -> bool:
    """A record that a second person must check: entered by hand, sent from a device's offline queue, or carrying
    any flag of :data:`REVIEW_FLAGS`."""
    return source in ("manual", "offline") or bool(REVIEW_FLAGS.intersection(flags or ()))


def overlap(a_start: dt.datetime, a_end: dt.datetime, b_start: dt.datetime, b_end: dt.datetime) -> bool:
    """Whether two service intervals share any time (touching ends do not)."""
    return a_start < b_end and b_start < a_end
