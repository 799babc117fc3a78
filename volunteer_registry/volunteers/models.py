from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models import UTCDateTime, utcnow
from .identity import GENDERS, ID_TYPES
from .schemas import EMAIL_MAX, NAME_MAX, NATIONAL_NUMBER_MAX, PHONE_MAX


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Volunteer(db.Model):
    """A volunteer's personal basic information: the first category of the service record.

    A volunteer imported by an organization has no account until the person signs up and registers with the same
    ID document.
    """

    __tablename__ = "volunteers"
    __table_args__ = (
        CheckConstraint(f"gender IN ({_in(GENDERS)})", name="gender"),
        CheckConstraint(f"id_type IN ({_in(ID_TYPES)})", name="id_type"),
        #: one national number, one volunteer (a unique index: migration 0012 could add one to SQLite in place)
        Index("ix_volunteers_national_number", "national_number", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    volunteer_number: Mapped[str] = mapped_column(String(14), unique=True)  #: read aloud; see codes.py
    name: Mapped[str] = mapped_column(String(NAME_MAX))  #: real name, NFC
    gender: Mapped[str] = mapped_column(String(8))
    birth_date: Mapped[dt.date]
    id_type: Mapped[str] = mapped_column(String(32))
    #: AES-GCM ciphertext; the key is outside the database
    id_number_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    #: HMAC of type and number: one document, one volunteer
    id_number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    id_number_masked: Mapped[str] = mapped_column(String(32))
    #: the national volunteer service system's unified number for this person, when known (entered, imported or
    #: matched): printed on certificates and carried in the exchange
    national_number: Mapped[str | None] = mapped_column(String(NATIONAL_NUMBER_MAX))
    phone: Mapped[str] = mapped_column(String(PHONE_MAX))
    email: Mapped[str | None] = mapped_column(String(EMAIL_MAX))
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    skills: Mapped[str] = mapped_column(Text, default="")
    consent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  #: consent to the record-keeping
    consent_source: Mapped[str] = mapped_column(String(20))  #: "self" or "import:<org code>"
    guardian_name: Mapped[str | None] = mapped_column(String(NAME_MAX))  #: required under 14
    guardian_consent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)  #: growth by month
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def gender_label(self) -> str:
        return str(GENDERS[self.gender])

    @property
    def id_type_label(self) -> str:
        return str(ID_TYPES[self.id_type])
