"""The ledger's receivers: a closed attendance session becomes a service entry."""
from __future__ import annotations

from .. import signals
from .models import LedgerEntry
from .services import record_session


def record_closed_session(session, *, actor=None, just_closed: bool = False, **_facts) -> LedgerEntry:
    """The session's service entry, waiting for approval (see services.record_session); returned to the sender."""
    return record_session(session, actor, just_closed=just_closed)


def connect() -> None:
    """Connect the part's receivers (idempotent)."""
    signals.session_closed.connect(record_closed_session)
