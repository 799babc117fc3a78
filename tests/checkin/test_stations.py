"""The stations view: an organization's week of shifts, by day, for its coordinators and org admins."""
import datetime as dt
import re

import pytest
import sqlalchemy as sa

from volunteer_registry.activities.models import Shift
from volunteer_registry.activities.services import sign_up
from volunteer_registry.extensions import db
from volunteer_registry.models import utcnow
from volunteer_registry.timeutil import LOCAL_ZONE, local

from ..conftest import login

T = dt.timedelta


def at(day: dt.date, hour: int) -> dt.datetime:
    """``hour`` o'clock Beijing time on ``day``, in UTC."""
    return dt.datetime.combine(day, dt.time(hour), LOCAL_ZONE).astimezone(dt.UTC)


def signed_in(app, user):
    client = app.test_client()
    login(client, user)
    return client


def card(html: str, shift) -> str:
    match = re.search(rf'<article class="card station[^"]*" id="shift-{shift.id}">(.*?)</article>', html, re.S)
    assert match, f"shift {shift.id} is not on the page"
    return match.group(1)


def counted(section: str, name: str) -> str:
    return re.search(rf'<dd data-count="{name}">(.*?)</dd>', section, re.S).group(1).strip()


@pytest.fixture
def week(make):
    """A week three weeks ahead (Monday to Sunday, Beijing time) of an organization: a library desk on Tuesday 9–12
    with two places (two accepted, one on the waiting list) and a second shift on Sunday evening (no limit, one
    accepted); around it what the view must leave out: a draft activity, another organization's activity, a shift
    of the following Monday, a cancelled shift."""
    monday = local(utcnow()).date() + T(days=21)
    monday -= T(days=monday.weekday())
    org = make.org()
    coordinator = make.coordinator(org)
    desk = make.activity(org, title="Library desk", starts_at=at(monday + T(days=1), 9),
                         ends_at=at(monday + T(days=1), 12), capacity=2)
    tuesday = db.session.scalar(sa.select(Shift).where(Shift.activity_id == desk.id))
    sunday = Shift(activity_id=desk.id, organization_id=org.id, starts_at=at(monday + T(days=6), 18),
                   ends_at=at(monday + T(days=6), 21), role="Evening shelving", status="open")
    next_monday = Shift(activity_id=desk.id, organization_id=org.id, starts_at=at(monday + T(days=7), 9),
                        ends_at=at(monday + T(days=7), 11), status="open")
    cancelled = Shift(activity_id=desk.id, organization_id=org.id, starts_at=at(monday + T(days=2), 9),
                      ends_at=at(monday + T(days=2), 11), status="cancelled")
    db.session.add_all([sunday, next_monday, cancelled])
    db.session.flush()
    people = [make.volunteer(name=name) for name in ("Ma Lan", "Li Wei", "Zhou Min")]
    for person in people:
        sign_up(make.account_of(person), desk, now=utcnow(), shift=tuesday)
    sign_up(make.account_of(people[0]), desk, now=utcnow(), shift=sunday)
    draft = make.activity(org, status="draft", title="Draft outing", starts_at=at(monday + T(days=3), 9),
                          ends_at=at(monday + T(days=3), 12))
    foreign = make.activity(title="Other org's walk", starts_at=at(monday + T(days=3), 9),
                            ends_at=at(monday + T(days=3), 12))
    db.session.commit()
    return org, coordinator, monday, {"tuesday": tuesday, "sunday": sunday, "next_monday": next_monday,
                                      "cancelled": cancelled}, draft, foreign


