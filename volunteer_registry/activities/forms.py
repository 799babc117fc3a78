"""Shape checks only; the rules (times, capacity, coordinates, region) live in services."""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FloatField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from ..forms import PlainText, choices
from ..regions import region_choices
from ..timeutil import local
from .models import CATEGORIES, SIGNUP_MODES


class LocalDateTimeField(DateTimeLocalField):
    """A datetime-local input typed in Beijing time; a stored (UTC) value is shown in Beijing time."""

    def __init__(self, label=None, validators=None, **kwargs):
        # the browser's own value format comes first: it is also the one the field renders
        kwargs.setdefault("format", ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"])
        super().__init__(label, validators, **kwargs)

    def process_data(self, value):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = local(value).replace(tzinfo=None)
        super().process_data(value)


class ActivityForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=120), PlainText()])
    category = SelectField(_l("Service category"), validators=[DataRequired()])
    recipient = StringField(_l("Service recipient"), validators=[DataRequired(), Length(max=120), PlainText()],
                            description=_l("Who or what the service is for, e.g. a care home or a river bank."))
    description = TextAreaField(_l("What volunteers will do"),
                                validators=[Optional(), Length(max=4000), PlainText(multiline=True)])
    starts_at = LocalDateTimeField(_l("Starts"), validators=[DataRequired()],
                                   description=_l("Beijing time."))
    ends_at = LocalDateTimeField(_l("Ends"), validators=[DataRequired()], description=_l("Beijing time."))
    region_code = SelectField(_l("Region"), validators=[DataRequired()])
    address = StringField(_l("Place"), validators=[DataRequired(), Length(max=200), PlainText()])
    latitude = FloatField(_l("Latitude (optional)"), validators=[Optional()],
                          render_kw={"step": "any", "inputmode": "decimal"})
    longitude = FloatField(_l("Longitude (optional)"), validators=[Optional()],
                           render_kw={"step": "any", "inputmode": "decimal"})
    radius_m = IntegerField(_l("Check-in radius in metres (optional)"), validators=[Optional()],
                            description=_l("Scans farther than this from the place are flagged for review, "
                                           "not refused. Needs the coordinates."),
                            render_kw={"inputmode": "numeric", "min": 10, "max": 50000})
    capacity = IntegerField(_l("Places (optional)"), validators=[Optional()],
                            description=_l("Leave empty for no limit. When full, new sign-ups join a waiting "
                                           "list."),
                            render_kw={"inputmode": "numeric", "min": 1})
    signup_mode = SelectField(_l("Sign-ups"), default="auto")
    is_recruiting = BooleanField(_l("Recruitment open"), default=True)
    allows_walk_ins = BooleanField(_l("Volunteers who did not sign up may check in on the day"))
    grace_minutes = IntegerField(_l("Grace period in minutes"), default=30,
                                 description=_l("Scans are accepted this long before the start and after the end."),
                                 validators=[Optional()], render_kw={"inputmode": "numeric", "min": 0, "max": 720})
    person_in_charge = StringField(_l("Person in charge"), validators=[DataRequired(), Length(max=60), PlainText()])
    risk_disclosure = TextAreaField(_l("Risks volunteers should know about"),
                                    validators=[Optional(), Length(max=4000), PlainText(multiline=True)])
    requires_training = BooleanField(_l("Training is required"))
    requires_insurance = BooleanField(_l("Insurance is required"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = choices([("", _l("Choose…")), *CATEGORIES.items()])
        self.region_code.choices = choices([("", _l("Choose…")), *region_choices()])
        self.signup_mode.choices = choices(SIGNUP_MODES)


class SignupDecisionForm(FlaskForm):
    decision = SelectField(choices=choices([("approve", _l("Approve")), ("decline", _l("Decline"))]))


class FindForm(FlaskForm):
    """The filters of the activity search (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField(_l("Title"), validators=[Optional(), Length(max=120)])
    region = SelectField(_l("Region"), validators=[Optional()])
    category = SelectField(_l("Category"), validators=[Optional()])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.region.choices = choices([("", _l("All regions")), *region_choices()])
        self.category.choices = choices([("", _l("All categories")), *CATEGORIES.items()])
