from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..ledger.models import FLAGS  # noqa: F401  (a session's flags become its entry's; declared once there)
from ..models import UTCDateTime, make_append_only, utcnow
from .schemas import SCAN_DIRECTIONS, SCAN_METHODS, TYPED_NUMBER_MAX


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Scan(db.Model):
    """Every scan the server received, accepted or refused, keyed by the client's event id. Append-only."""

    __tablename__ = "scans"
    __table_args__ = (
        CheckConstraint(f"method IN ({_in(SCAN_METHODS)})", name="method"),
        CheckConstraint(f"direction IN ({_in(SCAN_DIRECTIONS)})", name="direction"),
        CheckConstraint("accepted = (refusal_code IS NULL)", name="accepted_xor_refused"),
        Index("ix_scans_activity_id_id", "activity_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)  #: the client's id: a retry is the same scan
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"))
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("shifts.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("volunteers.id"), index=True)
    #: a scan of a service point's static poster (method kiosk, flagged static_qr)
    poster_id: Mapped[int | None] = mapped_column(ForeignKey("service_point_posters.id"))
    typed_number: Mapped[str | None] = mapped_column(String(TYPED_NUMBER_MAX))  #: what a refused card scan read
    method: Mapped[str] = mapped_column(String(12))
    direction: Mapped[str] = mapped_column(String(4))  #: what was asked
    result: Mapped[str | None] = mapped_column(String(4))  #: "in" or "out" when accepted
    accepted: Mapped[bool]
    refusal_code: Mapped[str | None] = mapped_column(String(40))
    flags: Mapped[list] = mapped_column(JSON, default=list)
    scanned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  #: the time that counts
    client_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  #: what the device said
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("attendance_sessions.id"))
    reason: Mapped[str | None] = mapped_column(Text)  #: for corrections

    volunteer = relationship("Volunteer")
    attendance = relationship("AttendanceSession")


make_append_only(Scan.__table__)


class AttendanceSession(db.Model):
    """One stretch of presence of a volunteer at an activity, from check-in to check-out."""

    __tablename__ = "attendance_sessions"
    __table_args__ = (
        CheckConstraint("checked_out_at IS NULL OR checked_out_at >= checked_in_at", name="out_after_in"),
        Index("ix_attendance_sessions_activity_id_volunteer_id", "activity_id", "volunteer_id"),
        Index("ix_attendance_sessions_organization_id_checked_in_at", "organization_id", "checked_in_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"))
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("shifts.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    #: checked in at a service point's static poster: located, flagged static_qr, always reviewed
    point_id: Mapped[int | None] = mapped_column(ForeignKey("service_points.id"))
    source: Mapped[str] = mapped_column(String(12))  #: kiosk, card, offline or manual
    checked_in_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    checked_out_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    flags: Mapped[list] = mapped_column(JSON, default=list)

    volunteer = relationship("Volunteer")

    @property
    def is_open(self) -> bool:
        return self.checked_out_at is None


class ManualEntry(db.Model):
    """A session recorded after the fact by a coordinator; it counts only once someone else approves it."""

    __tablename__ = "manual_entries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
        CheckConstraint("ended_at > started_at", name="ends_after_start"),
        CheckConstraint("decided_by_id IS NULL OR decided_by_id <> entered_by_id", name="four_eyes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"), index=True)
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("shifts.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("attendance_sessions.id"))

    volunteer = relationship("Volunteer")
