"""The parts of a leaf's canonical bytes that need no database (ledger/log.py builds leaves; exchange/verify.py
checks another registry's): the free text an entry's leaf commits to only by hash."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

#: the free-text fields of an entry that its leaf commits to by SHA-256 (``text_sha256``): they may name people
TEXT_FIELDS = ("activity_title", "place", "recipient", "content", "person_in_charge", "reason")


def text_sha256(values: Mapping) -> str:
    """The hex SHA-256 of the entry's free text as canonical JSON (keys sorted, no spaces, UTF-8, absent = null)."""
    text = {name: values.get(name) for name in TEXT_FIELDS}
    return hashlib.sha256(json.dumps(text, sort_keys=True, separators=(",", ":"),
                                     ensure_ascii=False).encode()).hexdigest()
