"""Fuzzing the public verifier (issue 17): any bytes as a token, any text as a link, any file as a PDF, and
structure-aware mutations of a real certificate's token and signed PDF, through the service, the web routes and
`flask certificates verify`. Every example must end in a coded answer — a verdict whose outcome is one of the known
codes, a coded TokenError, an HTTP status under 500 with the code in its JSON or page, a NOT AUTHENTIC (code) line —
and only the genuine signed bytes may ever be authentic.

BUDGET examples in all (more than 10,000), in the slow tier; most call the service directly, a smaller share goes
through the web routes and the command. Deterministic (derandomize): a failure reproduces."""
from __future__ import annotations

import datetime as dt
import json
import random
import re
import urllib.parse

import cbor2
import hypothesis
import pytest
from asn1crypto import algos, cms
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import strategies as st

from volunteer_registry.certificates.services import certificate_pdf, issue_certificate, today
from volunteer_registry.certificates.tokens import COSE_SIGN1_TAG, TokenError, token_from_text, token_text
from volunteer_registry.extensions import db
from volunteer_registry.keys.services import current_key, jwks, private_key_of, root_certificates_pem
from volunteer_registry.text import is_storable
from volunteer_registry.verification.pdfcheck import PdfCheckError
from volunteer_registry.verification.services import AUTHENTIC, OUTCOMES, verify_pdf, verify_token

from .hostile import (
    BIGFLOAT_OVERFLOW,
    DECIMAL_OF_TEXT,
    PS256,
    RS256,
    contents_span,
    nested_arrays,
    parts,
    shared_reference_bomb,
    signature_cms,
    with_contents,
    xref_stream_spans,
)
from .test_verification import upload

pytestmark = pytest.mark.slow

#: examples per test; more than 10,000 in all
BUDGET = {
    "token_bytes": 2500, "token_text": 1500, "token_mutations": 2000, "token_fields": 1500, "claims": 600,
    "token_web": 500, "token_cli": 150, "pdf_bytes": 600, "pdf_mutations": 1000, "pdf_web": 100, "pdf_cli": 50,
}
assert sum(BUDGET.values()) >= 10_000

TOKEN_REFUSALS = set(TokenError.CODES)
PDF_REFUSALS = set(PdfCheckError.CODES)
KNOWN = set(OUTCOMES)


def fuzz(name: str):
    """hypothesis' settings for one of BUDGET's tests."""
    return hypothesis.settings(max_examples=BUDGET[name], deadline=None, derandomize=True, database=None,
                               suppress_health_check=list(hypothesis.HealthCheck))


class Tally:
    """The outcomes one test saw: it must have run its budget, and reached the codes it names (a fuzzer that
    never gets past the first check proves little)."""

    def __init__(self):
        self.outcomes: dict[str, int] = {}

    def add(self, outcome: str) -> str:
        assert outcome in KNOWN, outcome
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        return outcome

    def check(self, name: str, *reached: str) -> None:
        assert sum(self.outcomes.values()) >= BUDGET[name] * 0.9, self.outcomes
        assert set(reached) <= set(self.outcomes), self.outcomes


@pytest.fixture
def issued(app, certified):
    """A real certificate (its signed PDF is made by the tests that need it), verifiable without a rate limit."""
    org, admin, volunteer, _coordinator, _activities = certified
    certificate = issue_certificate(admin, org, volunteer, today() - dt.timedelta(days=30), today())
    db.session.commit()
    app.config.update(VERIFY_RATE_LIMIT="1000000 per minute", VERIFY_UPLOAD_RATE_LIMIT="1000000 per minute")
    return certificate


def authentic_parts_unchanged(variant: bytes, genuine: bytes) -> bool:
    """Whether ``variant`` has the genuine token's signed parts (protected header, payload, signature)."""
    mine, theirs = cbor2.loads(variant).value, parts(genuine)
    return (mine[0], mine[2], mine[3]) == (theirs[0], theirs[2], theirs[3])


# --- generators ----------------------------------------------------------------------------------------------------

