"""Reads for the points' pages (never authorize: the caller has loaded and authorized first)."""
from __future__ import annotations

import datetime as dt

from ..activities.models import Activity, Shift
from ..errors import NotFound
from ..extensions import db
from .models import ServicePoint, ServicePointPoster


def point_by_code(code: str) -> ServicePoint:
    """The point with public code ``code`` (any case). Raises NotFound."""
    point = db.session.scalar(db.select(ServicePoint).where(ServicePoint.code == (code or "").upper()[:12]))
    if point is None:
        raise NotFound("not_found")
    return point


def points_of(activity: Activity) -> list[ServicePoint]:
    """The activity's points, those in use first, then by name."""
    return list(db.session.scalars(db.select(ServicePoint).where(ServicePoint.activity_id == activity.id)
                                   .order_by(ServicePoint.status, ServicePoint.name, ServicePoint.id)))


def posters_of(point: ServicePoint) -> list[ServicePointPoster]:
    """The point's posters, newest first."""
    return list(db.session.scalars(db.select(ServicePointPoster).where(ServicePointPoster.point_id == point.id)
                                   .order_by(ServicePointPoster.serial.desc())))


def poster_of(point: ServicePoint, serial: int) -> ServicePointPoster:
    """The point's poster numbered ``serial``. Raises NotFound."""
    poster = db.session.scalar(db.select(ServicePointPoster).where(ServicePointPoster.point_id == point.id,
                                                                    ServicePointPoster.serial == serial))
    if poster is None:
        raise NotFound("not_found")
    return poster


def shift_on(activity: Activity, moment: dt.datetime) -> Shift | None:
    """The activity's open shift on at ``moment`` (within its grace period), else the next one to start; None when
    there is neither. For the page a poster opens: the shift a scan now would most likely count for."""
    grace = dt.timedelta(minutes=activity.grace_minutes)
    on_now = db.session.scalar(db.select(Shift).where(
        Shift.activity_id == activity.id, Shift.status == "open", Shift.starts_at <= moment + grace,
        Shift.ends_at >= moment - grace).order_by(Shift.starts_at, Shift.id).limit(1))
    if on_now is not None:
        return on_now
    return db.session.scalar(db.select(Shift).where(Shift.activity_id == activity.id, Shift.status == "open",
                                                    Shift.starts_at > moment).order_by(Shift.starts_at).limit(1))
