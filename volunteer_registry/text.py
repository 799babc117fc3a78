"""Text that people type: folding of full-width characters, and what text may never hold."""
from __future__ import annotations

import re
import unicodedata


def fold(text: str | None) -> str:
    """NFKC-normalised text: full-width digits and letters (１２３ＡＢＣ) become ASCII, as people expect."""
    return unicodedata.normalize("NFKC", text or "")


_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")


def is_storable(text: str) -> bool:
    """False for text no database column can hold: NUL characters and lone UTF-16 surrogates."""
    return _FORBIDDEN.search(text) is None


def all_storable(value) -> bool:
    """Whether every string inside a parsed JSON value (or a string itself) is storable."""
    if isinstance(value, str):
        return is_storable(value)
    if isinstance(value, dict):
        return all(all_storable(k) and all_storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(all_storable(v) for v in value)
    return True
