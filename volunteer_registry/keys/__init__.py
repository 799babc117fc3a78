"""The instance's signing keys: the root certificate authority, the PDF document-signing certificate, the
certificate-token key (ES256) and the checkpoint key (Ed25519). Public halves are rows (published at
/.well-known/volunteer-registry/); private halves are files in the instance folder, mode 0600."""
from flask import Blueprint

bp = Blueprint("keys", __name__)


def blueprint() -> Blueprint:
    """The part's blueprint with every route attached (imported here, when the app is built, rather than with the
    package: a route module imports other parts, and importing a model or a service must not pull them in)."""
    from . import views  # noqa: F401

    return bp
