"""The JSON API. It calls the same services as the pages; errors are ``{"error": {"code", "message"}}``."""
from __future__ import annotations

from flask import g, jsonify, request, url_for

from ..accounts.permissions import can, require
from ..codes import normalize_volunteer_number
from ..errors import DomainError, NotFound
from ..extensions import db
from ..organizations.queries import (
    directory,
    members,
    membership_of,
    organization_by_code,
    visible_organization,
)
from ..organizations.services import (
    OrganizationData,
    apply_for_membership,
    apply_for_organization,
    decide_membership,
    decide_organization,
)
from ..paging import MAX_PAGE, parse_page
from ..regions import get_region
from ..text import all_storable
from ..volunteers.queries import volunteer_by_number, volunteer_for_user
from ..volunteers.services import VolunteerData, save_own_profile
from . import bp
from .auth import token_optional, token_required
from .openapi import openapi_document


class ApiError(DomainError):
    status = 400
    messages = {
        "invalid_json": "The request body must be a JSON object.",
        "invalid_parameter": "A query parameter is not valid.",
        "invalid_text": "The body holds text that cannot be stored (a NUL character or a lone surrogate).",
    }


def _body() -> dict:
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nesting deeper than the parser can follow
        data = None
    if not isinstance(data, dict):
        raise ApiError("invalid_json")
    if not all_storable(data):
        raise ApiError("invalid_text")
    return data


def organization_json(org, *, private: bool = False) -> dict:
    region = get_region(org.region_code)
    body = {
        "code": org.code, "name": org.name, "type": org.org_type, "status": org.status,
        "credit_code": org.credit_code, "region_code": org.region_code,
        "region_name": region.name_zh if region else None, "address": org.address,
        "person_in_charge": org.person_in_charge, "contact_phone": org.contact_phone,
        "contact_email": org.contact_email, "description": org.description, "join_mode": org.join_mode,
        "url": url_for("organizations.show", code=org.code, _external=True),
    }
    if private:
        body["status_reason"] = org.status_reason
        body["status_history"] = [
            {"status": c.to_status, "reason": c.reason, "at": c.created_at.isoformat()} for c in org.status_changes
        ]
    return body


def volunteer_json(volunteer) -> dict:
    return {
        "volunteer_number": volunteer.volunteer_number, "name": volunteer.name, "gender": volunteer.gender,
        "birth_date": volunteer.birth_date.isoformat(), "id_type": volunteer.id_type,
        "id_number_masked": volunteer.id_number_masked, "phone": volunteer.phone, "email": volunteer.email,
        "region_code": volunteer.region_code, "skills": volunteer.skills,
        "consent_at": volunteer.consent_at.isoformat(), "guardian_name": volunteer.guardian_name,
    }


def membership_json(membership) -> dict:
    volunteer = membership.volunteer
    return {"organization": membership.organization.code, "volunteer_number": volunteer.volunteer_number,
            "name": volunteer.name, "id_number_masked": volunteer.id_number_masked, "status": membership.status,
            "applied_at": membership.applied_at.isoformat()}


def _page() -> int:
    page = parse_page(request.args.get("page"))
    if page is None:
        raise ApiError("invalid_parameter", f"page must be a whole number from 1 to {MAX_PAGE}", field="page")
    return page


@bp.route("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@bp.route("/me")
@token_required
def me():
    user = g.api_user
    volunteer = volunteer_for_user(user)
    return jsonify({"email": user.email, "phone": user.phone, "is_platform_admin": user.is_platform_admin,
                    "volunteer_number": volunteer.volunteer_number if volunteer else None})


@bp.route("/organizations", methods=["GET"])
def list_organizations():
    result = directory(text=request.args.get("q", ""), region_code=request.args.get("region", ""), page=_page())
    return jsonify({"items": [organization_json(o) for o in result.items], "page": result.page,
                    "pages": result.pages, "total": result.total})


@bp.route("/organizations", methods=["POST"])
@token_required
def create_organization():
    org = apply_for_organization(g.api_user, OrganizationData.from_mapping(_body()))
    db.session.commit()
    return jsonify(organization_json(org, private=True)), 201


@bp.route("/organizations/<code>", methods=["GET"])
@token_optional
def get_organization(code: str):
    org = visible_organization(code, g.api_user)
    return jsonify(organization_json(org, private=can(g.api_user, "org.view_private", org)))


@bp.route("/organizations/<code>/decision", methods=["POST"])
@token_required
def decide(code: str):
    require("orgs.decide", user=g.api_user)
    org = organization_by_code(code)
    body = _body()
    decide_organization(g.api_user, org, str(body.get("decision", "")), body.get("reason") and str(body["reason"]))
    db.session.commit()
    return jsonify(organization_json(org, private=True))


@bp.route("/me/volunteer", methods=["GET"])
@token_required
def get_own_volunteer():
    volunteer = volunteer_for_user(g.api_user)
    if volunteer is None:
        raise NotFound("not_found", "No volunteer profile yet: PUT one.")
    return jsonify(volunteer_json(volunteer))


@bp.route("/me/volunteer", methods=["PUT"])
@token_required
def put_own_volunteer():
    existed = volunteer_for_user(g.api_user) is not None
    volunteer = save_own_profile(g.api_user, VolunteerData.from_mapping(_body()))
    db.session.commit()
    return jsonify(volunteer_json(volunteer)), 200 if existed else 201


@bp.route("/organizations/<code>/members", methods=["POST"])
@token_required
def join(code: str):
    membership = apply_for_membership(g.api_user, visible_organization(code, g.api_user))
    db.session.commit()
    return jsonify(membership_json(membership)), 201


@bp.route("/organizations/<code>/members", methods=["GET"])
@token_required
def list_members(code: str):
    org = visible_organization(code, g.api_user)
    require("members.view", org, user=g.api_user)
    status = request.args.get("status", "")
    if status not in ("", "pending", "active", "declined", "left"):
        raise ApiError("invalid_parameter", "status must be pending, active, declined or left", field="status")
    result = members(org, status, _page())
    return jsonify({"items": [membership_json(m) for m in result.items], "page": result.page,
                    "pages": result.pages, "total": result.total})


@bp.route("/organizations/<code>/members/<volunteer_number>/decision", methods=["POST"])
@token_required
def decide_member(code: str, volunteer_number: str):
    org = visible_organization(code, g.api_user)
    require("members.decide", org, user=g.api_user)
    volunteer = volunteer_by_number(normalize_volunteer_number(volunteer_number) or "")
    membership = membership_of(org, volunteer)
    if membership is None:
        raise NotFound("not_found")
    decision = str(_body().get("decision", ""))
    if decision not in ("approve", "decline"):
        raise ApiError("invalid_parameter", "decision must be approve or decline", field="decision")
    decide_membership(g.api_user, membership, decision == "approve")
    db.session.commit()
    return jsonify(membership_json(membership))
