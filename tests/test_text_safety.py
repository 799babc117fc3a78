"""Names and free text cannot spoof (issue 17, item 8): one rule (text.check_plain_text) refuses bidirectional
controls, control characters and invisible-only values in names, titles and reasons, on every path (forms, the
JSON API, imports, the command line); pages, certificates and messages isolate what people typed, so that even a
value kept before the rule cannot change the direction of what follows it."""
from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
from types import SimpleNamespace

import hypothesis
import pytest
from hypothesis import strategies as st

from volunteer_registry.accounts.models import ApiToken
from volunteer_registry.activities.models import Activity
from volunteer_registry.certificates.pdf import certificate_html
from volunteer_registry.extensions import db
from volunteer_registry.ledger.models import LedgerEntry, LedgerState
from volunteer_registry.ledger.services import record_missing_service
from volunteer_registry.notifications.services import text_of
from volunteer_registry.organizations.models import Organization
from volunteer_registry.templating import bdi
from volunteer_registry.text import BIDI_CONTROLS, FSI, PDI, TextError, check_plain_text, isolate
from volunteer_registry.volunteers.models import Volunteer

from .api.conftest import Api, token_for
from .conftest import login, valid_resident_id
from .volunteers.test_import import row, to_csv

RLO = "\u202e"
SPOOF = f"Alice{RLO}gnp.exe"  # shows as "Aliceexe.png"
UYGHUR = "مۇھەممەت ئابدۇللا"
SETTINGS = hypothesis.settings(max_examples=300, deadline=None, derandomize=True, database=None)


def code_of(value: str, **kwargs) -> str | None:
    try:
        check_plain_text(value, **kwargs)
    except TextError as error:
        return error.code
    return None


def count(model, *where) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


# --- the rule --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "code"), [
    (SPOOF, "text_bidi_control"),
    ("\u2067x", "text_bidi_control"),  # RIGHT-TO-LEFT ISOLATE
    ("Ma\u202aLi", "text_bidi_control"),  # LEFT-TO-RIGHT EMBEDDING
    ("卓玛\u2069", "text_bidi_control"),  # a lone POP DIRECTIONAL ISOLATE
    ("Ma\u200fLi", "text_bidi_control"),  # RIGHT-TO-LEFT MARK: letters carry their own direction
    (f"{UYGHUR}\u061c", "text_bidi_control"),  # ARABIC LETTER MARK
    ("\u200b\u200b", "text_invisible_only"),
    ("\ufeff", "text_invisible_only"),
    (" \u2060\u200d\u200c ", "text_invisible_only"),
    ("\u3164\u3164", "text_invisible_only"),  # Hangul fillers
    ("A\x00B", "text_control_character"),
    ("A\x07B", "text_control_character"),
    ("A\x85B", "text_control_character"),  # C1: NEXT LINE
    ("Ma\nLi", "text_control_character"),  # one line only in a name
    ("Ma\tLi", "text_control_character"),
    ("Ma\u2028Li", "text_control_character"),  # LINE SEPARATOR
])
def test_spoofing_text_is_refused_with_its_code(app, value, code):
    with pytest.raises(TextError) as info:
        check_plain_text(value, field="name")
    assert info.value.code == code and info.value.field == "name"
    if code != "text_invisible_only":  # the message names the invisible character
        assert info.value.params["character"] in info.value.message


@pytest.mark.parametrize("name", [
    "张三", "欧阳娜娜", "བཀྲ་ཤིས་", "བཀྲ་ཤིས་དོན་གྲུབ", UYGHUR, "ئەخمەت", "O'Brien", "Anne-Marie Smith-Jones",
    "D’Arcy", "José Núñez", "Ma Li", "卓玛 Drolma",
])
def test_real_names_pass_unchanged_and_an_override_in_them_does_not(app, name):
    assert check_plain_text(name) == name
    assert code_of(name[:1] + RLO + name[1:]) == "text_bidi_control"


