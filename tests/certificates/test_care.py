"""Certificates issued with care: nobody certifies their own service (on every path), civil affairs issues what no
org admin may and revokes any certificate, a volunteer holds one valid certificate per period, and the handler
printed is a person's name."""
from __future__ import annotations

import datetime as dt
import subprocess
import threading

import pytest
import sqlalchemy as sa

from volunteer_registry.accounts.models import User
from volunteer_registry.audit.models import AuditEvent
from volunteer_registry.certificates.models import Certificate, CertificateRequest
from volunteer_registry.certificates.queries import requests_for_civil_affairs
from volunteer_registry.certificates.services import (
    CertificateError,
    certificate_pdf,
    issue_batch,
    issue_certificate,
    issue_requested,
    issues_on_behalf,
    reissue_certificate,
    request_certificate,
    revoke_certificate,
    today,
)
from volunteer_registry.errors import Forbidden
from volunteer_registry.extensions import db
from volunteer_registry.integrity.services import IntegrityRefusal
from volunteer_registry.ledger.models import LedgerEntry
from volunteer_registry.organizations.models import Organization, StaffRole
from volunteer_registry.volunteers.models import Volunteer
from volunteer_registry.volunteers.queries import volunteer_for_user

from ..api.conftest import token_for
from ..conftest import login
from .conftest import approved_service

MONTH = (today() - dt.timedelta(days=30), today())


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def certificates_written() -> tuple[int, int]:
    """Certificates, and the ledger's certificate and revocation entries."""
    return count(Certificate), count(LedgerEntry, LedgerEntry.kind.in_(("certificate", "revocation")))


def refusals() -> list[tuple[int, str, str]]:
    """The integrity.refused audit events: (actor, code, refused action)."""
    return [(e.actor_id, e.details["code"], e.details["refused"]) for e in db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "integrity.refused").order_by(AuditEvent.id))]


def add_admin(make, org, name: str | None = "才让"):
    """Another org admin of ``org``; with a volunteer profile (their real name) unless ``name`` is None."""
    user = make.user()
    db.session.add(StaffRole(organization_id=org.id, user_id=user.id, role="admin"))
    if name:
        make.volunteer(user, name=name, gender="male")
    db.session.flush()
    return user


@pytest.fixture
def own(make, certified):
    """The org admin (马晓东) also served the organization: 2 h, recorded and approved by two coordinators."""
    org, admin, _zhuoma, coordinator, (_river, library) = certified
    mine = volunteer_for_user(admin)
    approved_service(make, library, mine, 120, days_ago=4, recorder=coordinator, approver=make.coordinator(org))
    db.session.commit()
    return mine


# --- nobody certifies their own service ----------------------------------------------------------------------------

def test_an_org_admin_issues_no_certificate_of_their_own_on_any_path_and_each_refusal_is_audited(certified, own):
    org, admin, zhuoma, _coordinator, _activities = certified
    request_ = request_certificate(own, org, *MONTH)
    db.session.commit()
    attempts = [
        lambda: issue_certificate(admin, org, own, *MONTH),
        lambda: issue_batch(admin, org, [zhuoma, own], *MONTH),  # all or nothing: 卓玛 is not issued either
        lambda: issue_requested(admin, request_),
    ]
    for attempt in attempts:
        with pytest.raises(IntegrityRefusal) as refused:
            attempt()
        assert (refused.value.code, refused.value.http_status) == ("conflict_of_interest", 403)
        db.session.rollback()
    assert certificates_written() == (0, 0)
    assert db.session.get(CertificateRequest, request_.id).status == "pending"
    # the refusals outlive the rollbacks
    assert refusals() == [(admin.id, "conflict_of_interest", "certificate.issue")] * 3
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "integrity.refused"))
    assert (event.organization_id, event.details["volunteer_id"]) == (org.id, own.id)


def test_another_org_admin_issues_theirs_and_only_they_reissue_or_revoke_it(make, certified, own):
    org, admin, _zhuoma, _coordinator, _activities = certified
    other = add_admin(make, org)
    certificate = issue_certificate(other, org, own, *MONTH, render=False)
    db.session.commit()
    assert (certificate.minutes, certificate.content["handler"]) == (120, "才让")
    for attempt, action in ((lambda: reissue_certificate(admin, certificate, "hours corrected"), "certificate.reissue"),
                            (lambda: revoke_certificate(admin, certificate, "issued in error"), "certificate.revoke")):
        with pytest.raises(IntegrityRefusal) as refused:
            attempt()
        assert refused.value.code == "conflict_of_interest"
        db.session.rollback()
        assert refusals()[-1] == (admin.id, "conflict_of_interest", action)
    db.session.refresh(certificate)
    assert certificate.status == "valid" and certificates_written() == (1, 1)
    new = reissue_certificate(other, certificate, "hours corrected", render=False)
    assert (certificate.status, new.status) == ("superseded", "valid")


