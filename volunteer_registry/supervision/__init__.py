"""Supervision by civil affairs (the 2021 measures on volunteer service records): a risk queue of signals in the
ledger, spot checks of an organization's certificates and approved entries with published outcomes, and complaints
that anyone may file. The blueprint's routes are in views.py, its `flask supervision` commands in cli.py."""
from flask import Blueprint

bp = Blueprint("supervision", __name__, cli_group="supervision")


def blueprint() -> Blueprint:
    """The part's blueprint with every route attached (imported here, when the app is built, rather than with the
    package: a route module imports other parts, and importing a model or a service must not pull them in)."""
    from . import cli, views  # noqa: F401

    return bp
