"""Account lockout: wrong passwords in a row lock the account, whatever address they come from; the lock holds
against the right password until it ends or the password is reset."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from volunteer_registry.accounts.services import AccountError, authenticate, set_password
from volunteer_registry.audit.models import AuditEvent
from volunteer_registry.extensions import db
from volunteer_registry.models import utcnow

from ..conftest import PASSWORD


def refused(identifier: str, password: str) -> AccountError:
    with pytest.raises(AccountError) as error:
        authenticate(identifier, password)
    db.session.commit()  # as the sign-in view does: the failure counts
    return error.value


def test_ten_wrong_passwords_lock_the_account_even_against_the_right_one(app, make):
    user = make.user("lock@example.org")
    db.session.commit()
    assert {refused("lock@example.org", f"wrong guess {i}").code for i in range(9)} == {"invalid_credentials"}
    assert user.failed_logins == 9 and user.locked_until is None
    assert refused("lock@example.org", "wrong guess 10").code == "invalid_credentials"  # the tenth locks
    assert user.failed_logins == 0 and user.locked_until > utcnow() + dt.timedelta(minutes=14)
    locked = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "account.locked")).all()
    assert len(locked) == 1 and (locked[0].target_type, locked[0].target_id) == ("User", str(user.id))

    error = refused("lock@example.org", PASSWORD)
    assert error.code == "account_locked" and "15 more minutes" in error.message
    assert user.failed_logins == 0  # a try while locked does not extend the lock

    user.locked_until = utcnow() - dt.timedelta(seconds=1)  # the lock has ended
    db.session.commit()
    assert authenticate("lock@example.org", PASSWORD) is user
    assert user.failed_logins == 0 and user.locked_until is None


def test_a_sign_in_clears_the_count(app, make):
    user = make.user("count@example.org")
    db.session.commit()
    for i in range(3):
        refused("count@example.org", f"wrong guess {i}")
    assert user.failed_logins == 3
    assert authenticate("count@example.org", PASSWORD) is user and user.failed_logins == 0


def test_a_password_reset_ends_the_lock(app, make):
    user = make.user("reset@example.org")
    db.session.commit()
    for i in range(10):
        refused("reset@example.org", f"wrong guess {i}")
    assert refused("reset@example.org", PASSWORD).code == "account_locked"
    set_password(user, "a new long passphrase")
    db.session.commit()
    assert user.locked_until is None
    assert authenticate("reset@example.org", "a new long passphrase") is user


def test_the_sign_in_form_counts_wrong_passwords_and_says_the_account_is_locked(app, client, make):
    app.config["ACCOUNT_LOCKOUT_FAILURES"] = 3
    user = make.user("form@example.org")
    db.session.commit()
    for i in range(3):
        page = client.post("/login", data={"identifier": "form@example.org", "password": f"wrong {i}"})
        assert page.status_code == 200 and "The account or password is not correct." in page.get_data(as_text=True)
    db.session.refresh(user)
    assert user.locked_until is not None
    page = client.post("/login", data={"identifier": "form@example.org", "password": PASSWORD})
    assert page.status_code == 200 and "this account is locked for 15 more minutes" in page.get_data(as_text=True)
    assert client.get("/account").status_code == 302  # not signed in
