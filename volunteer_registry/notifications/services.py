"""Writing notifications: ``notify`` adds the in-app notification and its outbox deliveries to the caller's
transaction, so they exist exactly when the change they report is committed (a rolled-back change notifies
nobody)."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from ..extensions import db
from .models import CHANNELS, Delivery, Notification, NotificationPreference


@dataclass(frozen=True)
class Kind:
    title: object  # what the preferences page calls it
    subject: object  # a lazy string; formatted with the notification's params in the reader's language
    body: object
    default_channels: tuple[str, ...] = ("email",)  # short messages are opt-in


KINDS = {
    "membership.decided": Kind(_l("A decision on your request to join an organization"),
                               _l("Your membership of %(organization)s: %(decision)s"),
                               _l("%(organization)s has %(decision)s your request to join.")),
    "entry.decided": Kind(_l("A decision on your service hours"),
                          _l("Your hours at %(activity)s: %(decision)s"),
                          _l("%(minutes)s minutes of service at %(activity)s on %(date)s were %(decision)s.")),
}


#: parameter values that are words, not names: shown in the reader's language
VALUE_LABELS = {"approved": _l("approved"), "rejected": _l("rejected"), "declined": _l("declined")}


def text_of(notification) -> tuple[str, str]:
    """Subject and body in the current language."""
    kind = KINDS[notification.kind]
    params = {key: str(VALUE_LABELS.get(value, value)) for key, value in notification.params.items()}
    return str(kind.subject) % params, str(kind.body) % params


def unread_count(user) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)))


def mark_all_read(user, now) -> int:
    """Mark every unread notification of ``user`` read; how many were."""
    return db.session.execute(db.update(Notification).where(Notification.user_id == user.id,
                                                            Notification.read_at.is_(None))
                              .values(read_at=now)).rowcount


def wants(user, kind: str, channel: str) -> bool:
    """Whether ``user`` takes ``kind`` by ``channel`` (their preference, or the kind's default)."""
    row = db.session.get(NotificationPreference, (user.id, kind, channel))
    return row.enabled if row is not None else channel in KINDS[kind].default_channels


def set_preference(user, kind: str, channel: str, enabled: bool) -> None:
    if kind not in KINDS or channel not in CHANNELS:
        raise ValueError(f"unknown notification {kind!r} or channel {channel!r}")
    row = db.session.get(NotificationPreference, (user.id, kind, channel))
    if row is None:
        db.session.add(NotificationPreference(user_id=user.id, kind=kind, channel=channel, enabled=enabled))
    else:
        row.enabled = enabled


def notify(user, kind: str, *, link: str | None = None, **params) -> Notification:
    """Notify ``user`` of ``kind`` (a key of KINDS): the in-app notification, and a delivery for each channel they
    take and have an address for. Flushes with the caller's change; the caller commits both."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification {kind!r}")
    notification = Notification(user_id=user.id, kind=kind, params={k: str(v) for k, v in params.items()},
                                link=link)
    addresses = {"email": user.email, "sms": user.phone}
    for channel in CHANNELS:
        if addresses[channel] and wants(user, kind, channel):
            notification.deliveries.append(Delivery(channel=channel, to=addresses[channel]))
    db.session.add(notification)
    db.session.flush()
    return notification
