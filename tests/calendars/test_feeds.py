"""Calendar feeds (RFC 5545): a volunteer's private feed behind its secret URL, one shift as .ics, and an
organization's public feed. Each feed is parsed back with icalendar and checked line by line (CRLF, folding at 75
octets), and no feed shows anyone's place but its reader's."""
from __future__ import annotations

import datetime as dt
import hashlib
import re

import icalendar
import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from volunteer_registry.accounts.deletion import delete_account
from volunteer_registry.activities.models import Shift, Signup
from volunteer_registry.activities.schemas import SIGNUP_STATUSES
from volunteer_registry.activities.services import sign_up, withdraw
from volunteer_registry.calendars.models import CalendarFeed
from volunteer_registry.calendars.queries import PAST_DAYS
from volunteer_registry.extensions import db
from volunteer_registry.models import utcnow

from ..conftest import PASSWORD, Factory, build_app, login, serve

T = dt.timedelta
REQUIRED = ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "STATUS", "URL")
#: 120 characters of Chinese: 360 octets of UTF-8, to be folded over several lines
LONG_TITLE = "青海湖环湖志愿服务" * 13 + "最后三"


def add_shift(activity, starts_at, hours=2, *, role="", capacity=None, status="open") -> Shift:
    shift = Shift(activity_id=activity.id, organization_id=activity.organization_id, starts_at=starts_at,
                  ends_at=starts_at + T(hours=hours), capacity=capacity, role=role, status=status)
    db.session.add(shift)
    db.session.flush()
    return shift


def past_signup(volunteer, shift, status="accepted") -> Signup:
    """A place in a shift that has already run (sign_up refuses a started shift, as it should)."""
    signup = Signup(activity_id=shift.activity_id, shift_id=shift.id, volunteer_id=volunteer.id, status=status,
                    created_at=shift.starts_at - T(days=2), decided_at=shift.starts_at - T(days=2))
    db.session.add(signup)
    db.session.flush()
    return signup


def check_wire_format(body: bytes) -> icalendar.Calendar:
    """The bytes are a valid iCalendar object: CRLF line ends only, no physical line over 75 octets, the
    calendar's and every event's required properties; returns it parsed."""
    assert body.endswith(b"\r\n")
    assert b"\n" not in body.replace(b"\r\n", b"")
    for line in body.split(b"\r\n"):
        assert len(line) <= 75, line
    calendar = icalendar.Calendar.from_ical(body)
    assert calendar.name == "VCALENDAR"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]).startswith("-//Volunteer Registry//")
    assert str(calendar["X-WR-CALNAME"])
    events = list(calendar.walk("VEVENT"))
    for event in events:
        for name in REQUIRED:
            assert name in event, name
        assert event.decoded("DTSTART").tzinfo is not None
        assert event.decoded("DTSTART").utcoffset() == T(0)
        assert event.decoded("DTEND") > event.decoded("DTSTART")
        assert event["DTSTART"].to_ical().endswith(b"Z")
    uids = [str(event["UID"]) for event in events]
    assert len(uids) == len(set(uids))
    return calendar


def events_of(calendar) -> dict[str, icalendar.Event]:
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def feed_url_on(page: str) -> str:
    match = re.search(r"https?://[^\s<\"]+/calendar/([A-Za-z0-9_\-]+)\.ics", page)
    assert match, page
    return match.group(0)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