#: CBOR a decoder may choke on: tags that overflow, nest, share, or name what a token never holds
HOSTILE_CBOR = st.sampled_from([
    BIGFLOAT_OVERFLOW, DECIMAL_OF_TEXT, shared_reference_bomb(24), nested_arrays(30),
    cbor2.dumps(cbor2.CBORTag(1, 10**30)), cbor2.dumps(cbor2.CBORTag(100, 10**12)),
    cbor2.dumps(cbor2.CBORTag(35, "(a+)+$")), cbor2.dumps(cbor2.CBORTag(30, [1, 0])),
    cbor2.dumps(cbor2.CBORTag(2, b"\xff" * 600)), cbor2.dumps(cbor2.CBORTag(258, [[1]])),
    cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [])), b"\x5f\x41\x00\xff", b"\x9f\x01\x02\xff", b"\xbf\x01\xff",
    b"\xff", b"\x1c", b"\xf8\x10", b"\xf9\x7c\x00", b"\x7f\x61\x00\x41\x00\xff", b"\x62\xc3\x28",
])
#: plain CBOR values, of every kind a token is made of
CBOR_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**64), max_value=2**64 - 1) | st.floats()
    | st.binary(max_size=24) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.integers(-40, 40) | st.text(max_size=3), children, max_size=4),
    max_leaves=5)
#: a CBOR item as bytes: mostly plain, sometimes hostile, sometimes not CBOR at all
RAW_CBOR = st.one_of(CBOR_VALUES.map(cbor2.dumps), HOSTILE_CBOR, st.binary(min_size=1, max_size=12))
#: COSE algorithm ids: ES256, the RSA ones (PS256, RS256…), EdDSA, ES384/512, HMAC, and unassigned ones
ALGORITHMS = st.sampled_from([-7, PS256, RS256, -38, -39, -258, -8, -35, -36, 5, 1, 0, 7, -65536, 65535])


def _map(entries: list[tuple[bytes, bytes]]) -> bytes:
    return bytes([0xA0 + len(entries)]) + b"".join(key + value for key, value in entries)


def _array(items: list[bytes]) -> bytes:
    return bytes([0x80 + len(items)]) + b"".join(items)


@st.composite
def byte_mutations(draw, data: bytes, span: tuple[int, int] | None = None, max_ops: int = 4) -> bytes:
    """``data`` with 1 to ``max_ops`` edits (a bit flipped, a byte set, bytes inserted, deleted, duplicated,
    the end cut off or garbage appended), each inside ``span`` (start, end) when given."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, max_ops))):
        start, end = span or (0, len(out))
        end = min(end, len(out))
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "duplicate", "truncate", "append"]))
        if end <= start:
            op = "append" if op != "insert" else op
            start = end = min(start, len(out))
        at = draw(st.integers(start, max(start, end - 1)))
        if op == "flip" and at < len(out):
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and at < len(out):
            out[at] = draw(st.integers(0, 255))
        elif op == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del out[at:at + draw(st.integers(1, 16))]
        elif op == "duplicate":
            out[at:at] = out[at:at + draw(st.integers(1, 32))]
        elif op == "truncate":
            del out[at:]
        else:
            out += draw(st.binary(min_size=1, max_size=64))
    return bytes(out)


#: the parts of a token a variant may change (a few at a time: the rest stay genuine, so checks deeper in are reached)
FIELDS = ("alg", "kid", "extra_labels", "header_bytes", "unprotected", "payload", "signature", "items", "tag")


@st.composite
def cose_variants(draw, token: bytes) -> bytes:
    """The genuine token with one to three of its FIELDS replaced: the protected header's algorithm (often an RSA
    one, with our EC key id), its key id (often another 8 bytes), extra header labels, the header's bytes, the
    unprotected map, the payload, the signature, the array's items and the tag."""
    protected, _unprotected, payload, signature = parts(token)
    genuine_header = dict(cbor2.loads(protected))
    changed = set(draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3)))
    alg, kid, extra = cbor2.dumps(-7), cbor2.dumps(genuine_header[4]), []
    if "alg" in changed:
        alg = draw(st.one_of(ALGORITHMS.map(cbor2.dumps), RAW_CBOR))
    if "kid" in changed:
        kid = draw(st.one_of(st.binary(min_size=8, max_size=8), st.binary(max_size=12)).map(cbor2.dumps)
                   | RAW_CBOR)
    if "extra_labels" in changed:
        extra = draw(st.lists(st.tuples(RAW_CBOR, RAW_CBOR), min_size=1, max_size=2))
    if changed & {"alg", "kid", "extra_labels"}:
        entries = [(b"\x01", alg), (b"\x04", kid), *extra]
        protected = _map(draw(st.permutations(entries)) if draw(st.booleans()) else entries)
    if "header_bytes" in changed:
        protected = draw(st.one_of(byte_mutations(protected, max_ops=2), RAW_CBOR))
    unprotected = b"\xa0"
    if "unprotected" in changed:
        unprotected = draw(st.one_of(st.lists(st.tuples(RAW_CBOR, RAW_CBOR), max_size=3).map(_map), RAW_CBOR))
    if "payload" in changed:
        payload = draw(st.one_of(byte_mutations(payload), st.binary(max_size=120)))
    if "signature" in changed:
        signature = draw(st.one_of(st.binary(min_size=64, max_size=64), st.binary(max_size=300)))
    items = [cbor2.dumps(protected), unprotected, cbor2.dumps(payload), cbor2.dumps(signature)]
    if "items" in changed:
        items = draw(st.one_of(st.lists(RAW_CBOR, max_size=5), st.just(items[:3]), st.just([*items, b"\x00"]),
                               st.permutations(items)))
    tag = draw(st.sampled_from([b"", b"\xd1", b"\xd8\x62", b"\xd8\x1c", b"\xd2\xd2"])) if "tag" in changed else b"\xd2"
    return tag + _array(items)


