"""The shapes of the dashboards' figures as the API answers them (``GET /organizations/{code}/stats`` and
``GET /stats``), declared once: the serializers dump them and the OpenAPI document reads them. Every ``minutes``
has an ``hours`` beside it, the same figure in hours with one decimal (hours.as_hours)."""
from __future__ import annotations

from ..activities.schemas import CATEGORIES
from ..certificates.models import STATUSES as CERTIFICATE_STATUSES
from ..schema import Choice, Integer, ListOf, Nested, Number, Schema, Text

MONTH_PATTERN = "^[0-9]{4}-[0-9]{2}$"


def _count(description: str | None = None) -> Integer:
    return Integer(minimum=0, required=True, description=description)


def _minutes(description: str) -> Integer:
    return Integer(minimum=0, required=True, description=description + " (approved minutes; `hours` beside it "
                   "has the same in hours with one decimal).")


def _hours() -> Number:
    return Number(required=True)


def _month() -> Text:
    return Text(plain=False, required=True, pattern=MONTH_PATTERN, description="YYYY-MM, Beijing time")


#: one month of an organization's approved service
MONTH_MINUTES_OUT = Schema("MonthMinutes", {"month": _month(), "minutes": _count(), "hours": _hours()})
#: an organization's approved service in one activity category
CATEGORY_MINUTES_OUT = Schema("CategoryMinutes", {"category": Choice(CATEGORIES, required=True),
                                                  "minutes": _count(), "hours": _hours()})
#: one of an organization's activities with the most approved service
TOP_ACTIVITY_OUT = Schema("TopActivity", {"code": Text(plain=False, required=True),
                                          "title": Text(plain=False, required=True), "minutes": _count(),
                                          "hours": _hours(), "volunteers": _count()})
ATTENDANCE_FIGURES_OUT = Schema("AttendanceFigures", {
    "signed_up": _count(), "attended": _count(), "no_shows": _count(), "late": _count()},
    description="Activities that ended in the last 365 days.")
CERTIFICATE_COUNTS_OUT = Schema("CertificateCounts", {status: _count() for status in CERTIFICATE_STATUSES})

#: GET /organizations/{code}/stats
ORGANIZATION_STATS_OUT = Schema("OrganizationStats", {
    "organization": Text(plain=False, required=True, description="Its code."),
    "members": _count("Active members."),
    "active_volunteers": _count("Volunteers with approved service in the last 365 days."),
    "minutes_this_month": _minutes("This calendar month"), "hours_this_month": _hours(),
    "minutes_this_year": _minutes("This calendar year"), "hours_this_year": _hours(),
    "minutes_total": _minutes("In all"), "hours_total": _hours(),
    "by_month": ListOf(MONTH_MINUTES_OUT, required=True,
                       description="The last 12 months, oldest first, every month present."),
    "by_category": ListOf(CATEGORY_MINUTES_OUT, required=True),
    "top_activities": ListOf(TOP_ACTIVITY_OUT, max_items=5, required=True),
    "pending_entries": _count(), "pending_corrections": _count(), "pending_certificate_requests": _count(),
    "attendance": Nested(ATTENDANCE_FIGURES_OUT, required=True),
    "certificates": Nested(CERTIFICATE_COUNTS_OUT, required=True),
})

#: a prefecture's or a county's figures
REGION_STATS_OUT = Schema("RegionStats", {
    "code": Text(plain=False, required=True, description="GB/T 2260 division code"),
    "organizations": _count(), "organizations_pending": _count(), "volunteers": _count(),
    "minutes": _minutes("Served with the region's organizations"), "hours": _hours(),
})
#: one month of the province's growth
GROWTH_MONTH_OUT = Schema("GrowthMonth", {
    "month": _month(), "organizations": _count("Approved in the month."),
    "volunteers": _count("Registered in the month."), "minutes": _count(), "hours": _hours(),
})

#: GET /stats
PLATFORM_STATS_OUT = Schema("PlatformStats", {
    "organizations": _count("Approved organizations."), "organizations_pending": _count("Waiting for review."),
    "volunteers": _count(), "minutes": _minutes("In all"), "hours": _hours(),
    "by_prefecture": ListOf(REGION_STATS_OUT, required=True), "by_county": ListOf(REGION_STATS_OUT, required=True),
    "growth": ListOf(GROWTH_MONTH_OUT, required=True, description="The last 12 months, oldest first."),
})
