"""Shape checks only; the rules (ranges, a point in use, a poster not yet withdrawn) live in services."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FloatField, IntegerField, StringField, TextAreaField
from wtforms.validators import InputRequired, NumberRange

from ..schema import validators_for
from .schemas import DEFAULT_RADIUS_M, REVOCATION, SERVICE_POINT


def _range(name: str) -> list:
    spec = SERVICE_POINT[name]
    # InputRequired, not DataRequired: 0 is a latitude
    return [InputRequired(), NumberRange(min=spec.minimum, max=spec.maximum)]


class PointForm(FlaskForm):
    name = StringField(_l("Name"), validators=validators_for(SERVICE_POINT, "name"),
                       description=SERVICE_POINT["name"].description)
    address = StringField(_l("Address"), validators=validators_for(SERVICE_POINT, "address"))
    latitude = FloatField(_l("Latitude"), validators=_range("latitude"),
                          render_kw={"step": "any", "inputmode": "decimal"})
    longitude = FloatField(_l("Longitude"), validators=_range("longitude"),
                           render_kw={"step": "any", "inputmode": "decimal"})
    radius_m = IntegerField(_l("Radius in metres"), validators=_range("radius_m"), default=DEFAULT_RADIUS_M,
                            description=_l("A scan farther than this from the point is accepted but flagged for "
                                           "review."),
                            render_kw={"inputmode": "numeric", "min": SERVICE_POINT["radius_m"].minimum,
                                       "max": SERVICE_POINT["radius_m"].maximum})


class RevokePosterForm(FlaskForm):
    reason = TextAreaField(_l("Why it is withdrawn"), validators=validators_for(REVOCATION, "reason"),
                           description=_l("For example: lost, photographed and shared, torn down."))
    reprint = BooleanField(_l("Print a new poster at once"), default=True)

