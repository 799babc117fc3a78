import datetime as dt

import pytest

from volunteer_registry.audit.models import AuditEvent
from volunteer_registry.extensions import db
from volunteer_registry.models import utcnow
from volunteer_registry.organizations.models import (
    Invitation,
    Membership,
    Organization,
    OrganizationStatusChange,
    StaffRole,
)
from volunteer_registry.organizations.services import (
    OrganizationError,
    accept_invitation,
    apply_for_membership,
    apply_for_organization,
    create_invitation,
    decide_membership,
    decide_organization,
    leave_organization,
    update_organization,
)

from ..conftest import valid_credit_code


def _count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def _actions() -> list[str]:
    return list(db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.id)))


def test_application_is_pending_and_applicant_becomes_admin(make):
    applicant = make.user()
    org = apply_for_organization(applicant, make.org_data(credit_code=" 91350100m000100y43 "))
    assert org.status == "pending" and org.credit_code == "91350100M000100Y43"
    assert len(org.code) == 8
    role = db.session.scalar(db.select(StaffRole).where(StaffRole.organization_id == org.id))
    assert (role.user_id, role.role) == (applicant.id, "admin")
    assert [c.to_status for c in org.status_changes] == ["pending"]
    assert "organization.applied" in _actions()


@pytest.mark.parametrize("overrides, code, field", [
    ({"name": ""}, "name_required", "name"),
    ({"org_type": "company"}, "org_type_unknown", "org_type"),
    ({"credit_code": None}, "credit_code_required", "credit_code"),
    ({"credit_code": "91350100M000100Y44"}, "credit_code_check_character", "credit_code"),
    ({"credit_code": "9135010"}, "credit_code_length", "credit_code"),
    ({"region_code": "110105"}, "region_unknown", "region_code"),
    ({"contact_phone": "12345"}, "phone_invalid", "contact_phone"),
    ({"contact_email": "not-an-email"}, "email_invalid", "contact_email"),
    ({"address": ""}, "field_required", "address"),
    ({"name": "x" * 121}, "too_long", "name"),
    ({"join_mode": "anyone"}, "join_mode_unknown", "join_mode"),
])
def test_application_refused_with_field(make, overrides, code, field):
    applicant = make.user()
    with pytest.raises(OrganizationError) as info:
        apply_for_organization(applicant, make.org_data(**overrides))
    assert (info.value.code, info.value.field) == (code, field)
    assert _count(Organization) == 0


def test_community_team_needs_no_credit_code(make):
    org = apply_for_organization(make.user(), make.org_data(org_type="community_team", credit_code=None))
    assert org.credit_code is None


def test_credit_code_is_unique(make):
    code = valid_credit_code()
    make.org(credit_code=code)
    with pytest.raises(OrganizationError) as info:
        apply_for_organization(make.user(), make.org_data(credit_code=code))
    assert info.value.code == "credit_code_taken" and info.value.http_status == 409


def test_status_lifecycle_is_recorded(make):
    admin = make.admin()
    org = make.org(status="pending")
    decide_organization(admin, org, "approve")
    decide_organization(admin, org, "suspend", "Complaints under review")
    assert org.status == "suspended" and org.status_reason == "Complaints under review"
    decide_organization(admin, org, "reinstate")
    history = db.session.scalars(db.select(OrganizationStatusChange)
                                 .where(OrganizationStatusChange.organization_id == org.id)
                                 .order_by(OrganizationStatusChange.id)).all()
    assert [(h.from_status, h.to_status) for h in history] == [
        (None, "pending"), ("pending", "approved"), ("approved", "suspended"), ("suspended", "approved")]
    assert history[2].actor_id == admin.id
    assert {"organization.approve", "organization.suspend", "organization.reinstate"} <= set(_actions())


@pytest.mark.parametrize("status, decision, reason, code", [
    ("approved", "approve", None, "decision_not_allowed"),
    ("pending", "suspend", "x", "decision_not_allowed"),
    ("pending", "reject", "", "reason_required"),
    ("approved", "suspend", "  ", "reason_required"),
    ("rejected", "reinstate", None, "decision_not_allowed"),
    ("pending", "delete", None, "decision_unknown"),
])
def test_decisions_refused(make, status, decision, reason, code):
    org = make.org(status=status)
    before = org.status
    with pytest.raises(OrganizationError) as info:
        decide_organization(make.admin(), org, decision, reason)
    assert info.value.code == code
    assert org.status == before


