from __future__ import annotations

from ..extensions import db
from .models import Volunteer


def volunteer_for_user(user) -> Volunteer | None:
    if user is None or not user.is_authenticated:
        return None
    return db.session.scalar(db.select(Volunteer).where(Volunteer.user_id == user.id))


def volunteer_by_number(number: str) -> Volunteer | None:
    return db.session.scalar(db.select(Volunteer).where(Volunteer.volunteer_number == number))
