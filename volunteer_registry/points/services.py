"""Service points and their posters: set up, edit and retire a point; issue a poster, revoke it (and print the next).

Every write authorizes its actor over the point's organization (``activities.manage``: coordinators and org admins),
writes an audit event, flushes and leaves the commit to the caller."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError

from ..accounts.permissions import require
from ..activities.models import Activity
from ..audit.services import record_event
from ..codes import new_public_code
from ..errors import DomainError
from ..extensions import db
from ..models import utcnow
from .models import ServicePoint, ServicePointPoster
from .schemas import REVOCATION, SERVICE_POINT


class PointError(DomainError):
    messages = {
        "field_required": _l("This field is required."),
        "too_long": _l("At most %(max)s characters."),
        "latitude_invalid": _l("The latitude is a number from −90 to 90."),
        "longitude_invalid": _l("The longitude is a number from −180 to 180."),
        "radius_invalid": _l("The radius is a whole number of metres from %(min)s to %(max)s."),
        "activity_closed": _l("This activity is closed: it takes no new service points."),
        "point_retired": _l("This service point is no longer in use."),
        "poster_revoked": _l("This poster was already withdrawn."),
        "size_invalid": _l("A poster is printed on A4 or A6."),
    }
    statuses = {"activity_closed": 409, "point_retired": 409, "poster_revoked": 409, "size_invalid": 400}


@dataclass
class PointData:
    """What a coordinator enters for a point (SERVICE_POINT): the numbers as typed, checked by the service."""

    name: str
    address: str
    latitude: float | None
    longitude: float | None
    radius_m: int | None


def _number(value, name: str, code: str, **params) -> float:
    spec = SERVICE_POINT[name]
    if value is None or value == "":
        raise PointError("field_required", field=name)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PointError(code, field=name, **params) from None
    if not math.isfinite(number) or not spec.minimum <= number <= spec.maximum:
        raise PointError(code, field=name, **params)
    return number


def check_point(data: PointData) -> dict:
    """The point's fields as kept. Raises PointError: the text codes of SERVICE_POINT (field_required, too_long,
    text_*), then latitude_invalid, longitude_invalid, radius_invalid, each naming its field."""
    values = SERVICE_POINT.check(data, error=PointError)
    values["latitude"] = _number(data.latitude, "latitude", "latitude_invalid")
    values["longitude"] = _number(data.longitude, "longitude", "longitude_invalid")
    radius = SERVICE_POINT["radius_m"]
    limits = {"min": radius.minimum, "max": radius.maximum}
    metres = _number(data.radius_m, "radius_m", "radius_invalid", **limits)
    if metres != int(metres):
        raise PointError("radius_invalid", field="radius_m", **limits)
    values["radius_m"] = int(metres)
    return values


def _active(point: ServicePoint) -> None:
    if point.status != "active":
        raise PointError("point_retired")


def create_point(actor, activity: Activity, data: PointData) -> ServicePoint:
    """A new service point of ``activity``, in use, with a fresh public code (no poster yet: see issue_poster).
    Raises Forbidden (not ``activities.manage`` over the activity's organization), activity_closed, then the
    field codes of check_point."""
    require("activities.manage", activity.organization, user=actor)
    if activity.status == "closed":
        raise PointError("activity_closed")
    values = check_point(data)
    point = ServicePoint(code=new_public_code(), organization_id=activity.organization_id, activity_id=activity.id,
                         created_by_id=actor.id, status="active", **values)
    db.session.add(point)
    db.session.flush()
    record_event("point.created", actor=actor, organization=activity.organization, target=point,
                 activity=activity.code, name=point.name)
    return point


def update_point(actor, point: ServicePoint, data: PointData) -> ServicePoint:
    """The point's name, address, place and radius changed (its posters stay valid: the QR names the point, not its
    place). Raises Forbidden, point_retired, then the field codes of check_point."""
    require("activities.manage", point.organization, user=actor)
    _active(point)
    values = check_point(data)
    changed = sorted(key for key, value in values.items() if getattr(point, key) != value)
    for key, value in values.items():
        setattr(point, key, value)
    db.session.flush()
    record_event("point.updated", actor=actor, organization=point.organization, target=point, fields=changed)
    return point


def retire_point(actor, point: ServicePoint, now: dt.datetime | None = None) -> ServicePoint:
    """The point out of use: its posters stop working (scans are refused point_retired and kept). Raises
    Forbidden, point_retired (already retired)."""
    require("activities.manage", point.organization, user=actor)
    _active(point)
    point.status = "retired"
    db.session.flush()
    record_event("point.retired", actor=actor, organization=point.organization, target=point)
    return point


def issue_poster(actor, point: ServicePoint, now: dt.datetime | None = None) -> ServicePointPoster:
    """A new poster of ``point`` numbered one above its last (revoked ones included), in use at once; earlier
    posters still in use stay so. Raises Forbidden, point_retired."""
    require("activities.manage", point.organization, user=actor)
    _active(point)
    for attempt in range(3):
        serial = (db.session.scalar(db.select(func.max(ServicePointPoster.serial))
                                    .where(ServicePointPoster.point_id == point.id)) or 0) + 1
        poster = ServicePointPoster(point_id=point.id, serial=serial, issued_by_id=actor.id,
                                    issued_at=now or utcnow())
        try:
            with db.session.begin_nested():  # two coordinators printing at once: the second takes the next number
                db.session.add(poster)
        except IntegrityError:
            if attempt == 2:
                raise
            continue
        break
    record_event("point.poster_issued", actor=actor, organization=point.organization, target=point, serial=serial)
    return poster


def revoke_poster(actor, poster: ServicePointPoster, reason: str, now: dt.datetime | None = None
                  ) -> ServicePointPoster:
    """The poster withdrawn with ``reason`` (lost, photographed and shared, torn down): its scans are refused
    poster_revoked from now on, and kept. A new poster is issue_poster's (the page offers both as one step).
    Raises Forbidden, poster_revoked (already), then REVOCATION's codes on the reason (field ``reason``)."""
    point = poster.point
    require("activities.manage", point.organization, user=actor)
    if poster.is_revoked:
        raise PointError("poster_revoked")
    values = REVOCATION.check({"reason": reason}, error=PointError)
    poster.revoked_at = now or utcnow()
    poster.revoked_by_id = actor.id
    poster.revocation_reason = values["reason"]
    db.session.flush()
    record_event("point.poster_revoked", actor=actor, organization=point.organization, target=point,
                 serial=poster.serial, reason=values["reason"])
    return poster


def revoke_and_reprint(actor, poster: ServicePointPoster, reason: str, now: dt.datetime | None = None
                       ) -> ServicePointPoster:
    """revoke_poster, then issue_poster for the same point: the new poster. Raises what both raise."""
    revoke_poster(actor, poster, reason, now)
    return issue_poster(actor, poster.point, now)
