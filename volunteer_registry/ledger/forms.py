"""Shape checks only; the rules (who decides, a reason to reject, four eyes, all or none) live in services."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField
from wtforms.validators import Optional

from ..forms import IdsField, choices
from ..schema import validators_for
from .schemas import DECISION_FORM

STATUS_CHOICES = (("pending", _l("Waiting for approval")), ("approved", _l("Approved")),
                  ("rejected", _l("Rejected")), ("annulled", _l("Annulled")), ("all", _l("All")))


class EntryFilterForm(FlaskForm):
    """The filters of the approval page (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"), default="pending", choices=choices(STATUS_CHOICES))
    activity = SelectField(_l("Activity"), validators=[Optional()])
    flagged = BooleanField(_l("Flagged only"))
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])

    def __init__(self, *args, activities=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.activity.choices = choices([("", _l("All activities")), *(
            (code, f"{title} · {label}") for code, title, label in activities)])


class DecisionForm(FlaskForm):
    """Approve or reject the checked entries (or one entry, from its row)."""

    entries = IdsField(_l("Entries"))
    decision = StringField()  # approve or reject: the service checks it
    reason = StringField(_l("Reason"), validators=validators_for(DECISION_FORM, "reason"),
                         description=_l("Needed to reject. The volunteer sees it."))