def test_the_certificate_page_offers_no_reissue_or_revoke_of_ones_own(app, make, certified, own):
    org, admin, _zhuoma, _coordinator, _activities = certified
    certificate = issue_certificate(add_admin(make, org), org, own, *MONTH, render=False)
    db.session.commit()
    client = app.test_client()
    login(client, admin)
    page = client.get(f"/certificates/{certificate.code}").get_data(as_text=True)
    assert "This certificate is of your own service" in page and "Revoke" not in page
    refused = client.post(f"/certificates/{certificate.code}/revoke", data={"reason": "mine"}, follow_redirects=True)
    assert "This is your own service record" in refused.get_data(as_text=True)
    db.session.refresh(certificate)
    assert certificate.status == "valid" and len(refusals()) == 1


def test_the_api_refuses_to_issue_ones_own_certificate(client, certified, own):
    org, admin, _zhuoma, _coordinator, _activities = certified
    response = client.post("/api/v1/certificates", headers={"Authorization": f"Bearer {token_for(admin)}"}, json={
        "volunteer_number": own.volunteer_number, "organization": org.code,
        "period_start": MONTH[0].isoformat(), "period_end": MONTH[1].isoformat()})
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "conflict_of_interest"
    db.session.rollback()
    assert certificates_written() == (0, 0) and refusals() == [(admin.id, "conflict_of_interest", "certificate.issue")]


def test_the_command_line_leaves_the_issuers_own_out_and_refuses_it_when_named(app, certified, own):
    org, admin, zhuoma, _coordinator, _activities = certified
    runner = app.test_cli_runner()
    args = ["certificates", "issue-batch", "--organization", org.code, "--from", MONTH[0].isoformat(),
            "--to", MONTH[1].isoformat(), "--as", admin.identifier, "--no-render"]
    named = runner.invoke(args=args + ["--volunteer", zhuoma.volunteer_number, "--volunteer", own.volunteer_number])
    assert named.exit_code == 2 and "conflict_of_interest" in named.output
    assert certificates_written() == (0, 0) and len(refusals()) == 1
    everyone = runner.invoke(args=args)
    assert everyone.exit_code == 0, everyone.output
    assert "Issued 1 certificates" in everyone.output and "Left out 1: conflict_of_interest" in everyone.output
    assert db.session.scalars(sa.select(Certificate.volunteer_id)).all() == [zhuoma.id]


# --- civil affairs: what no org admin may issue, and any revocation ------------------------------------------------

def test_civil_affairs_issues_a_request_that_no_org_admin_of_the_organization_may(make, certified, own):
    org, admin, zhuoma, _coordinator, _activities = certified
    platform = make.admin()
    platform.display_name = "王建国"  # civil affairs staff: a name on the account, no volunteer profile
    mine = request_certificate(own, org, *MONTH)
    theirs = request_certificate(zhuoma, org, *MONTH)
    assert requests_for_civil_affairs() == [mine]  # 卓玛's: the org admin issues it
    assert issues_on_behalf(platform, mine) and not issues_on_behalf(platform, theirs)
    assert not issues_on_behalf(make.user(), mine)
    with pytest.raises(Forbidden):
        issue_requested(platform, theirs)
    certificate = issue_requested(platform, mine, render=False)
    assert (mine.status, certificate.organization_id, certificate.content["handler"]) == ("issued", org.id, "王建国")
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "certificate.issued"))
    assert (event.actor_id, event.organization_id, event.details["on_behalf_of_organization"]) == (
        platform.id, org.id, True)
    assert requests_for_civil_affairs() == []


def test_an_org_admin_who_can_sign_in_takes_the_request_back_from_civil_affairs(make, certified, own):
    org, _admin, _zhuoma, _coordinator, _activities = certified
    platform = make.admin()
    platform.display_name = "王建国"  # civil affairs staff: a name on the account, no volunteer profile
    mine = request_certificate(own, org, *MONTH)
    other = add_admin(make, org)
    assert requests_for_civil_affairs() == [] and not issues_on_behalf(platform, mine)
    with pytest.raises(Forbidden):
        issue_requested(platform, mine)
    other.is_disabled = True  # an admin who cannot sign in issues nothing
    db.session.flush()
    assert requests_for_civil_affairs() == [mine]


