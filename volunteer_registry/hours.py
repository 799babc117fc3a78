"""Service time as people read it: integer minutes are stored, hours with one decimal are shown (DESIGN.md).

The one rounding rule lives here, so that a certificate, its PDF, its signed token, the API, the reports and every
page give the same figure for the same minutes. Nothing in this module imports another part of the application:
certificates, ledger, reports and the API may all read it without a cycle.
"""
from __future__ import annotations

from flask_babel import format_decimal
from flask_babel import gettext as _

MINUTES_PER_HOUR = 60


def as_hours(minutes: int | None) -> float | None:
    """The minutes as hours rounded to one decimal (half to even on the binary quotient, as Python's ``round``):
    the number the JSON gives, e.g. 750 → 12.5, 9 → 0.1; None (no figure) stays None."""
    if minutes is None:
        return None
    # A float rounded by round(): the JSON, the signed certificate tokens and the PDFs issued so far carry exactly
    # these values; a Decimal rounded half up would turn 9 minutes into 0.2 h and contradict them.
    return round(int(minutes) / MINUTES_PER_HOUR, 1)


def hours_text(minutes: int) -> str:
    """The hours as plain text with exactly one decimal and no grouping, e.g. "12.5" (certificates, their PDF,
    emails, the command line)."""
    return f"{as_hours(minutes):.1f}"


def hours_label(minutes: int | None) -> str:
    """The hours for a page in the reader's language: grouped digits, one decimal and the unit, e.g. "1,234.5 h";
    None counts as no time."""
    return _("%(hours)s h", hours=format_decimal(as_hours(minutes or 0), format="#,##0.0"))
