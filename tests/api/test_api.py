"""/api/v1 end to end: real bearer tokens, JSON in and out, and the rows written (or not)."""
from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import re

import pytest

from tests.conftest import valid_credit_code, valid_resident_id
from volunteer_registry.accounts.models import ApiToken
from volunteer_registry.accounts.services import create_api_token, revoke_api_token
from volunteer_registry.codes import normalize_volunteer_number
from volunteer_registry.extensions import db
from volunteer_registry.organizations.models import Membership, Organization, OrganizationStatusChange, StaffRole
from volunteer_registry.organizations.services import apply_for_membership
from volunteer_registry.volunteers.models import Volunteer

from .conftest import (
    HTTP_METHODS,
    assert_error,
    assert_error_shape,
    committed_count,
    database_contains,
    documented_statuses,
    openapi_path,
    token_for,
)

#: the example in GB 11643: born 1949-12-31, sequence 002 (even: female), check character X
GB_EXAMPLE_ID = "11010519491231002X"
GB_EXAMPLE_ID_WRONG_CHECK = "110105194912310021"
#: the example in GB 32100
GB_EXAMPLE_CREDIT_CODE = "91350100M000100Y43"
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
VOLUNTEER_NUMBER = re.compile(r"^[34679ACDEFGHJKMNPQRTUVWXY]{4}-[34679ACDEFGHJKMNPQRTUVWXY]{4}-"
                              r"[34679ACDEFGHJKMNPQRTUVWXY]{4}$")
_serial = itertools.count(1)


def org_body(**overrides) -> dict:
    body = {"name": f"Kunlun Volunteers {next(_serial)}", "org_type": "social_group",
            "credit_code": valid_credit_code(), "region_code": "630102", "address": "1 Kunlun Road",
            "person_in_charge": "Ma Li", "contact_phone": "13912345678", "contact_email": "org@example.org",
            "description": "Visits to the elderly", "join_mode": "approval"}
    body.update(overrides)
    return body


def volunteer_body(**overrides) -> dict:
    body = {"name": "王芳", "gender": "female", "birth_date": "1949-12-31", "id_type": "resident_id",
            "id_number": GB_EXAMPLE_ID, "phone": "13800138000", "region_code": "630102", "skills": "first aid",
            "consent": True}
    body.update(overrides)
    return body


def wrong_check_character(code: str) -> str:
    return code[:-1] + next(ch for ch in CREDIT_ALPHABET if ch != code[-1])


def years_ago(years: int) -> dt.date:
    return dt.date(dt.date.today().year - years, 1, 1)


# --- tokens -----------------------------------------------------------------------------------------------------


def test_missing_token_is_refused(api):
    assert_error(api.get("/me"), 401, "token_required")


@pytest.mark.parametrize("header", ["Bearer vr_not-a-real-token", "Bearer ", "Basic dXNlcjpwYXNz", "vr_abc"])
def test_wrong_token_is_refused(api, make, header):
    token_for(make.user())  # a real token exists, just not this one
    assert_error(api.get("/me", headers={"Authorization": header}), 401, "token_invalid")


def test_revoked_token_is_refused(api, make):
    user = make.user()
    token, plaintext = create_api_token(user, "scanner")
    db.session.commit()
    assert api.get("/me", token=plaintext).status_code == 200
    revoke_api_token(user, token.id)
    db.session.commit()
    assert_error(api.get("/me", token=plaintext), 401, "token_invalid")
    assert_error(api.post("/organizations", token=plaintext, json=org_body()), 401, "token_invalid")
    assert committed_count(Organization) == 0


def test_token_of_a_disabled_account_is_refused(api, make):
    user = make.user()
    plaintext = token_for(user)
    user.is_disabled = True
    db.session.commit()
    assert_error(api.get("/me", token=plaintext), 401, "token_invalid")


def test_token_is_stored_only_as_its_sha256(api, make):
    user = make.user()
    token, plaintext = create_api_token(user, "scanner")
    db.session.commit()
    assert plaintext.startswith("vr_") and len(plaintext) > 30
    assert committed_count(ApiToken, ApiToken.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()) == 1
    assert database_contains(plaintext) == []
    # and it works as a token after all
    response = api.get("/me", token=plaintext)
    assert response.status_code == 200
    assert database_contains(plaintext) == []


# --- GET /me ----------------------------------------------------------------------------------------------------


def test_me_describes_the_tokens_account(api, make):
    user = make.user("someone@example.org")
    token = token_for(user)
    response = api.get("/me", token=token)
    assert response.status_code == 200
    assert response.get_json() == {"email": "someone@example.org", "phone": None, "is_platform_admin": False,
                                   "volunteer_number": None}
    assert api.put("/me/volunteer", token=token, json=volunteer_body()).status_code == 201
    number = api.get("/me", token=token).get_json()["volunteer_number"]
    assert number == db.session.scalar(db.select(Volunteer.volunteer_number).where(Volunteer.user_id == user.id))


def test_me_for_a_platform_admin(api, make):
    body = api.get("/me", token=token_for(make.admin())).get_json()
    assert body["is_platform_admin"] is True


# --- POST /organizations ----------------------------------------------------------------------------------------


