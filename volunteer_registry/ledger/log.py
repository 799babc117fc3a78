"""The ledger's log: every entry becomes a leaf of a Merkle tree (RFC 6962) in id order, batches are sealed by a
signed checkpoint (C2SP signed note), proofs are served from the stored leaves, and `flask ledger verify`
recomputes all of it from the rows. The entries and their decisions are services.py; this module only reads them."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import current_app
from sqlalchemy.exc import IntegrityError

from .. import signals
from ..activities.models import Activity
from ..extensions import db
from ..keys.ids import key_id, verifier_key
from ..keys.services import checkpoint_verifier_keys, current_key, private_key_of
from ..organizations.models import Organization
from ..volunteers.vault import volunteer_pseudonym
from . import aggregates
from .checkpoint import checkpoint_body, open_note, sign_note
from .leaves import text_sha256
from .merkle import CompactRange, StoredTree, leaf_hash
from .models import LedgerCheckpoint, LedgerEntry, LedgerLeaf, LedgerState
from .services import fold_ledger

#: entries per batch of the Merkle log
BATCH_LIMIT = 5000


# --- the Merkle log ------------------------------------------------------------------------------------------------

def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if moment is not None else None


def _code(model, key):
    return db.session.scalar(db.select(model.code).where(model.id == key)) if key is not None else None


#: the entry's columns a leaf is made of (besides the organization's and the activity's codes)
LEAF_COLUMNS = ("id", "kind", "volunteer_id", "organization_id", "activity_id", "refers_to_id", "session_id",
                "minutes", "started_at", "ended_at", "service_date", "source", "flags", "actor_id", "created_at",
                "activity_title", "place", "recipient", "content", "person_in_charge", "reason", "certificate_code")


def leaf_bytes(values, organization_code: str | None, activity_code: str | None) -> bytes:
    """The leaf of an entry given as its column values (a row or a mapping with ``LEAF_COLUMNS``): canonical JSON
    (RFC 8785: sorted keys, no spaces, UTF-8; integers and strings only). The volunteer is a keyed pseudonym and the
    free text is only hashed, so no leaf names anyone."""
    service_date = values["service_date"]
    record = {
        "v": 1, "id": values["id"], "kind": values["kind"], "volunteer": volunteer_pseudonym(values["volunteer_id"]),
        "organization": organization_code, "activity": activity_code,
        "refers_to": values["refers_to_id"], "session": values["session_id"], "minutes": values["minutes"],
        "started_at": _iso(values["started_at"]), "ended_at": _iso(values["ended_at"]),
        "service_date": service_date.isoformat() if service_date else None, "source": values["source"],
        "flags": sorted(values["flags"] or []), "actor": values["actor_id"], "created_at": _iso(values["created_at"]),
        "text_sha256": text_sha256(values),
    }
    if values["certificate_code"] is not None:  # only certificate entries carry it: older leaves keep their bytes
        record["certificate"] = values["certificate_code"]
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def canonical_bytes(entry: LedgerEntry) -> bytes:
    """The leaf of ``entry`` (see :func:`leaf_bytes`)."""
    return leaf_bytes({name: getattr(entry, name) for name in LEAF_COLUMNS},
                      _code(Organization, entry.organization_id), _code(Activity, entry.activity_id))


def signing_key() -> Ed25519PrivateKey:
    """The current checkpoint key (rotated by `flask keys rotate`)."""
    return private_key_of(current_key("checkpoint"))


def public_key_bytes() -> bytes:
    return signing_key().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def log_origin() -> str:
    return current_app.config["LEDGER_ORIGIN"]


def note_verifier_key() -> str:
    """The current checkpoint key as a verifier key, ``<origin>+<key id>+<base64 key>`` (C2SP signed-note)."""
    return verifier_key(log_origin(), public_key_bytes())


def note_key_id() -> str:
    return key_id(log_origin(), public_key_bytes()).hex()


def latest_checkpoint() -> LedgerCheckpoint | None:
    return db.session.scalar(db.select(LedgerCheckpoint).order_by(LedgerCheckpoint.tree_size.desc()).limit(1))


def extend_log(limit: int = BATCH_LIMIT) -> LedgerCheckpoint | None:
    """One batch: the entries not yet in the log become its next leaves, and a signed checkpoint of the new tree is
    stored. Returns it, or None when there was nothing to add (or another process added the same batch first).
    The log's first call stores the checkpoint of the empty tree."""
    last = latest_checkpoint()
    if db.engine.dialect.name == "postgresql":  # one batch at a time across processes
        db.session.execute(db.text("SELECT pg_advisory_xact_lock(914862)"))
        last = latest_checkpoint()
    frontier = CompactRange.from_hex(last.tree_size, last.frontier) if last else CompactRange()
    pending = db.session.scalars(db.select(LedgerEntry).outerjoin(LedgerLeaf, LedgerLeaf.entry_id == LedgerEntry.id)
                                 .where(LedgerLeaf.entry_id.is_(None)).order_by(LedgerEntry.id).limit(limit)).all()
    if last is not None and not pending:
        return None
    for entry in pending:
        digest = leaf_hash(canonical_bytes(entry))
        db.session.add(LedgerLeaf(leaf_index=frontier.size, entry_id=entry.id, leaf_hash=digest))
        frontier.append(digest)
    root = frontier.root()
    note = sign_note(checkpoint_body(log_origin(), frontier.size, root), log_origin(), signing_key())
    checkpoint = LedgerCheckpoint(tree_size=frontier.size, root_hash=root, note=note, frontier=frontier.to_hex())
    db.session.add(checkpoint)
    try:
        db.session.flush()
    except IntegrityError:  # a concurrent batch took these leaf indices (SQLite has no advisory lock)
        db.session.rollback()
        return None
    return checkpoint


