"""The ledger's tables.

``ledger_entries``, ``ledger_leaves`` and ``ledger_checkpoints`` are append-only (the database refuses UPDATE and
DELETE). ``ledger_states`` is not part of the ledger: it is a projection of it (each service entry's current status
and minutes), kept up to date by the services so that pages and totals never fold the whole ledger; `flask ledger
verify` recomputes it from the entries.
"""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..activities.schemas import ADDRESS_MAX, PERSON_IN_CHARGE_MAX, RECIPIENT_MAX, TITLE_MAX
from ..extensions import db
from ..models import UTCDateTime, make_append_only, utcnow

#: what each flag of a session or an entry means (check-in sets the first ones, the ledger the last three)
FLAGS = {
    "offline": _l("Scanned offline"),
    "outside_radius": _l("Outside the activity's area"),
    "clock_skew": _l("Device clock differs by more than two minutes"),
    "auto_closed": _l("Never checked out: closed at the activity's end"),
    "too_long": _l("Longer than the session cap"),
    "corrected": _l("Check-out corrected by a coordinator"),
    "manual": _l("Entered by hand"),
    "retroactive": _l("Activity recorded after it started (补录)"),
    "overlap": _l("Overlaps another activity's service of this volunteer"),
    "long_day": _l("More hours in one day than the daily cap"),
    "static_qr": _l("Checked in at a service point's printed QR"),
}

ENTRY_KINDS = {
    "service": _l("Service recorded"),
    "approval": _l("Approved"),
    "rejection": _l("Rejected"),
    "correction": _l("Corrected"),
    "annulment": _l("Annulled"),
    "certificate": _l("Certificate issued"),
    "revocation": _l("Certificate revoked"),
}
#: the kinds that decide about an earlier service entry (``refers_to_id``)
DECISIONS = ("approval", "rejection", "correction", "annulment")
#: the kinds that stand alone; every other kind refers to an earlier entry (a revocation: to the issuing entry)
ORIGINS = ("service", "certificate")
SOURCES = {"kiosk": _l("Kiosk QR"), "card": _l("Volunteer card"), "offline": _l("Offline scan"),
           "manual": _l("Entered by hand")}
STATES = {"pending": _l("Waiting for approval"), "approved": _l("Approved"), "rejected": _l("Rejected"),
          "annulled": _l("Annulled")}
