from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models import UTCDateTime, utcnow

CHANNELS = ("email", "sms")  # in-app is the Notification row itself
DELIVERY_STATUSES = ("pending", "sending", "handed", "sent", "failed")


class Notification(db.Model):
    """Something that happened to ``user``: shown on their notifications page (in-app), and the source of its
    email and short-message deliveries. Rendered in the reader's language when shown or sent (``params``)."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_id_id", "user_id", "id"), UniqueConstraint("user_id", "once"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    link: Mapped[str | None] = mapped_column(String(300))  #: a path on this site
    #: a key that makes it once only per user (the day-before reminder of a shift, the day's digest)
    once: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    deliveries: Mapped[list[Delivery]] = relationship(back_populates="notification", order_by="Delivery.id")


class Delivery(db.Model):
    """One message of the outbox: a notification by email or short message.

    ``pending`` until a worker claims it (``claim``, ``claimed_until``); ``sending`` while it talks to the mail
    server; ``handed`` from the moment before the message's last byte goes (after that, the server may have it);
    then ``sent``, or back to ``pending`` after a failure, and ``failed`` after its attempts. A worker that died
    leaves ``sending`` (the message never left: sent again) or ``handed`` (it may have left: never sent again,
    marked failed with the reason)."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("notification_id", "channel"),
        CheckConstraint("status IN ('pending', 'sending', 'handed', 'sent', 'failed')", name="status"),
        CheckConstraint("channel IN ('email', 'sms')", name="channel"),
        Index("ix_notification_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"))
    channel: Mapped[str] = mapped_column(String(8))
    to: Mapped[str] = mapped_column(String(254))  #: the address when it was written
    status: Mapped[str] = mapped_column(String(8), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    claim: Mapped[str | None] = mapped_column(String(32))  #: the claiming worker's random mark
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    notification: Mapped[Notification] = relationship(back_populates="deliveries")


class NotificationPreference(db.Model):
    """A user's choice for one kind of notification on one channel (email or sms); no row means the default."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    enabled: Mapped[bool]
