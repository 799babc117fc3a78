"""Verifying a certificate from its token (the QR's link) or from its PDF, and logging each verification.

A verdict's ``outcome`` is the certificate's status (valid, revoked, superseded) when the token is authentic and
matches our record, else a refusal code: malformed_token, unsupported_algorithm, unknown_key, bad_signature,
bad_payload, unknown_certificate, mismatch, and for PDFs not_pdf, too_large, unsigned, not_whole_file,
signature_invalid, untrusted_signer, no_token (OUTCOMES). Any bytes as a token and any file as a PDF get one.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import insert

from ..certificates.models import STATUSES as CERTIFICATE_STATUSES
from ..certificates.models import Certificate
from ..certificates.tokens import CertificateClaims, TokenError, open_token, token_url
from ..extensions import db
from ..hours import as_hours
from ..keys.services import ensure_keys, keys_for, public_key_of, root_certificates_pem
from ..ledger.models import LedgerCheckpoint, LedgerLeaf
from ..models import utcnow
from ..organizations.models import Organization
from .models import Verification
from .pdfcheck import PdfCheckError, SignedPdf, check_signed_pdf, load_roots

#: a certificate is authentic whatever its status; the verdict says which
AUTHENTIC = tuple(CERTIFICATE_STATUSES)
#: every outcome a verdict can have: the certificate's status, or a refusal code
OUTCOMES = AUTHENTIC + TokenError.CODES + ("unknown_certificate", "mismatch") + PdfCheckError.CODES


@dataclass
class Verdict:
    outcome: str
    certificate: Certificate | None = None
    claims: CertificateClaims | None = None
    pdf: SignedPdf | None = None
    detail: str = ""
    issuer: Organization | None = None

    @property
    def authentic(self) -> bool:
        return self.outcome in AUTHENTIC


def certificate_public_keys() -> dict[bytes, object]:
    """Every certificate-token key, current and retired: kid bytes → public key."""
    ensure_keys()
    return {base64.urlsafe_b64decode(row.kid + "=" * (-len(row.kid) % 4)): public_key_of(row)
            for row in keys_for("certificate")}


def _matches(certificate: Certificate, issuer: str, claims: CertificateClaims) -> bool:
    return (claims.number, claims.issuer, claims.masked_name, claims.minutes, claims.period_start,
            claims.period_end, claims.issued_on) == (
        certificate.number, issuer, certificate.masked_name, certificate.minutes, certificate.period_start,
        certificate.period_end, certificate.issued_on)


def published_keys(*, refresh: bool = False) -> dict[bytes, object]:
    """The certificate-token keys, kept for the life of the process (per app). A key's row is never changed or
    deleted (a rotation adds a key) and its kid is a hash of the key itself, so a kept key cannot go stale; a kid
    that is not kept makes the caller ask again with ``refresh`` (another process may have rotated the keys)."""
    keys = current_app.extensions.get("certificate_public_keys")
    if refresh or keys is None:
        keys = current_app.extensions["certificate_public_keys"] = certificate_public_keys()
    return keys


def verify_token(token: bytes) -> Verdict:
    """Check the token's signature against our published keys and match it to our record."""
    try:
        try:
            _kid, claims = open_token(token, published_keys())
        except TokenError as error:
            if error.code != "unknown_key":
                raise
            _kid, claims = open_token(token, published_keys(refresh=True))
    except TokenError as error:
        return Verdict(error.code, detail=error.detail)
    # the issuer is loaded with it: the answer names it (verdict_json finds it in the session)
    found = db.session.execute(db.select(Certificate, Organization).join(
        Organization, Organization.id == Certificate.organization_id).where(Certificate.code == claims.code)).first()
    if found is None:
        return Verdict("unknown_certificate", claims=claims)
    certificate, issuer = found
    if not _matches(certificate, issuer.code, claims):
        return Verdict("mismatch", certificate=None, claims=claims)
    return Verdict(certificate.status, certificate=certificate, claims=claims, issuer=issuer)


