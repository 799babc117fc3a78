"""Verification without an account: the QR's link (page and JSON), the PDF upload, the offline command; what each
shows, what each refuses, and that revocation, supersession, key rotation and the log reach every path."""
from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.generic import pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from volunteer_registry.certificates.pdf import render_pdf, sign_pdf
from volunteer_registry.certificates.services import (
    certificate_pdf,
    document_data,
    issue_certificate,
    reissue_certificate,
    revoke_certificate,
    today,
)
from volunteer_registry.certificates.tokens import token_text, token_url
from volunteer_registry.extensions import db
from volunteer_registry.keys.services import jwks, root_certificates_pem, rotate_keys
from volunteer_registry.ledger.log import extend_log
from volunteer_registry.verification.models import Verification

from ..conftest import build_app, serve


@pytest.fixture
def issued(certified):
    org, admin, volunteer, _coordinator, _activities = certified
    certificate = issue_certificate(admin, org, volunteer, today() - dt.timedelta(days=30), today())
    db.session.commit()
    return certificate


def link(certificate) -> str:
    return "/V/" + token_text(certificate.token)


def as_json(client, url):
    return client.get(url, headers={"Accept": "application/json"})


def upload(client, data: bytes):
    """POST ``data`` as the form's PDF, encoded here: werkzeug's test client spools bodies over 500 KB to a
    temporary file it never closes (a ResourceWarning, which this suite treats as an error)."""
    boundary = "----certificate-upload-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"pdf\"; filename=\"certificate.pdf\"\r\n"
            f"Content-Type: application/pdf\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return client.post("/verify", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def test_the_qr_link_shows_what_a_verifier_may_see_and_nothing_more(client, issued):
    page = client.get(link(issued))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Authentic and valid" in html and issued.number in html and "卓*" in html
    assert "5.5 h" in html and issued.organization.name in html
    # not the full name, the ID number, the volunteer number or the activities
    content = issued.content
    for private in ("卓玛", content["volunteer_number"], content["id_number_masked"], "湟水河清洁"):
        assert private not in html


def test_the_link_answers_json_and_in_any_case(client, issued):
    token = token_text(issued.token)
    for url in (f"/V/{token}", f"/v/{token}", f"/v/{token.lower()}"):
        response = as_json(client, url)
        assert response.status_code == 200 and response.mimetype == "application/json"
        body = response.get_json()
        assert body["status"] == "valid" and body["masked_name"] == "卓*" and body["minutes"] == 330
        assert body["issuer"] == {"code": issued.organization.code, "name": issued.organization.name}
        assert set(body) == {"status", "number", "issuer", "masked_name", "minutes", "hours", "period_start",
                             "period_end", "issued_on", "checkpoint"}
    assert client.get(f"/v/{token.lower()}").status_code == 200


def test_the_checkpoint_that_includes_the_certificate_is_shown(client, issued):
    assert as_json(client, link(issued)).get_json()["checkpoint"] is None
    assert "next signed checkpoint" in client.get(link(issued)).get_data(as_text=True)
    checkpoint = extend_log()
    db.session.commit()
    shown = as_json(client, link(issued)).get_json()["checkpoint"]
    assert shown["tree_size"] == checkpoint.tree_size and shown["root_hash"] == checkpoint.root_hash.hex()
    # the inclusion proof it links to proves the certificate's entry is in that tree
    proof = client.get(f"/api/v1/ledger/proof/inclusion?index={shown['leaf_index']}&tree_size={shown['tree_size']}")
    assert proof.status_code == 200


def test_a_token_with_one_changed_character_is_refused(client, issued):
    token = token_text(issued.token)
    refused = set()
    for position in (len(token) // 2, len(token) - 30, 40):
        changed = token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1:]
        response = as_json(client, "/V/" + changed)
        assert response.status_code == 400
        body = response.get_json()
        assert body["status"] == "invalid" and "masked_name" not in body
        refused.add(body["error"])
        page = client.get("/V/" + changed)
        assert page.status_code == 400 and "Not a valid certificate" in page.get_data(as_text=True)
    assert refused <= {"bad_signature", "malformed_token", "bad_payload"} and "bad_signature" in refused


@pytest.mark.parametrize(("garbage", "code"), [
    ("x", "malformed_token"), ("0189", "malformed_token"), ("AAAA", "malformed_token"),
    ("A" * 5000, "malformed_token"), ("MZXW6YQ", "malformed_token"), ("!!!!", "malformed_token"),
    ("NBSWY3DP", "malformed_token"),  # valid base32 of "hello": not CBOR
])
def test_malformed_links_are_refused_with_their_code(client, garbage, code):
    response = as_json(client, "/V/" + garbage)
    assert response.status_code == 400
    assert response.get_json() == {"status": "invalid", "error": code, "detail": response.get_json()["detail"]}


