"""An activity's shape, declared once: its limits and enumerations. The model's columns and constraints, the
form, the service's checks and the API's JSON in and out (and so the OpenAPI document) read them from here."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..schema import Boolean, Choice, Date, DateTime, Integer, ListOf, Number, Schema, Text

CATEGORIES = {
    "community": _l("Community service"),
    "elderly": _l("Elderly care"),
    "disability": _l("Disability support"),
    "poverty": _l("Poverty relief"),
    "education": _l("Education"),
    "health": _l("Health"),
    "environment": _l("Environment"),
    "culture": _l("Culture"),
    "emergency": _l("Emergency response"),
    "events": _l("Large events"),
    "other": _l("Other"),
}
ACTIVITY_STATUSES = {"draft": _l("Draft"), "published": _l("Published"), "closed": _l("Closed")}
SIGNUP_MODES = {"auto": _l("Accepted automatically"), "approval": _l("A coordinator accepts each sign-up")}
SIGNUP_STATUSES = {
    "accepted": _l("Accepted"),
    "pending": _l("Waiting for a coordinator"),
    "waitlisted": _l("On the waiting list"),
    "withdrawn": _l("Withdrawn"),
    "declined": _l("Declined"),
}
#: the sign-up statuses that hold (or wait for) a place: the volunteer counts as signed up, may withdraw, and may
#: not sign up again
ACTIVE_SIGNUP_STATUSES = ("accepted", "pending", "waitlisted")
#: the activity statuses anyone may see (in an approved organization): those who served keep a closed one's page
PUBLIC_ACTIVITY_STATUSES = ("published", "closed")

TITLE_MAX = 120
RECIPIENT_MAX = 120
ADDRESS_MAX = 200
PERSON_IN_CHARGE_MAX = 60
#: the descriptions are Text columns: the limit is the service's, not the database's
LONG_TEXT_MAX = 4000
CAPACITY_MAX = 100_000
GRACE_MINUTES_MAX = 720
RADIUS_MIN, RADIUS_MAX = 10, 50_000

#: what an organization's staff enter for an activity (the form, ActivityData, the API's body)
ACTIVITY = Schema("ActivityFields", {
    "title": Text(TITLE_MAX, required=True),
    "category": Choice(CATEGORIES, required=True),
    "recipient": Text(RECIPIENT_MAX, required=True, description="The service recipient."),
    "region_code": Text(plain=False, required=True, description="GB/T 2260 division code (Qinghai)"),
    "address": Text(ADDRESS_MAX, required=True),
    "latitude": Number(-90, 90, nullable=True),
    "longitude": Number(-180, 180, nullable=True),
    "radius_m": Integer(RADIUS_MIN, RADIUS_MAX, nullable=True,
                        description="Scans farther than this from the place are flagged (needs coordinates)."),
    "starts_at": DateTime(required=True, description="ISO 8601; without an offset, Beijing time."),
    "ends_at": DateTime(required=True, description="After starts_at, at most 31 days later."),
    "capacity": Integer(1, CAPACITY_MAX, nullable=True),
    "is_recruiting": Boolean(), "allows_walk_ins": Boolean(),
    "grace_minutes": Integer(0, GRACE_MINUTES_MAX,
                             description="Scans are accepted this long before the start and after the end."),
    "signup_mode": Choice(SIGNUP_MODES),
    "person_in_charge": Text(PERSON_IN_CHARGE_MAX, required=True),
    "description": Text(LONG_TEXT_MAX, multiline=True),
    "risk_disclosure": Text(LONG_TEXT_MAX, multiline=True),
    "requires_training": Boolean(), "requires_insurance": Boolean(),
})

#: POST /activities
ACTIVITY_INPUT = Schema("ActivityInput", {
    "organization": Text(plain=False, required=True, description="The organization's public code."),
    **ACTIVITY.fields,
    "publish": Boolean(description="Publish at once (default: a draft)."),
})

#: an activity as the API answers it
ACTIVITY_OUT = Schema("Activity", {
    "code": Text(plain=False, required=True),
    "organization": Text(plain=False, required=True),
    "status": Choice(ACTIVITY_STATUSES, required=True),
    **{key: spec for key, spec in ACTIVITY.fields.items() if key not in ("starts_at", "ends_at")},
    "starts_at": DateTime(required=True, description=ACTIVITY["starts_at"].description),
    "ends_at": DateTime(required=True, description=ACTIVITY["ends_at"].description),
    "created_at": DateTime(),
})

#: a sign-up as the API answers it
SIGNUP_OUT = Schema("Signup", {
    "activity": Text(plain=False, required=True),
    "volunteer_number": Text(plain=False, required=True),
    "status": Choice(SIGNUP_STATUSES, required=True),
})

# --- shifts, duty rosters (issue 19) ---------------------------------------------------------------------------

SHIFT_STATUSES = {"open": _l("Open"), "cancelled": _l("Cancelled")}
ROSTER_STATUSES = {"active": _l("On the roster"), "left": _l("Left the roster")}
#: the role or skill a shift needs ("first aid", "driver"); empty: anyone
ROLE_MAX = 60
#: an RFC 5545 RRULE as the series stores it (without DTSTART), e.g. "FREQ=WEEKLY;INTERVAL=1;BYDAY=TU;COUNT=52"
RULE_MAX = 200
#: a series runs for at most this many days from its first day (a year), and a shift lasts at most this long
SERIES_DAYS_MAX = 366
SHIFT_MINUTES_MAX = 24 * 60
#: holidays a series skips
EXCEPTIONS_MAX = 60
#: a one-off activity's shifts, at most
SHIFTS_PER_ACTIVITY_MAX = 400
#: how far ahead a series' shifts are created (days); `flask shifts extend` (daily) keeps the horizon rolling
HORIZON_DAYS = 56

#: what a coordinator enters for one shift
SHIFT = Schema("ShiftFields", {
    "starts_at": DateTime(required=True, description="ISO 8601; without an offset, Beijing time."),
    "ends_at": DateTime(required=True, description="After starts_at, at most 24 hours later."),
    "capacity": Integer(1, CAPACITY_MAX, nullable=True, description="Places; empty: no limit."),
    "role": Text(ROLE_MAX, description="A role or skill the shift needs; empty: anyone."),
})

#: a shift as the API answers it
SHIFT_OUT = Schema("Shift", {
    "id": Integer(required=True),
    "activity": Text(plain=False, required=True),
    "starts_at": DateTime(required=True), "ends_at": DateTime(required=True),
    "capacity": Integer(nullable=True), "role": Text(required=True),
    "status": Choice(SHIFT_STATUSES, required=True),
    "series": Integer(nullable=True, description="The duty roster (series) the shift belongs to."),
    "accepted": Integer(required=True, description="Places taken."),
    "waitlisted": Integer(required=True),
})

#: how often a duty roster recurs (the RRULE's FREQ)
FREQUENCIES = {"daily": _l("Every day"), "weekly": _l("Every week, on chosen weekdays")}
#: RFC 5545 weekday codes, Monday first
WEEKDAYS = {"MO": _l("Monday"), "TU": _l("Tuesday"), "WE": _l("Wednesday"), "TH": _l("Thursday"),
            "FR": _l("Friday"), "SA": _l("Saturday"), "SU": _l("Sunday")}
#: every n days or weeks, at most
INTERVAL_MAX = 52

#: what a coordinator enters for a duty roster (activities.schedule.SeriesData, the form)
SERIES = Schema("SeriesFields", {
    "frequency": Choice(FREQUENCIES, required=True),
    "weekdays": ListOf(Choice(WEEKDAYS), description="For a weekly roster: its weekdays (MO..SU)."),
    "interval": Integer(1, INTERVAL_MAX, description="Every n days or weeks (default 1)."),
    "first_day": Date(required=True, description="The roster's first day (Beijing time), today or later."),
    "until": Date(nullable=True, description="The last day; give it or count."),
    "count": Integer(1, SERIES_DAYS_MAX, nullable=True, description="How many shifts; give it or until."),
    "start_time": Text(required=True, plain=False, pattern=r"^\d{2}:\d{2}$",
                       description="HH:MM, Beijing time."),
    "duration_minutes": Integer(1, SHIFT_MINUTES_MAX, required=True),
    "capacity": Integer(1, CAPACITY_MAX, nullable=True, description="Places in each shift; empty: no limit."),
    "role": Text(ROLE_MAX, description="A role or skill each shift needs; empty: anyone."),
    "exceptions": ListOf(Date(), max_items=EXCEPTIONS_MAX, description="Dates skipped (holidays)."),
})

#: the sign-up body (POST /activities/{code}/signups)
SIGNUP_REQUEST = Schema("SignupRequest", {
    "shift": Integer(1, nullable=True, description="The shift's id; needed when the activity has several."),
})

#: GET /activities/{code}/shifts
SHIFTS_OUT = Schema("Shifts", {"items": ListOf(SHIFT_OUT, required=True)})

#: why a coordinator cancels a shift (told to those signed up)
CANCEL_REASON_MAX = 200
SHIFT_CANCEL = Schema("ShiftCancel", {"reason": Text(CANCEL_REASON_MAX)})
