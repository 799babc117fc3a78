"""Calendar feeds (RFC 5545): a volunteer's private feed of their shifts, one shift to add to a phone's calendar,
and an organization's public feed of the shifts it recruits for (the blueprint)."""
from flask import Blueprint

bp = Blueprint("calendars", __name__)


def blueprint() -> Blueprint:
    """The part's blueprint with every route attached (imported here, when the app is built)."""
    from . import views  # noqa: F401

    return bp
