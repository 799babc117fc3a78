"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json."""
from __future__ import annotations

from ..activities.models import ACTIVITY_STATUSES, CATEGORIES, SIGNUP_MODES, SIGNUP_STATUSES
from ..checkin.models import FLAGS, SCAN_METHODS
from ..ledger.models import SOURCES
from ..ledger.models import STATES as LEDGER_STATES
from ..organizations.models import JOIN_MODES, MEMBERSHIP_STATUSES, ORG_TYPES


def _error(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(schema_ref: str, description: str = "OK") -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}}


def _body(schema_ref: str) -> dict:
    return {"required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}}


CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"},
        "description": "The organization's public code."}
PAGE = {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}}
SECURED = [{"bearer": []}]
UNAUTHORIZED = _error("No token, or an unknown or revoked one (token_required, token_invalid).")
FORBIDDEN = _error("The token's account lacks the permission (forbidden).")
NOT_FOUND = _error("No such organization (not_found).")
INVALID = _error("A rule was broken; `error.code` says which and `error.field` names the input. A name, title or "
                 "reason holding a direction control, a control character or nothing visible is refused with "
                 "text_bidi_control, text_control_character or text_invisible_only.")
ACTIVITY_CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"},
                 "description": "The activity's public code."}
NO_ACTIVITY = _error("No such activity, or a draft the caller may not see (not_found).")
REFUSED_SCAN = {"description": "Refused. A refused scan is kept and answered with its `scan` (codes: "
                "volunteer_unknown, volunteer_profile_required, organization_suspended, activity_not_open, "
                "activity_not_started, activity_ended, not_signed_up, already_checked_in, not_checked_in, "
                "check_out_before_check_in, kiosk_qr_stale, kiosk_qr_forged); a request that is not a scan at all "
                "writes nothing and has no `scan` (event_id_invalid, direction_invalid, scan_subject_missing, "
                "scanned_at_invalid, location_invalid, invalid_json, invalid_parameter, forbidden, not_found); "
                "nor does a known event id that is not the caller's scan (409: event_id_taken when another "
                "account sent it, event_id_reused when this account sent it for another activity, volunteer or "
                "kind of scan), which tells nothing of the first scan.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ScanRefusal"}}}}


def _datetime(nullable: bool = False) -> dict:
    return {"type": ["string", "null"] if nullable else "string", "format": "date-time"}


def _activity_properties() -> dict:
    return {
        "title": {"type": "string", "maxLength": 120}, "description": {"type": "string", "maxLength": 4000},
        "category": {"type": "string", "enum": list(CATEGORIES)},
        "recipient": {"type": "string", "maxLength": 120, "description": "The service recipient."},
        "region_code": {"type": "string", "description": "GB/T 2260 division code (Qinghai)"},
        "address": {"type": "string", "maxLength": 200},
        "latitude": {"type": ["number", "null"], "minimum": -90, "maximum": 90},
        "longitude": {"type": ["number", "null"], "minimum": -180, "maximum": 180},
        "radius_m": {"type": ["integer", "null"], "minimum": 10, "maximum": 50000,
                     "description": "Scans farther than this from the place are flagged (needs coordinates)."},
        "starts_at": {**_datetime(), "description": "ISO 8601; without an offset, Beijing time."},
        "ends_at": {**_datetime(), "description": "After starts_at, at most 31 days later."},
        "capacity": {"type": ["integer", "null"], "minimum": 1, "maximum": 100000},
        "is_recruiting": {"type": "boolean"}, "allows_walk_ins": {"type": "boolean"},
        "grace_minutes": {"type": "integer", "minimum": 0, "maximum": 720,
                          "description": "Scans are accepted this long before the start and after the end."},
        "signup_mode": {"type": "string", "enum": list(SIGNUP_MODES)},
        "person_in_charge": {"type": "string", "maxLength": 60},
        "risk_disclosure": {"type": "string", "maxLength": 4000},
        "requires_training": {"type": "boolean"}, "requires_insurance": {"type": "boolean"},
    }