def test_apply_for_organization(api, make):
    user = make.user()
    body = org_body(credit_code=GB_EXAMPLE_CREDIT_CODE, join_mode="open")
    response = api.post("/organizations", token=token_for(user), json=body)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["status"] == "pending"
    assert data["credit_code"] == GB_EXAMPLE_CREDIT_CODE
    assert data["join_mode"] == "open"
    assert [change["status"] for change in data["status_history"]] == ["pending"]
    org = db.session.scalar(db.select(Organization).where(Organization.code == data["code"]))
    assert org is not None and org.status == "pending" and org.name == body["name"]
    assert org.applicant_id == user.id
    roles = db.session.scalars(db.select(StaffRole).where(StaffRole.organization_id == org.id)).all()
    assert [(r.user_id, r.role) for r in roles] == [(user.id, "admin")]
    changes = db.session.scalars(db.select(OrganizationStatusChange)
                                 .where(OrganizationStatusChange.organization_id == org.id)).all()
    assert [(c.from_status, c.to_status, c.actor_id) for c in changes] == [(None, "pending", user.id)]


def test_apply_normalises_the_credit_code(api, make):
    code = valid_credit_code()
    typed = code[:6].lower() + " " + code[6:12] + "-" + code[12:]
    response = api.post("/organizations", token=token_for(make.user()), json=org_body(credit_code=typed))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["credit_code"] == code


@pytest.mark.parametrize("source", ["gb_32100_example", "generated"])
def test_apply_with_wrong_check_character_writes_nothing(api, make, source):
    code = wrong_check_character(GB_EXAMPLE_CREDIT_CODE if source == "gb_32100_example" else valid_credit_code())
    response = api.post("/organizations", token=token_for(make.user()), json=org_body(credit_code=code))
    assert_error(response, 422, "credit_code_check_character", "credit_code")
    assert committed_count(Organization) == 0
    assert committed_count(StaffRole) == 0
    assert committed_count(OrganizationStatusChange) == 0


def test_apply_with_taken_credit_code_conflicts(api, make):
    code = valid_credit_code()
    make.org(credit_code=code)
    db.session.commit()
    response = api.post("/organizations", token=token_for(make.user()), json=org_body(credit_code=code.lower()))
    assert_error(response, 409, "credit_code_taken", "credit_code")
    assert committed_count(Organization) == 1


def test_community_team_needs_no_credit_code(api, make):
    for credit_code in (None, ""):
        body = org_body(org_type="community_team", credit_code=credit_code)
        response = api.post("/organizations", token=token_for(make.user()), json=body)
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["credit_code"] is None
        assert response.get_json()["status"] == "pending"
    body = org_body(org_type="community_team")
    del body["credit_code"]
    assert api.post("/organizations", token=token_for(make.user()), json=body).status_code == 201
    assert committed_count(Organization, Organization.credit_code.is_(None)) == 3


@pytest.mark.parametrize("overrides, code, field", [
    ({"credit_code": None}, "credit_code_required", "credit_code"),
    ({"credit_code": "12345"}, "credit_code_length", "credit_code"),
    ({"credit_code": "51630102MJ000001IO"}, "credit_code_characters", "credit_code"),
    ({"name": "  "}, "name_required", "name"),
    ({"name": "x" * 121}, "too_long", "name"),
    ({"org_type": "company"}, "org_type_unknown", "org_type"),
    ({"region_code": "110105"}, "region_unknown", "region_code"),
    ({"address": ""}, "field_required", "address"),
    ({"contact_phone": "12345"}, "phone_invalid", "contact_phone"),
    ({"contact_email": "not an email"}, "email_invalid", "contact_email"),
    ({"join_mode": "whenever"}, "join_mode_unknown", "join_mode"),
])
def test_apply_rules(api, make, overrides, code, field):
    response = api.post("/organizations", token=token_for(make.user()), json=org_body(**overrides))
    assert_error(response, 422, code, field)
    assert committed_count(Organization) == 0


def test_apply_needs_a_token(api):
    assert_error(api.post("/organizations", json=org_body()), 401, "token_required")
    assert committed_count(Organization) == 0


# --- POST /organizations/{code}/decision ------------------------------------------------------------------------


def test_platform_admin_approves(api, make):
    applicant = make.user()
    org = make.org(admin_user=applicant, status="pending")
    admin = make.admin()
    db.session.commit()
    response = api.post(f"/organizations/{org.code}/decision", token=token_for(admin), json={"decision": "approve"})
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["status"] == "approved"
    assert [c["status"] for c in data["status_history"]] == ["pending", "approved"]
    assert db.session.get(Organization, org.id).status == "approved"
    changes = db.session.scalars(db.select(OrganizationStatusChange)
                                 .where(OrganizationStatusChange.organization_id == org.id)
                                 .order_by(OrganizationStatusChange.id)).all()
    assert [(c.from_status, c.to_status, c.actor_id) for c in changes] == [
        (None, "pending", applicant.id), ("pending", "approved", admin.id)]


def test_reject_needs_a_reason(api, make):
    org = make.org(status="pending")
    token = token_for(make.admin())
    for body in ({"decision": "reject"}, {"decision": "reject", "reason": "   "},
                 {"decision": "reject", "reason": None}):
        response = api.post(f"/organizations/{org.code}/decision", token=token, json=body)
        assert_error(response, 422, "reason_required", "reason")
    assert db.session.get(Organization, org.id).status == "pending"
    assert committed_count(OrganizationStatusChange, OrganizationStatusChange.organization_id == org.id) == 1
    response = api.post(f"/organizations/{org.code}/decision", token=token,
                        json={"decision": "reject", "reason": "The credit code belongs to another organization."})
    assert response.status_code == 200
    assert response.get_json()["status"] == "rejected"
    assert response.get_json()["status_reason"] == "The credit code belongs to another organization."
    assert committed_count(OrganizationStatusChange, OrganizationStatusChange.organization_id == org.id,
                           OrganizationStatusChange.to_status == "rejected") == 1