def test_a_revoked_certificate_reads_as_revoked_on_every_path(client, certified, issued, tmp_path):
    admin = certified[1]
    pdf = certificate_pdf(issued)
    revoke_certificate(admin, issued, "hours were entered twice")
    db.session.commit()
    body = as_json(client, link(issued)).get_json()
    assert body["status"] == "revoked" and body["revocation"]["reason"] == "hours were entered twice"
    page = client.get(link(issued)).get_data(as_text=True)
    assert "Authentic, but revoked" in page and "hours were entered twice" in page
    uploaded = upload(client, pdf)
    assert uploaded.status_code == 200 and "Authentic, but revoked" in uploaded.get_data(as_text=True)
    pasted = client.post("/verify", data={"link": "https://registry.test" + link(issued)})
    assert "Authentic, but revoked" in pasted.get_data(as_text=True)
    with client.session_transaction() as session:
        session["_user_id"] = admin.get_id()
        session["_fresh"] = True
    assert "Revoked on" in client.get(f"/certificates/{issued.code}").get_data(as_text=True)


def test_a_superseded_certificate_points_to_its_replacement(client, certified, issued):
    new = reissue_certificate(certified[1], issued, "name spelled wrongly", render=False)
    db.session.commit()
    body = as_json(client, link(issued)).get_json()
    assert body["status"] == "superseded"
    assert body["superseded_by"] == {"number": new.number, "verify_url": token_url("http://registry.test", new.token)}
    page = client.get(link(issued)).get_data(as_text=True)
    assert "replaced by a newer certificate" in page and new.number in page
    assert as_json(client, link(new)).get_json()["status"] == "valid"


def test_the_uploaded_pdf_is_checked_and_matched_to_the_record(client, issued):
    response = upload(client, certificate_pdf(issued))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Authentic and valid" in html
    assert "covers the whole file" in html and "Volunteer Registry certificate signing" in html


def test_an_appended_incremental_update_is_refused(client, issued):
    signed = certificate_pdf(issued)
    writer = IncrementalPdfFileWriter(io.BytesIO(signed), strict=False)
    info = writer.trailer["/Info"].get_object()
    info["/Title"] = pdf_string("卓玛 — 500 hours")
    writer.update_container(info)
    out = io.BytesIO()
    writer.write(out)
    edited = out.getvalue()
    assert edited.startswith(signed) and len(edited) > len(signed)
    response = upload(client, edited)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "not_whole_file" in html and "changed after it was signed" in html


def test_a_changed_byte_and_foreign_files_are_refused(client, issued):
    signed = bytearray(certificate_pdf(issued))
    offset = signed.index(b"/Producer")
    signed[offset + 2] ^= 0x01
    assert "signature_invalid" in upload(client, bytes(signed)).get_data(as_text=True)
    assert "not_pdf" in upload(client, b"GIF89a not a pdf").get_data(as_text=True)
    assert "not_pdf" in upload(client, b"%PDF-1.7\n garbage").get_data(as_text=True)
    unsigned = render_pdf("<p>hello</p>", issued.token)
    assert "unsigned" in upload(client, unsigned).get_data(as_text=True)
    assert upload(client, b"%PDF-" + b"0" * (5 * 1024 * 1024 + 1)).status_code in (400, 413)


def _self_signed():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Volunteer Registry certificate signing")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert.public_bytes(serialization.Encoding.PEM).decode()


def test_a_pdf_signed_by_someone_else_is_refused_even_with_a_genuine_token(client, issued):
    # a forger copies a real token into a PDF of their own and signs it with a look-alike certificate
    from volunteer_registry.certificates.pdf import certificate_html

    html = certificate_html(document_data(issued) | {"hours": "500.0"}, token_url("http://registry.test",
                                                                                    issued.token), None)
    key, pem = _self_signed()
    forged = sign_pdf(render_pdf(html, issued.token), key, pem, pem, reason="x", location="y")
    response = upload(client, forged)
    assert response.status_code == 400 and "untrusted_signer" in response.get_data(as_text=True)


def test_every_verification_is_logged_without_the_address(client, issued):
    as_json(client, link(issued))
    client.get(link(issued))
    upload(client, b"not a pdf")
    rows = db.session.scalars(sa.select(Verification).order_by(Verification.id)).all()
    assert [(r.method, r.outcome, r.certificate_id) for r in rows] == [
        ("json", "valid", issued.id), ("link", "valid", issued.id), ("pdf", "not_pdf", None)]
    assert all(re.fullmatch(r"[0-9a-f]{16}", r.client) and "127.0.0.1" not in r.client for r in rows)


def test_verification_is_rate_limited(tmp_path):
    app = build_app(tmp_path, VERIFY_RATE_LIMIT="3 per minute")
    for _ in serve(app):
        client = app.test_client()
        statuses = [client.get("/V/AAAA").status_code for _ in range(5)]
        assert statuses[:3] == [400, 400, 400] and statuses[3:] == [429, 429]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Verification)) == 3


