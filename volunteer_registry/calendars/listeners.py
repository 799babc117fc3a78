"""The calendar part's receivers: a deleted account's private feed stops working."""
from __future__ import annotations

import datetime as dt

from .. import signals
from ..extensions import db
from .models import CalendarFeed


def delete_feed(volunteer, *, now: dt.datetime, **_facts) -> None:
    """The anonymised volunteer's calendar feed is deleted: its secret URL answers 404 from now on."""
    db.session.execute(db.delete(CalendarFeed).where(CalendarFeed.volunteer_id == volunteer.id))


def connect() -> None:
    """Connect the part's receivers (idempotent)."""
    signals.volunteer_anonymised.connect(delete_feed)
