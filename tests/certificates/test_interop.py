"""A third party verifies our certificate tokens with its own COSE library (pycose) and nothing but the published
JWK set, and agrees with our verifier and with `flask certificates verify` on what is authentic.

The third party's code is the example in docs/VERIFYING.md, executed from the document itself, so the guide cannot
drift from what works.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import re
from pathlib import Path

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from pycose.algorithms import Es256
from pycose.headers import KID, Algorithm
from pycose.keys import EC2Key
from pycose.keys.curves import P256
from pycose.messages import Sign1Message

from volunteer_registry.certificates.cli import token_keys_from_jwks
from volunteer_registry.certificates.tokens import (
    CertificateClaims,
    TokenError,
    open_token,
    sign_token,
    token_text,
    token_url,
)
from volunteer_registry.extensions import db
from volunteer_registry.keys.ids import cose_kid
from volunteer_registry.keys.services import current_key, ensure_keys, jwks, private_key_of, rotate_keys

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "VERIFYING.md"
BASE_URL = "https://registry.example.org"


@pytest.fixture(scope="module")
def verify_certificate():
    """``verify_certificate(qr_text, jwks) -> payload`` from the guide's Python example."""
    blocks = [block for block in re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.S)
              if "def verify_certificate(" in block]
    assert len(blocks) == 1, "docs/VERIFYING.md has one Python example defining verify_certificate"
    namespace: dict = {"__name__": "verifying_example"}
    exec(compile(blocks[0], str(GUIDE), "exec"), namespace)  # our own document
    return namespace["verify_certificate"]


def claims(**overrides) -> CertificateClaims:
    values = dict(version=1, code="K7QF3MXAH9PT4RWC", number="VR-2026-K7QF-3MXA", issuer="Q4XH7M9CKD",
                  masked_name="欧**娜", minutes=330, period_start=dt.date(2026, 3, 1),
                  period_end=dt.date(2026, 8, 31), issued_on=dt.date(2026, 9, 2))
    values.update(overrides)
    return CertificateClaims(**values)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def p256_jwk(public_key: ec.EllipticCurvePublicKey, purpose: str = "certificate-token") -> dict:
    """The fields of a published JWK that a verifier reads (the full shape is tested against the app below)."""
    numbers = public_key.public_numbers()
    return {"kty": "EC", "crv": "P-256", "alg": "ES256", "kid": b64url(cose_kid(public_key)), "purpose": purpose,
            "x": b64url(numbers.x.to_bytes(32, "big")), "y": b64url(numbers.y.to_bytes(32, "big"))}


def pycose_key(jwk: dict) -> EC2Key:
    return EC2Key(crv=P256, x=base64.urlsafe_b64decode(jwk["x"] + "=="), y=base64.urlsafe_b64decode(jwk["y"] + "=="))


def tampered(token: bytes, old: bytes, new: bytes) -> bytes:
    """``token`` with ``old``, which occurs once in it, replaced by ``new``, which differs from it in one byte."""
    assert token.count(old) == 1 and len(old) == len(new)
    assert sum(a != b for a, b in zip(old, new, strict=True)) == 1
    return token.replace(old, new)


@pytest.fixture
def key():
    return ec.generate_private_key(ec.SECP256R1())


# --- pycose and our verifier on the same tokens (no app, no database) ---------------------------------------------

def test_pycose_verifies_our_token(key):
    token = sign_token(claims(), key)
    message = Sign1Message.decode(token)
    assert message.phdr[Algorithm] is Es256
    assert message.phdr[KID] == cose_kid(key.public_key())
    message.key = pycose_key(p256_jwk(key.public_key()))
    assert message.verify_signature() is True
    assert cbor2.loads(message.payload) == claims().to_payload()
    assert open_token(token, {cose_kid(key.public_key()): key.public_key()}) == (cose_kid(key.public_key()), claims())


def test_the_guides_example_reads_the_qr_url_in_any_case(key, verify_certificate):
    token = sign_token(claims(), key)
    keys = {"keys": [p256_jwk(key.public_key())]}
    url = token_url(BASE_URL, token)
    assert url.startswith("HTTPS://REGISTRY.EXAMPLE.ORG/V/")
    for text in (url, url.lower(), token_text(token)):
        assert verify_certificate(text, keys) == claims().to_payload()


def test_the_signature_is_es256_over_the_rfc_9052_sig_structure(key):
    """The guide's step-by-step, with nothing but a CBOR decoder and an ECDSA P-256 implementation."""
    token = sign_token(claims(), key)
    tag = cbor2.loads(token)
    assert tag.tag == 18
    protected, unprotected, payload, signature = tag.value
    assert dict(cbor2.loads(protected)) == {1: -7, 4: cose_kid(key.public_key())}
    assert dict(unprotected) == {}
    assert len(signature) == 64
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", payload])
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    key.public_key().verify(der, to_be_signed, ec.ECDSA(hashes.SHA256()))  # raises InvalidSignature if not
    assert cbor2.loads(payload) == claims().to_payload()


#: one byte of the payload, changed: (what the token holds, what the forger writes)
FORGERIES = {
    "number": (b"VR-2026-K7QF-3MXA", b"VR-2026-K7QF-4MXA"),
    "minutes": (b"am\x19\x01\x4a", b"am\x19\x01\x4b"),  # "m": 330 → 331
    "period_end": (b"2026-08-31", b"2026-08-30"),
}


def assert_bad_signature_everywhere(forged: bytes, key, verify_certificate) -> None:
    """pycose, the docs' verifier and our own reader all refuse ``forged`` against ``key``'s public key."""
    message = Sign1Message.decode(forged)
    message.key = pycose_key(p256_jwk(key.public_key()))
    assert message.verify_signature() is False
    with pytest.raises(ValueError, match="^bad_signature$"):
        verify_certificate(token_text(forged), {"keys": [p256_jwk(key.public_key())]})
    with pytest.raises(TokenError) as refused:
        open_token(forged, {cose_kid(key.public_key()): key.public_key()})
    assert refused.value.code == "bad_signature"


