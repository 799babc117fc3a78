"""The exchange format's names, declared once (docs/EXCHANGE.md): the formats and their versions, the feed's
categories and actions, the peers' statuses, and every refusal code with what it means."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..schema import Raw, Schema, Text

#: a volunteer's whole record, signed (``GET /api/v1/me/record``)
BUNDLE_FORMAT = "volunteer-registry/record-bundle/1"
#: the first line of the signed note that signs a bundle (the log's checkpoint key signs it; a checkpoint's first
#: line is the log's origin, so neither can pass for the other)
BUNDLE_NOTE_HEADER = "volunteer-registry/record-bundle/1"
#: a page of the incremental feed (``GET /api/v1/exchange/records``, and the push)
FEED_FORMAT = "volunteer-registry/exchange-feed/1"

#: the five record categories of the national rules, and the organizations and certificates beside them
CATEGORIES = ("volunteer", "service", "training", "award", "evaluation", "organization", "certificate")
#: upsert: the record as it is now; decision: a ledger entry deciding about a service entry (its ``refers_to``);
#: delete: the record is gone; anonymise: the person's details are erased, their service stays under the key
ACTIONS = ("upsert", "decision", "delete", "anonymise")
PEER_STATUSES = ("trusted", "removed")

#: a transfer code's life and length (groups of four of codes.ALPHABET, read aloud)
TRANSFER_CODE_HOURS = 24
TRANSFER_CODE_LENGTH = 12

#: why a bundle, a transfer or a feed page is refused: code → what it means (the pages and the API read these)
REFUSALS = {
    "malformed": _l("This is not a record bundle: it cannot be read."),
    "format_unknown": _l("The bundle is of a format this system does not know."),
    "untrusted_issuer": _l("The bundle comes from a system this one does not trust."),
    "own_record": _l("This record is this system's own: its service counts here already."),
    "signature_invalid": _l("The bundle's signature does not verify with the issuer's pinned keys."),
    "checkpoint_invalid": _l("The bundle's checkpoint is not signed by the issuer's pinned keys."),
    "checkpoint_inconsistent": _l("The issuer's log in the bundle is not consistent with what this system saw "
                                  "of it before."),
    "proof_invalid": _l("An entry of the bundle is not in the issuer's log as the bundle says."),
    "entry_mismatch": _l("An entry's details differ from what the issuer's log holds."),
    "summary_mismatch": _l("The bundle's totals differ from its entries."),
    "certificate_invalid": _l("A certificate in the bundle differs from its own signed token."),
    "identity_mismatch": _l("The record in the bundle is not of the same person as this account's record."),
    "identity_unverifiable": _l("The bundle carries no exchange hash of the ID number, so the person cannot be "
                                "matched."),
    "code_invalid": _l("The other system does not know this transfer code."),
    "code_expired": _l("This transfer code has expired: create a new one on the other system."),
    "code_used": _l("This transfer code has been used already: create a new one on the other system."),
    "peer_unknown": _l("This system does not trust that address: ask the platform's administrators to add it."),
    "peer_unreachable": _l("The other system could not be reached, or did not answer as a registry does."),
    "no_volunteer_record": _l("Fill in your volunteer profile first."),
    "exchange_not_configured": _l("Record exchange is not set up on this system (no exchange key)."),
}


# --- the API's bodies (declared once: the endpoints and the OpenAPI document read them) ----------------------------

#: POST /api/v1/exchange/transfers
TRANSFER_REQUEST = Schema("TransferRequest", {
    "code": Text(plain=False, required=True, description="The volunteer's one-time transfer code, e.g. K7QF-3MXA-9T44"),
})
#: a record bundle (docs/EXCHANGE.md; docs/exchange/record-bundle-1.schema.json)
BUNDLE_OUT = Schema("RecordBundle", {
    "format": Text(plain=False, required=True, description=BUNDLE_FORMAT),
    "record": Raw({"type": "object", "description": "The record: issuer, volunteer, checkpoint, entries with their "
                   "proofs, training, awards, evaluations, certificates, summary (docs/EXCHANGE.md)"}, required=True),
    "signature": Text(plain=False, required=True, description="A C2SP signed note over the record's digest"),
})
