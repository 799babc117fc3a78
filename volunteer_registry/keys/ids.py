"""How a public key is named where it is published. Pure functions, no Flask, no database: the keys part names the
keys it makes with them, and the certificate tokens and the ledger's checkpoints name the signing key the same way.

- COSE key id (certificate tokens): the first 8 bytes of SHA-256 of the key's SubjectPublicKeyInfo (DER).
- Signed-note key (ledger checkpoints, c2sp.org/signed-note): key id = SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ 32-byte
  Ed25519 public key)[:4]; a verifier key is written ``<name>+<8 hex digits of the key id>+<base64(0x01 ‖ public
  key)>``. A key name is non-empty UTF-8 with no space, no control character and no ``+``.

Every refusal of a signed-note key is a :class:`NoteError`, the signed-note format's one error, which
ledger/checkpoint.py raises for notes and checkpoints too.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import NamedTuple

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

#: the signed-note signature type byte of Ed25519
ED25519 = 0x01
PUBLIC_KEY_SIZE = 32

#: every ASCII control character but newline (refused in key names and in a note's text)
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_KEY_ID_HEX = re.compile(r"[0-9a-f]{8}")


class NoteError(ValueError):
    """A note, checkpoint or key that is malformed or does not verify.

    ``code`` is stable (tests and callers rely on it): malformed_note, bad_signature_line, bad_base64,
    too_many_signatures, invalid_signature, unverified, ambiguous_key, bad_key_name, bad_public_key,
    bad_verifier_key, malformed_checkpoint, bad_origin, bad_size, bad_root, bad_extension, wrong_origin.
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class VerifierKey(NamedTuple):
    """A parsed verifier key: who signs (name), which key (4-byte id) and the raw 32-byte Ed25519 public key."""

    name: str
    key_id: bytes
    public_key: bytes


def cose_kid(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """First 8 bytes of SHA-256 of the key's SubjectPublicKeyInfo (DER)."""
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).digest()[:8]


def b64decode_canonical(text: str) -> bytes | None:
    """Standard base64 with padding, canonical only (re-encoding gives the same text); None if it is not."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        return None
    return raw if base64.b64encode(raw).decode("ascii") == text else None


def b64encode(raw: bytes) -> str:
    """Standard base64 with padding, as text."""
    return base64.b64encode(raw).decode("ascii")


def encodable(text: str) -> bool:
    """Whether ``text`` is valid UTF-8 once encoded (False for lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_valid_key_name(name: object) -> bool:
    """Whether ``name`` may name a signed-note key: non-empty UTF-8, no space, no control character, no ``+``."""
    return (isinstance(name, str) and name != "" and "+" not in name and encodable(name)
            and not CONTROL.search(name) and not any(ch.isspace() for ch in name))


def check_key_name(name: str) -> None:
    """NoteError("bad_key_name") unless :func:`is_valid_key_name`."""
    if not is_valid_key_name(name):
        raise NoteError("bad_key_name", f"{name!r} is not a key name: it must be non-empty, with no space or '+'")


def _check_public_key(public_key: bytes) -> None:
    if not isinstance(public_key, bytes | bytearray) or len(public_key) != PUBLIC_KEY_SIZE:
        raise NoteError("bad_public_key", f"an Ed25519 public key is {PUBLIC_KEY_SIZE} bytes")


def key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte id of an Ed25519 key: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]."""
    check_key_name(name)
    _check_public_key(public_key)
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ED25519]) + bytes(public_key)).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    """The published form of a verifier key: ``<name>+<hex key id>+<base64(0x01 ‖ public key)>``."""
    return f"{name}+{key_id(name, public_key).hex()}+{b64encode(bytes([ED25519]) + bytes(public_key))}"


def parse_verifier_key(text: str) -> VerifierKey:
    """Read a verifier key; NoteError("bad_verifier_key") unless it is exactly the form :func:`verifier_key` writes,
    for an Ed25519 key, with the key id that the name and key give."""
    def refuse(why: str) -> NoteError:
        return NoteError("bad_verifier_key", f"not a verifier key ({why})")

    if not isinstance(text, str):
        raise refuse("not text")
    name, _, rest = text.partition("+")
    id_hex, separator, key_text = rest.partition("+")
    if not separator:
        raise refuse("it has the form name+keyid+key")
    if not is_valid_key_name(name):
        raise refuse("bad key name")
    if not _KEY_ID_HEX.fullmatch(id_hex):
        raise refuse("the key id is 8 lowercase hex digits")
    raw = b64decode_canonical(key_text)
    if raw is None:
        raise refuse("the key is not canonical base64")
    if len(raw) != 1 + PUBLIC_KEY_SIZE or raw[0] != ED25519:
        raise refuse("only 32-byte Ed25519 keys, type 0x01, are supported")
    public_key = raw[1:]
    if key_id(name, public_key) != bytes.fromhex(id_hex):
        raise refuse("the key id does not match the name and key")
    return VerifierKey(name, bytes.fromhex(id_hex), public_key)
