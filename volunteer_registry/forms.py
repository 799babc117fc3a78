"""Form pieces shared by every part."""
from __future__ import annotations

from flask_wtf import FlaskForm


class ConfirmForm(FlaskForm):
    """A form with no fields: the CSRF token for a POST button (sign out, revoke, approve)."""
