"""Activities: publishing, sign-ups with capacity and a waiting list."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from flask_babel import lazy_gettext as _l
from sqlalchemy import func

from .. import signals
from ..accounts.permissions import require
from ..audit.services import record_event
from ..codes import new_public_code
from ..database import MAX_ID
from ..errors import DomainError
from ..extensions import db
from ..models import utcnow
from ..regions import get_region
from ..timeutil import parse_datetime
from ..volunteers.queries import volunteer_for_user
from .models import Activity, Shift, ShiftSeries, Signup
from .rules import (
    close_refusal,
    decide_refusal,
    edit_refusal,
    publish_refusal,
    signup_refusal,
    withdraw_refusal,
)
from .schemas import ACTIVITY, CATEGORIES, SERIES_DAYS_MAX, SIGNUP_MODES


class ActivityError(DomainError):
    messages = {
        "field_required": _l("This field is required."),
        "too_long": _l("At most %(max)s characters."),
        "category_unknown": _l("Choose a service category."),
        "region_unknown": _l("Choose a region from the list."),
        "datetime_invalid": _l("Enter a date and time."),
        "ends_before_start": _l("The end must be after the start."),
        "too_long_activity": _l("An activity lasts at most 31 days; split longer ones."),
        "capacity_invalid": _l("The capacity is a whole number from 1 to 100000, or empty for no limit."),
        "grace_invalid": _l("The grace period is a whole number of minutes from 0 to 720."),
        "coordinates_invalid": _l("Give both latitude (−90 to 90) and longitude (−180 to 180), or neither."),
        "radius_invalid": _l("The radius is a whole number of metres from 10 to 50000, and needs coordinates."),
        "signup_mode_unknown": _l("Choose how sign-ups are accepted."),
        "activity_closed": _l("This activity is closed."),
        "activity_not_draft": _l("Only a draft can be published."),
        "activity_not_published": _l("This activity is not open for sign-up."),
        "recruitment_closed": _l("Recruitment for this activity is closed."),
        "activity_started": _l("This activity has already started."),
        "already_signed_up": _l("You have already signed up for this activity."),
        "not_signed_up": _l("You have not signed up for this activity."),
        "signup_not_pending": _l("This sign-up has already been decided."),
        "volunteer_profile_required": _l("Complete your volunteer profile first."),
        "shift_required": _l("This activity has several shifts: choose one."),
        "shift_unknown": _l("This shift is not part of the activity."),
        "shift_cancelled": _l("This shift was cancelled."),
    }
    statuses = {"already_signed_up": 409, "activity_closed": 409, "activity_not_draft": 409,
                "activity_not_published": 409, "recruitment_closed": 409, "activity_started": 409,
                "signup_not_pending": 409, "not_signed_up": 404, "shift_required": 400, "shift_unknown": 404,
                "shift_cancelled": 409}


@dataclass
class ActivityData:
    title: str
    category: str
    recipient: str
    region_code: str
    address: str
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    person_in_charge: str
    description: str = ""
    latitude: float | None = None
    longitude: float | None = None
    radius_m: int | None = None
    capacity: int | None = None
    is_recruiting: bool = True
    allows_walk_ins: bool = False
    grace_minutes: int | None = 30
    signup_mode: str = "auto"
    risk_disclosure: str = ""
    requires_training: bool = False
    requires_insurance: bool = False
    _invalid: tuple = ()

    @classmethod
    def from_mapping(cls, data) -> ActivityData:
        """From a form's or a JSON body's values. Values that cannot be read are remembered and refused by
        :func:`clean_activity_data` with the field they belong to."""
        invalid = []

        def text(key, default=""):
            value = data.get(key, default)
            return "" if value is None else str(value).strip()

        def number(key, kind, default=None):
            value = data.get(key)
            if value is None or (isinstance(value, str) and not value.strip()):
                return default
            if isinstance(value, bool):
                invalid.append(key)
                return None
            try:
                result = kind(value)
            except (TypeError, ValueError, OverflowError):
                invalid.append(key)
                return None
            if kind is int and isinstance(value, float) and not value.is_integer():
                invalid.append(key)
            if kind is float and result != result:  # NaN
                invalid.append(key)
            return result

        def flag(key, default=False):
            value = data.get(key, default)
            if isinstance(value, bool):
                return value
            return str(value).strip().lower() in ("1", "true", "yes", "y", "on")

        return cls(
            title=text("title"), category=text("category"), recipient=text("recipient"),
            region_code=text("region_code"), address=text("address"),
            starts_at=parse_datetime(data.get("starts_at")), ends_at=parse_datetime(data.get("ends_at")),
            person_in_charge=text("person_in_charge"), description=text("description"),
            latitude=number("latitude", float), longitude=number("longitude", float),
            radius_m=number("radius_m", int), capacity=number("capacity", int),
            is_recruiting=flag("is_recruiting", True), allows_walk_ins=flag("allows_walk_ins"),
            grace_minutes=number("grace_minutes", int, 30), signup_mode=text("signup_mode", "auto") or "auto",
            risk_disclosure=text("risk_disclosure"), requires_training=flag("requires_training"),
            requires_insurance=flag("requires_insurance"), _invalid=tuple(invalid),
        )


def clean_activity_data(data: ActivityData, *, scheduled: bool = False) -> dict:
    """Check every rule on an activity's details; return the column values. Raises ActivityError with a field
    (text.check_plain_text's text_* codes for the texts). ``scheduled``: the activity's times are the span of its
    shifts (several, or a duty roster), which may be up to SERIES_DAYS_MAX days rather than 31."""
    data = replace(data, **ACTIVITY.check(data, error=ActivityError))
    if data.category not in CATEGORIES:
        raise ActivityError("category_unknown", field="category")
    if get_region(data.region_code) is None:
        raise ActivityError("region_unknown", field="region_code")
    for key in ("starts_at", "ends_at"):
        if getattr(data, key) is None:
            raise ActivityError("datetime_invalid", field=key)
    if data.ends_at <= data.starts_at:
        raise ActivityError("ends_before_start", field="ends_at")
    if data.ends_at - data.starts_at > dt.timedelta(days=SERIES_DAYS_MAX if scheduled else 31):
        raise ActivityError("too_long_activity", field="ends_at")
    capacity, grace = ACTIVITY["capacity"], ACTIVITY["grace_minutes"]
    if "capacity" in data._invalid or (data.capacity is not None
                                       and not capacity.minimum <= data.capacity <= capacity.maximum):
        raise ActivityError("capacity_invalid", field="capacity")
    if ("grace_minutes" in data._invalid or data.grace_minutes is None
            or not grace.minimum <= data.grace_minutes <= grace.maximum):
        raise ActivityError("grace_invalid", field="grace_minutes")
    has_lat, has_lon = data.latitude is not None, data.longitude is not None
    if ("latitude" in data._invalid or "longitude" in data._invalid or has_lat != has_lon
            or (has_lat and not (-90 <= data.latitude <= 90 and -180 <= data.longitude <= 180))):
        raise ActivityError("coordinates_invalid", field="latitude")
    radius = ACTIVITY["radius_m"]
    if "radius_m" in data._invalid or (data.radius_m is not None
                                       and (not has_lat or not radius.minimum <= data.radius_m <= radius.maximum)):
        raise ActivityError("radius_invalid", field="radius_m")
    if data.signup_mode not in SIGNUP_MODES:
        raise ActivityError("signup_mode_unknown", field="signup_mode")
    return {key: getattr(data, key) for key in (
        "title", "category", "recipient", "region_code", "address", "starts_at", "ends_at", "person_in_charge",
        "description", "latitude", "longitude", "radius_m", "capacity", "is_recruiting", "allows_walk_ins",
        "grace_minutes", "signup_mode", "risk_disclosure", "requires_training", "requires_insurance")}


def create_activity(actor, org, data: ActivityData, *, now: dt.datetime | None = None) -> Activity:
    """A new draft activity of ``org``, created at ``now``. One that starts before it is created is retroactive
    (补录): every entry of it will need a second person. Raises Forbidden unless ``actor`` may run ``org``'s
    activities, then ActivityError (see clean_activity_data)."""
    require("activities.manage", org, user=actor)
    now = now or utcnow()
    values = clean_activity_data(data)
    activity = Activity(code=new_public_code(), organization_id=org.id, status="draft", created_by_id=actor.id,
                        created_at=now, is_retroactive=values["starts_at"] < now, **values)
    db.session.add(activity)
    db.session.flush()
    record_event("activity.created", actor=actor, organization=org, target=activity, title=activity.title,
                 retroactive=activity.is_retroactive or None)
    return activity


def update_activity(actor, activity: Activity, data: ActivityData, *, now: dt.datetime | None = None) -> Activity:
    """Change a draft or published activity. Moving its start back to before ``now``, or its end later once it
    has passed, makes it retroactive, as if it had been created so. Raises Forbidden unless ``actor`` may run the
    organization's activities, then activity_closed and the rules of clean_activity_data."""
    require("activities.manage", activity.organization, user=actor)
    now = now or utcnow()
    _enforce(edit_refusal(activity))
    if is_scheduled(activity):
        # its times are the span of its shifts, which the shifts page changes: the form's are not used
        data = replace(data, starts_at=activity.starts_at, ends_at=activity.ends_at)
        values = clean_activity_data(data, scheduled=True)
    else:
        values = clean_activity_data(data)
    changed = sorted(k for k, v in values.items() if getattr(activity, k) != v)
    moved_start_back = "starts_at" in changed and values["starts_at"] < min(now, activity.starts_at)
    extended_after_end = "ends_at" in changed and values["ends_at"] > activity.ends_at and activity.ends_at < now
    if moved_start_back or extended_after_end:
        activity.is_retroactive = True
    for key, value in values.items():
        setattr(activity, key, value)
    record_event("activity.updated", actor=actor, organization=activity.organization, target=activity,
                 fields=changed, retroactive=activity.is_retroactive or None)
    return activity


def _enforce(refusal: str | None) -> None:
    """Raise the refusal of one of the rules in activities.rules, if there is one."""
    if refusal is not None:
        raise ActivityError(refusal)


def publish_activity(actor, activity: Activity) -> Activity:
    """Publish a draft: volunteers can find it and sign up. Raises Forbidden unless ``actor`` may run the
    organization's activities, then activity_not_draft."""
    require("activities.manage", activity.organization, user=actor)
    _enforce(publish_refusal(activity))
    activity.status = "published"
    record_event("activity.published", actor=actor, organization=activity.organization, target=activity)
    return activity


def close_activity(actor, activity: Activity, now: dt.datetime | None = None) -> Activity:
    """Close the activity: no more sign-ups or scans; sessions still open are closed at its end and flagged.
    Raises Forbidden unless ``actor`` may run the organization's activities, then activity_closed."""
    require("activities.manage", activity.organization, user=actor)
    _enforce(close_refusal(activity))
    activity.status = "closed"
    signals.activity_closed.send(activity, now=now)
    record_event("activity.closed", actor=actor, organization=activity.organization, target=activity)
    return activity


def accepted_count(shift: Shift) -> int:
    """The places taken in ``shift``."""
    return db.session.scalar(db.select(func.count()).select_from(Signup)
                             .where(Signup.shift_id == shift.id, Signup.status == "accepted"))


def is_scheduled(activity: Activity) -> bool:
    """Whether the activity's shifts are managed on their own (a duty roster, or more than one shift): its times
    are then their span."""
    rows = db.session.execute(db.select(Shift.series_id).where(Shift.activity_id == activity.id).limit(2)).all()
    return len(rows) > 1 or any(row.series_id is not None for row in rows) or db.session.scalar(
        db.select(func.count()).select_from(ShiftSeries).where(ShiftSeries.activity_id == activity.id)) > 0


def sole_shift(activity: Activity) -> Shift | None:
    """The activity's shift when it has exactly one (a one-off activity), else None."""
    shifts = db.session.scalars(db.select(Shift).where(Shift.activity_id == activity.id).limit(2)).all()
    return shifts[0] if len(shifts) == 1 else None


def shift_of(activity: Activity, shift: Shift | int | None) -> Shift:
    """``shift`` (or its id) checked to be one of the activity's, or the activity's one shift when none is named.
    Raises shift_unknown, shift_required (several shifts and none named)."""
    if shift is None:
        shift = sole_shift(activity)
        if shift is None:
            raise ActivityError("shift_required", field="shift")
        return shift
    if not isinstance(shift, Shift):
        try:
            number = int(shift)
        except (TypeError, ValueError, OverflowError):
            number = 0
        shift = db.session.get(Shift, number) if 1 <= number <= MAX_ID else None
    if shift is None or shift.activity_id != activity.id:
        raise ActivityError("shift_unknown", field="shift")
    return shift


def _volunteer_of(user):
    volunteer = volunteer_for_user(user)
    if volunteer is None:
        raise ActivityError("volunteer_profile_required")
    return volunteer


def signup_of(activity: Activity, volunteer, shift: Shift | None = None) -> Signup | None:
    """The volunteer's sign-up for ``shift`` (by default the activity's one shift; None for an activity with
    several and none named)."""
    if volunteer is None:
        return None
    shift = shift or sole_shift(activity)
    if shift is None:
        return None
    return db.session.scalar(db.select(Signup).where(Signup.shift_id == shift.id,
                                                     Signup.volunteer_id == volunteer.id))


def sign_up(user, activity: Activity, now: dt.datetime | None = None, shift: Shift | int | None = None, *,
            announce: bool = True) -> Signup:
    """The volunteer signs up for ``shift`` (by default the activity's one shift): accepted (or pending a
    coordinator) while its places remain, waitlisted when full.

    Raises volunteer_profile_required, shift_required, shift_unknown, activity_not_published, recruitment_closed,
    shift_cancelled, activity_started, already_signed_up.
    """
    now = now or utcnow()
    volunteer = _volunteer_of(user)
    shift = shift_of(activity, shift)
    signup = signup_of(activity, volunteer, shift)
    _enforce(signup_refusal(activity, signup, now, shift))
    return place_in_shift(user, activity, shift, volunteer, signup, now, announce=announce)


def place_in_shift(actor, activity: Activity, shift: Shift, volunteer, signup: Signup | None, now: dt.datetime, *,
                   announce: bool = True) -> Signup:
    """Give (or queue) the volunteer a place in ``shift``: accepted (or pending) while places remain, waitlisted
    when full. The caller has checked the rules (activities.rules); a roster's horizon places its members too."""
    full = shift.capacity is not None and accepted_count(shift) >= shift.capacity
    status = "waitlisted" if full else ("accepted" if activity.signup_mode == "auto" else "pending")
    if signup is None:
        signup = Signup(activity_id=activity.id, shift_id=shift.id, volunteer_id=volunteer.id, status=status)
        db.session.add(signup)
    signup.status = status
    signup.created_at = now
    signup.decided_at = now if status == "accepted" else None
    db.session.flush()
    record_event("signup.created", actor=actor, organization=activity.organization, target=signup, status=status,
                 activity=activity.code, shift=shift.id)
    if status != "pending" and announce:  # a pending one hears when a coordinator decides
        signals.signup_decided.send(signup)
    return signup


def withdraw(user, activity: Activity, now: dt.datetime | None = None, shift: Shift | int | None = None) -> Signup:
    """The volunteer withdraws from ``shift`` (by default the activity's one shift) before it starts; the first
    on its waiting list moves up into a freed place."""
    now = now or utcnow()
    volunteer = _volunteer_of(user)
    shift = shift_of(activity, shift)
    signup = signup_of(activity, volunteer, shift)
    _enforce(withdraw_refusal(activity, signup, now, shift))
    return release(user, signup, now)


def release(actor, signup: Signup, now: dt.datetime, *, event: str = "signup.withdrawn") -> Signup:
    """The sign-up is withdrawn and its place (if it held one) goes to the first on the shift's waiting list.
    The caller has checked the rules."""
    activity, shift = signup.activity, signup.shift
    freed = signup.status == "accepted"
    signup.status = "withdrawn"
    signup.decided_at = now
    record_event(event, actor=actor, organization=activity.organization, target=signup, activity=activity.code,
                 shift=shift.id)
    db.session.flush()
    if freed:
        move_up(shift, now)
    return signup


def move_up(shift: Shift, now: dt.datetime) -> Signup | None:
    """The first on the shift's waiting list takes a free place (accepted, or pending a coordinator); None when
    there is no free place or nobody waits."""
    activity = shift.activity
    if shift.capacity is not None and accepted_count(shift) >= shift.capacity:
        return None
    first = db.session.scalar(db.select(Signup).where(Signup.shift_id == shift.id,
                                                      Signup.status == "waitlisted").order_by(Signup.created_at,
                                                                                              Signup.id))
    if first is None:
        return None
    first.status = "accepted" if activity.signup_mode == "auto" else "pending"
    first.decided_at = now
    record_event("signup.moved_up", organization=activity.organization, target=first, status=first.status,
                 activity=activity.code, shift=shift.id)
    signals.signup_decided.send(first, decision="moved_up" if first.status == "accepted" else "pending")
    db.session.flush()
    return first


def decide_signup(actor, signup: Signup, approve: bool, now: dt.datetime | None = None) -> Signup:
    """A coordinator accepts or declines a pending sign-up (a full activity puts an accepted one on the list).
    Raises Forbidden unless ``actor`` may run the organization's activities, then signup_not_pending."""
    require("activities.manage", signup.activity.organization, user=actor)
    now = now or utcnow()
    _enforce(decide_refusal(signup))
    activity, shift = signup.activity, signup.shift
    if approve:
        full = shift.capacity is not None and accepted_count(shift) >= shift.capacity
        signup.status = "waitlisted" if full else "accepted"
    else:
        signup.status = "declined"
    signup.decided_at = now
    record_event("signup.decided", actor=actor, organization=activity.organization, target=signup,
                 status=signup.status, activity=activity.code)
    signals.signup_decided.send(signup)
    db.session.flush()
    return signup

