"""Public codes that people read aloud or type: no look-alike characters (0/O, 1/I/L, 2/Z, 5/S, 8/B, U/V)."""
from __future__ import annotations

import re
import secrets

ALPHABET = "34679ACDEFGHJKMNPQRTUWXY"  # even size: Luhn mod N needs it to catch every single typo
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}


def random_code(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def check_character(body: str) -> str:
    """Luhn mod N check character over ``body``: catches any single typo and most swaps."""
    n = len(ALPHABET)
    factor, total = 2, 0
    for ch in reversed(body):
        addend = factor * _VALUE[ch]
        factor = 1 if factor == 2 else 2
        total += addend // n + addend % n
    return ALPHABET[(n - total % n) % n]


def new_checked_code() -> str:
    """Three groups of four characters (``K7QF-3MXA-9T44``): eleven random ones and a check character."""
    body = random_code(11)
    raw = body + check_character(body)
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalize_checked_code(text: str) -> str | None:
    """The canonical form of a typed code of :func:`new_checked_code`'s shape, or None when it cannot be one (bad
    character, length or check character)."""
    raw = re.sub(r"[\s\-]", "", (text or "").upper())
    if len(raw) != 12 or any(ch not in _VALUE for ch in raw):
        return None
    if check_character(raw[:11]) != raw[11]:
        return None
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def new_volunteer_number() -> str:
    """A volunteer's number: a checked code (``K7QF-3MXA-9T44``)."""
    return new_checked_code()


def normalize_volunteer_number(text: str) -> str | None:
    """The canonical form of a typed volunteer number, or None when it cannot be one (bad character or check)."""
    return normalize_checked_code(text)


def new_public_code(length: int = 8) -> str:
    return random_code(length)
