"""Shape checks only; the rules (what can be certified, who issues, a reason to revoke) live in services."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired

from ..forms import IdsField
from ..schema import validators_for
from .schemas import CERTIFICATE_ASK, REVOCATION


class PeriodForm(FlaskForm):
    """The period of a bulk issue (a GET form: it only chooses what to list)."""

    class Meta:
        csrf = False

    period_start = DateField(_l("From"), validators=[DataRequired()])
    period_end = DateField(_l("To"), validators=[DataRequired()])


class IssueForm(FlaskForm):
    """Bulk issue in two steps: the ticked volunteers are first shown back (who, which period, how many hours
    each); only the confirmation page's button, ``confirm=yes``, issues."""

    period_start = DateField(_l("From"), validators=[DataRequired()])
    period_end = DateField(_l("To"), validators=[DataRequired()])
    volunteers = IdsField(_l("Volunteers"))
    #: sent by the confirmation page's buttons (so not a hidden input): "yes" issues, "change" goes back to the
    #: list with the same ticks
    confirm = StringField()
    #: a digest of what the confirmation page showed: if the hours changed meanwhile, it is shown again
    shown = HiddenField()


class RequestForm(FlaskForm):
    organization = SelectField(_l("Organization"), validators=[DataRequired()], validate_choice=False)
    period_start = DateField(_l("From"), validators=[DataRequired()])
    period_end = DateField(_l("To"), validators=[DataRequired()])
    note = StringField(_l("What it is for (optional)"), validators=validators_for(CERTIFICATE_ASK, "note"),
                       description=_l("For example: a university application. The organization sees it."))


class ReasonForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=validators_for(REVOCATION, "reason"))


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token."""
