"""The JSON API. It calls the same services as the pages; errors are ``{"error": {"code", "message"}}``."""
from __future__ import annotations

from flask import g, jsonify, request

from ..access import load_organization, loads_activity, loads_organization
from ..accounts.permissions import can
from ..activities.models import Activity
from ..activities.services import ActivityData, create_activity, publish_activity, sign_up
from ..checkin.limits import scan_rate_limit, scanner_key
from ..checkin.models import AttendanceSession
from ..checkin.services import CheckInError, ScanRequest, record_scan, served_minutes, union_minutes
from ..codes import normalize_volunteer_number
from ..errors import DomainError, NotFound
from ..extensions import db, limiter
from ..ledger.models import LedgerState
from ..links import public_url
from ..organizations.models import MEMBERSHIP_STATUSES
from ..organizations.queries import (
    directory,
    members,
    membership_of,
)
from ..organizations.services import (
    OrganizationData,
    apply_for_membership,
    apply_for_organization,
    decide_membership,
    decide_organization,
)
from ..paging import requested_page
from ..regions import get_region
from ..text import all_storable
from ..timeutil import parse_datetime
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
        "url": public_url("organizations.show", code=org.code),
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
    """A membership as its organization sees it: of a person invited and not (yet) a member, the name and the
    status only."""
    volunteer = membership.volunteer
    disclosed = membership.discloses_record
    return {"organization": membership.organization.code,
            "volunteer_number": volunteer.volunteer_number if disclosed else None,
            "name": volunteer.name, "id_number_masked": volunteer.id_number_masked if disclosed else None,
            "status": membership.status, "applied_at": membership.applied_at.isoformat()}


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
    result = directory(text=request.args.get("q", ""), region_code=request.args.get("region", ""),
                       page=requested_page(strict=True))
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
@loads_organization()
def get_organization(org):
    return jsonify(organization_json(org, private=can(g.api_user, "org.view_private", org)))


@bp.route("/organizations/<code>/decision", methods=["POST"])
@token_required
@loads_organization("orgs.decide")
def decide(org):
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
@loads_organization()
def join(org):
    membership = apply_for_membership(g.api_user, org)
    db.session.commit()
    return jsonify(membership_json(membership)), 201


@bp.route("/organizations/<code>/members", methods=["GET"])
@token_required
@loads_organization("members.view")
def list_members(org):
    status = request.args.get("status", "")
    if status and status not in MEMBERSHIP_STATUSES:
        raise ApiError("invalid_parameter", f"status must be one of {', '.join(MEMBERSHIP_STATUSES)}",
                       field="status")
    result = members(org, status, requested_page(strict=True))
    return jsonify({"items": [membership_json(m) for m in result.items], "page": result.page,
                    "pages": result.pages, "total": result.total})


@bp.route("/organizations/<code>/members/<volunteer_number>/decision", methods=["POST"])
@token_required
@loads_organization("members.decide")
def decide_member(org, volunteer_number: str):
    volunteer = volunteer_by_number(normalize_volunteer_number(volunteer_number) or "")
    membership = membership_of(org, volunteer)
    if membership is None or not membership.discloses_record:
        raise NotFound("not_found")
    decision = str(_body().get("decision", ""))
    if decision not in ("approve", "decline"):
        raise ApiError("invalid_parameter", "decision must be approve or decline", field="decision")
    decide_membership(g.api_user, membership, decision == "approve")
    db.session.commit()
    return jsonify(membership_json(membership))


# --- activities and check-in ------------------------------------------------------------------------------------


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def activity_json(activity: Activity) -> dict:
    return {
        "code": activity.code, "organization": activity.organization.code, "status": activity.status,
        "title": activity.title, "description": activity.description, "category": activity.category,
        "recipient": activity.recipient, "region_code": activity.region_code, "address": activity.address,
        "latitude": activity.latitude, "longitude": activity.longitude, "radius_m": activity.radius_m,
        "starts_at": _iso(activity.starts_at), "ends_at": _iso(activity.ends_at), "capacity": activity.capacity,
        "is_recruiting": activity.is_recruiting, "allows_walk_ins": activity.allows_walk_ins,
        "grace_minutes": activity.grace_minutes, "signup_mode": activity.signup_mode,
        "person_in_charge": activity.person_in_charge, "risk_disclosure": activity.risk_disclosure,
        "requires_training": activity.requires_training, "requires_insurance": activity.requires_insurance,
        "created_at": _iso(activity.created_at),
    }


def scan_json(scan) -> dict:
    return {"event_id": scan.event_id, "accepted": scan.accepted, "result": scan.result,
            "refusal_code": scan.refusal_code, "method": scan.method, "direction": scan.direction,
            "flags": list(scan.flags or []), "scanned_at": _iso(scan.scanned_at)}


