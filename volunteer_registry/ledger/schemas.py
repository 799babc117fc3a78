"""The shapes of the ledger's API: a bulk decision as it is sent, and a service entry as it is answered, declared
once; the API's parsing and serializing and the OpenAPI document read them from here."""
from __future__ import annotations

from ..schema import Boolean, Choice, Date, DateTime, Integer, ListOf, Nested, Schema, Text
from .models import SOURCES, STATES

#: what an organization's staff decide on pending entries
ENTRY_DECISIONS = ("approve", "reject")
#: entries one call decides at most (decide_entries refuses more with too_many_entries)
DECISIONS_PER_CALL = 500
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
