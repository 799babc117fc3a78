"""Languages: Simplified Chinese and English, chosen by the person, their account or their browser."""
from __future__ import annotations

from flask import Flask, request, session
from flask_login import current_user

LANGUAGE_NAMES = {"zh_CN": "简体中文", "en": "English"}


def select_locale() -> str:
    supported = LANGUAGE_NAMES
    chosen = session.get("lang") if request else None
    if chosen in supported:
        return chosen
    user = current_user if request else None
    if user is not None and getattr(user, "is_authenticated", False) and user.locale in supported:
        return user.locale
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"], default="en") if request else "en"
    return "zh_CN" if best.startswith("zh") else "en"


def init_app(app: Flask) -> None:
    @app.context_processor
    def languages():
        from flask_babel import get_locale

        locale = get_locale()
        return {"language_names": LANGUAGE_NAMES, "current_language": str(locale) if locale else "en",
                "html_lang": "zh-CN" if locale and locale.language == "zh" else "en"}
