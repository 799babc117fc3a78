"""The page a service point's poster opens (``/P/<token>``): the volunteer, signed in, sees the point, the activity
and the shift on now, lets the browser give the phone's location, and taps to check in or out. Every rule is in
services.record_scan: a poster scan without a location is refused location_required (nothing written), one from
farther than the point's radius is flagged outside_radius, and every such session is flagged static_qr and waits
for a second person's approval."""
from __future__ import annotations

import math
import uuid

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import DataRequired, Regexp

from ..extensions import db, limiter
from ..models import utcnow
from ..points.queries import shift_on
from ..points.tokens import poster_facts
from ..volunteers.queries import volunteer_for_user
from . import bp
from .limits import scan_rate_limit, scanner_key
from .queries import flag_labels
from .schemas import EVENT_ID_PATTERN
from .services import CheckInError, ScanRequest, open_session, record_scan
from .views import outcome_message


class PosterScanForm(FlaskForm):
    """The one button under a poster. The event id is made when the page is rendered (a double tap is one scan);
    the location is filled in by static/js/poster.js from the browser's geolocation."""

    event_id = HiddenField(validators=[DataRequired(), Regexp(EVENT_ID_PATTERN)])
    latitude = HiddenField()
    longitude = HiddenField()


def _coordinate(text: str | None, limit: float) -> float | None:
    """The typed coordinate; None when absent. Raises location_invalid for anything else than a number within
    ±``limit``."""
    if text is None or not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise CheckInError("location_invalid", field="location") from None
    if not math.isfinite(value) or abs(value) > limit:
        raise CheckInError("location_invalid", field="location")
    return value


def _refusal(error: CheckInError, point=None, status: int | None = None):
    return render_template("checkin/poster_result.html", point=point, activity=point.activity if point else None,
                           result=None, error=error, message=error.message), status or error.http_status


@bp.route("/p/<token>", methods=["GET", "POST"])  # a QR reader that lowercases the path
@bp.route("/P/<token>", methods=["GET", "POST"])  # registered first: url_for builds this one, as printed
@limiter.limit(scan_rate_limit, key_func=scanner_key, methods=["POST"])
def poster_scan(token: str):
    """The poster's page and its one button. A token the server did not print is 404 before anything else; a
    withdrawn poster (or a retired point) says so on opening; an anonymous visitor is sent to sign in and back."""
    point, _poster, problem = poster_facts(token)
    if point is None:
        return _refusal(CheckInError(problem), status=404)
    if request.method == "GET" and problem is not None:
        return _refusal(CheckInError(problem), point)
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    volunteer = volunteer_for_user(current_user)
    if volunteer is None:
        flash(CheckInError("volunteer_profile_required").message, "info")
        return redirect(url_for("volunteers.profile", next=url_for("checkin.poster_scan", token=token)))

    form = PosterScanForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            return _page(point, volunteer, token), 400
        try:
            latitude = _coordinate(form.latitude.data, 90)
            longitude = _coordinate(form.longitude.data, 180)
            result = record_scan(current_user, ScanRequest(event_id=form.event_id.data, poster_token=token,
                                                           latitude=latitude, longitude=longitude))
        except CheckInError as error:  # no location, event id taken or reused: nothing written
            db.session.rollback()
            return _refusal(error, point)
        db.session.commit()
        status = result.error.http_status if result.error else 200
        flags = list(result.session.flags or ()) if result.session is not None and result.error is None else []
        return render_template("checkin/poster_result.html", point=point, activity=point.activity, result=result,
                               error=result.error, message=outcome_message(result), flags=flags,
                               flag_text=flag_labels(flags)), status
    return _page(point, volunteer, token)


def _page(point, volunteer, token: str) -> str:
    form = PosterScanForm(formdata=None, event_id=uuid.uuid4().hex)
    activity = point.activity
    return render_template("checkin/poster.html", point=point, activity=activity, volunteer=volunteer, form=form,
                           shift=shift_on(activity, utcnow()), current=open_session(activity, volunteer),
                           token=token)
