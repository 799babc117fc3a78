"""Accounts: sign-up, sign-in, password reset, API tokens."""
from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import secrets

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from .. import mail
from ..audit.services import record_event
from ..errors import DomainError
from ..extensions import db
from ..links import public_url
from ..models import utcnow
from ..text import fold
from .models import ApiToken, User

MIN_PASSWORD_LENGTH = 10


class AccountError(DomainError):
    messages = {
        "identifier_invalid": _l("Enter an email address or an 11-digit mainland mobile number."),
        "identifier_taken": _l("An account with this email address or mobile number already exists."),
        "password_too_short": _l("Use at least %(min)s characters."),
        "password_too_common": _l("This password is too easy to guess; choose another."),
        "invalid_credentials": _l("The account or password is not correct."),
        "account_disabled": _l("This account is disabled."),
        "account_locked": _l("Too many wrong passwords: this account is locked for %(minutes)s more minutes. "
                             "To sign in sooner, reset your password."),
        "reset_link_invalid": _l("This password reset link is invalid or has already been used."),
        "reset_link_expired": _l("This password reset link has expired; ask for a new one."),
        "token_not_found": _l("No such token."),
        "platform_admin": _l("A platform administrator's account is closed by another administrator, not deleted."),
        "staff_role_held": _l("You are staff of %(organizations)s: hand the role over (an org admin removes it) "
                              "before deleting your account."),
    }
    statuses = {"identifier_taken": 409, "invalid_credentials": 401, "account_disabled": 403, "account_locked": 423,
                "token_not_found": 404}


_COMMON_PASSWORDS = {"1234567890", "12345678910", "password123", "qwertyuiop", "1qaz2wsx3edc", "abcdefghij",
                     "0123456789", "a123456789", "password12", "iloveyou12"}


