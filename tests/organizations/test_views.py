"""Organization pages: applying, the civil-affairs review, the directory, staff and members."""
import re

from volunteer_registry.audit.models import AuditEvent
from volunteer_registry.extensions import db
from volunteer_registry.organizations.models import Membership, Organization, StaffRole

from ..conftest import login, valid_credit_code

FORM = {"name": "城西区助残志愿服务队", "org_type": "social_group", "region_code": "630104",
        "address": "西宁市城西区五四大街 1 号", "person_in_charge": "韩梅", "contact_phone": "0971-6123456",
        "contact_email": "help@example.org", "description": "助残服务", "join_mode": "approval"}


def test_application_form_shows_the_credit_code_error_next_to_the_field(client, make):
    user = make.user()
    db.session.commit()
    login(client, user)
    response = client.post("/organizations/apply", data=dict(FORM, credit_code="91350100M000100Y44"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    error = re.search(r'<p class="error" id="credit_code-error" role="alert">([^<]*)</p>', page)
    assert error and "check character does not match" in error.group(1)
    assert 'value="城西区助残志愿服务队"' in page  # nothing typed is lost
    assert db.session.scalar(db.select(db.func.count()).select_from(Organization)) == 0


def test_apply_review_and_see_the_decision(client, make, app):
    applicant, admin = make.user(), make.admin()
    db.session.commit()
    login(client, applicant)
    code = valid_credit_code()
    response = client.post("/organizations/apply", data=dict(FORM, credit_code=code))
    assert response.status_code == 302
    org = db.session.scalar(db.select(Organization))
    assert org.status == "pending" and org.credit_code == code
    assert "waiting for the civil-affairs department" in client.get(response.headers["Location"]).get_data(as_text=True)

    reviewer = app.test_client()
    login(reviewer, admin)
    queue = reviewer.get("/admin/organizations").get_data(as_text=True)
    assert FORM["name"] in queue
    response = reviewer.post(f"/admin/organizations/{org.code}/decision", data={"decision": "reject", "reason": ""})
    assert response.status_code == 302 and org.status == "pending"  # a rejection needs a reason
    reviewer.post(f"/admin/organizations/{org.code}/decision",
                  data={"decision": "reject", "reason": "请补充登记证书扫描件"})
    assert org.status == "rejected"
    page = client.get(f"/organizations/{org.code}/manage").get_data(as_text=True)
    assert "请补充登记证书扫描件" in page
    # the applicant fixes the details; the application returns to review; the reviewer approves it
    client.post(f"/organizations/{org.code}/edit", data=dict(FORM, credit_code=code, name="城西区助残服务队"))
    assert org.status == "pending"
    reviewer.post(f"/admin/organizations/{org.code}/decision", data={"decision": "approve", "reason": ""})
    assert org.status == "approved"
    assert "城西区助残服务队" in client.get("/organizations").get_data(as_text=True)
    actions = set(db.session.scalars(db.select(AuditEvent.action).where(AuditEvent.organization_id == org.id)))
    assert {"organization.applied", "organization.reject", "organization.updated", "organization.approve"} <= actions


def test_directory_search_by_name_and_region(client, make):
    make.org(name="玉树市应急救援队", region_code="632701")
    make.org(name="西宁敬老服务社", region_code="630102")
    make.org(name="西宁未审核组织", region_code="630102", status="pending")
    db.session.commit()
    page = client.get("/organizations?q=西宁").get_data(as_text=True)
    assert "西宁敬老服务社" in page and "玉树市应急救援队" not in page and "未审核" not in page
    page = client.get("/organizations?region=632700").get_data(as_text=True)  # a prefecture includes its counties
    assert "玉树市应急救援队" in page and "西宁敬老服务社" not in page
    assert "No organization matches" in client.get("/organizations?q=%25").get_data(as_text=True)


def test_invite_a_coordinator_by_link(client, make, app):
    org = make.org()
    db.session.commit()
    login(client, make.org_admin_of(org))
    page = client.post(f"/organizations/{org.code}/invitations", data={"role": "coordinator", "note": "Dorje"})
    link = re.search(r'<p class="secret">http://registry.test(/invitations/[^<]+)</p>', page.get_data(as_text=True))
    assert link
    invitee = make.user()
    db.session.commit()
    other = app.test_client()
    login(other, invitee)
    assert other.post(link.group(1)).status_code == 302
    assert db.session.scalar(db.select(StaffRole.role).where(StaffRole.user_id == invitee.id)) == "coordinator"
    assert other.get(f"/organizations/{org.code}/members").status_code == 200
    assert other.get(link.group(1)).status_code == 404  # used


def test_coordinator_cannot_invite_an_org_admin(client, make):
    org = make.org()
    coordinator = make.coordinator(org)
    db.session.commit()
    login(client, coordinator)
    page = client.get(f"/organizations/{org.code}/invitations").get_data(as_text=True)
    assert 'value="member"' in page and 'value="admin"' not in page
    response = client.post(f"/organizations/{org.code}/invitations", data={"role": "admin"})
    assert "secret" not in response.get_data(as_text=True)


def test_join_and_approve_and_reveal_audited(client, make, app):
    org = make.org(join_mode="approval")
    volunteer = make.volunteer(name="尼玛")
    coordinator = make.coordinator(org)
    db.session.commit()
    login(client, make.account_of(volunteer))
    client.post(f"/organizations/{org.code}/join")
    membership = db.session.scalar(db.select(Membership))
    assert membership.status == "pending"
    assert "waiting for approval" in client.get(f"/organizations/{org.code}").get_data(as_text=True)

    staff = app.test_client()
    login(staff, coordinator)
    page = staff.get(f"/organizations/{org.code}/members?status=pending").get_data(as_text=True)
    assert "尼玛" in page and volunteer.id_number_masked in page
    staff.post(f"/organizations/{org.code}/members/{membership.id}/decision", data={"decision": "approve"})
    assert membership.status == "active"
    # coordinators do not see full ID numbers; org admins do, and each view is audited
    assert staff.post(f"/organizations/{org.code}/members/{membership.id}/id-number").status_code == 403
    admin = app.test_client()
    login(admin, make.org_admin_of(org))
    from volunteer_registry.volunteers.vault import decrypt_id_number
    full = decrypt_id_number(volunteer.id_number_encrypted)
    assert full not in page
    assert full in admin.post(f"/organizations/{org.code}/members/{membership.id}/id-number").get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "volunteer.id_number_viewed")) == 1


