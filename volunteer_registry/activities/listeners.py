"""The activities part's receivers: a closing account's upcoming sign-ups are withdrawn."""
from __future__ import annotations

import datetime as dt

from .. import signals
from ..extensions import db
from ..volunteers.queries import volunteer_for_user
from .models import Activity, Signup
from .services import withdraw


def withdraw_upcoming(user, *, now: dt.datetime, **_facts) -> None:
    """The person's sign-ups to activities not yet started are withdrawn, as when they withdraw themselves (the
    first on a waiting list moves up into a freed place)."""
    volunteer = volunteer_for_user(user)
    if volunteer is None:
        return
    upcoming = db.session.scalars(db.select(Activity).join(Signup, Signup.activity_id == Activity.id).where(
        Signup.volunteer_id == volunteer.id, Signup.status.in_(("accepted", "pending", "waitlisted")),
        Activity.starts_at > now))
    for activity in list(upcoming):
        withdraw(user, activity, now)


def connect() -> None:
    """Connect the part's receivers (idempotent)."""
    signals.account_closing.connect(withdraw_upcoming)
