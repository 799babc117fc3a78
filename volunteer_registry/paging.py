"""The ``page`` query parameter of paginated lists."""
from __future__ import annotations

import re

MAX_PAGE = 100_000


def parse_page(value: str | None) -> int | None:
    """The page number (1 when absent), or None when ``value`` is not a page number from 1 to MAX_PAGE."""
    if value is None or value == "":
        return 1
    if re.fullmatch(r"[1-9][0-9]{0,5}", value) and int(value) <= MAX_PAGE:
        return int(value)
    return None