def seal_all(*, chunk: int = 20_000, progress=None) -> LedgerCheckpoint | None:
    """Every entry not yet in the log becomes a leaf, in id order, and one signed checkpoint covers them all: the
    bulk path for a large load (the demo's province), where ``extend_log``'s batches of ORM objects and per-entry
    code lookups would take hours. Leaves are the same bytes as ``extend_log`` makes (one function builds both);
    rows are read and leaves written ``chunk`` at a time. ``progress(n)`` is told how many were sealed. Flushes;
    the caller commits. Returns the checkpoint, or None when nothing was pending."""
    last = latest_checkpoint()
    frontier = CompactRange.from_hex(last.tree_size, last.frontier) if last else CompactRange()
    organizations = dict(db.session.execute(db.select(Organization.id, Organization.code)).all())
    activities = dict(db.session.execute(db.select(Activity.id, Activity.code)).all())
    columns = [getattr(LedgerEntry, name) for name in LEAF_COLUMNS]
    after, added = 0, 0
    while True:  # the pending entries in id order, as extend_log takes them; each chunk starts where the last ended
        rows = db.session.execute(
            db.select(*columns).outerjoin(LedgerLeaf, LedgerLeaf.entry_id == LedgerEntry.id)
            .where(LedgerLeaf.entry_id.is_(None), LedgerEntry.id > after)
            .order_by(LedgerEntry.id).limit(chunk)).mappings().all()
        if not rows:
            break
        leaves = []
        for row in rows:
            digest = leaf_hash(leaf_bytes(row, organizations.get(row["organization_id"]),
                                          activities.get(row["activity_id"])))
            leaves.append({"leaf_index": frontier.size, "entry_id": row["id"], "leaf_hash": digest})
            frontier.append(digest)
        db.session.execute(db.insert(LedgerLeaf), leaves)
        after, added = rows[-1]["id"], added + len(rows)
        if progress:
            progress(len(rows))
    if last is not None and not added:
        return None
    root = frontier.root()
    note = sign_note(checkpoint_body(log_origin(), frontier.size, root), log_origin(), signing_key())
    checkpoint = LedgerCheckpoint(tree_size=frontier.size, root_hash=root, note=note, frontier=frontier.to_hex())
    db.session.add(checkpoint)
    db.session.flush()
    return checkpoint


