"""Sign-ins that the server can end.

Flask-Login keeps one string per sign-in, in the session cookie and in the remember-me cookie (both signed with
``SECRET_KEY``): ``"<user id>:<session nonce>:<key>:<issued>"`` (``User.get_id``). The key is random and new at each
sign-in; ``issued`` is when it began, in Unix seconds. A sign-in is accepted while

- it is younger than ``REMEMBER_COOKIE_DURATION`` (14 days), with or without "keep me signed in";
- the account's session nonce is still the one it was made with: a password change, a reset, "sign out everywhere"
  and deleting the account change the nonce, which ends every sign-in of the account at once;
- its key is not in ``ended_sessions``: signing out writes it there, which ends this sign-in alone, also in any copy
  of its cookies. The row is deleted once the sign-in would have expired anyway.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..audit.services import record_event
from ..extensions import db
from ..models import utcnow
from .models import EndedSession, User

_LOGIN_ID = re.compile(r"([0-9]{1,18}):([0-9a-f]{1,32}):([A-Za-z0-9_-]{16,64}):([0-9]{1,12})")


def _key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _lifetime() -> dt.timedelta:
    duration = current_app.config["REMEMBER_COOKIE_DURATION"]  # Flask-Login also takes seconds
    return duration if isinstance(duration, dt.timedelta) else dt.timedelta(seconds=duration)


def _parse(login_id: str | None) -> tuple[int, str, str, dt.datetime] | None:
    """(user id, nonce, key, issued) of a well-formed sign-in id, else None."""
    match = _LOGIN_ID.fullmatch(login_id or "")
    if match is None:
        return None
    user_id, nonce, key, issued = match.groups()
    return int(user_id), nonce, key, dt.datetime.fromtimestamp(int(issued), dt.UTC)


def new_sign_in(user: User) -> None:
    """Give ``user`` a new sign-in id (a new key, issued now), for Flask-Login's ``login_user`` to store."""
    user.login_id = None
    user.get_id()


def load_session_user(login_id: str) -> User | None:
    """Flask-Login's user loader: the account of a sign-in that has not expired, whose account's nonce has not
    changed and that nobody signed out of; else None (the visitor is anonymous)."""
    parts = _parse(login_id)
    if parts is None:
        return None
    user_id, nonce, key, issued = parts
    if utcnow() - issued > _lifetime():
        return None
    ended = db.select(EndedSession.id).where(EndedSession.key_hash == _key_digest(key)).exists()
    row = db.session.execute(db.select(User, ended).where(User.id == user_id)).first()
    if row is None or row[1] or not secrets.compare_digest(row[0].session_nonce, nonce):
        return None
    user = row[0]
    user.login_id = login_id
    return user


def end_session(user: User) -> None:
    """Sign ``user``'s current sign-in (``user.login_id``) out on the server: its id is refused from now on, in every
    copy of its session and remember-me cookies. Other sign-ins of the account go on. Also deletes the records of
    sign-ins that have expired by now."""
    parts = _parse(user.login_id)
    if parts is None:
        return
    _user_id, _nonce, key, issued = parts
    now = utcnow()
    db.session.execute(db.delete(EndedSession).where(EndedSession.expires_at < now))
    try:
        with db.session.begin_nested():
            db.session.add(EndedSession(user_id=user.id, key_hash=_key_digest(key), ended_at=now,
                                        expires_at=issued + _lifetime()))
    except IntegrityError:
        pass  # signed out twice at the same moment: once is enough
    user.login_id = None


def end_every_session(user: User) -> None:
    """End every sign-in of ``user``, on every device (and every outstanding password reset link)."""
    user.session_nonce = secrets.token_hex(8)
    user.login_id = None
    record_event("account.signed_out_everywhere", actor=user, target=user)
