"""The hours ledger: its entries and their decisions (services.py), the Merkle log over them and its signed
checkpoints (log.py, over merkle.py and checkpoint.py). The blueprint's routes are in views.py (pages) and
monitor.py (the public log interface), attached by ``blueprint()``. Correction requests are their own part
(corrections)."""
from flask import Blueprint

bp = Blueprint("ledger", __name__)


def blueprint() -> Blueprint:
    """The part's blueprint with every route attached (imported here, when the app is built, rather than with the
    package: a route module imports other parts, and importing a model or a service must not pull them in)."""
    from . import monitor, views  # noqa: F401

    return bp
