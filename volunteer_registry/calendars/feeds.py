"""The three calendar documents, built from the rows the queries return: a volunteer's private feed, one shift to
add to a phone's calendar, and an organization's public feed of the shifts it recruits for. The public ones name
no volunteer; the private one names only its owner's places."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _

from ..activities.models import Shift, Signup
from ..activities.schemas import SIGNUP_STATUSES
from ..links import path_for
from ..models import utcnow
from ..organizations.models import Organization
from .ics import EVENT_STATUS, EventFacts, absolute, calendar_bytes, uid_host
from .queries import feed_signups, recruiting_shifts

#: the Content-Type every feed is served with
CONTENT_TYPE = "text/calendar; charset=utf-8"


def _summary(shift: Shift) -> str:
    title = shift.activity.title
    return f"{title} · {shift.role}" if shift.role else title


def _description(shift: Shift, extra: str = "") -> str:
    activity = shift.activity
    lines = [_("Organization: %(name)s", name=activity.organization.name),
             _("Person in charge: %(name)s", name=activity.person_in_charge)]
    if shift.role:
        lines.append(_("Role: %(role)s", role=shift.role))
    if extra:
        lines.insert(0, extra)
    return "\n".join(lines)


def _activity_url(shift: Shift) -> str:
    return absolute(path_for("activities.show", code=shift.activity.code))


def shift_uid(shift: Shift) -> str:
    """The UID of a shift as the public sees it (the organization's feed, a download by someone without a place)."""
    return f"shift-{shift.id}@{uid_host()}"


def signup_uid(signup: Signup) -> str:
    """The UID of a volunteer's place: the same in their feed and in a single shift they download, so that a phone
    holding both shows one event."""
    return f"signup-{signup.id}@{uid_host()}"


def signup_event(signup: Signup) -> EventFacts:
    """A volunteer's place in a shift: CONFIRMED when accepted, TENTATIVE while pending or waitlisted (said in the
    summary too), CANCELLED when withdrawn, declined, or the shift was cancelled."""
    shift = signup.shift
    cancelled = signup.status not in EVENT_STATUS or not shift.is_open
    status = "CANCELLED" if cancelled else EVENT_STATUS[signup.status]
    summary = _summary(shift)
    if status == "TENTATIVE":
        summary = f"{summary} ({SIGNUP_STATUSES[signup.status]})"
    if cancelled:
        extra = _("This shift was cancelled.") if not shift.is_open else _("You no longer hold a place in this shift.")
    else:
        extra = _("Your place: %(status)s", status=SIGNUP_STATUSES[signup.status])
    return EventFacts(uid=signup_uid(signup), starts_at=shift.starts_at, ends_at=shift.ends_at, summary=summary,
                      location=shift.activity.address, url=_activity_url(shift),
                      description=_description(shift, extra), status=status,
                      last_modified=signup.decided_at or signup.created_at)


def shift_event(shift: Shift) -> EventFacts:
    """A shift as anyone may see it: no sign-up, no person but the activity's person in charge."""
    return EventFacts(uid=shift_uid(shift), starts_at=shift.starts_at, ends_at=shift.ends_at,
                      summary=_summary(shift), location=shift.activity.address, url=_activity_url(shift),
                      description=_description(shift), status="CONFIRMED" if shift.is_open else "CANCELLED")


def volunteer_calendar(volunteer, now: dt.datetime | None = None) -> bytes:
    """The volunteer's private feed: their places from PAST_DAYS ago onward, withdrawn ones as CANCELLED."""
    now = now or utcnow()
    events = [signup_event(signup) for signup in feed_signups(volunteer.id, now)]
    return calendar_bytes(_("My volunteer shifts"), events, now)


def shift_calendar(shift: Shift, signup: Signup | None, now: dt.datetime | None = None) -> bytes:
    """One shift, to add to a phone's calendar: the reader's own place when they hold one, else the public shift."""
    now = now or utcnow()
    event = signup_event(signup) if signup is not None else shift_event(shift)
    return calendar_bytes(shift.activity.title, [event], now)


def organization_calendar(org: Organization, now: dt.datetime | None = None) -> bytes:
    """The organization's public feed: the open shifts yet to start of its published, recruiting activities."""
    now = now or utcnow()
    events = [shift_event(shift) for shift in recruiting_shifts(org, now)]
    return calendar_bytes(_("%(name)s: shifts to volunteer for", name=org.name), events, now)