#: the states whose minutes count, or may yet count: approved, and waiting for approval
LIVE_STATES = ("pending", "approved")


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class LedgerEntry(db.Model):
    """One fact of a volunteer's service record, never changed: a session served, or a decision about one, or a
    certificate issued (its minutes: the minutes it certifies) or revoked.

    A service entry snapshots the service record (activity, date, place, recipient, content, minutes, organization,
    person in charge, recorder, source) as it was when recorded. A decision refers to the service entry it decides
    about; a correction carries the new minutes."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(ENTRY_KINDS)})", name="kind"),
        CheckConstraint(f"(kind IN ({_in(ORIGINS)})) = (refers_to_id IS NULL)", name="decisions_refer"),
        CheckConstraint("(kind IN ('certificate', 'revocation')) = (certificate_code IS NOT NULL)",
                        name="certificate_code"),
        CheckConstraint("minutes IS NULL OR minutes >= 0", name="minutes"),
        CheckConstraint(f"source IS NULL OR source IN ({_in(SOURCES)})", name="source"),
        Index("ix_ledger_entries_session_service", "session_id", unique=True,
              sqlite_where=db.text("kind = 'service'"), postgresql_where=db.text("kind = 'service'")),
        Index("ix_ledger_entries_volunteer_id_id", "volunteer_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)  #: the recorder
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"))
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("shifts.id"))  #: the shift served (service entries)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("attendance_sessions.id"))
    refers_to_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    minutes: Mapped[int | None]  #: service: the minutes served; correction: the minutes that now count
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    service_date: Mapped[dt.date | None] = mapped_column(Date)  #: the local (Beijing) date served
    #: the activity as it was when the service was recorded: each column as long as the activity's own field
    activity_title: Mapped[str | None] = mapped_column(String(TITLE_MAX))
    place: Mapped[str | None] = mapped_column(String(ADDRESS_MAX))
    recipient: Mapped[str | None] = mapped_column(String(RECIPIENT_MAX))
    content: Mapped[str | None] = mapped_column(String(120))  #: the service category
    person_in_charge: Mapped[str | None] = mapped_column(String(PERSON_IN_CHARGE_MAX))
    source: Mapped[str | None] = mapped_column(String(12))
    flags: Mapped[list] = mapped_column(JSON, default=list)
    reason: Mapped[str | None] = mapped_column(Text)
    certificate_code: Mapped[str | None] = mapped_column(String(16))  #: certificate and revocation entries
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  #: the recorder or the decider
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    volunteer = relationship("Volunteer")
    organization = relationship("Organization")
    activity = relationship("Activity")
    actor = relationship("User")

    @property
    def kind_label(self) -> str:
        return str(ENTRY_KINDS.get(self.kind, self.kind))

    @property
    def source_label(self) -> str:
        return str(SOURCES.get(self.source, self.source or ""))


make_append_only(LedgerEntry.__table__)


class LedgerState(db.Model):
    """The current status and minutes of a service entry, and the correction waiting for a decision if one is: a
    projection of the ledger, rebuilt by verify."""

    __tablename__ = "ledger_states"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(STATES)})", name="status"),
        #: the dashboards' figures: an organization's (or volunteer's) minutes in a period, a range scan each
        Index("ix_ledger_states_organization_id_status_service_date", "organization_id", "status", "service_date"),
        Index("ix_ledger_states_volunteer_id_status", "volunteer_id", "status"),
        CheckConstraint("(pending_correction_id IS NULL) = (proposed_minutes IS NULL)", name="proposal"),
        #: the correction queue of an organization: the states with a correction waiting
        Index("ix_ledger_states_organization_id_pending_correction", "organization_id", "pending_correction_id"),
    )

    # active_history: a change must know the value it replaces, for the monthly totals (aggregates.py)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), active_history=True)
    status: Mapped[str] = mapped_column(String(10), default="pending", active_history=True)
    minutes: Mapped[int] = mapped_column(active_history=True)
    flagged: Mapped[bool] = mapped_column(default=False)
    service_date: Mapped[dt.date | None] = mapped_column(Date, active_history=True)
    decided_by_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    #: the interval that counts now (the entry's, or the last approved correction's): overlaps are checked on it
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: a correction waiting for another person's approval; until then ``minutes`` stays as it was
    pending_correction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    proposed_minutes: Mapped[int | None]

    entry = relationship("LedgerEntry", foreign_keys=[entry_id])

    @property
    def status_label(self) -> str:
        return str(STATES.get(self.status, self.status))


class ServiceMonth(db.Model):
    """Approved minutes per organization and month (of the service date): a projection of ``ledger_states``, kept
    in step with it in the same flush (aggregates.py), so that the province's figures read a few thousand rows
    instead of every entry. ``flask ledger verify`` checks it against the states."""

    __tablename__ = "service_months"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    #: the first day of the month; NO_DATE (0001-01-01) for service without a date
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    minutes: Mapped[int] = mapped_column(BigInteger, default=0)


class LedgerLeaf(db.Model):
    """Entry ``entry_id`` is leaf ``leaf_index`` of the Merkle log, with this leaf hash. Append-only."""

    __tablename__ = "ledger_leaves"

    leaf_index: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), unique=True)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


make_append_only(LedgerLeaf.__table__)


class LedgerCheckpoint(db.Model):
    """A signed checkpoint of the log after a batch: its size, root, the signed note and the compact range
    (the roots of the perfect subtrees on the tree's right edge) from which the next batch continues. Append-only."""

    __tablename__ = "ledger_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    tree_size: Mapped[int] = mapped_column(unique=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    frontier: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


make_append_only(LedgerCheckpoint.__table__)


class TransferredService(db.Model):
    """A service entry recorded by another registry and transferred here with the volunteer's consent
    (docs/EXCHANGE.md): it keeps its origin (the system's log, the organization, the entry and its leaf), counts in
    the volunteer's totals and stars here when the origin approved it, and is never certified here (only the
    recording organization certifies, and it is not one of ours). One row per origin entry, however often it
    comes; a later bundle (a larger checkpoint of the origin's log) brings the origin's later decisions."""

    __tablename__ = "transferred_services"
    __table_args__ = (
        UniqueConstraint("origin", "source_entry_id"),
        CheckConstraint(f"status IN ({_in(STATES)})", name="status"),
        CheckConstraint("minutes >= 0", name="minutes"),
        Index("ix_transferred_services_volunteer_id_status", "volunteer_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"))
    #: the origin's log (its checkpoints' origin line): with the entry's id there, what makes the row unique. The
    #: exchange part keeps the peers and the transfers (``transfers.id`` here, by value: the ledger does not import
    #: the exchange that builds on it)
    origin: Mapped[str] = mapped_column(String(200))
    transfer_id: Mapped[int]  #: the transfer that last changed it
    source_entry_id: Mapped[int] = mapped_column(BigInteger)  #: the entry's id in the origin's ledger
    leaf_index: Mapped[int] = mapped_column(BigInteger)  #: its leaf in the origin's log
    as_of_size: Mapped[int] = mapped_column(BigInteger)  #: the origin's checkpoint the status was read at
    organization_code: Mapped[str] = mapped_column(String(16))
    organization_name: Mapped[str] = mapped_column(String(200))
    activity_title: Mapped[str | None] = mapped_column(String(TITLE_MAX))
    place: Mapped[str | None] = mapped_column(String(ADDRESS_MAX))
    content: Mapped[str | None] = mapped_column(String(120))
    service_date: Mapped[dt.date | None] = mapped_column(Date)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10))  #: as the origin decided
    minutes: Mapped[int]  #: the minutes that count, as the origin decided
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def status_label(self) -> str:
        return str(STATES.get(self.status, self.status))
