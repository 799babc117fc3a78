"""The calendar part's routes: the private feed behind its secret URL, the volunteer's page that shows and resets
it, one shift as an .ics file, and an organization's public feed."""
from __future__ import annotations

from contextlib import nullcontext

from flask import abort, make_response, redirect, render_template, url_for
from flask_babel import force_locale
from flask_login import current_user, login_required

from ..access import loads_organization
from ..accounts.models import User
from ..activities.rules import ORGANIZATION_RUNNING
from ..extensions import db
from ..forms import ConfirmForm
from ..links import public_base_url
from ..volunteers.models import Volunteer
from ..volunteers.queries import volunteer_for_user
from . import bp
from .feeds import CONTENT_TYPE, organization_calendar, shift_calendar, volunteer_calendar
from .queries import feed_by_token, is_public_shift, shift_by_id, signup_in_shift
from .services import open_feed, reset_feed


def _ics(body: bytes, filename: str, *, private: bool):
    response = make_response(body)
    response.headers["Content-Type"] = CONTENT_TYPE
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store" if private else "public, max-age=300"
    if private:
        response.headers["X-Robots-Tag"] = "noindex"
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/calendar/<token>.ics")
def feed(token: str):
    """A volunteer's private feed. No sign-in (a phone's calendar cannot sign in): the secret URL is the
    credential, so an unknown or reset secret is simply not found."""
    found = feed_by_token(token)
    volunteer = db.session.get(Volunteer, found.volunteer_id) if found is not None else None
    owner = db.session.get(User, volunteer.user_id) if volunteer is not None and volunteer.user_id else None
    if owner is None or not owner.is_active:  # unknown, reset, its account deleted or disabled
        abort(404)
    language = force_locale(owner.locale) if owner.locale else nullcontext()
    with language:  # the feed speaks its owner's language: a phone's request says nothing of it
        body = volunteer_calendar(volunteer)
    return _ics(body, "volunteer-shifts.ics", private=True)


def _feed_urls(token: str) -> dict[str, str]:
    https = public_base_url() + url_for("calendars.feed", token=token)
    return {"https": https, "webcal": "webcal://" + https.split("://", 1)[1]}


@bp.route("/volunteer/calendar", methods=["GET", "POST"])
@login_required
def mine():
    """The volunteer's calendar page: the feed is made on the first visit and its URL shown then; a POST (the
    reset button) makes a new secret, shows its URL, and the old one stops working."""
    if volunteer_for_user(current_user) is None:
        return redirect(url_for("volunteers.profile", next=url_for("calendars.mine")))
    form = ConfirmForm()
    if form.validate_on_submit():
        feed, token = reset_feed(current_user)
        reset = True
    else:
        feed, token = open_feed(current_user)
        reset = False
    db.session.commit()
    response = make_response(render_template("calendars/mine.html", feed=feed, reset=reset,
                                             urls=_feed_urls(token) if token else None, form=form))
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/shifts/<int:shift_id>.ics")
def shift(shift_id: int):
    """One shift to add to a phone's calendar. Anyone may have a shift of a public activity (it says what the
    activity's page says, and nobody's place); a signed-in volunteer with a place in it gets their place (its
    status, the UID their feed uses). A shift of an activity that is not public is found only by a volunteer with
    a place in it."""
    found = shift_by_id(shift_id)
    if found is None:
        abort(404)
    volunteer = volunteer_for_user(current_user) if current_user.is_authenticated else None
    signup = signup_in_shift(found, volunteer)
    if signup is None and not is_public_shift(found):
        abort(404)
    return _ics(shift_calendar(found, signup), f"shift-{found.id}.ics", private=signup is not None)


@bp.route("/organizations/<code>/shifts.ics")
@loads_organization()
def organization_feed(org):
    """An approved organization's public feed of the shifts it recruits for; not found for any other, whoever
    asks (its staff included: a feed is for the public)."""
    if org.status != ORGANIZATION_RUNNING:
        abort(404)
    return _ics(organization_calendar(org), f"{org.code}-shifts.ics", private=False)
