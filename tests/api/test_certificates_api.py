"""POST /certificates, GET /certificates/{code} and /pdf, POST /certificates/{code}/revocation."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from volunteer_registry.certificates.models import Certificate
from volunteer_registry.certificates.services import today
from volunteer_registry.certificates.tokens import token_text
from volunteer_registry.extensions import db

from ..certificates.conftest import certified  # noqa: F401  (the fixture)
from .conftest import token_for


def body(org, volunteer, days: int = 30, **overrides) -> dict:
    values = {"volunteer_number": volunteer.volunteer_number, "organization": org.code,
              "period_start": (today() - dt.timedelta(days=days)).isoformat(), "period_end": today().isoformat()}
    values.update(overrides)
    return values


def count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Certificate))


def test_an_org_admin_issues_reads_downloads_and_revokes(api, make, certified):  # noqa: F811
    org, admin, volunteer, _coordinator, _activities = certified
    token = token_for(admin)
    created = api.post("/certificates", token=token, json=body(org, volunteer))
    assert created.status_code == 201, created.get_json()
    data = created.get_json()
    assert (data["status"], data["minutes"], data["hours"], data["volunteer_number"]) == (
        "valid", 330, 5.5, volunteer.volunteer_number)
    assert data["verify_url"].startswith("HTTP://REGISTRY.TEST/V/") and data["pdf_url"].endswith("/pdf")
    code = data["code"]
    assert api.get(f"/certificates/{code}", token=token).get_json()["number"] == data["number"]
    pdf = api.get(f"/certificates/{code}/pdf", token=token)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF-")
    # the volunteer reads their own
    mine = api.get(f"/certificates/{code}", token=token_for(make.account_of(volunteer)))
    assert mine.status_code == 200 and mine.get_json()["content"]["volunteer_name"] == "卓玛"
    revoked = api.post(f"/certificates/{code}/revocation", token=token, json={"reason": "issued twice"})
    assert revoked.status_code == 200 and revoked.get_json()["status"] == "revoked"
    assert revoked.get_json()["revocation"]["reason"] == "issued twice"
    again = api.post(f"/certificates/{code}/revocation", token=token, json={"reason": "again"})
    assert again.status_code == 422 and again.get_json()["error"]["code"] == "not_valid"
    certificate = db.session.scalar(sa.select(Certificate))
    verdict = api.client.get("/V/" + token_text(certificate.token), headers={"Accept": "application/json"})
    assert verdict.get_json()["status"] == "revoked"


def test_refusals_carry_their_codes_and_write_nothing(api, make, certified):  # noqa: F811
    org, admin, volunteer, coordinator, _activities = certified
    token = token_for(admin)
    stranger = make.volunteer(name="次仁")
    db.session.commit()
    cases = [
        (body(org, volunteer, period_start="2020-01-01", period_end="2020-02-01"), 422, "no_approved_service"),
        (body(org, volunteer, period_start="yesterday"), 400, "invalid_parameter"),
        (body(org, volunteer, period_start=20260101), 400, "invalid_parameter"),
        (body(org, volunteer, volunteer_number="NOT-A-NUMBER"), 400, "invalid_parameter"),
        (body(org, volunteer, volunteer_number="3333-3333-3333"), 404, "volunteer_unknown"),
        (body(org, stranger), 422, "no_approved_service"),
        (body(org, volunteer, period_start=today().isoformat(),
              period_end=(today() - dt.timedelta(days=2)).isoformat()), 422, "period_invalid"),
        (body(org, volunteer, organization=None), 400, "invalid_parameter"),
        (body(org, volunteer, organization="NOSUCHORG"), 404, "not_found"),
    ]
    for payload, status, code in cases:
        response = api.post("/certificates", token=token, json=payload)
        assert (response.status_code, response.get_json()["error"]["code"]) == (status, code), payload
    assert api.post("/certificates", token=token, json=[1]).status_code == 400
    forbidden = api.post("/certificates", token=token_for(coordinator), json=body(org, volunteer))
    assert forbidden.status_code == 403 and forbidden.get_json()["error"]["code"] == "forbidden"
    assert api.post("/certificates", json=body(org, volunteer)).status_code == 401
    assert count() == 0
    api.post("/certificates", token=token, json=body(org, volunteer))
    twice = api.post("/certificates", token=token, json=body(org, volunteer))
    assert twice.status_code == 422 and twice.get_json()["error"]["code"] == "already_issued" and count() == 1


def test_strangers_cannot_tell_a_certificate_exists(api, make, certified):  # noqa: F811
    org, admin, volunteer, _coordinator, _activities = certified
    code = api.post("/certificates", token=token_for(admin), json=body(org, volunteer)).get_json()["code"]
    stranger = token_for(make.user())
    other_admin = token_for(make.org_admin_of(make.org()))
    for token in (stranger, other_admin):
        for path in (f"/certificates/{code}", f"/certificates/{code}/pdf", "/certificates/NOSUCHCODE"):
            response = api.get(path, token=token)
            assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
        refused = api.post(f"/certificates/{code}/revocation", token=token, json={"reason": "mine now"})
        assert refused.status_code == 404
    assert db.session.scalar(sa.select(Certificate.status)) == "valid"
