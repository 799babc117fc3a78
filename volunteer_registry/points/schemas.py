"""A service point's shape, declared once: the model, the form and the service read it."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..activities.schemas import ADDRESS_MAX, RADIUS_MAX, RADIUS_MIN
from ..schema import Integer, Number, Schema, Text

POINT_STATUSES = {"active": _l("In use"), "retired": _l("Retired")}
NAME_MAX = 80
REVOCATION_REASON_MAX = 500
#: the radius a point's scans must fall within by default (metres)
DEFAULT_RADIUS_M = 150

#: what a coordinator enters for a service point
SERVICE_POINT = Schema("ServicePointFields", {
    "name": Text(NAME_MAX, required=True, description="The station, care home or home, as volunteers know it."),
    "address": Text(ADDRESS_MAX, required=True),
    "latitude": Number(-90, 90, required=True),
    "longitude": Number(-180, 180, required=True),
    "radius_m": Integer(RADIUS_MIN, RADIUS_MAX, required=True,
                        description="A scan farther than this from the point is flagged outside_radius."),
})

#: why a poster is withdrawn (lost, photographed and shared, torn down)
REVOCATION = Schema("PosterRevocation", {
    "reason": Text(REVOCATION_REASON_MAX, required=True, multiline=True),
})
#: the paper sizes a poster is printed on, and the side of its QR code there
POSTER_SIZES = {"A4": {"page": "210mm 297mm", "qr_mm": 150}, "A6": {"page": "105mm 148mm", "qr_mm": 72}}
