"""The ledger's pages: the coordinator's approval page (filters, bulk and single decisions, all or none, four eyes,
other organizations kept out) and the volunteer's hours page (totals, stars, history)."""
from __future__ import annotations

import datetime as dt
import re
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from volunteer_registry.activities.services import sign_up
from volunteer_registry.checkin.models import AttendanceSession
from volunteer_registry.checkin.services import (
    ScanRequest,
    close_ended_activities,
    decide_manual_entry,
    fix_missed_checkout,
    record_manual_entry,
    record_scan,
)
from volunteer_registry.extensions import db
from volunteer_registry.ledger.models import LedgerEntry, LedgerState
from volunteer_registry.ledger.services import decide_entries
from volunteer_registry.models import utcnow
from volunteer_registry.timeutil import LOCAL_ZONE, local

from ..conftest import Factory, build_app, login, serve

T = dt.timedelta


def served(activity, recorder, volunteer, start_minutes, end_minutes, *, offline=False):
    """A card scan in and one out, ``start``..``end`` minutes after the activity's start: the entry it made."""
    result = None
    for direction, minutes in (("in", start_minutes), ("out", end_minutes)):
        result = record_scan(recorder, ScanRequest(
            event_id=uuid.uuid4().hex, activity_code=activity.code, volunteer_number=volunteer.volunteer_number,
            direction=direction, offline=offline), now=activity.starts_at + T(minutes=minutes))
        assert result.accepted, result.error
    return result.entry


def status(entry_id) -> str:
    return db.session.get(LedgerState, entry_id).status


def entry_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry))


