"""Read helpers for activity pages."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import case, func
from sqlalchemy.orm import joinedload

from ..accounts.permissions import can
from ..errors import NotFound
from ..extensions import db
from ..models import utcnow
from ..organizations.models import Organization
from ..organizations.queries import _contains
from ..regions import get_region
from ..timeutil import LOCAL_ZONE
from ..volunteers.models import Volunteer
from .models import CATEGORIES, Activity, RosterMember, Shift, ShiftSeries, Signup
from .rules import (
    ORGANIZATION_RUNNING,
    close_refusal,
    decide_refusal,
    edit_refusal,
    publish_refusal,
    roster_refusal,
    scan_refusal,
    signup_refusal,
    withdraw_refusal,
)
from .schedule import describe_series, next_days, roster_member, series_for
from .schemas import ACTIVE_SIGNUP_STATUSES, PUBLIC_ACTIVITY_STATUSES
from .services import signup_of


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
    public = activity.status in PUBLIC_ACTIVITY_STATUSES and activity.organization.status == ORGANIZATION_RUNNING
    if not public and not can(user, "activities.manage", activity.organization):
        raise NotFound("not_found")
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


def places_left(activities, now: dt.datetime | None = None) -> dict[int, int | None]:
    """Activity id → places still free (0 when full: new sign-ups join the waiting list); None for no limit. An
    activity's places are its open shifts' (for an activity of several shifts, those not yet over): two queries
    whatever the number of activities."""
    now = now or utcnow()
    ids = [a.id for a in activities]
    shifts = db.session.execute(db.select(Shift.id, Shift.activity_id, Shift.capacity, Shift.ends_at).where(
        Shift.activity_id.in_(ids), Shift.status == "open")).all() if ids else []
    limited = [shift.id for shift in shifts if shift.capacity is not None]
    taken = dict(db.session.execute(
        db.select(Signup.shift_id, func.count()).where(Signup.shift_id.in_(limited), Signup.status == "accepted")
        .group_by(Signup.shift_id)).all()) if limited else {}
    by_activity: dict[int, list] = {}
    for shift in shifts:
        by_activity.setdefault(shift.activity_id, []).append(shift)
    left: dict[int, int | None] = {}
    for activity in activities:
        rows = by_activity.get(activity.id, [])
        if len(rows) > 1:
            rows = [shift for shift in rows if shift.ends_at > now]
        if any(shift.capacity is None for shift in rows):
            left[activity.id] = None
        else:
            left[activity.id] = sum(max(0, shift.capacity - taken.get(shift.id, 0)) for shift in rows)
    return left


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
    """What a person may do about their place in an activity, for the buttons of its page: the answers of
    activities.rules, so that the page offers exactly what the services allow."""

    signup: Signup | None
    can_sign_up: bool
    can_withdraw: bool
    #: why neither button is offered, for the page to say: activity_closed, activity_draft, activity_started,
    #: recruitment_closed; None when a button is offered or there is nothing to say (e.g. a suspended organization)
    reason: str | None


def signup_options(activity: Activity, volunteer, now: dt.datetime | None = None) -> SignupOptions:
    """The person's sign-up, which button to offer and, when none, why: :func:`~.rules.signup_refusal` and
    :func:`~.rules.withdraw_refusal`, the rules that :func:`~.services.sign_up` and :func:`~.services.withdraw`
    enforce."""
    now = now or utcnow()
    signup = signup_of(activity, volunteer)
    refused_signup = signup_refusal(activity, signup, now)
    refused_withdraw = withdraw_refusal(activity, signup, now)
    refusal = refused_withdraw if refused_signup == "already_signed_up" else refused_signup
    if refusal == "activity_not_published":
        # one service code, two things to tell a visitor; an unapproved organization's activity says nothing
        refusal = {"closed": "activity_closed", "draft": "activity_draft"}.get(activity.status)
    offered = refused_signup is None or refused_withdraw is None
    return SignupOptions(signup=signup, can_sign_up=refused_signup is None, can_withdraw=refused_withdraw is None,
                         reason=None if offered else refusal)


@dataclass(frozen=True)
class ActivityActions:
    """What the activity's page and lists may offer its staff (each flag the answer of the rule in
    activities.rules that the service enforces); the permission to act is checked separately."""

    can_edit: bool
    can_publish: bool
    can_close: bool
    #: check-in pages (the kiosk, the scanner, entering attendance by hand) take scans now
    takes_scans: bool
    #: the day's attendance and manual entries exist to look at (not for a draft)
    has_attendance: bool


def activity_actions(activity: Activity) -> ActivityActions:
    """Which of the activity's staff actions its state allows now."""
    return ActivityActions(can_edit=edit_refusal(activity) is None, can_publish=publish_refusal(activity) is None,
                           can_close=close_refusal(activity) is None, takes_scans=scan_refusal(activity) is None,
                           has_attendance=activity.status in PUBLIC_ACTIVITY_STATUSES)


def signup_decidable(signup: Signup) -> bool:
    """Whether a coordinator may accept or decline the sign-up now (:func:`~.rules.decide_refusal`), for the
    buttons of the sign-ups page."""
    return decide_refusal(signup) is None


