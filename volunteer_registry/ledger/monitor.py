"""The log's public documents under /.well-known/volunteer-registry/: the latest signed checkpoint and the key that
signs checkpoints now (a C2SP signed-note verifier key; every key, current and retired, is in jwks.json, served by
volunteer_registry/keys/views.py). The leaves and proofs are in the API (volunteer_registry/api/ledger.py)."""
from __future__ import annotations

from flask import Response

from ..extensions import db
from . import bp
from .log import latest_checkpoint, note_verifier_key

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
    key = note_verifier_key()
    db.session.commit()  # the key of a first run
    return _text(key + "\n")
