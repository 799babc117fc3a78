"""Correction requests: a volunteer reports an error in an entry or service never recorded; the organization
decides on its review page. The rules are in services.py (report_error, report_omission, decide_correction)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..access import loads_organization
from ..activities.models import Activity, Signup
from ..activities.queries import activity_by_code
from ..errors import NotFound, apply_to_form
from ..extensions import db
from ..forms import choices
from ..ledger.models import LedgerEntry
from ..ledger.services import LedgerError
from ..paging import requested_page
from ..timeutil import LOCAL_ZONE
from ..volunteers.access import volunteer_required
from . import bp
from .forms import CorrectionDecisionForm, ErrorReportForm, OmissionReportForm
from .models import CorrectionRequest
from .services import decide_correction, report_error, report_omission


def _served_activities(volunteer) -> list[Activity]:
    """Activities the volunteer signed up for or has entries at, most recent first: the choices for an omission."""
    ids = set(db.session.scalars(db.select(Signup.activity_id).where(Signup.volunteer_id == volunteer.id)))
    ids |= set(db.session.scalars(db.select(LedgerEntry.activity_id).where(
        LedgerEntry.volunteer_id == volunteer.id, LedgerEntry.activity_id.is_not(None))))
    if not ids:
        return []
    return list(db.session.scalars(db.select(Activity).where(Activity.id.in_(ids), Activity.status != "draft")
                                   .order_by(Activity.starts_at.desc()).limit(200)))


@bp.route("/volunteer/corrections")
@volunteer_required
def my_corrections(volunteer):
    requests = db.session.scalars(db.select(CorrectionRequest).where(CorrectionRequest.volunteer_id == volunteer.id)
                                  .order_by(CorrectionRequest.id.desc()).limit(200)).all()
    return render_template("corrections/mine.html", requests=requests)


@bp.route("/volunteer/corrections/new", methods=["GET", "POST"])
@volunteer_required
def new_correction(volunteer):
    entry_id = request.args.get("entry", "")
    entry = None
    if entry_id:
        entry = db.session.get(LedgerEntry, int(entry_id)) if entry_id.isdigit() and len(entry_id) < 12 else None
        if entry is None or entry.volunteer_id != volunteer.id or entry.kind != "service":
            raise NotFound("not_found")
        form = ErrorReportForm()
    else:
        form = OmissionReportForm()
        served = _served_activities(volunteer)
        form.activity.choices = choices([("", _l("Choose…"))] + [
            (a.code, f"{a.title} · {a.starts_at.astimezone(LOCAL_ZONE):%Y-%m-%d}") for a in served])
    if form.validate_on_submit():
        try:
            if entry is not None:
                report_error(current_user, entry, form.message.data or "", form.claimed_minutes.data)
            else:
                try:
                    activity = activity_by_code(form.activity.data)
                except NotFound:
                    raise LedgerError("activity_not_served", field="activity") from None
                report_omission(current_user, activity, form.started_at.data and form.started_at.data.replace(
                    tzinfo=LOCAL_ZONE), form.ended_at.data and form.ended_at.data.replace(tzinfo=LOCAL_ZONE),
                    form.message.data or "")
        except LedgerError as error:
            db.session.rollback()
            if not apply_to_form(error, form):
                flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("Sent. The organization checks it and answers here."), "success")
            return redirect(url_for("corrections.my_corrections"))
    return render_template("corrections/new.html", form=form, entry=entry)


@bp.route("/organizations/<code>/corrections")
@login_required
@loads_organization("ledger.decide")
def review_corrections(org):
    status = request.args.get("status", "pending")
    query = db.select(CorrectionRequest).where(CorrectionRequest.organization_id == org.id)
    if status in ("pending", "accepted", "declined"):
        query = query.where(CorrectionRequest.status == status)
    page = db.paginate(query.order_by(CorrectionRequest.id), page=requested_page(),
                       per_page=50, error_out=False)
    return render_template("corrections/review.html", org=org, page=page, status=status,
                           form=CorrectionDecisionForm())


@bp.route("/organizations/<code>/corrections/<int:request_id>/decision", methods=["POST"])
@login_required
@loads_organization("ledger.decide")
def decide_correction_page(org, request_id: int):
    correction = db.session.get(CorrectionRequest, request_id)
    if correction is None or correction.organization_id != org.id:
        raise NotFound("not_found")
    form = CorrectionDecisionForm()
    if form.validate_on_submit():
        try:
            decide_correction(current_user, correction, form.decision.data == "accept", form.response.data or "",
                              minutes=form.minutes.data)
        except LedgerError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("Answered: %(status)s.", status=correction.status_label), "success")
    else:
        flash(" ".join(e for errors in form.errors.values() for e in errors), "error")
    return redirect(url_for("corrections.review_corrections", code=org.code))
