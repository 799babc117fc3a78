"""The certificate token: COSE_Sign1 (RFC 9052), ES256, and its QR URL. Pure functions, no Flask, no database:
the offline verifier (`flask certificates verify`) uses them with nothing but the published keys.

Token: CBOR tag 18 over ``[protected, unprotected, payload, signature]``; ``protected`` is the CBOR map
``{1: -7, 4: kid}`` as a byte string; the signature is ECDSA P-256 / SHA-256 over the CBOR encoding of
``["Signature1", protected, h'', payload]``, as the raw 64 bytes r ‖ s. The payload is a CBOR map (PAYLOAD_FIELDS).
QR URL: ``<SCHEME>://<HOST>/V/`` + base32 of the token without padding, all uppercase (QR alphanumeric mode).
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from ..hours import as_hours
from ..keys.ids import cose_kid

COSE_SIGN1_TAG = 18
ALG_ES256 = -7
HEADER_ALG, HEADER_KID = 1, 4
#: payload key → meaning (the keys are short: every byte makes the QR bigger)
PAYLOAD_FIELDS = {
    "v": "format version (1)",
    "c": "certificate code (the public code in the verification URL)",
    "no": "certificate number (printed on the certificate)",
    "i": "issuing organization's public code",
    "n": "the volunteer's masked name (NFC)",
    "m": "approved minutes certified (integer)",
    "s": "period start, YYYY-MM-DD",
    "e": "period end, YYYY-MM-DD",
    "d": "issue date, YYYY-MM-DD (Beijing)",
}
#: the largest token we accept to decode (a version 40 QR holds 4296 alphanumeric characters)
MAX_TOKEN_BYTES = 2600
#: the deepest nesting of arrays and maps a token may have (ours: 3, the tag and the unprotected header's map)
MAX_CBOR_DEPTH = 16
_BASE32 = re.compile(r"^[A-Z2-7]+$")
#: what cbor2 raises for bytes that are not the CBOR they claim to be
_NOT_CBOR = (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError)

logger = logging.getLogger(__name__)


class TokenError(ValueError):
    """A token that cannot be trusted, with one of CODES. Every input, whatever its bytes, ends in the claims of a
    genuine token or in one of these."""

    CODES = ("malformed_token", "unsupported_algorithm", "unknown_key", "bad_signature", "bad_payload")

    def __init__(self, code: str, detail: str = ""):
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {detail}" if detail else code)


@dataclass(frozen=True)
class CertificateClaims:
    """What a verified token says."""

    version: int
    code: str
    number: str
    issuer: str
    masked_name: str
    minutes: int
    period_start: dt.date
    period_end: dt.date
    issued_on: dt.date

    def to_payload(self) -> dict:
        return {"v": self.version, "c": self.code, "no": self.number, "i": self.issuer,
                "n": unicodedata.normalize("NFC", self.masked_name), "m": self.minutes,
                "s": self.period_start.isoformat(), "e": self.period_end.isoformat(), "d": self.issued_on.isoformat()}

    def to_json(self) -> dict:
        return {"code": self.code, "number": self.number, "issuer": self.issuer, "masked_name": self.masked_name,
                "minutes": self.minutes, "hours": as_hours(self.minutes),
                "period_start": self.period_start.isoformat(), "period_end": self.period_end.isoformat(),
                "issued_on": self.issued_on.isoformat()}


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, b"", payload])


def sign_token(claims: CertificateClaims, private_key: ec.EllipticCurvePrivateKey) -> bytes:
    """The COSE_Sign1 token for ``claims``, signed with ``private_key`` (P-256)."""
    protected = cbor2.dumps({HEADER_ALG: ALG_ES256, HEADER_KID: cose_kid(private_key.public_key())})
    payload = cbor2.dumps(claims.to_payload())
    der = private_key.sign(_sig_structure(protected, payload), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))


@dataclass(frozen=True)
class ParsedToken:
    kid: bytes
    protected: bytes
    payload: bytes
    signature: bytes


def _check_plain_cbor(data: bytes, code: str, *, tag: int | None = None) -> None:
    """Refuse (TokenError ``code``) anything but one well-formed CBOR item of the kinds a token is made of —
    integers, byte and text strings, arrays, maps, floats and simple values, nested at most MAX_CBOR_DEPTH deep —
    with no tag but ``tag`` around the whole and nothing after it. This runs before cbor2 sees the bytes: cbor2
    turns tags into objects (decimals, dates, regular expressions, shared references) whose making can overflow,
    or, for shared references, double in cost with every few bytes."""
    end = len(data)

    def head(at: int) -> tuple[int, int | None, int]:
        """(major type, argument or None for an indefinite length or a break, where the content starts)"""
        if at >= end:
            raise TokenError(code, "the CBOR ends too soon")
        major, info = data[at] >> 5, data[at] & 0x1F
        at += 1
        if info < 24:
            return major, info, at
        if info < 28:
            size = 1 << (info - 24)
            if at + size > end:
                raise TokenError(code, "the CBOR ends too soon")
            return major, int.from_bytes(data[at:at + size], "big"), at + size
        if info == 31 and major in (2, 3, 4, 5, 7):
            return major, None, at
        raise TokenError(code, "not well-formed CBOR")

    def item(at: int, depth: int) -> int:
        """Where the item starting at ``at`` ends."""
        major, argument, at = head(at)
        if major in (0, 1):
            return at
        if major in (2, 3):
            if argument is not None:
                if argument > end - at:
                    raise TokenError(code, "the CBOR ends too soon")
                return at + argument
            while at < end and data[at] != 0xFF:  # an indefinite string: definite chunks of its own kind
                chunk, length, at = head(at)
                if chunk != major or length is None or length > end - at:
                    raise TokenError(code, "not well-formed CBOR")
                at += length
            if at >= end:
                raise TokenError(code, "the CBOR ends too soon")
            return at + 1
        if major in (4, 5):
            if depth >= MAX_CBOR_DEPTH:
                raise TokenError(code, f"the CBOR is nested more than {MAX_CBOR_DEPTH} deep")
            per_entry = 1 if major == 4 else 2
            if argument is not None:
                if argument * per_entry > end - at:  # every item takes a byte at least
                    raise TokenError(code, "the CBOR ends too soon")
                for _ in range(argument * per_entry):
                    at = item(at, depth + 1)
                return at
            count = 0
            while at < end and data[at] != 0xFF:
                at = item(at, depth + 1)
                count += 1
            if at >= end or count % per_entry:
                raise TokenError(code, "not well-formed CBOR")
            return at + 1
        if major == 6:
            if depth == 0 and tag is not None and argument == tag:
                return item(at, depth)
            raise TokenError(code, f"CBOR tag {argument} is not part of a certificate token")
        if argument is None:  # major 7: a break outside an indefinite-length item
            raise TokenError(code, "not well-formed CBOR")
        return at

    if item(0, 0) != end:
        raise TokenError(code, "bytes after the CBOR item")


def _decode(data: bytes, code: str, what: str, *, tag: int | None = None):
    _check_plain_cbor(data, code, tag=tag)
    try:
        return cbor2.loads(data)
    except _NOT_CBOR as error:
        raise TokenError(code, f"{what} is not CBOR ({type(error).__name__})") from None


def _refused_unforeseen(code: str, what: str) -> TokenError:
    """The refusal for an exception nobody foresaw in reading a token: logged with its traceback for the
    operators (it is a bug to fix, or a case to name), answered with a code like any other refusal."""
    logger.warning("certificate token: unforeseen error reading %s, refused as %s", what, code, exc_info=True)
    return TokenError(code, f"{what} could not be read")


def parse_token(token: bytes) -> ParsedToken:
    """The token's parts, checked for shape (not yet for the signature). Raises TokenError, whatever ``token`` is:
    malformed_token, or unsupported_algorithm for a header naming another algorithm than ES256."""
    try:
        return _parse(token)
    except TokenError:
        raise
    except Exception:  # the guard: what a stranger's bytes can do is refused, never a 500
        raise _refused_unforeseen("malformed_token", "the token") from None


def _parse(token: bytes) -> ParsedToken:
    if not isinstance(token, bytes | bytearray) or not token or len(token) > MAX_TOKEN_BYTES:
        raise TokenError("malformed_token", "empty or too long")
    decoded = _decode(bytes(token), "malformed_token", "the token", tag=COSE_SIGN1_TAG)
    if not (isinstance(decoded, cbor2.CBORTag) and decoded.tag == COSE_SIGN1_TAG):
        raise TokenError("malformed_token", "not a tagged COSE_Sign1")
    parts = decoded.value
    if not (isinstance(parts, list | tuple) and len(parts) == 4 and isinstance(parts[0], bytes)
            and isinstance(parts[1], Mapping) and isinstance(parts[2], bytes) and isinstance(parts[3], bytes)):
        raise TokenError("malformed_token", "COSE_Sign1 needs [protected, unprotected, payload, signature]")
    protected, _unprotected, payload, signature = parts
    header = _decode(protected, "malformed_token", "the protected header")
    if not isinstance(header, Mapping):
        raise TokenError("malformed_token", "the protected header is not a map")
    alg = header.get(HEADER_ALG)
    if type(alg) is not int or alg != ALG_ES256:  # plain CBOR: its repr is as short as the token
        raise TokenError("unsupported_algorithm", f"alg {alg!r:.40}, expected -7 (ES256)")
    kid = header.get(HEADER_KID)
    if not isinstance(kid, bytes) or len(kid) != 8:
        raise TokenError("malformed_token", "the key id must be 8 bytes")
    if len(signature) != 64:
        raise TokenError("malformed_token", "an ES256 signature is 64 bytes")
    return ParsedToken(kid=kid, protected=protected, payload=payload, signature=signature)


def _date(value, key: str) -> dt.date:
    if not isinstance(value, str):
        raise TokenError("bad_payload", f"{key} must be a date")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise TokenError("bad_payload", f"{key} is not a date") from None


def _claims(payload: bytes) -> CertificateClaims:
    """The claims of a payload whose signature is genuine. Raises TokenError bad_payload, whatever its bytes."""
    try:
        return _read_claims(payload)
    except TokenError:
        raise
    except Exception:
        raise _refused_unforeseen("bad_payload", "the payload") from None


def _read_claims(payload: bytes) -> CertificateClaims:
    data = _decode(payload, "bad_payload", "the payload")
    if not isinstance(data, Mapping) or data.get("v") != 1:
        raise TokenError("bad_payload", "not a version 1 certificate payload")
    for key in ("c", "no", "i", "n"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise TokenError("bad_payload", f"{key} must be text")
        if any(unicodedata.category(char) == "Cc" for char in data[key]):  # (PostgreSQL refuses NUL in a query)
            raise TokenError("bad_payload", f"{key} holds control characters")
    minutes = data.get("m")
    if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes < 0:
        raise TokenError("bad_payload", "m must be a non-negative integer")
    return CertificateClaims(version=1, code=data["c"], number=data["no"], issuer=data["i"], masked_name=data["n"],
                             minutes=minutes, period_start=_date(data.get("s"), "s"),
                             period_end=_date(data.get("e"), "e"), issued_on=_date(data.get("d"), "d"))


def open_token(token: bytes, public_keys: dict[bytes, ec.EllipticCurvePublicKey]) -> tuple[bytes, CertificateClaims]:
    """Verify ``token`` with the key its kid names among ``public_keys`` (kid → P-256 public key).
    Returns (kid, claims); raises TokenError for any other ``token``, whatever its bytes."""
    parsed = parse_token(token)
    public_key = public_keys.get(parsed.kid)
    if public_key is None:
        raise TokenError("unknown_key", f"no published key has kid {parsed.kid.hex()}")
    r = int.from_bytes(parsed.signature[:32], "big")
    s = int.from_bytes(parsed.signature[32:], "big")
    try:
        public_key.verify(encode_dss_signature(r, s), _sig_structure(parsed.protected, parsed.payload),
                          ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise TokenError("bad_signature", "the signature does not match the token") from None
    return parsed.kid, _claims(parsed.payload)


# --- the QR's URL --------------------------------------------------------------------------------------------------

def token_text(token: bytes) -> str:
    """Base32 of the token, uppercase, without padding."""
    return base64.b32encode(token).decode().rstrip("=")


def token_url(base_url: str, token: bytes) -> str:
    """The URL the QR holds: ``base_url`` uppercased + ``/V/`` + token_text (QR alphanumeric mode throughout)."""
    return base_url.rstrip("/").upper() + "/V/" + token_text(token)


def token_from_text(text: str) -> bytes:
    """The token in a verification URL (any case, any host) or in bare base32 text."""
    text = (text or "").strip()
    match = re.search(r"/v/([A-Za-z2-7=]+)/?$", text, flags=re.IGNORECASE)
    if match:
        text = match.group(1)
    text = text.upper().rstrip("=")
    if not text or len(text) > MAX_TOKEN_BYTES * 8 // 5 + 8 or not _BASE32.match(text):
        raise TokenError("malformed_token", "not base32 (A–Z, 2–7)")
    try:
        return base64.b32decode(text + "=" * (-len(text) % 8))
    except binascii.Error:
        raise TokenError("malformed_token", "not valid base32") from None
