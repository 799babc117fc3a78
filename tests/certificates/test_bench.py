"""The benchmark's baselines (bench/baseline.py) do what bench/run.py compares our paths with, and the production
app does not serve them."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from bench.baseline import bp as bench_blueprint
from volunteer_registry.certificates.models import Certificate, CertificateDocument
from volunteer_registry.certificates.services import issue_certificate, today
from volunteer_registry.checkin.models import Scan
from volunteer_registry.extensions import csrf, db

from ..conftest import Factory, build_app, serve
from .conftest import approved_service


def test_the_production_app_serves_no_bench_route(app):
    rules = [rule.rule for rule in app.url_map.iter_rules()]
    assert rules and not [rule for rule in rules if rule.startswith("/bench")]


def test_the_baselines_write_one_scan_and_read_one_certificate_and_issuing_matches_bare_rendering(tmp_path):
    app = build_app(tmp_path, PUBLIC_URL="https://volunteer.example.gov.cn")
    app.register_blueprint(bench_blueprint)
    csrf.exempt(bench_blueprint)
    for _ in serve(app):
        make = Factory(app)
        org = make.org(name="西宁市城东区志愿者协会")
        admin = make.org_admin_of(org)
        admin.display_name = "马晓东"  # the handler's name on the certificates
        coordinator = make.coordinator(org)
        activity = make.activity(org, starts_at=dt.datetime.now(dt.UTC).replace(microsecond=0)
                                 - dt.timedelta(days=20))
        volunteers = [make.volunteer(name="卓玛"), make.volunteer(name="扎西", gender="male")]
        for volunteer in volunteers:
            approved_service(make, activity, volunteer, 150, days_ago=5, recorder=coordinator, approver=admin)
        issued = issue_certificate(admin, org, volunteers[0], today() - dt.timedelta(days=30), today())
        db.session.commit()
        client = app.test_client()

        answer = client.post("/bench/baseline/scan", json={
            "event_id": "bench-0001", "activity_id": activity.id, "organization_id": org.id,
            "volunteer_id": volunteers[0].id, "recorded_by_id": coordinator.id})
        assert answer.status_code == 201
        scan = db.session.get(Scan, answer.get_json()["id"])
        assert (scan.event_id, scan.accepted, scan.refusal_code, scan.session_id) == ("bench-0001", False, "bench",
                                                                                     None)

        read = client.get(f"/bench/baseline/certificate/{issued.code}")
        assert read.status_code == 200
        assert read.get_json() == {"number": issued.number, "status": "valid", "minutes": 150}
        assert client.get("/bench/baseline/certificate/NOSUCHCODE").status_code == 404

        before = db.session.scalar(sa.select(sa.func.count()).select_from(Certificate))
        made = client.post("/bench/issue", json={
            "actor_id": admin.id, "organization_id": org.id, "volunteer_id": volunteers[1].id,
            "start": (today() - dt.timedelta(days=30)).isoformat(), "end": today().isoformat()})
        assert made.status_code == 201
        body = made.get_json()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Certificate)) == before + 1
        assert body["bytes"] == len(db.session.get(CertificateDocument, body["id"]).pdf) and body["ms"] > 0

        html = client.get(f"/bench/certificate-html/{body['id']}")
        assert html.status_code == 200
        assert db.session.get(Certificate, body["id"]).number in html.get_data(as_text=True)
        bare = client.post("/bench/render", data=html.get_data(), content_type="text/html")
        assert bare.status_code == 201
        # bare WeasyPrint makes the same page unsigned and without the token: a little smaller than the issued one
        assert 0.5 * body["bytes"] < bare.get_json()["bytes"] < body["bytes"]
