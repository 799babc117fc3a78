"""The exchange part's receivers: every flush writes the feed's events of what it wrote (in its transaction), an
anonymised volunteer becomes an anonymise event, and the periodic batch numbers the committed events."""
from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from .. import signals
from .feed import record_anonymised, sequence_events, write_events_of_flush


def on_volunteer_anonymised(volunteer, **_facts) -> None:
    record_anonymised(volunteer)


def on_batch_due(_sender, **_facts) -> int:
    """The ledger's periodic batch numbers the events committed since the last (its caller commits). Returns 0:
    it closed no sessions."""
    sequence_events()
    return 0


def connect() -> None:
    """Connect the part's receivers (idempotent)."""
    if not event.contains(Session, "after_flush", write_events_of_flush):
        event.listen(Session, "after_flush", write_events_of_flush)
    signals.volunteer_anonymised.connect(on_volunteer_anonymised)
    signals.batch_due.connect(on_batch_due)
