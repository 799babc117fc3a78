"""Domain errors with codes, and the handlers that turn them into pages or JSON."""
from __future__ import annotations

from flask import Flask, flash, jsonify, redirect, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """A refused operation. ``code`` is stable (tests and API clients rely on it); the message is for people.

    ``field`` names the input the error is about, so forms can show it next to that field.
    """

    status = 422
    messages: dict = {}
    statuses: dict = {}

    def __init__(self, code: str, message: str | None = None, *, field: str | None = None, **params):
        self.code = code
        self.field = field
        self.params = params
        self._message = message
        super().__init__(code)

    @property
    def message(self) -> str:
        if self._message:
            return str(self._message)
        template = self.messages.get(self.code)
        if template is None:
            return self.code.replace("_", " ")
        return str(template) % self.params if self.params else str(template)

    @property
    def http_status(self) -> int:
        return self.statuses.get(self.code, self.status)

    def to_json(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return {"error": body}


class NotFound(DomainError):
    status = 404
    messages = {"not_found": _l("Not found.")}


class Forbidden(DomainError):
    status = 403
    messages = {"forbidden": _l("You do not have permission to do that.")}


def apply_to_form(error: DomainError, form) -> bool:
    """Attach ``error`` to the form field it names; False when it names none of the form's fields."""
    if error.field and error.field in form:
        form[error.field].errors = list(form[error.field].errors) + [error.message]
        return True
    return False


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.is_json


HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    413: "payload_too_large", 415: "unsupported_media_type", 422: "validation_failed", 429: "rate_limited",
}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        if wants_json():
            return jsonify(error.to_json()), error.http_status
        if error.http_status in (403, 404):
            page = render_template("errors/error.html", status=error.http_status, message=error.message)
            return page, error.http_status
        flash(error.message, "error")
        return redirect(request.referrer or "/")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        if wants_json():
            code = HTTP_CODES.get(status, "http_error")
            return jsonify({"error": {"code": code, "message": error.description}}), status
        # our own translated text for the statuses people meet; werkzeug's English description otherwise
        return render_template("errors/error.html", status=status, message=None), status

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        app.logger.exception("unhandled error")
        if wants_json():
            return jsonify({"error": {"code": "internal_error", "message": "Internal error."}}), 500
        return render_template("errors/error.html", status=500, message=None), 500
