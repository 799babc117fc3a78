"""Text that people type: folding of full-width characters, what text may never hold, the one rule for names,
titles and reasons (:func:`check_plain_text`), and how typed text is shown without changing what surrounds it."""
from __future__ import annotations

import re
import unicodedata

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from .errors import DomainError


def fold(text: str | None) -> str:
    """NFKC-normalised text: full-width digits and letters (１２３ＡＢＣ) become ASCII, as people expect."""
    return unicodedata.normalize("NFKC", text or "")


def normalize_phone(text: str) -> str | None:
    """Digits of a mainland mobile or landline number (with optional +86 and area code), or None."""
    digits = re.sub(r"[\s\-()]", "", fold(text))
    digits = re.sub(r"^\+?86", "", digits)
    if re.fullmatch(r"1[3-9][0-9]{9}", digits) or re.fullmatch(r"0[0-9]{9,11}", digits):
        return digits
    return None


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


# --- names, titles and reasons ---------------------------------------------------------------------------------------

#: the Unicode Bidi_Control characters: embeddings and overrides (U+202A–U+202E), isolates (U+2066–U+2069) and the
#: marks (LRM U+200E, RLM U+200F, ALM U+061C). Letters carry their own direction, Arabic-script Uyghur included, and
#: pages isolate each value (:func:`isolate`, the ``bdi`` filter), so a name or a reason never needs one; with one a
#: value can show its characters in another order than they are ("Alice\u202egnp.exe" shows as "Aliceexe.png").
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_BIDI_CONTROL_RE = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")
#: the line breaks and tab a multi-line text (a reason, a description) may hold
_MULTILINE_CONTROLS = frozenset("\t\n\r\u2028\u2029")
#: characters that show nothing although they are not format characters: Hangul fillers, Mongolian and other
#: variation selectors, the combining grapheme joiner, the Braille blank (Unicode's Default_Ignorable_Code_Point
#: beyond the Cf category, and U+2800)
_BLANKS = re.compile("[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\ufe00-\ufe0f\uffa0"
                     "\U000e0100-\U000e01ef]")

TEXT_MESSAGES = {
    "text_bidi_control": _l("Remove the invisible direction control %(character)s: it can make text read "
                            "differently from what it is. Typing the text again removes it."),
    "text_control_character": _l("Remove the control character %(character)s (an invisible character, or a line "
                                 "break where only one line is possible). Typing the text again removes it."),
    "text_invisible_only": _l("Type visible text: this holds only spaces or invisible characters."),
}


class TextError(DomainError):
    messages = TEXT_MESSAGES


def text_problem(text: str, *, multiline: bool = False) -> tuple[str, str] | None:
    """The code of the first rule of :func:`check_plain_text` that ``text`` (already normalised) breaks, with the
    offending character as U+XXXX ("" for text_invisible_only); None when it breaks none."""
    for char in text:
        if char in BIDI_CONTROLS:
            return "text_bidi_control", f"U+{ord(char):04X}"
    for char in text:
        if multiline and char in _MULTILINE_CONTROLS:
            continue
        if unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp"):
            return "text_control_character", f"U+{ord(char):04X}"
    if text and all(char.isspace() or unicodedata.category(char) in ("Cf", "Zs", "Zl", "Zp", "Cc")
                    or _BLANKS.fullmatch(char) for char in text):
        return "text_invisible_only", ""
    return None


def check_plain_text(value: str | None, *, multiline: bool = False, field: str | None = None,
                     error: type[DomainError] = TextError) -> str:
    """A name, title or reason someone typed, as it is kept: NFC, without surrounding whitespace ("" for none).

    Refused, as ``error(code, field=field)``: a bidirectional control (text_bidi_control); a control character, or
    a line break or tab unless ``multiline`` (text_control_character); a value of nothing but spaces and invisible
    characters (text_invisible_only). Zero-width joiners and other format characters inside visible text stay:
    scripts and emoji need them. Every form, service, API call, import and command that takes such text calls
    this, so the rule is declared here only. ``error`` lets a part raise its own DomainError class (the views
    that catch it then show the message on ``field``)."""
    text = unicodedata.normalize("NFC", "" if value is None else str(value)).strip()
    problem = text_problem(text, multiline=multiline)
    if problem is not None:
        code, character = problem
        message = LazyString(lambda: str(TEXT_MESSAGES[code]) % {"character": character})
        raise error(code, message, field=field, character=character)
    return text


def without_bidi_controls(text: str) -> str:
    """``text`` without bidirectional controls: how a value kept before they were refused is shown."""
    return _BIDI_CONTROL_RE.sub("", text)


#: FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE: plain text between them keeps its direction to itself
FSI, PDI = "\u2068", "\u2069"
_RIGHT_TO_LEFT = frozenset(("R", "AL", "AN"))


def isolate(text: object) -> str:
    """Typed text for plain-text output (emails, short messages, notifications): without bidirectional controls,
    and, when it holds right-to-left letters, between FSI and PDI, so that it cannot change the direction of the
    sentence around it. Left-to-right text (Chinese, Tibetan, English) comes back unchanged."""
    text = without_bidi_controls("" if text is None else str(text))
    if any(unicodedata.bidirectional(char) in _RIGHT_TO_LEFT for char in text):
        return FSI + text + PDI
    return text
