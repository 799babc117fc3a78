"""Signed checkpoints: a C2SP tlog-checkpoint body inside a C2SP signed note, signed with Ed25519.

A checkpoint commits to the log at one size::

    <origin>
    <tree size, decimal>
    <root hash, base64>
    [extension lines]

    — <key name> <base64(4-byte key id ‖ 64-byte Ed25519 signature over the body)>

The signed-note rules followed here (c2sp.org/signed-note, as golang.org/x/mod/sumdb/note implements them): the note
is UTF-8 with no control character but newline; the body ends in a newline and is separated from the signature lines
by the *last* blank line; signatures by unknown keys are ignored, a signature by a known key that fails rejects the
whole note, and a note with no verified signature is rejected; at most :data:`MAX_SIGNATURES` signature lines.
How a key is named (key names, key ids, verifier keys) is the keys part's: keys/ids.py, which also holds
:class:`NoteError`.

Every refusal is a :class:`NoteError` whose ``code`` says what was wrong.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..keys.ids import (
    CONTROL,
    NoteError,
    VerifierKey,
    b64decode_canonical,
    b64encode,
    check_key_name,
    encodable,
    is_valid_key_name,
    key_id,
    parse_verifier_key,
)

#: more signature lines than this and the note is refused unread (the spec requires accepting at least 16)
MAX_SIGNATURES = 100
MAX_TREE_SIZE = 2**64 - 1
HASH_SIZE = 32
SIGNATURE_SIZE = 64

_SIGNATURE_PREFIX = "\u2014 "  # em dash, space
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")  # ASCII digits, no sign, no leading zero


@dataclass(frozen=True)
class Checkpoint:
    """A parsed checkpoint. ``body`` is the exact signed text the other fields were read from."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...]
    body: str


def _check_note_text(body: str) -> None:
    if not isinstance(body, str) or not body.endswith("\n"):
        raise NoteError("malformed_note", "the note text must end in a newline")
    if not encodable(body) or CONTROL.search(body):
        raise NoteError("malformed_note", "the note text must be UTF-8 with no control character but newline")


