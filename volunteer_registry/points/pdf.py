"""A service point's poster as a signed PDF (A4 or A6): rendered by WeasyPrint from plain data
(templates/points/poster.html) and signed with the instance's document-signing key, by the same renderer and signer
as certificates (certificates/pdf.py), so a reader's signature panel shows who printed it and that it is unchanged."""
from __future__ import annotations

import base64

from flask import render_template

from ..certificates.pdf import render_pdf, sign_pdf
from ..certificates.qr import qr_svg
from ..keys.services import current_key, private_key_of
from ..links import path_for, public_base_url
from ..timeutil import local
from .models import ServicePoint, ServicePointPoster
from .schemas import POSTER_SIZES
from .tokens import poster_token


def poster_url(point: ServicePoint, poster: ServicePointPoster) -> str:
    """What the poster's QR holds: ``HTTPS://HOST/P/<token>``, uppercase so the QR stays in alphanumeric mode
    (the path is matched in either case; the host is case-blind). Printed on paper, so it must keep working: the
    path is fixed (checkin/poster_views.py serves it)."""
    return (public_base_url() + path_for("checkin.poster_scan", token=poster_token(point, poster))).upper()


def poster_data(point: ServicePoint, poster: ServicePointPoster) -> dict:
    """The template's plain data."""
    activity, org = point.activity, point.organization
    issued = local(poster.issued_at).date()
    return {"point_name": point.name, "address": point.address, "activity_title": activity.title,
            "organization_name": org.name, "serial": poster.serial, "point_code": point.code,
            "issued_on": issued.isoformat(), "issued_on_zh": f"{issued.year}年{issued.month}月{issued.day}日"}


def render_poster(point: ServicePoint, poster: ServicePointPoster, size: str) -> bytes:
    """The signed PDF of ``poster`` on paper ``size`` (a key of POSTER_SIZES; the caller has checked it)."""
    url = poster_url(point, poster)
    qr_src = "data:image/svg+xml;base64," + base64.b64encode(qr_svg(url)).decode()
    html = render_template("points/poster.html", p=poster_data(point, poster), size=size,
                           paper=POSTER_SIZES[size], qr_src=qr_src, url=url)
    unsigned = render_pdf(html, None)
    document_key = current_key("document")
    root = current_key("root")
    return sign_pdf(unsigned, private_key_of(document_key), document_key.certificate_pem, root.certificate_pem,
                    reason=f"Service point poster {point.code} No. {poster.serial}",
                    location=point.organization.name)
