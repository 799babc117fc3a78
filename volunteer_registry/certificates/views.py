"""Certificate pages: volunteers request and download theirs; org admins issue (one, on request, or in bulk),
revoke and reissue; coordinators see what their organization issued."""
from __future__ import annotations

from collections import Counter

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from ..accounts.permissions import can, require
from ..errors import apply_to_form
from ..extensions import db
from ..organizations.queries import visible_organization
from ..paging import parse_page
from ..volunteers.access import volunteer_required
from ..volunteers.identity import ID_TYPES
from . import bp
from .forms import ActionForm, IssueForm, PeriodForm, ReasonForm, RequestForm
from .models import STATUSES
from .queries import (
    certificates_of_volunteer,
    organization_certificates,
    organizations_with_service,
    pending_requests,
    readable_certificate,
    request_of,
    requests_of_volunteer,
)
from .services import (
    CertificateError,
    certifiable_volunteers,
    certificate_pdf,
    check_period,
    decline_request,
    issue_batch,
    issue_requested,
    reissue_certificate,
    request_certificate,
    revoke_certificate,
    today,
    verification_url,
)

# --- volunteers ----------------------------------------------------------------------------------------------------

def _request_form(volunteer, formdata=None) -> RequestForm:
    form = RequestForm(formdata=formdata)
    form.organization.choices = [("", _("Choose an organization"))] + [
        (org.code, org.name) for org in organizations_with_service(volunteer.id)]
    if formdata is None:
        form.period_start.data = today().replace(month=1, day=1)
        form.period_end.data = today()
    return form


def _mine_page(volunteer, form: RequestForm, status: int = 200):
    return render_template("certificates/mine.html", certificates=certificates_of_volunteer(volunteer.id),
                           requests=requests_of_volunteer(volunteer.id), form=form), status


@bp.route("/volunteer/certificates")
@volunteer_required
def mine(volunteer):
    return _mine_page(volunteer, _request_form(volunteer))


@bp.route("/volunteer/certificates/request", methods=["POST"])
@volunteer_required
def request_new(volunteer):
    form = _request_form(volunteer, request.form)
    if form.validate_on_submit():
        org = next((o for o in organizations_with_service(volunteer.id) if o.code == form.organization.data), None)
        if org is None:
            form.organization.errors = [_("Choose an organization from the list.")]
        else:
            try:
                request_certificate(volunteer, org, form.period_start.data, form.period_end.data, form.note.data)
            except CertificateError as error:
                if not apply_to_form(error, form):
                    form.organization.errors = [error.message]
            else:
                db.session.commit()
                flash(_("Your request has been sent to %(org)s.", org=org.name), "success")
                return redirect(url_for("certificates.mine"))
    return _mine_page(volunteer, form, 422)


# --- one certificate -----------------------------------------------------------------------------------------------

@bp.route("/certificates/<code>")
@login_required
def show(code: str):
    certificate = readable_certificate(code, current_user)
    manage = can(current_user, "certificates.issue", certificate.organization)
    id_type = ID_TYPES.get(certificate.content["id_type"], certificate.content["id_type"])
    return render_template("certificates/show.html", certificate=certificate, c=certificate.content, id_type=id_type,
                           verify_url=verification_url(certificate), manage=manage, revoke_form=ReasonForm(),
                           reissue_form=ReasonForm(prefix="reissue"))


@bp.route("/certificates/<code>/pdf")
@login_required
def pdf(code: str):
    return pdf_download(readable_certificate(code, current_user))


def pdf_download(certificate) -> Response:
    """The certificate's signed PDF as a download (the page's and the API's): the stored one, or rendered now and
    stored (committed here: the first download stores what it rendered); never cached by the browser."""
    body = certificate_pdf(certificate)
    db.session.commit()
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="certificate-{certificate.number}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/certificates/<code>/revoke", methods=["POST"])
@login_required
def revoke(code: str):
    certificate = readable_certificate(code, current_user)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("Give a reason."), "error")
        return redirect(url_for("certificates.show", code=certificate.code))
    try:
        revoke_certificate(current_user, certificate, form.reason.data)
    except CertificateError as error:
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("Certificate %(number)s is revoked.", number=certificate.number), "success")
    return redirect(url_for("certificates.show", code=certificate.code))


