"""The writes of the calendar part: a volunteer's private feed is opened (its secret made) and reset. The secret
is 32 random bytes, shown to its owner when made and stored only as its SHA-256: whoever reads the database
cannot subscribe to anyone's calendar, and a reset makes the old URL stop working."""
from __future__ import annotations

import secrets

from ..audit.services import record_event
from ..errors import DomainError
from ..extensions import db
from ..models import utcnow
from ..volunteers.queries import volunteer_for_user
from .models import CalendarFeed
from .queries import feed_of, token_hash

#: bytes of randomness in a feed's secret (encoded URL-safe: 43 characters)
TOKEN_BYTES = 32


class CalendarError(DomainError):
    messages = {"volunteer_profile_required": "Complete your volunteer profile first."}
    statuses = {"volunteer_profile_required": 403}


def _volunteer_of(user):
    volunteer = volunteer_for_user(user) if user is not None and user.is_authenticated else None
    if volunteer is None:
        raise CalendarError("volunteer_profile_required")
    return volunteer


def open_feed(user) -> tuple[CalendarFeed, str | None]:
    """The signed-in volunteer's feed, made on the first call: (feed, its secret) when made now, (feed, None)
    when it already existed (its secret is not stored, so it cannot be shown again). Raises
    volunteer_profile_required."""
    volunteer = _volunteer_of(user)
    feed = feed_of(volunteer)
    if feed is not None:
        return feed, None
    token = secrets.token_urlsafe(TOKEN_BYTES)
    feed = CalendarFeed(volunteer_id=volunteer.id, token_hash=token_hash(token), created_at=utcnow())
    db.session.add(feed)
    db.session.flush()
    record_event("calendar.opened", actor=user, target=feed)
    return feed, token


def reset_feed(user) -> tuple[CalendarFeed, str]:
    """A new secret for the volunteer's feed (made if they had none): the old URL stops working at once. Returns
    the feed and the new secret, to be shown once. Raises volunteer_profile_required."""
    volunteer = _volunteer_of(user)
    feed = feed_of(volunteer)
    if feed is None:
        return open_feed(user)  # type: ignore[return-value]
    token = secrets.token_urlsafe(TOKEN_BYTES)
    feed.token_hash = token_hash(token)
    feed.created_at = utcnow()
    db.session.flush()
    record_event("calendar.reset", actor=user, target=feed)
    return feed, token
