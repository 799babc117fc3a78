"""The bulk sealing path (seal_all) makes the very leaves extend_log makes, continues the same tree, and leaves a
log that `flask ledger verify` accepts."""
from __future__ import annotations

import datetime as dt

from volunteer_registry.extensions import db
from volunteer_registry.ledger.log import canonical_bytes, extend_log, seal_all, verify_ledger
from volunteer_registry.ledger.merkle import CompactRange, leaf_hash
from volunteer_registry.ledger.models import LedgerCheckpoint, LedgerEntry, LedgerLeaf
from volunteer_registry.models import utcnow

from ..certificates.conftest import approved_service

T = dt.timedelta


def test_bulk_sealing_continues_the_log_with_the_same_leaves(make):
    now = utcnow().replace(microsecond=0)
    activity = make.activity(title="湟水河清洁", starts_at=now - T(days=20), ends_at=now + T(days=1))
    people = [make.volunteer(name=name) for name in ("卓玛", "扎西", "次仁")]
    approved_service(make, activity, people[0], 90, days_ago=5)
    db.session.commit()
    assert extend_log() is not None  # the first entries through the ordinary batch
    db.session.commit()
    before = db.session.scalar(db.select(db.func.count()).select_from(LedgerLeaf))
    for days, person in enumerate(people, start=1):
        approved_service(make, activity, person, 30 * days, days_ago=days)
    db.session.commit()
    sealed = []
    checkpoint = seal_all(chunk=2, progress=sealed.append)  # chunks smaller than the work, to cross their edges
    db.session.commit()
    entries = db.session.scalars(db.select(LedgerEntry).order_by(LedgerEntry.id)).all()
    leaves = db.session.scalars(db.select(LedgerLeaf).order_by(LedgerLeaf.leaf_index)).all()
    assert sum(sealed) == len(entries) - before > 0 and len(leaves) == len(entries)
    assert [leaf.entry_id for leaf in leaves] == [entry.id for entry in entries]
    for leaf, entry in zip(leaves, entries, strict=True):
        assert leaf.leaf_hash == leaf_hash(canonical_bytes(entry)), entry.id
    assert checkpoint.tree_size == len(entries)
    assert checkpoint.root_hash == CompactRange.from_leaves(leaf.leaf_hash for leaf in leaves).root()
    assert not verify_ledger().problems
    assert seal_all() is None  # nothing left to seal
    assert db.session.scalar(db.select(db.func.count()).select_from(LedgerCheckpoint)) == 2  # the batch, the bulk
