"""Every link that leaves the app is built from PUBLIC_URL, never from the request's Host or X-Forwarded-Host.

The app here trusts one proxy (so X-Forwarded-Host is read, as behind nginx) and has no SERVER_NAME (so a request
may name any host): the worst case. Each request forges both headers; each link must still name PUBLIC_URL.
"""
from __future__ import annotations

import re

import pytest

from volunteer_registry import create_app
from volunteer_registry.extensions import db
from volunteer_registry.links import check_public_url, public_base_url
from volunteer_registry.notifications.delivery import render
from volunteer_registry.notifications.models import Notification
from volunteer_registry.notifications.services import notify
from volunteer_registry.supervision.services import file_complaint

from .conftest import Factory, build_app, login, serve

PUBLIC = "https://volunteer.example.gov.cn"
FORGED = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}
#: signed in, the test client's cookies belong to its own host: only the proxy's header is forged
FORWARDED = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}


@pytest.fixture
def app(tmp_path):
    yield from serve(build_app(tmp_path, PUBLIC_URL=PUBLIC, TRUSTED_PROXIES=1, SERVER_NAME=None))


@pytest.fixture
def make(app):
    return Factory(app)


def _links(text: str) -> list[str]:
    return re.findall(r"https?://[^\s<>\"']+", text)


def test_a_reset_link_asked_for_with_a_forged_host_names_public_url(app, client, make):
    make.user("forgot@example.org")
    db.session.commit()
    response = client.post("/password/forgot", data={"identifier": "forgot@example.org"}, headers=FORGED)
    assert response.status_code == 302
    [message] = app.extensions["outbox"]
    links = _links(message.body)
    assert links and all(link.startswith(PUBLIC + "/") for link in links)
    assert "evil.example" not in message.body


def test_an_invitation_link_names_public_url(client, make):
    org = make.org()
    db.session.commit()
    login(client, make.org_admin_of(org))
    page = client.post(f"/organizations/{org.code}/invitations", data={"role": "coordinator", "note": ""},
                       headers=FORWARDED).get_data(as_text=True)
    secret = re.search(r'<p class="secret">([^<]+)</p>', page)
    assert secret and secret.group(1).startswith(PUBLIC + "/invitations/")
    assert "evil.example" not in page


def test_the_kiosk_qr_names_public_url(client, make):
    activity = make.activity()
    db.session.commit()
    login(client, make.org_admin_of(activity.organization))
    state = client.get(f"/activities/{activity.code}/kiosk/state", headers=FORWARDED).get_json()
    assert state["url"].startswith(PUBLIC + "/k/")
    assert "evil.example" not in state["svg"]


def test_a_complaints_follow_link_names_public_url(client, make):
    org = make.org()
    complaint = file_complaint(organization=org, message="They record hours nobody served.")
    db.session.commit()
    page = client.get(f"/complaints/{complaint.code}", headers=FORGED).get_data(as_text=True)
    assert f"{PUBLIC}/complaints/{complaint.code}" in page
    assert "evil.example" not in page


def test_the_apis_organization_url_names_public_url(client, make):
    org = make.org()
    db.session.commit()
    body = client.get(f"/api/v1/organizations/{org.code}", headers=FORGED).get_json()
    assert body["url"] == f"{PUBLIC}/organizations/{org.code}"


def test_a_notification_email_and_its_unsubscribe_link_name_public_url(app, make):
    user = make.user("notified@example.org")
    activity = make.activity()
    db.session.commit()
    with app.test_request_context("/", headers=FORGED):  # as if a request caused it
        notification = notify(user, "membership.invited", link=f"/organizations/{activity.organization.code}",
                              organization=activity.organization.name)
        db.session.commit()
        subject, body, headers = render(db.session.get(Notification, notification.id), user, "email")
    assert subject
    links = _links(body)
    assert len(links) == 2 and all(link.startswith(PUBLIC + "/") for link in links)
    assert headers["List-Unsubscribe"].startswith(f"<{PUBLIC}/")
    assert "evil.example" not in body + str(headers)


def test_a_certificates_verification_url_never_takes_the_requests_host(tmp_path):
    """Without PUBLIC_URL (development, tests) the fallback is SERVER_NAME, else the development server: a forged
    Host in the request that issues never reaches the QR code."""
    bare = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "k",
                       "ID_ENCRYPTION_KEY": "k", "SERVER_NAME": None}, instance_path=str(tmp_path / "i"))
    with bare.test_request_context("/", headers=FORGED):
        assert public_base_url() == "http://localhost:5000"
    named = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "k",
                        "ID_ENCRYPTION_KEY": "k", "SERVER_NAME": "registry.test"}, instance_path=str(tmp_path / "j"))
    with named.test_request_context("/", headers={"Host": "registry.test", "X-Forwarded-Host": "evil.example"}):
        assert public_base_url() == "http://registry.test"


def test_production_refuses_to_start_without_public_url(tmp_path):
    config = {"ENV_NAME": "production", "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "k",
              "ID_ENCRYPTION_KEY": "k", "PUBLIC_URL": None}
    with pytest.raises(RuntimeError, match="PUBLIC_URL is not set"):
        create_app(config, instance_path=str(tmp_path / "i"))
    app = create_app({**config, "PUBLIC_URL": PUBLIC + "/"}, instance_path=str(tmp_path / "j"))
    assert app.config["PUBLIC_URL"] == PUBLIC


@pytest.mark.parametrize("value", ["volunteer.example.gov.cn", "ftp://volunteer.example.gov.cn",
                                   "https://volunteer.example.gov.cn/registry", "https://user:pw@example.org",
                                   "https://example.org:99999", "https://example.org/?next=evil", "https://"])
def test_a_public_url_that_is_not_a_scheme_and_host_is_refused_at_start(tmp_path, value):
    with pytest.raises(ValueError, match="PUBLIC_URL"):
        check_public_url(value)
    with pytest.raises(ValueError, match="PUBLIC_URL"):
        create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "k",
                    "ID_ENCRYPTION_KEY": "k", "PUBLIC_URL": value}, instance_path=str(tmp_path / "i"))


def test_a_public_url_with_a_port_is_kept_as_given():
    assert check_public_url("http://192.168.1.20:8080/") == "http://192.168.1.20:8080"
    assert check_public_url("http://[::1]:5001") == "http://[::1]:5001"
