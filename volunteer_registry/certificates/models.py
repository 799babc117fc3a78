"""Certificates, the volunteers' requests for them, and their stored PDFs."""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models import UTCDateTime, utcnow
from .schemas import NOTE_MAX, STATUSES

REQUEST_STATUSES = {"pending": _l("Waiting for the organization"), "issued": _l("Issued"),
                    "declined": _l("Declined")}


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Certificate(db.Model):
    """A certificate of the approved service one organization recorded for one volunteer over a period.

    ``content`` is the snapshot printed on it (names, masked ID, activities and their minutes, issuer, person in
    charge, handler, contact), so the PDF and the record never drift from what was certified. Only the status
    changes: valid → revoked (with a reason) or superseded (by a reissue)."""

    __tablename__ = "certificates"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(STATUSES)})", name="status"),
        CheckConstraint("period_end >= period_start", name="period_order"),
        CheckConstraint("minutes > 0", name="minutes_positive"),
        CheckConstraint("(status = 'revoked') = (revoked_at IS NOT NULL AND revocation_reason IS NOT NULL)",
                        name="revocation_complete"),
        Index("ix_certificates_organization_id_issued_at", "organization_id", "issued_at"),
        Index("ix_certificates_volunteer_id_issued_at", "volunteer_id", "issued_at"),
        #: one valid certificate per volunteer, organization and period (a reissue supersedes the old one first)
        Index("ix_certificates_one_valid_per_period", "volunteer_id", "organization_id", "period_start",
              "period_end", unique=True, sqlite_where=db.text("status = 'valid'"),
              postgresql_where=db.text("status = 'valid'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  #: unguessable, in the verification URL
    number: Mapped[str] = mapped_column(String(20), unique=True)  #: printed, read aloud: VR-2026-K7QF-3MXA
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))  #: the recorder, who certifies
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    minutes: Mapped[int]  #: approved minutes in the period, at issue
    masked_name: Mapped[str] = mapped_column(String(40))
    content: Mapped[dict] = mapped_column(JSON)
    token: Mapped[bytes] = mapped_column(LargeBinary)  #: the COSE_Sign1 token printed as the QR
    key_id: Mapped[str] = mapped_column(String(24))  #: the signing key's kid
    status: Mapped[str] = mapped_column(String(12), default="valid")
    issued_on: Mapped[dt.date] = mapped_column(Date)  #: the Beijing date printed on it
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))  #: the handler
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), unique=True)  #: the issuing entry
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"), unique=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    volunteer = relationship("Volunteer")
    organization = relationship("Organization")
    supersedes = relationship("Certificate", remote_side=[id], foreign_keys=[supersedes_id])

    @property
    def status_label(self) -> str:
        return str(STATUSES.get(self.status, self.status))


class CertificateDocument(db.Model):
    """The signed PDF of a certificate, rendered once (at issue or on first download) and served as stored."""

    __tablename__ = "certificate_documents"

    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"), primary_key=True)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CertificateRequest(db.Model):
    """A volunteer asks an organization for a certificate of a period; an org admin issues it or declines."""

    __tablename__ = "certificate_requests"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(REQUEST_STATUSES)})", name="status"),
        CheckConstraint("period_end >= period_start", name="period_order"),
        Index("ix_certificate_requests_organization_id_status", "organization_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(NOTE_MAX), default="")  #: what it is for (a school, an employer)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    response: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    volunteer = relationship("Volunteer")
    organization = relationship("Organization")
    certificate = relationship("Certificate")

    @property
    def status_label(self) -> str:
        return str(REQUEST_STATUSES.get(self.status, self.status))
