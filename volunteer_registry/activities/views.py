from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..access import loads_activity, loads_organization
from ..accounts.permissions import can
from ..errors import apply_to_form
from ..extensions import db
from ..forms import ConfirmForm
from ..models import utcnow
from ..paging import requested_page
from ..text import isolate
from ..volunteers.queries import volunteer_for_user
from . import bp
from .forms import ActivityForm, CancelShiftForm, FindForm, SeriesForm, ShiftForm, SignupDecisionForm
from .models import Shift
from .queries import (
    activities_of_organization,
    activity_actions,
    find_activities,
    places_left,
    roster_view,
    signup_counts,
    signup_decidable,
    signup_in,
    signup_options,
    signups,
    upcoming_shifts,
)
from .schedule import (
    ScheduleError,
    SeriesData,
    ShiftData,
    add_shift,
    cancel_shift,
    create_series,
    join_roster,
    leave_roster,
    next_days,
    series_for,
    series_values,
    update_series,
)
from .services import (
    ActivityData,
    ActivityError,
    close_activity,
    create_activity,
    decide_signup,
    is_scheduled,
    publish_activity,
    sign_up,
    update_activity,
    withdraw,
)


def _save_error(error: ActivityError, form) -> None:
    db.session.rollback()
    if not apply_to_form(error, form):
        flash(error.message, "error")


@bp.route("/activities")
def find():
    form = FindForm(request.args)
    form.validate()
    results = find_activities(text=form.q.data or "", region_code=form.region.data or "",
                              category=form.category.data or "", date_from=form.date_from.data,
                              date_to=form.date_to.data, page=requested_page())
    return render_template("activities/find.html", form=form, results=results, left=places_left(results.items))


@bp.route("/activities/<code>")
@loads_activity()
def show(activity):
    volunteer = volunteer_for_user(current_user)
    shifts, roster = upcoming_shifts(activity, volunteer), roster_view(activity, volunteer)
    scheduled = roster is not None or len(shifts) > 1 or any(row.shift.series_id for row in shifts)
    return render_template("activities/show.html", activity=activity, options=signup_options(activity, volunteer),
                           shifts=shifts, roster=roster, scheduled=scheduled,
                           left=places_left([activity])[activity.id], confirm=ConfirmForm(),
                           can_manage=can(current_user, "activities.manage", activity.organization),
                           can_scan=can(current_user, "checkin.scan", activity.organization),
                           can_review=can(current_user, "checkin.review", activity.organization))


@bp.route("/activities/<code>/signup", methods=["POST"])
@login_required
@loads_activity()
def signup(activity):
    try:
        entry = sign_up(current_user, activity, shift=request.form.get("shift") or None)
    except ActivityError as error:
        flash(error.message, "error")
        if error.code == "volunteer_profile_required":
            return redirect(url_for("volunteers.profile", next=url_for("activities.show", code=activity.code)))
    else:
        db.session.commit()
        messages = {
            "accepted": _("You are signed up for %(title)s.", title=activity.title),
            "pending": _("Your sign-up for %(title)s is waiting for a coordinator's approval.", title=activity.title),
            "waitlisted": _("%(title)s is full; you are on the waiting list and move up when a place is freed.",
                            title=activity.title),
        }
        flash(messages[entry.status], "success" if entry.status == "accepted" else "info")
    return redirect(url_for("activities.show", code=activity.code))


@bp.route("/activities/<code>/withdraw", methods=["POST"])
@login_required
@loads_activity()
def withdraw_signup(activity):
    try:
        withdraw(current_user, activity, shift=request.form.get("shift") or None)
    except ActivityError as error:
        flash(error.message, "error")
        if error.code == "volunteer_profile_required":
            return redirect(url_for("volunteers.profile", next=url_for("activities.show", code=activity.code)))
    else:
        db.session.commit()
        flash(_("You have withdrawn from %(title)s.", title=isolate(activity.title)), "info")
    return redirect(url_for("activities.show", code=activity.code))


@bp.route("/organizations/<code>/activities")
@login_required
@loads_organization("activities.manage")
def manage(org):
    page = activities_of_organization(org, requested_page())
    return render_template("activities/manage.html", org=org, page=page, left=places_left(page.items))


@bp.route("/organizations/<code>/activities/new", methods=["GET", "POST"])
@login_required
@loads_organization("activities.manage")
def new(org):
    form = ActivityForm()
    if request.method == "GET":
        form.region_code.data = org.region_code
        form.person_in_charge.data = org.person_in_charge
    if form.validate_on_submit():
        try:
            activity = create_activity(current_user, org, ActivityData.from_mapping(form.data))
        except ActivityError as error:
            _save_error(error, form)
        else:
            db.session.commit()
            flash(_("Saved as a draft. Publish it when volunteers may see it."), "success")
            return redirect(url_for("activities.show", code=activity.code))
    return render_template("activities/edit.html", form=form, org=org, activity=None)


@bp.route("/activities/<code>/edit", methods=["GET", "POST"])
@login_required
@loads_activity("activities.manage")
def edit(activity):
    form = ActivityForm(obj=activity)
    if form.validate_on_submit():
        try:
            update_activity(current_user, activity, ActivityData.from_mapping(form.data))
        except ActivityError as error:
            _save_error(error, form)
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("activities.show", code=activity.code))
    return render_template("activities/edit.html", form=form, org=activity.organization, activity=activity,
                           scheduled=is_scheduled(activity))


