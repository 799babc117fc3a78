"""The JSON API. It calls the same services as the pages; errors are ``{"error": {"code", "message"}}``."""
from __future__ import annotations

from flask import g, jsonify, request

from ..access import load_organization, loads_activity, loads_organization
from ..accounts.permissions import can
from ..accounts.schemas import ME_OUT
from ..activities.models import Activity
from ..activities.queries import upcoming_shifts
from ..activities.schemas import ACTIVITY_INPUT, ACTIVITY_OUT, SHIFT_OUT, SHIFTS_OUT, SIGNUP_OUT, SIGNUP_REQUEST
from ..activities.services import ActivityData, create_activity, publish_activity, sign_up
from ..checkin.limits import scan_rate_limit, scanner_key
from ..checkin.models import AttendanceSession
from ..checkin.schemas import (
    ATTENDANCE_OUT,
    ATTENDANCE_SESSION_OUT,
    LOCATION,
    PERSON_OUT,
    SCAN_ENTRY_OUT,
    SCAN_OUT,
    SCAN_REFUSAL_OUT,
    SCAN_REQUEST,
    SCAN_RESULT_OUT,
    SERVED_OUT,
    SESSION_OUT,
)
from ..checkin.services import CheckInError, ScanRequest, record_scan, served_minutes, union_minutes
from ..codes import normalize_volunteer_number
from ..errors import DomainError, NotFound
from ..extensions import db, limiter
from ..ledger.models import LedgerState
from ..links import public_url
from ..organizations.queries import (
    directory,
    members,
    membership_of,
)
from ..organizations.schemas import (
    MEMBERSHIP_DECISION,
    MEMBERSHIP_DECISIONS,
    MEMBERSHIP_OUT,
    MEMBERSHIP_STATUSES,
    ORGANIZATION,
    ORGANIZATION_DECISION,
    ORGANIZATION_OUT,
    ORGANIZATION_PRIVATE_OUT,
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
from ..schema import dump
from ..text import all_storable
from ..timeutil import parse_datetime
from ..volunteers.queries import volunteer_by_number, volunteer_for_user
from ..volunteers.schemas import VOLUNTEER_OUT, VOLUNTEER_PROFILE
from ..volunteers.services import VolunteerData, save_own_profile
from . import bp
from .auth import token_optional, token_required
from .openapi import (
    ACTIVITY_CODE,
    FORBIDDEN,
    INVALID,
    NO_ACTIVITY,
    NOT_FOUND,
    ORGANIZATION_CODE,
    PAGE,
    REFUSED_SCAN,
    UNAUTHORIZED,
    Answer,
    documented,
    ok,
    openapi_document,
    page_of,
    query_parameter,
)


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
    """An organization as ORGANIZATION_OUT declares it; with ``private``, ORGANIZATION_PRIVATE_OUT (its status
    reason and history, for its staff and platform admins)."""
    region = get_region(org.region_code)
    computed = {"type": org.org_type, "region_name": region.name_zh if region else None,
                "url": public_url("organizations.show", code=org.code)}
    if not private:
        return dump(ORGANIZATION_OUT, org, **computed)
    history = [{"status": c.to_status, "reason": c.reason, "at": c.created_at.isoformat()} for c in org.status_changes]
    return dump(ORGANIZATION_PRIVATE_OUT, org, **computed, status_history=history)


def volunteer_json(volunteer) -> dict:
    return dump(VOLUNTEER_OUT, volunteer)


def membership_json(membership) -> dict:
    """A membership as its organization sees it: of a person invited and not (yet) a member, the name and the
    status only."""
    volunteer = membership.volunteer
    disclosed = membership.discloses_record
    return dump(MEMBERSHIP_OUT, membership, organization=membership.organization.code,
                volunteer_number=volunteer.volunteer_number if disclosed else None, name=volunteer.name,
                id_number_masked=volunteer.id_number_masked if disclosed else None)


@bp.route("/openapi.json")
@documented("This document", responses={200: Answer("OK")})
def openapi():
    return jsonify(openapi_document())


@bp.route("/me")
@documented("The token's account", responses={200: ok(ME_OUT), 401: UNAUTHORIZED})
@token_required
def me():
    user = g.api_user
    volunteer = volunteer_for_user(user)
    return jsonify(dump(ME_OUT, user, volunteer_number=volunteer.volunteer_number if volunteer else None))


@bp.route("/organizations", methods=["GET"])
@documented("Directory of approved organizations",
            query=(query_parameter("q", {"type": "string"}), query_parameter("region", {"type": "string"}), PAGE),
            responses={200: ok(page_of("OrganizationPage", ORGANIZATION_PRIVATE_OUT)), 400: INVALID})
def list_organizations():
    result = directory(text=request.args.get("q", ""), region_code=request.args.get("region", ""),
                       page=requested_page(strict=True))
    return jsonify({"items": [organization_json(o) for o in result.items], "page": result.page,
                    "pages": result.pages, "total": result.total})


@bp.route("/organizations", methods=["POST"])
@documented("Apply to register an organization (the caller becomes its org admin)", request=ORGANIZATION,
            responses={201: ok(ORGANIZATION_PRIVATE_OUT, "Created, pending approval"), 400: INVALID,
                       401: UNAUTHORIZED, 409: INVALID, 422: INVALID})
@token_required
def create_organization():
    org = apply_for_organization(g.api_user, OrganizationData.from_mapping(_body()))
    db.session.commit()
    return jsonify(organization_json(org, private=True)), 201


@bp.route("/organizations/<code>", methods=["GET"])
@documented("One organization (unapproved ones only for their staff and platform admins)",
            path=ORGANIZATION_CODE,
            responses={200: ok(ORGANIZATION_PRIVATE_OUT), 401: UNAUTHORIZED, 404: NOT_FOUND})
@token_optional
@loads_organization()
def get_organization(org):
    return jsonify(organization_json(org, private=can(g.api_user, "org.view_private", org)))


@bp.route("/organizations/<code>/decision", methods=["POST"])
@documented("Approve, reject, suspend or reinstate (platform admins)", path=ORGANIZATION_CODE,
            request=ORGANIZATION_DECISION,
            responses={200: ok(ORGANIZATION_PRIVATE_OUT), 400: INVALID, 401: UNAUTHORIZED, 403: FORBIDDEN,
                       404: NOT_FOUND, 409: INVALID, 422: INVALID})
@token_required
@loads_organization("orgs.decide")
def decide(org):
    body = _body()
    decide_organization(g.api_user, org, str(body.get("decision", "")), body.get("reason") and str(body["reason"]))
    db.session.commit()
    return jsonify(organization_json(org, private=True))


@bp.route("/me/volunteer", methods=["GET"])
@documented("The caller's volunteer profile",
            responses={200: ok(VOLUNTEER_OUT), 401: UNAUTHORIZED, 404: NOT_FOUND})
@token_required
def get_own_volunteer():
    volunteer = volunteer_for_user(g.api_user)
    if volunteer is None:
        raise NotFound("not_found", "No volunteer profile yet: PUT one.")
    return jsonify(volunteer_json(volunteer))


@bp.route("/me/volunteer", methods=["PUT"])
@documented("Create or update the caller's volunteer profile", request=VOLUNTEER_PROFILE,
            responses={200: ok(VOLUNTEER_OUT), 201: ok(VOLUNTEER_OUT, "Created"), 400: INVALID,
                       401: UNAUTHORIZED, 409: INVALID, 422: INVALID})
@token_required
def put_own_volunteer():
    existed = volunteer_for_user(g.api_user) is not None
    volunteer = save_own_profile(g.api_user, VolunteerData.from_mapping(_body()))
    db.session.commit()
    return jsonify(volunteer_json(volunteer)), 200 if existed else 201


@bp.route("/organizations/<code>/members", methods=["POST"])
@documented("The caller applies to join", path=ORGANIZATION_CODE,
            responses={201: ok(MEMBERSHIP_OUT, "Requested (pending) or joined (active)"), 401: UNAUTHORIZED,
                       403: FORBIDDEN, 404: NOT_FOUND, 409: INVALID, 422: INVALID})
@token_required
@loads_organization()
def join(org):
    membership = apply_for_membership(g.api_user, org)
    db.session.commit()
    return jsonify(membership_json(membership)), 201


@bp.route("/organizations/<code>/members", methods=["GET"])
@documented("Members (coordinators and org admins)", path=ORGANIZATION_CODE,
            query=(PAGE, query_parameter("status", {"type": "string", "enum": list(MEMBERSHIP_STATUSES)})),
            responses={200: ok(page_of("MembershipPage", MEMBERSHIP_OUT)), 400: INVALID, 401: UNAUTHORIZED,
                       403: FORBIDDEN, 404: NOT_FOUND})
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
@documented("Approve or decline a request to join (coordinators and org admins)", path=ORGANIZATION_CODE,
            request=MEMBERSHIP_DECISION,
            responses={200: ok(MEMBERSHIP_OUT), 400: INVALID, 401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND,
                       409: INVALID})
@token_required
@loads_organization("members.decide")
def decide_member(org, volunteer_number: str):
    volunteer = volunteer_by_number(normalize_volunteer_number(volunteer_number) or "")
    membership = membership_of(org, volunteer)
    if membership is None or not membership.discloses_record:
        raise NotFound("not_found")
    decision = str(_body().get("decision", ""))
    if decision not in MEMBERSHIP_DECISIONS:
        raise ApiError("invalid_parameter", "decision must be approve or decline", field="decision")
    decide_membership(g.api_user, membership, decision == "approve")
    db.session.commit()
    return jsonify(membership_json(membership))


# --- activities and check-in ------------------------------------------------------------------------------------


def activity_json(activity: Activity) -> dict:
    return dump(ACTIVITY_OUT, activity, organization=activity.organization.code)


def scan_json(scan) -> dict:
    return dump(SCAN_OUT, scan, flags=list(scan.flags or []), shift=scan.shift_id)


def _session_values(session: AttendanceSession) -> dict:
    """What SESSION_OUT holds that the session has no attribute for: its flags as a list, its whole minutes once
    closed."""
    closed = session.checked_out_at is not None
    return {"flags": list(session.flags or []), "shift": session.shift_id,
            "minutes": union_minutes([(session.checked_in_at, session.checked_out_at)]) if closed else None}


def session_json(session: AttendanceSession) -> dict:
    return dump(SESSION_OUT, session, **_session_values(session))


def scan_result_json(result) -> dict:
    """A scan's answer: SCAN_RESULT_OUT for a recorded scan or its retry; for a refused one, the error and
    SCAN_REFUSAL_OUT (the scan kept)."""
    scan = scan_json(result.scan)
    volunteer = person_json(result.scan.volunteer)
    if result.error is not None:
        return {**result.error.to_json(), **dump(SCAN_REFUSAL_OUT, result, scan=scan, volunteer=volunteer)}
    entry = result.entry  # the ledger entry a check-out became
    state = db.session.get(LedgerState, entry.id) if entry is not None else None
    return dump(SCAN_RESULT_OUT, result, scan=scan, volunteer=volunteer, session=session_json(result.session),
                entry=dump(SCAN_ENTRY_OUT, state, id=entry.id) if state else None)


def person_json(volunteer) -> dict | None:
    return dump(PERSON_OUT, volunteer) if volunteer else None


def _string(body: dict, key: str) -> str | None:
    value = body.get(key)
    return value if isinstance(value, str) else None


def _shift_id(body: dict) -> int | None:
    value = body.get("shift")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2**31:
        raise ApiError("invalid_parameter", "shift must be a shift's id (a whole number)", field="shift")
    return value


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
    for key, spec in LOCATION.fields.items():
        number = value.get(key)
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise CheckInError("location_invalid", field="location")
        if not spec.minimum <= number <= spec.maximum:  # before float(): a huge JSON integer does not fit in one
            raise CheckInError("location_invalid", field="location")
        coordinates.append(float(number))
    return coordinates[0], coordinates[1]


@bp.route("/activities", methods=["POST"])
@documented("Create an activity (coordinators and org admins of the organization); a draft unless `publish` is "
            "true", request=ACTIVITY_INPUT,
            responses={201: ok(ACTIVITY_OUT, "Created"), 400: INVALID, 401: UNAUTHORIZED, 403: FORBIDDEN,
                       404: NOT_FOUND, 422: INVALID})
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
@documented("One activity (drafts only for the organization's staff)", path=ACTIVITY_CODE,
            responses={200: ok(ACTIVITY_OUT), 401: UNAUTHORIZED, 404: NO_ACTIVITY})
@token_optional
@loads_activity()
def get_activity(activity):
    return jsonify(activity_json(activity))


@bp.route("/activities/<code>/shifts", methods=["GET"])
@documented("The activity's shifts that have not ended, soonest first, with places taken and waiting",
            path=ACTIVITY_CODE, responses={200: ok(SHIFTS_OUT), 401: UNAUTHORIZED, 404: NO_ACTIVITY})
@token_optional
@loads_activity()
def activity_shifts(activity):
    return jsonify({"items": [dump(SHIFT_OUT, row.shift, activity=activity.code, series=row.shift.series_id,
                                   accepted=row.accepted, waitlisted=row.waitlisted)
                              for row in upcoming_shifts(activity)]})


@bp.route("/activities/<code>/signups", methods=["POST"])
@documented("The caller signs up for a shift (accepted, pending a coordinator, or waitlisted when full); `shift` "
            "may be left out when the activity has one", path=ACTIVITY_CODE, request=SIGNUP_REQUEST,
            responses={201: ok(SIGNUP_OUT, "Signed up"), 400: INVALID, 401: UNAUTHORIZED, 404: NO_ACTIVITY,
                       409: INVALID, 422: INVALID})
@token_required
@loads_activity()
def sign_up_endpoint(activity):
    body = _body() if request.get_data() else {}
    signup = sign_up(g.api_user, activity, shift=_shift_id(body))
    db.session.commit()
    return jsonify(dump(SIGNUP_OUT, signup, activity=activity.code,
                        volunteer_number=signup.volunteer.volunteer_number)), 201


@bp.route("/scans", methods=["POST"])
@documented("Record a check-in or check-out scan; a retried event id returns the first result to its sender",
            request=SCAN_REQUEST,
            responses={201: ok(SCAN_RESULT_OUT, "Recorded"),
                       200: ok(SCAN_RESULT_OUT, "A retry of a recorded scan (replayed: true)"),
                       400: REFUSED_SCAN, 401: UNAUTHORIZED, 403: REFUSED_SCAN, 404: REFUSED_SCAN,
                       409: REFUSED_SCAN, 422: REFUSED_SCAN})
@limiter.limit(scan_rate_limit, key_func=scanner_key)
@token_required
def scan():
    body = _body()
    latitude, longitude = _location(body)
    direction = body.get("direction", "auto")
    scan_request = ScanRequest(
        event_id=_string(body, "event_id") or "", activity_code=_string(body, "activity"),
        volunteer_number=_string(body, "volunteer_number"), kiosk_token=_string(body, "kiosk_token"),
        poster_token=_string(body, "poster_token"), shift_id=_shift_id(body),
        direction=direction if isinstance(direction, str) else "", scanned_at=_scanned_at(body),
        latitude=latitude, longitude=longitude, offline=_flag(body, "offline"))
    result = record_scan(g.api_user, scan_request)
    # the answer is made before the commit, which would expire everything it reads
    answer = scan_result_json(result)
    status = result.error.http_status if result.error is not None else 200 if result.replayed else 201
    db.session.commit()  # a refused scan is kept too
    return jsonify(answer), status


@bp.route("/activities/<code>/attendance", methods=["GET"])
@documented("Who is present now, and the closed sessions with minutes (coordinators and org admins)",
            path=ACTIVITY_CODE, responses={200: ok(ATTENDANCE_OUT), 401: UNAUTHORIZED, 403: FORBIDDEN,
                                           404: NO_ACTIVITY})
@token_required
@loads_activity("checkin.review")
def attendance(activity):
    sessions = db.session.scalars(db.select(AttendanceSession).where(AttendanceSession.activity_id == activity.id)
                                  .order_by(AttendanceSession.checked_in_at, AttendanceSession.id)).all()
    return jsonify(attendance_json(activity, sessions))


def attendance_json(activity, sessions: list[AttendanceSession]) -> dict:
    """The activity's ``sessions`` as ATTENDANCE_OUT declares them: the open ones, the closed ones, and each
    volunteer's minutes in all."""
    volunteers = {s.volunteer_id: s.volunteer for s in sessions}
    return dump(ATTENDANCE_OUT, None, activity=activity.code,
                present=[_attendance_session_json(s) for s in sessions if s.is_open],
                closed=[_attendance_session_json(s) for s in sessions if not s.is_open],
                volunteers=[dump(SERVED_OUT, v, minutes=served_minutes(activity.id, v.id))
                            for v in volunteers.values()])


def _attendance_session_json(session: AttendanceSession) -> dict:
    return dump(ATTENDANCE_SESSION_OUT, session, **_session_values(session), volunteer=person_json(session.volunteer))