def _checkin_schemas() -> dict:
    flag = {"type": "string", "enum": list(FLAGS)}
    person = {"type": ["object", "null"], "properties": {"volunteer_number": {"type": "string"},
                                                         "name": {"type": "string"}}}
    session = {"type": "object", "required": ["id", "checked_in_at", "checked_out_at", "flags", "minutes"],
               "properties": {"id": {"type": "integer"}, "checked_in_at": _datetime(),
                              "checked_out_at": _datetime(nullable=True), "flags": {"type": "array", "items": flag},
                              "minutes": {"type": ["integer", "null"],
                                          "description": "Whole minutes of this session once it is closed."}}}
    scan = {"type": "object", "required": ["event_id", "accepted", "result", "flags", "scanned_at"], "properties": {
        "event_id": {"type": "string"}, "accepted": {"type": "boolean"},
        "result": {"type": ["string", "null"], "enum": ["in", "out", None]},
        "refusal_code": {"type": ["string", "null"]}, "method": {"type": "string", "enum": list(SCAN_METHODS)},
        "direction": {"type": "string", "enum": ["in", "out", "auto"]},
        "flags": {"type": "array", "items": flag}, "scanned_at": _datetime()}}
    return {
        "ActivityInput": {"type": "object", "required": [
            "organization", "title", "category", "recipient", "region_code", "address", "starts_at", "ends_at",
            "person_in_charge"], "properties": {
            "organization": {"type": "string", "description": "The organization's public code."},
            **_activity_properties(),
            "publish": {"type": "boolean", "description": "Publish at once (default: a draft)."}}},
        "Activity": {"type": "object", "required": ["code", "organization", "status", "starts_at", "ends_at"],
                     "properties": {"code": {"type": "string"}, "organization": {"type": "string"},
                                    "status": {"type": "string", "enum": list(ACTIVITY_STATUSES)},
                                    **_activity_properties(), "created_at": _datetime()}},
        "Signup": {"type": "object", "required": ["activity", "volunteer_number", "status"], "properties": {
            "activity": {"type": "string"}, "volunteer_number": {"type": "string"},
            "status": {"type": "string", "enum": list(SIGNUP_STATUSES)}}},
        "ScanRequest": {"type": "object", "required": ["event_id", "activity"], "properties": {
            "event_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$",
                         "description": "Made by the device (a random UUID); a retry of the same scan with the "
                         "same id returns the first result, to the account that sent it only (others: "
                         "event_id_taken)."},
            "activity": {"type": "string", "description": "The activity's public code."},
            "volunteer_number": {"type": "string", "description": "A card scan or a typed number (coordinators and "
                                 "org admins of the activity's organization). Give this or kiosk_token."},
            "kiosk_token": {"type": "string", "description": "The token of the kiosk QR, scanned by the volunteer "
                            "themself."},
            "direction": {"type": "string", "enum": ["in", "out", "auto"], "default": "auto"},
            "scanned_at": {**_datetime(), "description": "When the device scanned (ISO 8601)."},
            "location": {"type": "object", "required": ["latitude", "longitude"], "properties": {
                "latitude": {"type": "number", "minimum": -90, "maximum": 90},
                "longitude": {"type": "number", "minimum": -180, "maximum": 180}}},
            "offline": {"type": "boolean", "description": "Sent from the device's offline queue: the original "
                        "scanned_at is kept and the session flagged."}}},
        "Scan": scan,
        "Session": session,
        "ScanResult": {"type": "object", "required": ["replayed", "scan", "session", "volunteer"], "properties": {
            "replayed": {"type": "boolean"}, "scan": scan, "session": session, "volunteer": person,
            "entry": {"type": ["object", "null"], "description": "The ledger entry a check-out became.",
                      "properties": {"id": {"type": "integer"}, "minutes": {"type": "integer"},
                                     "status": {"type": "string", "enum": list(LEDGER_STATES)}}}}},
        "ScanRefusal": {"allOf": [{"$ref": "#/components/schemas/Error"}, {"type": "object", "properties": {
            "replayed": {"type": "boolean", "description": "A retry of a refused scan gets the same refusal."},
            "scan": scan, "volunteer": person}}]},
        "Attendance": {"type": "object", "properties": {
            "activity": {"type": "string"},
            "present": {"type": "array", "items": {**session, "properties": {**session["properties"],
                                                                             "volunteer": person}}},
            "closed": {"type": "array", "items": {**session, "properties": {**session["properties"],
                                                                            "volunteer": person}}},
            "volunteers": {"type": "array", "items": {"type": "object", "properties": {
                "volunteer_number": {"type": "string"}, "name": {"type": "string"},
                "minutes": {"type": "integer", "description": "The union of the volunteer's closed sessions."}}}}}},
    }


