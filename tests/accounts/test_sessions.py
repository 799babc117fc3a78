"""Signing out ends the sign-in on the server: a copied session or remember-me cookie stops working
(accounts/sessions.py), and the remember-me cookie is HttpOnly, SameSite=Lax, bounded, and Secure in production."""
from __future__ import annotations

import datetime as dt
import email.utils

import pytest
import time_machine

from volunteer_registry.accounts.models import EndedSession, User
from volunteer_registry.extensions import db
from volunteer_registry.models import utcnow

from ..conftest import PASSWORD, build_app, serve

HOST = "registry.test"


def _sign_in(client, identifier: str, *, remember: bool = False):
    data = {"identifier": identifier, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    return response


def _cookie(client, name: str) -> str | None:
    cookie = client.get_cookie(name, domain=HOST)
    return cookie.value if cookie is not None else None


def _copy(app, cookies: dict):
    """Another browser holding copies of these cookies (an attacker who took them)."""
    other = app.test_client()
    for name, value in cookies.items():
        other.set_cookie(name, value, domain=HOST)
    return other


def _signed_in(client) -> bool:
    return client.get("/account").status_code == 200


def _ended() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(EndedSession))


def test_signing_out_ends_a_copied_session_cookie_and_only_that_sign_in(client, make, app):
    make.user("copy@example.org")
    db.session.commit()
    _sign_in(client, "copy@example.org")
    laptop = app.test_client()
    _sign_in(laptop, "copy@example.org", remember=True)
    stolen = _copy(app, {"session": _cookie(client, "session")})
    assert _signed_in(stolen)  # the copy works while the sign-in lasts
    assert client.post("/logout").status_code == 302
    assert not _signed_in(client)
    assert not _signed_in(stolen)
    assert _ended() == 1
    # the account's other sign-ins go on: the laptop, and its remember-me cookie
    assert _signed_in(laptop)
    assert _signed_in(_copy(app, {"remember_token": _cookie(laptop, "remember_token")}))


def test_signing_out_ends_a_copied_remember_me_cookie(client, make, app):
    make.user("remember@example.org")
    db.session.commit()
    _sign_in(client, "remember@example.org", remember=True)
    remembered = _cookie(client, "remember_token")
    assert remembered
    # a browser holding only the remember-me cookie (its session cookie gone) is signed in by it
    assert _signed_in(_copy(app, {"remember_token": remembered}))
    client.post("/logout")
    assert _cookie(client, "remember_token") is None  # this browser forgets it ...
    assert not _signed_in(client)
    assert not _signed_in(_copy(app, {"remember_token": remembered}))  # ... and a copy is refused


def test_signing_out_everywhere_ends_every_sign_in_and_reset_link(app, make):
    from volunteer_registry.accounts.services import make_reset_token

    user = make.user("all@example.org")
    db.session.commit()
    phone, laptop = app.test_client(), app.test_client()
    _sign_in(phone, "all@example.org")
    _sign_in(laptop, "all@example.org", remember=True)
    remembered = _cookie(laptop, "remember_token")
    reset = make_reset_token(user)
    response = phone.post("/account/sign-out-everywhere")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not _signed_in(phone) and not _signed_in(laptop)
    assert not _signed_in(_copy(app, {"remember_token": remembered}))
    assert phone.get(f"/password/reset/{reset}").status_code == 400
    _sign_in(laptop, "all@example.org")  # the password still works
    assert _signed_in(laptop)


def test_a_sign_in_lasts_at_most_the_configured_days(client, make, app):
    assert app.config["REMEMBER_COOKIE_DURATION"] == dt.timedelta(days=14)
    make.user("old@example.org")
    db.session.commit()
    start = utcnow()
    with time_machine.travel(start, tick=False):
        _sign_in(client, "old@example.org", remember=True)
    remembered = _cookie(client, "remember_token")
    with time_machine.travel(start + dt.timedelta(days=13, hours=23), tick=False):
        assert _signed_in(client)
    with time_machine.travel(start + dt.timedelta(days=14, minutes=1), tick=False):
        assert not _signed_in(client)  # the session cookie is not accepted any more ...
        assert not _signed_in(_copy(app, {"remember_token": remembered}))  # ... nor a remember-me cookie kept longer


