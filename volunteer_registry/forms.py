"""Form pieces shared by every part."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectChoice


class ConfirmForm(FlaskForm):
    """A form with no fields: the CSRF token for a POST button (sign out, revoke, approve)."""


def choices(pairs) -> list[SelectChoice]:
    """Select options from (value, label) pairs or a {value: label} mapping; labels may be lazy translations."""
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return [SelectChoice(value, label) for value, label in items]