def _checkin_paths() -> dict:
    return {
        "/activities": {"post": {
            "summary": "Create an activity (coordinators and org admins of the organization); a draft unless "
                       "`publish` is true", "security": SECURED, "requestBody": _body("ActivityInput"),
            "responses": {"201": _json("Activity", "Created"), "400": INVALID, "401": UNAUTHORIZED,
                          "403": FORBIDDEN, "404": NOT_FOUND, "422": INVALID}}},
        "/activities/{code}": {"get": {
            "summary": "One activity (drafts only for the organization's staff)", "security": [{}, {"bearer": []}],
            "parameters": [ACTIVITY_CODE],
            "responses": {"200": _json("Activity"), "401": UNAUTHORIZED, "404": NO_ACTIVITY}}},
        "/activities/{code}/signups": {"post": {
            "summary": "The caller signs up (accepted, pending a coordinator, or waitlisted when full)",
            "security": SECURED, "parameters": [ACTIVITY_CODE],
            "responses": {"201": _json("Signup", "Signed up"), "401": UNAUTHORIZED, "404": NO_ACTIVITY,
                          "409": INVALID, "422": INVALID}}},
        "/activities/{code}/attendance": {"get": {
            "summary": "Who is present now, and the closed sessions with minutes (coordinators and org admins)",
            "security": SECURED, "parameters": [ACTIVITY_CODE],
            "responses": {"200": _json("Attendance"), "401": UNAUTHORIZED, "403": FORBIDDEN,
                          "404": NO_ACTIVITY}}},
        "/scans": {"post": {
            "summary": "Record a check-in or check-out scan; a retried event id returns the first result to "
                       "its sender",
            "security": SECURED, "requestBody": _body("ScanRequest"),
            "responses": {"201": _json("ScanResult", "Recorded"),
                          "200": _json("ScanResult", "A retry of a recorded scan (replayed: true)"),
                          "400": REFUSED_SCAN, "401": UNAUTHORIZED, "403": REFUSED_SCAN, "404": REFUSED_SCAN,
                          "409": REFUSED_SCAN, "422": REFUSED_SCAN}}},
    }


