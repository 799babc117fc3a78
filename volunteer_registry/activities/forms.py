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
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms import choices
from ..regions import region_choices
from ..schema import validators_for
from ..timeutil import local
from .schemas import (
    ACTIVITY,
    CATEGORIES,
    FREQUENCIES,
    INTERVAL_MAX,
    SERIES,
    SHIFT,
    SHIFT_CANCEL,
    SIGNUP_MODES,
    TITLE_MAX,
    WEEKDAYS,
)


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
    title = StringField(_l("Title"), validators=validators_for(ACTIVITY, "title"))
    category = SelectField(_l("Service category"), validators=[DataRequired()])
    recipient = StringField(_l("Service recipient"), validators=validators_for(ACTIVITY, "recipient"),
                            description=_l("Who or what the service is for, e.g. a care home or a river bank."))
    description = TextAreaField(_l("What volunteers will do"),
                                validators=validators_for(ACTIVITY, "description"))
    starts_at = LocalDateTimeField(_l("Starts"), validators=[DataRequired()],
                                   description=_l("Beijing time."))
    ends_at = LocalDateTimeField(_l("Ends"), validators=[DataRequired()], description=_l("Beijing time."))
    region_code = SelectField(_l("Region"), validators=[DataRequired()])
    address = StringField(_l("Place"), validators=validators_for(ACTIVITY, "address"))
    latitude = FloatField(_l("Latitude (optional)"), validators=[Optional()],
                          render_kw={"step": "any", "inputmode": "decimal"})
    longitude = FloatField(_l("Longitude (optional)"), validators=[Optional()],
                           render_kw={"step": "any", "inputmode": "decimal"})
    radius_m = IntegerField(_l("Check-in radius in metres (optional)"), validators=[Optional()],
                            description=_l("Scans farther than this from the place are flagged for review, "
                                           "not refused. Needs the coordinates."),
                            render_kw={"inputmode": "numeric", "min": ACTIVITY["radius_m"].minimum,
                                       "max": ACTIVITY["radius_m"].maximum})
    capacity = IntegerField(_l("Places (optional)"), validators=[Optional()],
                            description=_l("Leave empty for no limit. When full, new sign-ups join a waiting "
                                           "list."),
                            render_kw={"inputmode": "numeric", "min": ACTIVITY["capacity"].minimum})
    signup_mode = SelectField(_l("Sign-ups"), default="auto")
    is_recruiting = BooleanField(_l("Recruitment open"), default=True)
    allows_walk_ins = BooleanField(_l("Volunteers who did not sign up may check in on the day"))
    grace_minutes = IntegerField(_l("Grace period in minutes"), default=30,
                                 description=_l("Scans are accepted this long before the start and after the end."),
                                 validators=[Optional()],
                                 render_kw={"inputmode": "numeric", "min": ACTIVITY["grace_minutes"].minimum,
                                            "max": ACTIVITY["grace_minutes"].maximum})
    person_in_charge = StringField(_l("Person in charge"), validators=validators_for(ACTIVITY, "person_in_charge"))
    risk_disclosure = TextAreaField(_l("Risks volunteers should know about"),
                                    validators=validators_for(ACTIVITY, "risk_disclosure"))
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

    q = StringField(_l("Title"), validators=[Optional(), Length(max=TITLE_MAX)])
    region = SelectField(_l("Region"), validators=[Optional()])
    category = SelectField(_l("Category"), validators=[Optional()])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.region.choices = choices([("", _l("All regions")), *region_choices()])
        self.category.choices = choices([("", _l("All categories")), *CATEGORIES.items()])


class ShiftForm(FlaskForm):
    """One more shift of an activity."""

    starts_at = LocalDateTimeField(_l("Starts"), validators=[DataRequired()], description=_l("Beijing time."))
    ends_at = LocalDateTimeField(_l("Ends"), validators=[DataRequired()],
                                 description=_l("At most 24 hours after the start."))
    capacity = IntegerField(_l("Places (optional)"), validators=[Optional()],
                            description=_l("Leave empty for no limit."),
                            render_kw={"inputmode": "numeric", "min": SHIFT["capacity"].minimum})
    role = StringField(_l("Role or skill needed (optional)"), validators=validators_for(SHIFT, "role"))


class CancelShiftForm(FlaskForm):
    reason = StringField(_l("Reason (told to those signed up)"), validators=validators_for(SHIFT_CANCEL, "reason"))


class SeriesForm(FlaskForm):
    """A duty roster's rule: shape only; activities.schedule.clean_series checks the rule."""

    frequency = SelectField(_l("Repeats"), default="weekly")
    weekdays = SelectMultipleField(_l("On"), validators=[Optional()], widget=ListWidget(prefix_label=False),
                                   option_widget=CheckboxInput())
    interval = IntegerField(_l("Every how many days or weeks"), default=1, validators=[Optional()],
                            render_kw={"inputmode": "numeric", "min": 1, "max": INTERVAL_MAX})
    first_day = DateField(_l("First day"), validators=[DataRequired()])
    until = DateField(_l("Last day"), validators=[Optional()],
                      description=_l("Give a last day or a number of shifts. At most a year after the first day."))
    count = IntegerField(_l("Or a number of shifts"), validators=[Optional()],
                         render_kw={"inputmode": "numeric", "min": SERIES["count"].minimum,
                                    "max": SERIES["count"].maximum})
    start_time = TimeField(_l("Starts at"), validators=[DataRequired()], description=_l("Beijing time."))
    duration_minutes = IntegerField(_l("Lasts (minutes)"), validators=[DataRequired()],
                                    render_kw={"inputmode": "numeric", "min": 1,
                                               "max": SERIES["duration_minutes"].maximum})
    capacity = IntegerField(_l("Places in each shift (optional)"), validators=[Optional()],
                            render_kw={"inputmode": "numeric", "min": SERIES["capacity"].minimum})
    role = StringField(_l("Role or skill needed (optional)"), validators=validators_for(SERIES, "role"))
    exceptions = TextAreaField(_l("Days skipped (holidays)"), validators=[Optional()],
                               description=_l("One date per line, as 2027-10-01."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.frequency.choices = choices(FREQUENCIES)
        self.weekdays.choices = choices(WEEKDAYS)
