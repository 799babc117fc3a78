"""The record pages: an organization's staff record a member's training, awards and evaluations; the volunteer
sees their own."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..access import loads_organization
from ..errors import apply_to_form
from ..extensions import db
from ..paging import requested_page
from ..text import isolate
from ..volunteers.access import volunteer_required
from . import bp
from .forms import RECORD_FORMS, WithdrawForm
from .queries import active_member, organization_records, record_in, records_of_volunteer, withdrawals_of
from .services import (
    AwardData,
    EvaluationData,
    RecordError,
    TrainingData,
    record_award,
    record_evaluation,
    record_training,
    withdraw_record,
)

#: kind → (the data it is read into, the service that records it)
RECORDERS = {
    "training": (TrainingData, record_training),
    "award": (AwardData, record_award),
    "evaluation": (EvaluationData, record_evaluation),
}


def _forms(posted: str | None = None) -> dict:
    """The three record forms; only the ``posted`` one reads the request."""
    return {kind: form(prefix=kind, **({} if kind == posted else {"formdata": None}))
            for kind, form in RECORD_FORMS.items()}


def _member_page(org, volunteer, forms, *, open_kind=None, withdraw_errors=None, status=200):
    page = organization_records(org, volunteer, page=requested_page())
    return render_template("records/member.html", org=org, volunteer=volunteer, forms=forms, page=page,
                           withdrawn=withdrawals_of(page.items), open_kind=open_kind,
                           withdraw_errors=withdraw_errors or {}, withdraw_form=WithdrawForm(formdata=None)), status


@bp.route("/organizations/<code>/members/<number>/records", methods=["GET", "POST"])
@login_required
@loads_organization("records.write")  # before the member is looked up: nobody else learns who is a member
def member_records(org, number: str):
    volunteer = active_member(org, number)
    if request.method == "GET":
        return _member_page(org, volunteer, _forms())
    kind = request.form.get("kind")
    if kind not in RECORDERS:
        abort(400)
    forms = _forms(kind)
    form = forms[kind]
    if form.validate_on_submit():
        data_class, record = RECORDERS[kind]
        try:
            saved = record(current_user, org, volunteer, data_class.from_mapping(form.data))
        except RecordError as error:
            db.session.rollback()
            if not apply_to_form(error, form):
                form.form_errors.append(error.message)
        else:
            db.session.commit()
            flash(_("%(kind)s recorded for %(name)s.", kind=saved.kind_label, name=isolate(volunteer.name)), "success")
            return redirect(url_for("records.member_records", code=org.code, number=volunteer.volunteer_number))
    return _member_page(org, volunteer, forms, open_kind=kind, status=422)


@bp.route("/organizations/<code>/members/<number>/records/<int:record_id>/withdraw", methods=["POST"])
@login_required
@loads_organization("records.write")
def withdraw(org, number: str, record_id: int):
    volunteer = active_member(org, number)
    record = record_in(org, volunteer, record_id)
    form = WithdrawForm()
    errors = {}
    if form.validate_on_submit():
        try:
            withdraw_record(current_user, record, form.reason.data)
        except RecordError as error:
            db.session.rollback()
            if error.field == "reason":
                errors[record.id] = error.message
            else:  # already withdrawn: the row no longer has a form to show it next to
                flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("Withdrawn. %(name)s no longer sees this record.", name=isolate(volunteer.name)), "success")
            return redirect(url_for("records.member_records", code=org.code, number=volunteer.volunteer_number))
    else:
        errors[record.id] = " ".join(form.reason.errors)
    return _member_page(org, volunteer, _forms(), withdraw_errors=errors, status=422)


@bp.route("/volunteer/records")
@volunteer_required
def mine(volunteer):
    return render_template("records/mine.html", volunteer=volunteer, records=records_of_volunteer(volunteer))