def _plausible(value):
    """A strategy for another value of ``value``'s kind: what a key holder could sign that is still well typed."""
    if isinstance(value, int):
        return st.integers(-5, 10**7)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return st.dates().map(dt.date.isoformat) | st.text(alphabet="0123456789-", min_size=8, max_size=12)
    return st.text(min_size=1, max_size=30) | st.sampled_from([value + "X", value[:-1], value.lower()])


@st.composite
def resigned_claims(draw, token: bytes, private_key) -> bytes:
    """The genuine payload with claims replaced by values of their kind or of any kind, removed or added, signed
    again with the genuine key: what only a key holder could make, and still a code for each."""
    protected, _unprotected, payload, _signature = parts(token)
    claims = dict(cbor2.loads(payload))
    for key in draw(st.lists(st.sampled_from([*sorted(claims), "x"]), min_size=1, max_size=3, unique=True)):
        change = draw(st.sampled_from(["plausible", "plausible", "any", "remove"]))
        if change == "remove":
            claims.pop(key, None)
        elif change == "plausible" and key in claims:
            claims[key] = draw(_plausible(claims[key]))
        else:
            claims[key] = draw(CBOR_VALUES)
    encoded = draw(st.one_of(st.just(cbor2.dumps(claims)), st.just(cbor2.dumps(claims)), HOSTILE_CBOR,
                             st.binary(max_size=40)))
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", encoded])  # RFC 9052's Sig_structure
    r, s = decode_dss_signature(private_key.sign(to_be_signed, ec.ECDSA(hashes.SHA256())))
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, encoded,
                                                      r.to_bytes(32, "big") + s.to_bytes(32, "big")]))


