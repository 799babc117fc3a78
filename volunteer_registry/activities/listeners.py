"""The activities part's receivers: a closing account's upcoming sign-ups are withdrawn."""
from __future__ import annotations

import datetime as dt

from .. import signals
from ..extensions import db
from ..volunteers.queries import volunteer_for_user
from .models import Shift, Signup
from .services import release


def withdraw_upcoming(user, *, now: dt.datetime, **_facts) -> None:
    """The person's sign-ups to shifts not yet started are withdrawn, as when they withdraw themselves (the
    first on a waiting list moves up into a freed place)."""
    volunteer = volunteer_for_user(user)
    if volunteer is None:
        return
    upcoming = db.session.scalars(db.select(Signup).join(Shift, Shift.id == Signup.shift_id).where(
        Signup.volunteer_id == volunteer.id, Signup.status.in_(("accepted", "pending", "waitlisted")),
        Shift.starts_at > now).order_by(Shift.starts_at, Signup.id))
    for signup in list(upcoming):
        release(user, signup, now)


def connect() -> None:
    """Connect the part's receivers (idempotent)."""
    signals.account_closing.connect(withdraw_upcoming)
