"""Service certificates: issuing (one, on request, or in bulk), the signed token and its QR, the signed PDF,
revocation and reissue. Public verification is the verification part."""
from flask import Blueprint

bp = Blueprint("certificates", __name__)


def blueprint() -> Blueprint:
    """The part's blueprint with every route attached (imported here, when the app is built, rather than with the
    package: a route module imports other parts, and importing a model or a service must not pull them in)."""
    from . import views  # noqa: F401

    return bp