def page_of(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, f"GET {url}: {response.status_code}"
    return response.get_data(as_text=True)


def listed(html: str) -> list[int]:
    """The entry ids of the approval page's rows, in order."""
    return [int(i) for i in re.findall(r'<tr id="entry-(\d+)"', html)]


def error_of(html: str, field: str) -> str | None:
    found = re.search(rf'<p class="error" id="{field}-error" role="alert">([^<]*)</p>', html)
    return found.group(1) if found else None


@pytest.fixture
def site(make):
    """An activity running now with three volunteers signed up, its coordinator and org admin."""
    activity = make.activity(title="社区服务站日常值班")
    org = activity.organization
    people = [make.volunteer(name=name) for name in ("卓玛", "扎西", "次仁")]
    for person in people:
        sign_up(make.account_of(person), activity, now=activity.starts_at - T(days=1))
    coordinator, admin = make.coordinator(org), make.org_admin_of(org)
    db.session.commit()
    return activity, coordinator, admin, people


def test_bulk_approval_of_three_entries(app, site):
    activity, coordinator, _admin, people = site
    org = activity.organization
    entries = [served(activity, coordinator, person, 0, 90).id for person in people]
    db.session.commit()
    client = app.test_client()
    login(client, coordinator)

    url = f"/organizations/{org.code}/entries"
    page = page_of(client, url)
    assert "3 waiting" in page
    assert listed(page) == sorted(entries)
    for entry_id in entries:
        assert f'name="entries" value="{entry_id}"' in page
    assert "卓玛" in page and people[0].volunteer_number in page and "社区服务站日常值班" in page
    assert "1.5 h" in page and "Volunteer card" in page and "Waiting for approval" in page

    response = client.post(f"{url}/decision?status=pending&flagged=y",
                           data={"entries": entries, "decision": "approve", "reason": ""})
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == url and parse_qs(location.query) == {"status": ["pending"], "flagged": ["y"]}
    assert [status(entry_id) for entry_id in entries] == ["approved"] * 3
    approvals = db.session.scalars(sa.select(LedgerEntry).where(LedgerEntry.kind == "approval")).all()
    assert sorted(e.refers_to_id for e in approvals) == sorted(entries)
    assert {e.actor_id for e in approvals} == {coordinator.id}

    page = page_of(client, response.headers["Location"])
    assert "3 entries approved." in page and "0 waiting" in page
    assert listed(page) == []
    assert listed(page_of(client, f"{url}?status=approved")) == sorted(entries)


def test_one_entry_is_approved_or_rejected_from_its_row(app, site):
    activity, coordinator, _admin, (zhuoma, tashi, _tsering) = site
    first = served(activity, coordinator, zhuoma, 0, 60).id
    second = served(activity, coordinator, tashi, 0, 30).id
    db.session.commit()
    client = app.test_client()
    login(client, coordinator)
    url = f"/organizations/{activity.organization.code}/entries"
    page = page_of(client, url)
    assert f'id="reason-{second}"' in page  # each row has its own reject reason

    assert client.post(f"{url}/decision", data={"entries": first, "decision": "approve"}).status_code == 302
    response = client.post(f"{url}/decision", data={"entries": second, "decision": "reject",
                                                   "reason": "left before the duty began"})
    assert response.status_code == 302
    assert (status(first), status(second)) == ("approved", "rejected")
    page = page_of(client, response.headers["Location"])
    assert "1 entry rejected." in page
    page = page_of(client, f"{url}?status=rejected")
    assert listed(page) == [second] and "left before the duty began" in page


def test_rejecting_without_a_reason_is_refused_and_writes_nothing(app, site):
    activity, coordinator, _admin, people = site
    entries = [served(activity, coordinator, person, 0, 60).id for person in people[:2]]
    db.session.commit()
    before = entry_count()
    client = app.test_client()
    login(client, coordinator)
    url = f"/organizations/{activity.organization.code}/entries"
    response = client.post(f"{url}/decision", data={"entries": entries, "decision": "reject", "reason": "  "})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_of(page, "reason") == "Give a reason."
    for entry_id in entries:  # the page is shown again with the same entries checked
        assert f'value="{entry_id}" id="pick-{entry_id}" checked' in page
    assert [status(entry_id) for entry_id in entries] == ["pending", "pending"]
    assert entry_count() == before


def test_a_manual_entry_cannot_be_approved_by_whoever_entered_it(app, site):
    activity, coordinator, admin, (zhuoma, tashi, _tsering) = site
    manual = record_manual_entry(coordinator, activity, zhuoma, activity.starts_at, activity.starts_at + T(hours=2),
                                 "the scanner was down")
    decide_manual_entry(admin, manual, True)  # the session exists; its ledger entry waits like any other
    own = db.session.scalar(sa.select(LedgerEntry.id).where(LedgerEntry.source == "manual"))
    other = served(activity, coordinator, tashi, 0, 60).id
    db.session.commit()
    before = entry_count()
    client = app.test_client()
    login(client, coordinator)
    url = f"/organizations/{activity.organization.code}/entries"
    page = page_of(client, url)
    assert "You recorded this and it needs review: someone else must decide it." in page
    assert "Entered by hand" in page

    # all or none: the other entry is not approved either
    response = client.post(f"{url}/decision", data={"entries": [other, own], "decision": "approve"})
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert (f"Entry {own}: You recorded this yourself and it needs review: someone else must decide it."
            in page)
    marked = re.findall(r'<tr id="entry-(\d+)" class="[^"]*entry--problem', page)
    assert marked == [str(own)]
    assert (status(own), status(other)) == ("pending", "pending") and entry_count() == before

    admin_client = app.test_client()
    login(admin_client, admin)
    assert admin_client.post(f"{url}/decision", data={"entries": [own], "decision": "approve"}).status_code == 302
    assert status(own) == "approved"


def test_another_organizations_staff_get_403_and_change_nothing(app, make, site):
    activity, coordinator, _admin, (zhuoma, _tashi, _tsering) = site
    entry = served(activity, coordinator, zhuoma, 0, 60).id
    other = make.org()
    outsiders = [make.coordinator(other), make.org_admin_of(other)]
    member = make.account_of(zhuoma)
    db.session.commit()
    before = entry_count()
    url = f"/organizations/{activity.organization.code}/entries"
    for person in [*outsiders, member]:
        client = app.test_client()
        login(client, person)
        assert client.get(url).status_code == 403
        response = client.post(f"{url}/decision", data={"entries": [entry], "decision": "approve"})
        assert response.status_code == 403
    assert status(entry) == "pending" and entry_count() == before


def test_another_organizations_entry_in_the_post_is_404_and_nothing_is_written(app, make, site):
    activity, coordinator, _admin, (zhuoma, tashi, _tsering) = site
    mine = served(activity, coordinator, zhuoma, 0, 60).id
    elsewhere = make.activity(title="Elsewhere", allows_walk_ins=True)
    theirs = served(elsewhere, make.coordinator(elsewhere.organization), tashi, 0, 60).id
    db.session.commit()
    before = entry_count()
    client = app.test_client()
    login(client, coordinator)
    response = client.post(f"/organizations/{activity.organization.code}/entries/decision",
                           data={"entries": [mine, theirs], "decision": "approve"})
    assert response.status_code == 404
    assert (status(mine), status(theirs)) == ("pending", "pending") and entry_count() == before
    # an id that is no entry at all, or not an id: nothing either
    for bad, expected in (("999999", 404), ("99999999999999999999", 422), ("x", 422)):
        response = client.post(f"/organizations/{activity.organization.code}/entries/decision",
                               data={"entries": [mine, bad], "decision": "approve"})
        assert response.status_code == expected, bad
    assert status(mine) == "pending" and entry_count() == before


def test_filters_narrow_the_list_and_flagged_entries_come_first(app, make):
    # pinned to yesterday morning, Beijing time, so that every entry falls on one local day whenever the suite runs
    morning = dt.datetime.combine(local(utcnow()).date() - T(days=1), dt.time(9), tzinfo=LOCAL_ZONE).astimezone(dt.UTC)
    activity = make.activity(title="社区服务站日常值班", allows_walk_ins=True, starts_at=morning,
                             ends_at=morning + T(hours=4))
    org = activity.organization
    zhuoma, tashi, tsering = (make.volunteer(name=name) for name in ("卓玛", "扎西", "次仁"))
    coordinator, admin = make.coordinator(org), make.org_admin_of(org)
    plain = served(activity, coordinator, zhuoma, 0, 60).id
    flagged = served(activity, coordinator, tashi, 10, 70, offline=True).id  # scanned offline: flagged
    decided = served(activity, coordinator, tsering, 0, 45).id
    other_activity = make.activity(org, title="另一项活动", allows_walk_ins=True, starts_at=morning + T(hours=1),
                                   ends_at=morning + T(hours=3))
    other = served(other_activity, coordinator, zhuoma, 0, 30).id
    decide_entries(admin, org, [decided], "approve")
    db.session.commit()
    client = app.test_client()
    login(client, coordinator)
    url = f"/organizations/{org.code}/entries"

    page = page_of(client, url)
    assert listed(page)[0] == flagged and set(listed(page)) == {plain, flagged, other}
    assert "Scanned offline" in page and "Flagged" in page and "3 waiting" in page
    assert listed(page_of(client, f"{url}?flagged=y")) == [flagged]
    assert listed(page_of(client, f"{url}?status=approved")) == [decided]
    assert set(listed(page_of(client, f"{url}?status=all"))) == {plain, flagged, decided, other}
    assert listed(page_of(client, f"{url}?activity={other_activity.code}")) == [other]
    assert set(listed(page_of(client, f"{url}?activity={activity.code}&status=all"))) == {plain, flagged, decided}
    today = db.session.get(LedgerState, plain).service_date
    assert set(listed(page_of(client, f"{url}?date_from={today}&date_to={today}"))) == {plain, flagged, other}
    assert listed(page_of(client, f"{url}?date_from={today + T(days=1)}")) == []
    # nonsense in the query string is ignored, not an error
    assert set(listed(page_of(client, f"{url}?status=nonsense&date_from=tuesday&activity=NOPE"))) == {
        plain, flagged, other}
    # a decided entry has no checkbox or buttons
    approved_page = page_of(client, f"{url}?status=approved")
    assert f'value="{decided}"' not in approved_page


def test_the_volunteers_hours_page_shows_totals_stars_and_history(app, make):
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - T(days=11)
    activity = make.activity(title="长期值班", starts_at=start, ends_at=start + T(days=12))
    org = activity.organization
    coordinator = make.coordinator(org)
    volunteer = make.volunteer(name="卓玛")
    sign_up(make.account_of(volunteer), activity, now=start - T(days=1))
    # ten ten-hour duties, a day apart: 100 h
    entries = [served(activity, coordinator, volunteer, day * 24 * 60, day * 24 * 60 + 600).id for day in range(10)]
    decide_entries(coordinator, org, entries[:9], "approve")
    db.session.commit()
    client = app.test_client()
    login(client, make.account_of(volunteer))

    page = page_of(client, "/volunteer/hours")
    assert "90.0 h" in page and "10.0 h to go" in page
    assert 'aria-label="Star level: 0 stars of 5"' in page
    assert re.search(r'<progress id="star-progress" max="100" value="90\.0"', page)
    assert "Waiting for approval: 10.0 h" in page
    assert org.name in page

    decide_entries(coordinator, org, entries[9:], "approve")
    db.session.commit()
    page = page_of(client, "/volunteer/hours")
    assert "100.0 h" in page and 'aria-label="Star level: 1 star of 5"' in page
    assert re.search(r'class="stars"[^>]*>★<span class="stars__off">☆☆☆☆</span>', page)
    assert "200.0 h to go" in page and "Waiting for approval: 0.0 h" in page
    assert len(listed(page)) == 10 and listed(page)[0] == entries[-1]  # the latest first


def test_the_hours_page_shows_what_a_corrected_entry_counts_now(app, make, site):
    activity, coordinator, admin, (zhuoma, _tashi, _tsering) = site
    record_scan(coordinator, ScanRequest(event_id=uuid.uuid4().hex, activity_code=activity.code,
                                         volunteer_number=zhuoma.volunteer_number, direction="in"),
                now=activity.starts_at)
    close_ended_activities(now=activity.ends_at + T(hours=1))  # auto-closed at the end: 4 h
    service = db.session.scalar(sa.select(LedgerEntry))
    fix_missed_checkout(admin, db.session.get(AttendanceSession, service.session_id),
                        activity.starts_at + T(minutes=90), "left at half past ten", now=activity.ends_at + T(hours=2))
    db.session.commit()
    staff = app.test_client()
    login(staff, coordinator)
    page = page_of(staff, f"/organizations/{activity.organization.code}/entries")
    assert "4.0 h" in page and "Correction waiting: 1.5 h" in page  # nothing moves until someone approves
    assert "Check-out corrected by a coordinator" in page
    client = app.test_client()
    login(client, make.account_of(zhuoma))
    page = page_of(client, "/volunteer/hours")
    assert "Correction waiting: 1.5 h" in page and "Waiting for approval: 4.0 h" in page

    decide_entries(coordinator, activity.organization, [service.id], "approve")  # the correction (not his)
    db.session.commit()
    page = page_of(client, "/volunteer/hours")
    assert "Corrected; first recorded as 4.0 h" in page and "Waiting for approval: 1.5 h" in page


def test_links_to_both_pages(app, site, make):
    activity, coordinator, _admin, (zhuoma, _tashi, _tsering) = site
    org = activity.organization
    served(activity, coordinator, zhuoma, 0, 60)
    db.session.commit()
    staff = app.test_client()
    login(staff, coordinator)
    url = f"/organizations/{org.code}/entries"
    start = page_of(staff, "/")
    assert re.search(rf'href="{url}">Entries to approve <span class="badge badge--pending">1</span>', start)
    assert re.search(rf'href="{url}">Entries to approve <span class="badge badge--pending">1</span>',
                     page_of(staff, f"/organizations/{org.code}/manage"))
    volunteer = app.test_client()
    login(volunteer, make.account_of(zhuoma))
    assert 'href="/volunteer/hours"' in page_of(volunteer, "/")
    assert 'href="/volunteer/hours"' in page_of(volunteer, "/volunteer")


def test_who_reaches_the_pages(app, make, site):
    activity, _coordinator, _admin, _people = site
    url = f"/organizations/{activity.organization.code}/entries"
    anonymous = app.test_client()
    for method, path in (("GET", url), ("POST", f"{url}/decision"), ("GET", "/volunteer/hours")):
        response = anonymous.open(path, method=method, data={"entries": "1", "decision": "approve"})
        assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login", path
    no_profile = app.test_client()
    login(no_profile, make.user())
    pending_org = make.org(status="pending")
    db.session.commit()
    response = no_profile.get("/volunteer/hours")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/volunteer/profile"
    admin_p = app.test_client()
    login(admin_p, make.org_admin_of(pending_org))
    assert admin_p.get(f"/organizations/{pending_org.code}/entries").status_code == 403  # not approved yet
    assert no_profile.get(f"/organizations/{pending_org.code}/entries").status_code == 404


@pytest.fixture
def csrf_app(tmp_path):
    yield from serve(build_app(tmp_path, WTF_CSRF_ENABLED=True))


def test_a_decision_without_the_csrf_token_is_refused(csrf_app):
    make = Factory(csrf_app)
    activity = make.activity()
    volunteer = make.volunteer()
    sign_up(make.account_of(volunteer), activity, now=activity.starts_at - T(days=1))
    coordinator = make.coordinator(activity.organization)
    entry = served(activity, coordinator, volunteer, 0, 60).id
    db.session.commit()
    before = entry_count()
    client = csrf_app.test_client()
    login(client, coordinator)
    url = f"/organizations/{activity.organization.code}/entries"
    response = client.post(f"{url}/decision", data={"entries": [entry], "decision": "approve"})
    assert response.status_code == 400
    assert status(entry) == "pending" and entry_count() == before
    # the page's own token works
    page = page_of(client, url)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page)
    response = client.post(f"{url}/decision", data={"entries": [entry], "decision": "approve",
                                                   "csrf_token": token.group(1)})
    assert response.status_code == 302 and status(entry) == "approved"
