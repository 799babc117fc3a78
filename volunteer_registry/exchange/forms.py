"""The exchange's forms: shape only (the services check the code and the peer)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

#: a code as typed: twelve characters, with or without hyphens and spaces
CODE_TYPED_MAX = 20


class TransferInForm(FlaskForm):
    """Bring the record from another registry: which one (a trusted peer) and the code created there."""

    url = SelectField(_l("The system your record is on"), validators=[DataRequired()], validate_choice=False)
    code = StringField(_l("Transfer code"), validators=[DataRequired(), Length(max=CODE_TYPED_MAX)],
                       description=_l("Twelve characters, as the other system showed them, e.g. K7QF-3MXA-9T44."),
                       render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"})