@pytest.mark.parametrize(("old", "new"), list(FORGERIES.values()), ids=list(FORGERIES))
def test_one_changed_payload_byte_fails_pycose_and_us(key, verify_certificate, old, new):
    token = sign_token(claims(), key)
    assert old in cbor2.dumps(claims().to_payload())
    forged = tampered(token, old, new)
    assert cbor2.loads(Sign1Message.decode(forged).payload) != claims().to_payload()  # still CBOR, different claims

    assert_bad_signature_everywhere(forged, key, verify_certificate)


def test_a_token_signed_by_another_key_is_unknown_key(key, verify_certificate):
    published = {cose_kid(key.public_key()): key.public_key()}
    other = ec.generate_private_key(ec.SECP256R1())
    token = sign_token(claims(), other)
    with pytest.raises(TokenError) as refused:
        open_token(token, published)
    assert refused.value.code == "unknown_key"
    with pytest.raises(ValueError, match="^unknown_key$"):
        verify_certificate(token_text(token), {"keys": [p256_jwk(key.public_key())]})


def test_another_key_claiming_a_published_kid_is_bad_signature(key, verify_certificate):
    """Copying a published key id into the header does not help a forger."""
    other = ec.generate_private_key(ec.SECP256R1())
    protected = cbor2.dumps({1: -7, 4: cose_kid(key.public_key())})
    payload = cbor2.dumps(claims(minutes=60_000).to_payload())
    der = other.sign(cbor2.dumps(["Signature1", protected, b"", payload]), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    forged = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, r.to_bytes(32, "big") + s.to_bytes(32, "big")]))

    assert_bad_signature_everywhere(forged, key, verify_certificate)


# --- the published JWK set (from the app) is enough for a third party ---------------------------------------------

def _published() -> dict:
    """jwks.json as a verifier downloads it: through JSON, not as Python objects."""
    document = json.loads(json.dumps(jwks()))
    db.session.commit()
    return document


def test_the_published_jwk_verifies_a_token_of_the_current_key_with_pycose(app, verify_certificate):
    ensure_keys()
    row = current_key("certificate")
    private = private_key_of(row)
    token = sign_token(claims(), private)
    document = _published()

    [jwk] = [jwk for jwk in document["keys"] if jwk["kid"] == b64url(cose_kid(private.public_key()))]
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["purpose"], jwk["status"]) == (
        "EC", "P-256", "ES256", "certificate-token", "current")
    message = Sign1Message.decode(token)
    message.key = pycose_key(jwk)
    assert message.verify_signature() is True
    assert verify_certificate(token_url(BASE_URL, token), document) == claims().to_payload()
    assert open_token(token, token_keys_from_jwks(document))[1] == claims()


def test_a_retired_key_stays_published_and_its_tokens_still_verify(app, verify_certificate):
    old = private_key_of(current_key("certificate"))
    token = sign_token(claims(), old)
    rotate_keys(("certificate",))
    document = _published()

    [jwk] = [jwk for jwk in document["keys"] if jwk["kid"] == b64url(cose_kid(old.public_key()))]
    assert jwk["status"] == "retired" and jwk["retired_at"]
    assert b64url(cose_kid(private_key_of(current_key("certificate")).public_key())) != jwk["kid"]
    assert verify_certificate(token_text(token), document) == claims().to_payload()
    assert open_token(token, token_keys_from_jwks(document))[1] == claims()


def test_a_token_signed_by_the_pdf_signing_key_is_not_a_certificate(app, verify_certificate):
    """The document-signing and root keys are published too (same kind of key id): only certificate-token keys
    may vouch for a token."""
    token = sign_token(claims(), private_key_of(current_key("document")))
    document = _published()
    assert any(jwk["purpose"] == "pdf-signature" and jwk["kid"] == current_key("document").kid
               for jwk in document["keys"])
    with pytest.raises(ValueError, match="^unknown_key$"):
        verify_certificate(token_text(token), document)
    with pytest.raises(TokenError) as refused:
        open_token(token, token_keys_from_jwks(document))
    assert refused.value.code == "unknown_key"


# --- `flask certificates verify`, offline, with the published jwks.json -------------------------------------------

@pytest.fixture
def jwks_file(app, tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(_published()), encoding="utf-8")
    return path


def _certificate_token() -> bytes:
    return sign_token(claims(), private_key_of(current_key("certificate")))


@pytest.mark.parametrize("form", ["text", "url"])
def test_the_offline_verifier_says_authentic(app, jwks_file, form):
    token = _certificate_token()
    source = token_text(token) if form == "text" else token_url(BASE_URL, token)
    result = app.test_cli_runner().invoke(args=["certificates", "verify", source, "--keys", str(jwks_file)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("AUTHENTIC: signed by key " + current_key("certificate").kid)
    assert "VR-2026-K7QF-3MXA" in result.output and "5.5" in result.output
    assert "Revocation is not visible offline" in result.output


@pytest.mark.parametrize("form", ["text", "url"])
def test_the_offline_verifier_refuses_a_tampered_token(app, jwks_file, form):
    token = _certificate_token()
    forged = tampered(token, *FORGERIES["minutes"])
    source = token_text(forged) if form == "text" else token_url(BASE_URL, forged)
    result = app.test_cli_runner().invoke(args=["certificates", "verify", source, "--keys", str(jwks_file)])
    assert result.exit_code == 1, result.output
    assert "NOT AUTHENTIC (bad_signature)" in result.output
    assert "AUTHENTIC:" not in result.output
