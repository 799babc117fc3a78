"""The verifier is total (issue 17): the hostile inputs that once reached a 5xx or a traceback — a token whose CBOR
overflows when decoded, a PDF whose cross-reference stream is not compressed data, a signature naming an unknown
digest algorithm, an RSA algorithm on our EC key — each get their coded refusal on every path: the service, the
QR link (page and JSON), the pasted link, the PDF upload and `flask certificates verify`. Work is bounded before
decoding, and an exception nobody foresaw still ends in a coded verdict, logged for the operators."""
from __future__ import annotations

import datetime as dt
import json
import logging
import time

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from volunteer_registry.certificates import tokens
from volunteer_registry.certificates.services import certificate_pdf, issue_certificate, today
from volunteer_registry.certificates.tokens import (
    MAX_TOKEN_BYTES,
    CertificateClaims,
    TokenError,
    open_token,
    sign_token,
    token_text,
)
from volunteer_registry.extensions import db
from volunteer_registry.keys.services import jwks, root_certificates_pem
from volunteer_registry.verification import pdfcheck
from volunteer_registry.verification.pdfcheck import PdfCheckError, check_signed_pdf, load_roots
from volunteer_registry.verification.services import verify_pdf, verify_token

from .hostile import (
    BIGFLOAT_OVERFLOW,
    DECIMAL_OF_TEXT,
    PS256,
    RS256,
    header,
    nested_arrays,
    rsa_signature,
    shared_reference_bomb,
    unknown_digest,
    with_alg,
    with_cms,
    with_protected,
    with_unprotected,
    with_xref_garbage,
)
from .test_verification import upload


@pytest.fixture
def issued(certified):
    org, admin, volunteer, _coordinator, _activities = certified
    certificate = issue_certificate(admin, org, volunteer, today() - dt.timedelta(days=30), today())
    db.session.commit()
    return certificate


@pytest.fixture
def published(app, tmp_path):
    """The published jwks.json and root-ca.pem, as files a verifier downloaded."""
    keys, root = tmp_path / "jwks.json", tmp_path / "root-ca.pem"
    keys.write_text(json.dumps(jwks()), encoding="utf-8")
    root.write_text(root_certificates_pem(), encoding="utf-8")
    db.session.commit()
    return keys, root


