import base64

import pytest

from volunteer_registry.accounts.models import User
from volunteer_registry.extensions import db

from ..conftest import PASSWORD, login


def _users() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(User))


def _link_in(message) -> str:
    """The path of the link in a message the app sent."""
    return message.body.split("http://registry.test")[1].split()[0]


def test_signup_sends_a_link_that_signs_in_and_leads_to_the_profile(client, app):
    response = client.post("/signup", data={"identifier": "139 1234 0000"})
    assert response.status_code == 302 and response.headers["Location"] == "/signup/sent"
    assert _users() == 0  # nothing exists until the link is opened
    [message] = app.extensions["outbox"]
    assert (message.channel, message.to) == ("sms", "13912340000")
    link = _link_in(message)
    token = link.rsplit("/", 1)[1]
    assert b"1391234" not in base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))  # the number is not readable
    page = client.get(link)
    assert page.status_code == 200 and "13912340000" in page.get_data(as_text=True)
    response = client.post(link, data={"password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/volunteer/profile")
    assert _users() == 1
    assert client.get("/account").status_code == 200
    # the link works once
    again = client.post(link, data={"password": "another password", "confirm": "another password"})
    assert again.status_code == 400 and "already been used" in again.get_data(as_text=True)
    assert _users() == 1


def test_signup_keeps_where_the_person_was_going(client, app):
    client.post("/signup?next=/organizations", data={"identifier": "going@example.org", "next": "/organizations"})
    link = _link_in(app.extensions["outbox"][0])
    response = client.post(link, data={"password": PASSWORD, "confirm": PASSWORD})
    assert response.headers["Location"] == "/organizations"


def test_signup_errors_are_shown_next_to_the_field(client, app):
    response = client.post("/signup", data={"identifier": "abc"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="identifier-error"' in page and "11-digit mainland mobile number" in page
    assert 'aria-invalid="true"' in page
    assert app.extensions.get("outbox", []) == []
    client.post("/signup", data={"identifier": "a@example.org"})
    link = _link_in(app.extensions["outbox"][0])
    response = client.post(link, data={"password": PASSWORD, "confirm": "other"})
    assert response.status_code == 200 and "The passwords differ." in response.get_data(as_text=True)
    response = client.post(link, data={"password": "short", "confirm": "short"})
    assert response.status_code == 200 and 'id="password-error"' in response.get_data(as_text=True)
    assert _users() == 0


@pytest.mark.parametrize("token, code", [("not-a-link", "invalid"), (None, "expired")])
def test_a_bad_or_old_signup_link_is_refused(client, app, token, code):
    if token is None:
        client.post("/signup", data={"identifier": "late@example.org"})
        token = _link_in(app.extensions["outbox"][0]).rsplit("/", 1)[1]
        app.config["SIGNUP_LINK_MAX_AGE"] = -1
    for response in (client.get(f"/signup/{token}"),
                     client.post(f"/signup/{token}", data={"password": PASSWORD, "confirm": PASSWORD})):
        assert response.status_code == 400
        assert ("has expired" if code == "expired" else "is invalid") in response.get_data(as_text=True)
    assert _users() == 0


def test_login_and_logout(client, make):
    make.user("li@example.org")
    db.session.commit()
    response = client.post("/login", data={"identifier": "LI@example.org", "password": "wrong password"})
    assert response.status_code == 200 and "The account or password is not correct." in response.get_data(as_text=True)
    response = client.post("/login", data={"identifier": "li@example.org", "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/account").status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/account").status_code == 302


@pytest.mark.parametrize("target, expected", [
    ("/organizations", "/organizations"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
])
def test_next_redirects_stay_on_the_site(client, make, target, expected):
    make.user("next@example.org")
    db.session.commit()
    response = client.post("/login", data={"identifier": "next@example.org", "password": PASSWORD, "next": target})
    assert response.headers["Location"] == expected


def test_login_is_throttled(client, make, app):
    make.user("slow@example.org")
    db.session.commit()
    statuses = [client.post("/login", data={"identifier": "slow@example.org", "password": "wrong guess"}).status_code
                for _ in range(12)]
    assert statuses[:10] == [200] * 10 and statuses[10:] == [429, 429]
    # the right password is refused too while throttled
    response = client.post("/login", data={"identifier": "slow@example.org", "password": PASSWORD})
    assert response.status_code == 429 and "Too many attempts" in response.get_data(as_text=True)


def test_session_is_renewed_at_sign_in(client, make):
    make.user("fix@example.org")
    db.session.commit()
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session["lang"] = "en"
    client.post("/login", data={"identifier": "fix@example.org", "password": PASSWORD})
    with client.session_transaction() as session:
        assert "planted" not in session and session["lang"] == "en" and "_user_id" in session


def test_password_reset_journey(client, make, app):
    make.user("forgot@example.org")
    db.session.commit()
    response = client.post("/password/forgot", data={"identifier": "forgot@example.org"})
    assert response.status_code == 302
    unknown = client.post("/password/forgot", data={"identifier": "nobody@example.org"}, follow_redirects=True)
    assert "If an account exists for nobody@example.org" in unknown.get_data(as_text=True)
    link = app.extensions["outbox"][0].body.split("http://registry.test")[1].split()[0]
    response = client.post(link, data={"password": "brand new password", "confirm": "brand new password"})
    assert response.status_code == 302
    client.post("/logout")
    assert client.post(link, data={"password": "third password!", "confirm": "third password!"}).status_code == 400
    response = client.post("/login", data={"identifier": "forgot@example.org", "password": "brand new password"})
    assert response.status_code == 302


def test_password_change_ends_other_sessions(client, make, app):
    from volunteer_registry.accounts.services import set_password

    user = make.user()
    db.session.commit()
    login(client, user)
    assert client.get("/account").status_code == 200
    set_password(user, "another good password")
    db.session.commit()
    assert client.get("/account").status_code == 302


def test_api_tokens_page(client, make):
    user = make.user()
    db.session.commit()
    login(client, user)
    response = client.post("/account/tokens", data={"name": "Scanner tablet"})
    page = response.get_data(as_text=True)
    token = page.split('<p class="secret">')[1].split("<")[0]
    assert token.startswith("vr_")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert token not in client.get("/account").get_data(as_text=True)
    token_id = db.session.scalar(db.select(User).where(User.id == user.id)).tokens[0].id
    assert client.post(f"/account/tokens/{token_id}/revoke").status_code == 302
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_language_follows_browser_and_switch(client):
    page = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert '<html lang="en">' in client.get("/", headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    client.get("/language/en")
    assert '<html lang="en">' in client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    response = client.get("/language/zh_CN?next=https://evil.example/")
    assert response.headers["Location"] == "/"