def upcoming_signups(volunteer, now: dt.datetime | None = None, limit: int = 10) -> list[Signup]:
    """The volunteer's places (accepted, pending or waiting) in open shifts that have not ended, of published
    activities, soonest first."""
    if volunteer is None:
        return []
    query = (db.select(Signup).join(Shift, Shift.id == Signup.shift_id)
             .join(Activity, Activity.id == Signup.activity_id)
             .where(Signup.volunteer_id == volunteer.id, Signup.status.in_(ACTIVE_SIGNUP_STATUSES),
                    Activity.status == "published", Shift.status == "open", Shift.ends_at > (now or utcnow()))
             .order_by(Shift.starts_at, Shift.id).limit(limit))
    return list(db.session.scalars(query))


def activities_today(org_ids, now: dt.datetime | None = None, limit: int = 10) -> dict[int, list[Activity]]:
    """Organization id → its published activities running now or later today (Beijing time), for the staff's
    start page: the ones a coordinator opens a kiosk or scanner for."""
    now = now or utcnow()
    org_ids = list(org_ids)
    if not org_ids:
        return {}
    end_of_day = _local_midnight(now.astimezone(LOCAL_ZONE).date() + dt.timedelta(days=1))
    # an activity with an open shift running now or later today: a roster's on the days it has one
    first_today = (db.select(Shift.activity_id, func.min(Shift.starts_at).label("starts_at"))
                   .where(Shift.organization_id.in_(org_ids), Shift.status == "open", Shift.starts_at < end_of_day,
                          Shift.ends_at > now).group_by(Shift.activity_id).subquery())
    query = (db.select(Activity).join(first_today, first_today.c.activity_id == Activity.id)
             .where(Activity.organization_id.in_(org_ids), Activity.status == "published")
             .order_by(first_today.c.starts_at, Activity.id).limit(limit * len(org_ids)))
    found: dict[int, list[Activity]] = {}
    for activity in db.session.scalars(query):
        found.setdefault(activity.organization_id, [])
        if len(found[activity.organization_id]) < limit:
            found[activity.organization_id].append(activity)
    return found


@dataclass(frozen=True)
class ShiftRow:
    """One upcoming shift of an activity as its page lists it, with what the person may do about it."""

    shift: Shift
    accepted: int
    waitlisted: int
    #: places still free (0: full, sign-ups join the waiting list); None for no limit
    left: int | None
    signup: Signup | None
    can_sign_up: bool
    can_withdraw: bool


def upcoming_shifts(activity: Activity, volunteer=None, now: dt.datetime | None = None,
                    limit: int = 60) -> list[ShiftRow]:
    """The activity's open shifts that have not ended, soonest first, with their counts and the person's sign-up
    and buttons (activities.rules, as the services enforce them)."""
    now = now or utcnow()
    shifts = list(db.session.scalars(db.select(Shift).where(Shift.activity_id == activity.id,
                                                            Shift.status == "open", Shift.ends_at > now)
                                     .order_by(Shift.starts_at, Shift.id).limit(limit)))
    ids = [shift.id for shift in shifts]
    counts: dict[tuple[int, str], int] = {}
    mine: dict[int, Signup] = {}
    if ids:
        counts = {(shift_id, status): number for shift_id, status, number in db.session.execute(
            db.select(Signup.shift_id, Signup.status, func.count()).where(Signup.shift_id.in_(ids))
            .group_by(Signup.shift_id, Signup.status))}
        if volunteer is not None:
            mine = {s.shift_id: s for s in db.session.scalars(db.select(Signup).where(
                Signup.shift_id.in_(ids), Signup.volunteer_id == volunteer.id))}
    rows = []
    for shift in shifts:
        accepted = counts.get((shift.id, "accepted"), 0)
        signup = mine.get(shift.id)
        rows.append(ShiftRow(
            shift=shift, accepted=accepted, waitlisted=counts.get((shift.id, "waitlisted"), 0),
            left=None if shift.capacity is None else max(0, shift.capacity - accepted), signup=signup,
            can_sign_up=signup_refusal(activity, signup, now, shift) is None,
            can_withdraw=withdraw_refusal(activity, signup, now, shift) is None))
    return rows


@dataclass(frozen=True)
class RosterView:
    """An activity's duty roster as its page shows it: the rule in words, and whether the person is on it."""

    series: ShiftSeries
    summary: str
    member: RosterMember | None
    can_join: bool
    can_leave: bool


def roster_view(activity: Activity, volunteer=None, now: dt.datetime | None = None) -> RosterView | None:
    """The activity's roster with the person's buttons (activities.rules.roster_refusal, as join_roster
    enforces it); None without a roster."""
    series = series_for(activity)
    if series is None:
        return None
    now = now or utcnow()
    member = roster_member(series, volunteer)
    has_future = bool(next_days(series, now, limit=1))
    return RosterView(series=series, summary=describe_series(series), member=member,
                      can_join=roster_refusal(activity, member, has_future) is None,
                      can_leave=member is not None and member.status == "active")