@pytest.mark.parametrize("reason", [
    "Left early.\nCame back at 14:00.\r\n\tSigned by the duty officer.",
    "👩‍⚕️ first aid, 👨‍👩‍👧 family day",  # zero-width joiners inside emoji
    "क्‍ष and क्‌ष",  # ZWJ and ZWNJ in Devanagari
    "می‌خواهم",  # ZWNJ in Persian
    f"{UYGHUR}: 3 سائەت",
])
def test_reasons_keep_lines_tabs_and_joiners(app, reason):
    assert check_plain_text(reason, multiline=True) == reason.strip()
    assert code_of("\n\n\u200b\n", multiline=True) == "text_invisible_only"
    assert code_of("a\x1bb", multiline=True) == "text_control_character"


def test_text_is_kept_nfc_and_trimmed_and_an_invisible_rest_is_refused(app):
    assert check_plain_text("  Jose\u0301\u3000") == "José"
    assert check_plain_text(None) == check_plain_text("   ") == ""
    assert code_of(" \u200b ") == "text_invisible_only"


@SETTINGS
@hypothesis.given(st.text(max_size=40), st.booleans())
def test_whatever_is_typed_is_refused_with_a_code_or_kept_safe(value, multiline):
    try:
        kept = check_plain_text(value, multiline=multiline)
    except TextError as error:
        assert error.code in ("text_bidi_control", "text_control_character", "text_invisible_only")
        return
    assert kept == unicodedata.normalize("NFC", value).strip()
    assert not set(kept) & BIDI_CONTROLS
    allowed = "\t\n\r" if multiline else ""
    assert all(unicodedata.category(c) != "Cc" or c in allowed for c in kept)
    assert check_plain_text(kept, multiline=multiline) == kept


LETTERS = st.characters(categories=("Lu", "Ll", "Nd"))
VISIBLE = st.characters(categories=("Lu", "Ll", "Lo", "Mn", "Nd", "Pd", "Po", "Zs", "So"))


@SETTINGS
@hypothesis.given(st.text(VISIBLE, max_size=20), LETTERS, st.text(VISIBLE, max_size=20),
                  st.sampled_from(sorted(BIDI_CONTROLS)))
def test_text_with_letters_passes_and_a_direction_control_anywhere_is_refused(before, letter, after, control):
    value = before + letter + after
    assert code_of(value) is None
    assert code_of(before + control + letter + after, multiline=True) == "text_bidi_control"
    assert code_of(before + letter + control + after) == "text_bidi_control"


@SETTINGS
@hypothesis.given(st.text(st.characters(categories=("Cf", "Zs")), min_size=1, max_size=10).filter(
    lambda text: not set(text) & BIDI_CONTROLS and text.strip()))
def test_format_characters_and_spaces_alone_are_invisible(value):
    assert code_of(value) == "text_invisible_only"


@SETTINGS
@hypothesis.given(LETTERS, st.characters(categories=("Cc",)))
def test_control_characters_inside_text_are_refused(letter, control):
    value = f"{letter}{control}{letter}"
    assert code_of(value) == "text_control_character"
    assert code_of(value, multiline=True) == (None if control in "\t\n\r" else "text_control_character")


# --- shown text ------------------------------------------------------------------------------------------------------

def test_plain_text_isolates_right_to_left_and_drops_direction_controls(app):
    assert isolate("卓玛 Drolma") == "卓玛 Drolma"  # left to right: unchanged
    assert isolate(UYGHUR) == FSI + UYGHUR + PDI
    assert isolate(SPOOF) == "Alicegnp.exe"
    assert isolate(f"x{PDI}{RLO}{UYGHUR}") == FSI + "x" + UYGHUR + PDI  # a stray PDI cannot end the isolate early
    assert isolate(None) == ""


def test_pages_wrap_typed_text_in_bdi(app):
    assert str(bdi(SPOOF)) == "<bdi>Alicegnp.exe</bdi>"
    assert str(bdi("<script>")) == "<bdi>&lt;script&gt;</bdi>"
    assert str(bdi(None)) == ""


