"""Bearer-token authentication for devices and integrations."""
from __future__ import annotations

from functools import wraps

from flask import g, request

from ..accounts.services import user_for_api_token
from ..errors import DomainError


class ApiAuthError(DomainError):
    status = 401
    messages = {
        "token_required": "Send an API token: 'Authorization: Bearer <token>'.",
        "token_invalid": "The API token is unknown or revoked.",
    }


def bearer_user():
    """The account behind the request's bearer token, or None when no token was sent. Raises token_invalid."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if not header:
        return None
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiAuthError("token_invalid")
    user = user_for_api_token(token.strip())
    if user is None:
        raise ApiAuthError("token_invalid")
    return user


def token_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        user = bearer_user()
        if user is None:
            raise ApiAuthError("token_required")
        g.api_user = user
        return view(*args, **kwargs)

    wrapped.api_auth = "required"  # the OpenAPI document reads it (openapi.SECURITY)
    return wrapped


def token_optional(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        g.api_user = bearer_user()
        return view(*args, **kwargs)

    wrapped.api_auth = "optional"
    return wrapped
