"""Writing notifications: ``notify`` adds the in-app notification and its outbox deliveries to the caller's
transaction, so they exist exactly when the change they report is committed (a rolled-back change notifies
nobody). What each kind says is in KINDS, rendered in the reader's language when shown or sent."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from itsdangerous import BadSignature, URLSafeSerializer

from ..extensions import db
from ..links import path_for
from ..text import isolate
from .models import CHANNELS, Delivery, Notification, NotificationPreference


@dataclass(frozen=True)
class Kind:
    title: object  # what the preferences page calls it
    subject: object  # a lazy string; formatted with the notification's params in the reader's language
    body: object
    default_channels: tuple[str, ...] = ("email",)  # short messages are opt-in
    #: a body that depends on more than its params' words (a count, a list): params → body
    compose: Callable[[dict], str] | None = None


def _entries_body(params: dict) -> str:
    count = int(params.get("count", 1))
    if count == 1:
        return _("%(minutes)s minutes of service at %(activity)s on %(date)s were %(decision)s.", **params)
    return ngettext("%(num)s record of service at %(organization)s, %(minutes)s minutes in all, was %(decision)s.",
                    "%(num)s records of service at %(organization)s, %(minutes)s minutes in all, were "
                    "%(decision)s.", count, **params)


def _digest_body(params: dict) -> str:
    lines = [_("These have waited more than %(hours)s hours for a decision:", hours=params["hours"])]
    for org in params["organizations"]:
        parts = []
        for key, label in (("entries", _l("service records")), ("manual", _l("hours entered by hand")),
                           ("memberships", _l("requests to join")), ("signups", _l("sign-ups")),
                           ("corrections", _l("correction requests"))):
            if org.get(key):
                parts.append(f"{label} {org[key]}")
        lines.append(f"• {isolate(org['name'])}: " + _(", ").join(parts))
    return "\n".join(lines)


KINDS = {
    "organization.decided": Kind(_l("A decision on your organization's application"),
                                 _l("Your application for %(organization)s: %(decision)s"),
                                 _l("The civil-affairs office has %(decision)s the application of %(organization)s. "
                                    "%(reason)s")),
    "membership.decided": Kind(_l("A decision on your request to join an organization"),
                               _l("Your membership of %(organization)s: %(decision)s"),
                               _l("%(organization)s has %(decision)s your request to join.")),
    "membership.invited": Kind(_l("An invitation to become a member of an organization"),
                               _l("%(organization)s invites you to become a member"),
                               _l("%(organization)s has invited you to become one of its members. You become a "
                                  "member only if you accept; open the organization's page to accept or decline.")),
    "signup.decided": Kind(_l("Your place in an activity (accepted, wait-listed, moved up)"),
                           _l("%(activity)s: %(decision)s"),
                           _l("Your sign-up for %(activity)s of %(organization)s, on %(date)s, is %(decision)s.")),
    "shift.changed": Kind(_l("A shift you signed up for moved (a duty roster changed)"),
                          _l("%(activity)s: your shift moved"),
                          _l("Your shift of %(activity)s of %(organization)s on %(previous)s now runs %(date)s "
                             "%(time)s. Your place is kept; withdraw if you cannot come.")),
    "shift.cancelled": Kind(_l("A shift you signed up for was cancelled"),
                            _l("%(activity)s: shift cancelled"),
                            _l("%(organization)s has cancelled the shift of %(activity)s on %(date)s %(time)s. "
                               "%(reason)s")),
    "activity.reminder": Kind(_l("A reminder the day before each shift you signed up for"),
                              _l("Tomorrow at %(time)s: %(activity)s"),
                              _l("%(activity)s of %(organization)s starts tomorrow, %(date)s at %(time)s, at "
                                 "%(place)s. If you cannot come, please withdraw so that someone else can take your "
                                 "place.")),
    "entry.decided": Kind(_l("A decision on your service hours"),
                          _l("Your hours at %(organization)s: %(decision)s"),
                          "", compose=_entries_body),
    "correction.decided": Kind(_l("A decision on a correction you asked for"),
                               _l("Your correction request: %(decision)s"),
                               _l("%(organization)s has %(decision)s your correction request. %(response)s")),
    "certificate.issued": Kind(_l("A certificate issued to you"),
                               _l("A certificate of service from %(organization)s"),
                               _l("%(organization)s has issued you certificate %(number)s for %(hours)s hours of "
                                  "service. You can download it and share its verification link.")),
    "certificate.revoked": Kind(_l("A certificate of yours revoked"),
                                _l("Certificate %(number)s revoked"),
                                _l("%(organization)s has revoked certificate %(number)s: %(reason)s")),
    "approvals.digest": Kind(_l("A daily list of decisions waiting (coordinators)"),
                             _l("Decisions waiting at your organizations"),
                             "", compose=_digest_body),
}


#: parameter values that are words, not names: shown in the reader's language
VALUE_LABELS = {"approved": _l("approved"), "rejected": _l("rejected"), "declined": _l("declined"),
                "accepted": _l("accepted"), "waitlisted": _l("on the waiting list"),
                "moved_up": _l("accepted: a place came free"), "pending": _l("waiting for the organizer")}


def text_of(notification) -> tuple[str, str]:
    """Subject and body in the current language. Names and reasons people typed are isolated (text.isolate): an
    organization's name in Arabic script cannot turn the direction of the sentence around it."""
    kind = KINDS[notification.kind]
    params = {key: ((str(VALUE_LABELS[value]) if value in VALUE_LABELS else isolate(value)) if isinstance(value, str)
                    else value) for key, value in notification.params.items()}
    subject = str(kind.subject) % params
    body = kind.compose(params) if kind.compose else str(kind.body) % params
    return subject, body.strip()


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


