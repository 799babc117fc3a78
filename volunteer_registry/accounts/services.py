"""Accounts: sign-up, sign-in, password reset, API tokens.

Sign-up and the password reset answer the same whether or not an account exists: both send a message to the address
or number given (a link to finish signing up, or a note that the account exists; a reset link, or nothing), and the
person who holds it learns the rest. Every link is single-use, and the database decides which of two uses at the same
moment is the one: a sign-up link by the unique address of the account it creates, a reset link by a conditional write
on the account's session nonce, which the new password changes.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
import re
import secrets
import time

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from .. import mail
from ..audit.services import record_event
from ..errors import DomainError
from ..extensions import db
from ..links import public_url
from ..models import utcnow
from ..text import check_plain_text, fold
from .models import ApiToken, User
from .schemas import TOKEN_NAME_MAX

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
        "signup_link_invalid": _l("This sign-up link is invalid; sign up again to get a new one."),
        "signup_link_expired": _l("This sign-up link has expired; sign up again to get a new one."),
        "signup_link_used": _l("This sign-up link has already been used: the account exists. Sign in, or reset "
                               "the password if you have forgotten it."),
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


def _insert_account(**values) -> User | None:
    """The new account, or None when another one has its address or number: one INSERT … ON CONFLICT DO NOTHING,
    so the unique indexes decide between two sign-ups at the same moment without a savepoint."""
    insert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    user_id = db.session.scalar(insert(User).values(**values).on_conflict_do_nothing().returning(User.id))
    return None if user_id is None else db.session.get(User, user_id)


def create_account(identifier: str, password: str, *, is_platform_admin: bool = False,
                   locale: str | None = None) -> User:
    """Create an account for an email address or mobile number. Raises identifier_invalid, identifier_taken,
    password_too_short, password_too_common."""
    kind, value = parse_identifier(identifier)
    check_password_strength(password)
    if find_user(value) is not None:
        raise AccountError("identifier_taken", field="identifier")
    user = _insert_account(password_hash=_hash_password(password), session_nonce=secrets.token_hex(8),
                           is_platform_admin=is_platform_admin, locale=locale, **{kind: value})
    if user is None:  # another sign-up took the address a moment ago
        raise AccountError("identifier_taken", field="identifier")
    record_event("account.created", actor=user, target=user, platform_admin=is_platform_admin or None)
    return user


def authenticate(identifier: str, password: str) -> User:
    """The account for these credentials. Raises invalid_credentials (same for unknown account and wrong
    password), account_locked or account_disabled. A wrong password is counted on the account (the caller commits
    even when this raises); ACCOUNT_LOCKOUT_FAILURES in a row lock it for ACCOUNT_LOCKOUT_MINUTES, during which even
    the right password is refused; a sign-in or a password reset clears the count."""
    user = find_user(identifier)
    if user is None:
        check_password_hash(_dummy_hash(), password)  # same work either way: no account enumeration by timing
        raise AccountError("invalid_credentials")
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        check_password_hash(_dummy_hash(), password)
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


#: a hash of no one's password per hashing method, checked when there is no account so that the answer takes as long
_DUMMY_HASHES: dict[str, str] = {}


def _dummy_hash() -> str:
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash(secrets.token_hex(16), method=method)
    return _DUMMY_HASHES[method]


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
    """A reset link's token: the account and its session nonce, signed and timed. Using it changes the nonce, so it
    works once (and not after another password change or "sign out everywhere")."""
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


def _reset_link(token: str) -> tuple[User, str]:
    try:
        data = _reset_serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except SignatureExpired:
        raise AccountError("reset_link_expired") from None
    except BadSignature:
        raise AccountError("reset_link_invalid") from None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("n"), str):
        raise AccountError("reset_link_invalid")
    user = db.session.get(User, data["u"])
    if user is None or user.is_disabled or not secrets.compare_digest(user.session_nonce, data["n"]):
        raise AccountError("reset_link_invalid")
    return user, data["n"]


def user_for_reset_token(token: str) -> User:
    """The account a reset link belongs to. Raises reset_link_expired or reset_link_invalid (also once used)."""
    return _reset_link(token)[0]


def reset_password_by_link(token: str, password: str, *, revoke_api_tokens: bool = True) -> User:
    """Set a new password through a reset link, once. The link is consumed by one conditional write (the account's
    row, where its session nonce is still the link's) that sets the password and a new nonce: of two uses, also at
    the same moment, the database lets one through and the other raises reset_link_invalid. Every session of the
    account ends and a lock from wrong passwords ends too; with ``revoke_api_tokens`` every API token of the account
    is revoked, in the same transaction. Raises reset_link_expired, reset_link_invalid, password_too_short,
    password_too_common."""
    user, nonce = _reset_link(token)
    check_password_strength(password)
    password_hash = _hash_password(password)
    claimed = db.session.execute(
        db.update(User).where(User.id == user.id, User.session_nonce == nonce)
        .values(password_hash=password_hash, session_nonce=secrets.token_hex(8), failed_logins=0, locked_until=None)
        .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        raise AccountError("reset_link_invalid")
    db.session.refresh(user)
    revoked = revoke_every_api_token(user) if revoke_api_tokens else 0
    record_event("account.password_changed", actor=user, target=user, via="reset", api_tokens_revoked=revoked or None)
    return user


def _signup_cipher() -> Fernet:
    """The sign-up link's token is encrypted (Fernet: AES-128-CBC and HMAC-SHA256, with its time), not only signed:
    it carries the email address or mobile number, which must not be readable in a link or a server's access log."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"volunteer-registry signup link").derive(current_app.config["SECRET_KEY"].encode())
    return Fernet(base64.urlsafe_b64encode(key))


def make_signup_token(identifier: str, *, locale: str | None = None, next_path: str = "") -> str:
    """A sign-up link's token: the normalised address or number, the language and the page to go on to, encrypted
    and timed. It works until an account has the address (so once)."""
    data = json.dumps({"i": identifier, "l": locale, "n": next_path or ""}).encode()
    return _signup_cipher().encrypt(data).decode().rstrip("=")


def request_signup(identifier: str, *, locale: str | None = None, next_path: str = "") -> bool:
    """The first step of signing up: a message to the address or number. When no account has it, a link to choose a
    password and finish (valid SIGNUP_LINK_MAX_AGE, once); when one has, a note to its owner saying so, with the
    ways to sign in. Returns whether an account existed; callers must not reveal it (both answer the same).
    Raises identifier_invalid."""
    kind, value = parse_identifier(identifier)
    user = find_user(value)
    if user is None:
        link = public_url("accounts.finish_signup", token=make_signup_token(value, locale=locale, next_path=next_path))
        hours = current_app.config["SIGNUP_LINK_MAX_AGE"] // 3600
        subject = _("Finish signing up")
        body = _("Someone, we hope you, asked to create a Volunteer Registry account for this address. To choose "
                 "your password and finish, open this link within %(hours)s hours:\n\n%(link)s\n\n"
                 "If it was not you, ignore this message: no account is created.", hours=hours, link=link)
    else:
        subject = _("You already have an account")
        body = _("Someone, we hope you, tried to create a Volunteer Registry account for this address, but it "
                 "already has one. Sign in: %(login)s\nForgotten the password? Choose a new one: %(forgot)s\n\n"
                 "If it was not you, ignore this message: nothing has changed.",
                 login=public_url("accounts.login"), forgot=public_url("accounts.forgot_password"))
    if kind == "email":
        mail.send_email(value, subject, body)
    else:
        mail.send_sms(value, body)
    return user is not None


def signup_link(token: str) -> tuple[str, str | None, str]:
    """(identifier, locale, next path) of a sign-up link that can still be used. Raises signup_link_expired,
    signup_link_invalid, signup_link_used (an account with the identifier exists: the link has been used)."""
    cipher, padded = _signup_cipher(), token + "=" * (-len(token) % 4)
    try:
        data = json.loads(cipher.decrypt(padded))
        issued = cipher.extract_timestamp(padded)
    except (InvalidToken, ValueError, TypeError):
        raise AccountError("signup_link_invalid") from None
    if time.time() - issued > current_app.config["SIGNUP_LINK_MAX_AGE"]:
        raise AccountError("signup_link_expired")
    if not isinstance(data, dict) or not isinstance(data.get("i"), str) or not isinstance(data.get("n"), str) \
            or not isinstance(data.get("l"), str | None):
        raise AccountError("signup_link_invalid")
    if find_user(data["i"]) is not None:
        raise AccountError("signup_link_used")
    return data["i"], data["l"], data["n"]


def create_account_by_link(token: str, password: str) -> tuple[User, str]:
    """The second step: the account for the link's address, with this password; returns it and the page the person
    was going to. The link works once: the account's unique address lets one of two uses at the same moment through,
    the other raises signup_link_used. Raises signup_link_expired, signup_link_invalid, signup_link_used,
    password_too_short, password_too_common."""
    identifier, locale, next_path = signup_link(token)
    try:
        user = create_account(identifier, password, locale=locale)
    except AccountError as error:
        if error.code == "identifier_taken":
            raise AccountError("signup_link_used") from None
        raise
    return user, next_path


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(user: User, name: str = "API token") -> tuple[ApiToken, str]:
    """A new bearer token; the plaintext is returned once and never stored. Raises the text_* codes of
    text.check_plain_text for ``name``."""
    name = check_plain_text(name, field="name", error=AccountError)
    plaintext = "vr_" + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name[:TOKEN_NAME_MAX] or "API token", token_hash=_token_digest(plaintext),
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


def revoke_every_api_token(user: User) -> int:
    """Revoke every API token of ``user`` still in force; returns how many."""
    tokens = db.session.scalars(db.select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)))
    now, count = utcnow(), 0
    for token in tokens:
        token.revoked_at = now
        record_event("api_token.revoked", actor=user, target=token)
        count += 1
    return count


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
