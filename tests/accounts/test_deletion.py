"""Deleting an account: the person is anonymised (sign-in details, name, ID number, contacts), their service and
certificates stay valid and verifiable, the ledger still verifies, and the same person can register again."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from volunteer_registry.accounts.deletion import DELETED_NAME, delete_account
from volunteer_registry.accounts.models import User
from volunteer_registry.accounts.services import AccountError, authenticate, create_api_token, user_for_api_token
from volunteer_registry.activities.models import Signup
from volunteer_registry.activities.services import sign_up
from volunteer_registry.audit.models import AuditEvent
from volunteer_registry.certificates.models import CertificateDocument
from volunteer_registry.certificates.services import certificate_pdf, issue_certificate, today
from volunteer_registry.extensions import db
from volunteer_registry.ledger.log import extend_log, verify_ledger
from volunteer_registry.ledger.models import LedgerState
from volunteer_registry.notifications.models import Delivery, Notification
from volunteer_registry.organizations.models import Membership
from volunteer_registry.organizations.services import apply_for_membership
from volunteer_registry.verification.services import verify_token
from volunteer_registry.volunteers.models import Volunteer
from volunteer_registry.volunteers.vault import decrypt_id_number

from ..certificates.conftest import approved_service
from ..conftest import PASSWORD, login, valid_resident_id


@pytest.fixture
def person(make):
    """A volunteer with an account, 5 h of approved service, a certificate, a membership, an upcoming sign-up and
    an API token."""
    org = make.org(name="西宁市城东区志愿者协会", join_mode="open")
    admin = make.org_admin_of(org)
    admin.display_name = "马晓东"  # a certificate prints its handler's name
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    past = make.activity(org, starts_at=now - dt.timedelta(days=20), ends_at=now + dt.timedelta(days=1))
    upcoming = make.activity(org, starts_at=now + dt.timedelta(days=3), ends_at=now + dt.timedelta(days=3, hours=4))
    user = make.user("zhuoma@example.org")
    number = valid_resident_id(birth=dt.date(1995, 3, 8), gender="female")
    volunteer = make.volunteer(user, name="卓玛", id_number=number, email="zhuoma@example.org")
    apply_for_membership(user, org)
    approved_service(make, past, volunteer, 300, days_ago=5, approver=admin)
    sign_up(user, upcoming)
    certificate = issue_certificate(admin, org, volunteer, today() - dt.timedelta(days=30), today())
    _token, plaintext = create_api_token(user, "phone")
    extend_log()
    db.session.commit()
    return user, volunteer, certificate, number, plaintext


def test_deleting_anonymises_the_person_and_keeps_the_service(app, person):
    user, volunteer, certificate, number, token = person
    minutes = db.session.scalar(sa.select(sa.func.sum(LedgerState.minutes)).where(
        LedgerState.volunteer_id == volunteer.id, LedgerState.status == "approved"))
    # hours approved, a sign-up accepted, a certificate issued: told in the app and by email to their address
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Delivery).where(
        Delivery.to == "zhuoma@example.org")) == 3
    delete_account(user, PASSWORD)
    db.session.commit()
    db.session.expire_all()
    # their notifications go with the addresses they went to; nothing of theirs is left to send
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.user_id == user.id)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Delivery).where(
        Delivery.to == "zhuoma@example.org")) == 0

    user, volunteer = db.session.get(User, user.id), db.session.get(Volunteer, volunteer.id)
    assert user.email.endswith("@deleted.invalid") and user.phone is None and user.is_disabled and user.deleted_at
    assert (volunteer.name, volunteer.phone, volunteer.email, volunteer.id_number_masked, volunteer.user_id) == (
        DELETED_NAME, "", None, "—", None)
    assert decrypt_id_number(volunteer.id_number_encrypted) == "" and number[-4:] not in volunteer.id_number_hash
    assert volunteer.birth_date == dt.date(1995, 1, 1)  # the year stays, for the statistics by age
    # no trace of the name or the ID number is left in the person's rows
    for row in (user, volunteer, certificate):
        text = repr({c.key: getattr(row, c.key) for c in sa.inspect(row).mapper.column_attrs})
        assert "卓玛" not in text and number not in text and "zhuoma" not in text
    assert db.session.get(CertificateDocument, certificate.id) is None  # the stored PDF named them

    # signing in and the API token are over
    with pytest.raises(AccountError):
        authenticate("zhuoma@example.org", PASSWORD)
    assert user_for_api_token(token) is None
    # upcoming sign-up withdrawn, membership ended
    assert {s.status for s in db.session.scalars(sa.select(Signup).where(Signup.volunteer_id == volunteer.id))} == {
        "withdrawn"}
    assert {m.status for m in db.session.scalars(sa.select(Membership).where(
        Membership.volunteer_id == volunteer.id))} == {"left"}

    # the service stays: the same approved minutes, the log verifies, the certificate verifies as issued
    assert db.session.scalar(sa.select(sa.func.sum(LedgerState.minutes)).where(
        LedgerState.volunteer_id == volunteer.id, LedgerState.status == "approved")) == minutes == 300
    assert not verify_ledger().problems
    verdict = verify_token(certificate.token)
    assert verdict.outcome == "valid" and verdict.certificate.masked_name == "卓*"
    pdf = certificate_pdf(verdict.certificate)  # a download renders again, from the anonymised content
    assert pdf.startswith(b"%PDF")
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "account.deleted")).all()
    assert len(events) == 1 and events[0].actor_id == user.id


def test_the_same_person_can_register_again(app, make, person):
    user, _volunteer, _certificate, number, _token = person
    delete_account(user, PASSWORD)
    db.session.commit()
    again = make.volunteer(make.user("zhuoma@example.org"), name="卓玛", id_number=number)
    db.session.commit()
    assert again.id != person[1].id


def test_deleting_needs_the_password_and_no_staff_role(app, make, person):
    user = person[0]
    with pytest.raises(AccountError) as refused:
        delete_account(user, "not my password")
    assert refused.value.code == "invalid_credentials" and refused.value.field == "password"
    coordinator = make.coordinator(make.org(name="湟中区鲁沙尔镇老年协会"))
    with pytest.raises(AccountError) as refused:
        delete_account(coordinator, PASSWORD)
    assert refused.value.code == "staff_role_held" and "湟中区鲁沙尔镇老年协会" in refused.value.message
    with pytest.raises(AccountError) as refused:
        delete_account(make.admin(), PASSWORD)
    assert refused.value.code == "platform_admin"
    db.session.rollback()
    assert db.session.get(User, user.id).deleted_at is None


def test_the_account_page_deletes_and_signs_out(app, client, person):
    user = person[0]
    login(client, user)
    page = client.get("/account").get_data(as_text=True)
    assert "Delete my account" in page
    unticked = client.post("/account/delete", data={"password": PASSWORD})
    assert unticked.status_code == 422 and "Tick the box to confirm." in unticked.get_data(as_text=True)
    wrong = client.post("/account/delete", data={"password": "wrong", "understood": "y"})
    assert wrong.status_code == 422 and "The account or password is not correct." in wrong.get_data(as_text=True)
    assert db.session.get(User, user.id).deleted_at is None
    done = client.post("/account/delete", data={"password": PASSWORD, "understood": "y"})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).deleted_at is not None
    assert client.get("/account").status_code == 302  # signed out
