"""Sessions, sign-in plumbing, safe redirects and security headers."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, abort, request
from flask_babel import lazy_gettext as _l

from .extensions import login_manager
from .text import is_storable

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def is_safe_next(target: str | None) -> bool:
    """Only same-site paths: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and not any(ord(c) < 32 for c in target)


def init_app(app: Flask) -> None:
    from .accounts.sessions import load_session_user

    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_session_user)

    @app.before_request
    def refuse_unstorable_text():
        """A NUL character or a lone surrogate in the path, a query or a form field is refused before any view
        sees it (PostgreSQL cannot store them; nobody types them)."""
        if not is_storable(request.path):
            abort(404)
        for values in (request.args, request.form if request.mimetype != "application/json" else {}):
            for key, value in values.items(multi=True) if values else ():
                if not (is_storable(key) and is_storable(value)):
                    abort(400, description="A field holds a character that cannot be stored.")

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
