"""Unified social credit codes (GB 32100) with real examples."""
import pytest

from volunteer_registry.organizations.credit_code import credit_code_problem, normalize_credit_code


@pytest.mark.parametrize("code", [
    "91350100M000100Y43",   # the example printed in GB 32100-2015
    "91110108551385082Q",   # a registered company (check character Q)
])
def test_valid_codes(code):
    assert credit_code_problem(code) is None


@pytest.mark.parametrize("code, problem", [
    ("91350100M000100Y44", "credit_code_check_character"),
    ("91350100M000100Y4", "credit_code_length"),
    ("91350100M000I00Y43", "credit_code_characters"),   # I is not in the alphabet
    ("91350100M000O00Y43", "credit_code_characters"),   # nor is O
    ("913501X0M000100Y43", "credit_code_region"),
])
def test_invalid_codes(code, problem):
    assert credit_code_problem(code) == problem


def test_normalisation():
    assert normalize_credit_code(" 91350100m000100y43 ") == "91350100M000100Y43"
    assert credit_code_problem(normalize_credit_code("9135-0100-M000-100Y43")) is None
