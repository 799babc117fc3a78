"""The Simplified Chinese and Tibetan catalogs are complete, consistent with the sources, compiled, and actually used.

Fails when a string marked in the code or templates has no Chinese translation (run ``pybabel extract`` and
``pybabel update``, then translate), when a translation drops or renames a ``%(name)s`` placeholder, or when the
committed ``messages.mo`` was not recompiled after the ``.po`` changed (run ``pybabel compile``). The commands
are in docs/i18n.md.
"""
from __future__ import annotations

import gettext
import io
import re
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from volunteer_registry.i18n import LANGUAGE_NAMES

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "volunteer_registry" / "translations"
MAPPING = TRANSLATIONS / "babel.cfg"
#: the folders `pybabel extract` is run on (never tests/ or migrations/)
SOURCE_DIRS = ("volunteer_registry", "templates")
#: the same keywords as `pybabel extract -k _l`: Babel's defaults plus lazy_gettext imported as _l
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None}
#: The app's locale code is "zh_CN", but Babel expands it to zh_Hans_CN and Flask-Babel looks for the catalog
#: in zh_Hans_CN/ (then zh/), never in zh_CN/. See test_flask_babel_finds_the_chinese_catalog.
APP_LOCALE = "zh_CN"
CATALOG_LOCALE = "zh_Hans_CN"
PO_FILE = TRANSLATIONS / CATALOG_LOCALE / "LC_MESSAGES" / "messages.po"

LANDING_HEADLINE = "Every hour of service, on the record"
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


def _key(msgid, context=None):
    """(context, msgid), where msgid is (singular, plural) for a plural message."""
    return context, tuple(msgid) if isinstance(msgid, (list, tuple)) else msgid


