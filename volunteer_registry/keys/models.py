"""The public record of every signing key the instance has used, current and retired."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models import UTCDateTime, utcnow

PURPOSES = ("root", "document", "certificate", "checkpoint")


class SigningKey(db.Model):
    """One key pair's public half. Retiring a key stops it signing; it stays published so that what it signed
    still verifies. At most one key per purpose is current (not retired)."""

    __tablename__ = "signing_keys"
    __table_args__ = (
        CheckConstraint("purpose IN ('root', 'document', 'certificate', 'checkpoint')", name="purpose"),
        CheckConstraint("algorithm IN ('ES256', 'EdDSA')", name="algorithm"),
        Index("ix_signing_keys_current_purpose", "purpose", unique=True,
              sqlite_where=db.text("retired_at IS NULL"), postgresql_where=db.text("retired_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(12))
    #: ES256 keys: base64url of the first 8 bytes of SHA-256 of the SubjectPublicKeyInfo (the COSE key id);
    #: the checkpoint key: the hex signed-note key id
    kid: Mapped[str] = mapped_column(String(24), unique=True)
    algorithm: Mapped[str] = mapped_column(String(8))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  #: SubjectPublicKeyInfo, DER
    certificate_pem: Mapped[str | None] = mapped_column(Text)  #: root and document keys: their X.509 certificate
    name: Mapped[str | None] = mapped_column(String(200))  #: the checkpoint key: the log origin it signs for
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_current(self) -> bool:
        return self.retired_at is None
