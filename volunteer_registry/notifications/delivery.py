"""The outbox worker: it claims due deliveries, sends each through the mail backends (mail.py) in the recipient's
language, and marks it, one commit per step, so that a worker killed at any point and started again sends no
message twice, and sends again every message that cannot have left.

Each delivery goes ``pending`` → ``sending`` (claimed: committed before the worker connects) → ``handed``
(committed at the last moment the message can be held back, before its last byte) → ``sent`` (committed after the
server took it). A failed send goes back to ``pending`` with a growing delay, and to ``failed`` after MAX_ATTEMPTS.
When a claim has run out:

- still ``sending``: the worker died before handing the message over; it never left, so it is sent again;
- ``handed``: it died between the last byte and its commit; the server may have the message (the duplicate problem
  of RFC 1047), so it is marked ``failed`` with the reason and never sent again. That window is the time the server
  takes to answer the end of the data, not the time of a whole send.

A worker only hands a message over while its claim is still its own (a conditional update of ``claim``), so a
worker that was merely slow cannot send what another has taken over.
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from .. import mail
from ..accounts.models import User
from ..extensions import db
from ..links import public_base_url
from ..models import utcnow
from .models import Delivery, Notification
from .services import text_of, unsubscribe_path

MAX_ATTEMPTS = 6
#: the delay before each retry (the sixth failure is final)
BACKOFF = (dt.timedelta(minutes=1), dt.timedelta(minutes=5), dt.timedelta(minutes=30), dt.timedelta(hours=2),
           dt.timedelta(hours=6))


class ClaimLost(Exception):
    """Another worker took the delivery over while this one was slow: this one must not hand it over."""


@dataclass
class Round:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    resumed: int = 0  # claims of dead workers that had not handed their message over: sent again
    interrupted: int = 0  # claims of dead workers that had: given up

    def __bool__(self) -> bool:
        return bool(self.sent or self.retried or self.failed or self.resumed or self.interrupted)


def render(notification: Notification, user: User, channel: str) -> tuple[str, str, dict]:
    """Subject, body and email headers in the user's language (their saved choice, else Chinese, the
    province's); an email ends with its unsubscribe link and carries it in List-Unsubscribe (RFC 8058)."""
    with force_locale(user.locale or "zh_CN"):
        subject, body = text_of(notification)
        if channel != "email":
            return subject, body, {}
        base = public_base_url()
        link = base + unsubscribe_path(user, notification.kind)
        if notification.link:
            body += "\n\n" + _("See it at %(url)s", url=base + notification.link)
        body += "\n\n-- \n" + _("Volunteer Registry. To stop these emails: %(url)s", url=link)
    headers = {"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
               "Message-ID": f"<notification-{notification.id}@{urlsplit(base).hostname or 'localhost'}>"}
    return subject, body, headers


def _recover(now: dt.datetime, done: Round) -> None:
    """Deal with the claims of workers that died: resend what never left, give up what may have."""
    stale = db.session.scalars(db.select(Delivery).where(Delivery.status.in_(("sending", "handed")),
                                                         Delivery.claimed_until < now)).all()
    for delivery in stale:
        if delivery.status == "sending":
            delivery.status, delivery.claim, delivery.claimed_until = "pending", None, None
            delivery.attempts = max(delivery.attempts - 1, 0)  # the attempt never reached the server
            done.resumed += 1
        else:
            delivery.status = "failed"
            delivery.last_error = "interrupted after the message was handed over: it may have been delivered, so " \
                                  "it is not sent again"
            done.interrupted += 1
    db.session.commit()


def _send_one(delivery_id: int, now: dt.datetime, done: Round) -> None:
    claim = secrets.token_hex(16)
    hold = dt.timedelta(seconds=current_app.config["NOTIFICATIONS_CLAIM_SECONDS"])
    claimed = db.session.execute(db.update(Delivery).where(Delivery.id == delivery_id, Delivery.status == "pending")
                                 .values(status="sending", claim=claim, claimed_until=max(now, utcnow()) + hold,
                                         attempts=Delivery.attempts + 1))
    db.session.commit()
    if claimed.rowcount != 1:
        return  # another worker has it
    delivery = db.session.get(Delivery, delivery_id)
    notification = delivery.notification
    user = db.session.get(User, notification.user_id)
    subject, body, headers = render(notification, user, delivery.channel)

    def handing_over() -> None:
        handed = db.session.execute(db.update(Delivery).where(Delivery.id == delivery_id, Delivery.claim == claim,
                                                              Delivery.status == "sending")
                                    .values(status="handed"))
        db.session.commit()
        if handed.rowcount != 1:
            raise ClaimLost(delivery_id)

    try:
        if delivery.channel == "email":
            mail.send_email(delivery.to, subject, body, headers=headers, handing_over=handing_over)
        else:
            mail.send_sms(delivery.to, f"{subject}: {body}", handing_over=handing_over)
    except ClaimLost:
        db.session.rollback()
        return
    except Exception as error:  # noqa: BLE001  (any backend failure: retried later, then given up)
        db.session.rollback()
        delivery = db.session.get(Delivery, delivery_id)
        if delivery.claim != claim:
            return
        delivery.last_error = f"{type(error).__name__}: {error}"[:500]
        if delivery.status == "handed" and not isinstance(error, mail.REFUSALS):
            # no answer after the last byte: the server may have the message; not sent again
            delivery.status = "failed"
            done.interrupted += 1
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = "failed"
            done.failed += 1
        else:
            delivery.status = "pending"
            delivery.next_attempt_at = now + BACKOFF[delivery.attempts - 1]
            done.retried += 1
    else:
        delivery = db.session.get(Delivery, delivery_id)
        delivery.status, delivery.sent_at = "sent", utcnow()
        done.sent += 1
    delivery.claim = delivery.claimed_until = None
    db.session.commit()


def deliver_due(*, batch: int = 50, now: dt.datetime | None = None) -> Round:
    """One round: deal with dead workers' claims, then send up to ``batch`` due deliveries, oldest first."""
    now = now or utcnow()
    done = Round()
    _recover(now, done)
    due = db.session.scalars(db.select(Delivery.id).where(Delivery.status == "pending",
                                                          Delivery.next_attempt_at <= now)
                             .order_by(Delivery.next_attempt_at, Delivery.id).limit(batch)).all()
    for delivery_id in due:
        _send_one(delivery_id, now, done)
    current_app.logger.debug("notifications round: %s", done)
    return done
