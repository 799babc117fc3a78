"""Read helpers for activity pages."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import case, func
from sqlalchemy.orm import joinedload

from ..accounts.permissions import can, require
from ..errors import NotFound
from ..extensions import db
from ..models import utcnow
from ..organizations.models import Organization
from ..organizations.queries import _contains
from ..regions import get_region
from ..timeutil import LOCAL_ZONE
from ..volunteers.models import Volunteer
from .models import CATEGORIES, Activity, Signup
from .services import signup_of

#: sign-up statuses that hold (or wait for) a place
ACTIVE_SIGNUPS = ("accepted", "pending", "waitlisted")


def activity_by_code(code: str | None) -> Activity:
    """The activity with this public code, and its organization (every caller checks its status or a permission
    in it). Raises NotFound."""
    activity = db.session.scalar(db.select(Activity).options(joinedload(Activity.organization))
                                 .where(Activity.code == (code or "").upper()))
    if activity is None:
        raise NotFound("not_found", _l("No activity has this code."))
    return activity


def visible_activity(code: str, user) -> Activity:
    """The activity as ``user`` may know it, on every page and API endpoint: a published or closed one of an
    approved organization for everyone (those who served keep a page to point to); a draft, or any activity of an
    organization that is not approved, only for the staff who run the organization's activities. Raises NotFound."""
    activity = activity_by_code(code)
    public = activity.status in ("published", "closed") and activity.organization.status == "approved"
    if not public and not can(user, "activities.manage", activity.organization):
        raise NotFound("not_found")
    return activity


def staff_activity(code: str, permission: str, user) -> Activity:
    """The activity behind a staff page (editing it, its sign-ups, its check-in pages), when ``user`` holds
    ``permission`` over its organization. NotFound where :func:`visible_activity` says it does not exist for them
    (a draft, an unapproved organization's: its code is not confirmed), Forbidden where they may see it but not act."""
    activity = visible_activity(code, user)
    require(permission, activity.organization, user)
    return activity


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=LOCAL_ZONE).astimezone(dt.UTC)


def find_activities(*, text: str = "", region_code: str = "", category: str = "", date_from: dt.date | None = None,
                    date_to: dt.date | None = None, page: int = 1, per_page: int = 20,
                    now: dt.datetime | None = None) -> Pagination:
    """Published activities of approved organizations, soonest first, searched by title and narrowed to a region
    (and what lies inside it), a category and local dates (an activity matches a day it runs on). Without a start
    date, activities that have already ended are left out."""
    query = (db.select(Activity).join(Organization, Organization.id == Activity.organization_id)
             .where(Activity.status == "published", Organization.status == "approved"))
    text = text.strip()
    if text:
        query = query.where(Activity.title.ilike(_contains(text), escape="\\"))
    region = get_region(region_code)
    if region is not None:
        query = query.where(Activity.region_code.startswith(region.prefix))
    if category in CATEGORIES:
        query = query.where(Activity.category == category)
    if date_from is not None:
        query = query.where(Activity.ends_at > _local_midnight(date_from))
    else:
        query = query.where(Activity.ends_at > (now or utcnow()))
    if date_to is not None:
        query = query.where(Activity.starts_at < _local_midnight(date_to + dt.timedelta(days=1)))
    return db.paginate(query.order_by(Activity.starts_at, Activity.id), page=page, per_page=per_page,
                       error_out=False)


def places_left(activities) -> dict[int, int | None]:
    """Activity id → places still free (0 when full: new sign-ups join the waiting list); None for no limit."""
    limited = {a.id: a.capacity for a in activities if a.capacity is not None}
    counts = {}
    if limited:
        counts = dict(db.session.execute(
            db.select(Signup.activity_id, func.count()).where(Signup.activity_id.in_(limited),
                                                               Signup.status == "accepted")
            .group_by(Signup.activity_id)).all())
    return {a.id: (max(0, a.capacity - counts.get(a.id, 0)) if a.capacity is not None else None)
            for a in activities}