def test_approving_an_approved_organization_conflicts(api, make):
    org = make.org(status="approved")
    token = token_for(make.admin())
    before = committed_count(OrganizationStatusChange)
    response = api.post(f"/organizations/{org.code}/decision", token=token, json={"decision": "approve"})
    assert_error(response, 409, "decision_not_allowed")
    assert committed_count(OrganizationStatusChange) == before


def test_suspend_and_reinstate(api, make):
    org = make.org(status="approved")
    token = token_for(make.admin())
    assert_error(api.post(f"/organizations/{org.code}/decision", token=token, json={"decision": "suspend"}),
                 422, "reason_required")
    response = api.post(f"/organizations/{org.code}/decision", token=token,
                        json={"decision": "suspend", "reason": "Complaints under review"})
    assert response.status_code == 200 and response.get_json()["status"] == "suspended"
    response = api.post(f"/organizations/{org.code}/decision", token=token, json={"decision": "reinstate"})
    assert response.status_code == 200 and response.get_json()["status"] == "approved"
    statuses = db.session.scalars(db.select(OrganizationStatusChange.to_status)
                                  .where(OrganizationStatusChange.organization_id == org.id)
                                  .order_by(OrganizationStatusChange.id)).all()
    assert statuses == ["pending", "approved", "suspended", "approved"]


def test_unknown_decision(api, make):
    org = make.org(status="pending")
    response = api.post(f"/organizations/{org.code}/decision", token=token_for(make.admin()),
                        json={"decision": "maybe"})
    assert_error(response, 422, "decision_unknown", "decision")
    assert db.session.get(Organization, org.id).status == "pending"


@pytest.mark.parametrize("who", ["org_admin", "coordinator", "stranger"])
def test_only_platform_admins_decide(api, make, who):
    org = make.org(status="pending")
    user = {"org_admin": lambda: make.org_admin_of(org), "coordinator": lambda: make.coordinator(org),
            "stranger": make.user}[who]()
    response = api.post(f"/organizations/{org.code}/decision", token=token_for(user), json={"decision": "approve"})
    assert_error(response, 403, "forbidden")
    assert db.session.get(Organization, org.id).status == "pending"
    assert committed_count(OrganizationStatusChange, OrganizationStatusChange.organization_id == org.id) == 1


def test_decision_on_unknown_organization(api, make):
    response = api.post("/organizations/NOPE4444/decision", token=token_for(make.admin()),
                        json={"decision": "approve"})
    assert_error(response, 404, "not_found")


def test_decision_needs_a_token(api, make):
    org = make.org(status="pending")
    db.session.commit()
    assert_error(api.post(f"/organizations/{org.code}/decision", json={"decision": "approve"}), 401,
                 "token_required")


# --- PUT and GET /me/volunteer ----------------------------------------------------------------------------------


def test_register_then_update_volunteer_profile(api, make):
    user = make.user()
    token = token_for(user)
    assert_error(api.get("/me/volunteer", token=token), 404, "not_found")
    response = api.put("/me/volunteer", token=token, json=volunteer_body())
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    number = data["volunteer_number"]
    assert VOLUNTEER_NUMBER.match(number) and normalize_volunteer_number(number) == number
    assert data["id_number_masked"] == "110105********002X"
    assert data["id_type"] == "resident_id"
    assert data["birth_date"] == "1949-12-31" and data["gender"] == "female" and data["name"] == "王芳"
    assert GB_EXAMPLE_ID not in response.get_data(as_text=True)
    volunteer = db.session.scalar(db.select(Volunteer).where(Volunteer.user_id == user.id))
    assert volunteer.volunteer_number == number
    assert volunteer.id_number_masked == "110105********002X"
    # encrypted at rest: the full number is in no table (the audit log included)
    assert database_contains(GB_EXAMPLE_ID) == []

    response = api.put("/me/volunteer", token=token, json=volunteer_body(phone="13900001111", skills="driving"))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["volunteer_number"] == number
    assert response.get_json()["phone"] == "13900001111"
    assert committed_count(Volunteer) == 1

    response = api.get("/me/volunteer", token=token)
    assert response.status_code == 200
    assert response.get_json()["volunteer_number"] == number
    assert response.get_json()["skills"] == "driving"
    assert GB_EXAMPLE_ID not in response.get_data(as_text=True)


