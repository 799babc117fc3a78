"""Correction requests: a volunteer reports an error in a service entry or service that was never recorded, and
the organization answers; an accepted request becomes a ledger entry that waits for approval (services.py). Its
pages are views.py."""
from flask import Blueprint

bp = Blueprint("corrections", __name__)


def blueprint() -> Blueprint:
    """The part's blueprint with every route attached (imported here, when the app is built, rather than with the
    package: a route module imports other parts, and importing a model or a service must not pull them in)."""
    from . import views  # noqa: F401

    return bp
