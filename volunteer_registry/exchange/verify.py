"""Verifying a record bundle (docs/EXCHANGE.md) with the issuer's published keys alone: no Flask, no database, so
``flask records verify`` works offline and another registry's import runs the same code.

A bundle is ``{"format", "record", "signature"}``. ``signature`` is a C2SP signed note by the issuer's checkpoint
key over three lines: :data:`BUNDLE_NOTE_HEADER`, the issuer's log origin, and the base64 SHA-256 of the record's
canonical JSON. The record holds a signed checkpoint of the issuer's log and every ledger entry of the volunteer as
its leaf (the exact canonical bytes), its leaf index, its inclusion proof under that checkpoint, and the free text
the leaf commits to by hash. The verifier checks the signature, the checkpoint, every proof and every text hash,
folds the leaves (ledger/fold.py) into what counts, and checks the record's summary against that fold.
Every refusal is a :class:`BundleError` whose code is one of ``schema.REFUSALS``.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..certificates.tokens import TokenError, open_token
from ..keys.ids import NoteError
from ..ledger.checkpoint import Checkpoint, open_note, verify_note
from ..ledger.fold import Fact, fold
from ..ledger.leaves import TEXT_FIELDS, text_sha256
from ..ledger.merkle import leaf_hash, verify_inclusion
from .schema import BUNDLE_FORMAT, BUNDLE_NOTE_HEADER

#: a bundle larger than this is refused unread
MAX_BUNDLE_BYTES = 20 * 1024 * 1024


class BundleError(Exception):
    """A bundle refused: ``code`` (schema.REFUSALS) and a detail for the log and the command line."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


