"""The correction requests' forms: a volunteer's report (of an error, of an omission) and the organization's answer."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import NumberRange, Optional

from ..activities.forms import LocalDateTimeField
from ..schema import validators_for
from .schemas import ANSWER, REPORT


class ErrorReportForm(FlaskForm):
    claimed_minutes = IntegerField(_l("The minutes that are right (optional)"),
                                   validators=[Optional(), NumberRange(0, 1440)],
                                   render_kw={"inputmode": "numeric", "min": 0, "max": 1440})
    message = TextAreaField(_l("What is wrong"), validators=validators_for(REPORT, "message"))


class OmissionReportForm(FlaskForm):
    activity = SelectField(_l("Activity"))
    started_at = LocalDateTimeField(_l("From"), validators=[Optional()], description=_l("Beijing time."))
    ended_at = LocalDateTimeField(_l("To"), validators=[Optional()], description=_l("Beijing time."))
    message = TextAreaField(_l("What was missed"), validators=validators_for(REPORT, "message"))


class CorrectionDecisionForm(FlaskForm):
    decision = StringField()  # from the button pressed (hidden_tag() must not render it)
    minutes = IntegerField(_l("Minutes that count"), validators=[Optional(), NumberRange(0, 1440)])
    response = TextAreaField(_l("Answer to the volunteer"), validators=validators_for(ANSWER, "response"))
