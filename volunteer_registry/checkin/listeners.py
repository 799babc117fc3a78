"""The check-in part's receivers: sessions close when their activity closes or has ended, and check-in tells the
ledger who recorded a session."""
from __future__ import annotations

from .. import signals
from ..extensions import db
from .models import ManualEntry, Scan
from .services import close_ended_activities, close_open_sessions


def close_sessions_of(activity, *, now=None, **_facts) -> None:
    """A closed activity's sessions still open are closed at its end (flagged auto_closed) and become entries."""
    close_open_sessions(activity, now=now)


def close_ended(_sender, *, now=None, **_facts) -> int:
    """The periodic batch: the open sessions of every activity whose end plus grace period has passed are closed.
    Returns how many."""
    return close_ended_activities(now)


def recorders_of(_sender, *, session_ids, **_facts) -> dict[int, set[int]]:
    """Session id → the users who recorded it: who scanned it in or out (accepted scans) and who entered it by
    hand. Two queries, however many sessions."""
    recorders: dict[int, set[int]] = {}
    for session_id, user_id in db.session.execute(db.select(Scan.session_id, Scan.recorded_by_id).where(
            Scan.session_id.in_(session_ids), Scan.accepted.is_(True))):
        recorders.setdefault(session_id, set()).add(user_id)
    for session_id, user_id in db.session.execute(db.select(ManualEntry.session_id, ManualEntry.entered_by_id).where(
            ManualEntry.session_id.in_(session_ids))):
        recorders.setdefault(session_id, set()).add(user_id)
    return recorders


def connect() -> None:
    """Connect the part's receivers (idempotent)."""
    signals.activity_closed.connect(close_sessions_of)
    signals.batch_due.connect(close_ended)
    signals.session_recorders_wanted.connect(recorders_of)
