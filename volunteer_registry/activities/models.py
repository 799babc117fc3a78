from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models import UTCDateTime, utcnow

# the enumerations and limits are declared in schemas.py; the columns and constraints below read them
from .schemas import (
    ACTIVITY_STATUSES,
    ADDRESS_MAX,
    CATEGORIES,
    GRACE_MINUTES_MAX,
    PERSON_IN_CHARGE_MAX,
    RECIPIENT_MAX,
    SIGNUP_MODES,
    SIGNUP_STATUSES,
    TITLE_MAX,
)


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Activity(db.Model):
    """A service activity an organization runs; volunteers sign up and check in to it."""

    __tablename__ = "activities"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(ACTIVITY_STATUSES)})", name="status"),
        CheckConstraint(f"category IN ({_in(CATEGORIES)})", name="category"),
        CheckConstraint(f"signup_mode IN ({_in(SIGNUP_MODES)})", name="signup_mode"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
        CheckConstraint(f"grace_minutes >= 0 AND grace_minutes <= {GRACE_MINUTES_MAX}", name="grace_minutes_range"),
        Index("ix_activities_organization_id_starts_at", "organization_id", "starts_at"),
        Index("ix_activities_status_starts_at", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)  #: public identifier, in URLs and QR codes
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(RECIPIENT_MAX))  #: the service recipient
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    address: Mapped[str] = mapped_column(String(ADDRESS_MAX))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    radius_m: Mapped[int | None]  #: scans farther than this from the place are flagged, not refused
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int | None]  #: None: no limit
    is_recruiting: Mapped[bool] = mapped_column(default=True)
    allows_walk_ins: Mapped[bool] = mapped_column(default=False)
    grace_minutes: Mapped[int] = mapped_column(default=30)  #: scans accepted this long before start and after end
    signup_mode: Mapped[str] = mapped_column(String(12), default="auto")
    person_in_charge: Mapped[str] = mapped_column(String(PERSON_IN_CHARGE_MAX))
    risk_disclosure: Mapped[str] = mapped_column(Text, default="")
    requires_training: Mapped[bool] = mapped_column(default=False)
    requires_insurance: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: 补录: created (or moved) to start before the moment it was saved; every entry of it needs a second person.
    #: Set once, never cleared.
    is_retroactive: Mapped[bool] = mapped_column(default=False)

    organization = relationship("Organization")

    @property
    def category_label(self) -> str:
        return str(CATEGORIES[self.category])

    @property
    def status_label(self) -> str:
        return str(ACTIVITY_STATUSES[self.status])


class Signup(db.Model):
    """A volunteer's place (or wish for one) in an activity."""

    __tablename__ = "signups"
    __table_args__ = (
        UniqueConstraint("activity_id", "volunteer_id"),
        CheckConstraint(f"status IN ({_in(SIGNUP_STATUSES)})", name="status"),
        Index("ix_signups_activity_id_status", "activity_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    activity: Mapped[Activity] = relationship()
    volunteer = relationship("Volunteer")

    @property
    def status_label(self) -> str:
        return str(SIGNUP_STATUSES[self.status])
