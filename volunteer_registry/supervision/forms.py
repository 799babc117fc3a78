"""Shape checks only; the rules (sample sizes, what an outcome needs, who may do what) live in services. Limits
come from models.py."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..forms import IdsField, PlainText, choices
from .models import (
    ACTION_REASON_MAX,
    COMPLAINT_CONTACT_MAX,
    COMPLAINT_MESSAGE_MAX,
    COMPLAINT_RESPONSE_MAX,
    COMPLAINT_STATUSES,
    DEFAULT_CERTIFICATE_SAMPLE,
    DEFAULT_ENTRY_SAMPLE,
    DESCRIPTION_MAX,
    MAX_SAMPLE,
    OUTCOMES,
    SIGNAL_KINDS,
)


class QueueFilterForm(FlaskForm):
    """The risk queue's filter (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    kind = SelectField(_l("Signal"), choices=choices([("", _l("All signals")), *SIGNAL_KINDS.items()]),
                       validators=[Optional()])


class ComplaintFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField(_l("Status"), choices=choices([("", _l("All")), *COMPLAINT_STATUSES.items()]),
                         validators=[Optional()])


class StartCheckForm(FlaskForm):
    certificates = IntegerField(_l("Certificates to draw"), default=DEFAULT_CERTIFICATE_SAMPLE,
                                validators=[InputRequired(), NumberRange(0, MAX_SAMPLE)],
                                description=_l("Drawn at random from its valid certificates."))
    entries = IntegerField(_l("Approved entries to draw"), default=DEFAULT_ENTRY_SAMPLE,
                           validators=[InputRequired(), NumberRange(0, MAX_SAMPLE)],
                           description=_l("Drawn at random from its approved service entries."))


class OutcomeForm(FlaskForm):
    outcome = RadioField(_l("Outcome"), choices=choices(OUTCOMES), validators=[InputRequired()])
    description = TextAreaField(_l("What you found"), validators=[Optional(), Length(max=DESCRIPTION_MAX),
                                                                  PlainText(multiline=True)],
                                description=_l("Needed when there is a problem. Not published."))
    reason = StringField(_l("Reason for the annulments and revocations"),
                         validators=[Optional(), Length(max=ACTION_REASON_MAX), PlainText(multiline=True)],
                         description=_l("Recorded in the ledger; whoever verifies a revoked certificate sees it."))
    annul = IdsField(_l("Annul"))
    revoke = IdsField(_l("Revoke"))


class ComplaintForm(FlaskForm):
    message = TextAreaField(_l("What is wrong"), validators=[DataRequired(), Length(max=COMPLAINT_MESSAGE_MAX),
                                                             PlainText(multiline=True)],
                            description=_l("Say what you know: which service, which dates, what does not match."))
    contact = StringField(_l("How to reach you (optional)"),
                          validators=[Optional(), Length(max=COMPLAINT_CONTACT_MAX), PlainText()],
                          description=_l("A phone number or an email address, if civil affairs may contact you. "
                                         "Only civil affairs sees it."))


class ResponseForm(FlaskForm):
    status = SelectField(_l("Status"), choices=choices(COMPLAINT_STATUSES), validators=[InputRequired()])
    response = TextAreaField(_l("Response to the complainant"),
                             validators=[Optional(), Length(max=COMPLAINT_RESPONSE_MAX), PlainText(multiline=True)],
                             description=_l("The person who filed the complaint sees it on their follow page."))
