"""The ``page`` query parameter of paginated lists: the one place that reads it."""
from __future__ import annotations

import re

from flask import abort, request

from .errors import DomainError, wants_json

MAX_PAGE = 100_000


class PageError(DomainError):
    status = 400
    messages = {"invalid_parameter": "A query parameter is not valid."}


def parse_page(value: str | None) -> int | None:
    """The page number (1 when absent), or None when ``value`` is not a page number from 1 to MAX_PAGE."""
    if value is None or value == "":
        return 1
    if re.fullmatch(r"[1-9][0-9]{0,5}", value) and int(value) <= MAX_PAGE:
        return int(value)
    return None


def requested_page(*, strict: bool = False) -> int:
    """The page this request asks for: 1 when it names none. A ``page`` that is not a page number from 1 to
    MAX_PAGE is read as 1 on the pages people browse; a ``strict`` list refuses it instead with 400 — in JSON
    (code ``invalid_parameter``, field ``page``) for API clients, who are told rather than forgiven."""
    page = parse_page(request.args.get("page"))
    if page is not None:
        return page
    if not strict:
        return 1
    if wants_json():
        raise PageError("invalid_parameter", f"page must be a whole number from 1 to {MAX_PAGE}", field="page")
    abort(400)
