"""The first five minutes: the landing page points each kind of visitor at their first task (sign up, register an
organization, check a certificate, find activities), and where the demo data is loaded (never in production) it
names the demo's accounts and their password, so that a newcomer needs nothing else to try each role."""
from __future__ import annotations

from volunteer_registry.demo.seed import DEMO_PASSWORD
from volunteer_registry.extensions import db

from .conftest import login


def test_the_landing_page_leads_each_visitor_to_their_task(client):
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    for link in ('href="/signup"', 'href="/organizations/apply"', 'href="/verify"', 'href="/activities"',
                 'href="/organizations"'):
        assert link in page, link
    assert "Checking a certificate?" in page
    assert "Trying the demo?" not in page  # no demo data here


def test_the_demo_accounts_are_named_where_the_demo_is_loaded_but_never_in_production(app, client, make):
    make.user("admin@example.org", admin=True)  # what `flask demo seed` creates first
    db.session.commit()
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Trying the demo?" in page and DEMO_PASSWORD in page
    for email in ("volunteer@example.org", "coordinator@example.org", "orgadmin@example.org", "admin@example.org"):
        assert f"<code>{email}</code>" in page
    app.config["ENV_NAME"] = "production"
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Trying the demo?" not in page and DEMO_PASSWORD not in page


def test_an_account_without_a_name_is_greeted_without_its_address_as_the_heading(client, make):
    user = make.user("coordinator-with-a-long-address@example.org")
    db.session.commit()
    login(client, user)
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<h1>Hello</h1>" in page
    assert "Signed in as coordinator-with-a-long-address@example.org" in page
