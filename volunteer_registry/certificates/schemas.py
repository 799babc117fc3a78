"""The shapes of the certificates' API: an issue request, a revocation and a certificate as it is answered,
declared once; the API's parsing and serializing and the OpenAPI document read them from here."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..schema import Choice, Date, DateTime, Integer, Number, Raw, Schema, Text

STATUSES = {"valid": _l("Valid"), "revoked": _l("Revoked"), "superseded": _l("Superseded")}

#: a revocation's reason is kept (and shown to whoever verifies the certificate) up to this length
REVOCATION_REASON_MAX = 500
#: what a volunteer's request says it is for (a school, an employer); the organization reads it
NOTE_MAX = 200

#: a volunteer's request for a certificate, as the form sends it
CERTIFICATE_ASK = Schema("CertificateAsk", {"note": Text(NOTE_MAX)})

#: POST /certificates
CERTIFICATE_REQUEST = Schema("CertificateRequest", {
    "volunteer_number": Text(plain=False, required=True),
    "organization": Text(plain=False, required=True, description="Its code."),
    "period_start": Date(required=True), "period_end": Date(required=True),
})

#: POST /certificates/{code}/revocation
REVOCATION = Schema("Revocation", {
    "reason": Text(REVOCATION_REASON_MAX, required=True, multiline=True,
                   description="Shown to whoever verifies it."),
})

#: a certificate as its volunteer and its organization's staff see it
CERTIFICATE_OUT = Schema("Certificate", {
    "code": Text(plain=False, required=True), "number": Text(plain=False, required=True),
    "status": Choice(STATUSES, required=True),
    "organization": Text(plain=False), "volunteer_number": Text(plain=False),
    "period_start": Date(), "period_end": Date(), "minutes": Integer(), "hours": Number(),
    "issued_on": Date(), "issued_at": DateTime(),
    "content": Raw({"type": "object", "description": "What the certificate says, as printed."}),
    "revocation": Raw({"type": ["object", "null"]}), "supersedes": Text(plain=False, nullable=True),
    "verify_url": Text(plain=False, required=True,
                       description="The URL its QR code holds (uppercase, base32 token)."),
    "pdf_url": Text(plain=False, required=True),
})