@pytest.fixture
def scene(app, make):
    """An organization with a Chinese-titled activity of three shifts to come (one with a role, one full), two
    volunteers, and shifts that ran 10 and 40 days ago."""
    org = make.org(name="西宁市城东区志愿者协会")
    start = utcnow().replace(microsecond=0) + T(days=3)
    activity = make.activity(org, title=LONG_TITLE, address="东关大街 12 号", person_in_charge="马丽",
                             starts_at=start, ends_at=start + T(hours=2))
    first = db.session.scalar(sa.select(Shift).where(Shift.activity_id == activity.id))
    second = add_shift(activity, start + T(days=1), role="导诊")
    full = add_shift(activity, start + T(days=2), capacity=1)
    ran = make.activity(org, title="冬季送温暖", starts_at=utcnow() - T(days=60),
                        ends_at=utcnow() - T(days=60, hours=-2))
    recent = add_shift(ran, utcnow().replace(microsecond=0) - T(days=10))
    old = add_shift(ran, utcnow().replace(microsecond=0) - T(days=PAST_DAYS + 10))
    me, other = make.volunteer(name="卓玛"), make.volunteer(name="才让", birth_date=dt.date(1990, 1, 2))
    me_user, other_user = make.account_of(me), make.account_of(other)
    now = utcnow()
    other_signups = [sign_up(other_user, activity, now=now, shift=shift) for shift in (first, full)]
    mine = {"first": sign_up(me_user, activity, now=now, shift=first),
            "second": sign_up(me_user, activity, now=now, shift=second),
            "full": sign_up(me_user, activity, now=now, shift=full),
            "recent": past_signup(me, recent), "old": past_signup(me, old)}
    db.session.commit()
    return dict(org=org, activity=activity, me=me, me_user=me_user, other=other, other_user=other_user,
                mine=mine, other_signups=other_signups, shifts=dict(first=first, second=second, full=full))


def open_feed_page(client, user) -> tuple[str, str]:
    login(client, user)
    page = client.get("/volunteer/calendar")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "private, no-store"
    text = page.get_data(as_text=True)
    url = feed_url_on(text)
    assert "webcal://" + url.split("://", 1)[1] in text
    return url, text


def test_the_private_feed_lists_the_volunteers_places_and_validates(scene, client):
    url, _page = open_feed_page(client, scene["me_user"])
    phone = client.application.test_client()  # no session: the secret URL alone
    response = phone.get(path_of(url))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "private, no-store"
    calendar = check_wire_format(response.data)
    events = events_of(calendar)
    mine = scene["mine"]
    host = "registry.test"
    expected = {f"signup-{mine[key].id}@{host}" for key in ("first", "second", "full", "recent")}
    assert set(events) == expected  # not the shift of 40 days ago, nobody else's place
    first = events[f"signup-{mine['first'].id}@{host}"]
    assert str(first["STATUS"]) == "CONFIRMED"
    assert str(first["SUMMARY"]) == LONG_TITLE  # 360 octets of Chinese, folded and unfolded intact
    assert str(first["LOCATION"]) == "东关大街 12 号"
    assert first.decoded("DTSTART") == scene["shifts"]["first"].starts_at
    assert first.decoded("DTEND") == scene["shifts"]["first"].ends_at
    assert str(first["URL"]) == f"http://{host}/activities/{scene['activity'].code}"
    assert "西宁市城东区志愿者协会" in str(first["DESCRIPTION"]) and "马丽" in str(first["DESCRIPTION"])
    second = events[f"signup-{mine['second'].id}@{host}"]
    assert str(second["SUMMARY"]) == f"{LONG_TITLE} · 导诊"
    waiting = events[f"signup-{mine['full'].id}@{host}"]
    assert mine["full"].status == "waitlisted"
    assert str(waiting["STATUS"]) == "TENTATIVE" and "waiting list" in str(waiting["SUMMARY"])
    # nothing of the other volunteer: neither their name nor their sign-ups' UIDs
    assert "才让".encode() not in response.data
    for signup in scene["other_signups"]:
        assert f"signup-{signup.id}@".encode() not in response.data
    # stable between two fetches: the same UIDs, the same events
    again = check_wire_format(phone.get(path_of(url)).data)
    assert set(events_of(again)) == set(events)
    assert [e["DTSTART"].to_ical() for e in again.walk("VEVENT")] == \
        [e["DTSTART"].to_ical() for e in calendar.walk("VEVENT")]


def test_the_secret_is_stored_only_as_its_hash_shown_once_and_reset(scene, client):
    url, _page = open_feed_page(client, scene["me_user"])
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    [feed] = db.session.scalars(sa.select(CalendarFeed)).all()
    assert feed.volunteer_id == scene["me"].id
    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()
    # the second visit does not make another feed, and cannot show the secret again
    later = client.get("/volunteer/calendar").get_data(as_text=True)
    assert "/calendar/" not in later and "Reset the secret URL" in later
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarFeed)) == 1
    # reset: a new URL works, the old one is not found
    reset = client.post("/volunteer/calendar")
    assert reset.status_code == 200
    new_url = feed_url_on(reset.get_data(as_text=True))
    assert new_url != url
    phone = client.application.test_client()
    assert phone.get(path_of(url)).status_code == 404
    assert phone.get(path_of(new_url)).status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarFeed)) == 1
    # unknown secrets are not found either
    assert phone.get("/calendar/" + "A" * 43 + ".ics").status_code == 404
    assert phone.get("/calendar/x.ics").status_code == 404