def test_update_without_id_number_keeps_the_stored_one(api, make):
    token = token_for(make.user())
    assert api.put("/me/volunteer", token=token, json=volunteer_body()).status_code == 201
    body = volunteer_body(name="王芳芳")
    del body["id_number"]
    response = api.put("/me/volunteer", token=token, json=body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["id_number_masked"] == "110105********002X"
    assert response.get_json()["name"] == "王芳芳"
    assert GB_EXAMPLE_ID not in response.get_data(as_text=True)


def test_volunteer_number_format_and_masking_for_a_generated_id(api, make):
    number = valid_resident_id(birth=dt.date(1990, 5, 17), gender="male")
    response = api.put("/me/volunteer", token=token_for(make.user()),
                       json=volunteer_body(gender="male", birth_date="1990-05-17", id_number=number))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["id_number_masked"] == number[:6] + "*" * 8 + number[-4:]
    assert number not in response.get_data(as_text=True)


@pytest.mark.parametrize("overrides, code, field", [
    ({"id_number": GB_EXAMPLE_ID_WRONG_CHECK}, "id_number_check_digit", "id_number"),
    ({"id_number": "110105194912310029"}, "id_number_check_digit", "id_number"),
    ({"birth_date": "1949-12-30"}, "id_number_birth_date_mismatch", "id_number"),
    ({"gender": "male"}, "id_number_gender_mismatch", "id_number"),
    ({"id_number": "11010519491331002X"}, "id_number_birth_date", "id_number"),
    ({"id_number": "99010519491231002X"}, "id_number_region", "id_number"),
    ({"id_number": "1101051949123100"}, "id_number_format", "id_number"),
    ({"consent": False}, "consent_required", "consent"),
    ({"consent": None}, "consent_required", "consent"),
    ({"consent": "no"}, "consent_required", "consent"),
    ({"name": ""}, "name_required", "name"),
    ({"gender": "other"}, "gender_unknown", "gender"),
    ({"birth_date": "31/12/1949"}, "birth_date_required", "birth_date"),
    ({"id_type": "library_card"}, "id_type_unknown", "id_type"),
    ({"phone": "555"}, "phone_invalid", "phone"),
    ({"region_code": "000000"}, "region_unknown", "region_code"),
])
def test_volunteer_profile_rules(api, make, overrides, code, field):
    response = api.put("/me/volunteer", token=token_for(make.user()), json=volunteer_body(**overrides))
    error = assert_error(response, 422, code, field)
    assert GB_EXAMPLE_ID not in response.get_data(as_text=True), error
    assert committed_count(Volunteer) == 0


def test_missing_consent_is_refused(api, make):
    body = volunteer_body()
    del body["consent"]
    assert_error(api.put("/me/volunteer", token=token_for(make.user()), json=body), 422, "consent_required")
    assert committed_count(Volunteer) == 0


def test_same_id_number_from_a_second_account_conflicts(api, make):
    first = make.user()
    assert api.put("/me/volunteer", token=token_for(first), json=volunteer_body()).status_code == 201
    response = api.put("/me/volunteer", token=token_for(make.user()),
                       json=volunteer_body(id_number=GB_EXAMPLE_ID.lower()))
    assert_error(response, 409, "id_number_taken", "id_number")
    assert GB_EXAMPLE_ID not in response.get_data(as_text=True)
    assert committed_count(Volunteer) == 1


def test_same_id_number_in_full_width_digits_is_not_a_second_person(api, make):
    """Chinese input methods type full-width digits; the same ID card must not make a second volunteer record.

    Normalising the number (then id_number_taken) or refusing it (id_number_format) are both correct.
    """
    assert api.put("/me/volunteer", token=token_for(make.user()), json=volunteer_body()).status_code == 201
    full_width = GB_EXAMPLE_ID[:6] + GB_EXAMPLE_ID[6:17].translate(FULL_WIDTH_DIGITS) + "X"  # 110105１９４９…
    response = api.put("/me/volunteer", token=token_for(make.user()), json=volunteer_body(id_number=full_width))
    assert response.status_code in (409, 422), response.get_json()
    assert assert_error_shape(response)["code"] in ("id_number_taken", "id_number_format")
    assert committed_count(Volunteer) == 1


def test_under_14_needs_a_guardian(api, make):
    birth = years_ago(10)
    number = valid_resident_id(birth=birth, gender="female")
    token = token_for(make.user())
    body = volunteer_body(birth_date=birth.isoformat(), id_number=number)
    assert_error(api.put("/me/volunteer", token=token, json=body), 422, "guardian_required", "guardian_name")
    assert_error(api.put("/me/volunteer", token=token, json={**body, "guardian_name": "王建国"}), 422,
                 "guardian_consent_required", "guardian_consent")
    assert committed_count(Volunteer) == 0
    response = api.put("/me/volunteer", token=token,
                       json={**body, "guardian_name": "王建国", "guardian_consent": True})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["guardian_name"] == "王建国"
    assert number not in response.get_data(as_text=True)


def test_volunteer_profile_needs_a_token(api):
    assert_error(api.put("/me/volunteer", json=volunteer_body()), 401, "token_required")
    assert_error(api.get("/me/volunteer"), 401, "token_required")
    assert committed_count(Volunteer) == 0


# --- memberships ------------------------------------------------------------------------------------------------


def _volunteer_token(make, **overrides):
    user = make.user()
    volunteer = make.volunteer(user, **overrides)
    return user, volunteer, token_for(user)


def test_join_an_approval_organization(api, make):
    org = make.org(join_mode="approval")
    _user, volunteer, token = _volunteer_token(make)
    response = api.post(f"/organizations/{org.code}/members", token=token)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["status"] == "pending"
    assert data["organization"] == org.code and data["volunteer_number"] == volunteer.volunteer_number
    assert committed_count(Membership, Membership.organization_id == org.id, Membership.status == "pending") == 1

    assert_error(api.post(f"/organizations/{org.code}/members", token=token), 409, "already_applied")
    assert committed_count(Membership) == 1


def test_join_an_open_organization(api, make):
    org = make.org(join_mode="open")
    _user, volunteer, token = _volunteer_token(make)
    response = api.post(f"/organizations/{org.code}/members", token=token)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "active"
    assert committed_count(Membership, Membership.volunteer_id == volunteer.id, Membership.status == "active") == 1
    assert_error(api.post(f"/organizations/{org.code}/members", token=token), 409, "already_member")


def test_invitation_only_organization_refuses_applications(api, make):
    org = make.org(join_mode="invitation")
    _user, _volunteer, token = _volunteer_token(make)
    assert_error(api.post(f"/organizations/{org.code}/members", token=token), 403, "membership_invitation_only")
    assert committed_count(Membership) == 0


def test_joining_needs_a_volunteer_profile(api, make):
    org = make.org(join_mode="open")
    token = token_for(make.user())
    assert_error(api.post(f"/organizations/{org.code}/members", token=token), 422, "volunteer_profile_required")
    assert committed_count(Membership) == 0


@pytest.mark.parametrize("status", ["pending", "rejected", "suspended"])
def test_cannot_join_an_organization_that_is_not_approved(api, make, status):
    org = make.org(status=status, join_mode="open")
    _user, _volunteer, token = _volunteer_token(make)
    assert_error(api.post(f"/organizations/{org.code}/members", token=token), 404, "not_found")
    assert_error(api.post("/organizations/NOPE4444/members", token=token), 404, "not_found")
    assert committed_count(Membership) == 0


def test_join_needs_a_token(api, make):
    org = make.org(join_mode="open")
    db.session.commit()
    assert_error(api.post(f"/organizations/{org.code}/members"), 401, "token_required")


def test_members_list_for_staff_only(api, make):
    org = make.org(join_mode="approval")
    number = valid_resident_id(birth=dt.date(1995, 3, 8), gender="female")
    applicant, volunteer, applicant_token = _volunteer_token(make, id_number=number)
    other_org = make.org()
    outsiders = {"volunteer": applicant_token, "stranger": token_for(make.user()),
                 "staff of another organization": token_for(make.org_admin_of(other_org))}
    assert api.post(f"/organizations/{org.code}/members", token=applicant_token).status_code == 201

    for token in (token_for(make.org_admin_of(org)), token_for(make.coordinator(org))):
        response = api.get(f"/organizations/{org.code}/members", token=token)
        assert response.status_code == 200, response.get_json()
        data = response.get_json()
        assert data["total"] == 1 and data["page"] == 1
        assert [(m["volunteer_number"], m["status"]) for m in data["items"]] == [
            (volunteer.volunteer_number, "pending")]
        assert data["items"][0]["id_number_masked"] == number[:6] + "*" * 8 + number[-4:]
        assert number not in response.get_data(as_text=True)
        assert api.get(f"/organizations/{org.code}/members", token=token,
                       query={"status": "active"}).get_json()["total"] == 0
        assert api.get(f"/organizations/{org.code}/members", token=token,
                       query={"status": "pending"}).get_json()["total"] == 1
        assert_error(api.get(f"/organizations/{org.code}/members", token=token, query={"status": "banned"}),
                     400, "invalid_parameter", "status")

    for token in outsiders.values():
        assert_error(api.get(f"/organizations/{org.code}/members", token=token), 403, "forbidden")
    assert_error(api.get(f"/organizations/{org.code}/members"), 401, "token_required")


def test_platform_admin_cannot_read_members(api, make):
    """Oversight is not running an organization: platform admins see the org, not its member list."""
    org = make.org()
    assert_error(api.get(f"/organizations/{org.code}/members", token=token_for(make.admin())), 403, "forbidden")


@pytest.mark.parametrize("decision, status", [("approve", "active"), ("decline", "declined")])
def test_staff_decide_membership(api, make, decision, status):
    org = make.org(join_mode="approval")
    _user, volunteer, volunteer_token = _volunteer_token(make)
    assert api.post(f"/organizations/{org.code}/members", token=volunteer_token).status_code == 201
    staff_token = token_for(make.coordinator(org))
    url = f"/organizations/{org.code}/members/{volunteer.volunteer_number}/decision"

    assert_error(api.post(url, token=volunteer_token, json={"decision": decision}), 403, "forbidden")
    assert_error(api.post(url, token=staff_token, json={"decision": "maybe"}), 400, "invalid_parameter", "decision")
    assert committed_count(Membership, Membership.status == "pending") == 1

    # volunteer numbers may be typed in lower case and without dashes
    typed = volunteer.volunteer_number.replace("-", "").lower()
    response = api.post(f"/organizations/{org.code}/members/{typed}/decision", token=staff_token,
                        json={"decision": decision})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == status
    assert committed_count(Membership, Membership.volunteer_id == volunteer.id, Membership.status == status) == 1

    assert_error(api.post(url, token=staff_token, json={"decision": "approve"}), 409, "membership_not_pending")
    assert committed_count(Membership, Membership.status == status) == 1


def test_membership_decision_for_unknown_volunteer(api, make):
    org = make.org()
    _user, outsider, _token = _volunteer_token(make)
    token = token_for(make.org_admin_of(org))
    for number in (outsider.volunteer_number, "3333-3333-3333", "not-a-number"):
        response = api.post(f"/organizations/{org.code}/members/{number}/decision", token=token,
                            json={"decision": "approve"})
        assert_error(response, 404, "not_found")
    assert committed_count(Membership) == 0


# --- directory and organization pages ---------------------------------------------------------------------------


def test_directory_lists_approved_organizations_only(api, make):
    xining = make.org(name="Xining Riverside Helpers", region_code="630102")
    make.org(name="Xining Library Friends", region_code="630103")
    golmud = make.org(name="Golmud Desert Guardians", region_code="632801")
    pending = make.org(name="Xining Pending Helpers", region_code="630102", status="pending")
    make.org(name="Xining Rejected Helpers", region_code="630102", status="rejected")
    make.org(name="Xining Suspended Helpers", region_code="630102", status="suspended")
    db.session.commit()

    response = api.get("/organizations")
    assert response.status_code == 200
    data = response.get_json()
    assert data["total"] == 3 and data["page"] == 1 and data["pages"] == 1
    assert sorted(o["name"] for o in data["items"]) == [
        "Golmud Desert Guardians", "Xining Library Friends", "Xining Riverside Helpers"]
    assert all(o["status"] == "approved" for o in data["items"])
    assert all("status_history" not in o for o in data["items"])

    names = lambda **q: sorted(o["name"] for o in api.get("/organizations", query=q).get_json()["items"])  # noqa: E731
    assert names(q="riverside") == ["Xining Riverside Helpers"]
    assert names(q="Xining") == ["Xining Library Friends", "Xining Riverside Helpers"]
    assert names(q=golmud.code) == ["Golmud Desert Guardians"]
    assert names(q=pending.code) == []
    assert names(q="%") == [] and names(q="_") == []
    assert names(region="630102") == ["Xining Riverside Helpers"]
    assert names(region="630100") == ["Xining Library Friends", "Xining Riverside Helpers"]  # the prefecture
    assert names(region="632800") == ["Golmud Desert Guardians"]
    assert names(region="630000") == [
        "Golmud Desert Guardians", "Xining Library Friends", "Xining Riverside Helpers"]
    assert names(q="Xining", region="630103") == ["Xining Library Friends"]
    assert names(q="Golmud", region="630100") == []
    assert xining.code in {o["code"] for o in api.get("/organizations").get_json()["items"]}


def test_directory_pages(api, make):
    for i in range(23):
        make.org(name=f"Helpers {i:02d}")
    db.session.commit()
    first = api.get("/organizations").get_json()
    second = api.get("/organizations", query={"page": "2"}).get_json()
    assert first["total"] == 23 and first["pages"] == 2 and len(first["items"]) == 20
    assert second["page"] == 2 and len(second["items"]) == 3
    assert not {o["code"] for o in first["items"]} & {o["code"] for o in second["items"]}


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "²", "١", "٣", "100001"])
def test_directory_refuses_a_page_that_is_not_a_positive_integer(api, page):
    assert_error(api.get("/organizations", query={"page": page}), 400, "invalid_parameter", "page")


