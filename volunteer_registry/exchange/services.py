"""Transfers between registries (docs/EXCHANGE.md): a volunteer's one-time transfer code on the issuing system,
the trusted peers and their pinned keys, and the import of a peer's bundle into a volunteer's record here.

Every refusal is an :class:`ExchangeError` whose code is one of ``schema.REFUSALS``."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from flask import current_app
from sqlalchemy import update

from ..audit.services import record_event
from ..codes import new_checked_code, normalize_checked_code
from ..errors import DomainError
from ..extensions import db
from ..keys.ids import NoteError
from ..ledger.checkpoint import Checkpoint, open_note
from ..ledger.log import log_origin
from ..ledger.merkle import verify_consistency
from ..ledger.models import TransferredService
from ..models import utcnow
from ..volunteers.models import Volunteer
from ..volunteers.vault import decrypt_id_number
from .bundle import exchange_id_hash
from .models import Peer, Transfer, TransferCode
from .schema import REFUSALS, TRANSFER_CODE_HOURS
from .verify import (
    MAX_BUNDLE_BYTES,
    BundleError,
    VerifiedBundle,
    bundle_origin,
    canonical_json,
    load_bundle,
    verify_bundle,
)

#: seconds a request to a peer may take
PEER_TIMEOUT = 20
WELL_KNOWN = "/.well-known/volunteer-registry"


class ExchangeError(DomainError):
    messages = REFUSALS
    statuses = {"no_volunteer_record": 404, "peer_unknown": 404, "code_invalid": 404, "code_expired": 410,
                "code_used": 409, "peer_unreachable": 502, "exchange_not_configured": 503}


def _refuse(error: BundleError) -> ExchangeError:
    return ExchangeError(error.code)


# --- transfer codes (the issuing side) ----------------------------------------------------------------------------

def _code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def create_transfer_code(volunteer: Volunteer, actor) -> tuple[str, TransferCode]:
    """A new one-time code for moving the volunteer's record to another registry; the plaintext is returned once
    and only its hash is kept. It expires after TRANSFER_CODE_HOURS and works once."""
    code = new_checked_code()
    row = TransferCode(volunteer_id=volunteer.id, code_hash=_code_hash(code),
                       expires_at=utcnow() + dt.timedelta(hours=TRANSFER_CODE_HOURS))
    db.session.add(row)
    db.session.flush()
    record_event("exchange.transfer_code_created", actor=actor, target=volunteer,
                 volunteer=volunteer.volunteer_number)
    return code, row


def redeem_transfer_code(text: str, used_by: str) -> Volunteer:
    """The volunteer whose code this is; the code is spent (once, also under concurrent requests). Raises
    code_invalid, code_expired, code_used."""
    code = normalize_checked_code(text or "")
    row = db.session.scalar(db.select(TransferCode).where(TransferCode.code_hash == _code_hash(code))) \
        if code else None
    if row is None:
        raise ExchangeError("code_invalid", field="code")
    if row.used_at is not None:
        raise ExchangeError("code_used", field="code")
    now = utcnow()
    if row.expires_at <= now:
        raise ExchangeError("code_expired", field="code")
    spent = db.session.execute(update(TransferCode).where(TransferCode.id == row.id, TransferCode.used_at.is_(None))
                               .values(used_at=now, used_by=(used_by or "")[:200]))
    if spent.rowcount != 1:
        raise ExchangeError("code_used", field="code")
    volunteer = db.session.get(Volunteer, row.volunteer_id)
    record_event("exchange.transfer_code_used", actor=None, target=volunteer,
                 volunteer=volunteer.volunteer_number, by=(used_by or "")[:200])
    return volunteer


def transfer_codes_of(volunteer: Volunteer, limit: int = 10) -> list[TransferCode]:
    return list(db.session.scalars(db.select(TransferCode).where(TransferCode.volunteer_id == volunteer.id)
                                   .order_by(TransferCode.id.desc()).limit(limit)))


# --- peers ---------------------------------------------------------------------------------------------------------

def normalize_url(url: str) -> str:
    """A peer's base address: http(s), a host, no query; without a trailing slash. Raises peer_unknown."""
    text = (url or "").strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ExchangeError("peer_unknown", field="url")
    return text


def _get_json(url: str, **params) -> dict:
    try:
        response = requests.get(url, params=params, timeout=PEER_TIMEOUT, allow_redirects=False)
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError):
        raise ExchangeError("peer_unreachable") from None
    if not isinstance(data, dict):
        raise ExchangeError("peer_unreachable")
    return data


