"""The log of verifications (who asked is kept only as a keyed hash of the address, for abuse review)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models import UTCDateTime, utcnow

METHODS = ("link", "json", "pdf")


class Verification(db.Model):
    __tablename__ = "verifications"
    __table_args__ = (
        CheckConstraint("method IN ('link', 'json', 'pdf')", name="method"),
        Index("ix_verifications_certificate_id_created_at", "certificate_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    method: Mapped[str] = mapped_column(String(8))
    outcome: Mapped[str] = mapped_column(String(24))  #: valid, revoked, superseded, or the refusal's code
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    client: Mapped[str] = mapped_column(String(16))  #: keyed hash of the client address, truncated
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