def test_an_empty_page_parameter_means_the_first_page(api, make):
    make.org()
    db.session.commit()
    body = api.get("/organizations", query={"page": ""}).get_json()
    assert body["page"] == 1 and body["total"] == 1


@pytest.mark.parametrize("page", ["99999999999999999999999", "9" * 5000], ids=["23 digits", "5000 digits"])
def test_directory_page_beyond_any_integer_is_not_a_server_error(api, make, page):
    make.org()
    db.session.commit()
    response = api.get("/organizations", query={"page": page})
    if response.status_code == 200:
        assert response.get_json()["items"] == []
    else:
        assert_error(response, 400, "invalid_parameter", "page")


def test_members_page_parameter_is_checked(api, make):
    org = make.org()
    token = token_for(make.org_admin_of(org))
    for page in ("0", "x", "²", "99999999999999999999999"):
        response = api.get(f"/organizations/{org.code}/members", token=token, query={"page": page})
        if response.status_code == 200 and page.isascii() and page.isdigit() and int(page) > 1:
            assert response.get_json()["items"] == []
        else:
            assert_error(response, 400, "invalid_parameter", "page")


def test_organization_page(api, make):
    org = make.org(status="approved")
    db.session.commit()
    response = api.get(f"/organizations/{org.code}")
    assert response.status_code == 200
    data = response.get_json()
    assert data["code"] == org.code and data["status"] == "approved" and data["name"] == org.name
    assert data["region_name"] == "城东区"
    assert data["url"].endswith(f"/organizations/{org.code}")
    assert "status_history" not in data and "status_reason" not in data
    assert api.get(f"/organizations/{org.code.lower()}").status_code == 200
    assert_error(api.get("/organizations/NOPE4444"), 404, "not_found")


