"""Supervision's pages. Civil affairs (supervision.manage, under /admin/supervision): the risk queue and each
signal's entries, an organization's supervision page where a spot check starts, the check with its sample and
outcome, the complaints. Anyone, no account: an organization's published spot checks, the complaint forms (about a
certificate, from its verification page; about an organization, from its public page) and a complaint's follow
page."""
from __future__ import annotations

from functools import wraps

from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..access import loads_organization
from ..accounts.permissions import can, require
from ..certificates.queries import certificate_by_code
from ..certificates.services import verification_url
from ..checkin.models import FLAGS
from ..errors import DomainError, apply_to_form
from ..extensions import db, limiter
from ..forms import ConfirmForm
from ..links import public_url
from ..paging import requested_page
from . import bp
from .forms import ComplaintFilterForm, ComplaintForm, OutcomeForm, QueueFilterForm, ResponseForm, StartCheckForm
from .models import COMPLAINT_STATUSES
from .queries import (
    complaint_by_code,
    complaint_by_id,
    complaint_counts,
    complaints,
    figures_of,
    longest_days,
    risk_queue,
    sample_of,
    signal_by_id,
    signal_entries,
    signal_refusals,
    spot_check_by_code,
    spot_checks,
)
from .scanner import scan_signals, scan_status
from .services import SupervisionError, file_complaint, record_outcome, respond_to_complaint, start_spot_check

#: how long the queue's "scan now" button may read the log before it answers (the command line reads it all)
SCAN_SECONDS = 10
#: complaints filed per client address, and follow pages opened (configurable: COMPLAINT_RATE_LIMIT, …)
COMPLAINT_RATE_LIMIT = "5 per hour"
FOLLOW_RATE_LIMIT = "60 per minute"


def _complaint_limit() -> str:
    return current_app.config.get("COMPLAINT_RATE_LIMIT") or COMPLAINT_RATE_LIMIT


def _follow_limit() -> str:
    return current_app.config.get("COMPLAINT_FOLLOW_RATE_LIMIT") or FOLLOW_RATE_LIMIT


