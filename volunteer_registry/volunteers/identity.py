"""Identity documents: validation of the resident ID number (GB 11643) and masking for display."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

from flask_babel import lazy_gettext as _l

from ..text import fold

ID_TYPES = {
    "resident_id": _l("Resident ID card"),
    "passport": _l("Passport"),
    "hk_macao_permit": _l("Mainland travel permit for Hong Kong and Macao residents"),
    "taiwan_permit": _l("Mainland travel permit for Taiwan residents"),
    "foreign_permanent_residence": _l("Foreigner's permanent residence ID card"),
}

GENDERS = {"male": _l("Male"), "female": _l("Female")}

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
#: the provinces' two-digit codes (GB/T 2260), the first two characters of every resident ID
PROVINCE_CODES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)

_OTHER_PATTERNS = {
    "passport": re.compile(r"^[A-Z0-9]{5,17}$"),
    "hk_macao_permit": re.compile(r"^[HM][0-9]{8}([0-9]{2})?$"),
    "taiwan_permit": re.compile(r"^[0-9]{8}([0-9]{2})?$"),
    "foreign_permanent_residence": re.compile(r"^([A-Z]{3}[0-9]{12}|9[0-9]{17})$"),
}


def normalize_id_number(number: str) -> str:
    return re.sub(r"\s", "", fold(number)).upper()


def resident_id_check_character(first17: str) -> str:
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def resident_id_problem(number: str, *, birth_date: dt.date | None = None, gender: str | None = None,
                        today: dt.date | None = None) -> str | None:
    """The error code for a resident ID number that is not valid, or None.

    Checks the format, the province, the birth date (a real date, not in the future), the check character,
    and, when given, agreement with the stated birth date and gender.
    """
    if not re.fullmatch(r"[0-9]{17}[0-9X]", number):
        return "id_number_format"
    if number[:2] not in PROVINCE_CODES:
        return "id_number_region"
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return "id_number_birth_date"
    if born > (today or dt.date.today()) or born.year < 1900:
        return "id_number_birth_date"
    if resident_id_check_character(number[:17]) != number[17]:
        return "id_number_check_digit"
    if birth_date is not None and born != birth_date:
        return "id_number_birth_date_mismatch"
    if gender is not None:
        id_gender = "male" if int(number[16]) % 2 == 1 else "female"
        if gender != id_gender:
            return "id_number_gender_mismatch"
    return None


def id_number_problem(id_type: str, number: str, *, birth_date: dt.date | None = None,
                      gender: str | None = None) -> str | None:
    """The error code for an ID number that is not valid for its document type, or None."""
    if id_type not in ID_TYPES:
        return "id_type_unknown"
    if id_type == "resident_id":
        return resident_id_problem(number, birth_date=birth_date, gender=gender)
    if not _OTHER_PATTERNS[id_type].fullmatch(number):
        return "id_number_format"
    return None


def mask_id_number(number: str) -> str:
    """First 6 and last 4 characters kept; shorter numbers keep only their last 2."""
    if len(number) > 10:
        return number[:6] + "*" * (len(number) - 10) + number[-4:]
    return "*" * max(len(number) - 2, 0) + number[-2:]


TSHEG = "\u0f0b"  # the Tibetan syllable separator


def mask_name(name: str) -> str:
    """A name as shown to third parties (certificate verification): enough to match the person in front of you,
    not enough to identify a stranger. Chinese: the first and last characters (张*明, 欧**娜); Tibetan: the first
    syllable (བཀྲ་*); names written with spaces: the first word and initials (Maria F. G.). At most 24 characters,
    so the certificate's QR code stays small whatever the name."""
    name = unicodedata.normalize("NFC", " ".join((name or "").split()))
    if " " in name:
        first, *rest = name.split(" ")
        return (first[:16] + " " + " ".join(word[0] + "." for word in rest))[:24]
    if TSHEG in name.strip(TSHEG):
        first = name.split(TSHEG)[0]
        return first[:12] + TSHEG + "*"
    if len(name) <= 2:
        return name[:1] + "*"
    return name[0] + "*" * min(len(name) - 2, 3) + name[-1]


def age_on(birth_date: dt.date, day: dt.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))
