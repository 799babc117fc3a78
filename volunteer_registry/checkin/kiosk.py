"""The kiosk QR: a URL with the activity's code, a 20-second time window and a MAC over both.

A photo of the screen forwarded to someone at home stops working within a minute: a token is good in the window it
was shown in and the next one (20 to 40 seconds), then stale. The page that the QR opens checks the token at once,
so signing in first does not make it go stale. The MAC key is derived from the app's secret key, so every app
server agrees without sharing state.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import re

import qrcode
import qrcode.image.svg
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from ..links import public_url

WINDOW_SECONDS = 20
MAX_AGE_WINDOWS = 2  # the window a QR was shown in and the next: never older than 40 seconds
_TOKEN = re.compile(r"([0-9A-Z]{4,12})\.([0-9]{1,12})\.([A-Z2-7]{16})")


def _key() -> bytes:
    secret = current_app.config["SECRET_KEY"].encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"volunteer-registry kiosk").derive(secret)


def window_of(moment: dt.datetime) -> int:
    return int(moment.timestamp()) // WINDOW_SECONDS


def _mac(code: str, window: int) -> str:
    digest = hmac.new(_key(), f"{code}.{window}".encode(), hashlib.sha256).digest()[:10]
    return base64.b32encode(digest).decode()


def kiosk_token(code: str, moment: dt.datetime) -> str:
    """``CODE.WINDOW.MAC``: uppercase letters, digits and dots, so the QR stays in a compact mode."""
    window = window_of(moment)
    return f"{code}.{window}.{_mac(code, window)}"


def kiosk_problem(token: str, code: str | None, moment: dt.datetime) -> tuple[str | None, str | None]:
    """(activity code, None) for a good token, else (code or None, "kiosk_qr_forged" | "kiosk_qr_stale")."""
    match = _TOKEN.fullmatch(token or "")
    if match is None:
        return None, "kiosk_qr_forged"
    token_code, window = match.group(1), int(match.group(2))
    if not hmac.compare_digest(_mac(token_code, window), match.group(3)):
        return None, "kiosk_qr_forged"
    if code is not None and code != token_code:
        return None, "kiosk_qr_forged"
    age = window_of(moment) - window
    if age > MAX_AGE_WINDOWS - 1 or age < -1:
        return token_code, "kiosk_qr_stale"
    return token_code, None


def kiosk_url(token: str, shift_id: int | None = None) -> str:
    """The link a kiosk QR holds; with ``shift_id`` the scan is for that shift. The shift is not under the MAC: it
    only names which of the activity's shifts to check, and record_scan refuses a shift of another activity and a
    scan outside the shift's window, whoever changed the link."""
    if shift_id is None:
        return public_url("checkin.kiosk_scan", token=token)
    return public_url("checkin.kiosk_scan", token=token, shift=shift_id)


def qr_svg(text: str) -> str:
    """An SVG QR code (error correction M) of ``text``."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=4,
                        error_correction=qrcode.constants.ERROR_CORRECT_M)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


def qr_png(text: str, box_size: int = 10) -> bytes:
    image = qrcode.make(text, box_size=box_size, border=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
