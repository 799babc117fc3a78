"""Records that travel (docs/EXCHANGE.md): a volunteer's signed, self-verifying record bundle, its transfer to
another system on a one-time code, the trusted peers and their pinned keys, and the incremental feed a superior
platform pulls or receives (the blueprint; ``blueprint()`` returns it with its routes attached)."""
from flask import Blueprint

bp = Blueprint("exchange", __name__)


def blueprint() -> Blueprint:
    """The part's blueprint with every route attached (imported here, when the app is built)."""
    from . import regional, views  # noqa: F401

    return bp
