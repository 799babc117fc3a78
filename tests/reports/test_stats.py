"""Each figure equals a count made independently from the rows (in Python, from the tables as they are)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from volunteer_registry.activities.models import Activity
from volunteer_registry.extensions import db
from volunteer_registry.ledger.models import LedgerEntry, LedgerState
from volunteer_registry.organizations.models import Membership, Organization
from volunteer_registry.reports.queries import month_keys, organization_stats, platform_stats, today
from volunteer_registry.volunteers.models import Volunteer

from ..certificates.conftest import approved_service, certified  # noqa: F401  (the fixture)


def test_month_keys_cross_the_year():
    assert month_keys(dt.date(2026, 2, 10), 4) == ["2025-11", "2025-12", "2026-01", "2026-02"]


def test_organization_figures_equal_counts_from_the_rows(make, certified):  # noqa: F811
    org, admin, zhuoma, coordinator, (river, library) = certified
    tashi = make.volunteer(name="扎西")
    approved_service(make, river, tashi, 95, days_ago=1, recorder=coordinator, approver=admin)
    db.session.commit()
    stats = organization_stats(org)
    states = db.session.execute(sa.select(LedgerState, LedgerEntry).join(
        LedgerEntry, LedgerEntry.id == LedgerState.entry_id).where(LedgerState.organization_id == org.id)).all()
    approved = [(s, e) for s, e in states if s.status == "approved"]
    now = today()
    assert stats.minutes_total == sum(s.minutes for s, _e in approved) == 180 + 150 + 95
    assert stats.minutes_this_month == sum(s.minutes for s, _e in approved
                                           if (s.service_date.year, s.service_date.month) == (now.year, now.month))
    assert stats.minutes_this_year == sum(s.minutes for s, _e in approved if s.service_date.year == now.year)
    assert stats.active_volunteers == len({s.volunteer_id for s, _e in approved}) == 2
    assert stats.pending_entries == sum(1 for s, _e in states if s.status == "pending") == 1
    assert stats.members == db.session.scalar(sa.select(sa.func.count()).select_from(Membership).where(
        Membership.organization_id == org.id, Membership.status == "active"))
    by_month = dict(stats.by_month)
    for key, minutes in by_month.items():
        assert minutes == sum(s.minutes for s, _e in approved if s.service_date.strftime("%Y-%m") == key)
    categories = {}
    for s, e in approved:
        category = db.session.get(Activity, e.activity_id).category
        categories[category] = categories.get(category, 0) + s.minutes
    assert dict(stats.by_category) == categories == {"environment": 275, "education": 150}
    assert [(a["title"], a["minutes"], a["volunteers"]) for a in stats.top_activities] == [
        ("湟水河清洁", 275, 2), ("社区图书角", 150, 1)]


def test_platform_figures_equal_counts_from_the_rows(make, certified):  # noqa: F811
    make.org(status="pending", region_code="632701")
    make.org(region_code="632221")
    db.session.commit()
    stats = platform_stats()
    orgs = db.session.scalars(sa.select(Organization)).all()
    assert stats.organizations == sum(1 for o in orgs if o.status == "approved")
    assert stats.organizations_pending == sum(1 for o in orgs if o.status == "pending") == 1
    assert stats.volunteers == db.session.scalar(sa.select(sa.func.count()).select_from(Volunteer))
    assert stats.minutes == db.session.scalar(sa.select(sa.func.sum(LedgerState.minutes)).where(
        LedgerState.status == "approved")) == 330
    county = {row["code"]: row for row in stats.by_county}
    assert county["632701"]["organizations_pending"] == 1 and county["632221"]["organizations"] == 1
    prefecture = {row["code"]: row for row in stats.by_prefecture}
    assert prefecture["632700"]["organizations_pending"] == 1  # Yushu prefecture holds its county
    assert sum(row["volunteers"] for row in stats.by_prefecture) == stats.volunteers
    assert sum(row["minutes"] for row in stats.growth) == 330  # all of it served in the last months
    assert stats.growth[-1]["month"] == today().strftime("%Y-%m")


def test_the_stats_api_gives_the_same_figures_to_those_who_may_see_them(client, make, certified):  # noqa: F811
    from ..api.conftest import Api, token_for

    org, admin, zhuoma, coordinator, _activities = certified
    api = Api(client)
    platform = make.admin()
    db.session.commit()
    body = api.get(f"/organizations/{org.code}/stats", token=token_for(coordinator)).get_json()
    assert (body["organization"], body["minutes_total"], body["hours_total"]) == (org.code, 330, 5.5)
    assert body["by_category"] == [{"category": "environment", "minutes": 180, "hours": 3.0},
                                   {"category": "education", "minutes": 150, "hours": 2.5}]
    assert body["pending_entries"] == 1 and len(body["by_month"]) == 12
    assert api.get(f"/organizations/{org.code}/stats", token=token_for(platform)).status_code == 200
    for stranger in (make.user(), make.account_of(zhuoma), make.org_admin_of(make.org())):
        response = api.get(f"/organizations/{org.code}/stats", token=token_for(stranger))
        assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"
    province = api.get("/stats", token=token_for(platform)).get_json()
    assert (province["minutes"], province["hours"], province["organizations"]) == (330, 5.5, 2)  # A and the stranger's
    assert api.get("/stats", token=token_for(admin)).status_code == 403
    assert api.get("/stats").status_code == 401


def test_growth_counts_months_in_beijing_time(make):
    """Registered at 17:00 UTC on the last day of last month is 01:00 on the 1st of this month in Beijing."""
    first = today().replace(day=1)
    volunteer = make.volunteer()
    volunteer.created_at = dt.datetime.combine(first - dt.timedelta(days=1), dt.time(17), dt.UTC)
    db.session.commit()
    growth = {row["month"]: row["volunteers"] for row in platform_stats().growth}
    assert growth[first.strftime("%Y-%m")] == 1
    assert growth[(first - dt.timedelta(days=1)).strftime("%Y-%m")] == 0
