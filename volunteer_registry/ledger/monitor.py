"""The log's public documents under /.well-known/volunteer-registry/: the latest signed checkpoint and the key that
signs checkpoints (as a JWK set, and as a C2SP signed-note verifier key). The leaves and proofs are in the API
(volunteer_registry/api/ledger.py)."""
from __future__ import annotations

import base64

from flask import Response, jsonify

from . import bp
from .services import latest_checkpoint, log_origin, note_key_id, note_verifier_key, public_key_bytes

WELL_KNOWN = "/.well-known/volunteer-registry"


def _text(body: str, status: int = 200) -> Response:
    response = Response(body, status=status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.route(f"{WELL_KNOWN}/checkpoint")
def checkpoint():
    """The latest checkpoint, a C2SP signed note: origin, tree size, base64 root, a blank line, the signature."""
    latest = latest_checkpoint()
    if latest is None:
        return _text("No checkpoint has been signed yet.\n", 404)
    return _text(latest.note)


@bp.route(f"{WELL_KNOWN}/checkpoint-key")
def checkpoint_key():
    """The signed-note verifier key, ``<origin>+<key id>+<base64(0x01 ‖ Ed25519 public key)>``."""
    return _text(note_verifier_key() + "\n")


@bp.route(f"{WELL_KNOWN}/jwks.json")
def jwks():
    x = base64.urlsafe_b64encode(public_key_bytes()).rstrip(b"=").decode()
    response = jsonify({"keys": [{
        "kty": "OKP", "crv": "Ed25519", "x": x, "use": "sig", "alg": "EdDSA", "kid": note_key_id(),
        "key_ops": ["verify"], "name": log_origin(), "note_verifier_key": note_verifier_key(),
        "purpose": "ledger-checkpoint",
    }]})
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
