"""The unified social credit code of organizations (GB 32100-2015)."""
from __future__ import annotations

import re

from ..text import fold

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def normalize_credit_code(code: str) -> str:
    return re.sub(r"[\s\-]", "", fold(code)).upper()


def credit_code_check_character(first17: str) -> str:
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """The error code for a code that is not a valid unified social credit code, or None."""
    if len(code) != 18:
        return "credit_code_length"
    if any(ch not in _VALUE for ch in code):
        return "credit_code_characters"
    if not re.fullmatch(r"[0-9]{6}", code[2:8]):
        return "credit_code_region"
    if credit_code_check_character(code[:17]) != code[17]:
        return "credit_code_check_character"
    return None
