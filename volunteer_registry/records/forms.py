"""Shape checks only; the rules (dates not in the future, the period's order, lengths, membership) live in
services."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Optional

from ..forms import choices
from ..schema import validators_for
from .schemas import AWARD, AWARD_LEVELS, EVALUATION, RATINGS, TRAINING, WITHDRAWAL


class TrainingForm(FlaskForm):
    title = StringField(_l("Course"), validators=validators_for(TRAINING, "title"))
    provider = StringField(_l("Given by"), validators=validators_for(TRAINING, "provider"),
                           description=_l("The organization or person who gave the course."))
    date = DateField(_l("Date"), validators=[DataRequired()])
    hours = DecimalField(_l("Hours"), validators=[InputRequired()], places=None,
                         description=_l("The course's length, e.g. 1.5 for an hour and a half."),
                         render_kw={"inputmode": "decimal", "step": "any", "min": "0"})
    notes = StringField(_l("Certificate number or notes (optional)"),
                        validators=validators_for(TRAINING, "notes"))


class AwardForm(FlaskForm):
    title = StringField(_l("Award or commendation"), validators=validators_for(AWARD, "title"))
    provider = StringField(_l("Given by"), validators=validators_for(AWARD, "provider"),
                           description=_l("The body that gave the award."))
    date = DateField(_l("Date"), validators=[DataRequired()])
    level = SelectField(_l("Level (optional)"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.level.choices = choices([("", _l("Not given")), *AWARD_LEVELS.items()])


class EvaluationForm(FlaskForm):
    period_start = DateField(_l("Period from"), validators=[DataRequired()])
    period_end = DateField(_l("Period to"), validators=[DataRequired()])
    rating = SelectField(_l("Rating"), validators=[DataRequired()])
    comment = TextAreaField(_l("Comment"), validators=validators_for(EVALUATION, "comment"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.rating.choices = choices([("", _l("Choose…")), *RATINGS.items()])


#: the form for each kind a coordinator records; each is shown with its kind as prefix (field ids stay unique)
RECORD_FORMS = {"training": TrainingForm, "award": AwardForm, "evaluation": EvaluationForm}


class WithdrawForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=validators_for(WITHDRAWAL, "reason"),
                         description=_l("Why the record is wrong. Kept with the record; the volunteer no longer "
                                        "sees it."))