def sign_note(body: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """The signed note: ``body``, a blank line, and one signature line by ``name`` over the body's UTF-8 bytes."""
    _check_note_text(body)
    check_key_name(name)
    public_key = private_key.public_key().public_bytes_raw()
    signature = private_key.sign(body.encode("utf-8"))
    return f"{body}\n{_SIGNATURE_PREFIX}{name} {b64encode(key_id(name, public_key) + signature)}\n"


def _index_keys(verifier_keys: Iterable[str | VerifierKey]) -> dict[tuple[str, bytes], VerifierKey]:
    if isinstance(verifier_keys, str):
        verifier_keys = [verifier_keys]
    known: dict[tuple[str, bytes], VerifierKey] = {}
    for item in verifier_keys:
        key = parse_verifier_key(item) if isinstance(item, str) else VerifierKey(*item)
        if key_id(key.name, key.public_key) != key.key_id:
            raise NoteError("bad_verifier_key", f"the key id of {key.name} does not match its key")
        slot = (key.name, key.key_id)
        if slot in known and known[slot].public_key != key.public_key:
            raise NoteError("ambiguous_key", f"two different keys are named {key.name}+{key.key_id.hex()}")
        known[slot] = key
    return known


def _parse_signature_line(line: str) -> tuple[str, bytes]:
    if not line.startswith(_SIGNATURE_PREFIX):
        raise NoteError("bad_signature_line", "a signature line starts with an em dash and a space")
    name, separator, encoded = line[len(_SIGNATURE_PREFIX):].partition(" ")
    if not separator or not encoded or not is_valid_key_name(name):
        raise NoteError("bad_signature_line", "a signature line is '— <key name> <base64 signature>'")
    raw = b64decode_canonical(encoded)
    if raw is None:
        raise NoteError("bad_base64", f"the signature by {name} is not canonical base64")
    if len(raw) < 5:
        raise NoteError("bad_signature_line", f"the signature by {name} is too short")
    return name, raw


def verify_note(text: str | bytes, verifier_keys: Iterable[str | VerifierKey]) -> str:
    """The text of a signed note, once at least one signature by a known key verifies.

    ``verifier_keys`` are verifier-key strings or :class:`VerifierKey` values. Raises NoteError: malformed_note,
    bad_signature_line, bad_base64, too_many_signatures, invalid_signature (a known key's signature fails),
    unverified (no known key signed), or a verifier-key code.
    """
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("malformed_note", "a note is UTF-8 text") from None
    if not isinstance(text, str) or not encodable(text):
        raise NoteError("malformed_note", "a note is UTF-8 text")
    if CONTROL.search(text):
        raise NoteError("malformed_note", "a note contains no control character but newline")
    split = text.rfind("\n\n")
    if split < 0:
        raise NoteError("malformed_note", "no blank line separates the text from the signatures")
    body, block = text[:split + 1], text[split + 2:]
    if not block.endswith("\n"):
        raise NoteError("malformed_note", "the signature lines must follow the blank line, each ending in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError("too_many_signatures", f"more than {MAX_SIGNATURES} signature lines")
    known = _index_keys(verifier_keys)
    signatures = [_parse_signature_line(line) for line in lines]
    message = body.encode("utf-8")
    verified = 0
    for name, raw in signatures:
        key = known.get((name, raw[:4]))
        if key is None:
            continue  # someone else's signature (a witness, a retired key): not ours to judge
        signature = raw[4:]
        try:
            if len(signature) != SIGNATURE_SIZE:
                raise InvalidSignature
            Ed25519PublicKey.from_public_bytes(key.public_key).verify(signature, message)
        except InvalidSignature:
            raise NoteError("invalid_signature", f"the signature by {name}+{raw[:4].hex()} does not verify") from None
        verified += 1
    if not verified:
        raise NoteError("unverified", "no signature by a known key")
    return body


def _check_origin(origin: str) -> None:
    if (not isinstance(origin, str) or not origin or origin != origin.strip() or "\n" in origin
            or CONTROL.search(origin) or not encodable(origin)):
        raise NoteError("bad_origin", f"{origin!r} is not an origin: one non-empty line, no leading or trailing space")


def _check_extension(line: str) -> None:
    if not isinstance(line, str) or not line or "\n" in line or CONTROL.search(line) or not encodable(line):
        raise NoteError("bad_extension", f"{line!r} is not an extension line: one non-empty line of text")


def checkpoint_body(origin: str, size: int, root: bytes, extensions: Sequence[str] = ()) -> str:
    """The checkpoint text to sign: origin, size in decimal, base64 root, extension lines, each ending in newline."""
    _check_origin(origin)
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_TREE_SIZE:
        raise NoteError("bad_size", f"{size!r} is not a tree size")
    if not isinstance(root, bytes | bytearray) or len(root) != HASH_SIZE:
        raise NoteError("bad_root", f"a root hash is {HASH_SIZE} bytes")
    if isinstance(extensions, str):
        raise NoteError("bad_extension", "extensions are a sequence of lines, not one string")
    for line in extensions:
        _check_extension(line)
    return "".join(f"{line}\n" for line in (origin, str(size), b64encode(bytes(root)), *extensions))


def parse_checkpoint(body: str) -> Checkpoint:
    """Read a checkpoint body (already verified: see :func:`open_note`). Raises NoteError: malformed_checkpoint,
    bad_origin, bad_size (not plain decimal: no sign, no leading zero, at most 2^64 - 1), bad_root (not canonical
    base64 of 32 bytes), bad_extension (an empty line)."""
    if not isinstance(body, str) or not body.endswith("\n") or CONTROL.search(body) or not encodable(body):
        raise NoteError("malformed_checkpoint", "a checkpoint is lines of text, each ending in a newline")
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        raise NoteError("malformed_checkpoint", "a checkpoint has an origin, a size and a root hash")
    origin, size_text, root_text, *extensions = lines
    _check_origin(origin)
    if not _DECIMAL.fullmatch(size_text) or int(size_text) > MAX_TREE_SIZE:
        raise NoteError("bad_size", f"{size_text!r} is not a tree size in decimal")
    root = b64decode_canonical(root_text)
    if root is None or len(root) != HASH_SIZE:
        raise NoteError("bad_root", f"{root_text!r} is not the base64 of a {HASH_SIZE}-byte hash")
    for line in extensions:
        _check_extension(line)
    return Checkpoint(origin, int(size_text), root, tuple(extensions), body)


def open_note(text: str | bytes, verifier_keys: Iterable[str | VerifierKey], *, origin: str | None = None,
              ) -> Checkpoint:
    """The checkpoint in a signed note, once a known key's signature verifies (see :func:`verify_note`) and the
    body parses (see :func:`parse_checkpoint`); with ``origin``, NoteError("wrong_origin") for any other log's."""
    checkpoint = parse_checkpoint(verify_note(text, verifier_keys))
    if origin is not None and checkpoint.origin != origin:
        raise NoteError("wrong_origin", f"the checkpoint is for {checkpoint.origin!r}, not {origin!r}")
    return checkpoint