def notify(user, kind: str, *, link: str | None = None, once: str | None = None, **params) -> Notification | None:
    """Notify ``user`` of ``kind`` (a key of KINDS): the in-app notification, and a delivery for each channel they
    take and have an address for. With ``once``, a key, nothing is written if ``user`` already has a notification
    with it (a reminder, a digest). Flushes with the caller's change; the caller commits both.

    Accounts that were deleted, and volunteers without an account (``user`` None), are not notified."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification {kind!r}")
    if user is None or user.deleted_at is not None:
        return None
    if once is not None and db.session.scalar(db.select(Notification.id).where(Notification.user_id == user.id,
                                                                               Notification.once == once)):
        return None
    notification = Notification(user_id=user.id, kind=kind, link=link, once=once,
                                params={k: v if isinstance(v, (list, dict, int)) else str(v)
                                        for k, v in params.items()})
    addresses = {"email": user.email, "sms": user.phone}
    for channel in CHANNELS:
        if addresses[channel] and wants(user, kind, channel):
            notification.deliveries.append(Delivery(channel=channel, to=addresses[channel]))
    db.session.add(notification)
    db.session.flush()
    return notification


def _unsubscribe_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="notifications.unsubscribe")


def unsubscribe_token(user, kind: str) -> str:
    return _unsubscribe_serializer().dumps([user.id, kind])


def unsubscribe_path(user, kind: str) -> str:
    """The link every email carries: it stops that kind of email for that user, without signing in."""
    return path_for("notifications.unsubscribe", token=unsubscribe_token(user, kind))


def stop_emails(user, kinds) -> None:
    """Unsubscribing: no more email of these kinds (they still appear in the app)."""
    for kind in kinds:
        set_preference(user, kind, "email", False)


def read_unsubscribe_token(token: str) -> tuple[int, str] | None:
    """(user id, kind) of a genuine unsubscribe token, else None."""
    try:
        user_id, kind = _unsubscribe_serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(user_id, int) or kind not in KINDS:
        return None
    return user_id, kind
