"""The notifications part's receivers: what each change tells the people it concerns (events.py), and forgetting a
deleted account's notifications."""
from __future__ import annotations

from .. import signals
from ..extensions import db
from ..links import path_for
from ..timeutil import local
from . import events
from .models import Delivery, Notification, NotificationPreference
from .services import notify


def forget_account(user, **_facts) -> None:
    """A deleted account's notifications go, with their email and short-message copies (the addresses) and its
    choices of channel: a message not yet sent is not sent."""
    theirs = db.select(Notification.id).where(Notification.user_id == user.id).scalar_subquery()
    db.session.execute(db.delete(Delivery).where(Delivery.notification_id.in_(theirs)))
    db.session.execute(db.delete(Notification).where(Notification.user_id == user.id))
    db.session.execute(db.delete(NotificationPreference).where(NotificationPreference.user_id == user.id))


def _shift_when(moment) -> tuple[str, str]:
    return local(moment).date().isoformat(), local(moment).strftime("%H:%M")


def shift_changed(shift, *, signups, previous_start) -> None:
    """A shift moved (a roster's edit): everyone holding or awaiting a place in it hears its new time."""
    activity = shift.activity
    date, time = _shift_when(shift.starts_at)
    previous = " ".join(_shift_when(previous_start))
    for signup in signups:
        notify(events._user_of_volunteer(signup.volunteer_id), "shift.changed", activity=activity.title,
               organization=activity.organization.name, date=date, time=time, previous=previous,
               link=path_for("activities.show", code=activity.code))


def shift_cancelled(shift, *, signups, reason: str = "") -> None:
    """A shift was cancelled: everyone whose place it released hears it, with the reason."""
    activity = shift.activity
    date, time = _shift_when(shift.starts_at)
    for signup in signups:
        notify(events._user_of_volunteer(signup.volunteer_id), "shift.cancelled", activity=activity.title,
               organization=activity.organization.name, date=date, time=time, reason=reason or "",
               link=path_for("activities.show", code=activity.code))


def connect() -> None:
    """Connect the part's receivers (idempotent: blinker keeps one connection per receiver and signal)."""
    signals.organization_decided.connect(events.organization_decided)
    signals.membership_decided.connect(events.membership_decided)
    signals.membership_invited.connect(events.membership_invited)
    signals.signup_decided.connect(events.signup_decided)
    signals.entries_decided.connect(events.entries_decided)
    signals.correction_decided.connect(events.correction_decided)
    signals.certificate_issued.connect(events.certificate_issued)
    signals.certificate_revoked.connect(events.certificate_revoked)
    signals.account_deleted.connect(forget_account)
    signals.shift_changed.connect(shift_changed)
    signals.shift_cancelled.connect(shift_cancelled)
