"""The certificate PDF: rendered by WeasyPrint from plain data (templates/certificates/document.html) with a URL
fetcher that serves only our own static files, the token attached as a file, then signed (PAdES B-B) by pyHanko
with the instance's document-signing certificate."""
from __future__ import annotations

import asyncio
import base64
import gc
import io
import mimetypes
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from flask import current_app, render_template
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore
from weasyprint import HTML, Attachment
from weasyprint.urls import URLFetcher, URLFetcherResponse

from .qr import qr_svg

#: the base URL that document.html's static references resolve against; nothing else can be fetched
STATIC_BASE = "https://static.volunteer-registry.invalid/"
TOKEN_ATTACHMENT = "certificate-token.cose"
SIGNATURE_FIELD = "VolunteerRegistry"


class StaticOnlyFetcher(URLFetcher):
    """Serves data: URLs and files under the app's static folder; refuses everything else (no network, no
    file:// — a certificate's text cannot make the renderer read the server's files)."""

    def __init__(self, static_folder: str):
        super().__init__(allowed_protocols=("data", "https"))
        self.static_root = Path(static_folder).resolve()

    def fetch(self, url, headers=None):
        if url.startswith("data:"):
            return super().fetch(url, headers)
        if not url.startswith(STATIC_BASE):
            raise ValueError(f"certificates may only use our static files, not {url[:80]}")
        path = (self.static_root / url[len(STATIC_BASE):].split("?")[0]).resolve()
        if not path.is_relative_to(self.static_root) or not path.is_file():
            raise ValueError(f"no such static file: {url[:80]}")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": mime})


def _data_uri(mime: str, raw: bytes) -> str:
    return f"data:{mime};base64," + base64.b64encode(raw).decode()


def certificate_html(data: dict, url: str, seal_png: bytes | None) -> str:
    """The certificate as HTML, from plain data (Certificate.content plus number and dates)."""
    return render_template("certificates/document.html", c=data, verify_url=url,
                           qr_src=_data_uri("image/svg+xml", qr_svg(url)),
                           seal_src=_data_uri("image/png", seal_png) if seal_png else None)


def render_pdf(html: str, token: bytes | None) -> bytes:
    """The unsigned PDF of ``html`` with the token attached (None: nothing attached, e.g. a service point's
    poster)."""
    fetcher = StaticOnlyFetcher(current_app.static_folder)
    attachments = [] if token is None else [Attachment(file_obj=io.BytesIO(token), name=TOKEN_ATTACHMENT,
                                                       description="COSE_Sign1 certificate token (RFC 9052), ES256")]
    pdf = HTML(string=html, base_url=STATIC_BASE, url_fetcher=fetcher).write_pdf(attachments=attachments)
    gc.collect()  # repeated renders grow the process otherwise (STANDARDS.md)
    return pdf


def sign_pdf(pdf: bytes, private_key, certificate_pem: str, root_pem: str, *, reason: str, location: str) -> bytes:
    """``pdf`` signed as PAdES B-B (ECDSA P-256, SHA-256) by the document-signing certificate, the root embedded."""
    key_der = private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    signing_cert = asn1_x509.Certificate.load(_pem_to_der(certificate_pem))
    root_cert = asn1_x509.Certificate.load(_pem_to_der(root_pem))
    signer = signers.SimpleSigner(signing_cert=signing_cert, signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
                                  cert_registry=SimpleCertificateStore.from_certs([root_cert]))
    meta = signers.PdfSignatureMetadata(field_name=SIGNATURE_FIELD, md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES, reason=reason, location=location)
    def sign() -> bytes:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        return signers.sign_pdf(writer, meta, signer=signer).getvalue()

    try:
        asyncio.get_running_loop()
    except RuntimeError:  # the usual case: no event loop in this thread
        return sign()
    # pyHanko's sign_pdf calls asyncio.run(), which refuses to start inside a running loop (an async server,
    # a browser driver in the same thread): sign in a thread of its own
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(sign).result()


def _pem_to_der(pem: str) -> bytes:
    return x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