@pytest.mark.parametrize("status", ["pending", "rejected", "suspended"])
def test_unapproved_organization_is_hidden_except_from_its_staff(api, make, status):
    applicant = make.user()
    org = make.org(admin_user=applicant, status=status)
    db.session.commit()
    url = f"/organizations/{org.code}"
    assert_error(api.get(url), 404, "not_found")
    assert_error(api.get(url, token=token_for(make.user())), 404, "not_found")
    assert_error(api.get(url, token=token_for(make.org_admin_of(make.org()))), 404, "not_found")
    for token in (token_for(applicant), token_for(make.coordinator(org)), token_for(make.admin())):
        response = api.get(url, token=token)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["status"] == status
        assert response.get_json()["status_history"][0]["status"] == "pending"


# --- bodies that are not a JSON object --------------------------------------------------------------------------


NOT_AN_OBJECT = {
    "malformed": dict(data='{"name": "x",', content_type="application/json"),
    "array": dict(json=[{"decision": "approve"}]),
    "string": dict(json="approve"),
    "null": dict(data="null", content_type="application/json"),
    "number": dict(data="42", content_type="application/json"),
    "no body": dict(),
    "empty body": dict(data="", content_type="application/json"),
    "form encoded": dict(data={"decision": "approve"}),
    "not utf-8": dict(data=b'{"name": "\xff\xfe"}', content_type="application/json"),
    "deeply nested": dict(data="[" * 100_000 + "]" * 100_000, content_type="application/json"),
    "deeply nested object": dict(data='{"a":' * 100_000 + "1" + "}" * 100_000, content_type="application/json"),
}


@pytest.fixture
def json_endpoints(make):
    """(method, path, token) for every endpoint that reads a JSON body, each ready to accept a valid one."""
    org = make.org(status="pending")
    approved = make.org(join_mode="approval")
    user, volunteer, volunteer_token = _volunteer_token(make)
    apply_for_membership(user, approved)
    staff_token = token_for(make.org_admin_of(approved))
    return {
        "POST /organizations": ("POST", "/organizations", token_for(make.user())),
        "POST decision": ("POST", f"/organizations/{org.code}/decision", token_for(make.admin())),
        "PUT /me/volunteer": ("PUT", "/me/volunteer", token_for(make.user())),
        "POST member decision": ("POST", f"/organizations/{approved.code}/members/{volunteer.volunteer_number}"
                                         "/decision", staff_token),
    }


@pytest.mark.parametrize("body", list(NOT_AN_OBJECT))
@pytest.mark.parametrize("endpoint", ["POST /organizations", "POST decision", "PUT /me/volunteer",
                                      "POST member decision"])