#: text a stranger may type or a reader may produce as a link
LINK_TEXT = st.one_of(
    st.text(max_size=80),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567abcdefghijklmnopqrstuvwxyz=", max_size=400),
    st.builds(lambda host, text: f"https://{host}/V/{text}", st.text(max_size=12),
              st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", max_size=300)),
    st.binary(max_size=300).map(token_text),
    st.sampled_from(["A" * 5000, "/V/", "=" * 40, "\x00", "ｖ/ＡＢＣ", "ǅ" * 10]),
)


# --- tokens --------------------------------------------------------------------------------------------------------

def test_any_bytes_as_a_token_get_a_refusal_code(issued):
    tally = Tally()

    @hypothesis.given(data=st.one_of(st.binary(max_size=3000), RAW_CBOR,
                                     st.binary(max_size=200).map(lambda raw: b"\xd2" + raw)))
    @fuzz("token_bytes")
    def run(data):
        assert tally.add(verify_token(data).outcome) in TOKEN_REFUSALS

    run()
    tally.check("token_bytes", "malformed_token")


def test_any_text_as_a_link_gets_a_refusal_code(issued):
    tally = Tally()

    @hypothesis.given(text=LINK_TEXT)
    @fuzz("token_text")
    def run(text):
        try:
            outcome = verify_token(token_from_text(text)).outcome
        except TokenError as error:
            outcome = error.code
        assert tally.add(outcome) in TOKEN_REFUSALS

    run()
    tally.check("token_text", "malformed_token")


def test_mutated_bytes_of_a_real_token_are_refused_unless_its_signed_parts_are_intact(issued):
    tally = Tally()
    genuine = issued.token

    @hypothesis.given(variant=byte_mutations(genuine))
    @fuzz("token_mutations")
    def run(variant):
        outcome = tally.add(verify_token(variant).outcome)
        assert outcome in TOKEN_REFUSALS or (outcome == "valid" and authentic_parts_unchanged(variant, genuine))

    run()
    tally.check("token_mutations", "malformed_token", "bad_signature")


def test_a_real_token_with_fields_replaced_is_refused_unless_its_signed_parts_are_intact(issued):
    tally = Tally()
    genuine = issued.token

    @hypothesis.given(variant=cose_variants(genuine))
    @fuzz("token_fields")
    def run(variant):
        outcome = tally.add(verify_token(variant).outcome)
        assert outcome in TOKEN_REFUSALS or (outcome == "valid" and authentic_parts_unchanged(variant, genuine))

    run()
    tally.check("token_fields", "malformed_token", "unsupported_algorithm", "bad_signature", "unknown_key", "valid")


def test_claims_replaced_and_signed_again_with_the_real_key_get_a_code(issued):
    tally = Tally()
    key = private_key_of(current_key("certificate"))
    db.session.commit()

    @hypothesis.given(variant=resigned_claims(issued.token, key))
    @fuzz("claims")
    def run(variant):
        verdict = verify_token(variant)
        db.session.rollback()  # nothing to keep: the lookup is all a verdict reads
        outcome = tally.add(verdict.outcome)
        assert outcome in {"bad_payload", "unknown_certificate", "mismatch", "valid"}
        if outcome == "valid":
            assert verdict.claims.to_payload() == cbor2.loads(parts(issued.token)[2])

    run()
    tally.check("claims", "bad_payload", "mismatch", "unknown_certificate")


def test_the_link_routes_answer_a_code_for_any_token(client, issued):
    tally = Tally()
    genuine = issued.token

    @hypothesis.given(
        token=st.one_of(LINK_TEXT, st.binary(max_size=300).map(token_text),
                        byte_mutations(genuine).map(token_text), cose_variants(genuine).map(token_text)),
        how=st.sampled_from(["json", "json", "page", "pasted"]))
    @fuzz("token_web")
    def run(token, how):
        hypothesis.assume(token.strip())
        if how == "pasted":
            response = client.post("/verify", data={"link": token})
        else:
            url = "/V/" + urllib.parse.quote(token, safe="")
            response = client.get(url, headers={"Accept": "application/json" if how == "json" else "text/html"},
                                  follow_redirects=True)  # /V//ABC: to /V/ABC
        assert response.status_code < 500, (token, how)
        if not is_storable(token):  # refused before any view (security.py): 404 for a path, 400 for a form
            assert response.status_code == (400 if how == "pasted" else 404)
            return
        if how == "pasted" and response.status_code == 422:  # longer than the form takes: the form says so
            assert len(token) > 4000
            return
        if how == "json":
            body = response.get_json()
            assert body is not None and body["status"] in ("invalid", *AUTHENTIC), (token, body)
            outcome = body["error"] if body["status"] == "invalid" else body["status"]
        else:
            found = re.search(r"<code>([a-z_]+)</code>", response.get_data(as_text=True))
            outcome = found.group(1) if found else "valid"
        tally.add(outcome)
        assert response.status_code == (200 if outcome in AUTHENTIC else 404 if outcome == "unknown_certificate"
                                        else 400), (token, how)

    run()
    tally.check("token_web", "malformed_token", "bad_signature")


def test_the_offline_command_answers_a_code_for_any_token(app, issued, tmp_path):
    tally = Tally()
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(jwks()), encoding="utf-8")
    db.session.commit()
    runner = app.test_cli_runner()

    @hypothesis.given(token=st.one_of(LINK_TEXT, byte_mutations(issued.token).map(token_text),
                                      cose_variants(issued.token).map(token_text)))
    @fuzz("token_cli")
    def run(token):
        result = runner.invoke(args=["certificates", "verify", "--keys", str(keys), "--", token])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
        if result.exit_code == 2:  # a name that looks like a PDF file, and is none: a usage error, not a verdict
            assert "Error:" in result.output and token.lower().endswith(".pdf")
            return
        found = re.match(r"(NOT AUTHENTIC \(([a-z_]+)\)|AUTHENTIC)", result.output)
        assert found, result.output
        outcome = tally.add(found.group(2) or "valid")
        assert result.exit_code == (0 if outcome == "valid" else 1)

    run()
    tally.check("token_cli", "malformed_token")


