"""The figures of the dashboards as JSON, for data exchange with other civil-affairs systems:
``GET /organizations/{code}/stats`` (the organization's staff, and platform admins) and ``GET /stats`` (platform
admins). Minutes are integers; hours are given beside them with one decimal."""
from __future__ import annotations

from dataclasses import asdict

from flask import g, jsonify

from ..access import loads_organization
from ..accounts.permissions import require
from ..hours import as_hours
from ..reports.queries import organization_stats, platform_stats
from . import bp
from .auth import token_required
from .openapi import FORBIDDEN, NOT_FOUND, ORGANIZATION_CODE, UNAUTHORIZED, documented, ok


def _with_hours(value):
    """Every ``minutes`` in ``value`` gets an ``hours`` beside it (one decimal)."""
    if isinstance(value, dict):
        out = {key: _with_hours(item) for key, item in value.items()}
        for key, item in value.items():
            if key.startswith("minutes") and isinstance(item, int):
                out["hours" + key[len("minutes"):]] = as_hours(item)
        return out
    if isinstance(value, list):
        return [_with_hours(item) for item in value]
    return value


@bp.route("/organizations/<code>/stats", methods=["GET"])
@documented("The organization's dashboard figures (its staff, and platform admins)", path=ORGANIZATION_CODE,
            responses={200: ok("OrganizationStats"), 401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND})
@token_required
@loads_organization("reports.view")
def organization_stats_endpoint(org):
    stats = asdict(organization_stats(org))
    stats["by_month"] = [{"month": month, "minutes": minutes} for month, minutes in stats["by_month"]]
    stats["by_category"] = [{"category": category, "minutes": minutes} for category, minutes in stats["by_category"]]
    return jsonify(_with_hours({"organization": org.code, **stats}))


@bp.route("/stats", methods=["GET"])
@documented("The province's figures, by prefecture and county, and their growth (platform admins)",
            responses={200: ok("PlatformStats"), 401: UNAUTHORIZED, 403: FORBIDDEN})
@token_required
def platform_stats_endpoint():
    require("stats.view", user=g.api_user)
    return jsonify(_with_hours(asdict(platform_stats())))
