"""The static QR of a service point's poster: ``P<point code>.<serial>.<MAC>``, printed as an uppercase URL
(``HTTPS://HOST/P/<token>``) so that a phone's camera opens the check-in page and the QR stays in alphanumeric
mode. Unlike the kiosk's QR it never goes stale; a poster that is lost or shared is revoked and a new one printed
(the serial goes up). The MAC key is derived from the app's secret key (HKDF, its own label), so a poster cannot be
made without the server."""
from __future__ import annotations

import base64
import hashlib
import hmac
import re

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from ..extensions import db
from .models import ServicePoint, ServicePointPoster

_TOKEN = re.compile(r"P([0-9A-Z]{4,12})\.([0-9]{1,6})\.([A-Z2-7]{16})")


def _key() -> bytes:
    secret = current_app.config["SECRET_KEY"].encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"volunteer-registry service point poster").derive(secret)


def _mac(code: str, serial: int) -> str:
    digest = hmac.new(_key(), f"P{code}.{serial}".encode(), hashlib.sha256).digest()[:10]
    return base64.b32encode(digest).decode()


def poster_token(point: ServicePoint, poster: ServicePointPoster) -> str:
    return f"P{point.code}.{poster.serial}.{_mac(point.code, poster.serial)}"


def poster_facts(token: str) -> tuple[ServicePoint | None, ServicePointPoster | None, str | None]:
    """(point, poster, None) for a poster in use; (point, poster, "poster_revoked" | "point_retired") for one that
    was revoked or whose point was retired; (None, None, "poster_forged") for anything the server did not print."""
    match = _TOKEN.fullmatch((token or "").upper())
    if match is None:
        return None, None, "poster_forged"
    code, serial = match.group(1), int(match.group(2))
    if not hmac.compare_digest(_mac(code, serial), match.group(3)):
        return None, None, "poster_forged"
    row = db.session.execute(db.select(ServicePoint, ServicePointPoster)
                             .join(ServicePointPoster, ServicePointPoster.point_id == ServicePoint.id)
                             .where(ServicePoint.code == code, ServicePointPoster.serial == serial)).first()
    if row is None:
        return None, None, "poster_forged"
    point, poster = row
    if poster.is_revoked:
        return point, poster, "poster_revoked"
    if point.status != "active":
        return point, poster, "point_retired"
    return point, poster, None
