"""Issuing, requests, revocation and reissue: what a certificate covers, what it writes, who may do it."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from volunteer_registry.certificates import services as certificate_services
from volunteer_registry.certificates.models import Certificate, CertificateDocument, CertificateRequest
from volunteer_registry.certificates.qr import MAX_VERSION, certificate_qr
from volunteer_registry.certificates.services import (
    CertificateError,
    certifiable_volunteers,
    certificate_pdf,
    decline_request,
    issue_batch,
    issue_certificate,
    issue_requested,
    reissue_certificate,
    request_certificate,
    revoke_certificate,
    today,
)
from volunteer_registry.certificates.tokens import open_token, token_url
from volunteer_registry.errors import Forbidden
from volunteer_registry.extensions import db
from volunteer_registry.keys.services import current_key, public_key_of
from volunteer_registry.ledger.log import extend_log, verify_ledger
from volunteer_registry.ledger.models import LedgerEntry, LedgerState
from volunteer_registry.ledger.services import correct_entry, decide_entries, fold_states, record_certificate_entry
from volunteer_registry.volunteers.identity import mask_name

from .conftest import approved_service

MONTH_AGO = dt.timedelta(days=30)


def issue(certified, **kwargs):
    org, admin, volunteer, _coordinator, _activities = certified
    return issue_certificate(admin, org, volunteer, kwargs.pop("start", today() - MONTH_AGO),
                             kwargs.pop("end", today()), render=kwargs.pop("render", False), **kwargs)


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_a_certificate_covers_only_this_organizations_approved_minutes_in_the_period(make, certified):
    org, admin, volunteer, coordinator, (river, _library) = certified
    # service elsewhere and service before the period count for nothing here
    other = make.activity(make.org(), title="Elsewhere", starts_at=river.starts_at, ends_at=river.ends_at)
    approved_service(make, other, volunteer, 600, days_ago=4)
    approved_service(make, river, volunteer, 90, days_ago=15, recorder=coordinator, approver=admin)
    certificate = issue_certificate(admin, org, volunteer, today() - dt.timedelta(days=12), today(), render=False)
    assert certificate.minutes == 180 + 150  # not the 90 before the period, not the 120 pending, not the 600
    assert [(a["title"], a["minutes"], a["hours"]) for a in certificate.content["activities"]] == [
        ("湟水河清洁", 180, "3.0"), ("社区图书角", 150, "2.5")]
    content = certificate.content
    assert (content["volunteer_name"], content["volunteer_number"], content["hours"]) == (
        "卓玛", volunteer.volunteer_number, "5.5")
    assert content["id_number_masked"] == volunteer.id_number_masked and "*" in content["id_number_masked"]
    assert (content["id_type_zh"], content["id_type_en"]) == ("居民身份证", "Resident ID card")
    assert (content["organization_name"], content["person_in_charge"], content["contact_phone"]) == (
        org.name, "马丽", org.contact_phone)
    assert content["handler"] == "马晓东"  # the real name on the admin's volunteer profile, never their email
    assert certificate.number.startswith(f"VR-{today().year}-") and len(certificate.code) == 16


def test_issuing_writes_a_ledger_entry_that_enters_the_log_and_changes_no_totals(certified):
    before = fold_states()
    certificate = issue(certified)
    entry = db.session.get(LedgerEntry, certificate.entry_id)
    assert (entry.kind, entry.minutes, entry.certificate_code, entry.refers_to_id) == (
        "certificate", 330, certificate.code, None)
    assert fold_states() == before
    checkpoint = extend_log()
    db.session.commit()
    assert checkpoint is not None and verify_ledger().ok


def test_a_request_covering_no_approved_service_is_refused(make, certified):
    org, _admin, volunteer, _coordinator, _activities = certified
    with pytest.raises(CertificateError) as refused:
        request_certificate(volunteer, org, today() - dt.timedelta(days=200), today() - dt.timedelta(days=100))
    assert refused.value.code == "no_approved_service"
    with pytest.raises(CertificateError) as elsewhere:
        request_certificate(volunteer, make.org(), today() - MONTH_AGO, today())
    assert elsewhere.value.code == "no_approved_service"
    stranger = make.volunteer(name="次仁")
    with pytest.raises(CertificateError) as nobody:
        issue_certificate(certified[1], org, stranger, today() - MONTH_AGO, today())
    assert nobody.value.code == "no_approved_service"
    assert count(CertificateRequest) == 0 and count(Certificate) == 0


@pytest.mark.parametrize(("start", "end"), [(0, 1), (-1, -5)])
def test_a_period_that_ends_before_it_starts_or_starts_tomorrow_is_refused(certified, start, end):
    org, admin, volunteer, _c, _a = certified
    with pytest.raises(CertificateError) as refused:
        issue_certificate(admin, org, volunteer, today() - dt.timedelta(days=start),
                          today() - dt.timedelta(days=end))
    assert refused.value.code == "period_invalid" and count(Certificate) == 0


def test_an_end_after_today_is_certified_as_today(certified):
    certificate = issue(certified, end=today() + dt.timedelta(days=40))
    assert certificate.period_end == today()


def test_only_the_organizations_admin_issues(make, certified):
    org, _admin, volunteer, coordinator, _a = certified
    other_admin = make.org_admin_of(make.org())
    for actor in (coordinator, other_admin, make.account_of(volunteer)):
        with pytest.raises(Forbidden):
            issue_certificate(actor, org, volunteer, today() - MONTH_AGO, today())
    assert count(Certificate) == 0 and count(LedgerEntry, LedgerEntry.kind == "certificate") == 0


def test_the_same_period_twice_is_refused_until_revoked(certified):
    first = issue(certified)
    with pytest.raises(CertificateError) as twice:
        issue(certified)
    assert twice.value.code == "already_issued"
    revoke_certificate(certified[1], first, "issued to the wrong person")
    assert issue(certified).status == "valid"


def test_the_token_is_signed_by_the_current_key_and_says_what_the_certificate_says(certified):
    certificate = issue(certified)
    key = current_key("certificate")
    kid, claims = open_token(certificate.token, {bytes.fromhex(_hex_kid(key.kid)): public_key_of(key)})
    assert certificate.key_id == key.kid
    assert (claims.code, claims.number, claims.issuer, claims.masked_name, claims.minutes) == (
        certificate.code, certificate.number, certified[0].code, "卓*", 330)
    assert (claims.period_start, claims.period_end, claims.issued_on) == (
        certificate.period_start, certificate.period_end, certificate.issued_on)


def _hex_kid(kid: str) -> str:
    import base64

    return base64.urlsafe_b64decode(kid + "=" * (-len(kid) % 4)).hex()


def test_revocation_needs_a_reason_is_final_and_is_a_ledger_entry(certified):
    org, admin, _volunteer, coordinator, _a = certified
    certificate = issue(certified)
    with pytest.raises(CertificateError) as no_reason:
        revoke_certificate(admin, certificate, "   ")
    assert no_reason.value.code == "reason_required"
    with pytest.raises(Forbidden):
        revoke_certificate(coordinator, certificate, "not mine to revoke")
    revoke_certificate(admin, certificate, "hours were entered twice")
    db.session.commit()
    assert (certificate.status, certificate.revocation_reason) == ("revoked", "hours were entered twice")
    revocation = db.session.scalar(sa.select(LedgerEntry).where(LedgerEntry.kind == "revocation"))
    assert (revocation.refers_to_id, revocation.certificate_code, revocation.reason) == (
        certificate.entry_id, certificate.code, "hours were entered twice")
    with pytest.raises(CertificateError) as again:
        revoke_certificate(admin, certificate, "twice")
    assert again.value.code == "not_valid"
    with pytest.raises(CertificateError) as reissue:
        reissue_certificate(admin, certificate, "after revocation")
    assert reissue.value.code == "not_valid"


def test_a_reissue_after_a_correction_supersedes_with_the_corrected_minutes(certified):
    org, admin, volunteer, coordinator, (river, _library) = certified
    old = issue(certified)
    river_entry = db.session.scalar(sa.select(LedgerEntry).where(LedgerEntry.activity_id == river.id,
                                                                 LedgerEntry.kind == "service")
                                    .join(LedgerState, LedgerState.entry_id == LedgerEntry.id)
                                    .where(LedgerState.status == "approved"))
    correct_entry(coordinator, river_entry, 120, "left an hour early")
    decide_entries(admin, org, [river_entry.id], "approve")  # a correction counts once someone else approves it
    new = reissue_certificate(admin, old, "hours corrected")
    db.session.commit()
    assert (old.status, new.status, new.supersedes_id, new.minutes) == ("superseded", "valid", old.id, 270)
    assert (new.period_start, new.period_end) == (old.period_start, old.period_end)
    assert new.number != old.number and new.code != old.code


def test_requests_are_issued_or_declined_once(certified):
    org, admin, volunteer, _coordinator, _a = certified
    request = request_certificate(volunteer, org, today() - MONTH_AGO, today(), "  university   application ")
    assert request.note == "university application"
    with pytest.raises(CertificateError) as twice:
        request_certificate(volunteer, org, today() - MONTH_AGO, today())
    assert twice.value.code == "request_pending"
    certificate = issue_requested(admin, request, render=False)
    assert (request.status, request.certificate_id, request.decided_by_id) == ("issued", certificate.id, admin.id)
    with pytest.raises(CertificateError) as done:
        decline_request(admin, request, "too late")
    assert done.value.code == "request_not_pending"
    second = request_certificate(volunteer, org, today() - dt.timedelta(days=7), today())
    decline_request(admin, second, "one certificate per month")
    assert (second.status, second.response) == ("declined", "one certificate per month")


def test_bulk_issuing_skips_who_already_has_one_and_keeps_the_others(make, certified):
    org, admin, zhuoma, coordinator, (river, _library) = certified
    tashi = make.volunteer(name="扎西")
    approved_service(make, river, tashi, 240, days_ago=6, recorder=coordinator, approver=admin)
    start, end = today() - MONTH_AGO, today()
    assert [(v.name, minutes) for v, minutes in certifiable_volunteers(org, start, end)] == [("卓玛", 330),
                                                                                            ("扎西", 240)]
    issue_certificate(admin, org, zhuoma, start, end, render=False)
    result = issue_batch(admin, org, [zhuoma, tashi], start, end)
    db.session.commit()
    assert [c.volunteer_id for c in result.issued] == [tashi.id]
    assert [(v.id, code) for v, code in result.skipped] == [(zhuoma.id, "already_issued")]
    assert count(Certificate) == 2 and count(LedgerEntry, LedgerEntry.kind == "certificate") == 2


def test_the_pdf_is_rendered_once_and_then_served_as_stored(certified, monkeypatch):
    certificate = issue(certified)
    assert db.session.get(CertificateDocument, certificate.id) is None  # bulk issue: rendered on first download
    first = certificate_pdf(certificate)
    db.session.commit()

    def must_not_render(_certificate):
        raise AssertionError("rendered again")

    monkeypatch.setattr(certificate_services, "render_certificate", must_not_render)
    assert certificate_pdf(certificate) == first and first.startswith(b"%PDF-")
    assert count(CertificateDocument) == 1


@pytest.mark.parametrize(("name", "masked"), [
    ("卓玛", "卓*"), ("张小明", "张*明"), ("欧阳娜娜", "欧**娜"), ("爱新觉罗·溥仪", "爱***仪"),
    ("བཀྲ་ཤིས་བདེ་ལེགས", "བཀྲ་*"), ("Maria Fernández García", "Maria F. G."), ("Tenzin", "T***n"),
])
def test_names_are_masked_for_third_parties(name, masked):
    assert mask_name(name) == masked


LONGEST_NAMES = {
    "chinese": "阿" * 60,
    "tibetan": "བཀྲ" * 20,  # 60 characters, 180 bytes, no syllable mark
    "tibetan_syllables": ("ཚེ་" * 20)[:60],
    "latin": " ".join(["Wolfeschlegelsteinhausen"] + ["Bergerdorff"] * 3)[:60],
}


@pytest.mark.parametrize("kind", sorted(LONGEST_NAMES))
def test_the_longest_allowed_name_keeps_the_qr_within_version_15(make, certified, kind):
    org, admin, _zhuoma, coordinator, (river, _library) = certified
    name = LONGEST_NAMES[kind]
    assert len(name) <= 60  # the volunteers.name column
    volunteer = make.volunteer(name=name)
    approved_service(make, river, volunteer, 900, days_ago=3, recorder=coordinator, approver=admin)  # under the cap
    certificate = issue_certificate(admin, org, volunteer, dt.date(today().year - 1, 1, 1), today(), render=False)
    for base in ("https://volunteer.qinghai.gov.cn", "https://zyz.mca.qinghai.example.gov.cn:8443"):
        qr = certificate_qr(token_url(base, certificate.token))
        assert qr.version <= MAX_VERSION


def test_the_batch_command_issues_to_everyone_with_hours_and_a_rerun_skips_them(app, make, certified):
    org, admin, _zhuoma, coordinator, (river, _library) = certified
    tashi = make.volunteer(name="扎西")
    approved_service(make, river, tashi, 240, days_ago=6, recorder=coordinator, approver=admin)
    db.session.commit()
    runner = app.test_cli_runner()
    args = ["certificates", "issue-batch", "--organization", org.code, "--from",
            (today() - MONTH_AGO).isoformat(), "--to", today().isoformat(), "--as", admin.identifier]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "Issued 2 certificates" in result.output
    assert count(Certificate) == 2 and count(CertificateDocument) == 2  # rendered and signed as they were made
    again = runner.invoke(args=args)
    assert "Issued 0 certificates" in again.output and "Skipped 2: already_issued" in again.output
    coordinator_run = runner.invoke(args=args[:-1] + [coordinator.identifier])
    assert coordinator_run.exit_code == 2 and "is not an org admin" in coordinator_run.output
    assert count(Certificate) == 2
    assert runner.invoke(args=args[:-1] + ["nobody@example.org"]).exit_code == 2


def test_the_database_keeps_one_valid_certificate_per_period(certified):
    """Two issues of the same period at the same moment both pass the service's check; the index refuses the
    second (the service answers already_issued)."""
    first = issue(certified)
    db.session.commit()
    columns = ("volunteer_id", "organization_id", "period_start", "period_end", "minutes", "masked_name",
               "content", "token", "key_id", "issued_on", "issued_by_id")
    with pytest.raises(sa.exc.IntegrityError,
                       match="certificates.volunteer_id|ix_certificates_one_valid_per_period"):
        with db.session.begin_nested():
            entry = record_certificate_entry(certified[1], first.volunteer_id, first.organization_id, "T" * 16,
                                             first.minutes, first.issued_on)
            db.session.add(Certificate(code="T" * 16, number="VR-TWIN", entry_id=entry.id,
                                       **{name: getattr(first, name) for name in columns}))
    revoke_certificate(certified[1], first, "replaced by hand")
    db.session.flush()
    assert issue(certified).status == "valid"  # once revoked, the period is free again


@pytest.mark.parametrize("length", [10, 300, 560, 561, 600, 700])
def test_the_quick_size_check_agrees_with_the_drawn_code(length):
    from volunteer_registry.certificates.qr import QRTooLarge, qr_version

    url = "HTTPS://VOLUNTEER.EXAMPLE.GOV.CN/V/" + "A" * length
    try:
        version = qr_version(url)
    except QRTooLarge:
        with pytest.raises(QRTooLarge):
            certificate_qr(url)
        return
    assert certificate_qr(url).version == version <= MAX_VERSION