def test_body_must_be_a_json_object(api, json_endpoints, endpoint, body):
    method, path, token = json_endpoints[endpoint]
    counts = {model: committed_count(model) for model in (Organization, OrganizationStatusChange, Volunteer)}
    memberships = committed_count(Membership, Membership.status == "pending")
    response = api.call(method, path, token=token, **NOT_AN_OBJECT[body])
    assert_error(response, 400, "invalid_json")
    assert {model: committed_count(model) for model in counts} == counts
    assert committed_count(Membership, Membership.status == "pending") == memberships


# --- text the database cannot store -----------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["name", "address", "person_in_charge", "description"])
def test_lone_surrogate_in_organization_text_is_refused(api, make, field):
    """JSON may escape a lone UTF-16 surrogate (\\ud800); no database can store it, so it must be a 4xx."""
    body = org_body(org_type="community_team", credit_code=None, **{field: "Helpers \ud800"})
    response = api.post("/organizations", token=token_for(make.user()), json=body)
    assert 400 <= response.status_code < 500, (response.status_code, response.get_json())
    assert_error_shape(response)
    assert committed_count(Organization) == 0


@pytest.mark.parametrize("field", ["name", "skills", "email"])
def test_lone_surrogate_in_volunteer_text_is_refused(api, make, field):
    value = {"name": "王\udfff芳", "skills": "first aid \ud83d", "email": "a\ud800@example.org"}[field]
    response = api.put("/me/volunteer", token=token_for(make.user()), json=volunteer_body(**{field: value}))
    assert 400 <= response.status_code < 500, (response.status_code, response.get_json())
    assert_error_shape(response)
    assert committed_count(Volunteer) == 0


def test_lone_surrogate_in_a_decision_reason_is_refused(api, make):
    org = make.org(status="pending")
    response = api.post(f"/organizations/{org.code}/decision", token=token_for(make.admin()),
                        json={"decision": "reject", "reason": "Incomplete \udfff"})
    assert 400 <= response.status_code < 500, (response.status_code, response.get_json())
    assert_error_shape(response)
    assert db.session.get(Organization, org.id).status == "pending"
    assert committed_count(OrganizationStatusChange, OrganizationStatusChange.organization_id == org.id) == 1


# --- the OpenAPI document ---------------------------------------------------------------------------------------


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolve(document: dict, ref: str):
    assert ref.startswith("#/"), ref
    node = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"unresolvable $ref {ref}"
        node = node[part]
    return node


