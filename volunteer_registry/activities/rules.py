"""What may be done to an activity now: one pure function per rule, each answering None (allowed) or the refusal
code that :class:`~.services.ActivityError` raises.

The services gather the facts, ask the rule and raise its answer; the pages ask the same function which buttons to
offer and which reason to show, so a page never offers what the service would refuse (pretix's check-in pattern:
gather, decide purely, then write). Nothing here reads the database.
"""
from __future__ import annotations

import datetime as dt

from .models import Activity, Shift, Signup
from .schemas import ACTIVE_SIGNUP_STATUSES

#: the organization status under which its activities run (organizations.models.ORG_STATUSES)
ORGANIZATION_RUNNING = "approved"


def holds_place(signup: Signup | None) -> bool:
    """Whether the sign-up holds (or waits for) a place: accepted, pending a coordinator, or on the waiting list."""
    return signup is not None and signup.status in ACTIVE_SIGNUP_STATUSES


def signup_refusal(activity: Activity, signup: Signup | None, now: dt.datetime,
                   shift: Shift | None = None) -> str | None:
    """Why the volunteer whose sign-up (if any) is ``signup`` may not sign up for ``shift`` of ``activity`` (or
    the activity itself, when it is not given) at ``now``, in this order: activity_not_published (a draft, a
    closed activity, or one of an organization that is not approved), recruitment_closed, shift_cancelled,
    activity_started (the shift has), already_signed_up; None when they may."""
    if activity.status != "published" or activity.organization.status != ORGANIZATION_RUNNING:
        return "activity_not_published"
    if not activity.is_recruiting:
        return "recruitment_closed"
    if shift is not None and shift.status != "open":
        return "shift_cancelled"
    if now >= (shift or activity).starts_at:
        return "activity_started"
    if holds_place(signup):
        return "already_signed_up"
    return None


def withdraw_refusal(activity: Activity, signup: Signup | None, now: dt.datetime,
                     shift: Shift | None = None) -> str | None:
    """Why the volunteer may not withdraw from ``shift`` of ``activity`` (or the activity) at ``now``:
    not_signed_up (no place held or awaited), activity_started (the shift has); None when they may."""
    if not holds_place(signup):
        return "not_signed_up"
    if now >= (shift or activity).starts_at:
        return "activity_started"
    return None


def edit_refusal(activity: Activity) -> str | None:
    """Why the activity's details may not be changed: activity_closed; None for a draft or a published one."""
    return "activity_closed" if activity.status == "closed" else None


def publish_refusal(activity: Activity) -> str | None:
    """Why the activity may not be published: activity_not_draft; None for a draft."""
    return None if activity.status == "draft" else "activity_not_draft"


def close_refusal(activity: Activity) -> str | None:
    """Why the activity may not be closed: activity_closed (it already is); None otherwise."""
    return "activity_closed" if activity.status == "closed" else None


def decide_refusal(signup: Signup) -> str | None:
    """Why a coordinator may not accept or decline the sign-up: signup_not_pending; None while it is pending."""
    return None if signup.status == "pending" else "signup_not_pending"


def scan_refusal(activity: Activity) -> str | None:
    """Why the activity takes no check-in scans whatever the time or the person: organization_suspended (its
    organization is not approved), activity_not_open (a draft or a closed activity); None while it runs."""
    if activity.organization.status != ORGANIZATION_RUNNING:
        return "organization_suspended"
    if activity.status != "published":
        return "activity_not_open"
    return None


def roster_refusal(activity: Activity, member, has_future_shifts: bool) -> str | None:
    """Why a volunteer whose roster membership (if any) is ``member`` may not join the activity's duty roster:
    activity_not_published (a draft, a closed activity, or one of an organization that is not approved),
    recruitment_closed, roster_ended (no shift ahead), already_on_roster; None when they may."""
    if activity.status != "published" or activity.organization.status != ORGANIZATION_RUNNING:
        return "activity_not_published"
    if not activity.is_recruiting:
        return "recruitment_closed"
    if not has_future_shifts:
        return "roster_ended"
    if member is not None and member.status == "active":
        return "already_on_roster"
    return None
