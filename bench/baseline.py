"""The benchmark's baselines, served by the same app and workers as the paths they are compared with. Never
registered in production: only ``bench/app.py`` (the bench's WSGI entry point) adds this blueprint.

- ``POST /bench/baseline/scan``: one ORM insert of a row like the one a scan writes (a ``scans`` row with the same
  columns, refused, so that it opens no session), and the commit. No token check, no rules: the floor under
  ``POST /api/v1/scans``.
- ``GET /bench/baseline/certificate/<code>``: one ORM read of a certificate by its key, as JSON. The floor under
  the JSON verification (``GET /V/<token>``).
- ``POST /bench/issue``: ``issue_certificate`` and the commit, for a volunteer the driver names — render, sign and
  store, as the org admin's issue does, inside a worker (so that its memory counts in the worker's peak).
- ``GET /bench/certificate-html/<id>`` and ``POST /bench/render``: the HTML of an issued certificate, and bare
  WeasyPrint rendering that HTML (the floor under issuing). Both issuing endpoints answer with the milliseconds
  the work took inside the worker, which is what the bench compares (the HTTP round trip is printed beside it).
"""
from __future__ import annotations

import datetime as dt
import gc
import time
from pathlib import Path

import weasyprint
from flask import Blueprint, abort, current_app, jsonify, request

from volunteer_registry.accounts.models import User
from volunteer_registry.certificates.models import Certificate, CertificateDocument
from volunteer_registry.certificates.pdf import certificate_html
from volunteer_registry.certificates.services import document_data, issue_certificate, verification_url
from volunteer_registry.checkin.models import Scan
from volunteer_registry.extensions import db
from volunteer_registry.models import utcnow
from volunteer_registry.organizations.models import Organization
from volunteer_registry.volunteers.models import Volunteer

bp = Blueprint("bench", __name__, url_prefix="/bench")


@bp.route("/baseline/scan", methods=["POST"])
def baseline_scan():
    body = request.get_json()
    now = utcnow()
    scan = Scan(event_id=body["event_id"], activity_id=body["activity_id"], organization_id=body["organization_id"],
                volunteer_id=body["volunteer_id"], typed_number=None, method="card", direction="auto", result=None,
                accepted=False, refusal_code="bench", flags=[], scanned_at=now, client_time=None, received_at=now,
                latitude=None, longitude=None, recorded_by_id=body["recorded_by_id"])
    db.session.add(scan)
    db.session.commit()
    return jsonify({"id": scan.id}), 201


@bp.route("/baseline/certificate/<code>")
def baseline_certificate(code: str):
    certificate = db.session.scalar(db.select(Certificate).where(Certificate.code == code))
    if certificate is None:
        abort(404)
    return jsonify({"number": certificate.number, "status": certificate.status, "minutes": certificate.minutes})


@bp.route("/issue", methods=["POST"])
def issue():
    body = request.get_json()
    actor = db.session.get(User, body["actor_id"])
    org = db.session.get(Organization, body["organization_id"])
    volunteer = db.session.get(Volunteer, body["volunteer_id"])
    began = time.perf_counter()
    certificate = issue_certificate(actor, org, volunteer, dt.date.fromisoformat(body["start"]),
                                    dt.date.fromisoformat(body["end"]))
    db.session.commit()
    took = time.perf_counter() - began
    size = len(db.session.get(CertificateDocument, certificate.id).pdf)
    return jsonify({"id": certificate.id, "ms": took * 1000, "bytes": size}), 201


@bp.route("/certificate-html/<int:certificate_id>")
def certificate_page(certificate_id: int):
    certificate = db.session.get(Certificate, certificate_id) or abort(404)
    seal = db.session.scalar(db.select(Organization.seal_png).where(Organization.id == certificate.organization_id))
    return certificate_html(document_data(certificate), verification_url(certificate), seal)


@bp.route("/render", methods=["POST"])
def render():
    html = request.get_data(as_text=True)
    base_url = Path(current_app.static_folder).resolve().as_uri() + "/"
    began = time.perf_counter()
    pdf = weasyprint.HTML(string=html, base_url=base_url).write_pdf()
    took = time.perf_counter() - began
    gc.collect()  # untimed: the garbage of a bare render must not stay in the worker and count in its memory
    return jsonify({"ms": took * 1000, "bytes": len(pdf)}), 201