def test_old_certificates_still_verify_after_the_keys_rotate(client, certified, issued):
    org, admin, volunteer, _coordinator, _activities = certified
    old_pdf = certificate_pdf(issued)
    before = {key["kid"] for key in jwks()["keys"]}
    rotate_keys()
    db.session.commit()
    keys = client.get("/.well-known/volunteer-registry/jwks.json").get_json()["keys"]
    by_kid = {key["kid"]: key for key in keys}
    assert before < set(by_kid)
    assert by_kid[issued.key_id]["status"] == "retired" and by_kid[issued.key_id]["retired_at"]
    current = [k for k in keys if k["purpose"] == "certificate-token" and k["status"] == "current"]
    assert len(current) == 1 and current[0]["kid"] != issued.key_id
    assert {k["purpose"] for k in keys} == {"certificate-token", "pdf-signature", "certificate-authority",
                                           "ledger-checkpoint"}
    # the old certificate: its link and its PDF
    assert as_json(client, link(issued)).get_json()["status"] == "valid"
    assert "Authentic and valid" in upload(client, old_pdf).get_data(as_text=True)
    # a new one (here a reissue: a second valid certificate of an overlapping period is refused) is signed by the
    # new keys, and verifies too
    new = reissue_certificate(admin, issued, "signed again with the new keys")
    db.session.commit()
    assert new.key_id == current[0]["kid"]
    assert "Authentic and valid" in upload(client, certificate_pdf(new)).get_data(as_text=True)
    pem = client.get("/.well-known/volunteer-registry/root-ca.pem")
    assert pem.status_code == 200 and pem.get_data(as_text=True).count("BEGIN CERTIFICATE") == 1


def test_kept_keys_are_looked_up_again_for_a_key_made_since(app, client, certified, issued):
    """Verification keeps the published keys for the life of the process; a token of a key made later (a rotation,
    in another process) makes it read them again, and then it needs the keys table no more."""
    org, admin, volunteer, _coordinator, _activities = certified
    assert as_json(client, link(issued)).get_json()["status"] == "valid"  # the keys are now kept
    rotate_keys()
    new = reissue_certificate(admin, issued, "signed again with the new keys")
    db.session.commit()
    statements = []

    def note(_conn, _cursor, statement, *_args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", note)
    try:
        assert as_json(client, link(new)).get_json()["status"] == "valid"
        assert any("signing_keys" in statement for statement in statements)
        statements.clear()
        assert as_json(client, link(new)).get_json()["status"] == "valid"
        assert as_json(client, link(issued)).get_json()["status"] == "superseded"  # authentic, and replaced
        assert statements and not any("signing_keys" in statement for statement in statements)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", note)


def test_the_offline_command_checks_a_link_and_a_pdf_with_the_published_keys_only(app, issued, tmp_path):
    keys_file = tmp_path / "jwks.json"
    keys_file.write_text(json.dumps(jwks()))
    root_file = tmp_path / "root-ca.pem"
    root_file.write_text(root_certificates_pem())
    pdf_file = tmp_path / "certificate.pdf"
    pdf_file.write_bytes(certificate_pdf(issued))
    db.session.commit()
    runner = app.test_cli_runner()
    url = token_url("https://volunteer.example.gov.cn", issued.token)
    result = runner.invoke(args=["certificates", "verify", url, "--keys", str(keys_file)])
    assert result.exit_code == 0, result.output
    assert "AUTHENTIC" in result.output and issued.number in result.output and "卓*" in result.output
    assert "5.5" in result.output
    result = runner.invoke(args=["certificates", "verify", str(pdf_file), "--keys", str(keys_file),
                                 "--root", str(root_file)])
    assert result.exit_code == 0, result.output
    assert "covers the whole file" in result.output and "AUTHENTIC" in result.output
    changed = url[:-10] + ("A" if url[-10] != "A" else "B") + url[-9:]
    result = runner.invoke(args=["certificates", "verify", changed, "--keys", str(keys_file)])
    assert result.exit_code == 1 and "NOT AUTHENTIC" in result.output


def test_the_published_documents_are_public_and_shaped(client, issued):
    document = client.get("/.well-known/volunteer-registry/jwks.json")
    assert document.headers["Access-Control-Allow-Origin"] == "*"
    token_key = next(k for k in document.get_json()["keys"] if k["kid"] == issued.key_id)
    assert (token_key["kty"], token_key["crv"], token_key["alg"]) == ("EC", "P-256", "ES256")
    assert len(base64.urlsafe_b64decode(token_key["kid"] + "=")) == 8
    signing = next(k for k in document.get_json()["keys"] if k["purpose"] == "pdf-signature")
    chain_cert = x509.load_der_x509_certificate(base64.b64decode(signing["x5c"][0]))
    root = x509.load_pem_x509_certificate(client.get("/.well-known/volunteer-registry/root-ca.pem").data)
    assert chain_cert.issuer == root.subject
    root.public_key().verify(chain_cert.signature, chain_cert.tbs_certificate_bytes,
                             ec.ECDSA(chain_cert.signature_hash_algorithm))
