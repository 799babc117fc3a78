"""Reads for the calendar feeds: which shifts each feed lists. Nothing here authorizes or writes; the views
decide who asks (the secret URL, the signed-in volunteer, anyone for a public organization)."""
from __future__ import annotations

import datetime as dt
import hashlib

from ..activities.models import Activity, Shift, Signup
from ..activities.rules import ORGANIZATION_RUNNING
from ..activities.schemas import ACTIVE_SIGNUP_STATUSES, PUBLIC_ACTIVITY_STATUSES
from ..extensions import db
from ..models import utcnow
from ..organizations.models import Organization
from .models import CalendarFeed

#: how far back a volunteer's feed reaches: shifts that ended longer ago drop out of it
PAST_DAYS = 30
#: a withdrawn or declined sign-up stays in the feed as STATUS:CANCELLED this long after it changed, so that a
#: phone that already shows it removes it at its next refresh
CANCELLED_KEPT_DAYS = 30
#: the most events one feed carries (a long duty roster stays a feed a phone will load)
FEED_EVENTS_MAX = 500


def token_hash(token: str) -> str:
    """The SHA-256 (hex) under which a feed's secret is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def feed_by_token(token: str) -> CalendarFeed | None:
    """The feed whose secret is ``token``, compared by its hash; None for an unknown or reset one."""
    if not token or len(token) > 200:
        return None
    return db.session.scalar(db.select(CalendarFeed).where(CalendarFeed.token_hash == token_hash(token)))


def feed_of(volunteer) -> CalendarFeed | None:
    return db.session.scalar(db.select(CalendarFeed).where(CalendarFeed.volunteer_id == volunteer.id))


def feed_signups(volunteer_id: int, now: dt.datetime | None = None) -> list[Signup]:
    """The volunteer's sign-ups the private feed lists, soonest first: every place they hold (accepted, pending,
    waitlisted) in a shift that ended at most PAST_DAYS ago, and those withdrawn or declined (or whose shift was
    cancelled) within CANCELLED_KEPT_DAYS, for phones to remove."""
    now = now or utcnow()
    since = now - dt.timedelta(days=PAST_DAYS)
    changed_since = now - dt.timedelta(days=CANCELLED_KEPT_DAYS)
    kept = db.or_(Signup.status.in_(ACTIVE_SIGNUP_STATUSES),
                  db.and_(Signup.status.in_(("withdrawn", "declined")),
                          db.func.coalesce(Signup.decided_at, Signup.created_at) >= changed_since))
    query = (db.select(Signup).join(Shift, Shift.id == Signup.shift_id)
             .join(Activity, Activity.id == Signup.activity_id)
             .where(Signup.volunteer_id == volunteer_id, Shift.ends_at >= since, kept,
                    Activity.status.in_(PUBLIC_ACTIVITY_STATUSES))
             .order_by(Shift.starts_at, Shift.id).limit(FEED_EVENTS_MAX))
    return list(db.session.scalars(query))


def signup_in_shift(shift: Shift, volunteer) -> Signup | None:
    """The volunteer's sign-up for ``shift``, if any (any status)."""
    if volunteer is None:
        return None
    return db.session.scalar(db.select(Signup).where(Signup.shift_id == shift.id,
                                                     Signup.volunteer_id == volunteer.id))


def is_public_shift(shift: Shift) -> bool:
    """Whether the shift's activity is one anyone may see (published or closed, of an approved organization)."""
    activity = shift.activity
    return activity.status in PUBLIC_ACTIVITY_STATUSES and activity.organization.status == ORGANIZATION_RUNNING


def shift_by_id(shift_id: int) -> Shift | None:
    try:
        return db.session.get(Shift, int(shift_id))
    except (TypeError, ValueError, OverflowError):
        return None


def recruiting_shifts(org: Organization, now: dt.datetime | None = None) -> list[Shift]:
    """The organization's open shifts yet to start in its published activities that are recruiting, soonest
    first: what its public feed lists. No sign-up, so no person, is read."""
    now = now or utcnow()
    query = (db.select(Shift).join(Activity, Activity.id == Shift.activity_id)
             .where(Shift.organization_id == org.id, Activity.organization_id == org.id,
                    Activity.status == "published", Activity.is_recruiting.is_(True),
                    Shift.status == "open", Shift.starts_at > now)
             .order_by(Shift.starts_at, Shift.id).limit(FEED_EVENTS_MAX))
    return list(db.session.scalars(query))
