"""The dashboards: an organization's (its staff, and civil affairs), the province's (civil affairs). The volunteer's
figures are on the start page (home.views), drawn by the same chart macros."""
from __future__ import annotations

import datetime as dt

from babel.dates import format_skeleton
from flask import render_template
from flask_babel import format_date, format_decimal, get_locale
from flask_login import login_required

from ..access import loads_organization
from ..accounts.permissions import require
from ..activities.models import CATEGORIES
from ..hours import MINUTES_PER_HOUR, hours_label
from ..ledger.forms import STATUS_CHOICES
from ..ledger.queries import activity_choices
from ..regions import all_regions
from . import bp
from .charts import Chart, bar_chart, column_chart
from .queries import organization_stats, platform_stats


def hours_text(hours: float) -> str:
    """Hours as every page writes them (the ``hours`` filter: one decimal and the unit)."""
    return hours_label(round(hours * MINUTES_PER_HOUR))


def count_text(count: float) -> str:
    """A count with the reader's digit grouping."""
    return format_decimal(count, format="#,##0")


def _axis_hours(hours: float) -> str:
    """An axis value in hours: no unit, no trailing zero."""
    return format_decimal(hours, format="#,##0.#")


def _column_label(day: dt.date) -> str:
    """A month under its column: "Nov" where the abbreviation is three Latin letters, else the month's number
    ("11", not "11月", which would not fit twelve times across a phone)."""
    short = format_date(day, "LLL")
    return short if short.isascii() and len(short) <= 3 else format_date(day, "LLLLL")


def months_chart(by_month, *, minutes: bool = True) -> Chart:
    """A column chart of 'YYYY-MM' keys: short month names under the columns, month and year in the table."""
    days = [dt.date(int(key[:4]), int(key[5:7]), 1) for key, _value in by_month]
    series = [(_column_label(day), (value / MINUTES_PER_HOUR if minutes else value))
              for day, (_key, value) in zip(days, by_month, strict=True)]
    return column_chart(series, hours_text if minutes else count_text,
                        long_labels=[format_skeleton("yMMMM", day, locale=get_locale()) for day in days],
                        axis_text=_axis_hours if minutes else count_text)


def hours_chart(by_name) -> Chart:
    """Hours by name (of an organization, a region), largest first."""
    return bar_chart([(name, minutes / MINUTES_PER_HOUR) for name, minutes in by_name], hours_text)


def categories_chart(by_category) -> Chart:
    """Hours by activity category, largest first, with the categories' names in the reader's language."""
    return hours_chart([(str(CATEGORIES.get(category, category)), minutes) for category, minutes in by_category])


@bp.route("/organizations/<code>/dashboard")
@login_required
@loads_organization("reports.view")
def organization_dashboard(org):
    stats = organization_stats(org)
    attendance = stats.attendance
    return render_template(
        "reports/organization.html", org=org, stats=stats,
        months=months_chart(stats.by_month), categories=categories_chart(stats.by_category),
        attendance_rate=(attendance["attended"] / attendance["signed_up"]) if attendance["signed_up"] else None,
        activities=activity_choices(org), statuses=STATUS_CHOICES)


@bp.route("/platform/dashboard")
@login_required
def platform_dashboard():
    require("stats.view")
    stats = platform_stats()
    regions = all_regions()

    def name(code: str) -> str:
        region = regions.get(code)
        return region.name if region else code

    prefectures = [dict(row, name=name(row["code"]),
                        counties=[dict(county, name=name(county["code"])) for county in stats.by_county
                                  if county["code"] != row["code"] and county["code"].startswith(row["code"][:4])])
                   for row in stats.by_prefecture]
    return render_template(
        "reports/platform.html", stats=stats, prefectures=prefectures,
        hours_by_prefecture=hours_chart([(row["name"], row["minutes"]) for row in prefectures]),
        volunteers_by_prefecture=bar_chart([(row["name"], row["volunteers"]) for row in prefectures], count_text),
        growth_volunteers=months_chart([(row["month"], row["volunteers"]) for row in stats.growth], minutes=False),
        growth_hours=months_chart([(row["month"], row["minutes"]) for row in stats.growth]))
