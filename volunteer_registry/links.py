"""Links that leave the app — an email, a QR code, an invitation, the API's JSON — come from PUBLIC_URL alone.

Never from the request: its ``Host`` and ``X-Forwarded-Host`` headers are whatever the sender typed, and a reset link
built from them would carry a person's one-time token to the forger's host. Production refuses to start without
PUBLIC_URL; development and the tests fall back to SERVER_NAME, else the development server's address.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, has_request_context, url_for

DEVELOPMENT_URL = "http://localhost:5000"


def check_public_url(value: str) -> str:
    """``value`` as PUBLIC_URL (scheme and host, an optional port, no path), without a trailing slash.

    Raises ValueError naming what is wrong.
    """
    text = (value or "").strip().rstrip("/")
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError when it is not a number in range
    except ValueError as error:
        raise ValueError(f"PUBLIC_URL {value!r} is not a URL: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"PUBLIC_URL {value!r} must start with https:// (or http://) and name a host")
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"PUBLIC_URL {value!r} must be the scheme and host only, e.g. https://volunteer.example.gov.cn")
    del port
    return text


def init_app(app: Flask) -> None:
    """Check PUBLIC_URL once, at start; production without it stops here with the reason."""
    configured = app.config.get("PUBLIC_URL")
    if configured:
        app.config["PUBLIC_URL"] = check_public_url(configured)
    elif app.config.get("ENV_NAME") == "production":
        raise RuntimeError("PUBLIC_URL is not set: in production every link in an email, an invitation and a "
                           "certificate's QR code is built from it (e.g. PUBLIC_URL=https://volunteer.example.gov.cn)")


def public_base_url() -> str:
    """PUBLIC_URL; without it (development, tests) SERVER_NAME, else the development server. Never the request."""
    configured = current_app.config.get("PUBLIC_URL")
    if configured:
        return configured
    if current_app.config.get("SERVER_NAME"):
        return f"{current_app.config['PREFERRED_URL_SCHEME']}://{current_app.config['SERVER_NAME']}"
    return DEVELOPMENT_URL


def path_for(endpoint: str, **values) -> str:
    """A path on this site, in a request or out of one (the CLI, the worker)."""
    if has_request_context():
        return url_for(endpoint, **values)
    with current_app.test_request_context():
        return url_for(endpoint, **values)


def public_url(endpoint: str, **values) -> str:
    """The absolute link to ``endpoint`` that may leave the app: PUBLIC_URL and the path."""
    return public_base_url() + path_for(endpoint, **values)
