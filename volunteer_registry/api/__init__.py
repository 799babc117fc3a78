"""The blueprint; ``blueprint()`` returns it with its routes (views.py) attached."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def blueprint() -> Blueprint:
    """The part's blueprint with every route attached (imported here, when the app is built, rather than with the
    package: a route module imports other parts, and importing a model or a service must not pull them in)."""
    from . import certificates, exchange, exchange_feed, ledger, stats, views  # noqa: F401

    return bp
