"""Checking an uploaded certificate PDF: its signature, its coverage and its attached token. Pure (no Flask, no
database): the offline verifier uses it with the published root certificate alone.

The coverage check is our own, whatever a library's summary says: the signature's /ByteRange must be exactly
[0, a, b, c] with b + c equal to the file's length and nothing but the signature's hex string between a and b, so an
incremental update appended after signing (a changed name, a new page) is refused.

Any file ends in a SignedPdf or a PdfCheckError: each step maps what a hostile file makes the libraries raise to its
code, and an exception nobody foresaw is still refused with a code (and logged, with its traceback, for the
operators). Work is bounded by MAX_PDF_BYTES and by pyHanko's decoding limits for untrusted input (the defaults).
"""
from __future__ import annotations

import datetime as dt
import io
import logging
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
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
#: how our certificates are signed (pyHanko, with the document-signing key): (digest, signature algorithm)
SIGNATURE_ALGORITHMS = {("sha256", "sha256_ecdsa"), ("sha256", "ecdsa")}
#: what reading a damaged or hostile file makes pyHanko and asn1crypto raise (zlib.error: a stream that is not
#: Flate data; NotImplementedError: a predictor or filter pyHanko does not know; AssertionError: pyHanko's checks
#: of a cross-reference stream's /Index)
_UNREADABLE = (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError, ArithmeticError,
               NotImplementedError, EOFError, AssertionError, zlib.error)

logger = logging.getLogger(__name__)


class PdfCheckError(ValueError):
    """A PDF that is not one of our intact certificates, with one of CODES."""

    CODES = ("not_pdf", "too_large", "unsigned", "not_whole_file", "signature_invalid", "untrusted_signer", "no_token")

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


@contextmanager
def _refusing(code: str, what: str, foreseen: tuple[type[BaseException], ...] = _UNREADABLE) -> Iterator[None]:
    """Any exception in the block is refused as ``code``; one not ``foreseen`` is logged with its traceback."""
    try:
        yield
    except PdfCheckError:
        raise
    except foreseen as error:
        raise PdfCheckError(code, f"{what} ({type(error).__name__})") from None
    except Exception as error:
        logger.warning("PDF check: unforeseen error (%s), refused as %s", what, code, exc_info=True)
        raise PdfCheckError(code, f"{what} ({type(error).__name__})") from None


def check_signed_pdf(data: bytes, roots: list[asn1_x509.Certificate]) -> SignedPdf:
    """Check that ``data`` is a PDF whose one signature is intact, covers the whole file and chains to one of
    ``roots``, and return the token attached to it. Raises PdfCheckError, whatever ``data`` is."""
    with _refusing("not_pdf", "unreadable", foreseen=()):  # the outermost guard: what no step foresaw
        return _check(data, roots)


def _check(data: bytes, roots: list[asn1_x509.Certificate]) -> SignedPdf:
    if len(data) > MAX_PDF_BYTES:
        raise PdfCheckError("too_large", f"more than {MAX_PDF_BYTES // (1024 * 1024)} MB")
    if not data.startswith(b"%PDF-"):
        raise PdfCheckError("not_pdf", "the file does not start with %PDF-")
    with _refusing("not_pdf", "unreadable"):
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_regular_signatures
    if not signatures:
        raise PdfCheckError("unsigned", "the PDF carries no signature")
    if len(signatures) != 1:
        raise PdfCheckError("not_whole_file", "a certificate carries exactly one signature")
    signature = signatures[0]
    with _refusing("not_whole_file", "unreadable byte range"):
        whole = _covers_whole_file(data, signature.sig_object.get("/ByteRange"))
    if not whole:
        raise PdfCheckError("not_whole_file", "the signature does not cover the whole file (changed after signing)")
    with _refusing("signature_invalid", "unreadable signature"):
        algorithms = (signature.md_algorithm, signature.signer_info["signature_algorithm"]["algorithm"].native)
    if algorithms not in SIGNATURE_ALGORITHMS:  # unknown to pyHanko, or not what our key can have made
        raise PdfCheckError("signature_invalid", "signed with {1:.40} over {0:.40}, not ECDSA with SHA-256"
                            .format(*(str(name) for name in algorithms)))
    context = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")
    with _refusing("signature_invalid", "cannot be validated", foreseen=(PdfError, ValueError, KeyError, TypeError)):
        status = validate_pdf_signature(signature, context)
    if not (status.intact and status.valid):
        raise PdfCheckError("signature_invalid", "the signature does not match the document")
    if not status.trusted:
        raise PdfCheckError("untrusted_signer", "the signer does not chain to the Volunteer Registry root")
    with _refusing("no_token", f"no readable {TOKEN_ATTACHMENT} attachment"):
        token = _attachment(reader, TOKEN_ATTACHMENT)
    if not token:
        raise PdfCheckError("no_token", f"no {TOKEN_ATTACHMENT} attachment")
    return SignedPdf(token=token, signer=status.signing_cert.subject.human_friendly,
                     signed_at=status.signer_reported_dt)
