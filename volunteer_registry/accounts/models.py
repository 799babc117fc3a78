from __future__ import annotations

import datetime as dt
import secrets

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models import UTCDateTime, utcnow
from .schemas import DISPLAY_NAME_MAX, EMAIL_MAX, TOKEN_NAME_MAX


class User(UserMixin, db.Model):
    """An account. People sign in with an email address or a mobile number."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="has_identifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(EMAIL_MAX), unique=True)  #: stored lower-case
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)  #: mainland mobile, 11 digits
    password_hash: Mapped[str] = mapped_column(String(256))
    #: changes with the password, at "sign out everywhere" and at deletion: every session and reset link made
    #: before stops working (a reset link is consumed by changing it: accounts/services.py, reset_password_by_link)
    session_nonce: Mapped[str] = mapped_column(String(32))
    is_platform_admin: Mapped[bool] = mapped_column(default=False)
    is_disabled: Mapped[bool] = mapped_column(default=False)
    locale: Mapped[str | None] = mapped_column(String(10))
    #: the person's real name, printed where they sign for the organization (a certificate's handler)
    display_name: Mapped[str | None] = mapped_column(String(DISPLAY_NAME_MAX))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: wrong passwords since the last sign-in (or lock); at ACCOUNT_LOCKOUT_FAILURES the account locks
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: when the person deleted the account (accounts/deletion.py): the row stays, anonymised, for what points at it
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", order_by="ApiToken.id")

    #: the Flask-Login id of the sign-in this object was loaded for or is starting (not a column:
    #: accounts/sessions.py)
    login_id = None

    @property
    def identifier(self) -> str:
        return self.email or self.phone or ""

    @property
    def is_active(self) -> bool:
        return not self.is_disabled

    def get_id(self) -> str:
        """Flask-Login's id of this sign-in, ``"<id>:<nonce>:<key>:<issued>"``: the one it was loaded with, else a
        new one with a random key of its own (signing out ends that key alone: accounts/sessions.py)."""
        if self.login_id is None:
            self.login_id = f"{self.id}:{self.session_nonce}:{secrets.token_urlsafe(18)}:{int(utcnow().timestamp())}"
        return self.login_id


class ApiToken(db.Model):
    """A revocable bearer token for devices and integrations; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(TOKEN_NAME_MAX))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  #: the first characters, so a person can tell tokens apart
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")


class EndedSession(db.Model):
    """A sign-in ended by signing out before it would have expired: its id, in a copied session or remember-me
    cookie, is refused. Only a hash of the sign-in's random key is stored; the row is deleted once the sign-in would
    have expired anyway (accounts/sessions.py)."""

    __tablename__ = "ended_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    ended_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: when the sign-in would have expired: after this the row is not needed
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
