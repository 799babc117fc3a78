"""Sign-up and the password reset answer the same whether an account exists or not (issue 17): the same status, the
same redirect, the same flashed text. The owner of an existing account is told by a message instead."""
from __future__ import annotations

import pytest

from volunteer_registry.accounts import services
from volunteer_registry.extensions import db

from ..conftest import PASSWORD


def _answer(client, url: str, identifier: str) -> tuple:
    """What a visitor learns from submitting ``identifier``: the status, where it leads, the flashed messages and the
    page it leads to, with the identifier itself (which the visitor typed) taken out."""
    response = client.post(url, data={"identifier": identifier})
    with client.session_transaction() as session:
        flashes = [(category, text.replace(identifier, "…")) for category, text in session.get("_flashes", [])]
    page = client.get(response.headers["Location"]).get_data(as_text=True) if response.status_code == 302 else ""
    return response.status_code, response.headers.get("Location"), flashes, page.replace(identifier, "…")


@pytest.mark.parametrize("existing, unknown", [("owner@example.org", "stranger@example.org"),
                                               ("13912345678", "13987654321")])
def test_signup_and_reset_answer_the_same_whether_or_not_the_account_exists(app, make, existing, unknown):
    make.user(existing)
    db.session.commit()
    for url in ("/signup", "/password/forgot"):
        answers = [_answer(app.test_client(), url, identifier) for identifier in (existing, unknown)]
        assert answers[0] == answers[1], url
        status, location, flashes, _page = answers[0]
        assert status == 302 and location in ("/signup/sent", "/login") and len(flashes) == 1


def test_the_owner_of_an_existing_account_is_told_instead(client, make, app):
    make.user("owner@example.org")
    db.session.commit()
    client.post("/signup", data={"identifier": "owner@example.org"})
    client.post("/signup", data={"identifier": "newcomer@example.org"})
    told, invited = app.extensions["outbox"]
    assert (told.to, told.subject) == ("owner@example.org", "You already have an account")
    assert "/signup/" not in told.body and "/login" in told.body and "/password/forgot" in told.body
    assert (invited.to, invited.subject) == ("newcomer@example.org", "Finish signing up")
    assert "/signup/" in invited.body


def test_a_missing_account_costs_the_same_password_check_as_a_real_one(app, monkeypatch):
    """Signing in as nobody checks the password against a hash of the configured method (scrypt in production), so
    the answer takes as long as for an account that exists."""
    app.config["PASSWORD_HASH_METHOD"] = "scrypt"
    services.create_account("real@example.org", PASSWORD)
    checked = []
    original = services.check_password_hash
    monkeypatch.setattr(services, "check_password_hash", lambda hashed, password: checked.append(hashed) or
                        original(hashed, password))
    for identifier in ("real@example.org", "nobody@example.org"):
        with pytest.raises(services.AccountError):
            services.authenticate(identifier, "wrong password!")
    assert [hashed.split(":")[0] for hashed in checked] == ["scrypt", "scrypt"]
