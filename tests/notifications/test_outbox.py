"""The outbox: a notification and its deliveries are written with the change they report and not without it; the
worker sends each once, in the recipient's language, retries with back-off, honours preferences, and a worker
killed between a send and its commit is not made to send again."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from volunteer_registry import mail
from volunteer_registry.extensions import db
from volunteer_registry.models import utcnow
from volunteer_registry.notifications.delivery import deliver_due
from volunteer_registry.notifications.models import Delivery, Notification
from volunteer_registry.notifications.services import notify, set_preference

from ..conftest import login

PARAMS = {"organization": "西宁市城东区志愿者协会", "decision": "approved"}


def outbox(app) -> list:
    return app.extensions.setdefault("outbox", [])


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_rolled_back_change_notifies_nobody(app, make):
    user = make.user("rollback@example.org")
    db.session.commit()
    notify(user, "membership.decided", **PARAMS)
    db.session.rollback()
    assert count(Notification) == count(Delivery) == 0
    assert deliver_due().sent == 0 and outbox(app) == []


def test_a_committed_notification_is_sent_once_in_the_readers_language(app, make):
    chinese, english = make.user("zh@example.org"), make.user("en@example.org")
    english.locale = "en"
    for user in (chinese, english):
        notify(user, "membership.decided", link="/organizations", **PARAMS)
    db.session.commit()
    assert deliver_due().sent == 2
    assert deliver_due().sent == 0  # nothing twice
    sent = {message.to: message for message in outbox(app)}
    assert len(outbox(app)) == 2
    assert sent["en@example.org"].subject == "Your membership of 西宁市城东区志愿者协会: approved"
    assert sent["zh@example.org"].subject != sent["en@example.org"].subject  # Chinese by default
    assert {d.status for d in db.session.scalars(sa.select(Delivery))} == {"sent"}


def test_a_failed_send_is_retried_after_its_delay_and_then_sent_once(app, make, monkeypatch):
    user = make.user("retry@example.org")
    notify(user, "membership.decided", **PARAMS)
    db.session.commit()
    real, calls = mail.send_email, []

    def flaky(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise ConnectionError("SMTP server unreachable")
        real(*args, **kwargs)
    monkeypatch.setattr(mail, "send_email", flaky)
    now = utcnow()
    assert deliver_due(now=now).retried == 1
    delivery = db.session.scalar(sa.select(Delivery))
    assert (delivery.status, delivery.attempts) == ("pending", 1) and "unreachable" in delivery.last_error
    assert deliver_due(now=now + dt.timedelta(seconds=30)).sent == 0  # not before its delay
    assert deliver_due(now=now + dt.timedelta(seconds=61)).sent == 1
    assert len(outbox(app)) == 1 and len(calls) == 2


def test_a_worker_that_died_before_handing_a_message_over_is_replaced_and_the_message_sent_once(
        app, make, monkeypatch):
    users = [make.user(f"kill{i}@example.org") for i in range(5)]
    for user in users:
        notify(user, "membership.decided", **PARAMS)
    db.session.commit()
    real = mail.send_email

    def dies_on_the_third(to, subject, body, **kwargs):
        if len(outbox(app)) == 2:
            raise KeyboardInterrupt  # the process dies while connecting: the third message never left
        real(to, subject, body, **kwargs)
    monkeypatch.setattr(mail, "send_email", dies_on_the_third)
    now = utcnow()
    with pytest.raises(KeyboardInterrupt):
        deliver_due(now=now)
    db.session.rollback()
    monkeypatch.setattr(mail, "send_email", real)
    assert deliver_due(now=now + dt.timedelta(seconds=30)).sent == 2  # its claim holds: the others go, not it
    later = deliver_due(now=now + dt.timedelta(minutes=3))  # the claim ran out: it never left, so it goes now
    assert (later.sent, later.resumed, later.interrupted) == (1, 1, 0)
    assert sorted(message.to for message in outbox(app)) == sorted(user.email for user in users)  # each once
    assert {d.status for d in db.session.scalars(sa.select(Delivery))} == {"sent"}


def test_a_worker_that_died_after_handing_a_message_over_never_sends_it_again(app, make, monkeypatch):
    users = [make.user(f"handed{i}@example.org") for i in range(3)]
    for user in users:
        notify(user, "membership.decided", **PARAMS)
    db.session.commit()
    real = mail.send_email

    def dies_after_the_second(to, subject, body, **kwargs):
        real(to, subject, body, **kwargs)
        if len(outbox(app)) == 2:
            raise KeyboardInterrupt  # the message left; the process dies before "sent" is committed
    monkeypatch.setattr(mail, "send_email", dies_after_the_second)
    now = utcnow()
    with pytest.raises(KeyboardInterrupt):
        deliver_due(now=now)
    db.session.rollback()
    monkeypatch.setattr(mail, "send_email", real)
    later = deliver_due(now=now + dt.timedelta(minutes=3))
    assert (later.sent, later.resumed, later.interrupted) == (1, 0, 1)
    assert sorted(message.to for message in outbox(app)) == sorted(user.email for user in users)  # each once
    given_up = db.session.scalar(sa.select(Delivery).where(Delivery.status == "failed"))
    assert given_up.to == "handed1@example.org" and "may have been delivered" in given_up.last_error
    assert deliver_due(now=now + dt.timedelta(minutes=10)).sent == 0


def test_preferences_choose_the_channels(app, make):
    user = make.user("prefs@example.org")
    user.phone = "13912345678"
    set_preference(user, "membership.decided", "email", False)
    set_preference(user, "membership.decided", "sms", True)
    notification = notify(user, "membership.decided", **PARAMS)
    db.session.commit()
    assert [d.channel for d in notification.deliveries] == ["sms"]
    deliver_due()
    assert [(m.channel, m.to) for m in outbox(app)] == [("sms", "13912345678")]
    with pytest.raises(ValueError):
        notify(user, "no.such.kind")


def test_the_notifications_page_lists_them_and_the_count_in_the_menu_goes_down(app, client, make):
    user = make.user("page@example.org")
    user.locale = "en"
    notify(user, "membership.decided", link="/organizations", **PARAMS)
    notify(user, "entry.decided", activity="湟水河清洁", organization="西宁市城东区志愿者协会", count=1, minutes=90,
           date="2026-11-28", decision="rejected")
    db.session.commit()
    login(client, user)
    page = client.get("/notifications", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Your membership of 西宁市城东区志愿者协会: approved" in page
    assert "90 minutes of service at 湟水河清洁 on 2026-11-28 were rejected." in page
    assert 'aria-label="2 unread"' in page
    assert client.post("/notifications/read").status_code == 302
    page = client.get("/notifications").get_data(as_text=True)
    assert "unread" not in page and db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.read_at.is_(None))) == 0
    # the preferences page turns email off
    assert client.post("/notifications/preferences", data={}).status_code == 302
    notification = notify(user, "membership.decided", **PARAMS)
    assert notification.deliveries == []


def test_the_command_runs_rounds_and_reports_the_outbox(app, make, monkeypatch):
    good, bad = make.user("good@example.org"), make.user("bad@example.org")
    for user in (good, bad):
        notify(user, "membership.decided", **PARAMS)
    db.session.commit()
    real = mail.send_email

    def refuses_bad(to, *args, **kwargs):
        if to == "bad@example.org":
            raise ConnectionError("mailbox unavailable")
        real(to, *args, **kwargs)
    monkeypatch.setattr(mail, "send_email", refuses_bad)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["notifications", "run", "--times", "1"])
    assert result.exit_code == 0, result.output
    assert "sent 1, to retry 1, failed 0" in result.output
    db.session.execute(sa.update(Delivery).where(Delivery.to == "bad@example.org").values(status="failed"))
    db.session.commit()
    result = runner.invoke(args=["notifications", "status"])
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == "pending 0  sending 0  handed 0  sent 1  failed 1"
    assert "email to bad@example.org, 1 attempts: ConnectionError: mailbox unavailable" in result.output