def openapi_document() -> dict:
    org_properties = {
        "name": {"type": "string", "maxLength": 120},
        "org_type": {"type": "string", "enum": list(ORG_TYPES)},
        "credit_code": {"type": ["string", "null"], "description": "GB 32100, 18 characters; optional only for "
                        "community_team"},
        "region_code": {"type": "string", "description": "GB/T 2260 division code (Qinghai)"},
        "address": {"type": "string", "maxLength": 200},
        "person_in_charge": {"type": "string", "maxLength": 60},
        "contact_phone": {"type": "string"},
        "contact_email": {"type": "string", "format": "email"},
        "description": {"type": "string"},
        "join_mode": {"type": "string", "enum": list(JOIN_MODES)},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Volunteer Registry API", "version": "1.0.0",
                 "description": "Organizations, volunteers, memberships, activities, check-in scans and the hours "
                                "ledger. Authenticate with `Authorization: Bearer <token>` (tokens: account page, "
                                "or `flask accounts create-token`). Errors: `{\"error\": {\"code\", "
                                "\"message\"}}`. The Merkle log's monitor interface is public: `/ledger/leaves` and "
                                "the proofs below, and, outside /api/v1, the latest signed checkpoint at "
                                "`/.well-known/volunteer-registry/checkpoint` (a C2SP signed note, text/plain), its "
                                "verifier key at `/.well-known/volunteer-registry/checkpoint-key` and the same "
                                "Ed25519 key as a JWK set at `/.well-known/volunteer-registry/jwks.json` "
                                "(docs/LEDGER.md)."},
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                   "field": {"type": "string"}}}}},
                "OrganizationApplication": {"type": "object", "properties": org_properties,
                                            "required": ["name", "org_type", "region_code", "address",
                                                         "person_in_charge", "contact_phone", "contact_email"]},
                "Organization": {"type": "object", "required": ["code", "status", "name"], "properties": {
                    "code": {"type": "string"}, "status": {"type": "string",
                                                           "enum": ["pending", "approved", "rejected", "suspended"]},
                    "type": {"type": "string"}, **{k: v for k, v in org_properties.items() if k != "org_type"},
                    "region_name": {"type": ["string", "null"]}, "url": {"type": "string"},
                    "status_reason": {"type": ["string", "null"]},
                    "status_history": {"type": "array", "items": {"type": "object"}}}},
                "OrganizationPage": {"type": "object", "properties": {
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Organization"}},
                    "page": {"type": "integer"}, "pages": {"type": "integer"}, "total": {"type": "integer"}}},
                "Decision": {"type": "object", "required": ["decision"], "properties": {
                    "decision": {"type": "string", "enum": ["approve", "reject", "suspend", "reinstate"]},
                    "reason": {"type": "string", "description": "Required to reject or suspend."}}},
                "VolunteerProfile": {"type": "object", "required": [
                    "name", "gender", "birth_date", "id_number", "phone", "region_code", "consent"], "properties": {
                    "name": {"type": "string", "maxLength": 60}, "gender": {"type": "string",
                                                                            "enum": ["male", "female"]},
                    "birth_date": {"type": "string", "format": "date"},
                    "id_type": {"type": "string", "enum": ["resident_id", "passport", "hk_macao_permit",
                                                           "taiwan_permit", "foreign_permanent_residence"]},
                    "id_number": {"type": "string", "description": "Checked (GB 11643 for resident IDs); may be "
                                  "omitted on update to keep the stored one."},
                    "phone": {"type": "string"}, "email": {"type": ["string", "null"]},
                    "region_code": {"type": "string"}, "skills": {"type": "string"},
                    "consent": {"type": "boolean", "description": "Consent to the record-keeping; must be true."},
                    "guardian_name": {"type": "string", "description": "Required under 14."},
                    "guardian_consent": {"type": "boolean", "description": "Required under 14."}}},
                "Volunteer": {"type": "object", "required": ["volunteer_number", "id_number_masked"], "properties": {
                    "volunteer_number": {"type": "string"}, "name": {"type": "string"},
                    "gender": {"type": "string"}, "birth_date": {"type": "string", "format": "date"},
                    "id_type": {"type": "string"}, "id_number_masked": {"type": "string"},
                    "phone": {"type": "string"}, "email": {"type": ["string", "null"]},
                    "region_code": {"type": "string"}, "skills": {"type": "string"},
                    "consent_at": {"type": "string", "format": "date-time"},
                    "guardian_name": {"type": ["string", "null"]}}},
                "Membership": {"type": "object", "properties": {
                    "organization": {"type": "string"},
                    "volunteer_number": {"type": ["string", "null"],
                                         "description": "null while the person is invited (or declined it)"},
                    "name": {"type": "string"},
                    "id_number_masked": {"type": ["string", "null"],
                                         "description": "null while the person is invited (or declined it)"},
                    "status": {"type": "string", "enum": list(MEMBERSHIP_STATUSES)},
                    "applied_at": {"type": "string", "format": "date-time"}}},
                "MembershipPage": {"type": "object", "properties": {
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Membership"}},
                    "page": {"type": "integer"}, "pages": {"type": "integer"}, "total": {"type": "integer"}}},
                "MembershipDecision": {"type": "object", "required": ["decision"], "properties": {
                    "decision": {"type": "string", "enum": ["approve", "decline"]}}},
                **_checkin_schemas(),
                **_ledger_schemas(),
                **_certificate_schemas(),
                **_stats_schemas(),
                "Me": {"type": "object", "properties": {
                    "email": {"type": ["string", "null"]}, "phone": {"type": ["string", "null"]},
                    "is_platform_admin": {"type": "boolean"}, "volunteer_number": {"type": ["string", "null"]}}},
            },
        },
        "paths": {
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OK"}}}},
            "/me": {"get": {"summary": "The token's account", "security": SECURED,
                            "responses": {"200": _json("Me"), "401": UNAUTHORIZED}}},
            "/organizations": {
                "get": {"summary": "Directory of approved organizations",
                        "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}},
                                       {"name": "region", "in": "query", "schema": {"type": "string"}}, PAGE],
                        "responses": {"200": _json("OrganizationPage"), "400": INVALID}},
                "post": {"summary": "Apply to register an organization (the caller becomes its org admin)",
                         "security": SECURED, "requestBody": _body("OrganizationApplication"),
                         "responses": {"201": _json("Organization", "Created, pending approval"),
                                       "400": INVALID, "401": UNAUTHORIZED, "409": INVALID, "422": INVALID}},
            },
            "/organizations/{code}": {"get": {
                "summary": "One organization (unapproved ones only for their staff and platform admins)",
                "security": [{}, {"bearer": []}],
                "parameters": [CODE], "responses": {"200": _json("Organization"), "401": UNAUTHORIZED,
                                                    "404": NOT_FOUND}}},
            "/organizations/{code}/decision": {"post": {
                "summary": "Approve, reject, suspend or reinstate (platform admins)", "security": SECURED,
                "parameters": [CODE], "requestBody": _body("Decision"),
                "responses": {"200": _json("Organization"), "400": INVALID, "401": UNAUTHORIZED,
                              "403": FORBIDDEN, "404": NOT_FOUND, "409": INVALID, "422": INVALID}}},
            "/me/volunteer": {
                "get": {"summary": "The caller's volunteer profile", "security": SECURED,
                        "responses": {"200": _json("Volunteer"), "401": UNAUTHORIZED, "404": NOT_FOUND}},
                "put": {"summary": "Create or update the caller's volunteer profile", "security": SECURED,
                        "requestBody": _body("VolunteerProfile"),
                        "responses": {"200": _json("Volunteer"), "201": _json("Volunteer", "Created"),
                                      "400": INVALID, "401": UNAUTHORIZED, "409": INVALID, "422": INVALID}},
            },
            "/organizations/{code}/members": {
                "post": {"summary": "The caller applies to join", "security": SECURED, "parameters": [CODE],
                         "responses": {"201": _json("Membership", "Requested (pending) or joined (active)"),
                                       "401": UNAUTHORIZED, "403": FORBIDDEN, "404": NOT_FOUND,
                                       "409": INVALID, "422": INVALID}},
                "get": {"summary": "Members (coordinators and org admins)", "security": SECURED,
                        "parameters": [CODE, PAGE, {"name": "status", "in": "query", "schema": {
                            "type": "string", "enum": list(MEMBERSHIP_STATUSES)}}],
                        "responses": {"200": _json("MembershipPage"), "400": INVALID, "401": UNAUTHORIZED,
                                      "403": FORBIDDEN, "404": NOT_FOUND}},
            },
            "/organizations/{code}/members/{volunteer_number}/decision": {"post": {
                "summary": "Approve or decline a request to join (coordinators and org admins)",
                "security": SECURED,
                "parameters": [CODE, {"name": "volunteer_number", "in": "path", "required": True,
                                      "schema": {"type": "string"}}],
                "requestBody": _body("MembershipDecision"),
                "responses": {"200": _json("Membership"), "400": INVALID, "401": UNAUTHORIZED,
                              "403": FORBIDDEN, "404": NOT_FOUND, "409": INVALID}}},
            **_checkin_paths(),
            **_ledger_paths(),
            **_certificate_paths(),
            **_stats_paths(),
        },
    }