def verify_pdf(data: bytes) -> Verdict:
    """Check the PDF's signature (intact, whole file, chained to our root), then its attached token."""
    roots = load_roots(root_certificates_pem())
    try:
        signed = check_signed_pdf(data, roots)
    except PdfCheckError as error:
        return Verdict(error.code, detail=error.detail)
    verdict = verify_token(signed.token)
    verdict.pdf = signed
    return verdict


@dataclass
class Inclusion:
    leaf_index: int
    tree_size: int
    root_hash: str
    signed_at: object


def inclusion_of(certificate: Certificate) -> Inclusion | None:
    """The first signed checkpoint whose tree includes the certificate's issuing entry (None until the next batch)."""
    leaf = db.select(LedgerLeaf.leaf_index).where(LedgerLeaf.entry_id == certificate.entry_id).scalar_subquery()
    found = db.session.execute(db.select(LedgerCheckpoint, leaf).where(LedgerCheckpoint.tree_size > leaf)
                               .order_by(LedgerCheckpoint.tree_size).limit(1)).first()
    if found is None:
        return None
    checkpoint, leaf = found
    return Inclusion(leaf_index=leaf, tree_size=checkpoint.tree_size, root_hash=checkpoint.root_hash.hex(),
                     signed_at=checkpoint.created_at)


def superseding(certificate: Certificate) -> Certificate | None:
    return db.session.scalar(db.select(Certificate).where(Certificate.supersedes_id == certificate.id))


def verdict_json(verdict: Verdict, base_url: str) -> dict:
    """What a verifier may learn, and nothing more: status, issuer, masked name, hours, period, issue date, the
    checkpoint (DESIGN.md)."""
    if not verdict.authentic:
        return {"status": "invalid", "error": verdict.outcome, "detail": verdict.detail}
    certificate = verdict.certificate
    org = verdict.issuer or db.session.get(Organization, certificate.organization_id)
    body = {
        "status": certificate.status, "number": certificate.number,
        "issuer": {"code": org.code, "name": org.name},
        "masked_name": certificate.masked_name, "minutes": certificate.minutes,
        "hours": as_hours(certificate.minutes),
        "period_start": certificate.period_start.isoformat(), "period_end": certificate.period_end.isoformat(),
        "issued_on": certificate.issued_on.isoformat(),
    }
    if certificate.status == "revoked":
        body["revocation"] = {"reason": certificate.revocation_reason,
                              "revoked_at": certificate.revoked_at.isoformat()}
    if certificate.status == "superseded":
        newer = superseding(certificate)
        if newer is not None:
            body["superseded_by"] = {"number": newer.number, "verify_url": token_url(base_url, newer.token)}
    inclusion = inclusion_of(certificate)
    body["checkpoint"] = None if inclusion is None else {
        "tree_size": inclusion.tree_size, "root_hash": inclusion.root_hash, "leaf_index": inclusion.leaf_index,
        "signed_at": inclusion.signed_at.isoformat()}
    if verdict.pdf is not None:
        body["pdf_signature"] = {"signer": verdict.pdf.signer, "covers_whole_file": True,
                                 "signed_at": verdict.pdf.signed_at.isoformat() if verdict.pdf.signed_at else None}
    return body


def _client_hash(address: str | None) -> str:
    key = hashlib.sha256(b"verification client " + current_app.config["SECRET_KEY"].encode()).digest()
    return hmac.new(key, (address or "").encode(), hashlib.sha256).hexdigest()[:16]


def log_verification(verdict: Verdict, method: str, address: str | None) -> None:
    """Record that a verification happened and what it found (not who asked: a keyed hash of the address). One
    INSERT, sent at once (nothing reads the row back); the caller commits."""
    db.session.execute(insert(Verification).values(
        method=method, outcome=verdict.outcome[:24], certificate_id=verdict.certificate.id if verdict.certificate else
        None, client=_client_hash(address), created_at=utcnow()))
