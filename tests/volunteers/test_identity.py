"""Identity numbers with real valid and invalid examples (GB 11643), masking, and readable volunteer numbers."""
import datetime as dt

import pytest

from volunteer_registry.codes import ALPHABET, new_volunteer_number, normalize_volunteer_number
from volunteer_registry.volunteers.identity import id_number_problem, mask_id_number, resident_id_problem

# the worked example of GB 11643-1999 (a woman born on 31 December 1949 in Chaoyang, Beijing)
STANDARD_EXAMPLE = "11010519491231002X"


@pytest.mark.parametrize("number", [STANDARD_EXAMPLE, "630102199005170014", "632701199804120425"])
def test_valid_resident_ids(number):
    # the two Qinghai numbers were checked by hand: weighted sum mod 11 → "10X98765432"
    assert resident_id_problem(number) is None


@pytest.mark.parametrize("number, code", [
    ("110105194912310021", "id_number_check_digit"),   # last character changed
    ("11010519491231002", "id_number_format"),         # 17 characters
    ("1101051949123100X2", "id_number_format"),        # X not last
    ("11010519491331002X", "id_number_birth_date"),    # month 13
    ("11010519490230002X", "id_number_birth_date"),    # 30 February
    ("11010520990101002X", "id_number_birth_date"),    # born in the future
    ("99010519491231002X", "id_number_region"),        # no province 99
    ("11010519491231O02X", "id_number_format"),        # letter O for zero
])
def test_invalid_resident_ids(number, code):
    assert resident_id_problem(number) == code


def test_resident_id_cross_checks_birth_date_and_gender():
    assert resident_id_problem(STANDARD_EXAMPLE, birth_date=dt.date(1949, 12, 31), gender="female") is None
    assert resident_id_problem(STANDARD_EXAMPLE, birth_date=dt.date(1949, 12, 30)) == "id_number_birth_date_mismatch"
    assert resident_id_problem(STANDARD_EXAMPLE, gender="male") == "id_number_gender_mismatch"


@pytest.mark.parametrize("id_type, number, ok", [
    ("passport", "E12345678", True),
    ("passport", "E1234", True),
    ("passport", "E-1234567", False),
    ("hk_macao_permit", "H12345678", True),
    ("hk_macao_permit", "X12345678", False),
    ("taiwan_permit", "12345678", True),
    ("taiwan_permit", "1234567A", False),
    ("foreign_permanent_residence", "USA123456789012", True),
    ("foreign_permanent_residence", "US1234567890", False),
    ("driving_licence", "123", False),
])
def test_other_documents(id_type, number, ok):
    assert (id_number_problem(id_type, number) is None) is ok


def test_masking_keeps_first_six_and_last_four():
    assert mask_id_number(STANDARD_EXAMPLE) == "110105********002X"
    assert mask_id_number("E12345678") == "*******78"


def test_volunteer_numbers_are_readable_and_self_checking():
    numbers = {new_volunteer_number() for _ in range(200)}
    assert len(numbers) == 200
    for number in numbers:
        assert len(number) == 14 and number[4] == number[9] == "-"
        assert set(number.replace("-", "")) <= set(ALPHABET)
        assert not set(number) & set("0O1IL2Z5S8BV")
        assert normalize_volunteer_number(number.lower().replace("-", " ")) == number
    number = numbers.pop()
    raw = number.replace("-", "")
    # any single changed character is caught by the check character
    for i in range(12):
        for ch in ALPHABET:
            if ch != raw[i]:
                assert normalize_volunteer_number(raw[:i] + ch + raw[i + 1:]) is None
