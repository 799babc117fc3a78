"""Certificate pages: volunteers request and download theirs; org admins issue (one, on request, or in bulk),
revoke and reissue; coordinators see what their organization issued; platform admins issue the requests that no
org admin of the organization may (each is the volunteer who asked)."""
from __future__ import annotations

import hashlib
from collections import Counter

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required

from ..access import loads_certificate, loads_organization
from ..accounts.permissions import can, platform_admin_required
from ..errors import NotFound, apply_to_form
from ..extensions import db
from ..integrity.services import IntegrityRefusal
from ..paging import requested_page
from ..text import isolate
from ..volunteers.access import volunteer_required
from ..volunteers.identity import ID_TYPES
from . import bp
from .forms import ActionForm, IssueForm, PeriodForm, ReasonForm, RequestForm
from .models import STATUSES, CertificateRequest
from .queries import (
    certificates_of_volunteer,
    organization_certificates,
    organizations_with_service,
    pending_requests,
    request_of,
    requests_for_civil_affairs,
    requests_of_volunteer,
)
from .services import (
    CertificateError,
    awaiting_civil_affairs,
    certifiable_volunteers,
    certificate_pdf,
    check_batch,
    check_period,
    decline_request,
    handler_name,
    issue_batch,
    issue_requested,
    overlap_refusal,
    own_service_refusal,
    reissue_certificate,
    request_certificate,
    revoke_certificate,
    today,
    valid_certificates_overlapping,
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
                flash(_("Your request has been sent to %(org)s.", org=isolate(org.name)), "success")
                return redirect(url_for("certificates.mine"))
    return _mine_page(volunteer, form, 422)


# --- one certificate -----------------------------------------------------------------------------------------------

@bp.route("/certificates/<code>")
@login_required
@loads_certificate()
def show(certificate):
    manage = can(current_user, "certificates.issue", certificate.organization)
    own = manage and own_service_refusal(current_user, certificate.volunteer) is not None
    id_type = ID_TYPES.get(certificate.content["id_type"], certificate.content["id_type"])
    return render_template("certificates/show.html", certificate=certificate, c=certificate.content, id_type=id_type,
                           verify_url=verification_url(certificate), manage=manage and not own, own=own,
                           revoke_form=ReasonForm(), reissue_form=ReasonForm(prefix="reissue"))


@bp.route("/certificates/<code>/pdf")
@login_required
@loads_certificate()
def pdf(certificate):
    return pdf_download(certificate)


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
@loads_certificate()
def revoke(certificate):
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("Give a reason."), "error")
        return redirect(url_for("certificates.show", code=certificate.code))
    try:
        revoke_certificate(current_user, certificate, form.reason.data)
    except (CertificateError, IntegrityRefusal) as error:
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("Certificate %(number)s is revoked.", number=certificate.number), "success")
    return redirect(url_for("certificates.show", code=certificate.code))


@bp.route("/certificates/<code>/reissue", methods=["POST"])
@login_required
@loads_certificate()
def reissue(certificate):
    form = ReasonForm(prefix="reissue")
    if not form.validate_on_submit():
        flash(_("Give a reason."), "error")
        return redirect(url_for("certificates.show", code=certificate.code))
    try:
        new = reissue_certificate(current_user, certificate, form.reason.data)
    except (CertificateError, IntegrityRefusal) as error:
        flash(error.message, "error")
        return redirect(url_for("certificates.show", code=certificate.code))
    db.session.commit()
    flash(_("Certificate %(number)s replaces %(old)s.", number=new.number, old=certificate.number), "success")
    return redirect(url_for("certificates.show", code=new.code))


# --- organizations -------------------------------------------------------------------------------------------------

@bp.route("/organizations/<code>/certificates")
@login_required
@loads_organization("certificates.view")
def organization_page(org):
    status = request.args.get("status", "")
    page = organization_certificates(org, status if status in STATUSES else "",
                                     requested_page())
    requests = pending_requests(org)
    may_issue = can(current_user, "certificates.issue", org)
    # the signed-in org admin's own requests: someone else issues them (another org admin, else civil affairs)
    own = {r.id: ("civil_affairs" if awaiting_civil_affairs(r) else "other_admin") for r in requests
           if may_issue and own_service_refusal(current_user, r.volunteer) is not None}
    return render_template("certificates/organization.html", org=org, page=page, status=status,
                           statuses=STATUSES, requests=requests, own=own, may_issue=may_issue,
                           action_form=ActionForm(), decline_form=ReasonForm(prefix="decline"))


def _shown_digest(start, end, chosen) -> str:
    """What the confirmation page showed, in short: the period and each ticked volunteer with their minutes."""
    text = f"{start}/{end}/" + ",".join(f"{volunteer.id}:{minutes}" for volunteer, minutes in chosen)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@bp.route("/organizations/<code>/certificates/issue", methods=["GET", "POST"])
