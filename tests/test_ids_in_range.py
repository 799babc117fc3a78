"""Ids out of range are 404 (in a URL) or a field error (in a form), never a 500.

SQLite stores integers in 64 bits and raises ``OverflowError`` when a larger one is bound to a query; PostgreSQL's
keys (INTEGER) are 32 bits, and a larger number bound to a query there fails the whole transaction. Every route
whose URL takes an id is tried with ids just past both limits, by the role that may use the route, so the request
reaches the code that would query with it.
"""
from __future__ import annotations

import re

import pytest
from werkzeug.routing import IntegerConverter

from volunteer_registry.certificates.models import Certificate
from volunteer_registry.extensions import db
from volunteer_registry.ledger.models import LedgerState

from .conftest import login

TOO_LARGE = (2**31, 2**32 + 5, 2**63, 2**64 + 5, 10**40)


def _int_rules(app):
    for rule in app.url_map.iter_rules():
        if any(isinstance(conv, IntegerConverter) for conv in rule._converters.values()):
            yield rule


def _url(rule, *, code: str, number: str, value: int) -> str:
    values = {}
    for name, conv in rule._converters.items():
        if isinstance(conv, IntegerConverter):
            values[name] = str(value)
        elif name == "number":
            values[name] = number
        else:
            values[name] = code
    return re.sub(r"<(?:[a-z_]+:)?([a-z_]+)>", lambda m: values[m.group(1)], rule.rule)


def test_every_route_with_an_id_answers_404_past_the_largest_key(app, make):
    rules = list(_int_rules(app))
    assert len(rules) >= 13  # the routes that take an id today; a new one joins automatically
    factory = make
    org = factory.org()
    admin = factory.org_admin_of(org)
    activity = factory.activity(org)
    volunteer = factory.volunteer()
    platform = factory.admin()
    db.session.commit()
    code, activity_code, number = org.code, activity.code, volunteer.volunteer_number
    client = app.test_client()
    failures = []
    for user in (admin, platform):
        login(client, user)
        for rule in rules:
            the_code = activity_code if rule.rule.startswith("/activities/") else code
            for value in TOO_LARGE:
                url = _url(rule, code=the_code, number=number, value=value)
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    response = client.open(url, method=method, data={})
                    if response.status_code != 404:
                        failures.append((user.email, method, url, response.status_code))
    assert failures == []


@pytest.mark.parametrize("field", ["entries"])
def test_a_decision_naming_an_entry_past_the_largest_key_is_a_field_error(app, make, field):
    factory = make
    org = factory.org()
    coordinator = factory.coordinator(org)
    db.session.commit()
    code = org.code
    before = db.session.scalar(db.select(db.func.count()).select_from(LedgerState))
    client = app.test_client()
    login(client, coordinator)
    response = client.post(f"/organizations/{code}/entries/decision", data={field: [str(2**64)], "decision": "approve"})
    assert response.status_code == 422, response.headers.get("Location")
    # (the 422 is the field error: the id cannot be coerced; the page shows it beside the list when there is one)
    assert db.session.scalar(db.select(db.func.count()).select_from(LedgerState)) == before


def test_issuing_to_a_volunteer_past_the_largest_key_is_a_field_error(app, make):
    factory = make
    org = factory.org()
    admin = factory.org_admin_of(org)
    db.session.commit()
    code = org.code
    client = app.test_client()
    login(client, admin)
    response = client.post(f"/organizations/{code}/certificates/issue",
                           data={"volunteers": [str(2**64)], "start": "2026-01-01", "end": "2026-06-30"})
    assert response.status_code == 422, response.headers.get("Location")
    assert db.session.scalar(db.select(db.func.count()).select_from(Certificate)) == 0
