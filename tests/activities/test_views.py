"""Activity pages: creating and publishing, finding, signing up, the waiting list, and who may do what."""
from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

from volunteer_registry.activities.models import Activity, Signup
from volunteer_registry.activities.services import sign_up, withdraw
from volunteer_registry.extensions import db
from volunteer_registry.models import utcnow
from volunteer_registry.timeutil import LOCAL_ZONE

from ..conftest import login

#: a day ten days from now, in Beijing time
DAY = (utcnow().astimezone(LOCAL_ZONE) + dt.timedelta(days=10)).date()
TITLE = "敬老院周末探访"

FORM = {"title": TITLE, "category": "elderly", "recipient": "城东区福利院", "description": "陪老人聊天、读报",
        "starts_at": f"{DAY.isoformat()}T09:00", "ends_at": f"{DAY.isoformat()}T12:00", "region_code": "630102",
        "address": "西宁市城东区八一路 5 号", "latitude": "36.6171", "longitude": "101.7782", "radius_m": "300",
        "capacity": "1", "signup_mode": "approval", "is_recruiting": "y", "grace_minutes": "15",
        "person_in_charge": "马丽", "risk_disclosure": "冬季路面结冰，请穿防滑鞋。", "requires_training": "y"}


def count(model, *where) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def future(make, org, **overrides):
    start = utcnow().replace(second=0, microsecond=0) + dt.timedelta(days=3)
    return make.activity(org, starts_at=start, ends_at=start + dt.timedelta(hours=3), **overrides)


def status_of(signup_id) -> str:
    return db.session.get(Signup, signup_id).status