@dataclass
class PublishedKeys:
    """What a registry publishes about its log: the origin and the checkpoint keys (signed-note verifier keys)."""

    origin: str
    verifier_keys: list[str]

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256("\n".join(sorted(self.verifier_keys)).encode()).hexdigest()


def fetch_published_keys(url: str) -> PublishedKeys:
    """The checkpoint keys another registry publishes (jwks.json), current and retired. Raises peer_unreachable."""
    document = _get_json(normalize_url(url) + WELL_KNOWN + "/jwks.json")
    keys = [key for key in document.get("keys") or [] if isinstance(key, dict)
            and key.get("purpose") == "ledger-checkpoint" and isinstance(key.get("note_verifier_key"), str)]
    origins = {key.get("name") for key in keys}
    if not keys or len(origins) != 1 or not isinstance(next(iter(origins)), str):
        raise ExchangeError("peer_unreachable")
    return PublishedKeys(origin=next(iter(origins)), verifier_keys=sorted(k["note_verifier_key"] for k in keys))


def peer_by_url(url: str) -> Peer | None:
    try:
        base = normalize_url(url)
    except ExchangeError:
        return None
    return db.session.scalar(db.select(Peer).where(Peer.url == base, Peer.status == "trusted"))


def peer_by_origin(origin: str) -> Peer | None:
    return db.session.scalar(db.select(Peer).where(Peer.origin == origin, Peer.status == "trusted"))


def trusted_peers() -> list[Peer]:
    return list(db.session.scalars(db.select(Peer).where(Peer.status == "trusted").order_by(Peer.name)))


def add_peer(url: str, *, name: str | None = None, keys: PublishedKeys | None = None, actor=None) -> Peer:
    """Trust the registry at ``url`` with the keys it publishes now (or ``keys``, checked beforehand by the admin):
    they are pinned, and a later key change needs this decision again. Adding a known peer again re-pins its keys.
    Raises peer_unreachable."""
    base = normalize_url(url)
    keys = keys or fetch_published_keys(base)
    peer = db.session.scalar(db.select(Peer).where((Peer.url == base) | (Peer.origin == keys.origin)))
    if peer is None:
        peer = Peer(url=base, origin=keys.origin, name=name or keys.origin, verifier_keys=keys.verifier_keys,
                    keys_sha256=keys.fingerprint)
        db.session.add(peer)
    else:
        peer.url, peer.origin, peer.status = base, keys.origin, "trusted"
        peer.verifier_keys, peer.keys_sha256 = keys.verifier_keys, keys.fingerprint
        peer.name = name or peer.name
    db.session.flush()
    record_event("exchange.peer_trusted", actor=actor, url=base, origin=keys.origin, keys=keys.fingerprint)
    return peer


def remove_peer(url: str, *, actor=None) -> Peer:
    """Stop trusting a peer (its transferred entries stay, with their origin). Raises peer_unknown."""
    peer = peer_by_url(url)
    if peer is None:
        raise ExchangeError("peer_unknown", field="url")
    peer.status = "removed"
    record_event("exchange.peer_removed", actor=actor, url=peer.url, origin=peer.origin)
    return peer


def check_consistency(peer: Peer, checkpoint: Checkpoint) -> None:
    """The peer's checkpoint must be consistent with the largest one seen of it before (an RFC 9162 consistency
    proof from the peer, checked here); the larger of the two is remembered. Raises checkpoint_inconsistent,
    peer_unreachable."""
    if peer.seen_size is None or peer.seen_root is None:
        _remember(peer, checkpoint)
        return
    first, second = sorted([(peer.seen_size, peer.seen_root), (checkpoint.size, checkpoint.root)])
    if first[0] == second[0]:
        consistent = first[1] == second[1]
    elif first[0] == 0:
        consistent = True
    elif checkpoint.size > peer.seen_size and checkpoint.size > latest_size(peer):
        consistent = False  # a tree larger than any the peer has signed is not the peer's log: a fork ahead of it
    else:
        data = _get_json(peer.url + "/api/v1/ledger/proof/consistency", first=first[0], second=second[0])
        try:
            proof = [bytes.fromhex(node) for node in data.get("consistency") or []]
        except (TypeError, ValueError):
            raise ExchangeError("peer_unreachable") from None
        consistent = verify_consistency(first[0], second[0], first[1], second[1], proof)
    if not consistent:
        record_event("exchange.peer_inconsistent", actor=None, origin=peer.origin, seen=peer.seen_size,
                     offered=checkpoint.size)
        raise ExchangeError("checkpoint_inconsistent")
    if checkpoint.size > peer.seen_size:
        _remember(peer, checkpoint)


