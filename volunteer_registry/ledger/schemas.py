"""The shapes of the ledger's API: a bulk decision as it is sent, and a service entry as it is answered, declared
once; the API's parsing and serializing and the OpenAPI document read them from here."""
from __future__ import annotations

from ..schema import Boolean, Choice, Date, DateTime, Integer, ListOf, Nested, Number, Schema, Text
from .models import SOURCES, STATES

#: what an organization's staff decide on pending entries
ENTRY_DECISIONS = ("approve", "reject")
#: entries one call decides at most (decide_entries refuses more with too_many_entries)
DECISIONS_PER_CALL = 500
#: star levels by approved hours (DESIGN.md)
STAR_HOURS = (100, 300, 600, 1000, 1500)
#: ledger entry ids are positive 32-bit integers
ENTRY_ID_MAX = 2**31 - 1
#: why entries are rejected, as the approval page takes it (the volunteer sees it)
DECISION_REASON_MAX = 500

#: the approval page's decision (its reason is required to reject: the service's reason_required)
DECISION_FORM = Schema("EntryDecisionForm", {"reason": Text(DECISION_REASON_MAX, multiline=True)})

#: POST /entries/decisions
ENTRY_DECISION_REQUEST = Schema("EntryDecisions", {
    "entries": ListOf(Integer(1, ENTRY_ID_MAX), min_items=1, max_items=DECISIONS_PER_CALL, required=True),
    "decision": Choice(ENTRY_DECISIONS, required=True),
    "reason": Text(multiline=True, description="Required to reject."),
})

_PERSON = Schema("Person", {"volunteer_number": Text(plain=False), "name": Text(plain=False)})

#: a service entry as the API answers it
ENTRY_OUT = Schema("LedgerEntry", {
    "id": Integer(required=True), "status": Choice(STATES, required=True),
    "minutes": Integer(required=True, description="The minutes that count (after any correction)."),
    "recorded_minutes": Integer(), "flags": ListOf(Text(plain=False), required=True), "flagged": Boolean(),
    "source": Choice(SOURCES, nullable=True), "volunteer": Nested(_PERSON),
    "activity": Text(plain=False, nullable=True), "activity_title": Text(plain=False, nullable=True),
    "service_date": Date(nullable=True), "started_at": DateTime(nullable=True), "ended_at": DateTime(nullable=True),
    "place": Text(plain=False, nullable=True), "recipient": Text(plain=False, nullable=True),
    "content": Text(plain=False, nullable=True), "person_in_charge": Text(plain=False, nullable=True),
    "recorded_at": DateTime(),
})

#: POST /entries/decisions: what each decision decided
DECIDED_OUT = Schema("DecidedEntry", {
    "id": Integer(required=True, description="The service entry."),
    "decides": Choice(("entry", "correction"), required=True,
                      description="What was decided: the entry itself, or the correction waiting on it."),
    "status": Choice(("approved", "rejected"), required=True),
    "decision_entry": Integer(required=True, description="The approval or rejection entry."),
})
ENTRY_DECISION_RESULT_OUT = Schema("EntryDecisionResult", {
    "decision": Choice(ENTRY_DECISIONS, required=True), "entries": ListOf(DECIDED_OUT, required=True),
})

#: approved service in one organization, or in one year
HOURS_BY_ORGANIZATION_OUT = Schema("OrganizationHours", {
    "organization": Text(plain=False, required=True), "name": Text(plain=False, required=True),
    "minutes": Integer(required=True), "hours": Number(required=True),
})
HOURS_BY_YEAR_OUT = Schema("YearHours", {
    "year": Integer(required=True), "minutes": Integer(required=True), "hours": Number(required=True),
})

#: GET /volunteers/{number}/hours
HOURS_OUT = Schema("Hours", {
    "volunteer_number": Text(plain=False, required=True), "approved_minutes": Integer(required=True),
    "approved_hours": Number(required=True),
    "pending_minutes": Integer(required=True, nullable=True, description="The volunteer's own view only."),
    "stars": Integer(0, len(STAR_HOURS), required=True),
    "next_star_hours": Integer(required=True, nullable=True),
    "by_organization": ListOf(HOURS_BY_ORGANIZATION_OUT, required=True),
    "by_year": ListOf(HOURS_BY_YEAR_OUT, required=True, nullable=True, description="The volunteer's own view only."),
})

#: a leaf of the Merkle log: SHA-256 as lowercase hex
HEX_HASH_PATTERN = "^[0-9a-f]{64}$"


def _hash() -> Text:
    return Text(plain=False, required=True, pattern=HEX_HASH_PATTERN)


LEAF_OUT = Schema("Leaf", {"index": Integer(required=True), "leaf_hash": _hash()})

#: GET /ledger/leaves
LEAF_PAGE_OUT = Schema("LeafPage", {
    "tree_size": Integer(required=True), "start": Integer(required=True), "end": Integer(required=True),
    "leaves": ListOf(LEAF_OUT, required=True),
})
#: GET /ledger/proof/inclusion (RFC 9162 §2.1.3)
INCLUSION_PROOF_OUT = Schema("InclusionProof", {
    "index": Integer(required=True), "tree_size": Integer(required=True), "leaf_hash": _hash(),
    "audit_path": ListOf(_hash(), required=True),
})
#: GET /ledger/proof/consistency (RFC 9162 §2.1.4)
CONSISTENCY_PROOF_OUT = Schema("ConsistencyProof", {
    "first": Integer(required=True), "second": Integer(required=True),
    "consistency": ListOf(_hash(), required=True),
})