def test_each_volunteer_sees_only_their_own_feed(scene, client, app):
    url_me, _ = open_feed_page(client, scene["me_user"])
    other_client = app.test_client()
    url_other, _ = open_feed_page(other_client, scene["other_user"])
    assert url_me != url_other
    body = app.test_client().get(path_of(url_other)).data
    events = events_of(check_wire_format(body))
    assert set(events) == {f"signup-{s.id}@registry.test" for s in scene["other_signups"]}
    assert not any(f"signup-{s.id}@".encode() in body for s in scene["mine"].values())


def test_withdrawn_places_and_cancelled_shifts_show_as_cancelled(scene, client):
    mine, shifts = scene["mine"], scene["shifts"]
    withdraw(scene["me_user"], scene["activity"], now=utcnow(), shift=shifts["second"])
    shifts["first"].status = "cancelled"
    db.session.commit()
    url, _ = open_feed_page(client, scene["me_user"])
    events = events_of(check_wire_format(client.application.test_client().get(path_of(url)).data))
    assert str(events[f"signup-{mine['second'].id}@registry.test"]["STATUS"]) == "CANCELLED"
    assert str(events[f"signup-{mine['first'].id}@registry.test"]["STATUS"]) == "CANCELLED"
    assert str(events[f"signup-{mine['full'].id}@registry.test"]["STATUS"]) == "TENTATIVE"
    # a withdrawal older than the while it is kept drops out of the feed
    db.session.get(Signup, mine["second"].id).decided_at = utcnow() - T(days=PAST_DAYS + 1)
    db.session.commit()
    events = events_of(check_wire_format(client.application.test_client().get(path_of(url)).data))
    assert f"signup-{mine['second'].id}@registry.test" not in events


def test_the_calendar_page_needs_a_signed_in_volunteer(app, client, make):
    assert client.get("/volunteer/calendar").status_code == 302
    user = make.user()  # an account without a volunteer profile
    db.session.commit()
    login(client, user)
    page = client.get("/volunteer/calendar")
    assert page.status_code == 302 and page.headers["Location"].startswith("/volunteer/profile")
    assert client.post("/volunteer/calendar").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarFeed)) == 0


def test_the_dashboard_links_to_the_calendar_page(scene, client):
    login(client, scene["me_user"])
    assert 'href="/volunteer/calendar"' in client.get("/").get_data(as_text=True)


@pytest.fixture
def csrf_app(tmp_path):
    yield from serve(build_app(tmp_path, WTF_CSRF_ENABLED=True))


def test_resetting_needs_the_csrf_token(csrf_app):
    make = Factory(csrf_app)
    user = make.account_of(make.volunteer())
    db.session.commit()
    client = csrf_app.test_client()
    url, page = open_feed_page(client, user)
    refused = client.post("/volunteer/calendar")
    assert refused.status_code == 400
    assert csrf_app.test_client().get(path_of(url)).status_code == 200  # the old URL still works
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    reset = client.post("/volunteer/calendar", data={"csrf_token": token})
    assert reset.status_code == 200
    assert csrf_app.test_client().get(path_of(url)).status_code == 404


# --- one shift -------------------------------------------------------------------------------------------------

def test_one_shift_as_ics_public_or_with_the_readers_place(scene, client, make):
    shift, mine = scene["shifts"]["full"], scene["mine"]
    anonymous = client.get(f"/shifts/{shift.id}.ics")
    assert anonymous.status_code == 200
    assert anonymous.headers["Content-Type"] == "text/calendar; charset=utf-8"
    [event] = check_wire_format(anonymous.data).walk("VEVENT")
    assert str(event["UID"]) == f"shift-{shift.id}@registry.test"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert b"signup-" not in anonymous.data and "卓玛".encode() not in anonymous.data
    assert event.decoded("DTSTART") == shift.starts_at
    # the volunteer with a place gets their place: the UID of their feed, their status
    login(client, scene["me_user"])
    [own] = check_wire_format(client.get(f"/shifts/{shift.id}.ics").data).walk("VEVENT")
    assert str(own["UID"]) == f"signup-{mine['full'].id}@registry.test"
    assert str(own["STATUS"]) == "TENTATIVE"
    assert client.get("/shifts/999999.ics").status_code == 404