def test_rejected_application_goes_back_to_review_when_edited(make):
    applicant = make.user()
    org = make.org(admin_user=applicant, status="rejected")
    update_organization(applicant, org, make.org_data(name="Fixed name", credit_code=org.credit_code))
    assert org.status == "pending" and org.name == "Fixed name"


def test_staff_invitation_is_single_use(make):
    org = make.org()
    org_admin = make.org_admin_of(org)
    invitation, token = create_invitation(org_admin, org, "coordinator", "for Dorje")
    assert db.session.get(Invitation, invitation.id).token_hash != token
    coordinator = make.user()
    accept_invitation(coordinator, token)
    role = db.session.scalar(db.select(StaffRole).where(StaffRole.user_id == coordinator.id))
    assert (role.organization_id, role.role) == (org.id, "coordinator")
    with pytest.raises(OrganizationError) as info:
        accept_invitation(make.user(), token)
    assert info.value.code == "invitation_invalid"


def test_expired_invitation_refused(make):
    org = make.org()
    invitation, token = create_invitation(make.org_admin_of(org), org, "coordinator")
    invitation.expires_at = utcnow() - dt.timedelta(seconds=1)
    with pytest.raises(OrganizationError) as info:
        accept_invitation(make.user(), token)
    assert info.value.code == "invitation_invalid"


def test_org_admin_is_never_downgraded_by_an_invitation(make):
    org = make.org()
    org_admin = make.org_admin_of(org)
    _inv, token = create_invitation(org_admin, org, "coordinator")
    with pytest.raises(OrganizationError) as info:
        accept_invitation(org_admin, token)
    assert info.value.code == "already_staff"
    assert db.session.scalar(db.select(StaffRole.role).where(StaffRole.user_id == org_admin.id)) == "admin"


def test_membership_by_approval(make):
    org = make.org(join_mode="approval")
    volunteer = make.volunteer()
    user = make.account_of(volunteer)
    membership = apply_for_membership(user, org)
    assert membership.status == "pending"
    with pytest.raises(OrganizationError) as info:
        apply_for_membership(user, org)
    assert info.value.code == "already_applied"
    coordinator = make.coordinator(org)
    decide_membership(coordinator, membership, approve=False)
    assert membership.status == "declined" and membership.decided_by_id == coordinator.id
    with pytest.raises(OrganizationError) as info:
        decide_membership(coordinator, membership, approve=True)
    assert info.value.code == "membership_not_pending"
    # a declined volunteer may ask again; the same row is reused
    again = apply_for_membership(user, org)
    assert again.id == membership.id and again.status == "pending"
    decide_membership(coordinator, again, approve=True)
    assert again.status == "active"
    leave_organization(user, org)
    assert again.status == "left"
    assert _count(Membership) == 1


def test_open_and_invitation_modes(make):
    open_org = make.org(join_mode="open")
    closed_org = make.org(join_mode="invitation")
    user = make.account_of(make.volunteer())
    assert apply_for_membership(user, open_org).status == "active"
    with pytest.raises(OrganizationError) as info:
        apply_for_membership(user, closed_org)
    assert info.value.code == "membership_invitation_only"
    _inv, token = create_invitation(make.org_admin_of(closed_org), closed_org, "member")
    accept_invitation(user, token)
    membership = db.session.scalar(db.select(Membership).where(Membership.organization_id == closed_org.id))
    assert membership.status == "active"


def test_membership_needs_profile_and_approved_org(make):
    with pytest.raises(OrganizationError) as info:
        apply_for_membership(make.user(), make.org())
    assert info.value.code == "volunteer_profile_required"
    user = make.account_of(make.volunteer())
    for status in ("pending", "suspended", "rejected"):
        with pytest.raises(OrganizationError) as info:
            apply_for_membership(user, make.org(status=status))
        assert info.value.code == "organization_not_active"
    assert _count(Membership) == 0
