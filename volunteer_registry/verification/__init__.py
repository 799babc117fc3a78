"""Public verification of certificates, no account needed: the QR's link (a page, or JSON), a PDF upload, and
the offline check (`flask certificates verify`, in certificates/cli.py)."""
from flask import Blueprint
from werkzeug.routing import PathConverter

bp = Blueprint("verification", __name__)


class TokenTextConverter(PathConverter):
    """``<token_text:…>``: the rest of the path, whatever it holds. werkzeug's ``path`` stops at a line break, which
    left such a link a bare 404; the verifier answers every link with a code."""

    regex = r"[^/][\s\S]*?"


# before the views add their routes (deferred functions run in the order they were recorded)
bp.record_once(lambda state: state.app.url_map.converters.setdefault("token_text", TokenTextConverter))


def blueprint() -> Blueprint:
    """The part's blueprint with every route attached (imported here, when the app is built, rather than with the
    package: a route module imports other parts, and importing a model or a service must not pull them in)."""
    from . import views  # noqa: F401

    return bp