def test_a_shift_of_an_activity_that_is_not_public_is_not_found(app, client, make):
    org = make.org()
    draft = make.activity(org, status="draft", starts_at=utcnow() + T(days=2), ends_at=utcnow() + T(days=2, hours=2))
    shift = db.session.scalar(sa.select(Shift).where(Shift.activity_id == draft.id))
    db.session.commit()
    assert client.get(f"/shifts/{shift.id}.ics").status_code == 404
    login(client, make.account_of(make.volunteer()))
    assert client.get(f"/shifts/{shift.id}.ics").status_code == 404


# --- an organization's public feed -----------------------------------------------------------------------------

def test_the_organizations_feed_lists_its_open_shifts_to_come(scene, client, make):
    org, activity, shifts = scene["org"], scene["activity"], scene["shifts"]
    start = utcnow().replace(microsecond=0) + T(days=5)
    make.activity(org, title="草稿", status="draft", starts_at=start, ends_at=start + T(hours=1))
    closed_recruiting = make.activity(org, title="不再招募", starts_at=start, ends_at=start + T(hours=1))
    closed_recruiting.is_recruiting = False
    cancelled = add_shift(activity, start + T(days=3), status="cancelled")
    elsewhere = make.activity(make.org(), title="别家的活动", starts_at=start, ends_at=start + T(hours=1))
    db.session.commit()
    response = client.get(f"/organizations/{org.code}/shifts.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = check_wire_format(response.data)
    assert "西宁市城东区志愿者协会" in str(calendar["X-WR-CALNAME"])
    events = events_of(calendar)
    assert set(events) == {f"shift-{shifts[key].id}@registry.test" for key in ("first", "second", "full")}
    assert f"shift-{cancelled.id}@registry.test" not in events
    assert all(LONG_TITLE in str(event["SUMMARY"]) for event in events.values())
    assert b"signup-" not in response.data
    assert "卓玛".encode() not in response.data and "才让".encode() not in response.data
    assert elsewhere.title.encode() not in response.data
    again = client.get(f"/organizations/{org.code}/shifts.ics")
    assert set(events_of(check_wire_format(again.data))) == set(events)


@pytest.mark.parametrize("status", ["pending", "suspended", "rejected"])
def test_only_an_approved_organization_has_a_public_feed(app, client, make, status):
    org = make.org(status=status)
    admin = make.org_admin_of(org)
    db.session.commit()
    assert client.get(f"/organizations/{org.code}/shifts.ics").status_code == 404
    login(client, admin)  # not even for its own staff: the feed is for the public
    assert client.get(f"/organizations/{org.code}/shifts.ics").status_code == 404
    assert client.get("/organizations/NOSUCHCODE/shifts.ics").status_code == 404


def test_a_disabled_or_deleted_accounts_feed_stops_working(scene, client):
    url, _ = open_feed_page(client, scene["me_user"])
    phone = client.application.test_client()
    assert phone.get(path_of(url)).status_code == 200
    scene["me_user"].is_disabled = True  # a disabled account's feed is not served
    db.session.commit()
    assert phone.get(path_of(url)).status_code == 404
    scene["me_user"].is_disabled = False
    db.session.commit()
    assert phone.get(path_of(url)).status_code == 200
    delete_account(scene["me_user"], PASSWORD)
    db.session.commit()
    assert phone.get(path_of(url)).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarFeed)) == 0


def test_the_feed_speaks_its_owners_language(scene, client):
    scene["me_user"].locale = "zh_Hans_CN"
    db.session.commit()
    with force_locale("zh_Hans_CN"):
        waiting = str(SIGNUP_STATUSES["waitlisted"])
    assert waiting != "On the waiting list"
    url, _ = open_feed_page(client, scene["me_user"])
    events = events_of(check_wire_format(client.application.test_client().get(path_of(url)).data))
    summary = str(events[f"signup-{scene['mine']['full'].id}@registry.test"]["SUMMARY"])
    assert summary == f"{LONG_TITLE} ({waiting})"