HEX_HASH = {"type": "string", "pattern": "^[0-9a-f]{64}$"}


def _int_query(name: str, description: str) -> dict:
    return {"name": name, "in": "query", "required": True, "schema": {"type": "integer", "minimum": 0},
            "description": description}


def _ledger_schemas() -> dict:
    hours = {"type": "object", "properties": {"minutes": {"type": "integer"}, "hours": {"type": "number"}}}
    return {
        "LedgerEntry": {"type": "object", "required": ["id", "status", "minutes", "flags"], "properties": {
            "id": {"type": "integer"}, "status": {"type": "string", "enum": list(LEDGER_STATES)},
            "minutes": {"type": "integer", "description": "The minutes that count (after any correction)."},
            "recorded_minutes": {"type": "integer"}, "flags": {"type": "array", "items": {"type": "string"}},
            "flagged": {"type": "boolean"}, "source": {"type": ["string", "null"], "enum": [*SOURCES, None]},
            "volunteer": {"type": "object", "properties": {"volunteer_number": {"type": "string"},
                                                           "name": {"type": "string"}}},
            "activity": {"type": ["string", "null"]}, "activity_title": {"type": ["string", "null"]},
            "service_date": {"type": ["string", "null"], "format": "date"},
            "started_at": _datetime(nullable=True), "ended_at": _datetime(nullable=True),
            "place": {"type": ["string", "null"]}, "recipient": {"type": ["string", "null"]},
            "content": {"type": ["string", "null"]}, "person_in_charge": {"type": ["string", "null"]},
            "recorded_at": _datetime()}},
        "LedgerEntryPage": {"type": "object", "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/LedgerEntry"}},
            "page": {"type": "integer"}, "pages": {"type": "integer"}, "total": {"type": "integer"}}},
        "EntryDecisions": {"type": "object", "required": ["entries", "decision"], "properties": {
            "entries": {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 500},
            "decision": {"type": "string", "enum": ["approve", "reject"]},
            "reason": {"type": "string", "description": "Required to reject."}}},
        "EntryDecisionResult": {"type": "object", "properties": {
            "decision": {"type": "string"}, "entries": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "integer", "description": "The service entry."},
                "decides": {"type": "string", "enum": ["entry", "correction"],
                            "description": "What was decided: the entry itself, or the correction waiting on it."},
                "status": {"type": "string"},
                "decision_entry": {"type": "integer", "description": "The approval or rejection entry."}}}}}},
        "Hours": {"type": "object", "properties": {
            "volunteer_number": {"type": "string"}, "approved_minutes": {"type": "integer"},
            "approved_hours": {"type": "number"}, "pending_minutes": {"type": ["integer", "null"]},
            "stars": {"type": "integer", "minimum": 0, "maximum": 5},
            "next_star_hours": {"type": ["integer", "null"]},
            "by_organization": {"type": "array", "items": {**hours, "properties": {
                **hours["properties"], "organization": {"type": "string"}, "name": {"type": "string"}}}},
            "by_year": {"type": ["array", "null"], "items": {**hours, "properties": {
                **hours["properties"], "year": {"type": "integer"}}}}}},
        "LeafPage": {"type": "object", "properties": {
            "tree_size": {"type": "integer"}, "start": {"type": "integer"}, "end": {"type": "integer"},
            "leaves": {"type": "array", "items": {"type": "object", "properties": {
                "index": {"type": "integer"}, "leaf_hash": HEX_HASH}}}}},
        "InclusionProof": {"type": "object", "properties": {
            "index": {"type": "integer"}, "tree_size": {"type": "integer"}, "leaf_hash": HEX_HASH,
            "audit_path": {"type": "array", "items": HEX_HASH}}},
        "ConsistencyProof": {"type": "object", "properties": {
            "first": {"type": "integer"}, "second": {"type": "integer"},
            "consistency": {"type": "array", "items": HEX_HASH}}},
    }


