from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..activities.schemas import ADDRESS_MAX
from ..extensions import db
from ..models import UTCDateTime, utcnow
from .schemas import NAME_MAX, POINT_STATUSES


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class ServicePoint(db.Model):
    """A fixed place where an activity's service happens without a kiosk (a station, a care home, a recipient's
    home). Volunteers scan its printed poster at arrival and departure; the phone's location is required and
    compared with ``radius_m``; such sessions are flagged static_qr and always reviewed."""

    __tablename__ = "service_points"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(POINT_STATUSES)})", name="status"),
        CheckConstraint("radius_m > 0", name="radius_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)  #: public identifier, printed in the QR
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    address: Mapped[str] = mapped_column(String(ADDRESS_MAX))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    radius_m: Mapped[int]
    status: Mapped[str] = mapped_column(String(8), default="active")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    activity = relationship("Activity")
    organization = relationship("Organization")

    @property
    def status_label(self) -> str:
        return str(POINT_STATUSES[self.status])


class ServicePointPoster(db.Model):
    """One printing of a point's QR: the QR carries the poster's number and a MAC, so a revoked poster (lost,
    photographed and shared) stops working while its reprint works."""

    __tablename__ = "service_point_posters"
    __table_args__ = (UniqueConstraint("point_id", "serial"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("service_points.id"), index=True)
    serial: Mapped[int]  #: 1, 2, ... per point: printed on the poster
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revocation_reason: Mapped[str | None] = mapped_column(Text)

    point: Mapped[ServicePoint] = relationship()

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
