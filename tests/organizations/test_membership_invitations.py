"""Membership needs consent: a person an organization names (an import row) is invited, joins only by accepting,
and until then counts as a member nowhere and shows the organization nothing of their record."""
import pytest

from volunteer_registry.accounts.deletion import delete_account
from volunteer_registry.accounts.services import create_api_token
from volunteer_registry.audit.models import AuditEvent
from volunteer_registry.errors import NotFound
from volunteer_registry.extensions import db
from volunteer_registry.organizations.queries import member_counts
from volunteer_registry.organizations.services import (
    OrganizationError,
    accept_membership_invitation,
    apply_for_membership,
    decide_organization,
    decline_membership_invitation,
    invite_member,
)
from volunteer_registry.records.services import is_active_member
from volunteer_registry.reports.queries import organization_stats

from ..conftest import PASSWORD, login


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == action)))


@pytest.fixture
def invited(make):
    """(organization, volunteer, membership): the volunteer is invited by the organization (as an import does)."""
    org = make.org()
    volunteer = make.volunteer(name="卓玛", email="zhuoma@example.org")
    membership, outcome = invite_member(make.org_admin_of(org), org, volunteer)
    assert outcome == "invited"
    return org, volunteer, membership


# --- services ------------------------------------------------------------------------------------------------------

def test_accepting_makes_an_active_member(make, invited):
    org, volunteer, membership = invited
    user = make.account_of(volunteer)
    assert accept_membership_invitation(user, membership).status == "active"
    assert (membership.decided_by_id, is_active_member(org, volunteer)) == (user.id, True)
    [event] = _events("membership.invitation_accepted")
    assert (event.actor_id, event.organization_id, event.details["volunteer"]) == (user.id, org.id,
                                                                                    volunteer.volunteer_number)
    with pytest.raises(OrganizationError) as info:
        decline_membership_invitation(user, membership)
    assert info.value.code == "membership_not_invited"
    assert membership.status == "active"


def test_declining_leaves_a_refusal_and_no_second_invitation(make, invited):
    org, volunteer, membership = invited
    user = make.account_of(volunteer)
    assert decline_membership_invitation(user, membership).status == "refused"
    [event] = _events("membership.invitation_declined")
    assert (event.actor_id, event.organization_id) == (user.id, org.id)
    with pytest.raises(OrganizationError) as info:
        accept_membership_invitation(user, membership)
    assert info.value.code == "membership_not_invited"
    assert invite_member(make.org_admin_of(org), org, volunteer) == (membership, "refused")
    assert membership.status == "refused" and len(_events("membership.invited")) == 1
    # she may still ask to join herself
    assert apply_for_membership(user, org).status == "pending"


@pytest.mark.parametrize("who", ["another volunteer", "the org admin", "a platform admin"])
def test_only_the_invited_person_can_answer(make, invited, who):
    org, _volunteer, membership = invited
    actor = {"another volunteer": lambda: make.account_of(make.volunteer(name="王芳")),
             "the org admin": lambda: make.org_admin_of(org), "a platform admin": make.admin}[who]()
    for answer in (accept_membership_invitation, decline_membership_invitation):
        with pytest.raises(NotFound):
            answer(actor, membership)
    assert membership.status == "invited"
    assert _events("membership.invitation_accepted") == _events("membership.invitation_declined") == []


def test_an_invitation_of_a_suspended_organization_cannot_be_accepted(make, invited):
    org, volunteer, membership = invited
    decide_organization(make.admin(), org, "suspend", "under review")
    with pytest.raises(OrganizationError) as info:
        accept_membership_invitation(make.account_of(volunteer), membership)
    assert info.value.code == "organization_not_active"
    assert membership.status == "invited"


def test_asking_to_join_an_organization_that_invited_her_accepts(make):
    org = make.org(join_mode="invitation")
    volunteer = make.volunteer()
    membership, _outcome = invite_member(make.org_admin_of(org), org, volunteer)
    assert apply_for_membership(make.account_of(volunteer), org).status == "active"
    assert membership.status == "active" and len(_events("membership.invitation_accepted")) == 1


def test_the_invited_count_as_members_nowhere(make, invited):
    org, volunteer, _membership = invited
    assert member_counts(org) == {"invited": 1}
    assert organization_stats(org).members == 0
    assert not is_active_member(org, volunteer)


