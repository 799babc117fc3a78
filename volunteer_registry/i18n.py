"""Languages: Simplified Chinese, Tibetan and English, chosen by the person, their account or their browser.

Tibetan (``bo``) covers what volunteers and the public see; a message not yet translated into Tibetan is shown in
Chinese, the other language of the province's public notices, rather than in English.
"""
from __future__ import annotations

from babel import Locale, support
from flask import Flask, request, session
from flask_babel import Domain, get_locale
from flask_login import current_user

LANGUAGE_NAMES = {"zh_CN": "简体中文", "bo": "བོད་ཡིག", "en": "English"}
HTML_LANG = {"zh": "zh-CN", "bo": "bo", "en": "en"}
#: where a Tibetan message is missing, Chinese stands in
FALLBACK = {"bo": "zh_Hans_CN"}


def select_locale() -> str:
    supported = LANGUAGE_NAMES
    chosen = session.get("lang") if request else None
    if chosen in supported:
        return chosen
    user = current_user if request else None
    if user is not None and getattr(user, "is_authenticated", False) and user.locale in supported:
        return user.locale
    best = request.accept_languages.best_match(["zh-CN", "zh", "bo", "en"], default="en") if request else "en"
    return "zh_CN" if best.startswith("zh") else best


class FallbackDomain(Domain):
    """Flask-Babel's domain, with Chinese behind Tibetan: each catalog is loaded once per process and cached."""

    def get_translations(self):
        translations = super().get_translations()
        locale = get_locale()
        fallback = FALLBACK.get(locale.language) if locale is not None else None
        if fallback and not getattr(translations, "fallback_added", False):
            for directory in self.translation_directories:
                catalog = support.Translations.load(directory, [Locale.parse(fallback)], self.domain[0])
                if isinstance(catalog, support.Translations):
                    translations.add_fallback(catalog)
            translations.fallback_added = True
        return translations


def init_app(app: Flask) -> None:
    from .extensions import babel

    babel.domain_instance = FallbackDomain()

    @app.context_processor
    def languages():
        locale = get_locale()
        return {"language_names": LANGUAGE_NAMES, "current_language": str(locale) if locale else "en",
                "html_lang": HTML_LANG.get(locale.language, "en") if locale else "en"}
