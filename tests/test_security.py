"""Response headers and the proxy setting."""
from tests.conftest import build_app


def test_security_headers_on_every_page(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP: HSTS would be ignored
    assert client.get("/api/v1/openapi.json").headers["X-Content-Type-Options"] == "nosniff"


def test_behind_a_trusted_proxy_the_client_address_and_scheme_come_from_it(tmp_path):

    app = build_app(tmp_path, TRUSTED_PROXIES=1)
    response = app.test_client().get("/", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    plain = build_app(tmp_path / "plain").test_client().get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in plain.headers


def test_unstorable_characters_in_forms_and_queries_are_refused(client, make):
    from volunteer_registry.extensions import db
    from volunteer_registry.organizations.models import Organization

    from .conftest import login

    user = make.user()
    db.session.commit()
    login(client, user)
    response = client.post("/organizations/apply", data={"name": "Team\x00", "org_type": "community_team"})
    assert response.status_code == 400
    assert db.session.scalar(db.select(db.func.count()).select_from(Organization)) == 0
    assert client.get("/organizations?q=a%00b").status_code == 400
    assert client.get("/organizations?q=%ED%A0%80").status_code == 200  # invalid UTF-8 is decoded as U+FFFD


def test_absurd_page_numbers_fall_back_to_the_first_page(client, make):
    from volunteer_registry.extensions import db

    make.org(name="Only team")
    db.session.commit()
    for page in ("99999999999999999999999", "9" * 5000, "²", "-3"):
        response = client.get(f"/organizations?page={page}")
        assert response.status_code == 200 and "Only team" in response.get_data(as_text=True)


def test_unstorable_characters_in_the_path_are_not_found(client):
    assert client.get("/organizations/AB%00CD").status_code == 404
    response = client.get("/api/v1/organizations/%00")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_form_fields_carry_no_empty_aria_or_required_attributes(client):
    page = client.get("/signup").get_data(as_text=True)
    assert '="None"' not in page and "aria-invalid" not in page
    assert 'required' in page  # the identifier is required
    page = client.post("/signup", data={"identifier": "x"}).get_data(as_text=True)
    assert 'aria-invalid="true"' in page and 'aria-describedby="identifier-hint identifier-error"' in page