def test_the_week_shows_each_days_shifts_with_who_is_coming_places_and_waiting_list(app, week):
    org, coordinator, monday, shifts, draft, foreign = week
    client = signed_in(app, coordinator)
    # any day of the week shows that week
    page = client.get(f"/organizations/{org.code}/stations?week={(monday + T(days=3)).isoformat()}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert len(re.findall(r'<section class="stations-day"', html)) == 7
    assert f'id="day-{monday.isoformat()}"' in html and f'id="day-{(monday + T(days=6)).isoformat()}"' in html

    tuesday = card(html, shifts["tuesday"])
    assert "Library desk" in tuesday and "09:00–12:00" in tuesday
    assert counted(tuesday, "coming").startswith("2:") and "Ma Lan" in tuesday and "Li Wei" in tuesday
    assert "Zhou Min" not in tuesday  # on the waiting list, counted there
    assert (counted(tuesday, "open"), counted(tuesday, "waiting")) == ("0", "1")
    assert "On now" not in tuesday and "/kiosk" not in tuesday
    # the Tuesday card sits in Tuesday's section
    tuesday_section = html.split(f'id="day-{(monday + T(days=1)).isoformat()}"')[1].split("<section")[0]
    assert f'id="shift-{shifts["tuesday"].id}"' in tuesday_section

    sunday = card(html, shifts["sunday"])
    assert "Evening shelving" in sunday and "18:00–21:00" in sunday
    assert counted(sunday, "coming").startswith("1:") and counted(sunday, "open") == "no limit"
    for left_out in (shifts["next_monday"], shifts["cancelled"]):
        assert f'id="shift-{left_out.id}"' not in html
    assert "Draft outing" not in html and "Other org&#39;s walk" not in html and "Other org's walk" not in html

    # moving a week on shows the next Monday's shift, and links back
    html = client.get(f"/organizations/{org.code}/stations?week={(monday + T(days=7)).isoformat()}").get_data(
        as_text=True)
    assert f'id="shift-{shifts["next_monday"].id}"' in html and f'id="shift-{shifts["tuesday"].id}"' not in html
    assert f"week={monday.isoformat()}" in html


def test_the_shift_on_now_has_its_kiosk_scanner_and_group_check_in_a_tap_away(app, make):
    activity = make.activity(title="Soup kitchen")
    org = activity.organization
    shift = db.session.scalar(sa.select(Shift).where(Shift.activity_id == activity.id))
    admin = make.org_admin_of(org)
    db.session.commit()
    html = signed_in(app, admin).get(
        f"/organizations/{org.code}/stations?week={local(shift.starts_at).date().isoformat()}").get_data(as_text=True)
    now = card(html, shift)
    assert "On now" in now
    assert f'href="/activities/{activity.code}/kiosk?shift={shift.id}"' in now
    assert f'href="/activities/{activity.code}/scanner?shift={shift.id}"' in now
    assert f'href="/activities/{activity.code}/shifts/{shift.id}/group"' in now


def test_only_the_organizations_staff_see_its_stations(app, make, week):
    org, _coordinator, _monday, _shifts, _draft, foreign = week
    url = f"/organizations/{org.code}/stations"
    assert signed_in(app, make.org_admin_of(org)).get(url).status_code == 200
    outsiders = [make.coordinator(foreign.organization), make.account_of(make.volunteer())]
    db.session.commit()
    for outsider in outsiders:
        assert signed_in(app, outsider).get(url).status_code == 403
    anonymous = app.test_client().get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


@pytest.mark.parametrize("value", ["2026-13-01", "next week", "0001-01-01", "9999-12-31", "2026-02-30", "%00"])
def test_a_week_that_cannot_be_read_falls_back_to_this_week_and_says_so(app, week, value):
    org, coordinator, _monday, _shifts, _draft, _foreign = week
    page = signed_in(app, coordinator).get(f"/organizations/{org.code}/stations", query_string={"week": value})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "The week could not be read" in html
    this_monday = local(utcnow()).date() - T(days=local(utcnow()).weekday())
    assert f'id="day-{this_monday.isoformat()}"' in html


def test_the_week_takes_a_constant_number_of_queries(app, make, week):
    org, coordinator, monday, shifts, _draft, _foreign = week
    client = signed_in(app, coordinator)
    url = f"/organizations/{org.code}/stations?week={monday.isoformat()}"
    statements = []

    def count(*_args):
        statements.append(1)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        client.get(url)
        few = len(statements)
        desk = shifts["tuesday"].activity
        for day in range(5):  # five more shifts, each with a sign-up
            extra = Shift(activity_id=desk.id, organization_id=org.id, starts_at=at(monday + T(days=day), 14),
                          ends_at=at(monday + T(days=day), 16), status="open")
            db.session.add(extra)
            db.session.flush()
            sign_up(make.account_of(make.volunteer()), desk, now=utcnow(), shift=extra)
        db.session.commit()
        statements.clear()
        html = client.get(url).get_data(as_text=True)
        assert html.count('<article class="card station') == 7
        assert len(statements) == few
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