def _ledger_paths() -> dict:
    public_log = "Public, no token: the monitor interface of the Merkle log (docs/LEDGER.md)."
    return {
        "/organizations/{code}/entries": {"get": {
            "summary": "The organization's service entries by status, flagged first (coordinators and org admins)",
            "security": SECURED,
            "parameters": [CODE, PAGE, {"name": "status", "in": "query", "schema": {
                "type": "string", "enum": list(LEDGER_STATES), "default": "pending"}}],
            "responses": {"200": _json("LedgerEntryPage"), "400": INVALID, "401": UNAUTHORIZED,
                          "403": FORBIDDEN, "404": NOT_FOUND}}},
        "/entries/decisions": {"post": {
            "summary": "Approve or reject pending service entries of one organization, all or none",
            "security": SECURED, "requestBody": _body("EntryDecisions"),
            "responses": {"200": _json("EntryDecisionResult"), "400": INVALID, "401": UNAUTHORIZED,
                          "403": _error("A manual entry approved by the person who entered it (self_approval)."),
                          "404": _error("An entry that is not among the caller's organizations' (not_found)."),
                          "409": _error("An entry was already decided (entry_not_pending); nothing was written."),
                          "422": INVALID}}},
        "/volunteers/{number}/hours": {"get": {
            "summary": "Approved hours and star level: all of it for the volunteer; the totals and their own part "
                       "for the organizations that recorded the service", "security": SECURED,
            "parameters": [{"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _json("Hours"), "401": UNAUTHORIZED,
                          "404": _error("No such volunteer, or none the caller may see (not_found).")}}},
        "/ledger/leaves": {"get": {
            "summary": "Leaf hashes of the signed tree, at most 1000 a call", "description": public_log,
            "parameters": [_int_query("start", "First leaf index."),
                           _int_query("end", "One past the last leaf index (clamped to start + 1000 and the size).")],
            "responses": {"200": _json("LeafPage"), "400": INVALID}}},
        "/ledger/proof/inclusion": {"get": {
            "summary": "Audit path of leaf `index` in the tree of `tree_size` leaves (RFC 9162 §2.1.3)",
            "description": public_log,
            "parameters": [_int_query("index", "The leaf index."),
                           _int_query("tree_size", "A tree size up to the latest signed checkpoint's.")],
            "responses": {"200": _json("InclusionProof"), "400": INVALID}}},
        "/ledger/proof/consistency": {"get": {
            "summary": "Consistency proof between trees of `first` and `second` leaves (RFC 9162 §2.1.4)",
            "description": public_log,
            "parameters": [_int_query("first", "The older tree size (at least 1)."),
                           _int_query("second", "The newer tree size, up to the latest signed checkpoint's.")],
            "responses": {"200": _json("ConsistencyProof"), "400": INVALID}}},
    }


CERTIFICATE_CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"},
                    "description": "The certificate's public code (in its verification URL's token)."}
