"""The certificates' JSON API: issue, read, download, revoke. Public verification is not here: it is the QR's own
URL (/V/<token> with ``Accept: application/json``), which needs no token."""
from __future__ import annotations

import datetime as dt

from flask import g, jsonify

from ..access import load_certificate, load_organization, loads_certificate
from ..certificates.models import Certificate
from ..certificates.schemas import CERTIFICATE_OUT, CERTIFICATE_REQUEST, REVOCATION
from ..certificates.services import (
    CertificateError,
    issue_certificate,
    revoke_certificate,
    verification_url,
)
from ..certificates.views import pdf_download
from ..codes import normalize_volunteer_number
from ..extensions import db
from ..hours import as_hours
from ..schema import dump
from ..volunteers.queries import volunteer_by_number
from . import bp
from .auth import token_required
from .openapi import CERTIFICATE_CODE, INVALID, NO_CERTIFICATE, UNAUTHORIZED, Answer, documented, error, ok
from .views import ApiError, _body


def certificate_json(certificate: Certificate) -> dict:
    """The certificate as its volunteer and its organization's staff see it (the full content)."""
    return dump(
        CERTIFICATE_OUT, certificate, organization=certificate.organization.code,
        volunteer_number=certificate.volunteer.volunteer_number, hours=as_hours(certificate.minutes),
        revocation={"reason": certificate.revocation_reason, "revoked_at": certificate.revoked_at.isoformat()}
        if certificate.status == "revoked" else None,
        supersedes=certificate.supersedes.code if certificate.supersedes_id else None,
        verify_url=verification_url(certificate), pdf_url=f"/api/v1/certificates/{certificate.code}/pdf")


def _date(body: dict, key: str) -> dt.date:
    value = body.get(key)
    if not isinstance(value, str):
        raise ApiError("invalid_parameter", f"{key} must be a date, YYYY-MM-DD", field=key)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ApiError("invalid_parameter", f"{key} must be a date, YYYY-MM-DD", field=key) from None


@bp.route("/certificates", methods=["POST"])
@documented("Issue a certificate of the approved service the organization recorded for the volunteer in the period "
            "(org admins); the PDF is rendered and signed at once", request=CERTIFICATE_REQUEST,
            responses={201: ok(CERTIFICATE_OUT, "Issued"), 400: INVALID, 401: UNAUTHORIZED,
                       403: error("Not an org admin of the organization (forbidden), or the volunteer is the "
                                  "caller (conflict_of_interest: nobody certifies their own service)."),
                       404: error("No such organization or volunteer (not_found, volunteer_unknown)."),
                       422: error("Nothing to certify in the period (no_approved_service), a valid certificate "
                                  "of exactly this period exists (already_issued) or of a period that overlaps it "
                                  "(certificate_overlaps, naming it), the caller has no real name to print as the "
                                  "handler (handler_name_required), or a bad period (period_invalid).")})
@token_required
def issue_certificate_endpoint():
    """Issue a certificate (org admins, never of their own service):
    ``{"volunteer_number", "organization", "period_start", "period_end"}``. The rules, and their refusals, are
    issue_certificate's."""
    body = _body()
    org_code = body.get("organization")
    if not isinstance(org_code, str) or not org_code:
        raise ApiError("invalid_parameter", "organization must be an organization code", field="organization")
    org = load_organization(org_code, "certificates.issue")
    raw_number = body.get("volunteer_number")
    number = normalize_volunteer_number(raw_number) if isinstance(raw_number, str) else None
    if number is None:
        raise ApiError("invalid_parameter", "volunteer_number is not a volunteer number", field="volunteer_number")
    volunteer = volunteer_by_number(number)
    if volunteer is None:
        raise CertificateError("volunteer_unknown", field="volunteer_number")
    start, end = _date(body, "period_start"), _date(body, "period_end")
    certificate = issue_certificate(g.api_user, org, volunteer, start, end)
    db.session.commit()
    return jsonify(certificate_json(certificate)), 201


@bp.route("/certificates/<code>", methods=["GET"])
@documented("A certificate, in full (its volunteer, and its organization's staff)", path=CERTIFICATE_CODE,
            responses={200: ok(CERTIFICATE_OUT), 401: UNAUTHORIZED, 404: NO_CERTIFICATE})
@token_required
@loads_certificate()
def get_certificate(certificate):
    return jsonify(certificate_json(certificate))


@bp.route("/certificates/<code>/pdf", methods=["GET"])
@documented("The signed PDF (its volunteer, and its organization's staff)", path=CERTIFICATE_CODE,
            responses={200: Answer("The PDF", content={"application/pdf": {
                "schema": {"type": "string", "contentMediaType": "application/pdf"}}}),
                401: UNAUTHORIZED, 404: NO_CERTIFICATE})
@token_required
@loads_certificate()
def get_certificate_pdf(certificate):
    return pdf_download(certificate)


@bp.route("/certificates/<code>/revocation", methods=["POST"])
@documented("Revoke a valid certificate, with a reason (org admins)", path=CERTIFICATE_CODE, request=REVOCATION,
            responses={200: ok(CERTIFICATE_OUT), 400: INVALID, 401: UNAUTHORIZED,
                       403: error("Not an org admin of the issuing organization (forbidden), or the certificate "
                                  "is the caller's own (conflict_of_interest)."),
                       404: NO_CERTIFICATE,
                       422: error("Not valid any more (not_valid), or no reason (reason_required).")})
@token_required
def revoke_certificate_endpoint(code: str):
    """Revoke (org admins, never their own certificate): ``{"reason"}``."""
    body = _body()
    certificate = load_certificate(code)  # after the body is read: a malformed one is 400 for any certificate
    reason = body.get("reason")
    if not isinstance(reason, str):
        raise CertificateError("reason_required", field="reason")
    revoke_certificate(g.api_user, certificate, reason)
    db.session.commit()
    return jsonify(certificate_json(certificate))
