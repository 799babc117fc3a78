"""Form pieces shared by every part."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectMultipleField
from wtforms.validators import ValidationError

from .database import MAX_ID
from .text import TextError, check_plain_text


class ConfirmForm(FlaskForm):
    """A form with no fields: the CSRF token for a POST button (sign out, revoke, approve)."""


def choices(pairs) -> list[SelectChoice]:
    """Select options from (value, label) pairs or a {value: label} mapping; labels may be lazy translations."""
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return [SelectChoice(value, label) for value, label in items]


class IdsField(SelectMultipleField):
    """Ticked rows (entries, volunteers, certificates) by id; the service checks that each is one it may act on.

    Every id must be a key the database can hold: a larger number would reach the query and fail there.
    """

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("coerce", int)
        super().__init__(label, validators, validate_choice=False, **kwargs)

    def pre_validate(self, form):
        if any(not 1 <= number <= MAX_ID for number in self.data or ()):
            raise ValidationError(_l("Choose from the list."))


class PlainText:
    """The rule of :func:`volunteer_registry.text.check_plain_text` on a name, title or reason field: a refusal is
    shown next to the field, before any service is called. ``multiline`` for text areas (reasons, descriptions)."""

    def __init__(self, *, multiline: bool = False):
        self.multiline = multiline

    def __call__(self, form, field):
        if isinstance(field.data, str):
            try:
                check_plain_text(field.data, multiline=self.multiline)
            except TextError as error:
                raise ValidationError(error.message) from None
