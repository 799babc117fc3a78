from __future__ import annotations

from .. import signals
from ..extensions import db
from .models import Volunteer


def volunteer_for_user(user) -> Volunteer | None:
    if user is None or not user.is_authenticated:
        return None
    return db.session.scalar(db.select(Volunteer).where(Volunteer.user_id == user.id))


def volunteer_by_number(number: str) -> Volunteer | None:
    return db.session.scalar(db.select(Volunteer).where(Volunteer.volunteer_number == number))


def record_sections(volunteer: Volunteer) -> dict:
    """What other parts show on the volunteer's own record page, by name (see signals.volunteer_record_wanted); a
    name no part answers is absent. Asked through a signal because organizations stands on volunteers."""
    sections: dict = {}
    for _receiver, answer in signals.volunteer_record_wanted.send(volunteer):
        sections.update(answer or {})
    return sections