def _extract() -> dict:
    """Every message marked in the sources today: key → first location, extracted as `pybabel extract` does."""
    with MAPPING.open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, filename=str(MAPPING))
    found: dict = {}
    for folder in SOURCE_DIRS:
        for filename, lineno, message, _comments, context in extract_from_dir(
            ROOT / folder, method_map, options_map, keywords=KEYWORDS
        ):
            found.setdefault(_key(message, context), f"{folder}/{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def extracted() -> dict:
    messages = _extract()
    assert messages, "nothing was extracted: check volunteer_registry/translations/babel.cfg"
    return messages


@pytest.fixture(scope="module")
def catalog():
    assert PO_FILE.exists(), f"{PO_FILE.relative_to(ROOT)} is missing; see docs/i18n.md"
    with PO_FILE.open("rb") as fh:
        return read_po(fh, locale=CATALOG_LOCALE)


#: every catalog the app ships: Simplified Chinese, and Tibetan (whose missing messages would show in Chinese)
CATALOGS = (CATALOG_LOCALE, "bo")


@pytest.fixture(scope="module", params=CATALOGS)
def each_catalog(request):
    """(the catalog, its .mo file), for each language the app translates into."""
    po_file = TRANSLATIONS / request.param / "LC_MESSAGES" / "messages.po"
    assert po_file.exists(), f"{po_file.relative_to(ROOT)} is missing; see docs/i18n.md"
    with po_file.open("rb") as fh:
        return read_po(fh, locale=request.param), po_file.with_suffix(".mo")


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def _strings(message) -> tuple[str, ...]:
    return tuple(message.string) if isinstance(message.string, (list, tuple)) else (message.string,)


def test_extraction_covers_python_and_templates(extracted):
    assert _key("Resident ID card") in extracted  # lazy_gettext (_l) in volunteer_registry/volunteers/identity.py
    assert _key("This resident ID number is not valid: its last character does not match. "
                "Please check it for a typing error.") in extracted
    assert _key("Welcome! Your account is ready. Next, complete your volunteer profile.") in extracted  # gettext
    assert _key(LANDING_HEADLINE) in extracted  # templates/home/landing.html
    assert _key(("%(num)s organization", "%(num)s organizations")) in extracted  # ngettext in a template
    assert all(not where.startswith(("tests/", "migrations/")) for where in extracted.values())


def test_every_marked_string_is_translated(extracted, each_catalog):
    catalog, _mo_file = each_catalog
    assert not catalog.fuzzy, "the catalog header is marked fuzzy: pybabel compile would skip the whole catalog"
    problems = []
    for key, where in sorted(extracted.items(), key=lambda item: item[1]):
        context, msgid = key
        message = catalog.get(msgid[0] if isinstance(msgid, tuple) else msgid, context=context)
        if message is None:
            problems.append(f"{where}: not in the catalog (run pybabel extract and update): {msgid!r}")
        elif _key(message.id, message.context) != key:
            problems.append(f"{where}: singular/plural differ from the catalog's {message.id!r}: {msgid!r}")
        elif message.fuzzy:
            problems.append(f"{where}: fuzzy translation (check it, then remove the fuzzy flag): {msgid!r}")
        elif not all(s.strip() for s in _strings(message)):
            problems.append(f"{where}: no translation: {msgid!r}")
    assert not problems, "\n".join(problems)


def test_catalog_has_no_stale_messages(extracted, each_catalog):
    catalog, _mo_file = each_catalog
    """Strings removed from the sources must leave the catalog too (pybabel update marks them obsolete)."""
    stale = [message.id for message in catalog if message.id and _key(message.id, message.context) not in extracted]
    assert not stale, f"in the catalog but no longer in the sources (run pybabel extract and update): {stale}"


def test_plural_forms_fit_chinese_and_tibetan(each_catalog):
    catalog, _mo_file = each_catalog
    assert catalog.num_plurals == 1, catalog.plural_forms
    plurals = [message for message in catalog if message.pluralizable]
    assert plurals
    for message in plurals:
        assert len(_strings(message)) == 1, f"{message.id!r}: Chinese has one plural form: {message.string!r}"


def test_translations_keep_their_placeholders(each_catalog):
    catalog, _mo_file = each_catalog
    problems = []
    for message in catalog:
        if not message.id:
            continue
        ids = (message.id,) if isinstance(message.id, str) else tuple(message.id)
        expected = set().union(*(_placeholders(i) for i in ids))
        for translation in _strings(message):
            found = _placeholders(translation)
            if found != expected:
                problems.append(f"{ids[0]!r}: expected {sorted(expected)}, got {sorted(found)} in {translation!r}")
            elif expected:
                try:  # Flask-Babel formats with `translation % variables`: a stray % would break the page
                    translation % dict.fromkeys(expected, "1")
                except (ValueError, TypeError, KeyError) as error:
                    problems.append(f"{ids[0]!r}: {translation!r} cannot be formatted: {error}")
    assert not problems, "\n".join(problems)
    assert not [(message.id, errors) for message, errors in catalog.check()]


def test_committed_mo_is_compiled_from_the_po(each_catalog):
    catalog, mo_file = each_catalog
    assert mo_file.exists(), f"{mo_file.relative_to(ROOT)} is missing: run pybabel compile (docs/i18n.md)"
    fresh = io.BytesIO()
    write_mo(fresh, catalog, use_fuzzy=False)  # what `pybabel compile` writes
    fresh.seek(0)
    with mo_file.open("rb") as fh:
        committed = gettext.GNUTranslations(fh)._catalog
    assert committed == gettext.GNUTranslations(fresh)._catalog, (
        f"{mo_file.relative_to(ROOT)} is out of date: run pybabel compile (docs/i18n.md)"
    )


def test_flask_babel_finds_the_chinese_catalog():
    """Load the catalog the way Flask-Babel does, for every language the app offers besides English."""
    for code in LANGUAGE_NAMES:
        if code == "en":
            continue
        translations = Translations.load(str(TRANSLATIONS), [Locale.parse(code)])
        assert isinstance(translations, Translations), (
            f"no catalog is found for {code!r}: Babel looks in {str(Locale.parse(code))}/ and "
            f"{Locale.parse(code).language}/ under {TRANSLATIONS.relative_to(ROOT)}/"
        )
        assert translations.gettext(LANDING_HEADLINE) != LANDING_HEADLINE


def _chinese(catalog, msgid: str) -> str:
    translation = catalog.get(msgid).string
    assert translation and translation != msgid
    return translation


def test_landing_page_in_chinese_from_the_browser_language(client, catalog):
    response = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _chinese(catalog, LANDING_HEADLINE) in page
    assert LANDING_HEADLINE not in page
    assert '<html lang="zh-CN">' in page


def test_landing_page_in_english_from_the_browser_language(client, catalog):
    response = client.get("/", headers={"Accept-Language": "en"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert LANDING_HEADLINE in page
    assert _chinese(catalog, LANDING_HEADLINE) not in page


def test_language_switch_link_shows_chinese(client, catalog):
    english = {"Accept-Language": "en"}
    assert LANDING_HEADLINE in client.get("/", headers=english).get_data(as_text=True)
    switch = client.get(f"/language/{APP_LOCALE}", headers=english)
    assert switch.status_code == 302
    page = client.get("/", headers=english).get_data(as_text=True)  # the chosen language beats the browser's
    assert _chinese(catalog, LANDING_HEADLINE) in page
    assert LANDING_HEADLINE not in page