def test_the_civil_affairs_page_lists_and_issues_those_requests(app, make, certified, own):
    org, admin, _zhuoma, _coordinator, _activities = certified
    platform = make.admin()
    platform.display_name = "王建国"  # civil affairs staff: a name on the account, no volunteer profile
    mine = request_certificate(own, org, *MONTH)
    db.session.commit()
    client = app.test_client()
    login(client, admin)
    assert client.get("/admin/certificate-requests").status_code == 403
    page = client.get(f"/organizations/{org.code}/certificates").get_data(as_text=True)
    assert "civil affairs issues it on the organization" in page
    login(client, platform)
    listing = client.get("/admin/certificate-requests").get_data(as_text=True)
    assert own.volunteer_number in listing and org.name in listing
    assert client.post(f"/admin/certificate-requests/{mine.id}/issue").status_code == 302
    db.session.refresh(mine)
    assert mine.status == "issued" and count(Certificate) == 1


def test_a_platform_admin_revokes_any_certificate_with_a_reason(make, certified):
    org, admin, zhuoma, _coordinator, _activities = certified
    certificate = issue_certificate(admin, org, zhuoma, *MONTH, render=False)
    platform = make.admin()  # civil affairs: no role in the organization, no name needed to revoke
    with pytest.raises(CertificateError) as no_reason:
        revoke_certificate(platform, certificate, " ")
    assert no_reason.value.code == "reason_required"
    with pytest.raises(Forbidden):
        revoke_certificate(make.user(), certificate, "not civil affairs")
    revoke_certificate(platform, certificate, "spot check: the hours were not served")
    db.session.commit()
    assert (certificate.status, certificate.revoked_by_id) == ("revoked", platform.id)
    entry = db.session.scalar(sa.select(LedgerEntry).where(LedgerEntry.kind == "revocation"))
    assert (entry.actor_id, entry.reason) == (platform.id, "spot check: the hours were not served")
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "certificate.revoked"))
    assert (event.actor_id, event.details["reason"], event.details["by_platform_admin"]) == (
        platform.id, "spot check: the hours were not served", True)


def test_a_platform_admin_does_not_revoke_their_own_certificate(make, certified):
    org, admin, zhuoma, _coordinator, _activities = certified
    certificate = issue_certificate(admin, org, zhuoma, *MONTH, render=False)
    db.session.commit()
    account = make.account_of(zhuoma)
    account.is_platform_admin = True
    with pytest.raises(IntegrityRefusal) as refused:
        revoke_certificate(account, certificate, "I would rather not have it")
    assert refused.value.code == "conflict_of_interest"
    db.session.rollback()
    assert db.session.get(Certificate, certificate.id).status == "valid"
    assert refusals() == [(account.id, "conflict_of_interest", "certificate.revoke")]


# --- one valid certificate per period ------------------------------------------------------------------------------

def test_an_overlapping_period_is_refused_naming_the_certificate_held_unless_it_is_reissued(certified):
    org, admin, zhuoma, _coordinator, _activities = certified
    first = issue_certificate(admin, org, zhuoma, today() - dt.timedelta(days=12), today() - dt.timedelta(days=4),
                              render=False)
    request_ = request_certificate(zhuoma, org, today() - dt.timedelta(days=6), today())
    db.session.commit()
    for attempt in (lambda: issue_certificate(admin, org, zhuoma, today() - dt.timedelta(days=6), today()),
                    lambda: issue_requested(admin, request_)):
        with pytest.raises(CertificateError) as overlaps:
            attempt()
        assert overlaps.value.code == "certificate_overlaps"
        assert first.number in overlaps.value.message
        assert first.period_start.isoformat() in overlaps.value.message
        assert first.period_end.isoformat() in overlaps.value.message
        db.session.rollback()
    assert certificates_written() == (1, 1) and db.session.get(CertificateRequest, request_.id).status == "pending"
    result = issue_batch(admin, org, [zhuoma], today() - dt.timedelta(days=20), today())
    assert result.issued == [] and [code for _v, code in result.skipped] == ["certificate_overlaps"]
    # a reissue replaces it: the old one is superseded, the new one valid
    new = reissue_certificate(admin, first, "name corrected", render=False)
    assert (first.status, new.status) == ("superseded", "valid")
    # once the valid one is revoked, the longer period can be certified
    revoke_certificate(admin, new, "replaced by a certificate of the whole month")
    assert issue_certificate(admin, org, zhuoma, *MONTH, render=False).minutes == 330


