"""The published keys: /.well-known/volunteer-registry/jwks.json and root-ca.pem. URLs that certificates on paper
point to; they never move."""
from __future__ import annotations

from flask import Response, jsonify

from ..extensions import db
from . import bp
from .services import jwks, root_certificates_pem

WELL_KNOWN = "/.well-known/volunteer-registry"


def _public(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route(f"{WELL_KNOWN}/jwks.json")
def jwks_document():
    """Every signing key, current and retired, with its validity: the certificate-token keys (ES256), the PDF
    document-signing and root keys (ES256, with their X.509 certificate in x5c) and the checkpoint keys (Ed25519)."""
    document = jwks()
    db.session.commit()  # the keys of a first run
    return _public(jsonify(document))


@bp.route(f"{WELL_KNOWN}/root-ca.pem")
def root_ca():
    """The root certificate (every one the instance has had, current first) that signed PDFs chain to."""
    body = root_certificates_pem()
    db.session.commit()
    return _public(Response(body, mimetype="application/x-pem-file"))