NO_CERTIFICATE = _error("No such certificate, or one that is neither the caller's nor their organization's "
                        "(not_found).")


def _certificate_schemas() -> dict:
    date = {"type": "string", "format": "date"}
    return {
        "CertificateRequest": {"type": "object",
                               "required": ["volunteer_number", "organization", "period_start", "period_end"],
                               "properties": {"volunteer_number": {"type": "string"},
                                              "organization": {"type": "string", "description": "Its code."},
                                              "period_start": date, "period_end": date}},
        "Revocation": {"type": "object", "required": ["reason"], "properties": {
            "reason": {"type": "string", "maxLength": 500, "description": "Shown to whoever verifies it."}}},
        "Certificate": {"type": "object", "required": ["code", "number", "status", "verify_url", "pdf_url"],
                        "properties": {
            "code": {"type": "string"}, "number": {"type": "string"},
            "status": {"type": "string", "enum": ["valid", "revoked", "superseded"]},
            "organization": {"type": "string"}, "volunteer_number": {"type": "string"},
            "period_start": date, "period_end": date, "minutes": {"type": "integer"}, "hours": {"type": "number"},
            "issued_on": date, "issued_at": _datetime(),
            "content": {"type": "object", "description": "What the certificate says, as printed."},
            "revocation": {"type": ["object", "null"]}, "supersedes": {"type": ["string", "null"]},
            "verify_url": {"type": "string", "description": "The URL its QR code holds (uppercase, base32 token)."},
            "pdf_url": {"type": "string"}}},
    }


def _certificate_paths() -> dict:
    return {
        "/certificates": {"post": {
            "summary": "Issue a certificate of the approved service the organization recorded for the volunteer in "
                       "the period (org admins); the PDF is rendered and signed at once", "security": SECURED,
            "requestBody": _body("CertificateRequest"),
            "responses": {"201": _json("Certificate", "Issued"), "400": INVALID, "401": UNAUTHORIZED,
                          "403": _error("Not an org admin of the organization (forbidden), or the volunteer is "
                                        "the caller (conflict_of_interest: nobody certifies their own service)."),
                          "404": _error("No such organization or volunteer (not_found, volunteer_unknown)."),
                          "422": _error("Nothing to certify in the period (no_approved_service), a valid "
                                        "certificate of exactly this period exists (already_issued) or of a period "
                                        "that overlaps it (certificate_overlaps, naming it), the caller has no "
                                        "real name to print as the handler (handler_name_required), or a bad "
                                        "period (period_invalid).")}}},
        "/certificates/{code}": {"get": {
            "summary": "A certificate, in full (its volunteer, and its organization's staff)", "security": SECURED,
            "parameters": [CERTIFICATE_CODE],
            "responses": {"200": _json("Certificate"), "401": UNAUTHORIZED, "404": NO_CERTIFICATE}}},
        "/certificates/{code}/pdf": {"get": {
            "summary": "The signed PDF (its volunteer, and its organization's staff)", "security": SECURED,
            "parameters": [CERTIFICATE_CODE],
            "responses": {"200": {"description": "The PDF", "content": {"application/pdf": {
                              "schema": {"type": "string", "contentMediaType": "application/pdf"}}}},
                          "401": UNAUTHORIZED, "404": NO_CERTIFICATE}}},
        "/certificates/{code}/revocation": {"post": {
            "summary": "Revoke a valid certificate, with a reason (org admins)", "security": SECURED,
            "parameters": [CERTIFICATE_CODE], "requestBody": _body("Revocation"),
            "responses": {"200": _json("Certificate"), "400": INVALID, "401": UNAUTHORIZED,
                          "403": _error("Not an org admin of the issuing organization (forbidden), or the "
                                        "certificate is the caller's own (conflict_of_interest)."),
                          "404": NO_CERTIFICATE,
                          "422": _error("Not valid any more (not_valid), or no reason (reason_required).")}}},
    }