def test_a_value_kept_before_the_rule_cannot_turn_the_page(app, make, client):
    org = make.org()
    org.name = SPOOF  # written before the rule: straight into the table, as an old row would be
    activity = make.activity(org, title=f"{UYGHUR} clean-up")
    db.session.commit()
    page = client.get(f"/organizations/{org.code}").get_data(as_text=True)
    assert "<h1><bdi>Alicegnp.exe</bdi>" in page
    assert "<title>Alicegnp.exe · " in page
    assert RLO not in page
    page = client.get(f"/activities/{activity.code}").get_data(as_text=True)
    assert f"<bdi>{UYGHUR} clean-up</bdi>" in page
    assert f"<title>{FSI}{UYGHUR} clean-up{PDI} · " in page
    assert "<bdi>Alicegnp.exe</bdi>" in page and RLO not in page


def test_a_certificate_isolates_the_names_it_prints(app):
    html = certificate_html({"volunteer_name": SPOOF, "organization_name": UYGHUR, "handler": "马晓东",
                             "person_in_charge": "马丽", "activities_shown": [{"title": f"x{RLO}y"}]},
                            "HTTPS://REGISTRY.TEST/V/ABC", None)
    assert "<bdi>Alicegnp.exe</bdi>" in html and RLO not in html
    assert f"<bdi>{UYGHUR}</bdi>" in html
    assert f'content="{FSI}{UYGHUR}{PDI}"' in html  # the PDF's author: an attribute, isolated as plain text


def test_messages_isolate_names_in_their_sentence(app):
    notification = SimpleNamespace(kind="membership.invited", params={"organization": UYGHUR})
    subject, body = text_of(notification)
    assert subject.startswith(FSI + UYGHUR + PDI + " ")
    legacy = SimpleNamespace(kind="certificate.revoked", params={"organization": "Org", "number": "VR-1",
                                                                 "reason": SPOOF})
    assert text_of(legacy)[1].endswith(": Alicegnp.exe")


# --- every path refuses ----------------------------------------------------------------------------------------------

def error_of(page: str, field: str) -> str | None:
    found = re.search(rf'<p class="error" id="{field}-error" role="alert">([^<]*)</p>', page)
    return found.group(1) if found else None


def test_the_activity_form_refuses_a_spoofed_title(app, make, client):
    org = make.org()
    db.session.commit()
    login(client, make.org_admin_of(org))
    day = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    form = {"title": SPOOF, "category": "elderly", "recipient": "城东区福利院", "starts_at": f"{day}T09:00",
            "ends_at": f"{day}T12:00", "region_code": "630102", "address": "八一路 5 号", "person_in_charge": "马丽",
            "grace_minutes": "15", "signup_mode": "auto"}
    page = client.post(f"/organizations/{org.code}/activities/new", data=form).get_data(as_text=True)
    assert "U+202E" in (error_of(page, "title") or "")
    assert count(Activity) == 0
    page = client.post(f"/organizations/{org.code}/activities/new",
                       data=dict(form, title="Visit", description="\u200b")).get_data(as_text=True)
    assert error_of(page, "description") == "Type visible text: this holds only spaces or invisible characters."
    assert count(Activity) == 0


def test_the_profile_form_refuses_an_invisible_name(app, make, client):
    user = make.user()
    db.session.commit()
    login(client, user)
    form = {"name": "\u200b\u200b", "gender": "female", "birth_date": "1949-12-31", "id_type": "resident_id",
            "id_number": "11010519491231002X", "phone": "13800138000", "region_code": "632701", "consent": "y"}
    response = client.post("/volunteer/profile", data=form)
    assert response.status_code == 200
    assert error_of(response.get_data(as_text=True), "name") == ("Type visible text: this holds only spaces or "
                                                                 "invisible characters.")
    assert count(Volunteer) == 0