def supervision_required(view):
    """Civil affairs only: anonymous people are sent to sign in, everyone else is refused (403)."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        require("supervision.manage")
        return view(*args, **kwargs)

    return wrapped


def _refuse(error: DomainError, form) -> None:
    """Show a refusal next to the field it names, or above the form."""
    db.session.rollback()
    if not apply_to_form(error, form):
        form.form_errors.append(error.message)


# --- the risk queue -------------------------------------------------------------------------------------------------

@bp.route("/admin/supervision")
@supervision_required
def queue():
    filters = QueueFilterForm(request.args)
    kind = filters.kind.data if filters.validate() else ""
    page = risk_queue(kind=kind or "", page=requested_page(strict=True))
    return render_template("supervision/queue.html", filters=filters, page=page, status=scan_status(),
                           scan_form=ConfirmForm(), complaint_counts=complaint_counts(), flag_labels=FLAGS)


@bp.route("/admin/supervision/scan", methods=["POST"])
@supervision_required
def scan():
    # committed batch by batch, as the command does: one long transaction would hold SQLite's write lock
    report = scan_signals(seconds=SCAN_SECONDS, commit=db.session.commit)
    if report.complete:
        flash(_("The risk signals are up to date (%(entries)s ledger entries read).", entries=report.entries),
              "success")
    else:
        flash(_("%(entries)s ledger entries read; more remain: scan again, or run `flask supervision scan`.",
                entries=report.entries), "info")
    return redirect(url_for("supervision.queue"))


@bp.route("/admin/supervision/signals/<int:signal_id>")
@supervision_required
def signal(signal_id: int):
    found = signal_by_id(signal_id)
    rows, total = signal_entries(found)
    events, users = signal_refusals(found)
    org = found.organization
    outlier = found.kind == "outlier" and org is not None
    entries_url = None
    if org is not None and can(current_user, "ledger.decide", org):
        day = found.occurred_on.isoformat() if found.occurred_on and found.kind != "outlier" else None
        entries_url = url_for("ledger.organization_entries_page", code=org.code, status="all", date_from=day,
                              date_to=day)
    return render_template("supervision/signal.html", signal=found, rows=rows, total=total, events=events,
                           users=users, days=longest_days(org.id) if outlier else [],
                           figures=figures_of(org.id) if outlier else None, entries_url=entries_url)


# --- spot checks ----------------------------------------------------------------------------------------------------

def _organization_page(org, form: StartCheckForm, status: int = 200):
    return render_template(
        "supervision/organization.html", org=org, form=form, figures=figures_of(org.id),
        signals=risk_queue(organization_id=org.id, per_page=20), checks=spot_checks(organization_id=org.id),
        complaints=complaints(organization_id=org.id, per_page=10)), status


@bp.route("/admin/supervision/organizations/<code>")
@supervision_required
@loads_organization("supervision.manage")
def organization(org):
    return _organization_page(org, StartCheckForm(formdata=None))


@bp.route("/admin/supervision/organizations/<code>/spot-checks", methods=["POST"])
@supervision_required
@loads_organization("supervision.manage")
def start(org):
    form = StartCheckForm()
    if form.validate_on_submit():
        try:
            check = start_spot_check(current_user, org, certificates=form.certificates.data,
                                     entries=form.entries.data)
        except SupervisionError as error:
            _refuse(error, form)
            return _organization_page(org, form, error.http_status)
        db.session.commit()
        flash(_("Spot check started: %(certificates)s certificates and %(entries)s entries drawn.",
                certificates=check.certificates_drawn, entries=check.entries_drawn), "success")
        return redirect(url_for("supervision.check", code=check.code))
    return _organization_page(org, form, 422)


@bp.route("/admin/supervision/spot-checks")
@supervision_required
def checks():
    return render_template("supervision/checks.html", page=spot_checks(page=requested_page(strict=True)))


def _check_page(check, form: OutcomeForm, status: int = 200):
    sample = sample_of(check)
    return render_template("supervision/check.html", check=check, sample=sample, form=form,
                           verify_urls={c.id: verification_url(c) for c in sample.certificates}), status


@bp.route("/admin/supervision/spot-checks/<code>")
@supervision_required
def check(code: str):
    return _check_page(spot_check_by_code(code), OutcomeForm(formdata=None))


@bp.route("/admin/supervision/spot-checks/<code>/outcome", methods=["POST"])
@supervision_required
def outcome(code: str):
    found = spot_check_by_code(code)
    form = OutcomeForm()
    if not form.validate_on_submit():
        return _check_page(found, form, 422)
    try:
        record_outcome(current_user, found, form.outcome.data, description=form.description.data or "",
                       reason=form.reason.data or "", annul=form.annul.data or (), revoke=form.revoke.data or ())
    except DomainError as error:  # ours, or the ledger's and the certificates' refusals of an action
        _refuse(error, form)
        return _check_page(spot_check_by_code(code), form, error.http_status)
    db.session.commit()
    flash(_("The outcome is recorded and published."), "success")
    return redirect(url_for("supervision.check", code=found.code))


@bp.route("/organizations/<code>/spot-checks")
@loads_organization()
def public_checks(org):
    page = spot_checks(organization_id=org.id, decided_only=True, page=requested_page(strict=True))
    return render_template("supervision/public_checks.html", org=org, page=page)


# --- complaints -----------------------------------------------------------------------------------------------------

def _complaint_page(*, organization, certificate=None):
    form = ComplaintForm()
    if form.validate_on_submit():
        try:
            complaint = file_complaint(organization=organization, certificate=certificate,
                                       message=form.message.data or "", contact=form.contact.data or "")
        except SupervisionError as error:
            _refuse(error, form)
        else:
            db.session.commit()
            flash(_("Your complaint is filed. Keep the link of this page: it is the only way back to it."),
                  "success")
            return redirect(url_for("supervision.follow", code=complaint.code))
    status = 422 if request.method == "POST" else 200
    return render_template("supervision/complain.html", form=form, organization=organization,
                           certificate=certificate), status


@bp.route("/complaints/certificate/<code>", methods=["GET", "POST"])
@limiter.limit(_complaint_limit, methods=["POST"])
def complain_certificate(code: str):
    certificate = certificate_by_code(code)
    return _complaint_page(organization=certificate.organization, certificate=certificate)


@bp.route("/complaints/organization/<code>", methods=["GET", "POST"])
@limiter.limit(_complaint_limit, methods=["POST"])
@loads_organization()
def complain_organization(org):
    return _complaint_page(organization=org)


@bp.route("/complaints/<code>")
@limiter.limit(_follow_limit)
def follow(code: str):
    complaint = complaint_by_code(code)
    response = make_response(render_template("supervision/follow.html", complaint=complaint,
                                              follow_url=public_url("supervision.follow", code=complaint.code)))
    # the link is the complaint's only key: keep it out of caches, referrers and search engines
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.route("/admin/supervision/complaints")
@supervision_required
def complaint_list():
    filters = ComplaintFilterForm(request.args)
    status = filters.status.data if filters.validate() else ""
    return render_template("supervision/complaints.html", filters=filters, counts=complaint_counts(),
                           page=complaints(status=status or "", page=requested_page(strict=True)),
                           statuses=COMPLAINT_STATUSES)


@bp.route("/admin/supervision/complaints/<int:complaint_id>", methods=["GET", "POST"])
@supervision_required
def complaint(complaint_id: int):
    found = complaint_by_id(complaint_id)
    form = ResponseForm(formdata=request.form if request.method == "POST" else None,
                        status=found.status)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                respond_to_complaint(current_user, found, form.status.data, form.response.data or "")
            except SupervisionError as error:
                _refuse(error, form)
                found = complaint_by_id(complaint_id)
                status = error.http_status
            else:
                db.session.commit()
                flash(_("The complaint is updated."), "success")
                return redirect(url_for("supervision.complaint", complaint_id=found.id))
        else:
            status = 422
    return render_template("supervision/complaint.html", complaint=found, form=form), status