def verify_offline(app, *args):
    """`flask certificates verify ARGS`: (exit code, output), after checking that it ended cleanly."""
    result = app.test_cli_runner().invoke(args=["certificates", "verify", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def _header_with_alg(raw_alg: bytes):
    """A protected header {1: <raw CBOR>, 4: our kid}."""
    return lambda token: with_protected(token, b"\xa2\x01" + raw_alg + b"\x04" + cbor2.dumps(header(token)[4]))


#: name → (the hostile token made from a genuine one, the code every path answers)
HOSTILE_TOKENS = {
    "bigfloat_overflowing_in_the_unprotected_header": (
        lambda token: with_unprotected(token, b"\xa1\x01" + BIGFLOAT_OVERFLOW), "malformed_token"),
    "bigfloat_overflowing_as_the_algorithm": (_header_with_alg(BIGFLOAT_OVERFLOW), "malformed_token"),
    "decimal_of_text_as_the_algorithm": (_header_with_alg(DECIMAL_OF_TEXT), "malformed_token"),
    "shared_reference_bomb_as_a_header_label": (
        lambda token: with_unprotected(token, b"\xa1" + shared_reference_bomb(30) + b"\x00"), "malformed_token"),
    "arrays_nested_past_the_bound": (
        lambda token: with_unprotected(token, b"\xa1\x01" + nested_arrays(40)), "malformed_token"),
    "ps256_with_our_ec_key": (lambda token: with_alg(token, PS256), "unsupported_algorithm"),
    "rs256_with_our_ec_key": (lambda token: with_alg(token, RS256), "unsupported_algorithm"),
}


@pytest.mark.parametrize("name", list(HOSTILE_TOKENS))
def test_a_hostile_token_gets_its_code_on_every_path(app, client, issued, published, name):
    build, code = HOSTILE_TOKENS[name]
    hostile = build(issued.token)
    assert len(hostile) <= MAX_TOKEN_BYTES
    text = token_text(hostile)

    assert verify_token(hostile).outcome == code

    answer = client.get("/V/" + text, headers={"Accept": "application/json"})
    assert answer.status_code == 400 and answer.get_json()["error"] == code
    assert answer.get_json()["status"] == "invalid"
    page = client.get("/v/" + text.lower())
    assert page.status_code == 400 and f"<code>{code}</code>" in page.get_data(as_text=True)
    pasted = client.post("/verify", data={"link": "https://registry.test/V/" + text})
    assert pasted.status_code == 400 and f"<code>{code}</code>" in pasted.get_data(as_text=True)

    exit_code, output = verify_offline(app, text, "--keys", str(published[0]))
    assert exit_code == 1 and output.startswith(f"NOT AUTHENTIC ({code})")


#: name → (the hostile PDF made from a genuine one, the code every path answers)
HOSTILE_PDFS = {
    "signed_xref_stream_not_zlib": (with_xref_garbage, "not_pdf"),
    "first_xref_stream_not_zlib": (lambda pdf: with_xref_garbage(pdf, 0), "not_pdf"),
    "unknown_digest_algorithm": (lambda pdf: with_cms(pdf, unknown_digest), "signature_invalid"),
    "rsa_signature_on_our_ec_key": (lambda pdf: with_cms(pdf, rsa_signature("sha256_rsa")), "signature_invalid"),
    "rsassa_pss_on_our_ec_key": (lambda pdf: with_cms(pdf, rsa_signature("rsassa_pss")), "signature_invalid"),
}


@pytest.mark.parametrize("name", list(HOSTILE_PDFS))
def test_a_hostile_pdf_gets_its_code_on_every_path(app, client, issued, published, tmp_path, name):
    build, code = HOSTILE_PDFS[name]
    hostile = build(certificate_pdf(issued))
    db.session.commit()

    with pytest.raises(PdfCheckError) as refused:
        check_signed_pdf(hostile, load_roots(root_certificates_pem()))
    assert refused.value.code == code
    assert verify_pdf(hostile).outcome == code

    page = upload(client, hostile)
    assert page.status_code == 400 and f"<code>{code}</code>" in page.get_data(as_text=True)

    path = tmp_path / "hostile.pdf"
    path.write_bytes(hostile)
    exit_code, output = verify_offline(app, str(path), "--keys", str(published[0]), "--root", str(published[1]))
    assert exit_code == 1 and output.startswith(f"NOT AUTHENTIC ({code})")


def test_the_named_hostile_inputs_need_no_warning_to_the_operators(app, issued, caplog):
    """What is foreseen is refused quietly: the warning (with its traceback) is for what nobody foresaw."""
    pdf = certificate_pdf(issued)
    with caplog.at_level(logging.WARNING, logger="volunteer_registry"):
        for build, _code in HOSTILE_TOKENS.values():
            verify_token(build(issued.token))
        for build, _code in HOSTILE_PDFS.values():
            verify_pdf(build(pdf))
    assert [r for r in caplog.records if r.name.startswith("volunteer_registry")] == []


# --- bounded work --------------------------------------------------------------------------------------------------

def _claims() -> CertificateClaims:
    return CertificateClaims(version=1, code="K7QF3MXAH9PT4RWC", number="VR-2026-K7QF-3MXA", issuer="Q4XH7M9CKD",
                             masked_name="欧**娜", minutes=330, period_start=dt.date(2026, 3, 1),
                             period_end=dt.date(2026, 8, 31), issued_on=dt.date(2026, 9, 2))


@pytest.fixture
def key():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def decoded(monkeypatch):
    """Every byte string handed to cbor2.loads."""
    seen = []
    real = cbor2.loads

    def spy(data, *args, **kwargs):
        seen.append(bytes(data))
        return real(data, *args, **kwargs)

    monkeypatch.setattr(cbor2, "loads", spy)
    return seen


@pytest.mark.parametrize(("what", "raw"), [
    ("shared references doubling at each of 60 levels", b"\xa1" + shared_reference_bomb(60) + b"\x00"),
    ("arrays nested 2000 deep", b"\xa1\x01" + nested_arrays(2000)),
    ("a date tag", b"\xa1\x01" + cbor2.dumps(cbor2.CBORTag(1, 10**30))),
    ("a regular expression tag", b"\xa1\x01" + cbor2.dumps(cbor2.CBORTag(35, "(a+)+$"))),
])
def test_cbor_beyond_a_tokens_plain_shape_is_refused_before_decoding(key, decoded, what, raw):
    token = with_unprotected(sign_token(_claims(), key), raw)
    decoded.clear()  # what making the token decoded
    started = time.perf_counter()
    with pytest.raises(TokenError) as refused:
        open_token(token, {tokens.cose_kid(key.public_key()): key.public_key()})
    assert refused.value.code == "malformed_token", what
    assert decoded == [] and time.perf_counter() - started < 1


def test_a_token_longer_than_any_certificate_is_refused_before_decoding(key, decoded):
    token = with_unprotected(sign_token(_claims(), key), b"\xa1\x01" + cbor2.dumps(b"x" * MAX_TOKEN_BYTES))
    decoded.clear()
    with pytest.raises(TokenError) as refused:
        open_token(token, {tokens.cose_kid(key.public_key()): key.public_key()})
    assert refused.value.code == "malformed_token" and "too long" in refused.value.detail
    assert decoded == []


def test_plain_cbor_in_the_unprotected_header_still_verifies(key):
    """The bound refuses only what a token is never made of: a genuine token with harmless unprotected labels is
    still genuine (the unprotected header is not signed, and nothing reads it)."""
    token = with_unprotected(sign_token(_claims(), key), cbor2.dumps({33: [1, "x", b"y", {"z": None}], -1: 2.5}))
    assert open_token(token, {tokens.cose_kid(key.public_key()): key.public_key()})[1] == _claims()


# --- what nobody foresaw -------------------------------------------------------------------------------------------

def _warnings(caplog, logger: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger and r.levelno == logging.WARNING and r.exc_info]


def test_an_unforeseen_error_reading_a_token_is_a_malformed_token_logged_with_its_traceback(
        key, monkeypatch, caplog):
    def broken(*_args, **_kwargs):
        raise RuntimeError("a decoder bug nobody foresaw")

    monkeypatch.setattr(cbor2, "loads", broken)
    with caplog.at_level(logging.WARNING), pytest.raises(TokenError) as refused:
        open_token(sign_token(_claims(), key), {tokens.cose_kid(key.public_key()): key.public_key()})
    assert refused.value.code == "malformed_token"
    [record] = _warnings(caplog, tokens.__name__)
    assert record.exc_info[0] is RuntimeError


def test_an_unforeseen_error_in_a_payload_is_a_bad_payload_logged_with_its_traceback(key, monkeypatch, caplog):
    token = sign_token(_claims(), key)
    real = cbor2.loads

    def broken_for_payloads(data, *args, **kwargs):
        value = real(data, *args, **kwargs)
        if isinstance(value, dict) and "v" in value:
            raise RuntimeError("a payload bug nobody foresaw")
        return value

    monkeypatch.setattr(cbor2, "loads", broken_for_payloads)
    with caplog.at_level(logging.WARNING), pytest.raises(TokenError) as refused:
        open_token(token, {tokens.cose_kid(key.public_key()): key.public_key()})
    assert refused.value.code == "bad_payload"
    assert len(_warnings(caplog, tokens.__name__)) == 1


@pytest.mark.parametrize(("broken", "code"), [
    ("PdfFileReader", "not_pdf"), ("validate_pdf_signature", "signature_invalid"), ("_attachment", "no_token")])
def test_an_unforeseen_error_checking_a_pdf_is_coded_and_logged_with_its_traceback(
        app, client, issued, monkeypatch, caplog, broken, code):
    pdf = certificate_pdf(issued)
    db.session.commit()

    def fail(*_args, **_kwargs):
        raise RuntimeError(f"a bug in {broken} nobody foresaw")

    monkeypatch.setattr(pdfcheck, broken, fail)
    with caplog.at_level(logging.WARNING):
        assert verify_pdf(pdf).outcome == code
        page = upload(client, pdf)
    assert page.status_code == 400 and f"<code>{code}</code>" in page.get_data(as_text=True)
    records = _warnings(caplog, pdfcheck.__name__)
    assert len(records) == 2 and all(r.exc_info[0] is RuntimeError for r in records)


# --- every path answers, and every answer is explained ------------------------------------------------------------

@pytest.mark.parametrize("path", ["/V/", "/v/", "/V//", "/V/%2F%2F", "/V/%0A", "/v/AB%0ACD", "/V/ABC%0D%0A/x"])
def test_a_link_with_no_token_or_a_line_break_in_it_gets_a_code(client, path):
    """werkzeug's ``path`` converter stops at a line break and needs a character: such links were a bare 404."""
    answer = client.get(path, headers={"Accept": "application/json"}, follow_redirects=True)
    assert answer.status_code == 400 and answer.get_json()["error"] == "malformed_token"
    page = client.get(path, follow_redirects=True)
    assert page.status_code == 400 and "<code>malformed_token</code>" in page.get_data(as_text=True)


def test_every_code_a_verdict_can_have_is_explained_on_the_page_and_in_the_guide():
    from pathlib import Path

    from volunteer_registry.verification.services import AUTHENTIC, OUTCOMES
    from volunteer_registry.verification.views import REFUSALS

    refusals = [code for code in OUTCOMES if code not in AUTHENTIC]
    assert sorted(REFUSALS) == sorted(refusals)
    guide = (Path(__file__).resolve().parents[2] / "docs" / "VERIFYING.md").read_text(encoding="utf-8")
    table = guide[guide.index("## Error codes"):]
    assert all(f"| `{code}` |" in table for code in refusals)


@pytest.mark.parametrize(("keys", "root"), [
    ('{"keys": 5}', None),
    ('{"keys": [{"kty": "EC", "crv": "P-256", "purpose": "certificate-token", "x": 5, "y": [], "kid": {}}]}', None),
    ('{"keys": [{"kty": "EC", "crv": "P-256", "purpose": "certificate-token", "x": "AA", "y": "AA", "kid": "AA"}]}',
     None),
    ('[1, 2]', None), ("\udcff not json", None),
    (None, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"),
    (None, "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n"),
    (None, "no certificate here"),
])
def test_keys_or_a_root_that_cannot_be_read_are_a_usage_error_not_a_traceback(app, issued, published, tmp_path,
                                                                              keys, root):
    """--keys can come from the host of the URL being checked: a stranger's. So can what it says."""
    keys_file, root_file = published
    if keys is not None:
        keys_file = tmp_path / "hostile-jwks.json"
        keys_file.write_bytes(keys.encode("utf-8", "surrogateescape"))
    if root is not None:
        root_file = tmp_path / "hostile-root.pem"
        root_file.write_text(root, encoding="utf-8")
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(certificate_pdf(issued))
    db.session.commit()
    exit_code, output = verify_offline(app, str(pdf), "--keys", str(keys_file), "--root", str(root_file))
    assert exit_code == 2 and "Error: Cannot read the " + ("keys" if keys is not None else "root") in output
