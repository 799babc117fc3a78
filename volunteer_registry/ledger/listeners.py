"""The ledger's receivers: a closed attendance session becomes a service entry; an organization's page is told how
many of its entries wait for a decision."""
from __future__ import annotations

from .. import signals
from .models import LedgerEntry
from .queries import pending_counts
from .services import record_session


def record_closed_session(session, *, actor=None, just_closed: bool = False, **_facts) -> LedgerEntry:
    """The session's service entry, waiting for approval (see services.record_session); returned to the sender."""
    return record_session(session, actor, just_closed=just_closed)


def organization_figures(org, **_facts) -> dict:
    """The ledger's figure on the organization's page: its service entries waiting for a decision."""
    return {"pending_entries": pending_counts([org.id])}


def connect() -> None:
    """Connect the part's receivers (idempotent)."""
    signals.session_closed.connect(record_closed_session)
    signals.organization_figures_wanted.connect(organization_figures)
