"""The outbox worker: it claims due deliveries, sends each through the mail backends (mail.py) in the recipient's
language, and marks it, one commit per step, so that a worker killed at any point and started again sends every
message once at most, and every message it was not in the middle of exactly once.

Each delivery goes ``pending`` → ``sending`` (committed before the send, with a claim that expires) → ``sent``
(committed after). A failed send goes back to ``pending`` with a growing delay, and to ``failed`` after
MAX_ATTEMPTS. A delivery still ``sending`` after its claim expired was interrupted between the send and its
commit: it may have gone out, so it is marked ``failed`` ("interrupted"), never sent again.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import force_locale

from .. import mail
from ..accounts.models import User
from ..extensions import db
from ..models import utcnow
from .models import Delivery, Notification
from .services import text_of

MAX_ATTEMPTS = 6
#: the delay before each retry (the sixth failure is final)
BACKOFF = (dt.timedelta(minutes=1), dt.timedelta(minutes=5), dt.timedelta(minutes=30), dt.timedelta(hours=2),
           dt.timedelta(hours=6))
CLAIM = dt.timedelta(minutes=2)


@dataclass
class Round:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    interrupted: int = 0


def render(notification: Notification, user: User) -> tuple[str, str]:
    """Subject and body in the user's language (their saved choice, else Chinese, the province's)."""
    with force_locale(user.locale or "zh_CN"):
        return text_of(notification)


def deliver_due(*, batch: int = 50, now: dt.datetime | None = None) -> Round:
    """One round: give up interrupted sends, then send up to ``batch`` due deliveries, oldest first."""
    now = now or utcnow()
    done = Round()
    stale = db.session.scalars(db.select(Delivery).where(Delivery.status == "sending",
                                                         Delivery.claimed_until < now)).all()
    for delivery in stale:
        delivery.status, delivery.last_error = "failed", "interrupted while sending; not sent again"
        done.interrupted += 1
    db.session.commit()
    due = db.session.scalars(db.select(Delivery.id).where(Delivery.status == "pending",
                                                          Delivery.next_attempt_at <= now)
                             .order_by(Delivery.next_attempt_at, Delivery.id).limit(batch)).all()
    for delivery_id in due:
        # claim it: only one worker moves a pending delivery to sending
        claimed = db.session.execute(db.update(Delivery).where(Delivery.id == delivery_id,
                                                               Delivery.status == "pending")
                                     .values(status="sending", claimed_until=now + CLAIM,
                                             attempts=Delivery.attempts + 1))
        db.session.commit()
        if claimed.rowcount != 1:
            continue
        delivery = db.session.get(Delivery, delivery_id)
        user = db.session.get(User, delivery.notification.user_id)
        subject, body = render(delivery.notification, user)
        try:
            if delivery.channel == "email":
                mail.send_email(delivery.to, subject, body)
            else:
                mail.send_sms(delivery.to, f"{subject}: {body}")
        except Exception as error:  # noqa: BLE001  (any backend failure: retried later, then given up)
            delivery.last_error = f"{type(error).__name__}: {error}"[:500]
            if delivery.attempts >= MAX_ATTEMPTS:
                delivery.status = "failed"
                done.failed += 1
            else:
                delivery.status = "pending"
                delivery.next_attempt_at = now + BACKOFF[delivery.attempts - 1]
                done.retried += 1
        else:
            delivery.status, delivery.sent_at = "sent", utcnow()
            done.sent += 1
        delivery.claimed_until = None
        db.session.commit()
    return done
