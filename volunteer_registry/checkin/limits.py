"""The rate limit on scans: per scanning account (its bearer token, or its signed-in session), not per address, so
that one kiosk's network carrying many phones is not throttled as one client."""
from __future__ import annotations

import hashlib

from flask import current_app, request
from flask_login import current_user


def scan_rate_limit() -> str:
    return current_app.config["SCAN_RATE_LIMIT"]


def scanner_key() -> str:
    header = request.headers.get("Authorization", "")
    if header:
        return "scans:token:" + hashlib.sha256(header.encode()).hexdigest()[:32]
    if current_user.is_authenticated:
        return f"scans:user:{current_user.id}"
    return "scans:address:" + (request.remote_addr or "")
