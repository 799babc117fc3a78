"""The public verification pages. No account: the QR's link (/V/<token>, any case; JSON with
``Accept: application/json``) and the PDF upload (/verify). Every verification is logged and rate-limited."""
from __future__ import annotations

from flask import current_app, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField
from wtforms.validators import Length, Optional

from ..certificates.tokens import TokenError, token_from_text, token_url
from ..extensions import db, limiter
from ..links import public_base_url
from . import bp
from .pdfcheck import MAX_PDF_BYTES
from .services import Verdict, inclusion_of, log_verification, superseding, verdict_json, verify_pdf, verify_token

#: what each refusal means to the person holding the paper
REFUSALS = {
    "malformed_token": _l("This link does not contain a certificate code. Check that the whole QR code was read."),
    "unsupported_algorithm": _l("This code was not signed the way our certificates are."),
    "unknown_key": _l("This code was not signed by any key this registry has published."),
    "bad_signature": _l("The code has been altered: its signature does not match."),
    "bad_payload": _l("The code is signed but its content is not a certificate."),
    "unknown_certificate": _l("No certificate with this code was issued here."),
    "mismatch": _l("The code does not match our record of this certificate."),
    "not_pdf": _l("This file is not a PDF."),
    "too_large": _l("This file is too large to be one of our certificates."),
    "unsigned": _l("This PDF carries no digital signature."),
    "not_whole_file": _l("This PDF was changed after it was signed."),
    "signature_invalid": _l("The PDF's signature does not match its content."),
    "untrusted_signer": _l("The PDF was not signed by this registry."),
    "no_token": _l("This PDF does not carry a certificate code."),
}


def _verify_limit() -> str:
    return current_app.config["VERIFY_RATE_LIMIT"]


def _upload_limit() -> str:
    return current_app.config["VERIFY_UPLOAD_RATE_LIMIT"]


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def _status(verdict: Verdict) -> int:
    if verdict.authentic:
        return 200
    return 404 if verdict.outcome == "unknown_certificate" else 400


def _result_page(verdict: Verdict, template: str, **context):
    certificate = verdict.certificate
    newer = superseding(certificate) if certificate is not None and certificate.status == "superseded" else None
    return render_template(template, verdict=verdict, certificate=certificate, newer=newer,
                           newer_url=token_url(public_base_url(), newer.token) if newer else None,
                           inclusion=inclusion_of(certificate) if certificate is not None else None,
                           refusal=REFUSALS.get(verdict.outcome), **context)


def _by_link(token_text: str):
    try:
        verdict = verify_token(token_from_text(token_text))
    except TokenError as error:
        verdict = Verdict(error.code, detail=error.detail)
    as_json = _wants_json()
    # the answer is made before the commit, which would expire what it reads
    if as_json:
        response = jsonify(verdict_json(verdict, public_base_url()))
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Vary"] = "Accept"
    else:
        response = _result_page(verdict, "verification/result.html")
    log_verification(verdict, "json" if as_json else "link", request.remote_addr)
    db.session.commit()
    return response, _status(verdict)


@bp.route("/V/", defaults={"token": ""})  # a link whose token was lost: refused with a code like any other
@bp.route("/V/<token_text:token>")
@limiter.limit(_verify_limit)
def by_link(token: str):
    """The URL printed as the certificate's QR code."""
    return _by_link(token)


@bp.route("/v/", defaults={"token": ""})
@bp.route("/v/<token_text:token>")
@limiter.limit(_verify_limit)
def by_link_lower(token: str):
    """The same, for a URL someone typed or a reader lowercased."""
    return _by_link(token)


class UploadForm(FlaskForm):
    pdf = FileField(_l("Certificate PDF"))
    link = StringField(_l("Or paste the link under the QR code"), validators=[Optional(), Length(max=4000)])


@bp.route("/verify", methods=["GET", "POST"])
@limiter.limit(_upload_limit, methods=["POST"])
def verify():
    """Upload a certificate's PDF (or paste its link) to check it."""
    form = UploadForm()
    if not form.validate_on_submit():
        return render_template("verification/upload.html", form=form), 422 if request.method == "POST" else 200
    upload = form.pdf.data
    if upload and getattr(upload, "filename", ""):
        with upload.stream:  # a large upload is spooled to a temporary file: close it
            data = upload.read(MAX_PDF_BYTES + 1)
        verdict = verify_pdf(data)
        method = "pdf"
    elif form.link.data:
        try:
            verdict = verify_token(token_from_text(form.link.data))
        except TokenError as error:
            verdict = Verdict(error.code, detail=error.detail)
        method = "link"
    else:
        form.pdf.errors = [_l("Choose the certificate's PDF, or paste its link.")]
        return render_template("verification/upload.html", form=form), 422
    page = _result_page(verdict, "verification/result.html", uploaded=method == "pdf")
    log_verification(verdict, method, request.remote_addr)
    db.session.commit()
    return page, _status(verdict)
