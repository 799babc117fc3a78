"""The correction requests' table: a workflow beside the ledger (its status changes; what it leads to is appended
to the ledger)."""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models import UTCDateTime, utcnow


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


CORRECTION_KINDS = {"error": _l("An error in a record"), "omission": _l("Service that is missing")}
CORRECTION_STATUSES = {"pending": _l("Waiting for the organization"), "accepted": _l("Corrected"),
                       "declined": _l("Declined")}


class CorrectionRequest(db.Model):
    """A volunteer reports an error in an entry or service that was never recorded; the organization decides, and
    an accepted request becomes a ledger entry (a correction, or a service entry waiting for approval). This is a
    workflow, not the ledger: its status changes; what it leads to is appended to the ledger."""

    __tablename__ = "correction_requests"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(CORRECTION_KINDS)})", name="kind"),
        CheckConstraint(f"status IN ({_in(CORRECTION_STATUSES)})", name="status"),
        CheckConstraint("(kind = 'error') = (entry_id IS NOT NULL)", name="error_names_entry"),
        CheckConstraint("claimed_minutes IS NULL OR claimed_minutes >= 0", name="claimed_minutes"),
        CheckConstraint("ended_at IS NULL OR started_at IS NULL OR ended_at > started_at", name="ends_after_start"),
        Index("ix_correction_requests_organization_id_status", "organization_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))  #: the entry in error
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"))  #: where the missing service was
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  #: missing service: when
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    claimed_minutes: Mapped[int | None]  #: an error: the minutes the volunteer says are right
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    response: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    result_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    volunteer = relationship("Volunteer")
    organization = relationship("Organization")
    activity = relationship("Activity")
    entry = relationship("LedgerEntry", foreign_keys=[entry_id])

    @property
    def kind_label(self) -> str:
        return str(CORRECTION_KINDS.get(self.kind, self.kind))

    @property
    def status_label(self) -> str:
        return str(CORRECTION_STATUSES.get(self.status, self.status))
