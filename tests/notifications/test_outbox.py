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

    def flaky(*args):
        calls.append(args)
        if len(calls) == 1:
            raise ConnectionError("SMTP server unreachable")
        real(*args)
    monkeypatch.setattr(mail, "send_email", flaky)
    now = utcnow()
    assert deliver_due(now=now).retried == 1
    delivery = db.session.scalar(sa.select(Delivery))
    assert (delivery.status, delivery.attempts) == ("pending", 1) and "unreachable" in delivery.last_error
    assert deliver_due(now=now + dt.timedelta(seconds=30)).sent == 0  # not before its delay
    assert deliver_due(now=now + dt.timedelta(seconds=61)).sent == 1
    assert len(outbox(app)) == 1 and len(calls) == 2


def test_a_worker_killed_between_a_send_and_its_commit_sends_each_message_once(app, make, monkeypatch):
    users = [make.user(f"kill{i}@example.org") for i in range(5)]
    for user in users:
        notify(user, "membership.decided", **PARAMS)
    db.session.commit()
    real = mail.send_email

    def dies_on_the_third(to, subject, body):
        real(to, subject, body)
        if len(outbox(app)) == 3:
            raise KeyboardInterrupt  # the process dies after the message left, before "sent" is committed
    monkeypatch.setattr(mail, "send_email", dies_on_the_third)
    now = utcnow()
    with pytest.raises(KeyboardInterrupt):
        deliver_due(now=now)
    db.session.rollback()
    monkeypatch.setattr(mail, "send_email", real)
    # restarted after the claim ran out: the interrupted one is given up, the others go out
    later = deliver_due(now=now + dt.timedelta(minutes=3))
    assert (later.sent, later.interrupted) == (2, 1)
    assert sorted(message.to for message in outbox(app)) == sorted(user.email for user in users)  # each once
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
    notify(user, "entry.decided", activity="湟水河清洁", minutes=90, date="2026-11-28", decision="rejected")
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
