"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json, generated from the app itself.

Every endpoint of the api blueprint declares what it takes and answers with :func:`documented` (placed right under
its ``@bp.route``); :func:`openapi_document` walks the app's url_map, so a route without a declaration cannot be
served undocumented and a declaration cannot outlive its route. Request bodies and answers are the parts' schemas
(``<part>/schemas.py``), the same declarations their forms, services and serializers read. Nothing here is written
as JSON Schema by hand: the error every refusal answers with is declared here, as a Schema too."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app

from ..checkin.schemas import SCAN_OUT, SCAN_REFUSAL_OUT, SESSION_OUT
from ..schema import Integer, ListOf, Nested, Schema, Text, json_schema
from . import bp

# --- what endpoints declare -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One documented response: a JSON body of ``schema``, or ``content`` as given (a PDF), or no body. With
    ``beside_error``, the body is an :data:`ERROR_OUT` with ``schema``'s fields beside its ``error``."""

    description: str
    schema: Schema | None = None
    content: dict | None = None
    beside_error: bool = False


@dataclass(frozen=True)
class Operation:
    summary: str
    responses: dict[int, Answer]
    request: Schema | None = None
    query: tuple[dict, ...] = ()
    path: dict[str, str] = field(default_factory=dict)
    description: str | None = None


def documented(summary: str, *, responses: dict[int, Answer], request: Schema | None = None,
               query: tuple[dict, ...] = (), path: dict[str, str] | None = None,
               description: str | None = None) -> Callable:
    """Declare an endpoint's operation for the generated document. Put it right under ``@bp.route``: it reads the
    token requirement that token_required or token_optional marked on the view."""
    operation = Operation(summary, responses, request, tuple(query), dict(path or {}), description)

    def mark(view):
        view.openapi = operation
        return view

    return mark


#: every refusal: errors.DomainError.to_json
ERROR_OUT = Schema("Error", {"error": Nested(Schema("ErrorBody", {
    "code": Text(plain=False, required=True), "message": Text(plain=False, required=True),
    "field": Text(plain=False)}), required=True)})


def ok(schema: Schema, description: str = "OK") -> Answer:
    return Answer(description, schema)


def error(description: str) -> Answer:
    return Answer(description, ERROR_OUT)


def query_parameter(name: str, schema: dict, description: str | None = None, *, required: bool = False) -> dict:
    parameter = {"name": name, "in": "query", "schema": schema}
    if required:
        parameter["required"] = True
    if description:
        parameter["description"] = description
    return parameter


PAGE = query_parameter("page", {"type": "integer", "minimum": 1})
ORGANIZATION_CODE = {"code": "The organization's public code."}
ACTIVITY_CODE = {"code": "The activity's public code."}
CERTIFICATE_CODE = {"code": "The certificate's public code (in its verification URL's token)."}

UNAUTHORIZED = error("No token, or an unknown or revoked one (token_required, token_invalid).")
FORBIDDEN = error("The token's account lacks the permission (forbidden).")
NOT_FOUND = error("No such organization (not_found).")
INVALID = error("A rule was broken; `error.code` says which and `error.field` names the input. A name, title or "
                "reason holding a direction control, a control character or nothing visible is refused with "
                "text_bidi_control, text_control_character or text_invisible_only.")
NO_ACTIVITY = error("No such activity, or a draft the caller may not see (not_found).")
NO_CERTIFICATE = error("No such certificate, or one that is neither the caller's nor their organization's "
                       "(not_found).")
REFUSED_SCAN = Answer(
    "Refused. A refused scan is kept and answered with its `scan` (codes: volunteer_unknown, "
    "volunteer_profile_required, organization_suspended, activity_not_open, activity_not_started, activity_ended, "
    "not_signed_up, already_checked_in, not_checked_in, check_out_before_check_in, kiosk_qr_stale, "
    "kiosk_qr_forged); a request that is not a scan at all writes nothing and has no `scan` (event_id_invalid, "
    "direction_invalid, scan_subject_missing, scanned_at_invalid, location_invalid, invalid_json, "
    "invalid_parameter, forbidden, not_found); nor does a known event id that is not the caller's scan (409: "
    "event_id_taken when another account sent it, event_id_reused when this account sent it for another "
    "activity, volunteer or kind of scan), which tells nothing of the first scan.", SCAN_REFUSAL_OUT,
    beside_error=True)
