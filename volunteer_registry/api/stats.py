"""The figures of the dashboards as JSON, for data exchange with other civil-affairs systems:
``GET /organizations/{code}/stats`` (the organization's staff, and platform admins) and ``GET /stats`` (platform
admins). Minutes are integers; hours are given beside them with one decimal."""
from __future__ import annotations

from flask import g, jsonify

from ..access import loads_organization
from ..accounts.permissions import require
from ..hours import as_hours
from ..reports.queries import OrganizationStats, PlatformStats, organization_stats, platform_stats
from ..reports.schemas import (
    ATTENDANCE_FIGURES_OUT,
    CATEGORY_MINUTES_OUT,
    CERTIFICATE_COUNTS_OUT,
    GROWTH_MONTH_OUT,
    MONTH_MINUTES_OUT,
    ORGANIZATION_STATS_OUT,
    PLATFORM_STATS_OUT,
    REGION_STATS_OUT,
    TOP_ACTIVITY_OUT,
)
from ..schema import dump
from . import bp
from .auth import token_required
from .openapi import FORBIDDEN, NOT_FOUND, ORGANIZATION_CODE, UNAUTHORIZED, documented, ok


def _minutes_row(schema, row: dict) -> dict:
    """``row`` (a query's figures) as ``schema`` declares it, its ``minutes`` also in hours."""
    return dump(schema, None, **row, hours=as_hours(row["minutes"]))


def organization_stats_json(org, stats: OrganizationStats) -> dict:
    """The organization's figures as ORGANIZATION_STATS_OUT declares them."""
    return dump(ORGANIZATION_STATS_OUT, stats, organization=org.code,
                hours_this_month=as_hours(stats.minutes_this_month),
                hours_this_year=as_hours(stats.minutes_this_year), hours_total=as_hours(stats.minutes_total),
                by_month=[_minutes_row(MONTH_MINUTES_OUT, {"month": month, "minutes": minutes})
                          for month, minutes in stats.by_month],
                by_category=[_minutes_row(CATEGORY_MINUTES_OUT, {"category": category, "minutes": minutes})
                             for category, minutes in stats.by_category],
                top_activities=[_minutes_row(TOP_ACTIVITY_OUT, row) for row in stats.top_activities],
                attendance=dump(ATTENDANCE_FIGURES_OUT, None, **stats.attendance),
                certificates=dump(CERTIFICATE_COUNTS_OUT, None, **stats.certificates))


def platform_stats_json(stats: PlatformStats) -> dict:
    """The province's figures as PLATFORM_STATS_OUT declares them."""
    return dump(PLATFORM_STATS_OUT, stats, hours=as_hours(stats.minutes),
                by_prefecture=[_minutes_row(REGION_STATS_OUT, row) for row in stats.by_prefecture],
                by_county=[_minutes_row(REGION_STATS_OUT, row) for row in stats.by_county],
                growth=[_minutes_row(GROWTH_MONTH_OUT, row) for row in stats.growth])


@bp.route("/organizations/<code>/stats", methods=["GET"])
@documented("The organization's dashboard figures (its staff, and platform admins)", path=ORGANIZATION_CODE,
            responses={200: ok(ORGANIZATION_STATS_OUT), 401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND})
@token_required
@loads_organization("reports.view")
def organization_stats_endpoint(org):
    return jsonify(organization_stats_json(org, organization_stats(org)))


@bp.route("/stats", methods=["GET"])
@documented("The province's figures, by prefecture and county, and their growth (platform admins)",
            responses={200: ok(PLATFORM_STATS_OUT), 401: UNAUTHORIZED, 403: FORBIDDEN})
@token_required
def platform_stats_endpoint():
    require("stats.view", user=g.api_user)
    return jsonify(platform_stats_json(platform_stats()))