def test_openapi_document_is_a_valid_3_1_structure(api):
    response = api.get("/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.get_json()
    assert re.fullmatch(r"3\.1\.\d+", document["openapi"])
    assert isinstance(document["info"]["title"], str) and document["info"]["title"]
    assert isinstance(document["info"]["version"], str) and document["info"]["version"]
    assert set(document) <= {"openapi", "info", "jsonSchemaDialect", "servers", "paths", "webhooks", "components",
                             "security", "tags", "externalDocs"}
    for server in document.get("servers", []):
        assert isinstance(server["url"], str)
    schemes = document["components"]["securitySchemes"]
    for scheme in schemes.values():
        assert scheme["type"] in ("apiKey", "http", "mutualTLS", "oauth2", "openIdConnect")
        if scheme["type"] == "http":
            assert scheme["scheme"].lower() == "bearer"
    for ref in _refs(document):
        _resolve(document, ref)
    for name, schema in document["components"]["schemas"].items():
        for required in schema.get("required", []):
            assert required in schema.get("properties", {}), f"{name}.{required} is required but not defined"

    operation_ids = []
    assert document["paths"]
    for path, item in document["paths"].items():
        assert path.startswith("/"), path
        template_params = set(re.findall(r"{([^{}]+)}", path))
        operations = {key: value for key, value in item.items() if key in HTTP_METHODS}
        assert operations, path
        assert set(item) - set(operations) <= {"summary", "description", "servers", "parameters", "$ref"}, path
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            parameters = [_resolve(document, p["$ref"]) if "$ref" in p else p
                          for p in item.get("parameters", []) + operation.get("parameters", [])]
            for parameter in parameters:
                assert parameter["in"] in ("query", "header", "path", "cookie"), where
                assert isinstance(parameter["name"], str), where
                assert "schema" in parameter or "content" in parameter, where
                if parameter["in"] == "path":
                    assert parameter.get("required") is True, where
            path_params = {p["name"] for p in parameters if p["in"] == "path"}
            assert path_params == template_params, where
            assert len({(p["name"], p["in"]) for p in parameters}) == len(parameters), f"duplicate parameter: {where}"
            assert operation["responses"], where
            for status, answer in operation["responses"].items():
                assert re.fullmatch(r"[1-5](\d\d|XX)|default", status), where
                answer = _resolve(document, answer["$ref"]) if "$ref" in answer else answer
                assert isinstance(answer["description"], str), f"{where} {status}"
                for media in answer.get("content", {}).values():
                    assert "schema" in media, f"{where} {status}"
                if status.startswith("4"):
                    schema = answer["content"]["application/json"]["schema"]
                    if schema != {"$ref": "#/components/schemas/Error"}:  # or an Error with more (a refused scan)
                        assert {"$ref": "#/components/schemas/Error"} in _resolve(document, schema["$ref"])[
                            "allOf"], f"{where} {status}"
            if "requestBody" in operation:
                assert operation["requestBody"]["content"], where
            for requirement in operation.get("security", []):
                assert set(requirement) <= set(schemes), where
            if "operationId" in operation:
                operation_ids.append(operation["operationId"])
    assert len(operation_ids) == len(set(operation_ids))


def test_openapi_paths_match_the_routes(app, api):
    document = api.get("/openapi.json").get_json()
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") or rule.rule == "/api/v1":
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes.add((openapi_path(rule.rule), method.lower()))
    documented = {(path, method) for path, item in document["paths"].items() for method in item
                  if method in HTTP_METHODS}
    assert routes, "no /api/v1 routes found"
    assert routes - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routes == set(), "documented operations without a route"


def test_every_status_the_api_answers_is_documented(api, make):
    """Each (operation, status) an integration can meet is listed in the OpenAPI document's responses."""
    document = api.get("/openapi.json").get_json()
    seen = []

    def call(method, template, path, **kwargs):
        response = api.call(method, path, **kwargs)
        seen.append((method, template, response.status_code, response.get_data(as_text=True)[:120]))
        return response

    admin_token = token_for(make.admin())
    pending = make.org(status="pending")
    pending_to_join = make.org(status="pending", join_mode="open")
    pending_staff = make.org_admin_of(pending_to_join)
    make.volunteer(pending_staff)
    pending_staff_token = token_for(pending_staff)
    approval = make.org(join_mode="approval")
    invitation = make.org(join_mode="invitation")
    staff_token = token_for(make.org_admin_of(approval))
    _user, volunteer, volunteer_token = _volunteer_token(make, birth_date=dt.date(1995, 3, 8))
    no_profile_token = token_for(make.user())
    bad = "vr_wrong"

    call("GET", "/openapi.json", "/openapi.json")
    for token in (volunteer_token, None, bad):
        call("GET", "/me", "/me", token=token)
    for query in ({}, {"page": "0"}):
        call("GET", "/organizations", "/organizations", query=query)
    for token, body in ((no_profile_token, org_body()), (None, org_body()), (no_profile_token, [1]),
                        (no_profile_token, org_body(region_code="x")),
                        (no_profile_token, org_body(credit_code=approval.credit_code))):
        call("POST", "/organizations", "/organizations", token=token, json=body)
    for path, token in ((f"/organizations/{approval.code}", None), ("/organizations/NOPE4444", None),
                        (f"/organizations/{pending.code}", bad)):
        call("GET", "/organizations/{code}", path, token=token)
    decide = f"/organizations/{pending.code}/decision"
    for path, token, body in ((decide, admin_token, {"decision": "reject"}), (decide, admin_token, "x"),
                              (decide, staff_token, {"decision": "approve"}), (decide, None, {"decision": "approve"}),
                              ("/organizations/NOPE4444/decision", admin_token, {"decision": "approve"}),
                              (f"/organizations/{approval.code}/decision", admin_token, {"decision": "approve"}),
                              (decide, admin_token, {"decision": "approve"})):
        call("POST", "/organizations/{code}/decision", path, token=token, json=body)
    for token in (volunteer_token, no_profile_token, None):
        call("GET", "/me/volunteer", "/me/volunteer", token=token)
    keep_id = volunteer_body(birth_date="1995-03-08", name="Updated")
    del keep_id["id_number"]
    for token, body in ((token_for(make.user()), volunteer_body()), (volunteer_token, keep_id),
                        (no_profile_token, volunteer_body()), (no_profile_token, volunteer_body(consent=False)),
                        (no_profile_token, []), (None, volunteer_body())):
        call("PUT", "/me/volunteer", "/me/volunteer", token=token, json=body)
    members = "/organizations/{code}/members"
    for path, token in ((f"/organizations/{approval.code}/members", volunteer_token),
                        (f"/organizations/{approval.code}/members", volunteer_token),
                        (f"/organizations/{invitation.code}/members", volunteer_token),
                        (f"/organizations/{approval.code}/members", no_profile_token),
                        (f"/organizations/{pending_to_join.code}/members", pending_staff_token),
                        ("/organizations/NOPE4444/members", volunteer_token),
                        (f"/organizations/{approval.code}/members", None)):
        call("POST", members, path, token=token)
    for token, query in ((staff_token, {}), (staff_token, {"status": "x"}), (volunteer_token, {}), (None, {})):
        call("GET", members, f"/organizations/{approval.code}/members", token=token, query=query)
    call("GET", members, "/organizations/NOPE4444/members", token=staff_token)
    decision = "/organizations/{code}/members/{volunteer_number}/decision"
    path = f"/organizations/{approval.code}/members/{volunteer.volunteer_number}/decision"
    for token, body in ((staff_token, {"decision": "x"}), (volunteer_token, {"decision": "approve"}),
                        (None, {"decision": "approve"}), (staff_token, {"decision": "approve"}),
                        (staff_token, {"decision": "approve"})):
        call("POST", decision, path, token=token, json=body)
    call("POST", decision, f"/organizations/{approval.code}/members/3333-3333-3333/decision", token=staff_token,
         json={"decision": "approve"})

    expected = {("PUT", "/me/volunteer", 201), ("PUT", "/me/volunteer", 200), ("POST", members, 201),
                ("POST", members, 409), ("POST", members, 403), ("POST", members, 422), ("POST", decision, 200),
                ("POST", decision, 409), ("POST", "/organizations", 201), ("POST", "/organizations", 409)}
    assert expected <= {(m, t, s) for m, t, s, _text in seen}, "the scenario no longer reaches every outcome"
    undocumented = sorted({(m, t, s, text) for m, t, s, text in seen
                           if str(s) not in documented_statuses(document, m, t)})
    assert all(s < 500 for _m, _t, s, _text in seen), [x for x in seen if x[2] >= 500]
    assert undocumented == [], "answered but not documented:\n" + "\n".join(map(str, undocumented))