def canonical_json(value) -> bytes:
    """RFC 8785 for the values a bundle holds (objects, arrays, strings, integers, booleans, null): keys sorted,
    no whitespace, UTF-8. Floats are refused: a record carries minutes, never hours."""
    def check(item):
        if isinstance(item, float):
            raise BundleError("malformed", "a record holds no floating-point number")
        if isinstance(item, dict):
            for key, inner in item.items():
                if not isinstance(key, str):
                    raise BundleError("malformed", "object keys are strings")
                check(inner)
        elif isinstance(item, list):
            for inner in item:
                check(inner)
    check(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def record_digest(record: dict) -> str:
    """The base64 SHA-256 of the record's canonical JSON: the third line of the bundle's signed note."""
    return base64.b64encode(hashlib.sha256(canonical_json(record)).digest()).decode("ascii")


def bundle_note_body(origin: str, record: dict) -> str:
    return f"{BUNDLE_NOTE_HEADER}\n{origin}\n{record_digest(record)}\n"


@dataclass
class Service:
    """One service entry of the bundle as its issuer's log says it now counts."""

    entry_id: int
    leaf_index: int
    organization: str
    activity: str | None
    service_date: dt.date | None
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    status: str
    minutes: int
    text: dict


@dataclass
class VerifiedBundle:
    """What a verified bundle says: the issuer, its checkpoint, the person, and the service entries folded."""

    origin: str
    issuer: dict
    checkpoint: Checkpoint
    volunteer: dict
    services: list[Service]
    approved_minutes: int
    entries: int
    record: dict = field(repr=False)
    sha256: str = ""

    @property
    def organizations(self) -> dict[str, str]:
        return dict(self.record.get("organizations") or {})


def _require(condition: bool, code: str, detail: str) -> None:
    if not condition:
        raise BundleError(code, detail)


def _moment(text) -> dt.datetime | None:
    if text is None:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise BundleError("malformed", f"{text!r} is not a time") from None


def _day(text) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise BundleError("malformed", f"{text!r} is not a date") from None


def load_bundle(data: bytes | str | dict) -> dict:
    """The bundle's JSON object, read from bytes or text (or given). Raises malformed, format_unknown."""
    if isinstance(data, (bytes, bytearray)):
        _require(len(data) <= MAX_BUNDLE_BYTES, "malformed", "the bundle is too large")
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise BundleError("malformed", "a bundle is UTF-8 JSON") from None
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            raise BundleError("malformed", "a bundle is a JSON object") from None
    _require(isinstance(data, dict), "malformed", "a bundle is a JSON object")
    _require(data.get("format") == BUNDLE_FORMAT, "format_unknown", f"the format is {data.get('format')!r}")
    _require(isinstance(data.get("record"), dict) and isinstance(data.get("signature"), str), "malformed",
             "a bundle has a record (an object) and a signature (a signed note)")
    return data


def bundle_origin(data: bytes | str | dict) -> str:
    """The issuer's log origin the bundle names (unverified: to find the issuer's keys)."""
    bundle = load_bundle(data)
    issuer = bundle["record"].get("issuer")
    _require(isinstance(issuer, dict) and isinstance(issuer.get("origin"), str), "malformed",
             "the record names its issuer's origin")
    return issuer["origin"]


def _leaf_of(item, checkpoint: Checkpoint) -> tuple[dict, Fact, Service | None]:
    _require(isinstance(item, dict), "malformed", "an entry is an object")
    leaf_text, index, proof, text = item.get("leaf"), item.get("leaf_index"), item.get("proof"), item.get("text")
    _require(isinstance(leaf_text, str) and isinstance(index, int) and not isinstance(index, bool)
             and isinstance(proof, list) and isinstance(text, dict), "malformed",
             "an entry has its leaf (a string), leaf_index, proof (a list) and text (an object)")
    try:
        path = [base64.b64decode(node, validate=True) for node in proof]
    except (TypeError, binascii.Error):
        raise BundleError("malformed", f"the proof of leaf {index} is not base64") from None
    digest = leaf_hash(leaf_text.encode("utf-8"))
    _require(0 <= index < checkpoint.size and all(len(node) == 32 for node in path)
             and verify_inclusion(digest, index, checkpoint.size, path, checkpoint.root),
             "proof_invalid", f"leaf {index} is not in the issuer's log of {checkpoint.size} as given")
    try:
        leaf = json.loads(leaf_text)
    except ValueError:
        raise BundleError("entry_mismatch", f"leaf {index} is not JSON") from None
    _require(isinstance(leaf, dict) and canonical_json(leaf).decode("utf-8") == leaf_text, "entry_mismatch",
             f"leaf {index} is not canonical JSON")
    _require(all(isinstance(text.get(name), (str, type(None))) for name in TEXT_FIELDS), "malformed",
             f"the text of leaf {index} is strings or null")
    _require(leaf.get("text_sha256") == text_sha256(text), "entry_mismatch",
             f"the text given with leaf {index} is not the text its leaf commits to")
    entry_id, kind, refers, minutes = leaf.get("id"), leaf.get("kind"), leaf.get("refers_to"), leaf.get("minutes")
    _require(isinstance(entry_id, int) and isinstance(kind, str) and (refers is None or isinstance(refers, int))
             and (minutes is None or isinstance(minutes, int)), "entry_mismatch", f"leaf {index} lacks its fields")
    fact = Fact(entry_id, kind, refers, minutes, _moment(leaf.get("started_at")), _moment(leaf.get("ended_at")))
    service = None
    if kind == "service":
        service = Service(entry_id=entry_id, leaf_index=index, organization=leaf.get("organization") or "",
                          activity=leaf.get("activity"), service_date=_day(leaf.get("service_date")),
                          started_at=fact.started_at, ended_at=fact.ended_at, status="pending",
                          minutes=minutes or 0, text={name: text.get(name) for name in TEXT_FIELDS})
    return leaf, fact, service


def verify_bundle(data: bytes | str | dict, verifier_keys: Iterable[str], *, origin: str | None = None,
                  ) -> VerifiedBundle:
    """The bundle, verified with the issuer's signed-note verifier keys (its checkpoint keys, as pinned or as
    published); with ``origin``, it must be that log's. Raises BundleError: malformed, format_unknown,
    untrusted_issuer, signature_invalid, checkpoint_invalid, proof_invalid, entry_mismatch, summary_mismatch."""
    bundle = load_bundle(data)
    record, signature = bundle["record"], bundle["signature"]
    claimed = bundle_origin(bundle)
    # an origin spelled as the bundle note's first line would let a signed bundle and a checkpoint pass for each other
    _require(claimed != BUNDLE_NOTE_HEADER, "malformed", "the issuer's origin is the bundle format's name")
    if origin is not None and claimed != origin:
        raise BundleError("untrusted_issuer", f"the bundle is from {claimed!r}, not {origin!r}")
    keys = list(verifier_keys)
    try:
        body = verify_note(signature, keys)
    except NoteError as error:
        code = "untrusted_issuer" if error.code == "unverified" else "signature_invalid"
        raise BundleError(code, f"the bundle's signature: {error}") from None
    _require(body == bundle_note_body(claimed, record), "signature_invalid",
             "the signed digest is not the record's, or not for this origin")
    try:
        checkpoint = open_note(record.get("checkpoint") or "", keys, origin=claimed)
    except NoteError as error:
        raise BundleError("checkpoint_invalid", str(error)) from None
    volunteer = record.get("volunteer")
    _require(isinstance(volunteer, dict), "malformed", "the record names its volunteer")
    entries = record.get("entries")
    _require(isinstance(entries, list), "malformed", "the record's entries are a list")
    facts, services, pseudonyms, seen = [], {}, set(), set()
    for item in entries:
        leaf, fact, service = _leaf_of(item, checkpoint)
        _require(fact.id not in seen, "entry_mismatch", f"entry {fact.id} is given twice")
        seen.add(fact.id)
        pseudonyms.add(leaf.get("volunteer"))
        facts.append(fact)
        if service is not None:
            services[service.entry_id] = service
    _require(len(pseudonyms) <= 1, "entry_mismatch", "the entries are not all of one volunteer")
    for entry_id, state in fold(facts).items():
        services[entry_id].status, services[entry_id].minutes = state["status"], state["minutes"]
    approved = sum(service.minutes for service in services.values() if service.status == "approved")
    summary = record.get("summary")
    _require(summary == {"approved_minutes": approved, "service_entries": len(services)}, "summary_mismatch",
             f"the summary says {summary!r}; the entries make {approved} approved minutes in {len(services)}")
    return VerifiedBundle(origin=claimed, issuer=record.get("issuer") or {}, checkpoint=checkpoint,
                          volunteer=volunteer, services=sorted(services.values(), key=lambda s: s.entry_id),
                          approved_minutes=approved, entries=len(entries), record=record,
                          sha256=hashlib.sha256(canonical_json(bundle)).hexdigest())


def check_certificates(record: dict, token_keys: dict) -> int:
    """Each certificate of a verified bundle's record against its own signed token (COSE_Sign1, the issuer's
    published certificate-token keys: kid → P-256 key): the token verifies and says the same code, number,
    minutes and period. Returns how many were checked; raises BundleError("certificate_invalid")."""
    checked = 0
    for item in record.get("certificates") or []:
        _require(isinstance(item, dict) and isinstance(item.get("token"), str), "malformed",
                 "a certificate carries its token")
        try:
            _kid, claims = open_token(base64.b64decode(item["token"], validate=True), token_keys)
        except (TokenError, binascii.Error) as error:
            raise BundleError("certificate_invalid", f"certificate {item.get('code')}: {error}") from None
        said = (claims.code, claims.number, claims.minutes, claims.period_start.isoformat(),
                claims.period_end.isoformat())
        given = (item.get("code"), item.get("number"), item.get("minutes"), item.get("period_start"),
                 item.get("period_end"))
        _require(said == given, "certificate_invalid",
                 f"certificate {item.get('code')}: the record says {given}, its signed token {said}")
        checked += 1
    return checked
