"""Checking an uploaded certificate PDF: its signature, its coverage and its attached token. Pure (no Flask, no
database): the offline verifier uses it with the published root certificate alone.

The coverage check is our own, whatever a library's summary says: the signature's /ByteRange must be exactly
[0, a, b, c] with b + c equal to the file's length and nothing but the signature's hex string between a and b, so an
incremental update appended after signing (a changed name, a new page) is refused.
"""
from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from ..certificates.pdf import TOKEN_ATTACHMENT

MAX_PDF_BYTES = 5 * 1024 * 1024
_HEX_CONTENTS = re.compile(rb"^<[0-9A-Fa-f]*>$")


class PdfCheckError(ValueError):
    """``code``: not_pdf, too_large, unsigned, not_whole_file, signature_invalid, untrusted_signer, no_token."""

    def __init__(self, code: str, detail: str = ""):
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {detail}" if detail else code)


@dataclass(frozen=True)
class SignedPdf:
    token: bytes
    signer: str  #: the signing certificate's subject
    signed_at: dt.datetime | None  #: the signer's claimed time (not a timestamp authority's)


def load_roots(pem_text: str | bytes) -> list[asn1_x509.Certificate]:
    """Every certificate in a PEM bundle (root-ca.pem)."""
    text = pem_text.decode() if isinstance(pem_text, bytes) else pem_text
    blocks = re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", text, flags=re.S)
    return [asn1_x509.Certificate.load(pem.unarmor(block.encode())[2]) for block in blocks]


def _covers_whole_file(data: bytes, byte_range) -> bool:
    try:
        start, first_length, second_start, second_length = (int(x) for x in byte_range)
    except (TypeError, ValueError):
        return False
    return (start == 0 and 0 < first_length < second_start and second_start + second_length == len(data)
            and second_length >= 0 and bool(_HEX_CONTENTS.match(data[first_length:second_start])))


def _attachment(reader: PdfFileReader, name: str) -> bytes | None:
    try:
        names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    except (KeyError, TypeError):
        return None
    for index in range(0, len(names) - 1, 2):
        if str(names[index]) == name:
            spec = names[index + 1].get_object()
            return spec["/EF"]["/F"].get_object().data
    return None


def check_signed_pdf(data: bytes, roots: list[asn1_x509.Certificate]) -> SignedPdf:
    """Check that ``data`` is a PDF whose one signature is intact, covers the whole file and chains to one of
    ``roots``, and return the token attached to it. Raises PdfCheckError."""
    if len(data) > MAX_PDF_BYTES:
        raise PdfCheckError("too_large", f"more than {MAX_PDF_BYTES // (1024 * 1024)} MB")
    if not data.startswith(b"%PDF-"):
        raise PdfCheckError("not_pdf", "the file does not start with %PDF-")
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_regular_signatures
    except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError) as error:
        raise PdfCheckError("not_pdf", f"unreadable ({type(error).__name__})") from None
    if not signatures:
        raise PdfCheckError("unsigned", "the PDF carries no signature")
    if len(signatures) != 1:
        raise PdfCheckError("not_whole_file", "a certificate carries exactly one signature")
    signature = signatures[0]
    if not _covers_whole_file(data, signature.sig_object.get("/ByteRange")):
        raise PdfCheckError("not_whole_file", "the signature does not cover the whole file (changed after signing)")
    context = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")
    try:
        status = validate_pdf_signature(signature, context)
    except (PdfError, ValueError, KeyError, TypeError) as error:
        raise PdfCheckError("signature_invalid", f"cannot be validated ({type(error).__name__})") from None
    if not (status.intact and status.valid):
        raise PdfCheckError("signature_invalid", "the signature does not match the document")
    if not status.trusted:
        raise PdfCheckError("untrusted_signer", "the signer does not chain to the Volunteer Registry root")
    try:
        token = _attachment(reader, TOKEN_ATTACHMENT)
    except (PdfError, KeyError, TypeError, AttributeError, IndexError):
        token = None
    if not token:
        raise PdfCheckError("no_token", f"no {TOKEN_ATTACHMENT} attachment")
    return SignedPdf(token=token, signer=status.signing_cert.subject.human_friendly,
                     signed_at=status.signer_reported_dt)
