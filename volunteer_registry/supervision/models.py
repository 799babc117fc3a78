"""Supervision's tables: risk signals (a projection of the ledger and the audit log, kept by the scanner), the
scanner's cursors and per-organization figures, spot checks with their samples, and complaints.

Every limit and enumeration of this part is declared here, once; forms, services and templates read it from here.
"""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, BigInteger, CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models import UTCDateTime, utcnow

# --- risk signals ---------------------------------------------------------------------------------------------------

SIGNAL_KINDS = {
    "refused": _l("Self-related decision attempted"),
    "retroactive": _l("Retroactive activity"),
    "offline": _l("Back-dated or offline sessions"),
    "long_day": _l("Long day"),
    "overlap": _l("Overlapping sessions"),
    "outlier": _l("Hours per volunteer-day far above the province"),
}
#: a volunteer whose pending and approved service on one date adds up to more than this is a signal
LONG_DAY_MINUTES = 12 * 60
#: an organization whose approved minutes per volunteer-day exceed this multiple of the province's is a signal ...
OUTLIER_FACTOR = 1.5
#: ... once it has at least this many volunteer-days (so that a tiny organization does not swamp the queue)
OUTLIER_MIN_VOLUNTEER_DAYS = 20
#: the flags of a service entry that make it back-dated or offline (as does the source "offline")
OFFLINE_FLAGS = frozenset({"offline", "clock_skew"})


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class RiskSignal(db.Model):
    """One reason for civil affairs to look closer, with the entries it concerns found again from its key.

    Kept by the scanner (services.scan_signals), never by hand: ``key`` names what the signal is about (an
    organization's day, a volunteer's day, an activity, an organization), so that a rescan updates the same row.
    A signal that no longer holds (a long day whose entries were rejected) stays, inactive."""

    __tablename__ = "risk_signals"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(SIGNAL_KINDS)})", name="kind"),
        CheckConstraint("entry_count >= 0", name="entry_count"),
        #: the queue: active signals, the latest first, optionally of one kind
        Index("ix_risk_signals_is_active_occurred_on_id", "is_active", "occurred_on", "id"),
        Index("ix_risk_signals_kind_is_active_occurred_on", "kind", "is_active", "occurred_on"),
        Index("ix_risk_signals_organization_id_is_active", "organization_id", "is_active"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    key: Mapped[str] = mapped_column(String(80), unique=True)  #: e.g. long_day:<volunteer id>:<date>
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("volunteers.id"))  #: a long day's volunteer
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"))  #: a retroactive activity
    occurred_on: Mapped[dt.date | None] = mapped_column(Date)  #: the (Beijing) day it is about
    entry_count: Mapped[int] = mapped_column(default=0)  #: the entries (or refused decisions) it concerns
    minutes: Mapped[int | None]  #: a long day's minutes; an outlier's approved minutes per volunteer-day
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    is_active: Mapped[bool] = mapped_column(default=True)
    first_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization = relationship("Organization")
    activity = relationship("Activity")

    @property
    def kind_label(self) -> str:
        return str(SIGNAL_KINDS.get(self.kind, self.kind))


class ScanCursor(db.Model):
    """Where the scanner stopped: ``ledger`` is the next leaf index of the Merkle log to read (the log's order is
    its commit order, also on PostgreSQL, where ids are not); ``audit`` the last audit event id read."""

    __tablename__ = "supervision_cursors"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrganizationFigure(db.Model):
    """An organization's approved minutes and volunteer-days (distinct volunteer and service date), recomputed
    when the scanner has seen a decision about its entries (``is_stale`` until then)."""

    __tablename__ = "supervision_figures"
    __table_args__ = (Index("ix_supervision_figures_is_stale", "is_stale"),)

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    approved_minutes: Mapped[int] = mapped_column(BigInteger, default=0)
    approved_entries: Mapped[int] = mapped_column(default=0)
    volunteer_days: Mapped[int] = mapped_column(default=0)
    is_stale: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- spot checks ----------------------------------------------------------------------------------------------------

CHECK_STATUSES = {"open": _l("In progress"), "confirmed": _l("Confirmed"), "problem": _l("Problem found")}
#: the outcomes an admin records (every status but open)
OUTCOMES = {key: label for key, label in CHECK_STATUSES.items() if key != "open"}
#: how many certificates and approved entries a spot check draws unless the admin says otherwise
DEFAULT_CERTIFICATE_SAMPLE = 10
DEFAULT_ENTRY_SAMPLE = 20
#: the most of either that one check draws
MAX_SAMPLE = 200
DESCRIPTION_MAX = 4000  #: what the admin found (not public)
ACTION_REASON_MAX = 500  #: the reason given to the ledger for annulments and revocations (the verifier sees it)
ITEM_KINDS = {"certificate": _l("Certificate"), "entry": _l("Service entry")}
ITEM_ACTIONS = {"annulled": _l("Annulled"), "revoked": _l("Revoked")}


