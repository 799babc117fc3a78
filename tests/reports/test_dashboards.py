"""The dashboards: the figures each role sees equal counts made from the rows, the charts draw those figures (and the
same numbers are in a table), and each page is in the reader's language."""
from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
import sqlalchemy as sa

from volunteer_registry.activities.services import sign_up
from volunteer_registry.checkin.models import AttendanceSession
from volunteer_registry.checkin.services import ScanRequest, record_scan
from volunteer_registry.extensions import db
from volunteer_registry.ledger.models import LedgerState
from volunteer_registry.models import utcnow
from volunteer_registry.reports.charts import bar_chart, column_chart, nice_step
from volunteer_registry.reports.queries import attendance, month_keys, today

from ..certificates.conftest import approved_service, certified  # noqa: F401  (the fixture)
from ..conftest import login

T = dt.timedelta


def page(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, f"GET {url}: {response.status_code}"
    return response.get_data(as_text=True)


def figures(html: str) -> dict[str, str]:
    """The headline figures of a dashboard: label → value."""
    return {label.strip(): value.strip() for value, label in re.findall(
        r'<span class="figure__value">([^<]*)</span> <span class="figure__label">([^<]*)</span>', html)}


def table_of(html: str, figure_id: str) -> list[tuple[str, str]]:
    """The (label, value) rows of the table that goes with the chart ``figure_id``."""
    block = html[html.index(f'<figure class="chart" id="{figure_id}">'):]
    block = block[:block.index("</figure>")]
    return re.findall(r'<th scope="row">([^<]*)</th>.*?<td class="num">([^<]*)</td>', block, re.S)


# --- the charts' geometry --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("maximum", "step"), [(0, 1), (3, 1), (5.5, 2), (9, 5), (40, 10), (180, 50), (1234, 500)])
def test_axis_steps_are_round_and_reach_the_largest_value(maximum, step):
    assert nice_step(maximum) == step
    assert step * 4 >= maximum


def test_columns_are_proportional_to_their_values_and_bars_to_the_largest():
    chart = column_chart([("a", 0), ("b", 2.5), ("c", 5)], lambda v: f"{v:g}")
    heights = [mark.height for mark in chart.marks]
    assert heights[0] == 0 and heights[2] == pytest.approx(2 * heights[1], abs=0.2)
    # the axis goes from 0 to a round value at or above the largest, and the tallest column reaches its share
    assert chart.gridlines[0][1] == "0" and float(chart.gridlines[-1][1]) >= 5
    assert all(mark.y + mark.height == pytest.approx(chart.gridlines[0][0], abs=0.2) for mark in chart.marks)
    bars = bar_chart([("small", 1), ("large", 4), ("none", 0)], str)
    assert [(m.label, m.width) for m in bars.marks] == [("large", 100), ("small", 25), ("none", 0)]
    assert column_chart([("a", 0)], str).empty and bar_chart([], str).empty


# --- the organization --------------------------------------------------------------------------------------------

def test_the_organization_dashboard_shows_its_figures_and_charts(app, make, certified):  # noqa: F811
    org, admin, zhuoma, coordinator, (river, library) = certified
    client = app.test_client()
    login(client, coordinator)
    html = page(client, f"/organizations/{org.code}/dashboard")
    shown = figures(html)
    assert shown["in all"] == "5.5 h" and shown["active volunteers (last 12 months)"] == "1"
    approved = db.session.execute(sa.select(LedgerState.service_date, LedgerState.minutes).where(
        LedgerState.organization_id == org.id, LedgerState.status == "approved")).all()
    this_month = sum(m for day, m in approved if (day.year, day.month) == (today().year, today().month))
    assert shown["this month"] == f"{this_month / 60:.1f} h"
    assert "1 entry waiting for approval" in html
    # twelve months, in a chart and in its table, the last one this month with what was served in it
    months = table_of(html, "hours-by-month")
    assert len(months) == 12 and html.count('<rect class="chart__mark"') == 12
    served = {key: 0 for key in month_keys(today())}
    for day, minutes in approved:
        served[day.strftime("%Y-%m")] += minutes
    assert [value for _label, value in months] == [f"{m / 60:.1f} h" for m in served.values()]
    assert table_of(html, "hours-by-category") == [("Environment", "3.0 h"), ("Education", "2.5 h")]
    assert "湟水河清洁" in html and "社区图书角" in html  # top activities
    # the downloads it offers
    assert f"/organizations/{org.code}/exports/members.csv" in html
    assert f"/organizations/{org.code}/exports/entries.xlsx" in html


def test_attendance_counts_no_shows_and_late_arrivals(make):
    now = utcnow().replace(microsecond=0)
    activity = make.activity(title="周末探访", starts_at=now - T(days=2), ends_at=now - T(days=2) + T(hours=3),
                             grace_minutes=15)
    org = activity.organization
    coordinator = make.coordinator(org)
    people = [make.volunteer(name=name) for name in ("卓玛", "扎西", "次仁")]
    for person in people:
        sign_up(make.account_of(person), activity, now=activity.starts_at - T(days=3))
    on_time, late, _absent = people
    for person, minutes in ((on_time, -5), (late, 40)):
        for direction, offset in (("in", minutes), ("out", 120)):
            result = record_scan(coordinator, ScanRequest(
                event_id=uuid.uuid4().hex, activity_code=activity.code, volunteer_number=person.volunteer_number,
                direction=direction), now=activity.starts_at + T(minutes=offset))
            assert result.accepted, result.error
    db.session.commit()
    counted = attendance(org)
    sessions = db.session.scalars(db.select(AttendanceSession).where(
        AttendanceSession.activity_id == activity.id)).all()
    came = {s.volunteer_id for s in sessions}
    assert counted == {"signed_up": 3, "attended": len(came), "no_shows": 3 - len(came), "late": 1}
    assert came == {on_time.id, late.id}


# --- the province --------------------------------------------------------------------------------------------------

def test_the_province_dashboard_shows_regions_and_growth(app, make, certified):  # noqa: F811
    make.org(status="pending", region_code="632701")
    platform = make.admin()
    db.session.commit()
    client = app.test_client()
    login(client, platform)
    html = page(client, "/platform/dashboard")
    shown = figures(html)
    assert shown["registered organizations"] == "1" and shown["organizations waiting for review"] == "1"
    assert shown["approved service"] == "5.5 h"
    assert "Yushu Tibetan Autonomous Prefecture" in html and "Yushu City" in html  # the pending org's prefecture
    assert len(table_of(html, "growth-hours")) == 12
    assert "/platform/exports/regions.csv" in html and "/platform/exports/growth.xlsx" in html


# --- the volunteer -------------------------------------------------------------------------------------------------

def test_the_volunteers_start_page_shows_hours_charts_sign_ups_and_certificates(app, make, certified):  # noqa: F811
    from volunteer_registry.certificates.services import issue_certificate

    org, admin, zhuoma, coordinator, (river, library) = certified
    certificate = issue_certificate(admin, org, zhuoma, today() - T(days=30), today(), render=False)
    soon = utcnow() + T(days=3)
    upcoming = make.activity(org, title="敬老院探访", starts_at=soon, ends_at=soon + T(hours=2))
    sign_up(make.account_of(zhuoma), upcoming)
    db.session.commit()
    client = app.test_client()
    login(client, make.account_of(zhuoma))
    html = page(client, "/")
    shown = figures(html)
    assert shown["approved service"] == "5.5 h" and shown["waiting for approval"] == "2.0 h"
    assert "94.5 h to the next star" in html
    assert table_of(html, "my-hours-by-category") == [("Environment", "3.0 h"), ("Education", "2.5 h")]
    assert table_of(html, "my-hours-by-organization") == [(org.name, "5.5 h")]
    assert sum(float(v.split()[0]) for _l, v in table_of(html, "my-hours-by-month")) == 5.5
    assert "敬老院探访" in html and certificate.number in html
    assert "/me/record.csv" in html and "/me/record.xlsx" in html and "/me/data.json" in html


def test_dashboards_speak_chinese(app, make, certified):  # noqa: F811
    org, admin, zhuoma, coordinator, _activities = certified
    client = app.test_client()
    login(client, coordinator)
    client.get("/language/zh_CN")
    html = page(client, f"/organizations/{org.code}/dashboard")
    assert "按月服务时长" in html and "小时" in html
    months = table_of(html, "hours-by-month")
    assert months[-1][0] == f"{today().year}年{today().month}月"  # the month in full in the table
    assert f'text-anchor="middle">{today().month}</text>' in html  # its number under its column


# --- who may look --------------------------------------------------------------------------------------------------

def test_only_the_organizations_staff_and_civil_affairs_see_its_dashboard(app, make, certified):  # noqa: F811
    org, admin, zhuoma, coordinator, _activities = certified
    url = f"/organizations/{org.code}/dashboard"
    assert app.test_client().get(url).status_code == 302  # to sign in
    for user, expected in ((admin, 200), (coordinator, 200), (make.admin(), 200), (make.account_of(zhuoma), 403),
                           (make.org_admin_of(make.org()), 403), (make.user(), 403)):
        db.session.commit()
        client = app.test_client()
        login(client, user)
        assert client.get(url).status_code == expected, user
        assert client.get("/platform/dashboard").status_code == (200 if user.is_platform_admin else 403)
