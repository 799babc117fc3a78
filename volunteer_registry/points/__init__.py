"""Service points without a kiosk: a fixed place with a signed, static QR poster (the blueprint; ``blueprint()``
returns it with its routes attached)."""
from flask import Blueprint

bp = Blueprint("points", __name__)


def blueprint() -> Blueprint:
    """The part's blueprint with every route attached (imported here, when the app is built)."""
    from . import views  # noqa: F401

    return bp
