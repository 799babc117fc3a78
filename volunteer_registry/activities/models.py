from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models import UTCDateTime, utcnow

CATEGORIES = {
    "community": _l("Community service"),
    "elderly": _l("Elderly care"),
    "disability": _l("Disability support"),
    "poverty": _l("Poverty relief"),
    "education": _l("Education"),
    "health": _l("Health"),
    "environment": _l("Environment"),
    "culture": _l("Culture"),
    "emergency": _l("Emergency response"),
    "events": _l("Large events"),
    "other": _l("Other"),
}
ACTIVITY_STATUSES = {"draft": _l("Draft"), "published": _l("Published"), "closed": _l("Closed")}
SIGNUP_MODES = {"auto": _l("Accepted automatically"), "approval": _l("A coordinator accepts each sign-up")}
SIGNUP_STATUSES = {
    "accepted": _l("Accepted"),
    "pending": _l("Waiting for a coordinator"),
    "waitlisted": _l("On the waiting list"),
    "withdrawn": _l("Withdrawn"),
    "declined": _l("Declined"),
}
#: the sign-up statuses that hold (or wait for) a place: the volunteer counts as signed up, may withdraw, and may
#: not sign up again
ACTIVE_SIGNUP_STATUSES = ("accepted", "pending", "waitlisted")
#: the activity statuses anyone may see (in an approved organization): those who served keep a closed one's page
PUBLIC_ACTIVITY_STATUSES = ("published", "closed")


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
        CheckConstraint("grace_minutes >= 0 AND grace_minutes <= 720", name="grace_minutes_range"),
        Index("ix_activities_organization_id_starts_at", "organization_id", "starts_at"),
        Index("ix_activities_status_starts_at", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)  #: public identifier, in URLs and QR codes
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(120))  #: the service recipient
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    address: Mapped[str] = mapped_column(String(200))
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
    person_in_charge: Mapped[str] = mapped_column(String(60))
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