def _minutes(description: str) -> dict:
    return {"type": "integer", "minimum": 0, "description": description + " (approved minutes; `hours` beside it "
            "has the same in hours with one decimal)."}


def _stats_schemas() -> dict:
    month = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$", "description": "YYYY-MM, Beijing time"}
    count = {"type": "integer", "minimum": 0}
    region = {"type": "object", "properties": {
        "code": {"type": "string", "description": "GB/T 2260 division code"},
        "organizations": count, "organizations_pending": count, "volunteers": count,
        "minutes": _minutes("Served with the region's organizations"), "hours": {"type": "number"}}}
    return {
        "OrganizationStats": {"type": "object", "required": ["organization", "members", "minutes_total"],
                              "properties": {
            "organization": {"type": "string", "description": "Its code."},
            "members": {**count, "description": "Active members."},
            "active_volunteers": {**count, "description": "Volunteers with approved service in the last 365 days."},
            "minutes_this_month": _minutes("This calendar month"), "hours_this_month": {"type": "number"},
            "minutes_this_year": _minutes("This calendar year"), "hours_this_year": {"type": "number"},
            "minutes_total": _minutes("In all"), "hours_total": {"type": "number"},
            "by_month": {"type": "array", "description": "The last 12 months, oldest first, every month present.",
                         "items": {"type": "object", "properties": {"month": month, "minutes": count,
                                                                    "hours": {"type": "number"}}}},
            "by_category": {"type": "array", "items": {"type": "object", "properties": {
                "category": {"type": "string", "enum": list(CATEGORIES)}, "minutes": count,
                "hours": {"type": "number"}}}},
            "top_activities": {"type": "array", "maxItems": 5, "items": {"type": "object", "properties": {
                "code": {"type": "string"}, "title": {"type": "string"}, "minutes": count,
                "hours": {"type": "number"}, "volunteers": count}}},
            "pending_entries": count, "pending_corrections": count, "pending_certificate_requests": count,
            "attendance": {"type": "object", "description": "Activities that ended in the last 365 days.",
                           "properties": {"signed_up": count, "attended": count, "no_shows": count, "late": count}},
            "certificates": {"type": "object", "properties": {"valid": count, "revoked": count,
                                                              "superseded": count}}}},
        "PlatformStats": {"type": "object", "required": ["organizations", "volunteers", "minutes"], "properties": {
            "organizations": {**count, "description": "Approved organizations."},
            "organizations_pending": {**count, "description": "Waiting for review."},
            "volunteers": count, "minutes": _minutes("In all"), "hours": {"type": "number"},
            "by_prefecture": {"type": "array", "items": region},
            "by_county": {"type": "array", "items": region},
            "growth": {"type": "array", "description": "The last 12 months, oldest first.",
                       "items": {"type": "object", "properties": {
                           "month": month, "organizations": {**count, "description": "Approved in the month."},
                           "volunteers": {**count, "description": "Registered in the month."},
                           "minutes": count, "hours": {"type": "number"}}}}}},
    }


def _stats_paths() -> dict:
    return {
        "/organizations/{code}/stats": {"get": {
            "summary": "The organization's dashboard figures (its staff, and platform admins)", "security": SECURED,
            "parameters": [CODE],
            "responses": {"200": _json("OrganizationStats"), "401": UNAUTHORIZED, "403": FORBIDDEN,
                          "404": NOT_FOUND}}},
        "/stats": {"get": {
            "summary": "The province's figures, by prefecture and county, and their growth (platform admins)",
            "security": SECURED,
            "responses": {"200": _json("PlatformStats"), "401": UNAUTHORIZED, "403": FORBIDDEN}}},
    }