def test_two_overlapping_periods_issued_at_the_same_moment_give_one_certificate(app, certified):
    """The second issue waits for the first (the volunteer's row is taken for writing) and then sees it."""
    org, admin, zhuoma, _coordinator, _activities = certified
    ids = (org.id, admin.id, zhuoma.id)
    db.session.commit()
    first_written, release = threading.Event(), threading.Event()
    outcome = {}

    def issue(period, *, hold: bool):
        with app.app_context():
            org_, admin_, volunteer = (db.session.get(Organization, ids[0]), db.session.get(User, ids[1]),
                                       db.session.get(Volunteer, ids[2]))
            try:
                certificate = issue_certificate(admin_, org_, volunteer, *period, render=False)
                if hold:
                    first_written.set()
                    release.wait(10)
                db.session.commit()
                outcome[period] = certificate.number
            except CertificateError as error:
                db.session.rollback()
                outcome[period] = error.code

    first_period = (today() - dt.timedelta(days=12), today() - dt.timedelta(days=4))
    second_period = (today() - dt.timedelta(days=6), today())
    first = threading.Thread(target=issue, args=(first_period,), kwargs={"hold": True})
    first.start()
    assert first_written.wait(10)
    second = threading.Thread(target=issue, args=(second_period,), kwargs={"hold": False})
    second.start()
    second.join(1)
    assert second.is_alive()  # waiting for the first issue's transaction
    release.set()
    first.join(10)
    second.join(10)
    assert outcome[second_period] == "certificate_overlaps" and outcome[first_period].startswith("VR-")
    assert count(Certificate, Certificate.status == "valid") == 1


def test_the_api_names_the_overlapping_certificate(client, certified):
    org, admin, zhuoma, _coordinator, _activities = certified
    first = issue_certificate(admin, org, zhuoma, today() - dt.timedelta(days=12), today(), render=False)
    db.session.commit()
    response = client.post("/api/v1/certificates", headers={"Authorization": f"Bearer {token_for(admin)}"}, json={
        "volunteer_number": zhuoma.volunteer_number, "organization": org.code,
        "period_start": MONTH[0].isoformat(), "period_end": MONTH[1].isoformat()})
    error = response.get_json()["error"]
    assert response.status_code == 422 and error["code"] == "certificate_overlaps" and first.number in error["message"]
    db.session.rollback()
    assert certificates_written() == (1, 1)


# --- the handler is a person's name --------------------------------------------------------------------------------

def test_an_issuer_without_a_name_issues_nothing(app, make, certified):
    org, admin, zhuoma, _coordinator, _activities = certified
    nameless = add_admin(make, org, name=None)
    certificate = issue_certificate(admin, org, zhuoma, today() - dt.timedelta(days=12), today(), render=False)
    request_ = request_certificate(zhuoma, org, *MONTH)
    db.session.commit()
    for attempt in (lambda: issue_certificate(nameless, org, zhuoma, *MONTH),
                    lambda: issue_batch(nameless, org, [zhuoma], *MONTH),
                    lambda: issue_requested(nameless, request_),
                    lambda: reissue_certificate(nameless, certificate, "hours corrected")):
        with pytest.raises(CertificateError) as refused:
            attempt()
        assert refused.value.code == "handler_name_required" and "Account page" in refused.value.message
        db.session.rollback()
    assert certificates_written() == (1, 1) and db.session.get(Certificate, certificate.id).status == "valid"
    client = app.test_client()
    login(client, nameless)
    page = client.get(f"/organizations/{org.code}/certificates/issue").get_data(as_text=True)
    assert "your account has none" in page
    runner = app.test_cli_runner()
    result = runner.invoke(args=["certificates", "issue-batch", "--organization", org.code, "--from",
                                 MONTH[0].isoformat(), "--to", MONTH[1].isoformat(), "--as", nameless.identifier])
    assert result.exit_code == 2 and "your account has none" in result.output and count(Certificate) == 1


def test_the_name_set_on_the_account_page_is_the_handler(app, make, certified):
    org, _admin, zhuoma, _coordinator, _activities = certified
    nameless = add_admin(make, org, name=None)
    db.session.commit()
    client = app.test_client()
    login(client, nameless)
    response = client.post("/account", data={"display_name": "  才让   多杰 ", "locale": "en"})
    assert response.status_code == 302
    db.session.refresh(nameless)
    assert nameless.display_name == "才让 多杰"
    assert 'value="才让 多杰"' in client.get("/account").get_data(as_text=True)
    certificate = issue_certificate(nameless, org, zhuoma, *MONTH, render=False)
    assert certificate.content["handler"] == "才让 多杰"


def test_the_pdf_prints_the_handlers_name_never_their_email(certified, tmp_path):
    org, admin, zhuoma, _coordinator, _activities = certified
    certificate = issue_certificate(admin, org, zhuoma, *MONTH)
    path = tmp_path / "certificate.pdf"
    path.write_bytes(certificate_pdf(certificate))
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True,
                          timeout=60, check=True).stdout
    assert "经办人 Handler：马晓东" in text and admin.email not in text