def test_deleting_the_account_declines_open_invitations(make, invited):
    _org, volunteer, membership = invited
    delete_account(make.account_of(volunteer), PASSWORD)
    assert membership.status == "refused"


# --- pages ---------------------------------------------------------------------------------------------------------

def test_the_volunteer_sees_the_invitation_and_accepts_it(client, make, invited):
    org, volunteer, membership = invited
    db.session.commit()
    login(client, make.account_of(volunteer))
    inbox = client.get("/notifications").get_data(as_text=True)
    assert f"{org.name} invites you to become a member" in inbox and f'href="/organizations/{org.code}"' in inbox
    for url in ("/volunteer", f"/organizations/{org.code}"):
        page = client.get(url).get_data(as_text=True)
        assert "has invited you to become a member" in page
        assert f'action="/organizations/{org.code}/invitation/accept"' in page
        assert f'action="/organizations/{org.code}/invitation/decline"' in page
    response = client.post(f"/organizations/{org.code}/invitation/accept")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/organizations/{org.code}")
    db.session.rollback()
    assert membership.status == "active"
    assert "You are a member." in client.get(f"/organizations/{org.code}").get_data(as_text=True)
    assert len(_events("membership.invitation_accepted")) == 1


def test_the_volunteer_declines_and_the_organization_sees_only_that(client, make, invited, app):
    org, volunteer, membership = invited
    db.session.commit()
    login(client, make.account_of(volunteer))
    assert client.post(f"/organizations/{org.code}/invitation/decline").status_code == 302
    db.session.rollback()
    assert membership.status == "refused" and len(_events("membership.invitation_declined")) == 1
    staff = app.test_client()
    login(staff, make.org_admin_of(org))
    page = staff.get(f"/organizations/{org.code}/members?status=refused").get_data(as_text=True)
    assert "Declined the invitation" in page and volunteer.name in page
    for secret in (volunteer.volunteer_number, volunteer.id_number_masked, volunteer.phone, volunteer.email):
        assert secret not in page


def test_another_person_gets_not_found(client, make, invited):
    org, _volunteer, membership = invited
    other = make.volunteer(name="王芳")
    db.session.commit()
    login(client, make.account_of(other))
    for answer in ("accept", "decline"):
        assert client.post(f"/organizations/{org.code}/invitation/{answer}").status_code == 404
    login(client, make.org_admin_of(org))
    assert client.post(f"/organizations/{org.code}/invitation/accept").status_code == 404
    db.session.rollback()
    assert membership.status == "invited"


def test_staff_see_an_invited_person_as_invited_and_nothing_of_her_record(client, make, invited):
    org, volunteer, membership = invited
    db.session.commit()
    login(client, make.org_admin_of(org))
    secrets = (volunteer.volunteer_number, volunteer.id_number_masked, volunteer.phone, volunteer.email)
    page = client.get(f"/organizations/{org.code}/members").get_data(as_text=True)
    assert volunteer.name in page and "Invited" in page
    for secret in secrets:
        assert secret not in page
    # no full ID number, no decision, no records page for someone who is not a member
    assert client.post(f"/organizations/{org.code}/members/{membership.id}/id-number").status_code == 404
    assert client.post(f"/organizations/{org.code}/members/{membership.id}/decision",
                       data={"decision": "approve"}).status_code == 404
    assert client.get(f"/organizations/{org.code}/members/{volunteer.volunteer_number}/records").status_code == 404
    manage = client.get(f"/organizations/{org.code}/manage").get_data(as_text=True)
    assert '<h2>Members</h2><p class="number">0</p>' in manage
    export = client.get(f"/organizations/{org.code}/exports/members.csv").get_data(as_text=True)
    assert volunteer.name in export and "Invited" in export
    for secret in secrets:
        assert secret not in export
    _token, plaintext = create_api_token(make.org_admin_of(org), "integration")
    db.session.commit()
    body = client.get(f"/api/v1/organizations/{org.code}/members?status=invited",
                      headers={"Authorization": f"Bearer {plaintext}"}).get_json()
    assert [(m["name"], m["status"], m["volunteer_number"], m["id_number_masked"]) for m in body["items"]] == [
        (volunteer.name, "invited", None, None)]
    decided = client.post(f"/api/v1/organizations/{org.code}/members/{volunteer.volunteer_number}/decision",
                          json={"decision": "approve"}, headers={"Authorization": f"Bearer {plaintext}"})
    assert decided.status_code == 404
    db.session.rollback()
    assert membership.status == "invited"
