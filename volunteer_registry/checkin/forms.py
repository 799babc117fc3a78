"""Shape checks only; the rules (times within the activity, four eyes, open sessions) live in services."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Regexp

from ..forms import choices
from ..schema import validators_for
from ..timeutil import parse_datetime
from .schemas import CHECKOUT_FIX, EVENT_ID_PATTERN, MANUAL_ENTRY


class BeijingDateTimeField(DateTimeLocalField):
    """A datetime-local input typed in Beijing time; ``utc`` is the aware UTC value (None when empty)."""

    @property
    def utc(self):
        return parse_datetime(self.data) if self.data else None


class KioskTapForm(FlaskForm):
    """The one button on the page a kiosk QR opens. The event id is made when the page is rendered, so a double
    tap (or a resent form) is the same scan."""

    event_id = HiddenField(validators=[DataRequired(), Regexp(EVENT_ID_PATTERN)])


class FixCheckoutForm(FlaskForm):
    checked_out_at = BeijingDateTimeField(_l("Left at"), validators=[DataRequired()], description=_l("Beijing time."))
    reason = StringField(_l("Reason"), validators=validators_for(CHECKOUT_FIX, "reason"))


class ManualEntryForm(FlaskForm):
    volunteer_number = StringField(_l("Volunteer number"), validators=validators_for(MANUAL_ENTRY, "volunteer_number"),
                                   render_kw={"autocomplete": "off", "autocapitalize": "characters"})
    started_at = BeijingDateTimeField(_l("Arrived"), validators=[DataRequired()], description=_l("Beijing time."))
    ended_at = BeijingDateTimeField(_l("Left"), validators=[DataRequired()], description=_l("Beijing time."))
    reason = TextAreaField(_l("Why it is entered by hand"),
                           validators=validators_for(MANUAL_ENTRY, "reason"))


class ManualDecisionForm(FlaskForm):
    decision = SelectField(choices=choices([("approve", _l("Approve")), ("reject", _l("Reject"))]))