class SpotCheck(db.Model):
    """A platform admin's check of an organization's records: a random sample drawn when it starts, then an
    outcome. Its date, sample sizes, outcome and action counts are public; the description is not."""

    __tablename__ = "spot_checks"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(CHECK_STATUSES)})", name="status"),
        CheckConstraint("(status = 'open') = (decided_at IS NULL)", name="decided"),
        CheckConstraint("status != 'problem' OR description IS NOT NULL", name="problem_described"),
        CheckConstraint(f"certificate_sample_size BETWEEN 0 AND {MAX_SAMPLE}", name="certificate_sample_size"),
        CheckConstraint(f"entry_sample_size BETWEEN 0 AND {MAX_SAMPLE}", name="entry_sample_size"),
        CheckConstraint("annulled_count >= 0 AND revoked_count >= 0", name="action_counts"),
        Index("ix_spot_checks_organization_id_started_at", "organization_id", "started_at"),
        Index("ix_spot_checks_started_at", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)  #: public identifier, in URLs
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    status: Mapped[str] = mapped_column(String(10), default="open")
    certificate_sample_size: Mapped[int]  #: as asked for
    entry_sample_size: Mapped[int]
    certificates_drawn: Mapped[int] = mapped_column(default=0)  #: as drawn (fewer when the organization has fewer)
    entries_drawn: Mapped[int] = mapped_column(default=0)
    description: Mapped[str | None] = mapped_column(Text)
    action_reason: Mapped[str | None] = mapped_column(String(ACTION_REASON_MAX))
    annulled_count: Mapped[int] = mapped_column(default=0)
    revoked_count: Mapped[int] = mapped_column(default=0)
    started_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    organization = relationship("Organization")
    items: Mapped[list[SpotCheckItem]] = relationship(back_populates="spot_check", order_by="SpotCheckItem.id")

    @property
    def status_label(self) -> str:
        return str(CHECK_STATUSES.get(self.status, self.status))

    @property
    def is_open(self) -> bool:
        return self.status == "open"


class SpotCheckItem(db.Model):
    """One certificate or approved service entry drawn into a check, and what was done about it."""

    __tablename__ = "spot_check_items"
    __table_args__ = (
        CheckConstraint("(entry_id IS NULL) != (certificate_id IS NULL)", name="one_record"),
        CheckConstraint(f"action IS NULL OR action IN ({_in(ITEM_ACTIONS)})", name="action"),
        UniqueConstraint("spot_check_id", "entry_id"),
        UniqueConstraint("spot_check_id", "certificate_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    spot_check_id: Mapped[int] = mapped_column(ForeignKey("spot_checks.id"))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))  #: a service entry
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    action: Mapped[str | None] = mapped_column(String(10))
    #: the ledger entry that carried the action (an annulment or a revocation)
    action_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))

    spot_check: Mapped[SpotCheck] = relationship(back_populates="items")
    entry = relationship("LedgerEntry", foreign_keys=[entry_id])
    certificate = relationship("Certificate")

    @property
    def kind(self) -> str:
        return "entry" if self.entry_id is not None else "certificate"


# --- complaints -----------------------------------------------------------------------------------------------------

COMPLAINT_SUBJECTS = {"certificate": _l("A certificate"), "organization": _l("An organization's recording")}
COMPLAINT_STATUSES = {"open": _l("Received"), "investigating": _l("Being investigated"), "closed": _l("Closed")}
COMPLAINT_MESSAGE_MAX = 4000
COMPLAINT_CONTACT_MAX = 200
COMPLAINT_RESPONSE_MAX = 4000
#: the follow code's length: 20 characters of a 24-letter alphabet, about 92 bits, is not guessed
FOLLOW_CODE_LENGTH = 20


class Complaint(db.Model):
    """Anyone's complaint about a certificate or an organization's recording. Its follow code (in the link the
    complainant keeps) shows its status and civil affairs' response; nothing else leads to it publicly."""

    __tablename__ = "complaints"
    __table_args__ = (
        CheckConstraint(f"subject IN ({_in(COMPLAINT_SUBJECTS)})", name="subject"),
        CheckConstraint(f"status IN ({_in(COMPLAINT_STATUSES)})", name="status"),
        CheckConstraint("(subject = 'certificate') = (certificate_id IS NOT NULL)", name="certificate_subject"),
        Index("ix_complaints_status_id", "status", "id"),
        Index("ix_complaints_organization_id_id", "organization_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(FOLLOW_CODE_LENGTH), unique=True)  #: the follow link's secret
    subject: Mapped[str] = mapped_column(String(12))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    message: Mapped[str] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(COMPLAINT_CONTACT_MAX))  #: seen by civil affairs only
    status: Mapped[str] = mapped_column(String(14), default="open")
    response: Mapped[str | None] = mapped_column(Text)  #: civil affairs' answer, shown on the follow page
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization = relationship("Organization")
    certificate = relationship("Certificate")

    @property
    def status_label(self) -> str:
        return str(COMPLAINT_STATUSES.get(self.status, self.status))

    @property
    def subject_label(self) -> str:
        return str(COMPLAINT_SUBJECTS.get(self.subject, self.subject))
