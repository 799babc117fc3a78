"""Creating, loading, rotating and publishing the instance's signing keys.

Keys are made on first use (``ensure_keys``), in the caller's transaction: when two processes race, the database's
one-current-key-per-purpose index decides and the loser reads the winner's row. The private half is written to
``<instance>/keys/<purpose>-<kid>.pem`` (mode 0600) before the row, so a row never names a key that was not saved.
The first checkpoint key is the one the ledger has always derived from ``LEDGER_SIGNING_KEY``, so checkpoints signed
before keys were registered still verify.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import NameOID
from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..errors import DomainError
from ..extensions import db
from ..models import utcnow
from .ids import cose_kid, verifier_key
from .ids import key_id as note_key_id
from .models import PURPOSES, SigningKey

#: how long the X.509 certificates are valid: a PDF signed today must still validate decades from now
ROOT_YEARS = 50
DOCUMENT_YEARS = 30


class KeyStoreError(DomainError):
    status = 500
    messages = {"private_key_missing": "The private key %(kid)s is not in this instance folder."}


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def spki_der(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def keys_dir() -> Path:
    return Path(current_app.instance_path) / "keys"


def _private_path(purpose: str, kid: str) -> Path:
    return keys_dir() / f"{purpose}-{kid}.pem"


def _save_private(purpose: str, kid: str, private_key) -> None:
    path = _private_path(purpose, kid)
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)


def _log_origin() -> str:
    return current_app.config["LEDGER_ORIGIN"]


def configured_checkpoint_key() -> Ed25519PrivateKey:
    """The checkpoint key the ledger derives from LEDGER_SIGNING_KEY (the first checkpoint key of every instance)."""
    seed = hashlib.sha256(b"volunteer-registry ledger " + current_app.config["LEDGER_SIGNING_KEY"].encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Volunteer Registry"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _years(start: dt.datetime, years: int) -> dt.datetime:
    """``years`` later (29 February becomes the 28th)."""
    return start.replace(year=start.year + years, day=min(start.day, 28) if start.month == 2 else start.day)


def _root_certificate(private_key: ec.EllipticCurvePrivateKey, now: dt.datetime) -> x509.Certificate:
    name = _name(f"Volunteer Registry root ({_log_origin().split('/')[0]})")
    public = private_key.public_key()
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(_years(now, ROOT_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(private_key, hashes.SHA256()))


def _document_certificate(private_key, root: SigningKey, now: dt.datetime) -> x509.Certificate:
    root_cert = x509.load_pem_x509_certificate(root.certificate_pem.encode())
    root_key = private_key_of(root)
    public = private_key.public_key()
    return (x509.CertificateBuilder().subject_name(_name("Volunteer Registry certificate signing"))
            .issuer_name(root_cert.subject).public_key(public).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(min(_years(now, DOCUMENT_YEARS), root_cert.not_valid_after_utc))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))


def _new_key(purpose: str, *, first: bool) -> SigningKey:
    """A fresh key pair for ``purpose`` (saved, not yet added to the session)."""
    now = utcnow()
    if purpose == "checkpoint":
        private = configured_checkpoint_key() if first else Ed25519PrivateKey.generate()
        kid = note_key_id(_log_origin(), _raw(private.public_key())).hex()
        if not first:
            _save_private(purpose, kid, private)
        return SigningKey(purpose=purpose, kid=kid, algorithm="EdDSA", public_key=spki_der(private.public_key()),
                          name=_log_origin(), created_at=now)
    private = ec.generate_private_key(ec.SECP256R1())
    kid = _b64url(cose_kid(private.public_key()))
    _save_private(purpose, kid, private)
    row = SigningKey(purpose=purpose, kid=kid, algorithm="ES256", public_key=spki_der(private.public_key()),
                     created_at=now)
    if purpose == "root":
        row.certificate_pem = _root_certificate(private, now).public_bytes(serialization.Encoding.PEM).decode()
    elif purpose == "document":
        certificate = _document_certificate(private, current_key("root"), now)
        row.certificate_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    return row


def _current(purpose: str) -> SigningKey | None:
    return db.session.scalar(db.select(SigningKey).where(SigningKey.purpose == purpose,
                                                         SigningKey.retired_at.is_(None)))


def _add_key(purpose: str, *, first: bool) -> SigningKey:
    """Insert a new current key for ``purpose`` unless another process just did; returns the current key."""
    row = _new_key(purpose, first=first)
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:  # a concurrent first use made it: theirs is the key
        winner = _current(purpose)
        if winner is None:
            raise
        return winner
    return row


def ensure_keys() -> None:
    """Make sure every purpose has a current key (first run). Idempotent; flushes, the caller commits."""
    for purpose in PURPOSES:
        if _current(purpose) is None:
            ever = db.session.scalar(db.select(SigningKey.id).where(SigningKey.purpose == purpose).limit(1))
            _add_key(purpose, first=ever is None)


def current_key(purpose: str) -> SigningKey:
    """The key that signs for ``purpose`` now (created on first use)."""
    row = _current(purpose)
    if row is None:
        ensure_keys()
        row = _current(purpose)
    return row


def keys_for(purpose: str) -> list[SigningKey]:
    """Every key of ``purpose``, current and retired, oldest first."""
    return list(db.session.scalars(db.select(SigningKey).where(SigningKey.purpose == purpose)
                                   .order_by(SigningKey.id)))


def key_by_kid(purpose: str, kid: str) -> SigningKey | None:
    return db.session.scalar(db.select(SigningKey).where(SigningKey.purpose == purpose, SigningKey.kid == kid))


def private_key_of(row: SigningKey):
    """The private half of ``row`` from the instance folder (the first checkpoint key: from LEDGER_SIGNING_KEY)."""
    path = _private_path(row.purpose, row.kid)
    if path.exists():
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    if row.purpose == "checkpoint":
        derived = configured_checkpoint_key()
        if spki_der(derived.public_key()) == row.public_key:
            return derived
    raise KeyStoreError("private_key_missing", kid=row.kid)


def public_key_of(row: SigningKey):
    return serialization.load_der_public_key(row.public_key)


def rotate_keys(purposes=("document", "certificate", "checkpoint")) -> list[SigningKey]:
    """Retire the current key of each purpose and make a new one. What the old keys signed still verifies (they
    stay published). The root is rotated only when asked (every document certificate chains to it), and then the
    document key with it, so the current document certificate chains to the current root."""
    wanted = set(purposes) | ({"document"} if "root" in purposes else set())
    if wanted - set(PURPOSES):
        raise ValueError(f"unknown key purposes: {sorted(wanted - set(PURPOSES))}")
    purposes = [purpose for purpose in PURPOSES if purpose in wanted]
    made = []
    for purpose in purposes:
        current_key(purpose)  # a first run rotates from the first key, not from nothing
    for purpose in purposes:
        old = _current(purpose)
        old.retired_at = utcnow()
        db.session.flush()
        made.append(_add_key(purpose, first=False))
    return made


# --- publishing ----------------------------------------------------------------------------------------------------

def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


PURPOSE_USES = {"root": "certificate-authority", "document": "pdf-signature",
                "certificate": "certificate-token", "checkpoint": "ledger-checkpoint"}


def jwk_of(row: SigningKey) -> dict:
    """``row`` as a JSON Web Key (RFC 7517) with its validity: ``valid_from``; ``retired_at`` when it no longer
    signs (what it signed before stays valid)."""
    public = public_key_of(row)
    jwk: dict = {"kid": row.kid, "use": "sig", "key_ops": ["verify"], "purpose": PURPOSE_USES[row.purpose],
                 "status": "current" if row.is_current else "retired",
                 "valid_from": _iso(row.created_at), "retired_at": _iso(row.retired_at)}
    if row.algorithm == "EdDSA":
        raw = _raw(public)
        jwk.update(kty="OKP", crv="Ed25519", alg="EdDSA", x=_b64url(raw), name=row.name,
                   note_verifier_key=verifier_key(row.name, raw))
    else:
        numbers = public.public_numbers()
        jwk.update(kty="EC", crv="P-256", alg="ES256", x=_b64url(numbers.x.to_bytes(32, "big")),
                   y=_b64url(numbers.y.to_bytes(32, "big")))
    if row.certificate_pem:
        certificate = x509.load_pem_x509_certificate(row.certificate_pem.encode())
        jwk["x5c"] = [base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()]
        jwk["valid_until"] = _iso(certificate.not_valid_after_utc)
    return jwk


def jwks() -> dict:
    """Every key, current and retired, as a JWK set."""
    ensure_keys()
    rows = db.session.scalars(db.select(SigningKey).order_by(SigningKey.purpose, SigningKey.id))
    return {"keys": [jwk_of(row) for row in rows]}


def root_certificates_pem() -> str:
    """Every root certificate the instance has had, PEM, current first."""
    ensure_keys()
    roots = sorted(keys_for("root"), key=lambda row: (not row.is_current, -row.id))
    return "".join(row.certificate_pem for row in roots)


def checkpoint_verifier_keys() -> list[str]:
    """The signed-note verifier keys of every checkpoint key, current and retired."""
    ensure_keys()
    return [verifier_key(row.name, _raw(public_key_of(row))) for row in keys_for("checkpoint")]
