"""Tibetan (bo): offered by the language switch and chosen from the browser's languages; the pages say
``lang="bo"``; a message not yet translated into Tibetan is shown in Chinese, not in English."""
from __future__ import annotations

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from flask_babel import force_locale, gettext

from volunteer_registry.extensions import db
from volunteer_registry.i18n import LANGUAGE_NAMES

from .conftest import build_app, login


def _catalog(directory, locale: str, messages: dict) -> None:
    catalog = Catalog(locale=locale)
    for msgid, msgstr in messages.items():
        catalog.add(msgid, msgstr)
    folder = directory / locale / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.mo").open("wb") as fh:
        write_mo(fh, catalog)


def test_a_message_missing_in_tibetan_is_shown_in_chinese(tmp_path):
    translations = tmp_path / "translations"
    _catalog(translations, "bo", {"Sign in": "ནང་འཛུལ།"})
    _catalog(translations, "zh_Hans_CN", {"Sign in": "登录", "Sign out": "退出"})
    app = build_app(tmp_path, BABEL_TRANSLATION_DIRECTORIES=str(translations))
    with app.test_request_context("/"):
        with force_locale("bo"):
            assert (gettext("Sign in"), gettext("Sign out"), gettext("Neither")) == ("ནང་འཛུལ།", "退出", "Neither")
        with force_locale("zh_CN"):
            assert (gettext("Sign in"), gettext("Sign out")) == ("登录", "退出")
        with force_locale("en"):
            assert gettext("Sign out") == "Sign out"


def test_tibetan_is_offered_and_chosen_from_the_browser(client):
    assert LANGUAGE_NAMES["bo"] == "བོད་ཡིག"
    page = client.get("/", headers={"Accept-Language": "bo,zh-CN;q=0.8"}).get_data(as_text=True)
    assert '<html lang="bo">' in page
    assert '<span aria-current="true" lang="bo">བོད་ཡིག</span>' in page
    english = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<a href="/language/bo?next=' in english and 'lang="bo">བོད་ཡིག</a>' in english
    assert client.get("/language/bo").status_code == 302
    assert '<html lang="bo">' in client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_the_landing_page_and_a_volunteers_pages_in_tibetan(client, make):
    page = client.get("/", headers={"Accept-Language": "bo"}).get_data(as_text=True)
    assert "དང་བླངས་ཞབས་ཞུ" in page  # "volunteer service"
    assert "Every hour of service, on the record" not in page
    user = make.account_of(make.volunteer(name="བཀྲ་ཤིས་སྒྲོལ་མ"))
    user.locale = "bo"  # their choice on the account page
    db.session.commit()
    login(client, user)
    for path in ("/", "/volunteer", "/volunteer/card", "/volunteer/hours", "/volunteer/certificates", "/activities",
                 "/notifications"):
        response = client.get(path)
        text = response.get_data(as_text=True)
        assert response.status_code == 200 and '<html lang="bo">' in text, path
        assert "ཕྱིར་འཐེན" in text and "Sign out" not in text, path  # the menu's "sign out", in Tibetan
        assert "བཀྲ་ཤིས་སྒྲོལ་མ" in text or path in ("/activities", "/notifications", "/volunteer/hours",
                                                      "/volunteer/certificates"), path