def test_a_rejection_reason_with_a_direction_control_is_refused(app, make, client):
    activity = make.activity()
    volunteer = make.volunteer()
    coordinator = make.coordinator(activity.organization)
    entry = record_missing_service(coordinator, activity, volunteer.id, activity.starts_at,
                                   activity.starts_at + dt.timedelta(hours=1), "paper sheet")
    db.session.commit()
    before = count(LedgerEntry)
    login(client, make.org_admin_of(activity.organization))
    response = client.post(f"/organizations/{activity.organization.code}/entries/decision",
                           data={"entries": entry.id, "decision": "reject", "reason": "\u2067duplicate"})
    assert response.status_code == 422
    assert "U+2067" in (error_of(response.get_data(as_text=True), "reason") or "")
    assert db.session.get(LedgerState, entry.id).status == "pending" and count(LedgerEntry) == before


@pytest.mark.parametrize(("method", "path", "field", "value", "code"), [
    ("POST", "/organizations", "name", SPOOF, "text_bidi_control"),
    ("PUT", "/me/volunteer", "name", "\u200b", "text_invisible_only"),
    ("POST", "/activities", "title", "A\x07B", "text_control_character"),
    ("POST", "/activities", "description", "\u2066Open to all", "text_bidi_control"),
])
def test_the_api_names_the_field_and_the_code(app, make, client, method, path, field, value, code):
    org = make.org(region_code="630102")
    user = make.org_admin_of(org)
    now = dt.datetime.now(dt.UTC)
    valid = {
        "/organizations": {"name": "Harbour Care", "org_type": "community_team", "region_code": "630102",
                           "address": "1 Kunlun Road", "person_in_charge": "Ma Li", "contact_phone": "13912345678",
                           "contact_email": "org@example.org"},
        "/me/volunteer": {"name": "Ma Li", "gender": "male", "birth_date": "1949-12-31",
                          "id_number": valid_resident_id(birth=dt.date(1949, 12, 31), gender="male"),
                          "phone": "13800138000", "region_code": "632701", "consent": True},
        "/activities": {"organization": org.code, "title": "Visit", "category": "elderly", "recipient": "care home",
                        "region_code": "630102", "address": "5 Bayi Road", "person_in_charge": "Ma Li",
                        "starts_at": (now + dt.timedelta(days=3)).isoformat(),
                        "ends_at": (now + dt.timedelta(days=3, hours=2)).isoformat()},
    }[path]
    token = token_for(user)
    before = (count(Organization), count(Volunteer), count(Activity))
    api = Api(client)
    response = api.call(method, path, token=token, json={**valid, field: value})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert (error["field"], error["code"]) == (field, code)
    assert (count(Organization), count(Volunteer), count(Activity)) == before
    assert api.call(method, path, token=token, json=valid).status_code == 201  # the same body, typed plainly


def test_an_import_row_with_a_spoof_is_reported_and_nothing_is_imported(app, make, client):
    org = make.org()
    db.session.commit()
    login(client, make.org_admin_of(org))
    csv = to_csv([row(), row(name="李强", gender="male", birth=dt.date(1985, 1, 2), skills=f"first aid{RLO}"),
                  row(name=SPOOF, birth=dt.date(1991, 2, 3))])
    response = client.post(f"/organizations/{org.code}/import",
                           data={"file": (io.BytesIO(csv), "volunteers.csv")}, content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    problems = re.findall(r'<td data-label="Row">(\d+)</td><td data-label="Column">(\w+)</td>', page)
    assert problems == [("3", "skills"), ("4", "name")]
    assert "U+202E" in page
    assert count(Volunteer) == 0


def test_the_command_line_refuses_a_spoofed_token_name(app, make):
    user = make.user("chief@example.org")
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["accounts", "create-token", "--email", "chief@example.org",
                                                "--name", f"scanner{RLO}"])
    assert result.exit_code != 0 and "text_bidi_control" in result.output
    assert count(ApiToken, ApiToken.user_id == user.id) == 0