# --- PDFs ----------------------------------------------------------------------------------------------------------

def _byte_range_span(pdf: bytes) -> tuple[int, int]:
    return re.search(rb"/ByteRange\s*\[([^\]]*)\]", pdf).span(1)


def _object_stream_spans(pdf: bytes) -> list[tuple[int, int]]:
    spans = []
    for found in re.finditer(rb"/Type\s*/ObjStm\b", pdf):
        start = pdf.index(b"stream", found.end()) + len(b"stream") + 1
        spans.append((start, pdf.index(b"endstream", start)))
    return spans


#: digest and signature algorithms a CMS SignerInfo may name: ours, others, and OIDs nobody knows
DIGESTS = st.sampled_from(["sha256", "sha1", "md5", "sha512", "sha3_256", "1.3.6.1.4.1.55555.1.1", "2.999"])
SIGNATURES = st.sampled_from(["sha256_ecdsa", "ecdsa", "sha256_rsa", "rsassa_pss", "sha512_ecdsa", "ed25519",
                              "sha256_dsa", "1.3.6.1.4.1.55555.2.1"])


@st.composite
def cms_variants(draw, pdf: bytes) -> bytes:
    """The PDF with its CMS SignedData decoded, changed (algorithms, certificates, signed attributes, version) and
    encoded again into the space reserved for it."""
    info = cms.ContentInfo.load(signature_cms(pdf).dump())
    signed = info["content"]
    signer = signed["signer_infos"][0]
    for change in draw(st.lists(st.sampled_from(["digest", "signature", "certificates", "attributes", "version",
                                                 "signature_value", "digests"]), min_size=1, max_size=3)):
        if change == "digest":
            signer["digest_algorithm"] = algos.DigestAlgorithm({"algorithm": draw(DIGESTS)})
        elif change == "signature":
            signer["signature_algorithm"] = algos.SignedDigestAlgorithm({"algorithm": draw(SIGNATURES)})
        elif change == "certificates":
            kept = [c for c in signed["certificates"] if draw(st.booleans())]
            signed["certificates"] = cms.CertificateSet(kept)
        elif change == "attributes":
            attributes = [a for a in signer["signed_attrs"] if draw(st.booleans())]
            signer["signed_attrs"] = cms.CMSAttributes(attributes)
        elif change == "version":
            signed["version"] = draw(st.sampled_from(["v1", "v3", "v5"]))
        elif change == "signature_value":
            signer["signature"] = draw(st.binary(max_size=80))
        else:
            signed["digest_algorithms"] = cms.DigestAlgorithms(
                [algos.DigestAlgorithm({"algorithm": draw(DIGESTS)})])
    der = info.dump()
    der = der[:draw(st.integers(0, len(der)))] if draw(st.integers(0, 7)) == 0 else der
    return with_contents(pdf, der)


@st.composite
def pdf_mutations(draw, pdf: bytes) -> bytes:
    """A real signed certificate PDF, changed where it matters: the signature's /Contents, the cross-reference
    streams, the /ByteRange numbers, the object streams, the trailer, the CMS structure; cut short, or with
    garbage appended."""
    where = draw(st.sampled_from(["contents", "xref", "byte_range", "object_stream", "trailer", "truncate",
                                  "append", "cms", "anywhere"]))
    if where == "contents":
        start, end = contents_span(pdf)
        hexed = draw(st.one_of(
            byte_mutations(pdf, (start, end)),
            st.builds(lambda at, digit: pdf[:at] + digit + pdf[at + 1:], st.integers(start, end - 1),
                      st.sampled_from([b"0", b"f", b"A", b"9", b"g", b">", b" "]))))
        return hexed
    if where == "xref":
        return draw(byte_mutations(pdf, draw(st.sampled_from(xref_stream_spans(pdf)))))
    if where == "byte_range":
        start, end = _byte_range_span(pdf)
        numbers = [int(n) for n in pdf[start:end].split()]
        numbers[draw(st.integers(0, 3))] = draw(st.integers(-10, 2**40))
        text = " ".join(str(n) for n in numbers).encode()
        text = draw(st.one_of(st.just(text), st.binary(max_size=30), st.just(text + b" 0 R")))
        padded = text + b" " * max(0, end - start - len(text)) if draw(st.booleans()) else text
        return pdf[:start] + padded + pdf[end:]
    if where == "object_stream" and _object_stream_spans(pdf):
        start, end = draw(st.sampled_from(_object_stream_spans(pdf)))
        garbage = draw(st.one_of(st.integers(0, 2**32).map(lambda seed: random.Random(seed).randbytes(end - start)),
                                 st.binary(max_size=200)))
        return pdf[:start] + garbage + pdf[end:]
    if where == "trailer":
        return draw(byte_mutations(pdf, (len(pdf) - 200, len(pdf))))
    if where == "truncate":
        return pdf[:draw(st.integers(0, len(pdf) - 1))]
    if where == "append":
        return pdf + draw(st.one_of(st.binary(min_size=1, max_size=200),
                                    st.just(b"\n1 0 obj\n<</Type /Catalog>>\nendobj\n%%EOF\n")))
    if where == "cms":
        return draw(cms_variants(pdf))
    return draw(byte_mutations(pdf))