def test_audit_log_filters(client, make):
    admin = make.admin()
    org_a, org_b = make.org(), make.org()
    db.session.commit()
    login(client, admin)
    page = client.get(f"/admin/audit?org={org_a.code}").get_data(as_text=True)
    assert org_a.name in page and org_b.name not in page
    page = client.get("/admin/audit?action=organization.approve").get_data(as_text=True)
    assert page.count("<code>organization.approve</code>") == 2
    page = client.get(f"/admin/audit?actor={admin.email}").get_data(as_text=True)
    assert page.count("<code>account.created</code>") == 1 and "organization.approve" not in page.split("<tbody>")[1]
    assert "No event matches." in client.get("/admin/audit?actor=nobody@example.org").get_data(as_text=True)


def test_directory_pages_through_many_organizations_in_both_languages(client, make):
    for i in range(23):
        make.org(name=f"Team {i:02d}")
    db.session.commit()
    for language in ("en", "zh-CN"):
        first = client.get("/organizations?q=Team", headers={"Accept-Language": language})
        assert first.status_code == 200
        link = re.search(r'href="(/organizations\?[^"]*page=2[^"]*)"', first.get_data(as_text=True))
        assert link and "q=Team" in link.group(1)
        second = client.get(link.group(1).replace("&amp;", "&"), headers={"Accept-Language": language})
        page = second.get_data(as_text=True)
        assert second.status_code == 200 and "Team 22" in page and "Team 00" not in page


def test_error_pages_are_translated(client):
    page = client.get("/no-such-page", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "The requested URL was not found" not in page and "<h1>Not found</h1>" not in page
