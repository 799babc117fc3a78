"""Hostile inputs made from a real certificate, for test_verifier_hostile.py and test_verifier_fuzz.py: tokens whose
CBOR a decoder chokes on, and signed PDFs with a broken cross-reference stream or a re-encoded CMS signature."""
from __future__ import annotations

import re
from collections.abc import Callable

import cbor2
from asn1crypto import algos, cms

COSE_SIGN1 = 18
#: COSE algorithm ids (RFC 9053, RFC 8230): ours, and two RSA ones our EC keys cannot have made
ES256, PS256, RS256 = -7, -37, -257

#: a bigfloat (tag 5) whose exponent overflows the decimal context when cbor2 decodes it (decimal.Overflow)
BIGFLOAT_OVERFLOW = cbor2.dumps(cbor2.CBORTag(5, [2**63, 1]))
#: a decimal fraction (tag 4) with text for numbers (decimal.InvalidOperation when decoded)
DECIMAL_OF_TEXT = cbor2.dumps(cbor2.CBORTag(4, ["e", "m"]))


def shared_reference_bomb(depth: int) -> bytes:
    """Nested pairs that share their halves (tags 28/29): a few bytes a level, 2**depth leaves. Used as a map key it
    makes cbor2 hash every leaf, so the decoding time doubles with each level."""
    item = b"\xd8\x1c\x82\x00\x00"  # the innermost pair, shareable index ``depth`` (indices are given outside in)
    for level in range(1, depth + 1):
        item = b"\xd8\x1c\x82" + item + b"\xd8\x1d" + cbor2.dumps(depth - level + 1)
    return item


def nested_arrays(depth: int) -> bytes:
    return b"\x81" * depth + b"\x00"


def parts(token: bytes) -> list:
    """[protected, unprotected, payload, signature] of a well-formed token."""
    return list(cbor2.loads(token).value)


def header(token: bytes) -> dict:
    return dict(cbor2.loads(parts(token)[0]))


def cose(protected: bytes, unprotected: bytes, payload: bytes, signature: bytes) -> bytes:
    """A COSE_Sign1 assembled from already encoded parts: ``unprotected`` is raw CBOR (any bytes), the others are
    wrapped as byte strings."""
    return (b"\xd2\x84"  # tag 18, an array of 4
            + cbor2.dumps(protected) + unprotected + cbor2.dumps(payload) + cbor2.dumps(signature))


def with_unprotected(token: bytes, raw_map: bytes) -> bytes:
    protected, _unprotected, payload, signature = parts(token)
    return cose(protected, raw_map, payload, signature)


def with_protected(token: bytes, raw_header: bytes) -> bytes:
    """The token with its protected header's bytes replaced (the signature, now over other bytes, left as it was)."""
    _protected, _unprotected, payload, signature = parts(token)
    return cose(raw_header, b"\xa0", payload, signature)


def with_alg(token: bytes, alg) -> bytes:
    """The token claiming another algorithm with the same (EC) key id."""
    return with_protected(token, cbor2.dumps({1: alg, 4: header(token)[4]}))


# --- PDFs ----------------------------------------------------------------------------------------------------------

def xref_stream_spans(pdf: bytes) -> list[tuple[int, int]]:
    """(start, end) of the data of each cross-reference stream (/Type /XRef), in file order."""
    spans = []
    for found in re.finditer(rb"/Type\s*/XRef\b", pdf):
        start = pdf.index(b"stream", found.end()) + len(b"stream")
        start += 2 if pdf[start:start + 2] == b"\r\n" else 1
        end = pdf.index(b"endstream", start)
        end -= 2 if pdf[end - 2:end] == b"\r\n" else 1 if pdf[end - 1:end] in (b"\r", b"\n") else 0
        spans.append((start, end))
    return spans


def with_xref_garbage(pdf: bytes, which: int = -1) -> bytes:
    """The PDF with one cross-reference stream's Flate data replaced by bytes that are not zlib data, same length."""
    start, end = xref_stream_spans(pdf)[which]
    garbage = bytes((byte ^ 0x5A) for byte in pdf[start:end])
    return pdf[:start] + garbage + pdf[end:]


def contents_span(pdf: bytes) -> tuple[int, int]:
    """(start, end) of the signature's /Contents hex digits (without the angle brackets)."""
    found = re.search(rb"/Contents\s*<([0-9A-Fa-f]+)>", pdf)
    return found.span(1)


def with_contents(pdf: bytes, der: bytes) -> bytes:
    """The PDF with ``der`` as its signature's /Contents, zero-padded to the reserved length (the byte range, and
    so the file's layout, stay as they were)."""
    start, end = contents_span(pdf)
    digits = der.hex().encode()
    assert len(digits) <= end - start, "the new signature does not fit the space reserved for it"
    return pdf[:start] + digits + b"0" * (end - start - len(digits)) + pdf[end:]


def signature_cms(pdf: bytes) -> cms.ContentInfo:
    start, end = contents_span(pdf)
    return cms.ContentInfo.load(bytes.fromhex(pdf[start:end].decode()).rstrip(b"\x00") or b"\x30\x00")


def with_cms(pdf: bytes, change: Callable[[cms.SignerInfo], None]) -> bytes:
    """The PDF with its CMS SignedData decoded, its one SignerInfo changed by ``change``, and encoded again."""
    info = cms.ContentInfo.load(signature_cms(pdf).dump())
    change(info["content"]["signer_infos"][0])
    return with_contents(pdf, info.dump())


def unknown_digest(signer: cms.SignerInfo) -> None:
    signer["digest_algorithm"] = algos.DigestAlgorithm({"algorithm": "1.3.6.1.4.1.55555.1.1"})


def rsa_signature(name: str = "sha256_rsa") -> Callable[[cms.SignerInfo], None]:
    """A SignerInfo claiming an RSA signature (``sha256_rsa``, ``rsassa_pss``) over what our EC key signed."""
    def change(signer: cms.SignerInfo) -> None:
        parameters = None
        if name == "rsassa_pss":
            parameters = algos.RSASSAPSSParams({
                "hash_algorithm": {"algorithm": "sha256"},
                "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": "sha256"}},
                "salt_length": 32})
        signer["signature_algorithm"] = algos.SignedDigestAlgorithm({"algorithm": name, "parameters": parameters})
    return change
