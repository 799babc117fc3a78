"""Dashboards, reports and exports: the figures each role needs at a glance (queries.py, charts.py), the pages that
show them (views.py) and the downloads of every list as CSV and XLSX (exports.py, downloads.py)."""
from flask import Blueprint

bp = Blueprint("reports", __name__)


def blueprint() -> Blueprint:
    """The part's blueprint with every route attached (imported here, when the app is built, rather than with the
    package: a route module imports other parts, and importing a model or a service must not pull them in)."""
    from . import downloads, personal, views  # noqa: F401

    return bp
