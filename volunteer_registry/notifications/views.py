"""The notifications page (newest first, marked read together) and the choice of channels."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..accounts.models import User
from ..extensions import csrf, db
from ..forms import ConfirmForm
from ..models import utcnow
from ..paging import requested_page
from . import bp
from .models import CHANNELS, Notification
from .services import KINDS, mark_all_read, read_unsubscribe_token, set_preference, stop_emails, text_of, wants

PER_PAGE = 30


@bp.route("/notifications")
@login_required
def inbox():
    page = requested_page(strict=True)
    listing = db.paginate(db.select(Notification).where(Notification.user_id == current_user.id)
                          .order_by(Notification.id.desc()), page=page, per_page=PER_PAGE, error_out=False)
    items = [(notification, *text_of(notification)) for notification in listing.items]
    return render_template("notifications/inbox.html", listing=listing, items=items, confirm=ConfirmForm())


@bp.route("/notifications/read", methods=["POST"])
@login_required
def read_all():
    if ConfirmForm().validate_on_submit():
        mark_all_read(current_user, utcnow())
        db.session.commit()
    return redirect(url_for("notifications.inbox"))


@bp.route("/notifications/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    form = ConfirmForm()
    if form.validate_on_submit():
        for kind in KINDS:
            for channel in CHANNELS:
                set_preference(current_user, kind, channel, f"{kind}:{channel}" in request.form)
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(url_for("notifications.preferences"))
    choices = {(kind, channel): wants(current_user, kind, channel) for kind in KINDS for channel in CHANNELS}
    return render_template("notifications/preferences.html", form=form, kinds=KINDS, channels=CHANNELS,
                           choices=choices)


@bp.route("/notifications/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the authority; the page's own form still carries and checks a CSRF token
def unsubscribe(token: str):
    """The link in every email: stop that kind of email (or all of them) without signing in. A mail program's
    one-click request (RFC 8058: a POST of ``List-Unsubscribe=One-Click``) stops that kind at once."""
    found = read_unsubscribe_token(token)
    user = db.session.get(User, found[0]) if found else None
    if user is None or user.deleted_at is not None:
        return render_template("notifications/unsubscribe.html", invalid=True), 404
    kind = found[1]
    if request.method == "POST" and request.form.get("List-Unsubscribe") == "One-Click":
        stop_emails(user, [kind])
        db.session.commit()
        return {"unsubscribed": kind}
    if request.method == "POST" and current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()  # the page's own form: refused (400) without its CSRF token, as everywhere else
    form = ConfirmForm()
    if form.validate_on_submit():
        stopped = list(KINDS) if request.form.get("scope") == "all" else [kind]
        stop_emails(user, stopped)
        db.session.commit()
        return render_template("notifications/unsubscribe.html", done=True, stopped=[KINDS[k] for k in stopped])
    return render_template("notifications/unsubscribe.html", form=form, kind=KINDS[kind], email=user.email)
