from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, Date, Float, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

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
    ROLE_MAX,
    ROSTER_STATUSES,
    RULE_MAX,
    SHIFT_STATUSES,
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


class ShiftSeries(db.Model):
    """A duty roster: shifts that recur by an RFC 5545 rule (in Beijing time) from ``first_day``, each starting at
    ``start_time`` and lasting ``duration_minutes``, skipping the ``exceptions`` (ISO dates). Its shifts are created
    ahead up to a rolling horizon (activities.schedule); editing it changes its future shifts only."""

    __tablename__ = "shift_series"
    __table_args__ = (
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    rule: Mapped[str] = mapped_column(String(RULE_MAX))  #: the RRULE, without DTSTART
    first_day: Mapped[dt.date] = mapped_column(Date)
    start_time: Mapped[str] = mapped_column(String(5))  #: "HH:MM", Beijing time
    duration_minutes: Mapped[int]
    capacity: Mapped[int | None]
    role: Mapped[str] = mapped_column(String(ROLE_MAX), default="")
    exceptions: Mapped[list] = mapped_column(JSON, default=list)  #: ISO dates skipped (holidays)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    activity: Mapped[Activity] = relationship()


class Shift(db.Model):
    """A stretch of time of an activity with its own places (and optionally a role it needs): volunteers sign up,
    check in and are recorded per shift. A one-off activity has one shift; a roster's come from its series."""

    __tablename__ = "shifts"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(SHIFT_STATUSES)})", name="status"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
        UniqueConstraint("series_id", "occurrence"),
        Index("ix_shifts_activity_id_starts_at", "activity_id", "starts_at"),
        Index("ix_shifts_organization_id_starts_at", "organization_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    series_id: Mapped[int | None] = mapped_column(ForeignKey("shift_series.id"))
    occurrence: Mapped[dt.date | None] = mapped_column(Date)  #: the series' (Beijing) day this shift is
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int | None]  #: None: no limit
    role: Mapped[str] = mapped_column(String(ROLE_MAX), default="")
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    activity: Mapped[Activity] = relationship()
    organization = relationship("Organization")
    series: Mapped[ShiftSeries | None] = relationship()

    @property
    def status_label(self) -> str:
        return str(SHIFT_STATUSES[self.status])

    @property
    def is_open(self) -> bool:
        return self.status == "open"


class RosterMember(db.Model):
    """A volunteer who joined a duty roster: signed up for each of its shifts as they are created, until they
    leave."""

    __tablename__ = "roster_members"
    __table_args__ = (
        UniqueConstraint("series_id", "volunteer_id"),
        CheckConstraint(f"status IN ({_in(ROSTER_STATUSES)})", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("shift_series.id"))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    status: Mapped[str] = mapped_column(String(8), default="active")
    joined_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    left_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    series: Mapped[ShiftSeries] = relationship()
    volunteer = relationship("Volunteer")


class Signup(db.Model):
    """A volunteer's place (or wish for one) in a shift of an activity."""

    __tablename__ = "signups"
    __table_args__ = (
        UniqueConstraint("shift_id", "volunteer_id"),
        CheckConstraint(f"status IN ({_in(SIGNUP_STATUSES)})", name="status"),
        Index("ix_signups_activity_id_status", "activity_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"))
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id"))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    activity: Mapped[Activity] = relationship()
    shift: Mapped[Shift] = relationship()
    volunteer = relationship("Volunteer")

    @property
    def status_label(self) -> str:
        return str(SIGNUP_STATUSES[self.status])


#: the activity's columns its one shift copies while it has only that one (a one-off activity)
SOLE_SHIFT_COLUMNS = ("starts_at", "ends_at", "capacity")


@event.listens_for(Session, "before_flush")
def _keep_one_off_shifts(session, _context, _instances) -> None:
    """Every activity has at least one shift: a new activity gets one with its own times and places, however it was
    made (a service, the API, an import, a test's factory); while an activity has only that one shift, not of a
    series, a change of the activity's times or places is the shift's too. Scheduled activities (several shifts,
    or a duty roster) manage their shifts themselves (activities.schedule)."""
    for activity in [obj for obj in session.new if isinstance(obj, Activity)]:
        if not getattr(activity, "_shifts_planned", False):
            shift = Shift(activity=activity, organization_id=activity.organization_id, role="", status="open",
                          **{key: getattr(activity, key) for key in SOLE_SHIFT_COLUMNS})
            if activity.organization is not None:  # a new organization has no id yet
                shift.organization = activity.organization
            session.add(shift)
    for activity in [obj for obj in session.dirty if isinstance(obj, Activity)]:
        state = db.inspect(activity)
        if not any(state.attrs[key].history.has_changes() for key in SOLE_SHIFT_COLUMNS):
            continue
        with session.no_autoflush:
            shifts = session.scalars(db.select(Shift).where(Shift.activity_id == activity.id).limit(2)).all()
        if len(shifts) == 1 and shifts[0].series_id is None:
            for key in SOLE_SHIFT_COLUMNS:
                setattr(shifts[0], key, getattr(activity, key))
