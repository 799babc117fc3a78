"""Helpers for the /api/v1 tests: bearer tokens, a JSON client, what the database really holds."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from volunteer_registry.accounts.services import create_api_token
from volunteer_registry.extensions import db

_NO_BODY = object()
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def token_for(user, name: str = "test device") -> str:
    """A real bearer token for ``user`` (committed, as the account page would)."""
    _token, plaintext = create_api_token(user, name)
    db.session.commit()
    return plaintext


class Api:
    """Calls /api/v1 the way a device does: a bearer token and a JSON body.

    Each request runs in its own application context and session (tests/conftest.py). After each request the
    test's own session is rolled back too, so the test reads only what was committed.
    """

    def __init__(self, client):
        self.client = client

    def call(self, method: str, path: str, *, token: str | None = None, json=_NO_BODY, data=None,
             headers: dict | None = None, content_type: str | None = None, query: dict | None = None):
        headers = dict(headers or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        kwargs = {}
        if json is not _NO_BODY:
            kwargs["json"] = json
        if data is not None:
            kwargs["data"] = data
        if content_type is not None:
            kwargs["content_type"] = content_type
        if query is not None:
            kwargs["query_string"] = query
        response = self.client.open("/api/v1" + path, method=method, headers=headers, **kwargs)
        db.session.rollback()
        return response

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.call("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self.call("PUT", path, **kwargs)


@pytest.fixture
def api(client):
    return Api(client)


def committed_count(model, *where) -> int:
    """Rows of ``model`` the database holds, read on a connection of its own (so only committed rows count)."""
    with db.engine.connect() as connection:
        return connection.scalar(sa.select(sa.func.count()).select_from(model.__table__).where(*where))


def database_contains(text: str) -> list[str]:
    """Every ``table.column`` whose stored value contains ``text`` (as text or as UTF-8 bytes)."""
    found = []
    needle = text.encode()
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            for row in connection.execute(sa.select(table)).mappings():
                for column, value in row.items():
                    if isinstance(value, str) and text in value:
                        found.append(f"{table.name}.{column}")
                    elif isinstance(value, (bytes, bytearray, memoryview)) and needle in bytes(value):
                        found.append(f"{table.name}.{column}")
                    elif isinstance(value, (dict, list)) and text in repr(value):
                        found.append(f"{table.name}.{column}")
    return found


ERROR_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


def assert_error(response, status: int, code: str | None = None, field: str | None = None) -> dict:
    """The response is ``status`` with the documented error body ``{"error": {"code", "message"[, "field"]}}``."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    error = assert_error_shape(response)
    if code is not None:
        assert error["code"] == code, error
    if field is not None:
        assert error.get("field") == field, error
    return error


def assert_error_shape(response) -> dict:
    assert response.mimetype == "application/json", response.mimetype
    body = response.get_json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict), body
    assert {"code", "message"} <= set(error) <= {"code", "message", "field"}, error
    assert isinstance(error["code"], str) and ERROR_CODE.match(error["code"]), error
    assert isinstance(error["message"], str) and error["message"], error
    if "field" in error:
        assert isinstance(error["field"], str) and error["field"], error
    return error


def openapi_path(rule: str) -> str:
    """A Flask rule under /api/v1 as an OpenAPI path: ``/api/v1/organizations/<code>`` → ``/organizations/{code}``."""
    path = rule[len("/api/v1"):] or "/"
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", path)


def documented_statuses(document: dict, method: str, path: str) -> set[str]:
    return set(document["paths"][path][method.lower()]["responses"])