def parse_identifier(text: str) -> tuple[str, str]:
    """('email', normalised address) or ('phone', 11 digits); raises AccountError("identifier_invalid")."""
    text = fold(text).strip()
    if "@" in text:
        try:
            return "email", validate_email(text, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            raise AccountError("identifier_invalid", field="identifier") from None
    digits = re.sub(r"[\s\-]", "", text)
    digits = re.sub(r"^(\+?86)", "", digits)
    if re.fullmatch(r"1[3-9][0-9]{9}", digits):
        return "phone", digits
    raise AccountError("identifier_invalid", field="identifier")


def check_password_strength(password: str, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("password_too_short", field=field, min=MIN_PASSWORD_LENGTH)
    if password.lower() in _COMMON_PASSWORDS or len(set(password)) < 4:
        raise AccountError("password_too_common", field=field)


def _hash_password(password: str) -> str:
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    return generate_password_hash(password, method=method)


def find_user(identifier: str) -> User | None:
    try:
        kind, value = parse_identifier(identifier)
    except AccountError:
        return None
    column = User.email if kind == "email" else User.phone
    return db.session.scalar(db.select(User).where(column == value))


def create_account(identifier: str, password: str, *, is_platform_admin: bool = False,
                   locale: str | None = None) -> User:
    """Create an account for an email address or mobile number. Raises identifier_invalid, identifier_taken,
    password_too_short, password_too_common."""
    kind, value = parse_identifier(identifier)
    check_password_strength(password)
    if find_user(value) is not None:
        raise AccountError("identifier_taken", field="identifier")
    user = User(password_hash=_hash_password(password), session_nonce=secrets.token_hex(8),
                is_platform_admin=is_platform_admin, locale=locale)
    setattr(user, kind, value)
    db.session.add(user)
    db.session.flush()
    record_event("account.created", actor=user, target=user, platform_admin=is_platform_admin or None)
    return user


def authenticate(identifier: str, password: str) -> User:
    """The account for these credentials. Raises invalid_credentials (same for unknown account and wrong
    password), account_locked or account_disabled. A wrong password is counted on the account (the caller commits
    even when this raises); ACCOUNT_LOCKOUT_FAILURES in a row lock it for ACCOUNT_LOCKOUT_MINUTES, during which even
    the right password is refused; a sign-in or a password reset clears the count."""
    user = find_user(identifier)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)  # same work either way: no account enumeration by timing
        raise AccountError("invalid_credentials")
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        check_password_hash(_DUMMY_HASH, password)
        raise AccountError("account_locked", minutes=math.ceil((user.locked_until - now).total_seconds() / 60))
    if not check_password_hash(user.password_hash, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= current_app.config["ACCOUNT_LOCKOUT_FAILURES"]:
            user.locked_until = now + dt.timedelta(minutes=current_app.config["ACCOUNT_LOCKOUT_MINUTES"])
            record_event("account.locked", actor=None, target=user, failures=user.failed_logins)
            user.failed_logins = 0
        raise AccountError("invalid_credentials")
    if user.is_disabled:
        raise AccountError("account_disabled")
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    return user


_DUMMY_HASH = generate_password_hash("not a password", method="pbkdf2:sha256:1000")


def set_password(user: User, password: str) -> None:
    """Change the password and end every other session and outstanding reset link; a lock from wrong passwords
    ends too (whoever chose the new password holds the account)."""
    check_password_strength(password)
    user.password_hash = _hash_password(password)
    user.session_nonce = secrets.token_hex(8)
    user.failed_logins, user.locked_until = 0, None
    record_event("account.password_changed", actor=user, target=user)


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def make_reset_token(user: User) -> str:
    return _reset_serializer().dumps({"u": user.id, "n": user.session_nonce})


def request_password_reset(identifier: str) -> bool:
    """Send a reset link to the account's email or phone. Returns whether an account was found; callers must not
    reveal it."""
    user = find_user(identifier)
    if user is None or user.is_disabled:
        return False
    link = public_url("accounts.reset_password", token=make_reset_token(user))
    minutes = current_app.config["PASSWORD_RESET_MAX_AGE"] // 60
    body = _("Someone asked to reset the password of your Volunteer Registry account. "
             "If it was you, open this link within %(minutes)s minutes:\n\n%(link)s\n\n"
             "If it was not you, ignore this message.", minutes=minutes, link=link)
    if user.email:
        mail.send_email(user.email, _("Reset your password"), body)
    else:
        mail.send_sms(user.phone, body)
    record_event("account.password_reset_requested", actor=user, target=user)
    return True


def user_for_reset_token(token: str) -> User:
    """The account a reset link belongs to. Raises reset_link_expired or reset_link_invalid (also once used)."""
    try:
        data = _reset_serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except SignatureExpired:
        raise AccountError("reset_link_expired") from None
    except BadSignature:
        raise AccountError("reset_link_invalid") from None
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or user.session_nonce != data.get("n"):
        raise AccountError("reset_link_invalid")
    return user


def load_session_user(session_id: str) -> User | None:
    """The user for a Flask-Login session id ``"<id>:<nonce>"``; None once the password changed."""
    user_id, _sep, nonce = session_id.partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not secrets.compare_digest(user.session_nonce, nonce):
        return None
    return user


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(user: User, name: str = "API token") -> tuple[ApiToken, str]:
    """A new bearer token; the plaintext is returned once and never stored."""
    plaintext = "vr_" + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name.strip()[:80] or "API token", token_hash=_token_digest(plaintext),
                     prefix=plaintext[:10])
    db.session.add(token)
    db.session.flush()
    record_event("api_token.created", actor=user, target=token, name=token.name)
    return token, plaintext


def revoke_api_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens. Raises token_not_found."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise AccountError("token_not_found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record_event("api_token.revoked", actor=user, target=token)
    return token


#: how stale a token's "last used" may get: a scanner sending a scan a second does not rewrite its row every time
TOKEN_USE_GRANULARITY = dt.timedelta(minutes=1)


def user_for_api_token(plaintext: str) -> User | None:
    """The active account behind a bearer token, or None when the token is unknown or revoked. Notes when it was
    last used (to the minute)."""
    token = db.session.scalar(db.select(ApiToken).options(joinedload(ApiToken.user))
                              .where(ApiToken.token_hash == _token_digest(plaintext)))
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_USE_GRANULARITY:
        token.last_used_at = now
    return token.user
