"""Each change that concerns someone tells them, in the change's transaction: the decisions on an organization,
a membership, a sign-up, service hours, a correction, a certificate; the reminder the day before an activity
(once per volunteer per activity) and the coordinators' daily digest (once a day). Every email carries a link that
stops that kind of email without signing in."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from volunteer_registry.activities.services import decide_signup, sign_up, withdraw
from volunteer_registry.certificates.services import issue_certificate, revoke_certificate
from volunteer_registry.corrections.services import decide_correction, report_error
from volunteer_registry.extensions import db
from volunteer_registry.ledger.services import decide_entries, record_missing_service
from volunteer_registry.links import public_base_url
from volunteer_registry.models import utcnow
from volunteer_registry.notifications.delivery import deliver_due
from volunteer_registry.notifications.models import Delivery, Notification, NotificationPreference
from volunteer_registry.notifications.scheduled import send_digests, send_reminders
from volunteer_registry.notifications.services import text_of, unsubscribe_token
from volunteer_registry.organizations.services import apply_for_membership, decide_membership, decide_organization
from volunteer_registry.timeutil import LOCAL_ZONE

from ..certificates.conftest import approved_service


def notifications_of(user, kind=None) -> list[Notification]:
    query = sa.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return list(db.session.scalars(query))


def english(notification) -> tuple[str, str]:
    from flask_babel import force_locale

    with force_locale("en"):
        return text_of(notification)


def test_an_applicant_hears_the_decision_on_their_organization(make):
    applicant = make.user("applicant@example.org")
    org = make.org(admin_user=applicant, status="pending", name="玉树州爱心志愿服务队")
    rejected = make.org(status="pending")
    platform = make.admin()
    decide_organization(platform, org, "approve")
    decide_organization(platform, rejected, "reject", "The credit code belongs to another organization.")
    db.session.commit()
    [approved] = notifications_of(applicant, "organization.decided")
    assert english(approved)[0] == "Your application for 玉树州爱心志愿服务队: approved"
    assert approved.link == "/organizations/mine" and [d.to for d in approved.deliveries] == [applicant.email]
    [refusal] = notifications_of(make.org_admin_of(rejected), "organization.decided")
    assert "rejected" in english(refusal)[0] and "belongs to another organization" in english(refusal)[1]
    decide_organization(platform, org, "suspend", "audit")  # a suspension is not an application's decision
    db.session.commit()
    assert len(notifications_of(applicant, "organization.decided")) == 1


def test_a_volunteer_hears_the_decision_on_their_membership(make):
    org = make.org(join_mode="approval", name="西宁市城东区志愿者协会")
    volunteer = make.volunteer()
    user = make.account_of(volunteer)
    membership = apply_for_membership(user, org)
    assert notifications_of(user) == []  # asking is not news
    decide_membership(make.coordinator(org), membership, approve=False)
    db.session.commit()
    [notification] = notifications_of(user, "membership.decided")
    assert english(notification) == ("Your membership of 西宁市城东区志愿者协会: declined",
                                     "西宁市城东区志愿者协会 has declined your request to join.")


def test_sign_ups_accepted_waitlisted_and_moved_up_are_told(make):
    org = make.org()
    starts = utcnow() + dt.timedelta(days=3)
    activity = make.activity(org, title="敬老院探访", capacity=1, starts_at=starts,
                             ends_at=starts + dt.timedelta(hours=2))
    first, second = (make.account_of(make.volunteer(birth_date=dt.date(1990, 1, day))) for day in (1, 2))
    sign_up(first, activity)
    sign_up(second, activity)
    db.session.commit()
    assert [n.params["decision"] for n in notifications_of(first)] == ["accepted"]
    assert [n.params["decision"] for n in notifications_of(second)] == ["waitlisted"]
    withdraw(first, activity)
    db.session.commit()
    moved = notifications_of(second)[-1]
    assert moved.params["decision"] == "moved_up" and moved.link == f"/activities/{activity.code}"
    assert english(moved)[0] == "敬老院探访: accepted: a place came free"
    # an activity whose coordinator decides: pending is not news, the decision is
    chosen = make.activity(org, title="义诊", signup_mode="approval", starts_at=starts,
                           ends_at=starts + dt.timedelta(hours=2))
    signup = sign_up(first, chosen)
    assert [n.params["activity"] for n in notifications_of(first)].count("义诊") == 0
    decide_signup(make.coordinator(org), signup, approve=True)
    db.session.commit()
    assert notifications_of(first)[-1].params == {**notifications_of(first)[-1].params, "activity": "义诊",
                                                  "decision": "accepted"}


def test_two_hundred_approvals_tell_each_volunteer_once(make):
    org = make.org(name="格尔木市志愿者协会")
    activity = make.activity(org, title="交通引导", starts_at=utcnow() - dt.timedelta(days=10),
                             ends_at=utcnow() + dt.timedelta(days=1))
    coordinator, admin = make.coordinator(org), make.org_admin_of(org)
    volunteers = [make.volunteer(birth_date=dt.date(1990, 1, 1) + dt.timedelta(days=i)) for i in range(4)]
    entries = []
    for index, volunteer in enumerate(volunteers):
        for day in range(50):  # 4 × 50 = 200 records
            start = (utcnow() - dt.timedelta(days=9)).replace(hour=0, minute=0, second=0, microsecond=0) \
                + dt.timedelta(minutes=day * 10 + index)
            entries.append(record_missing_service(coordinator, activity, volunteer.id, start,
                                                  start + dt.timedelta(minutes=5), "sheet").id)
    db.session.commit()
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Notification))
    decide_entries(admin, org, entries, "approve")
    db.session.commit()
    written = db.session.scalars(sa.select(Notification).where(Notification.kind == "entry.decided")).all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) - before == 4 == len(written)
    assert {n.params["count"] for n in written} == {50} and {n.params["minutes"] for n in written} == {250}
    assert english(written[0])[1] == "50 records of service at 格尔木市志愿者协会, 250 minutes in all, were approved."
    # one entry rejected: the message names the activity, the date and the reason's decision
    one = record_missing_service(coordinator, activity, volunteers[0].id, utcnow() - dt.timedelta(days=2),
                                 utcnow() - dt.timedelta(days=2) + dt.timedelta(minutes=90), "sheet")
    decide_entries(admin, org, [one.id], "reject", "Not on the sign-in sheet")
    db.session.commit()
    last = notifications_of(make.account_of(volunteers[0]), "entry.decided")[-1]
    assert english(last)[1] == f"90 minutes of service at 交通引导 on {one.service_date.isoformat()} were rejected."


def test_corrections_and_certificates_are_told(make):
    org = make.org(name="海东市青年志愿者协会")
    activity = make.activity(org, title="湟水河清洁", starts_at=utcnow() - dt.timedelta(days=20),
                             ends_at=utcnow() + dt.timedelta(days=1))
    volunteer = make.volunteer()
    user = make.account_of(volunteer)
    admin = make.org_admin_of(org)
    admin.display_name = "马晓东"  # a certificate prints its handler's name
    entry = approved_service(make, activity, volunteer, 120, days_ago=5, approver=admin)
    request = report_error(user, entry, "I stayed until noon", claimed_minutes=150)
    decide_correction(admin, request, False, "The sheet says 10:00.")
    certificate = issue_certificate(admin, org, volunteer, dt.date(2026, 1, 1), dt.date.today(), render=False)
    revoke_certificate(admin, certificate, "Issued to the wrong person")
    db.session.commit()
    kinds = [n.kind for n in notifications_of(user)]
    assert kinds == ["entry.decided", "correction.decided", "certificate.issued", "certificate.revoked"]
    correction, issued, revoked = notifications_of(user)[1:]
    assert english(correction)[1] == "海东市青年志愿者协会 has declined your correction request. The sheet says 10:00."
    assert issued.params["hours"] == "2.0" and issued.link == f"/certificates/{certificate.code}"
    assert english(revoked)[1].endswith(f"revoked certificate {certificate.number}: Issued to the wrong person")


def test_a_change_rolled_back_tells_nobody(make):
    org = make.org()
    volunteer = make.volunteer()
    membership = apply_for_membership(make.account_of(volunteer), org)
    db.session.commit()
    decide_membership(make.coordinator(org), membership, approve=True)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.kind == "membership.decided")) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Delivery).join(Notification).where(
        Notification.kind == "membership.decided")) == 0


def local_time(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), LOCAL_ZONE).astimezone(dt.UTC)


@pytest.fixture
def tomorrow(make):
    """A published activity starting tomorrow at 09:30 Beijing time, two volunteers accepted, one waitlisted, and
    another activity two days on."""
    org = make.org(name="西宁市城东区志愿者协会")
    today = utcnow().astimezone(LOCAL_ZONE).date()
    starts = local_time(today + dt.timedelta(days=1), 9) + dt.timedelta(minutes=30)
    activity = make.activity(org, title="社区义诊", capacity=2, address="东关大街 12 号", starts_at=starts,
                             ends_at=starts + dt.timedelta(hours=3))
    later = make.activity(org, title="植树", starts_at=starts + dt.timedelta(days=1),
                          ends_at=starts + dt.timedelta(days=1, hours=3))
    users = [make.account_of(make.volunteer(birth_date=dt.date(1991, 2, day))) for day in (1, 2, 3)]
    for user in users:
        sign_up(user, activity, now=local_time(today, 7))
    sign_up(users[0], later, now=local_time(today, 7))
    db.session.commit()
    return today, activity, users


def test_the_reminder_goes_once_per_volunteer_per_activity_the_day_before(tomorrow):
    today, activity, users = tomorrow
    assert send_reminders(now=local_time(today, 8)) == 0  # not before 09:00
    assert send_reminders(now=local_time(today, 9)) == 2  # the two accepted, not the waitlisted
    assert send_reminders(now=local_time(today, 9) + dt.timedelta(minutes=5)) == 0
    assert send_reminders(now=local_time(today, 22)) == 0
    reminded = db.session.scalars(sa.select(Notification).where(Notification.kind == "activity.reminder")).all()
    assert sorted(n.user_id for n in reminded) == sorted(u.id for u in users[:2])
    day = (today + dt.timedelta(days=1)).isoformat()
    assert english(reminded[0])[1].startswith(f"社区义诊 of 西宁市城东区志愿者协会 starts tomorrow, {day} at 09:30, at "
                                              "东关大街 12 号.")
    # the waitlisted volunteer moves up the evening before: reminded at the next look, once
    withdraw(users[0], activity, now=local_time(today, 20))
    db.session.commit()
    assert send_reminders(now=local_time(today, 21)) == 1
    assert send_reminders(now=local_time(today, 21)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.kind == "activity.reminder")) == 3
    # the next day, the other activity's turn
    assert send_reminders(now=local_time(today + dt.timedelta(days=1), 10)) == 1


def test_the_daily_digest_lists_what_has_waited_too_long_once_a_day(app, make):
    org = make.org(name="互助县志愿者协会")
    admin, coordinator = make.org_admin_of(org), make.coordinator(org)
    other = make.org()
    activity = make.activity(org, title="冬季送温暖", starts_at=utcnow() - dt.timedelta(days=10),
                             ends_at=utcnow() + dt.timedelta(days=1))
    volunteer = make.volunteer()
    for hours_ago in (72, 60, 10):
        start = utcnow() - dt.timedelta(hours=hours_ago + 2)
        record_missing_service(coordinator, activity, volunteer.id, start, start + dt.timedelta(hours=1), "sheet")
    db.session.commit()
    now = utcnow()
    today = now.astimezone(LOCAL_ZONE).date()
    # the entries were written just now: nothing has waited 48 hours yet
    assert send_digests(now=local_time(today, 9)) == 0
    later = now + dt.timedelta(hours=49)
    day = later.astimezone(LOCAL_ZONE).date()
    assert send_digests(now=local_time(day, 7)) is None  # not before 08:00
    written = send_digests(now=max(later, local_time(day, 8)))
    assert written == 2  # the admin and the coordinator; nobody at the other organization
    [digest] = notifications_of(coordinator, "approvals.digest")
    assert digest.params["organizations"] == [{"name": "互助县志愿者协会", "code": org.code, "entries": 3}]
    assert "互助县志愿者协会: service records 3" in english(digest)[1]
    assert notifications_of(make.org_admin_of(other), "approvals.digest") == []
    # once a day: later the same (Beijing) day, nothing more; the last hour of it, so that a first digest sent late
    # in the evening is not followed by a call after midnight (before 08:00: None)
    assert send_digests(now=local_time(day, 23) + dt.timedelta(minutes=59)) == 0
    assert send_digests(now=local_time(day + dt.timedelta(days=1), 8)) == 2  # still waiting the next day
    assert len(notifications_of(admin, "approvals.digest")) == 2


def test_every_email_carries_a_link_that_stops_that_kind_without_signing_in(app, client, make):
    org = make.org(name="西宁市城东区志愿者协会")
    volunteer = make.volunteer()
    user = make.account_of(volunteer)
    user.locale = "en"
    decide_membership(make.coordinator(org), apply_for_membership(user, org), approve=True)
    db.session.commit()
    deliver_due()
    [message] = [m for m in app.extensions["outbox"] if m.to == user.email]
    link = re.search(r"To stop these emails: (\S+)", message.body).group(1)
    assert message.headers["List-Unsubscribe"] == f"<{link}>"
    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    base = public_base_url()  # PUBLIC_URL, SERVER_NAME in the tests
    assert f"See it at {base}/organizations/{org.code}" in message.body and link.startswith(base)
    path = link.removeprefix(base)
    page = client.get(path)
    assert page.status_code == 200 and user.email in page.get_data(as_text=True)
    done = client.post(path, data={"scope": "kind"})  # (the page's CSRF token: the permission matrix's CSRF test)
    assert done.status_code == 200 and "no more emails about" in done.get_data(as_text=True)
    assert db.session.get(NotificationPreference, (user.id, "membership.decided", "email")).enabled is False
    assert db.session.get(NotificationPreference, (user.id, "certificate.issued", "email")) is None
    # a mail program's one-click request (RFC 8058), without a session or CSRF token
    other = unsubscribe_token(user, "certificate.issued")
    answer = client.post(f"/notifications/unsubscribe/{other}", data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200 and answer.json == {"unsubscribed": "certificate.issued"}
    assert db.session.get(NotificationPreference, (user.id, "certificate.issued", "email")).enabled is False
    # the choice is honoured: the next membership decision is in-app only
    second = make.org()
    decide_membership(make.coordinator(second), apply_for_membership(user, second), approve=True)
    db.session.commit()
    assert notifications_of(user, "membership.decided")[-1].deliveries == []
    # a forged or altered token changes nothing
    assert client.get(path[:-3] + "xyz").status_code == 404
    assert client.post("/notifications/unsubscribe/nonsense", data={"List-Unsubscribe": "One-Click"}).status_code \
        == 404
