"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json."""
from __future__ import annotations

from ..organizations.models import JOIN_MODES, ORG_TYPES


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
INVALID = _error("A rule was broken; `error.code` says which and `error.field` names the input.")


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
                 "description": "Organizations, volunteers and memberships. Authenticate with "
                                "`Authorization: Bearer <token>` (tokens: account page, or "
                                "`flask accounts create-token`). Errors: `{\"error\": {\"code\", \"message\"}}`."},
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
                    "organization": {"type": "string"}, "volunteer_number": {"type": "string"},
                    "name": {"type": "string"}, "id_number_masked": {"type": "string"},
                    "status": {"type": "string", "enum": ["pending", "active", "declined", "left"]},
                    "applied_at": {"type": "string", "format": "date-time"}}},
                "MembershipPage": {"type": "object", "properties": {
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Membership"}},
                    "page": {"type": "integer"}, "pages": {"type": "integer"}, "total": {"type": "integer"}}},
                "MembershipDecision": {"type": "object", "required": ["decision"], "properties": {
                    "decision": {"type": "string", "enum": ["approve", "decline"]}}},
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
                            "type": "string", "enum": ["pending", "active", "declined", "left"]}}],
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
        },
    }