def test_any_bytes_as_a_pdf_get_a_refusal_code(issued):
    tally = Tally()

    @hypothesis.given(data=st.one_of(st.binary(max_size=2000),
                                     st.binary(max_size=2000).map(lambda raw: b"%PDF-1.7\n" + raw),
                                     st.sampled_from([b"", b"%PDF-", b"%PDF-1.7\n%%EOF", b"%PDF-" + b"0" * 100])))
    @fuzz("pdf_bytes")
    def run(data):
        assert tally.add(verify_pdf(data).outcome) in PDF_REFUSALS

    run()
    tally.check("pdf_bytes", "not_pdf")


def test_a_mutated_real_pdf_is_refused_unless_its_signed_bytes_are_intact(issued):
    tally = Tally()
    genuine = certificate_pdf(issued)
    db.session.commit()

    @hypothesis.given(variant=pdf_mutations(genuine))
    @fuzz("pdf_mutations")
    def run(variant):
        verdict = verify_pdf(variant)
        db.session.rollback()
        outcome = tally.add(verdict.outcome)
        assert outcome in PDF_REFUSALS or outcome == "valid"
        if outcome == "valid":  # what the signature covers is what we signed
            assert _signed_bytes(variant) == _signed_bytes(genuine)

    run()
    tally.check("pdf_mutations", "not_pdf", "not_whole_file", "signature_invalid", "valid")


def _signed_bytes(pdf: bytes) -> bytes:
    start, end = contents_span(pdf)
    return pdf[:start - 1] + pdf[end + 1:]


def test_the_upload_answers_a_code_for_any_pdf(client, issued):
    tally = Tally()
    genuine = certificate_pdf(issued)
    db.session.commit()

    @hypothesis.given(variant=st.one_of(pdf_mutations(genuine), st.binary(max_size=500)))
    @fuzz("pdf_web")
    def run(variant):
        response = upload(client, variant)
        assert response.status_code < 500
        found = re.search(r"<code>([a-z_]+)</code>", response.get_data(as_text=True))
        outcome = tally.add(found.group(1) if found else "valid")
        assert response.status_code == (200 if outcome in AUTHENTIC else 400)

    run()
    tally.check("pdf_web", "not_pdf")


def test_the_offline_command_answers_a_code_for_any_pdf(app, issued, tmp_path):
    tally = Tally()
    genuine = certificate_pdf(issued)
    keys, root, path = tmp_path / "jwks.json", tmp_path / "root-ca.pem", tmp_path / "certificate.pdf"
    keys.write_text(json.dumps(jwks()), encoding="utf-8")
    root.write_text(root_certificates_pem(), encoding="utf-8")
    db.session.commit()
    runner = app.test_cli_runner()

    @hypothesis.given(variant=st.one_of(pdf_mutations(genuine), st.binary(max_size=500)))
    @fuzz("pdf_cli")
    def run(variant):
        path.write_bytes(variant)
        result = runner.invoke(args=["certificates", "verify", str(path), "--keys", str(keys), "--root", str(root)])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
        found = re.search(r"^(NOT AUTHENTIC \(([a-z_]+)\)|AUTHENTIC)", result.output, flags=re.M)
        assert found, result.output
        outcome = tally.add(found.group(2) or "valid")
        assert result.exit_code == (0 if outcome == "valid" else 1)

    run()
    tally.check("pdf_cli", "not_pdf")
