"""The exchange's pages for a volunteer: move the record to another registry (a one-time code), bring it from one
(the code created there), the service transferred so far, and the signed record as a file."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..audit.services import record_event
from ..errors import apply_to_form
from ..extensions import db, limiter
from ..forms import ConfirmForm
from ..hours import hours_label
from ..links import public_base_url
from ..volunteers.access import volunteer_required
from . import bp
from .bundle import build_bundle, bundle_response
from .forms import TransferInForm
from .services import (
    ExchangeError,
    create_transfer_code,
    transfer_codes_of,
    transfer_in,
    transferred_services,
    trusted_peers,
)

#: transfers a volunteer may try in an hour (each one asks another registry for a bundle)
TRANSFERS_PER_HOUR = "20 per hour"


def _transfer_in_form(data=None) -> TransferInForm:
    form = TransferInForm(formdata=data) if data is not None else TransferInForm()
    form.url.choices = [("", _("Choose…"))] + [(peer.url, f"{peer.name} — {peer.url}") for peer in trusted_peers()]
    return form


def _page(volunteer, *, form: TransferInForm | None = None, new_code: str | None = None, status: int = 200):
    return render_template(
        "exchange/transfer.html", volunteer=volunteer, form=form or _transfer_in_form(), code_form=ConfirmForm(),
        new_code=new_code, codes=transfer_codes_of(volunteer), here=public_base_url(),
        transferred=transferred_services(volunteer)), status


@bp.route("/volunteer/record/transfer")
@volunteer_required
def transfer(volunteer):
    """The page: a code to move the record out, the form to bring it in, and what came in so far."""
    return _page(volunteer)


@bp.route("/volunteer/record/transfer-codes", methods=["POST"])
@volunteer_required
def new_transfer_code(volunteer):
    """A new one-time code, shown once on the page that answers (never stored in clear, never in a URL)."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _page(volunteer, status=400)
    code, _row = create_transfer_code(volunteer, current_user)
    db.session.commit()
    return _page(volunteer, new_code=code)


@bp.route("/volunteer/record/transfer-in", methods=["GET", "POST"])
@volunteer_required
@limiter.limit(lambda: TRANSFERS_PER_HOUR, methods=["POST"])
def transfer_in_page(volunteer):
    """Bring the record from a trusted registry with the code created there; the result is shown after a
    redirect, a refusal at its field with its reason."""
    if request.method == "GET":
        return _page(volunteer)
    form = _transfer_in_form(request.form)
    if not form.validate_on_submit():
        return _page(volunteer, form=form, status=422)
    try:
        result = transfer_in(volunteer, form.url.data, form.code.data, actor=current_user)
    except ExchangeError as error:
        db.session.rollback()
        # kept, whatever was refused: a forged or inconsistent bundle offered here is evidence
        record_event("exchange.transfer_refused", actor=current_user, target=volunteer,
                     volunteer=volunteer.volunteer_number, code=error.code, url=(form.url.data or "")[:200])
        db.session.commit()
        if not apply_to_form(error, form):
            form.form_errors.append(error.message)
        return _page(volunteer, form=form, status=422)
    db.session.commit()
    if result.repeated or not (result.added or result.updated):
        flash(_("This record was transferred before: nothing new to add."), "info")
    else:
        flash(_("%(added)s service entries added and %(updated)s updated from %(origin)s; approved service now "
                "counted from there: %(hours)s.", added=result.added, updated=result.updated,
                origin=result.transfer.peer.name, hours=hours_label(result.counted_minutes)), "success")
    return redirect(url_for("exchange.transfer"))


@bp.route("/volunteer/record.json")
@volunteer_required
def record_file(volunteer):
    """The volunteer's whole record as a signed bundle, to keep or to give to another system."""
    bundle = build_bundle(volunteer)
    db.session.commit()
    return bundle_response(bundle, volunteer.volunteer_number)