def latest_size(peer: Peer) -> int:
    """The size of the peer's latest published checkpoint, verified with its pinned keys. Raises peer_unreachable,
    checkpoint_invalid."""
    try:
        response = requests.get(peer.url + WELL_KNOWN + "/checkpoint", timeout=PEER_TIMEOUT, allow_redirects=False)
        response.raise_for_status()
    except requests.RequestException:
        raise ExchangeError("peer_unreachable") from None
    return open_peer_checkpoint(peer, response.text).size


def _remember(peer: Peer, checkpoint: Checkpoint) -> None:
    peer.seen_size, peer.seen_root = checkpoint.size, checkpoint.root
    peer.seen_note = checkpoint.body


def open_peer_checkpoint(peer: Peer, note: str) -> Checkpoint:
    """A checkpoint note of the peer's, verified with its pinned keys. Raises checkpoint_invalid."""
    try:
        return open_note(note or "", peer.verifier_keys, origin=peer.origin)
    except NoteError:
        raise ExchangeError("checkpoint_invalid") from None


# --- the import (the receiving side) -------------------------------------------------------------------------------

@dataclass
class TransferResult:
    transfer: Transfer
    added: int
    updated: int
    unchanged: int
    repeated: bool  #: the same bundle was imported before: nothing changed

    @property
    def counted_minutes(self) -> int:
        """The approved minutes from the transfer's origin that now count for the volunteer here."""
        return int(db.session.scalar(db.select(db.func.coalesce(db.func.sum(TransferredService.minutes), 0)).where(
            TransferredService.volunteer_id == self.transfer.volunteer_id,
            TransferredService.origin == self.transfer.peer.origin,
            TransferredService.status == "approved")))


def _same_person(volunteer: Volunteer, verified: VerifiedBundle) -> None:
    if not current_app.config.get("EXCHANGE_ID_KEY"):
        raise ExchangeError("exchange_not_configured")
    theirs = verified.volunteer.get("id_hash")
    if not isinstance(theirs, str) or not theirs:
        raise ExchangeError("identity_unverifiable")
    ours = exchange_id_hash(volunteer.id_type, decrypt_id_number(volunteer.id_number_encrypted))
    name = unicodedata.normalize("NFC", str(verified.volunteer.get("name") or "")).strip()
    if theirs != ours or verified.volunteer.get("id_type") != volunteer.id_type or name != volunteer.name:
        raise ExchangeError("identity_mismatch")


def verify_from_peer(data, peer: Peer | None = None) -> tuple[Peer, VerifiedBundle]:
    """The bundle verified against its issuer's pinned keys (the issuer must be a trusted peer) and checked
    consistent with what was seen of the issuer's log. Raises the codes of verify_bundle, untrusted_issuer,
    checkpoint_inconsistent, peer_unreachable."""
    try:
        origin = bundle_origin(data)
        if origin == log_origin():  # our own record would count twice
            raise ExchangeError("own_record")
        if peer is None:
            peer = peer_by_origin(origin)
        if peer is None or peer.origin != origin:
            raise ExchangeError("untrusted_issuer")
        verified = verify_bundle(data, peer.verifier_keys, origin=peer.origin)
    except BundleError as error:
        raise _refuse(error) from None
    check_consistency(peer, verified.checkpoint)
    return peer, verified