def activities_of_organization(org: Organization, page: int = 1) -> Pagination:
    """Every activity of the organization, whatever its status, the latest start first."""
    query = db.select(Activity).where(Activity.organization_id == org.id)
    return db.paginate(query.order_by(Activity.starts_at.desc(), Activity.id.desc()), page=page, per_page=25,
                       error_out=False)


def signups(activity: Activity, page: int = 1) -> Pagination:
    """The activity's sign-ups: those waiting for a decision first, then in the order they came."""
    waiting_first = case((Signup.status == "pending", 0), else_=1)
    query = (db.select(Signup).join(Volunteer, Volunteer.id == Signup.volunteer_id)
             .where(Signup.activity_id == activity.id))
    return db.paginate(query.order_by(waiting_first, Signup.created_at, Signup.id), page=page,
                       per_page=50, error_out=False)


def signup_in(activity: Activity, signup_id: int) -> Signup:
    """A sign-up for this activity (never another's). Raises NotFound."""
    signup = db.session.get(Signup, signup_id)
    if signup is None or signup.activity_id != activity.id:
        raise NotFound("not_found")
    return signup


def signup_counts(activity: Activity) -> dict[str, int]:
    rows = db.session.execute(db.select(Signup.status, func.count()).where(Signup.activity_id == activity.id)
                              .group_by(Signup.status))
    return {status: count for status, count in rows}


@dataclass(frozen=True)
class SignupOptions:
    """What a person may do about their place in an activity, for the buttons of its page."""

    signup: Signup | None
    can_sign_up: bool
    can_withdraw: bool
    started: bool


def signup_options(activity: Activity, volunteer, now: dt.datetime | None = None) -> SignupOptions:
    """The person's sign-up and which button to offer (the services decide; this only avoids dead buttons)."""
    now = now or utcnow()
    signup = signup_of(activity, volunteer)
    started = now >= activity.starts_at
    holding = signup is not None and signup.status in ACTIVE_SIGNUPS
    open_for_signup = (activity.status == "published" and activity.organization.status == "approved"
                       and activity.is_recruiting and not started)
    return SignupOptions(signup=signup, can_sign_up=open_for_signup and not holding,
                         can_withdraw=holding and not started, started=started)


def upcoming_signups(volunteer, now: dt.datetime | None = None, limit: int = 10) -> list[Signup]:
    """The volunteer's places (accepted, pending or waiting) in activities that have not ended, soonest first."""
    if volunteer is None:
        return []
    query = (db.select(Signup).join(Activity, Activity.id == Signup.activity_id)
             .where(Signup.volunteer_id == volunteer.id, Signup.status.in_(ACTIVE_SIGNUPS),
                    Activity.status == "published", Activity.ends_at > (now or utcnow()))
             .order_by(Activity.starts_at, Activity.id).limit(limit))
    return list(db.session.scalars(query))


def activities_today(org_ids, now: dt.datetime | None = None, limit: int = 10) -> dict[int, list[Activity]]:
    """Organization id → its published activities running now or later today (Beijing time), for the staff's
    start page: the ones a coordinator opens a kiosk or scanner for."""
    now = now or utcnow()
    org_ids = list(org_ids)
    if not org_ids:
        return {}
    end_of_day = _local_midnight(now.astimezone(LOCAL_ZONE).date() + dt.timedelta(days=1))
    query = (db.select(Activity).where(Activity.organization_id.in_(org_ids), Activity.status == "published",
                                       Activity.starts_at < end_of_day, Activity.ends_at > now)
             .order_by(Activity.starts_at, Activity.id).limit(limit * len(org_ids)))
    found: dict[int, list[Activity]] = {}
    for activity in db.session.scalars(query):
        found.setdefault(activity.organization_id, [])
        if len(found[activity.organization_id]) < limit:
            found[activity.organization_id].append(activity)
    return found