def session_json(session: AttendanceSession) -> dict:
    closed = session.checked_out_at is not None
    return {"id": session.id, "checked_in_at": _iso(session.checked_in_at),
            "checked_out_at": _iso(session.checked_out_at), "flags": list(session.flags or []),
            "minutes": union_minutes([(session.checked_in_at, session.checked_out_at)]) if closed else None}


def person_json(volunteer) -> dict | None:
    return {"volunteer_number": volunteer.volunteer_number, "name": volunteer.name} if volunteer else None


def _string(body: dict, key: str) -> str | None:
    value = body.get(key)
    return value if isinstance(value, str) else None


def _flag(body: dict, key: str) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise ApiError("invalid_parameter", f"{key} must be true or false", field=key)
    return value


def _scanned_at(body: dict):
    value = body.get("scanned_at")
    if value is None:
        return None
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None:
        raise CheckInError("scanned_at_invalid", field="scanned_at")
    return moment


def _location(body: dict) -> tuple[float | None, float | None]:
    value = body.get("location")
    if value is None:
        return None, None
    if not isinstance(value, dict):
        raise CheckInError("location_invalid", field="location")
    coordinates = []
    for key, limit in (("latitude", 90), ("longitude", 180)):
        number = value.get(key)
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise CheckInError("location_invalid", field="location")
        if not -limit <= number <= limit:  # before float(): a huge JSON integer does not fit in one
            raise CheckInError("location_invalid", field="location")
        coordinates.append(float(number))
    return coordinates[0], coordinates[1]


@bp.route("/activities", methods=["POST"])
@token_required
def create_activity_endpoint():
    body = _body()
    org = load_organization(_string(body, "organization") or "", "activities.manage")
    publish = _flag(body, "publish")
    activity = create_activity(g.api_user, org, ActivityData.from_mapping(body))
    if publish:
        publish_activity(g.api_user, activity)
    db.session.commit()
    return jsonify(activity_json(activity)), 201


@bp.route("/activities/<code>", methods=["GET"])
@token_optional
@loads_activity()
def get_activity(activity):
    return jsonify(activity_json(activity))


@bp.route("/activities/<code>/signups", methods=["POST"])
@token_required
@loads_activity()
def sign_up_endpoint(activity):
    signup = sign_up(g.api_user, activity)
    db.session.commit()
    return jsonify({"activity": activity.code, "volunteer_number": signup.volunteer.volunteer_number,
                    "status": signup.status}), 201


@bp.route("/scans", methods=["POST"])
@limiter.limit(scan_rate_limit, key_func=scanner_key)
@token_required
def scan():
    body = _body()
    latitude, longitude = _location(body)
    direction = body.get("direction", "auto")
    scan_request = ScanRequest(
        event_id=_string(body, "event_id") or "", activity_code=_string(body, "activity"),
        volunteer_number=_string(body, "volunteer_number"), kiosk_token=_string(body, "kiosk_token"),
        direction=direction if isinstance(direction, str) else "", scanned_at=_scanned_at(body),
        latitude=latitude, longitude=longitude, offline=_flag(body, "offline"))
    result = record_scan(g.api_user, scan_request)
    # the answer is made before the commit, which would expire everything it reads
    answer = {"replayed": result.replayed, "scan": scan_json(result.scan),
              "volunteer": person_json(result.scan.volunteer)}
    if result.error is not None:
        answer, status = {**result.error.to_json(), **answer}, result.error.http_status
    else:
        answer["session"] = session_json(result.session)
        entry = result.entry  # the ledger entry a check-out became
        state = db.session.get(LedgerState, entry.id) if entry is not None else None
        answer["entry"] = {"id": entry.id, "minutes": state.minutes, "status": state.status} if state else None
        status = 200 if result.replayed else 201
    db.session.commit()  # a refused scan is kept too
    return jsonify(answer), status


@bp.route("/activities/<code>/attendance", methods=["GET"])
@token_required
@loads_activity("checkin.review")
def attendance(activity):
    sessions = db.session.scalars(db.select(AttendanceSession).where(AttendanceSession.activity_id == activity.id)
                                  .order_by(AttendanceSession.checked_in_at, AttendanceSession.id)).all()
    present = [{**session_json(s), "volunteer": person_json(s.volunteer)} for s in sessions if s.is_open]
    closed = [{**session_json(s), "volunteer": person_json(s.volunteer)} for s in sessions if not s.is_open]
    volunteers = {s.volunteer_id: s.volunteer for s in sessions}
    totals = [{**person_json(v), "minutes": served_minutes(activity.id, v.id)} for v in volunteers.values()]
    return jsonify({"activity": activity.code, "present": present, "closed": closed, "volunteers": totals})