PUBLIC_LOG = "Public, no token: the monitor interface of the Merkle log (docs/LEDGER.md)."


def page_of(name: str, item: Schema) -> Schema:
    """One page of a listing of ``item``."""
    return Schema(name, {"items": ListOf(item), "page": Integer(), "pages": Integer(), "total": Integer()})


INFO = {
    "title": "Volunteer Registry API", "version": "1.0.0",
    "description": "Organizations, volunteers, memberships, activities, check-in scans and the hours ledger. "
                   "Authenticate with `Authorization: Bearer <token>` (tokens: account page, or `flask accounts "
                   "create-token`). Errors: `{\"error\": {\"code\", \"message\"}}`. The Merkle log's monitor "
                   "interface is public: `/ledger/leaves` and the proofs below, and, outside /api/v1, the latest "
                   "signed checkpoint at `/.well-known/volunteer-registry/checkpoint` (a C2SP signed note, "
                   "text/plain), its verifier key at `/.well-known/volunteer-registry/checkpoint-key` and the same "
                   "Ed25519 key as a JWK set at `/.well-known/volunteer-registry/jwks.json` (docs/LEDGER.md)."}

# --- the generator --------------------------------------------------------------------------------------------------

#: schemas that answers hold inline, each also given as a component of its own for clients to name
REFERENCED = (SCAN_OUT, SESSION_OUT)
#: what token_required and token_optional mark on a view, as an operation's security requirement
SECURITY = {"required": [{"bearer": []}], "optional": [{}, {"bearer": []}]}
_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def openapi_path(rule: str) -> str:
    """A Flask rule of the api blueprint as an OpenAPI path: ``/api/v1/organizations/<code>`` →
    ``/organizations/{code}``."""
    return _ARGUMENT.sub(r"{\1}", rule[len(bp.url_prefix):]) or "/"


def _reference(schema: Schema, components: dict, *, beside_error: bool = False) -> dict:
    """A $ref to ``schema``'s component, adding it to ``components`` on first use (``beside_error``: the component
    is an Error with ``schema``'s fields beside it). Two different schemas under one name are a mistake in the
    declarations, not something to document."""
    rendered = json_schema(schema, lambda item: _reference(item, components))
    if beside_error:
        rendered = {"allOf": [_reference(ERROR_OUT, components), rendered]}
    if components.setdefault(schema.name, rendered) != rendered:
        raise ValueError(f"two different schemas are named {schema.name}")
    return {"$ref": f"#/components/schemas/{schema.name}"}


def _operation(rule, view, components: dict) -> dict:
    declared: Operation | None = getattr(view, "openapi", None)
    if declared is None:
        raise LookupError(f"{rule.endpoint} has no @documented declaration")
    out: dict = {"summary": declared.summary}
    if declared.description:
        out["description"] = declared.description
    auth = getattr(view, "api_auth", None)
    if auth is not None:
        out["security"] = SECURITY[auth]
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"},
                   **({"description": declared.path[name]} if name in declared.path else {})}
                  for name in _ARGUMENT.findall(rule.rule)]
    parameters += declared.query
    if parameters:
        out["parameters"] = parameters
    if declared.request is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": _reference(declared.request, components)}}}
    out["responses"] = {}
    for status, answer in sorted(declared.responses.items()):
        response: dict = {"description": answer.description}
        if answer.schema is not None:
            response["content"] = {"application/json": {
                "schema": _reference(answer.schema, components, beside_error=answer.beside_error)}}
        elif answer.content is not None:
            response["content"] = answer.content
        out["responses"][str(status)] = response
    return out


def openapi_document() -> dict:
    """The document of every route of the api blueprint in the running app's url_map, each as its endpoint
    declares it. Raises LookupError for an endpoint without a declaration."""
    components: dict = {}
    for schema in (ERROR_OUT, *REFERENCED):
        _reference(schema, components)
    paths: dict = {}
    prefix = f"{bp.name}."
    for rule in sorted(current_app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if not rule.endpoint.startswith(prefix):
            continue
        view = current_app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(openapi_path(rule.rule), {})[method.lower()] = _operation(rule, view, components)
    return {"openapi": "3.1.0", "info": INFO, "servers": [{"url": bp.url_prefix}],
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                           "schemas": components},
            "paths": paths}