def test_signing_in_again_ends_the_browsers_earlier_sign_in(client, make, app):
    """A password reset opened in a browser that is signed in (as anyone) replaces that sign-in, on the server too."""
    from volunteer_registry.accounts.services import make_reset_token

    make.user("first@example.org")
    second = make.user("second@example.org")
    db.session.commit()
    _sign_in(client, "first@example.org", remember=True)
    earlier = {"session": _cookie(client, "session"), "remember_token": _cookie(client, "remember_token")}
    response = client.post(f"/password/reset/{make_reset_token(second)}",
                           data={"password": "a brand new password", "confirm": "a brand new password"})
    assert response.status_code == 302
    assert "second@example.org" in client.get("/account").get_data(as_text=True)
    assert _cookie(client, "remember_token") is None  # the first account's remember-me cookie is gone
    assert not _signed_in(_copy(app, earlier))


def test_a_malformed_or_old_style_session_id_signs_nobody_in(client, make):
    user = make.user()
    db.session.commit()
    for login_id in (f"{user.id}", f"{user.id}:{user.session_nonce}", f"{user.id}:{user.session_nonce}:short:1",
                     f"x:{user.session_nonce}:{'a' * 24}:1", "", f"{user.id}:{user.session_nonce}:{'a' * 24}:9" * 3):
        with client.session_transaction() as session:
            session["_user_id"] = login_id
        assert client.get("/account").status_code == 302, login_id


def test_signing_out_twice_with_the_same_session_is_harmless(client, make, app):
    make.user("twice@example.org")
    db.session.commit()
    _sign_in(client, "twice@example.org")
    copy = _copy(app, {"session": _cookie(client, "session")})
    assert client.post("/logout").status_code == 302
    assert copy.post("/logout").status_code == 302  # already ended: anonymous by now
    assert _ended() == 1


def test_ended_sign_ins_are_forgotten_once_they_would_have_expired(client, make, app):
    make.user("prune@example.org")
    db.session.commit()
    start = utcnow()
    with time_machine.travel(start, tick=False):
        _sign_in(client, "prune@example.org")
        client.post("/logout")
    assert _ended() == 1
    with time_machine.travel(start + dt.timedelta(days=15), tick=False):
        _sign_in(client, "prune@example.org")
        client.post("/logout")
    db.session.rollback()
    assert [row.expires_at > start + dt.timedelta(days=15) for row in db.session.scalars(db.select(EndedSession))] \
        == [True]


def test_the_remember_me_cookie_is_http_only_same_site_lax_and_bounded(client, make):
    make.user("cookie@example.org")
    db.session.commit()
    response = _sign_in(client, "cookie@example.org", remember=True)
    [cookie] = [value for value in response.headers.getlist("Set-Cookie") if value.startswith("remember_token=")]
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
    assert "httponly" in attributes and attributes["samesite"] == "SameSite=Lax"
    expires = email.utils.parsedate_to_datetime(attributes["expires"].split("=", 1)[1])
    assert abs(expires - (utcnow() + dt.timedelta(days=14))) < dt.timedelta(minutes=1)
    assert "secure" not in attributes  # development and tests run over http


@pytest.fixture
def production(tmp_path):
    yield from serve(build_app(tmp_path, ENV_NAME="production", PUBLIC_URL="https://registry.test",
                               PASSWORD_HASH_METHOD="pbkdf2:sha256:1000"))


def test_in_production_the_remember_me_cookie_is_secure_too(production):
    from volunteer_registry.accounts.services import create_account

    create_account("prod@example.org", PASSWORD)
    db.session.commit()
    client = production.test_client()
    response = client.post("/login", data={"identifier": "prod@example.org", "password": PASSWORD, "remember": "y"},
                           base_url="https://registry.test")
    assert response.status_code == 302
    cookies = {value.split("=")[0]: value for value in response.headers.getlist("Set-Cookie")}
    for name in ("remember_token", "session"):
        attributes = [part.strip() for part in cookies[name].split(";")[1:]]
        assert {"Secure", "HttpOnly", "SameSite=Lax"} <= set(attributes), cookies[name]


def test_each_sign_in_has_an_id_of_its_own(make):
    """User.get_id() makes a new sign-in id, with a random key and the time, the first time; the object keeps it."""
    user = make.user()
    first = user.get_id()
    assert first == user.get_id()
    user_id, nonce, key, issued = first.split(":")
    assert (user_id, nonce) == (str(user.id), user.session_nonce) and len(key) >= 16
    assert abs(int(issued) - utcnow().timestamp()) < 60
    db.session.expunge(user)
    assert db.session.get(User, user.id).get_id() != first  # another sign-in of the same account
