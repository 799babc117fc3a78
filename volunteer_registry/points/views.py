"""The coordinator's pages of service points: the activity's points and a new one, a point with its posters (print
A4/A6, revoke, reprint), edit and retire. Thin: load → authorize → validate → call a service → commit → respond."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..access import load_activity, loads_activity
from ..errors import apply_to_form
from ..extensions import db
from ..forms import ConfirmForm
from ..text import isolate
from . import bp
from .forms import PointForm, RevokePosterForm
from .pdf import poster_url, render_poster
from .queries import point_by_code, points_of, poster_of, posters_of
from .schemas import POSTER_SIZES
from .services import (
    PointData,
    PointError,
    create_point,
    issue_poster,
    retire_point,
    revoke_and_reprint,
    revoke_poster,
    update_point,
)

#: permission over the point's organization for every page here
MANAGE = "activities.manage"


def loads_point(view: Callable) -> Callable:
    """Call the view with the point named by the URL's ``code``: found by its code (404), then its activity loaded
    and authorized as every activity page is (access.load_activity: 404 where the activity is not the caller's to
    know, 403 without ``activities.manage``). An anonymous visitor is sent to sign in first."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        point = point_by_code(kwargs.pop("code"))
        load_activity(point.activity.code, MANAGE)
        return view(point, *args, **kwargs)

    return wrapped


def _data(form) -> PointData:
    return PointData(name=form.name.data or "", address=form.address.data or "", latitude=form.latitude.data,
                     longitude=form.longitude.data, radius_m=form.radius_m.data)


def _refused(error: PointError, form=None) -> None:
    db.session.rollback()
    if form is None or not apply_to_form(error, form):
        flash(error.message, "error")


@bp.route("/activities/<code>/points", methods=["GET", "POST"])
@login_required
@loads_activity(MANAGE)
def index(activity):
    form = PointForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                point = create_point(current_user, activity, _data(form))
                issue_poster(current_user, point)
            except PointError as error:
                _refused(error, form)
                status = error.http_status
            else:
                db.session.commit()
                flash(_("Service point %(name)s set up, with its first poster. Print it and put it up.",
                        name=isolate(point.name)), "success")
                return redirect(url_for("points.show", code=point.code))
        else:
            status = 422
    return render_template("points/index.html", activity=activity, points=points_of(activity), form=form), status


@bp.route("/points/<code>")
@loads_point
def show(point):
    posters = posters_of(point)
    return render_template("points/show.html", point=point, activity=point.activity, posters=posters,
                           urls={poster.id: poster_url(point, poster) for poster in posters if not poster.is_revoked},
                           sizes=list(POSTER_SIZES), confirm=ConfirmForm(),
                           revoke_forms={poster.id: _revoke_form(poster.serial) for poster in posters})


def _revoke_form(serial: int) -> RevokePosterForm:
    """The withdraw form of poster ``serial`` (its fields named apart from the other posters' on the page)."""
    return RevokePosterForm(prefix=f"poster{serial}")


@bp.route("/points/<code>/edit", methods=["GET", "POST"])
@loads_point
def edit(point):
    form = PointForm(obj=point)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                update_point(current_user, point, _data(form))
            except PointError as error:
                _refused(error, form)
                status = error.http_status
            else:
                db.session.commit()
                flash(_("Saved."), "success")
                return redirect(url_for("points.show", code=point.code))
        else:
            status = 422
    return render_template("points/edit.html", point=point, activity=point.activity, form=form), status


@bp.route("/points/<code>/retire", methods=["POST"])
@loads_point
def retire(point):
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("points.show", code=point.code))
    try:
        retire_point(current_user, point)
    except PointError as error:
        _refused(error)
    else:
        db.session.commit()
        flash(_("The service point is retired: its posters no longer work."), "info")
    return redirect(url_for("points.show", code=point.code))


@bp.route("/points/<code>/posters", methods=["POST"])
@loads_point
def issue(point):
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("points.show", code=point.code))
    try:
        poster = issue_poster(current_user, point)
    except PointError as error:
        _refused(error)
    else:
        db.session.commit()
        flash(_("Poster No. %(serial)s is ready to print.", serial=poster.serial), "success")
    return redirect(url_for("points.show", code=point.code))


@bp.route("/points/<code>/posters/<int:serial>/revoke", methods=["POST"])
@loads_point
def revoke(point, serial: int):
    poster = poster_of(point, serial)
    form = _revoke_form(serial)
    if not form.validate_on_submit():
        flash(" ".join(str(message) for messages in form.errors.values() for message in messages)
              or _("Give a reason."), "error")
        return redirect(url_for("points.show", code=point.code))
    try:
        if form.reprint.data:
            new = revoke_and_reprint(current_user, poster, form.reason.data)
        else:
            new = None
            revoke_poster(current_user, poster, form.reason.data)
    except PointError as error:
        _refused(error)
    else:
        db.session.commit()
        if new is not None:
            flash(_("Poster No. %(old)s is withdrawn. Print poster No. %(new)s and put it up in its place.",
                    old=serial, new=new.serial), "success")
        else:
            flash(_("Poster No. %(serial)s is withdrawn.", serial=serial), "info")
    return redirect(url_for("points.show", code=point.code))


@bp.route("/points/<code>/posters/<int:serial>.pdf")
@loads_point
def poster_pdf(point, serial: int):
    """The poster, signed, on A4 (default) or A6 (``?size=A6``). A withdrawn poster, or one of a retired point, is
    not printed again (409); another size is 400."""
    poster = poster_of(point, serial)
    size = (request.args.get("size") or "A4").upper()
    problem = ("size_invalid" if size not in POSTER_SIZES else "poster_revoked" if poster.is_revoked
               else "point_retired" if point.status != "active" else None)
    if problem is not None:  # a page saying why, not the redirect other refusals get: a PDF link has no page behind
        error = PointError(problem)
        return render_template("errors/error.html", status=error.http_status, message=error.message), \
            error.http_status
    pdf = render_poster(point, poster, size)
    db.session.commit()  # the instance's signing keys, when this was their first use
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'inline; filename="service-point-{point.code}-{serial}-{size}.pdf"')
    response.headers["Cache-Control"] = "private, no-store"
    return response
