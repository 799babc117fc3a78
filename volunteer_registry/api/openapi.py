"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json, generated from the app itself.

Every endpoint of the api blueprint declares what it takes and answers with :func:`documented` (placed right under
its ``@bp.route``); :func:`openapi_document` walks the app's url_map, so a route without a declaration cannot be
served undocumented and a declaration cannot outlive its route. Request bodies and answers are the parts' schemas
(``<part>/schemas.py``), the same declarations their forms, services and serializers read; only the answers that
no part declares (statistics, the Merkle log's proofs) are written here as JSON Schema."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app

from ..activities.schemas import CATEGORIES
from ..checkin.schemas import PERSON_OUT, SCAN_OUT, SESSION_OUT
from ..ledger.models import STATES as LEDGER_STATES
from ..schema import Integer, ListOf, Schema, json_schema
from . import bp

# --- what endpoints declare -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One documented response: a JSON body of ``schema`` (a Schema, or a component named here), or ``content``
    as given (a PDF), or no body."""

    description: str
    schema: Schema | str | None = None
    content: dict | None = None


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


def ok(schema: Schema | str, description: str = "OK") -> Answer:
    return Answer(description, schema)


def error(description: str) -> Answer:
    return Answer(description, "Error")


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
    "activity, volunteer or kind of scan), which tells nothing of the first scan.", "ScanRefusal")
PUBLIC_LOG = "Public, no token: the monitor interface of the Merkle log (docs/LEDGER.md)."


def page_of(name: str, item: Schema) -> Schema:
    """One page of a listing of ``item``."""
    return Schema(name, {"items": ListOf(item), "page": Integer(), "pages": Integer(), "total": Integer()})


# --- answers no part declares ---------------------------------------------------------------------------------------

HEX_HASH = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
_COUNT = {"type": "integer", "minimum": 0}
_HOURS = {"type": "number"}
_MONTH = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$", "description": "YYYY-MM, Beijing time"}


def _minutes(description: str) -> dict:
    return {"type": "integer", "minimum": 0, "description": description + " (approved minutes; `hours` beside it "
            "has the same in hours with one decimal)."}


def _object(properties: dict, **more) -> dict:
    return {"type": "object", **more, "properties": properties}


_PERSON = {**json_schema(PERSON_OUT), "type": ["object", "null"]}
_SESSION = json_schema(SESSION_OUT)
_SESSION_WITH_PERSON = {**_SESSION, "properties": {**_SESSION["properties"], "volunteer": _PERSON}}
_HOURS_PART = _object({"minutes": {"type": "integer"}, "hours": _HOURS})
_REGION = _object({"code": {"type": "string", "description": "GB/T 2260 division code"},
                   "organizations": _COUNT, "organizations_pending": _COUNT, "volunteers": _COUNT,
                   "minutes": _minutes("Served with the region's organizations"), "hours": _HOURS})

COMPONENTS: dict[str, dict] = {
    "Error": _object({"error": _object({"code": {"type": "string"}, "message": {"type": "string"},
                                        "field": {"type": "string"}}, required=["code", "message"])},
                     required=["error"]),
    "ScanResult": _object({
        "replayed": {"type": "boolean"}, "scan": {"$ref": "#/components/schemas/Scan"},
        "session": {"$ref": "#/components/schemas/Session"}, "volunteer": _PERSON,
        "entry": {"type": ["object", "null"], "description": "The ledger entry a check-out became.",
                  "properties": {"id": {"type": "integer"}, "minutes": {"type": "integer"},
                                 "status": {"type": "string", "enum": list(LEDGER_STATES)}}}},
        required=["replayed", "scan", "session", "volunteer"]),
    "ScanRefusal": {"allOf": [{"$ref": "#/components/schemas/Error"}, _object({
        "replayed": {"type": "boolean", "description": "A retry of a refused scan gets the same refusal."},
        "scan": {"$ref": "#/components/schemas/Scan"}, "volunteer": _PERSON})]},
    "Attendance": _object({
        "activity": {"type": "string"},
        "present": {"type": "array", "items": _SESSION_WITH_PERSON},
        "closed": {"type": "array", "items": _SESSION_WITH_PERSON},
        "volunteers": {"type": "array", "items": _object({
            "volunteer_number": {"type": "string"}, "name": {"type": "string"},
            "minutes": {"type": "integer", "description": "The union of the volunteer's closed sessions."}})}}),
    "EntryDecisionResult": _object({"decision": {"type": "string"}, "entries": {"type": "array", "items": _object({
        "id": {"type": "integer", "description": "The service entry."},
        "decides": {"type": "string", "enum": ["entry", "correction"],
                    "description": "What was decided: the entry itself, or the correction waiting on it."},
        "status": {"type": "string"},
        "decision_entry": {"type": "integer", "description": "The approval or rejection entry."}})}}),
    "Hours": _object({
        "volunteer_number": {"type": "string"}, "approved_minutes": {"type": "integer"}, "approved_hours": _HOURS,
        "pending_minutes": {"type": ["integer", "null"]}, "stars": {"type": "integer", "minimum": 0, "maximum": 5},
        "next_star_hours": {"type": ["integer", "null"]},
        "by_organization": {"type": "array", "items": {**_HOURS_PART, "properties": {
            **_HOURS_PART["properties"], "organization": {"type": "string"}, "name": {"type": "string"}}}},
        "by_year": {"type": ["array", "null"], "items": {**_HOURS_PART, "properties": {
            **_HOURS_PART["properties"], "year": {"type": "integer"}}}}}),
    "LeafPage": _object({"tree_size": {"type": "integer"}, "start": {"type": "integer"}, "end": {"type": "integer"},
                         "leaves": {"type": "array", "items": _object({"index": {"type": "integer"},
                                                                       "leaf_hash": HEX_HASH})}}),
    "InclusionProof": _object({"index": {"type": "integer"}, "tree_size": {"type": "integer"}, "leaf_hash": HEX_HASH,
                               "audit_path": {"type": "array", "items": HEX_HASH}}),
    "ConsistencyProof": _object({"first": {"type": "integer"}, "second": {"type": "integer"},
                                 "consistency": {"type": "array", "items": HEX_HASH}}),
    "OrganizationStats": _object({
        "organization": {"type": "string", "description": "Its code."},
        "members": {**_COUNT, "description": "Active members."},
        "active_volunteers": {**_COUNT, "description": "Volunteers with approved service in the last 365 days."},
        "minutes_this_month": _minutes("This calendar month"), "hours_this_month": _HOURS,
        "minutes_this_year": _minutes("This calendar year"), "hours_this_year": _HOURS,
        "minutes_total": _minutes("In all"), "hours_total": _HOURS,
        "by_month": {"type": "array", "description": "The last 12 months, oldest first, every month present.",
                     "items": _object({"month": _MONTH, "minutes": _COUNT, "hours": _HOURS})},
        "by_category": {"type": "array", "items": _object({
            "category": {"type": "string", "enum": list(CATEGORIES)}, "minutes": _COUNT, "hours": _HOURS})},
        "top_activities": {"type": "array", "maxItems": 5, "items": _object({
            "code": {"type": "string"}, "title": {"type": "string"}, "minutes": _COUNT, "hours": _HOURS,
            "volunteers": _COUNT})},
        "pending_entries": _COUNT, "pending_corrections": _COUNT, "pending_certificate_requests": _COUNT,
        "attendance": _object({"signed_up": _COUNT, "attended": _COUNT, "no_shows": _COUNT, "late": _COUNT},
                              description="Activities that ended in the last 365 days."),
        "certificates": _object({"valid": _COUNT, "revoked": _COUNT, "superseded": _COUNT})},
        required=["organization", "members", "minutes_total"]),
    "PlatformStats": _object({
        "organizations": {**_COUNT, "description": "Approved organizations."},
        "organizations_pending": {**_COUNT, "description": "Waiting for review."},
        "volunteers": _COUNT, "minutes": _minutes("In all"), "hours": _HOURS,
        "by_prefecture": {"type": "array", "items": _REGION}, "by_county": {"type": "array", "items": _REGION},
        "growth": {"type": "array", "description": "The last 12 months, oldest first.", "items": _object({
            "month": _MONTH, "organizations": {**_COUNT, "description": "Approved in the month."},
            "volunteers": {**_COUNT, "description": "Registered in the month."}, "minutes": _COUNT,
            "hours": _HOURS})}},
        required=["organizations", "volunteers", "minutes"]),
    "Me": _object({"email": {"type": ["string", "null"]}, "phone": {"type": ["string", "null"]},
                   "is_platform_admin": {"type": "boolean"}, "volunteer_number": {"type": ["string", "null"]}}),
}

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

#: the parts' schemas that the answers written here refer to
REFERENCED = (SCAN_OUT, SESSION_OUT)
#: what token_required and token_optional mark on a view, as an operation's security requirement
SECURITY = {"required": [{"bearer": []}], "optional": [{}, {"bearer": []}]}
_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def openapi_path(rule: str) -> str:
    """A Flask rule of the api blueprint as an OpenAPI path: ``/api/v1/organizations/<code>`` →
    ``/organizations/{code}``."""
    return _ARGUMENT.sub(r"{\1}", rule[len(bp.url_prefix):]) or "/"


def _reference(schema: Schema | str, components: dict) -> dict:
    """A $ref to ``schema``'s component, adding it to ``components`` on first use. Two different schemas under
    one name are a mistake in the declarations, not something to document."""
    if isinstance(schema, str):
        if schema not in COMPONENTS:
            raise LookupError(f"no component named {schema}")
        components[schema] = COMPONENTS[schema]
        return {"$ref": f"#/components/schemas/{schema}"}
    rendered = json_schema(schema, lambda item: _reference(item, components))
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
            response["content"] = {"application/json": {"schema": _reference(answer.schema, components)}}
        elif answer.content is not None:
            response["content"] = answer.content
        out["responses"][str(status)] = response
    return out


def openapi_document() -> dict:
    """The document of every route of the api blueprint in the running app's url_map, each as its endpoint
    declares it. Raises LookupError for an endpoint without a declaration."""
    components: dict = {"Error": COMPONENTS["Error"]}
    for schema in REFERENCED:
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