def import_bundle(volunteer: Volunteer, data, *, peer: Peer | None = None, via: str = "file", actor=None,
                  ) -> TransferResult:
    """Import a peer's bundle of this volunteer's record: verified (:func:`verify_from_peer`), of the same person
    (the exchange hash of the ID number, its type and the name), its service entries kept with their origin.
    Each origin entry is one row however often it comes; a bundle with a larger checkpoint brings the origin's
    later decisions; the same bundle again changes nothing. Flushes; the caller commits. Raises the codes of
    verify_from_peer, identity_mismatch, identity_unverifiable, exchange_not_configured."""
    if via not in ("code", "file"):
        raise ValueError(via)
    try:
        bundle = load_bundle(data)
    except BundleError as error:
        raise _refuse(error) from None
    peer, verified = verify_from_peer(bundle, peer)
    _same_person(volunteer, verified)
    previous = db.session.scalar(db.select(Transfer).where(Transfer.volunteer_id == volunteer.id,
                                                           Transfer.bundle_sha256 == verified.sha256))
    if previous is not None:
        return TransferResult(previous, 0, 0, len(verified.services), repeated=True)
    transfer = Transfer(volunteer_id=volunteer.id, peer_id=peer.id, bundle_sha256=verified.sha256,
                        bundle=canonical_json(bundle).decode("utf-8"), checkpoint_size=verified.checkpoint.size,
                        via=via, actor_id=getattr(actor, "id", None))
    db.session.add(transfer)
    db.session.flush()
    existing = {row.source_entry_id: row for row in db.session.scalars(db.select(TransferredService).where(
        TransferredService.origin == peer.origin,
        TransferredService.source_entry_id.in_([s.entry_id for s in verified.services])))}
    added = updated = unchanged = 0
    names = verified.organizations
    for service in verified.services:
        row = existing.get(service.entry_id)
        if row is not None and row.volunteer_id != volunteer.id:
            raise ExchangeError("identity_mismatch")  # the origin's entry is already another volunteer's here
        if row is None:
            db.session.add(TransferredService(
                volunteer_id=volunteer.id, transfer_id=transfer.id, origin=peer.origin,
                source_entry_id=service.entry_id, leaf_index=service.leaf_index,
                as_of_size=verified.checkpoint.size, organization_code=service.organization[:16],
                organization_name=str(names.get(service.organization) or service.organization)[:200],
                activity_title=service.text.get("activity_title"), place=service.text.get("place"),
                content=service.text.get("content"), service_date=service.service_date,
                started_at=service.started_at, ended_at=service.ended_at, status=service.status,
                minutes=service.minutes))
            added += 1
        elif verified.checkpoint.size > row.as_of_size and (row.status, row.minutes) != (service.status,
                                                                                             service.minutes):
            row.status, row.minutes = service.status, service.minutes
            row.as_of_size, row.transfer_id = verified.checkpoint.size, transfer.id
            updated += 1
        else:
            unchanged += 1
    transfer.entries_added, transfer.entries_updated = added, updated
    db.session.flush()
    record_event("exchange.record_transferred", actor=actor, target=volunteer,
                 volunteer=volunteer.volunteer_number, origin=peer.origin, added=added, updated=updated, via=via)
    return TransferResult(transfer, added, updated, unchanged, repeated=False)


def fetch_bundle(peer: Peer, code: str) -> dict:
    """Ask the peer for the bundle behind a volunteer's transfer code (it spends the code). Raises code_invalid,
    code_expired, code_used, peer_unreachable."""
    try:
        with requests.post(peer.url + "/api/v1/exchange/transfers", json={"code": code}, timeout=PEER_TIMEOUT,
                           allow_redirects=False, stream=True) as response:
            body = response.raw.read(MAX_BUNDLE_BYTES + 1, decode_content=True)
        if len(body) > MAX_BUNDLE_BYTES:
            raise ValueError("larger than a bundle may be")
        data = json.loads(body)
    except (requests.RequestException, ValueError, OSError):
        raise ExchangeError("peer_unreachable") from None
    if response.status_code != 200:
        error = data.get("error") if isinstance(data, dict) else None
        code_name = error.get("code") if isinstance(error, dict) else None
        if code_name in ("code_invalid", "code_expired", "code_used"):
            raise ExchangeError(code_name, field="code")
        raise ExchangeError("peer_unreachable")
    return data


def transfer_in(volunteer: Volunteer | None, url: str, code: str, *, actor=None) -> TransferResult:
    """The volunteer's record on the trusted peer at ``url``, fetched with their transfer code and imported here
    (:func:`import_bundle`). Raises no_volunteer_record, peer_unknown, code_invalid (a code that cannot be one is
    not sent), the codes of fetch_bundle and of import_bundle."""
    if volunteer is None:
        raise ExchangeError("no_volunteer_record")
    if not current_app.config.get("EXCHANGE_ID_KEY"):
        raise ExchangeError("exchange_not_configured")
    peer = peer_by_url(url)
    if peer is None:
        raise ExchangeError("peer_unknown", field="url")
    normalized = normalize_checked_code(code or "")
    if normalized is None:
        raise ExchangeError("code_invalid", field="code")
    bundle = fetch_bundle(peer, normalized)
    return import_bundle(volunteer, bundle, peer=peer, via="code", actor=actor)


def transferred_services(volunteer: Volunteer) -> list[TransferredService]:
    """The volunteer's service recorded elsewhere and transferred here, the latest served first."""
    return list(db.session.scalars(db.select(TransferredService).where(
        TransferredService.volunteer_id == volunteer.id).order_by(TransferredService.service_date.desc(),
                                                                  TransferredService.id.desc())))