@login_required
@loads_organization("certificates.issue")
def issue(org):
    """Choose a period and see every volunteer with approved service in it (nobody ticked); tick some; check who,
    which period and how many hours each on the confirmation page; confirm, and only then are they issued."""
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
    try:
        handler = handler_name(current_user)
    except CertificateError as error:
        handler, handler_error = None, error.message
    else:
        handler_error = None
    ticked = set()
    if request.method == "POST" and start and form.validate_on_submit():
        ticked = set(form.volunteers.data or ())
        chosen = [(volunteer, minutes) for volunteer, minutes in candidates if volunteer.id in ticked]
        if not chosen:
            form.volunteers.errors = [_("Tick at least one volunteer.")]
            status = 422
        elif form.confirm.data != "change":
            try:
                check_batch(current_user, org, [volunteer for volunteer, _minutes in chosen])
            except CertificateError as error:  # no name to print as the handler
                handler_error, status = error.message, 422
            else:
                shown = _shown_digest(start, end, chosen)
                if form.confirm.data == "yes" and (form.shown.data or "") in ("", shown):
                    return _issue_confirmed(org, [volunteer for volunteer, _minutes in chosen], start, end)
                return _confirmation_page(org, form, chosen, start, end, handler, shown,
                                          changed=form.confirm.data == "yes")
    elif request.method == "POST":
        status = 422
    if start and end:
        form.period_start.data, form.period_end.data = start, end
        chooser.period_start.data, chooser.period_end.data = start, end
    rows = [(volunteer, minutes, own_service_refusal(current_user, volunteer) is not None, volunteer.id in ticked)
            for volunteer, minutes in candidates]
    return render_template("certificates/issue.html", org=org, chooser=chooser, form=form, rows=rows,
                           start=start, end=end, handler_error=handler_error), status


def _confirmation_page(org, form: IssueForm, chosen, start, end, handler: str, shown: str, *, changed: bool):
    """Who, which period, how many hours each, and who would be skipped (a valid certificate overlaps the
    period): nothing is issued until its button is pressed."""
    held: dict[int, list] = {}
    for certificate in valid_certificates_overlapping(org.id, start, end):
        held.setdefault(certificate.volunteer_id, []).append(certificate)
    rows = []
    for volunteer, minutes in chosen:
        refusal = overlap_refusal(held.get(volunteer.id, []), start, end)
        rows.append((volunteer, minutes, refusal.message if refusal else None))
    form.shown.data = shown
    issuing = [row for row in rows if row[2] is None]
    return render_template("certificates/issue_confirm.html", org=org, form=form, rows=rows, start=start, end=end,
                           handler=handler, changed=changed, issuing=len(issuing),
                           minutes=sum(minutes for _volunteer, minutes, _refusal in issuing))


#: why volunteers of a batch were skipped, where the error's own message names one certificate
SKIP_REASONS = {"certificate_overlaps": _l("they already hold a valid certificate from this organization for a "
                                           "period that overlaps this one.")}


def _issue_confirmed(org, volunteers, start, end):
    result = issue_batch(current_user, org, volunteers, start, end, render=False)
    db.session.commit()
    flash(ngettext("%(num)s certificate issued.", "%(num)s certificates issued.", len(result.issued)), "success")
    for code, count in Counter(code for _volunteer, code in result.skipped).items():
        reason = SKIP_REASONS[code] if code in SKIP_REASONS else CertificateError(code).message
        flash(ngettext("%(num)s volunteer skipped: %(reason)s", "%(num)s volunteers skipped: %(reason)s",
                       count, reason=reason), "info")
    return redirect(url_for("certificates.organization_page", code=org.code))


@bp.route("/organizations/<code>/certificates/requests/<int:request_id>/issue", methods=["POST"])
@login_required
@loads_organization("certificates.issue")
def issue_request(org, request_id: int):
    row = request_of(org, request_id)
    if not ActionForm().validate_on_submit():
        return redirect(url_for("certificates.organization_page", code=org.code))
    try:
        certificate = issue_requested(current_user, row)
    except (CertificateError, IntegrityRefusal) as error:
        flash(error.message, "error")
        return redirect(url_for("certificates.organization_page", code=org.code))
    db.session.commit()
    flash(_("Certificate %(number)s issued.", number=certificate.number), "success")
    return redirect(url_for("certificates.organization_page", code=org.code))


@bp.route("/organizations/<code>/certificates/requests/<int:request_id>/decline", methods=["POST"])
@login_required
@loads_organization("certificates.issue")
def decline(org, request_id: int):
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


# --- civil affairs -------------------------------------------------------------------------------------------------

@bp.route("/admin/certificate-requests")
@platform_admin_required
def civil_affairs_requests():
    """The requests that no org admin of the organization may issue (each is the volunteer who asked, or it has
    none): platform admins issue them on the organization's behalf."""
    return render_template("certificates/civil_affairs.html", requests=requests_for_civil_affairs(),
                           action_form=ActionForm())


@bp.route("/admin/certificate-requests/<int:request_id>/issue", methods=["POST"])
@platform_admin_required
def civil_affairs_issue(request_id: int):
    row = db.session.get(CertificateRequest, request_id)
    if row is None:
        raise NotFound("not_found")
    if not ActionForm().validate_on_submit():
        return redirect(url_for("certificates.civil_affairs_requests"))
    try:
        certificate = issue_requested(current_user, row)
    except (CertificateError, IntegrityRefusal) as error:
        flash(error.message, "error")
        return redirect(url_for("certificates.civil_affairs_requests"))
    db.session.commit()
    flash(_("Certificate %(number)s issued on behalf of %(org)s.", number=certificate.number,
            org=row.organization.name), "success")
    return redirect(url_for("certificates.civil_affairs_requests"))
