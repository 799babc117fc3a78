"""The ledger's one rule for what counts, as a pure function: the entries of a ledger, folded in id order, give each
service entry its status, the minutes that count and the interval that counts. ``ledger.services.fold_ledger``
folds the stored entries with it (the definition the projection must equal), and a record bundle's verifier
(exchange/verify.py) folds the leaves of another registry's bundle with it: no Flask, no database."""
from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

#: what a decision makes of the service entry it refers to
DECIDED = {"approval": "approved", "rejection": "rejected", "annulment": "annulled"}


class Fact(NamedTuple):
    """What the fold reads of one entry."""

    id: int
    kind: str
    refers_to: int | None
    minutes: int | None
    started_at: object = None
    ended_at: object = None


def fold(entries: Iterable[Fact]) -> dict[int, dict]:
    """Service entry id → {status, minutes, started_at, ended_at, pending_correction_id}, folding ``entries`` in
    id order (they are sorted here).

    A correction waits until an approval refers to it (its minutes, and its times when it has them, then count)
    or a rejection does (it is dropped); an annulment drops a waiting one with the entry. Entries that refer to
    nothing known (another volunteer's, or missing) change nothing."""
    states: dict[int, dict] = {}
    corrections: dict[int, Fact] = {}
    for entry in sorted(entries, key=lambda fact: fact.id):
        if entry.kind == "service":
            states[entry.id] = {"status": "pending", "minutes": entry.minutes or 0, "started_at": entry.started_at,
                                "ended_at": entry.ended_at, "pending_correction_id": None}
        elif entry.kind == "correction" and entry.refers_to in states:
            corrections[entry.id] = entry
            states[entry.refers_to]["pending_correction_id"] = entry.id
        elif entry.refers_to in corrections:  # a decision about a correction
            correction = corrections.pop(entry.refers_to)
            state = states[correction.refers_to]
            state["pending_correction_id"] = None
            if entry.kind == "approval":
                state["minutes"] = correction.minutes or 0
                if correction.ended_at is not None:
                    state["started_at"], state["ended_at"] = correction.started_at, correction.ended_at
        elif entry.refers_to in states and entry.kind in DECIDED:
            state = states[entry.refers_to]
            state["status"] = DECIDED[entry.kind]
            if entry.kind == "annulment":
                state["pending_correction_id"] = None
    return states
