import datetime as dt

import pytest

from volunteer_registry.accounts.models import ApiToken, User
from volunteer_registry.accounts.services import (
    AccountError,
    authenticate,
    create_account,
    create_api_token,
    make_reset_token,
    parse_identifier,
    request_password_reset,
    revoke_api_token,
    set_password,
    user_for_api_token,
    user_for_reset_token,
)
from volunteer_registry.audit.models import AuditEvent
from volunteer_registry.extensions import db

from ..conftest import PASSWORD


@pytest.mark.parametrize("text, expected", [
    ("Li.Hua@Example.ORG", ("email", "li.hua@example.org")),
    ("138 0013 8000", ("phone", "13800138000")),
    ("+86 13800138000", ("phone", "13800138000")),
    ("8613800138000", ("phone", "13800138000")),
])
def test_parse_identifier(text, expected):
    assert parse_identifier(text) == expected


@pytest.mark.parametrize("text", ["", "li@", "12800138000", "1380013800", "hello", "@example.org"])
def test_parse_identifier_refuses(text):
    with pytest.raises(AccountError) as info:
        parse_identifier(text)
    assert info.value.code == "identifier_invalid"


def test_create_account_with_email_and_phone(app):
    by_email = create_account("Wang@Example.org", PASSWORD)
    by_phone = create_account("13900001111", PASSWORD)
    assert (by_email.email, by_email.phone) == ("wang@example.org", None)
    assert (by_phone.email, by_phone.phone) == (None, "13900001111")
    assert PASSWORD not in by_email.password_hash
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 2


def test_production_hashing_is_scrypt(app):
    app.config["PASSWORD_HASH_METHOD"] = "scrypt"
    assert create_account("s@example.org", PASSWORD).password_hash.startswith("scrypt:")


@pytest.mark.parametrize("identifier, password, code", [
    ("a@example.org", "short", "password_too_short"),
    ("a@example.org", "1234567890", "password_too_common"),
    ("a@example.org", "aaaaaaaaaaaa", "password_too_common"),
    ("not an address", PASSWORD, "identifier_invalid"),
])
def test_create_account_refuses(app, identifier, password, code):
    with pytest.raises(AccountError) as info:
        create_account(identifier, password)
    assert info.value.code == code
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


def test_duplicate_identifier_refused(app):
    create_account("dup@example.org", PASSWORD)
    with pytest.raises(AccountError) as info:
        create_account("DUP@example.org", PASSWORD)
    assert info.value.code == "identifier_taken"
    assert info.value.http_status == 409


def test_authenticate(app):
    user = create_account("13700001111", PASSWORD)
    assert authenticate("137 0000 1111", PASSWORD) is user
    assert user.last_login_at is not None
    for identifier, password in (("13700001111", "wrong password"), ("13700002222", PASSWORD)):
        with pytest.raises(AccountError) as info:
            authenticate(identifier, password)
        assert info.value.code == "invalid_credentials"
    user.is_disabled = True
    with pytest.raises(AccountError) as info:
        authenticate("13700001111", PASSWORD)
    assert info.value.code == "account_disabled"


def test_password_reset_link_is_single_use(app):
    user = create_account("reset@example.org", PASSWORD)
    assert request_password_reset("reset@example.org") is True
    assert request_password_reset("nobody@example.org") is False
    outbox = app.extensions["outbox"]
    assert len(outbox) == 1 and outbox[0].to == "reset@example.org"
    token = outbox[0].body.split("/password/reset/")[1].split()[0]
    assert user_for_reset_token(token) is user
    set_password(user, "a new long password")
    with pytest.raises(AccountError) as info:
        user_for_reset_token(token)
    assert info.value.code == "reset_link_invalid"
    assert authenticate("reset@example.org", "a new long password") is user


def test_password_reset_by_sms_for_phone_accounts(app):
    create_account("13600001111", PASSWORD)
    request_password_reset("13600001111")
    message = app.extensions["outbox"][0]
    assert message.channel == "sms" and message.to == "13600001111" and "/password/reset/" in message.body


def test_password_reset_link_expires(app):
    user = create_account("exp@example.org", PASSWORD)
    token = make_reset_token(user)
    app.config["PASSWORD_RESET_MAX_AGE"] = -1
    with pytest.raises(AccountError) as info:
        user_for_reset_token(token)
    assert info.value.code == "reset_link_expired"
    with pytest.raises(AccountError) as info:
        user_for_reset_token(token[:-3] + "abc")
    assert info.value.code in ("reset_link_invalid", "reset_link_expired")


def test_a_tokens_last_use_is_written_at_most_once_a_minute(app):
    user = create_account("scanner@example.org", PASSWORD)
    token, plaintext = create_api_token(user, "scanner")
    db.session.commit()
    assert user_for_api_token(plaintext) is user
    db.session.commit()
    stored = db.session.get(ApiToken, token.id)
    first = stored.last_used_at
    assert first is not None
    assert user_for_api_token(plaintext) is user
    assert stored not in db.session.dirty and stored.last_used_at == first  # a scan a second writes no token row
    stored.last_used_at = first - dt.timedelta(seconds=61)
    db.session.commit()
    assert user_for_api_token(plaintext) is user
    assert stored.last_used_at > first


def test_api_tokens_are_hashed_and_revocable(app):
    user = create_account("api@example.org", PASSWORD)
    token, plaintext = create_api_token(user, "scanner")
    stored = db.session.get(ApiToken, token.id)
    assert plaintext not in (stored.token_hash, stored.prefix) and len(stored.token_hash) == 64
    assert user_for_api_token(plaintext) is user
    assert stored.last_used_at is not None
    assert user_for_api_token(plaintext + "x") is None
    revoke_api_token(user, token.id)
    assert user_for_api_token(plaintext) is None
    other = create_account("other@example.org", PASSWORD)
    with pytest.raises(AccountError) as info:
        revoke_api_token(other, token.id)
    assert info.value.code == "token_not_found"
    actions = set(db.session.scalars(db.select(AuditEvent.action)))
    assert {"api_token.created", "api_token.revoked"} <= actions
