from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models import UTCDateTime, make_append_only, utcnow

# the enumerations and limits are declared in schemas.py; the columns and constraints below read them
from .schemas import (
    ADDRESS_MAX,
    CONTACT_EMAIL_MAX,
    CONTACT_PHONE_MAX,
    INVITATION_NOTE_MAX,
    INVITATION_ROLES,
    JOIN_MODES,
    MEMBERSHIP_STATUSES,
    NAME_MAX,
    ORG_STATUSES,
    ORG_TYPES,
    PERSON_IN_CHARGE_MAX,
    STAFF_ROLES,
    UNCONSENTED_STATUSES,
    UNREGISTERED_TYPE,
)


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Organization(db.Model):
    __tablename__ = "organizations"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(ORG_STATUSES)})", name="status"),
        CheckConstraint(f"org_type IN ({_in(ORG_TYPES)})", name="org_type"),
        CheckConstraint(f"join_mode IN ({_in(JOIN_MODES)})", name="join_mode"),
        CheckConstraint(f"credit_code IS NOT NULL OR org_type = '{UNREGISTERED_TYPE}'", name="credit_code_required"),
        Index("ix_organizations_status_region", "status", "region_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)  #: public identifier, in URLs
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    org_type: Mapped[str] = mapped_column(String(40))
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)  #: GB 32100, check character valid
    region_code: Mapped[str] = mapped_column(String(6))
    address: Mapped[str] = mapped_column(String(ADDRESS_MAX))
    person_in_charge: Mapped[str] = mapped_column(String(PERSON_IN_CHARGE_MAX))
    contact_phone: Mapped[str] = mapped_column(String(CONTACT_PHONE_MAX))
    contact_email: Mapped[str] = mapped_column(String(CONTACT_EMAIL_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    seal_png: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)  #: re-encoded PNG, for certificates
    status: Mapped[str] = mapped_column(String(12), default="pending")
    status_reason: Mapped[str | None] = mapped_column(Text)
    join_mode: Mapped[str] = mapped_column(String(12), default="approval")
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    status_changes: Mapped[list[OrganizationStatusChange]] = relationship(
        order_by="OrganizationStatusChange.id", viewonly=True
    )

    @property
    def type_label(self) -> str:
        return str(ORG_TYPES[self.org_type])

    @property
    def status_label(self) -> str:
        return str(ORG_STATUSES[self.status])


class OrganizationStatusChange(db.Model):
    """Every decision on an organization, shown to its applicant. Append-only."""

    __tablename__ = "organization_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def to_status_label(self) -> str:
        return str(ORG_STATUSES[self.to_status])


make_append_only(OrganizationStatusChange.__table__)


class StaffRole(db.Model):
    """A person's role in one organization's staff."""

    __tablename__ = "staff_roles"
    __table_args__ = (
        UniqueConstraint("organization_id", "user_id"),
        CheckConstraint(f"role IN ({_in(STAFF_ROLES)})", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()
    user = relationship("User")


class Invitation(db.Model):
    """A single-use link: whoever opens it, signed in, takes the role it carries in the organization."""

    __tablename__ = "invitations"
    __table_args__ = (CheckConstraint(f"role IN ({_in(INVITATION_ROLES)})", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    role: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    note: Mapped[str] = mapped_column(String(INVITATION_NOTE_MAX), default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization] = relationship()


class Membership(db.Model):
    """A volunteer's membership of an organization: asked for by the volunteer (pending → active or declined), or
    offered by the organization to a person already registered (invited → active or refused), never imposed."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("organization_id", "volunteer_id"),
        CheckConstraint(f"status IN ({_in(MEMBERSHIP_STATUSES)})", name="status"),
        Index("ix_memberships_organization_status", "organization_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    status: Mapped[str] = mapped_column(String(12))
    applied_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    organization: Mapped[Organization] = relationship()
    volunteer = relationship("Volunteer")

    @property
    def status_label(self) -> str:
        return str(MEMBERSHIP_STATUSES[self.status])

    @property
    def discloses_record(self) -> bool:
        """Whether the organization may see the volunteer's record (number, ID, hours): not before they agree."""
        return self.status not in UNCONSENTED_STATUSES
