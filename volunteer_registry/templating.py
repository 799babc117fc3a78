"""Template filters that turn stored codes into words, and keep typed text from turning the direction of a page."""
from __future__ import annotations

from flask import Flask
from flask_babel import format_datetime, format_decimal, format_percent, format_time
from markupsafe import Markup

from .activities.models import SIGNUP_MODES
from .organizations.models import INVITATION_ROLES, JOIN_MODES
from .regions import region_path
from .text import isolate, without_bidi_controls
from .timeutil import local


def timespan(activity) -> str:
    """An activity's start and end in Beijing time; the end's date only when it is another day."""
    start, end = local(activity.starts_at), local(activity.ends_at)
    until = (format_time(activity.ends_at, "short") if start.date() == end.date()
             else format_datetime(activity.ends_at, "short"))
    return f"{format_datetime(activity.starts_at, 'short')} – {until}"


def bdi(value) -> Markup:
    """A name, title or reason someone typed, for a page: escaped, inside ``<bdi>`` (which isolates it and takes
    its direction from its own first letter), without the direction controls a value kept before they were refused
    may hold. So it cannot change the direction of what follows it. In a ``<title>`` or an attribute, where markup
    is not read, use ``isolate``."""
    if value is None:
        return Markup("")
    if not isinstance(value, Markup):
        value = without_bidi_controls(str(value))
    return Markup("<bdi>%s</bdi>") % value


def _unread_notifications() -> int:
    """The signed-in user's unread notifications (0 for nobody), counted once a request when a page asks."""
    from flask import g
    from flask_login import current_user

    from .notifications.services import unread_count

    if not current_user.is_authenticated:
        return 0
    if "unread_notifications" not in g:
        g.unread_notifications = unread_count(current_user)
    return g.unread_notifications


def init_app(app: Flask) -> None:
    app.add_template_global(_unread_notifications, "unread_notifications")
    app.add_template_filter(lambda value: format_decimal(value or 0, format="#,##0"), "number")
    app.add_template_filter(lambda value: format_percent(value or 0, format="#,##0%"), "percent")
    app.add_template_filter(region_path, "region")
    app.add_template_filter(lambda mode: str(JOIN_MODES.get(mode, mode)), "join_mode")
    app.add_template_filter(lambda role: str(INVITATION_ROLES.get(role, role)), "invitation_role")
    app.add_template_filter(lambda mode: str(SIGNUP_MODES.get(mode, mode)), "signup_mode")
    app.add_template_filter(timespan, "timespan")
    app.add_template_filter(bdi, "bdi")
    app.add_template_filter(isolate, "isolate")