def leaf_hashes(start: int, end: int) -> list[bytes]:
    return list(db.session.scalars(db.select(LedgerLeaf.leaf_hash).where(
        LedgerLeaf.leaf_index >= start, LedgerLeaf.leaf_index < end).order_by(LedgerLeaf.leaf_index)))


# --- verification --------------------------------------------------------------------------------------------------

@dataclass
class VerifyReport:
    leaves: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_entry: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_ledger(progress=None) -> VerifyReport:
    """Recompute every leaf from the rows, every checkpoint's root from the recomputed leaves (and check its
    signature), and the projection from the entries. Reports the first entry that no longer matches."""
    report = VerifyReport()
    checkpoints = {c.tree_size: c for c in db.session.scalars(db.select(LedgerCheckpoint))}
    keys = checkpoint_verifier_keys()
    frontier = CompactRange()

    def check_checkpoint(size: int) -> None:
        checkpoint = checkpoints.get(size)
        if checkpoint is None:
            return
        report.checkpoints += 1
        try:
            signed = open_note(checkpoint.note, keys, origin=log_origin())
        except ValueError as error:
            report.problems.append(f"checkpoint {size}: the signature does not verify ({error})")
            return
        root = frontier.root()
        if signed.size != size or signed.root != root or checkpoint.root_hash != root:
            report.problems.append(f"checkpoint {size}: the root recomputed from the entries differs from the "
                                   f"signed root")

    check_checkpoint(0)
    query = (db.select(LedgerLeaf.leaf_index, LedgerLeaf.leaf_hash, LedgerEntry)
             .join(LedgerEntry, LedgerEntry.id == LedgerLeaf.entry_id).order_by(LedgerLeaf.leaf_index))
    for index, stored, entry in db.session.execute(query.execution_options(yield_per=1000)):
        if index != frontier.size:
            report.problems.append(f"leaf {frontier.size} is missing")
            break
        recomputed = leaf_hash(canonical_bytes(entry))
        if recomputed != stored and report.first_bad_entry is None:
            report.first_bad_entry = entry.id
            report.problems.append(f"entry {entry.id} (leaf {index}) no longer matches its leaf hash")
        frontier.append(recomputed)
        report.leaves += 1
        check_checkpoint(frontier.size)
        if progress:
            progress(1)
    if report.leaves < max(checkpoints, default=0):
        report.problems.append(f"the log has {report.leaves} leaves; a checkpoint signed {max(checkpoints)}")
    folded = fold_ledger()
    for state in db.session.scalars(db.select(LedgerState)):
        expected = folded.get(state.entry_id)
        if expected is None or (expected["status"], expected["minutes"], expected["pending_correction_id"]) != (
                state.status, state.minutes, state.pending_correction_id):
            report.problems.append(f"the totals' record of entry {state.entry_id} differs from the ledger")
            break
    if aggregates.stored_months() != aggregates.counted_months():
        report.problems.append("the monthly totals (service_months) differ from the entries' states")
    return report


def close_ended_and_extend() -> tuple[int, LedgerCheckpoint | None]:
    """The periodic batch: batch_due lets check-in close the sessions left open at activities that have ended (they
    become entries), then the log is extended. Returns (sessions closed, the new checkpoint or None)."""
    closed = sum(count or 0 for _receiver, count in signals.batch_due.send(None, now=None))
    return closed, extend_log()


def stored_tree() -> StoredTree:
    """The log's tree over the stored leaf hashes, for proofs (a fresh one per request: it caches subtrees)."""
    return StoredTree(leaf_hashes)