@bp.route("/certificates/<code>/reissue", methods=["POST"])
@login_required
def reissue(code: str):
    certificate = readable_certificate(code, current_user)
    form = ReasonForm(prefix="reissue")
    if not form.validate_on_submit():
        flash(_("Give a reason."), "error")
        return redirect(url_for("certificates.show", code=certificate.code))
    try:
        new = reissue_certificate(current_user, certificate, form.reason.data)
    except CertificateError as error:
        flash(error.message, "error")
        return redirect(url_for("certificates.show", code=certificate.code))
    db.session.commit()
    flash(_("Certificate %(number)s replaces %(old)s.", number=new.number, old=certificate.number), "success")
    return redirect(url_for("certificates.show", code=new.code))


# --- organizations -------------------------------------------------------------------------------------------------

@bp.route("/organizations/<code>/certificates")
@login_required
def organization_page(code: str):
    org = visible_organization(code, current_user)
    require("certificates.view", org)
    status = request.args.get("status", "")
    page = organization_certificates(org, status if status in STATUSES else "",
                                     parse_page(request.args.get("page")) or 1)
    return render_template("certificates/organization.html", org=org, page=page, status=status,
                           statuses=STATUSES, requests=pending_requests(org),
                           may_issue=can(current_user, "certificates.issue", org),
                           action_form=ActionForm(), decline_form=ReasonForm(prefix="decline"))


@bp.route("/organizations/<code>/certificates/issue", methods=["GET", "POST"])
@login_required
def issue(code: str):
    """Choose a period, see every volunteer with approved service in it, tick some (or all), issue."""
    org = visible_organization(code, current_user)
    require("certificates.issue", org)
    form = IssueForm() if request.method == "POST" else IssueForm(formdata=None)
    chooser = PeriodForm(request.args)
    start = end = None
    if request.method == "POST":
        start, end = form.period_start.data, form.period_end.data
    elif request.args and chooser.validate():
        start, end = chooser.period_start.data, chooser.period_end.data
    else:
        chooser = PeriodForm(formdata=None, period_start=today().replace(month=1, day=1), period_end=today())
    candidates, status = [], 200
    if start and end:
        try:
            start, end = check_period(start, end)
        except CertificateError as error:
            chooser.period_start.errors = [error.message]
            start = end = None
        else:
            candidates = certifiable_volunteers(org, start, end)
    if request.method == "POST" and start and form.validate_on_submit():
        wanted = set(form.volunteers.data or ())
        chosen = [volunteer for volunteer, _minutes in candidates if volunteer.id in wanted]
        if not chosen:
            form.volunteers.errors = [_("Tick at least one volunteer.")]
            status = 422
        else:
            result = issue_batch(current_user, org, chosen, start, end, render=False)
            db.session.commit()
            flash(ngettext("%(num)s certificate issued.", "%(num)s certificates issued.", len(result.issued)),
                  "success")
            for code, count in Counter(code for _volunteer, code in result.skipped).items():
                flash(ngettext("%(num)s volunteer skipped: %(reason)s", "%(num)s volunteers skipped: %(reason)s",
                               count, reason=CertificateError(code).message), "info")
            return redirect(url_for("certificates.organization_page", code=org.code))
    elif request.method == "POST":
        status = 422
    if start and end:
        form.period_start.data, form.period_end.data = start, end
        chooser.period_start.data, chooser.period_end.data = start, end
    return render_template("certificates/issue.html", org=org, chooser=chooser, form=form, candidates=candidates,
                           start=start, end=end), status


@bp.route("/organizations/<code>/certificates/requests/<int:request_id>/issue", methods=["POST"])
@login_required
def issue_request(code: str, request_id: int):
    org = visible_organization(code, current_user)
    require("certificates.issue", org)
    row = request_of(org, request_id)
    if not ActionForm().validate_on_submit():
        return redirect(url_for("certificates.organization_page", code=org.code))
    try:
        certificate = issue_requested(current_user, row)
    except CertificateError as error:
        flash(error.message, "error")
        return redirect(url_for("certificates.organization_page", code=org.code))
    db.session.commit()
    flash(_("Certificate %(number)s issued.", number=certificate.number), "success")
    return redirect(url_for("certificates.organization_page", code=org.code))


@bp.route("/organizations/<code>/certificates/requests/<int:request_id>/decline", methods=["POST"])
@login_required
def decline(code: str, request_id: int):
    org = visible_organization(code, current_user)
    require("certificates.issue", org)
    row = request_of(org, request_id)
    form = ReasonForm(prefix="decline")
    if not form.validate_on_submit():
        flash(_("Give a reason."), "error")
        return redirect(url_for("certificates.organization_page", code=org.code))
    try:
        decline_request(current_user, row, form.reason.data)
    except CertificateError as error:
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("The request is declined; the volunteer sees your reason."), "success")
    return redirect(url_for("certificates.organization_page", code=org.code))