def page_of(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, f"GET {url}: {response.status_code}"
    return response.get_data(as_text=True)


def titles_found(client, query: str) -> str:
    return page_of(client, "/activities?" + query)


def test_create_publish_find_sign_up_wait_withdraw_approve_and_close(app, make):
    org = make.org(name="城东区敬老志愿服务队", region_code="630102")
    coordinator = make.coordinator(org)
    first = make.account_of(make.volunteer(name="卓玛"))
    second = make.account_of(make.volunteer(name="次仁"))
    elsewhere = make.org(name="玉树应急队", region_code="632701")
    future(make, elsewhere, title="玉树除雪", category="emergency", region_code="632701")
    db.session.commit()
    staff, one, two = app.test_client(), app.test_client(), app.test_client()
    login(staff, coordinator)
    login(one, first)
    login(two, second)

    # the manage page links to the activities, which link to the form
    assert f'href="/organizations/{org.code}/activities"' in page_of(staff, f"/organizations/{org.code}/manage")
    assert f'href="/organizations/{org.code}/activities/new"' in page_of(staff, f"/organizations/{org.code}/activities")
    form_page = page_of(staff, f"/organizations/{org.code}/activities/new")
    assert 'type="datetime-local"' in form_page and 'name="signup_mode"' in form_page

    # a refused form shows the error next to its field, keeps what was typed and writes nothing
    response = staff.post(f"/organizations/{org.code}/activities/new",
                          data=dict(FORM, ends_at=f"{DAY.isoformat()}T08:00"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    error = re.search(r'<p class="error" id="ends_at-error" role="alert">([^<]*)</p>', page)
    assert error and "The end must be after the start." in error.group(1)
    assert f'value="{TITLE}"' in page
    assert count(Activity, Activity.organization_id == org.id) == 0

    # saved as a draft, times typed in Beijing time and stored in UTC
    response = staff.post(f"/organizations/{org.code}/activities/new", data=FORM)
    assert response.status_code == 302
    activity = db.session.scalar(db.select(Activity).where(Activity.organization_id == org.id))
    assert urlsplit(response.headers["Location"]).path == f"/activities/{activity.code}"
    assert activity.status == "draft" and activity.title == TITLE and activity.capacity == 1
    assert activity.starts_at == dt.datetime.combine(DAY, dt.time(1, 0), tzinfo=dt.UTC)
    assert (activity.signup_mode, activity.requires_training, activity.requires_insurance) == ("approval", True, False)
    assert (activity.latitude, activity.longitude, activity.radius_m) == (36.6171, 101.7782, 300)
    url = f"/activities/{activity.code}"

    # a draft exists only for the organization's staff
    assert one.get(url).status_code == 404
    assert TITLE not in titles_found(one, "q=敬老院")
    assert "Draft" in page_of(staff, url)

    assert staff.post(f"{url}/publish").status_code == 302
    assert activity.status == "published"

    # found by text, region (a prefecture includes its counties), category and local date; filters exclude it
    for query in ("q=周末探访", "region=630100", "region=630102", "category=elderly",
                  f"date_from={DAY}&date_to={DAY}", f"q=探访&region=630100&category=elderly&date_from={DAY}"):
        page = titles_found(one, query)
        assert TITLE in page, query
        assert "玉树除雪" not in page, query
    for query in ("q=除雪", "region=632700", "category=emergency", f"date_from={DAY + dt.timedelta(days=1)}",
                  f"date_to={DAY - dt.timedelta(days=1)}"):
        assert TITLE not in titles_found(one, query), query
    assert "玉树除雪" in titles_found(one, "region=632700&category=emergency")
    assert TITLE in titles_found(one, "") and "玉树除雪" in titles_found(one, "")
    card = titles_found(one, "q=周末探访")
    assert "城东区敬老志愿服务队" in card and "Elderly care" in card and "1 place left" in card
    assert "9:00" in card and "12:00" in card and "西宁市城东区八一路 5 号" in card

    # the details: risks and requirements, and a sign-up button
    page = page_of(one, url)
    assert "冬季路面结冰，请穿防滑鞋。" in page and "Training is required." in page
    assert "No insurance is required." in page and f'action="{url}/signup"' in page

    # the first sign-up waits for a coordinator, who approves it
    response = one.post(f"{url}/signup")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == url
    page = page_of(one, url)
    assert "waiting for a coordinator" in page and f'action="{url}/withdraw"' in page
    first_signup = db.session.scalar(db.select(Signup).where(Signup.activity_id == activity.id))
    assert first_signup.status == "pending"
    signups = page_of(staff, f"{url}/signups")
    assert "卓玛" in signups and f'action="{url}/signups/{first_signup.id}/decision"' in signups
    response = staff.post(f"{url}/signups/{first_signup.id}/decision", data={"decision": "approve"})
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == f"{url}/signups"
    assert status_of(first_signup.id) == "accepted"
    assert "Full: waiting list" in titles_found(two, "q=周末探访")

    # the activity is full: the second goes on the waiting list
    assert "signing up puts you on the waiting list" in page_of(two, url)
    two.post(f"{url}/signup")
    second_signup = db.session.scalar(db.select(Signup).where(Signup.activity_id == activity.id,
                                                              Signup.id != first_signup.id))
    assert second_signup.status == "waitlisted"
    assert "On the waiting list" in page_of(two, url)

    # the first withdraws; the second moves up and waits for a coordinator, who approves
    response = one.post(f"{url}/withdraw")
    assert response.status_code == 302
    assert status_of(first_signup.id) == "withdrawn" and status_of(second_signup.id) == "pending"
    page = page_of(one, url)
    assert "You have withdrawn" in page and f'action="{url}/signup"' in page
    staff.post(f"{url}/signups/{second_signup.id}/decision", data={"decision": "approve"})
    assert status_of(second_signup.id) == "accepted"
    staff.post(f"{url}/signups/{second_signup.id}/decision", data={"decision": "decline"})  # already decided
    assert status_of(second_signup.id) == "accepted"
    assert "already been decided" in page_of(staff, f"{url}/signups")

    # closed: gone from the search; its page stays (those who served point to it) without a sign-up button
    assert staff.post(f"{url}/close").status_code == 302
    assert activity.status == "closed"
    assert TITLE not in titles_found(two, "q=周末探访")
    page = page_of(two, url)
    assert TITLE in page and "Closed" in page and f'action="{url}/signup"' not in page
    listing = page_of(staff, f"/organizations/{org.code}/activities")
    assert TITLE in listing and "Closed" in listing


def test_edit_shows_and_keeps_beijing_time(client, make):
    org = make.org()
    activity = future(make, org, status="draft")
    db.session.commit()
    login(client, make.org_admin_of(org))
    typed = activity.starts_at.astimezone(LOCAL_ZONE).strftime("%Y-%m-%dT%H:%M")
    page = page_of(client, f"/activities/{activity.code}/edit")
    assert f'value="{typed}"' in page
    data = dict(FORM, title="河岸清洁", starts_at=typed,
                ends_at=activity.ends_at.astimezone(LOCAL_ZONE).strftime("%Y-%m-%dT%H:%M"), capacity="")
    starts_at = activity.starts_at
    response = client.post(f"/activities/{activity.code}/edit", data=data)
    assert response.status_code == 302
    assert activity.title == "河岸清洁" and activity.starts_at == starts_at and activity.capacity is None


def test_signing_up_without_a_volunteer_profile_leads_to_the_profile_form(client, make):
    activity = future(make, make.org())
    user = make.user()
    db.session.commit()
    assert urlsplit(client.post(f"/activities/{activity.code}/signup").headers["Location"]).path == "/login"
    login(client, user)
    response = client.post(f"/activities/{activity.code}/signup")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/volunteer/profile"
    assert parse_qs(location.query)["next"] == [f"/activities/{activity.code}"]
    assert count(Signup) == 0


def test_a_started_activity_offers_no_sign_up(client, make):
    activity = make.activity(make.org())  # started an hour ago
    volunteer = make.account_of(make.volunteer())
    db.session.commit()
    login(client, volunteer)
    page = page_of(client, f"/activities/{activity.code}")
    assert "already started" in page and f"/activities/{activity.code}/signup" not in page
    client.post(f"/activities/{activity.code}/signup")
    assert count(Signup) == 0
    assert "This activity has already started." in page_of(client, f"/activities/{activity.code}")


def test_staff_pages_of_another_organization_are_forbidden_and_change_nothing(app, make):
    org_a, org_b = make.org(name="A 队"), make.org(name="B 队")
    draft = future(make, org_a, status="draft", title="A 的草稿")
    published = future(make, org_a, title="A 的活动", signup_mode="approval")
    applicant = make.account_of(make.volunteer())
    pending = sign_up(applicant, published)
    coord_b = make.coordinator(org_b)
    db.session.commit()
    client = app.test_client()
    login(client, coord_b)

    # forbidden where A's activity is public; a draft's pages do not exist for B's staff (404: no probing)
    for url, status in ((f"/organizations/{org_a.code}/activities", 403),
                        (f"/organizations/{org_a.code}/activities/new", 403), (f"/activities/{draft.code}/edit", 404),
                        (f"/activities/{published.code}/edit", 403), (f"/activities/{published.code}/signups", 403)):
        assert client.get(url).status_code == status, url
    writes = [(f"/organizations/{org_a.code}/activities/new", FORM, 403), (f"/activities/{draft.code}/edit", FORM, 404),
              (f"/activities/{draft.code}/publish", {}, 404), (f"/activities/{published.code}/close", {}, 403),
              (f"/activities/{published.code}/signups/{pending.id}/decision", {"decision": "approve"}, 403)]
    for url, data, status in writes:
        assert client.post(url, data=data).status_code == status, url
    assert count(Activity, Activity.organization_id == org_a.id) == 2
    assert (draft.status, draft.title, published.status) == ("draft", "A 的草稿", "published")
    assert pending.status == "pending"
    # B's own staff pages work, and list none of A's activities
    listing = page_of(client, f"/organizations/{org_b.code}/activities")
    assert "A 的活动" not in listing and "A 的草稿" not in listing
    # a draft of A does not exist for B's coordinator, nor for a volunteer or anyone signed out
    assert client.get(f"/activities/{draft.code}").status_code == 404
    volunteer = app.test_client()
    login(volunteer, applicant)
    assert volunteer.get(f"/activities/{draft.code}").status_code == 404
    assert volunteer.post(f"/activities/{draft.code}/signup").status_code == 404
    assert app.test_client().get(f"/activities/{draft.code}").status_code == 404
    assert app.test_client().get("/activities/NOSUCHCODE").status_code == 404
    assert count(Signup) == 1


def test_a_sign_up_of_another_activity_is_not_found_through_this_one(client, make):
    org = make.org()
    mine, other = future(make, org, signup_mode="approval"), future(make, make.org(), signup_mode="approval")
    theirs = sign_up(make.account_of(make.volunteer()), other)
    ours = sign_up(make.account_of(make.volunteer()), mine)
    coordinator = make.coordinator(org)
    db.session.commit()
    login(client, coordinator)
    response = client.post(f"/activities/{mine.code}/signups/{theirs.id}/decision", data={"decision": "approve"})
    assert response.status_code == 404
    assert theirs.status == "pending"
    client.post(f"/activities/{mine.code}/signups/{ours.id}/decision", data={"decision": "decline"})
    assert ours.status == "declined"


def test_activities_of_an_unapproved_or_suspended_organization_are_not_listed(client, make):
    suspended = make.org(name="停用组织")
    future(make, suspended, title="停用组织的活动")
    from volunteer_registry.organizations.services import decide_organization

    decide_organization(make.admin(), suspended, "suspend", "test")
    future(make, make.org(), title="正常的活动")
    db.session.commit()
    page = titles_found(client, "")
    assert "正常的活动" in page and "停用组织的活动" not in page


def test_start_page_leads_each_role_to_the_days_work(app, make):
    """The coordinator sees today's activities with their kiosk, scanner and day links; the volunteer sees their
    sign-ups (not withdrawn ones, not other people's) and their card; the activity page links check-in for staff."""
    org = make.org()
    coordinator = make.coordinator(org)
    running = make.activity(org, title="社区服务站日常值班")
    later = future(make, org, title="湟水河岸清洁")
    other_org = make.org()
    make.activity(other_org, title="别的组织的值班")
    volunteer = make.volunteer(name="卓玛")
    person = make.account_of(volunteer)
    sign_up(person, later)
    gone = future(make, org, title="已退出的活动")
    sign_up(person, gone, now=utcnow())
    withdraw(person, gone)
    db.session.commit()

    staff, own = app.test_client(), app.test_client()
    login(staff, coordinator)
    login(own, person)
    page = page_of(staff, "/")
    assert "社区服务站日常值班" in page and "别的组织的值班" not in page
    for link in (f"/activities/{running.code}/kiosk", f"/activities/{running.code}/scanner",
                 f"/activities/{running.code}/day", f"/organizations/{org.code}/activities"):
        assert f'href="{link}"' in page, link
    assert "湟水河岸清洁" not in page  # not today

    page = page_of(own, "/")
    assert "湟水河岸清洁" in page and "已退出的活动" not in page and "社区服务站日常值班" not in page
    assert 'href="/volunteer/card"' in page and 'href="/activities"' in page

    activity_page = page_of(staff, f"/activities/{running.code}")
    assert f'href="/activities/{running.code}/kiosk"' in activity_page
    assert f'href="/activities/{running.code}/manual-entries"' in activity_page
    assert "/kiosk" not in page_of(own, f"/activities/{running.code}")