def _change_status(activity, change, message, category: str):
    """Publish or close: ``change(actor, activity)``, then ``message(activity)`` flashed, back to the activity."""
    try:
        change(current_user, activity)
    except ActivityError as error:
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(message(activity), category)
    return redirect(url_for("activities.show", code=activity.code))


@bp.route("/activities/<code>/publish", methods=["POST"])
@login_required
@loads_activity("activities.manage")
def publish(activity):
    return _change_status(activity, publish_activity, lambda activity: _(
        "Published: volunteers can now find %(title)s and sign up.", title=activity.title), "success")


@bp.route("/activities/<code>/close", methods=["POST"])
@login_required
@loads_activity("activities.manage")
def close(activity):
    return _change_status(activity, close_activity, lambda activity: _(
        "Closed: no more sign-ups or check-ins for %(title)s.", title=activity.title), "info")


@bp.route("/activities/<code>/signups")
@login_required
@loads_activity("activities.manage")
def signups_page(activity):
    return render_template("activities/signups.html", activity=activity, page=signups(activity, requested_page()),
                           counts=signup_counts(activity), left=places_left([activity])[activity.id],
                           decision_form=SignupDecisionForm())


@bp.route("/activities/<code>/signups/<int:signup_id>/decision", methods=["POST"])
@login_required
@loads_activity("activities.manage")
def decide(activity, signup_id: int):
    entry = signup_in(activity, signup_id)
    form = SignupDecisionForm()
    if form.validate_on_submit():
        try:
            decide_signup(current_user, entry, form.decision.data == "approve")
        except ActivityError as error:
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("%(name)s: %(status)s.", name=isolate(entry.volunteer.name), status=entry.status_label), "success")
    return redirect(url_for("activities.signups_page", code=activity.code))


def _shifts_page(activity, *, shift_form=None, series_form=None, status=200):
    series = series_for(activity)
    if series_form is None:
        series_form = SeriesForm(data=series_values(series)) if series is not None else SeriesForm()
    return render_template("activities/shifts.html", activity=activity, series=series,
                           roster=roster_view(activity), upcoming=next_days(series, utcnow(), 8) if series else [],
                           shifts=upcoming_shifts(activity), shift_form=shift_form or ShiftForm(),
                           series_form=series_form, cancel_form=CancelShiftForm(), confirm=ConfirmForm()), status


@bp.route("/activities/<code>/shifts")
@login_required
@loads_activity("activities.manage")
def shifts_page(activity):
    return _shifts_page(activity)


@bp.route("/activities/<code>/shifts/add", methods=["POST"])
@login_required
@loads_activity("activities.manage")
def add_shift_page(activity):
    form = ShiftForm()
    if form.validate_on_submit():
        try:
            add_shift(current_user, activity, ShiftData.from_mapping(form.data))
        except ActivityError as error:
            _save_error(error, form)
        else:
            db.session.commit()
            flash(_("Shift added."), "success")
            return redirect(url_for("activities.shifts_page", code=activity.code))
    return _shifts_page(activity, shift_form=form, status=422)


@bp.route("/activities/<code>/shifts/<int:shift_id>/cancel", methods=["POST"])
@login_required
@loads_activity("activities.manage")
def cancel_shift_page(activity, shift_id: int):
    shift = db.session.get(Shift, shift_id)
    if shift is None or shift.activity_id != activity.id:
        abort(404)
    form = CancelShiftForm()
    if form.validate_on_submit():
        try:
            cancel_shift(current_user, shift, form.reason.data or "")
        except ActivityError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("Shift cancelled; those signed up are told."), "info")
    else:
        flash(" ".join(form.reason.errors) or _("The form has expired; try again."), "error")
    return redirect(url_for("activities.shifts_page", code=activity.code))


@bp.route("/activities/<code>/roster", methods=["POST"])
@login_required
@loads_activity("activities.manage")
def save_roster(activity):
    form = SeriesForm()
    if form.validate_on_submit():
        series = series_for(activity)
        try:
            if series is None:
                create_series(current_user, activity, SeriesData.from_mapping(form.data))
            else:
                update_series(current_user, series, SeriesData.from_mapping(form.data))
        except ActivityError as error:
            _save_error(error, form)
        else:
            db.session.commit()
            flash(_("Roster saved; its shifts ahead follow the rule."), "success")
            return redirect(url_for("activities.shifts_page", code=activity.code))
    return _shifts_page(activity, series_form=form, status=422)


def _roster_change(activity, change, message: str):
    series = series_for(activity)
    if series is None:
        abort(404)
    try:
        change(current_user, series)
    except ScheduleError as error:
        db.session.rollback()
        flash(error.message, "error")
        if error.code == "volunteer_profile_required":
            return redirect(url_for("volunteers.profile", next=url_for("activities.show", code=activity.code)))
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("activities.show", code=activity.code) + "#shifts")


@bp.route("/activities/<code>/roster/join", methods=["POST"])
@login_required
@loads_activity()
def join(activity):
    return _roster_change(activity, join_roster, _("You are on the roster: signed up for each of its shifts."))


@bp.route("/activities/<code>/roster/leave", methods=["POST"])
@login_required
@loads_activity()
def leave(activity):
    return _roster_change(activity, leave_roster, _("You have left the roster; your shifts ahead are withdrawn."))


# Pages and lists ask activities.rules, through these, which staff actions an activity's or a sign-up's state allows.
bp.add_app_template_global(activity_actions)
bp.add_app_template_global(signup_decidable)
