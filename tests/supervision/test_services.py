"""Spot checks and complaints, through their services: samples, outcomes, actions through the ledger, refusals."""
from __future__ import annotations

import random

import pytest
import sqlalchemy as sa

from volunteer_registry.audit.models import AuditEvent
from volunteer_registry.certificates.models import Certificate
from volunteer_registry.codes import ALPHABET
from volunteer_registry.errors import Forbidden
from volunteer_registry.extensions import db
from volunteer_registry.ledger.models import LedgerEntry, LedgerState
from volunteer_registry.supervision import services
from volunteer_registry.supervision.models import (
    ACTION_REASON_MAX,
    COMPLAINT_CONTACT_MAX,
    COMPLAINT_MESSAGE_MAX,
    COMPLAINT_RESPONSE_MAX,
    DESCRIPTION_MAX,
    FOLLOW_CODE_LENGTH,
    MAX_SAMPLE,
    Complaint,
    SpotCheck,
    SpotCheckItem,
)
from volunteer_registry.supervision.services import (
    SupervisionError,
    draw,
    file_complaint,
    record_outcome,
    respond_to_complaint,
    start_spot_check,
)


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def sample(check: SpotCheck) -> tuple[list[int], list[int]]:
    items = db.session.scalars(sa.select(SpotCheckItem).where(SpotCheckItem.spot_check_id == check.id)).all()
    return (sorted(i.entry_id for i in items if i.entry_id), sorted(i.certificate_id for i in items
                                                                   if i.certificate_id))


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


# --- starting a check -----------------------------------------------------------------------------------------------

def test_a_check_draws_ten_certificates_and_twenty_approved_entries_by_default(platform, checked):
    org, _volunteers, entries, certificates = checked
    check = start_spot_check(platform, org)
    entry_ids, certificate_ids = sample(check)
    assert (len(entry_ids), len(certificate_ids)) == (20, 10)
    assert (check.entries_drawn, check.certificates_drawn) == (20, 10)
    assert (check.entry_sample_size, check.certificate_sample_size) == (20, 10)
    approved = set(db.session.scalars(sa.select(LedgerState.entry_id).where(
        LedgerState.organization_id == org.id, LedgerState.status == "approved")))
    assert set(entry_ids) <= approved  # never the pending entry
    assert set(certificate_ids) <= {c.id for c in certificates}
    assert check.status == "open" and len(check.code) == 10


def test_sizes_are_chosen_and_a_smaller_organization_gives_all_it_has(platform, checked):
    org, _volunteers, _entries, certificates = checked
    small = start_spot_check(platform, org, certificates=3, entries=5)
    assert [len(ids) for ids in sample(small)] == [5, 3]
    everything = start_spot_check(platform, org, certificates=MAX_SAMPLE, entries=MAX_SAMPLE)
    assert [len(ids) for ids in sample(everything)] == [27, 12]
    assert (everything.entry_sample_size, everything.entries_drawn) == (MAX_SAMPLE, 27)
    only_entries = start_spot_check(platform, org, certificates=0, entries=1)
    assert [len(ids) for ids in sample(only_entries)] == [1, 0]


def test_only_valid_certificates_are_drawn(platform, checked):
    org, _volunteers, _entries, certificates = checked
    from volunteer_registry.certificates.services import revoke_certificate

    for certificate in certificates[:11]:
        revoke_certificate(_org_admin(certificate), certificate, "issued in error")
    check = start_spot_check(platform, org, certificates=10, entries=0)
    assert sample(check)[1] == [certificates[11].id]


def _org_admin(certificate):
    from volunteer_registry.accounts.models import User

    return db.session.get(User, certificate.organization.applicant_id)


def test_the_sample_is_drawn_with_the_systems_random_source(platform, checked, monkeypatch):
    org = checked[0]
    used = []

    class Spy(random.SystemRandom):
        def sample(self, population, k, **kwargs):
            used.append(k)
            return super().sample(population, k, **kwargs)

    monkeypatch.setattr(services, "_system_random", Spy())
    start_spot_check(platform, org, certificates=4, entries=6)
    assert sorted(used) == [4, 6]
    assert isinstance(services._system_random, random.SystemRandom)


def test_draw_takes_the_size_asked_for_without_repeats_and_varies():
    ids = list(range(1000))
    drawn = draw(ids, 20)
    assert len(drawn) == len(set(drawn)) == 20 and set(drawn) <= set(ids)
    assert draw(ids[:3], 20) == [0, 1, 2]
    assert len({tuple(draw(ids, 20)) for _ in range(5)}) > 1  # 1000 choose 20: a repeat would be a broken source
    assert draw(ids, 5, random.Random(7)) == draw(ids, 5, random.Random(7))


@pytest.mark.parametrize(("sizes", "field"), [
    ({"certificates": -1}, "certificates"), ({"entries": MAX_SAMPLE + 1}, "entries"),
    ({"certificates": True}, "certificates"), ({"entries": "20"}, "entries"), ({"entries": 2.5}, "entries"),
])
def test_a_sample_size_outside_the_limits_is_refused(platform, checked, sizes, field):
    with pytest.raises(SupervisionError) as refused:
        start_spot_check(platform, checked[0], **sizes)
    assert (refused.value.code, refused.value.field) == ("sample_size_invalid", field)
    assert count(SpotCheck) == 0


def test_an_empty_sample_is_refused(platform, checked):
    with pytest.raises(SupervisionError) as refused:
        start_spot_check(platform, checked[0], certificates=0, entries=0)
    assert refused.value.code == "sample_empty"


def test_an_organization_with_nothing_to_check_is_refused(platform, make):
    org = make.org()
    with pytest.raises(SupervisionError) as refused:
        start_spot_check(platform, org)
    assert refused.value.code == "nothing_to_sample"
    assert count(SpotCheck) == 0


def test_only_platform_admins_start_checks(make, checked):
    org = checked[0]
    for user in (make.org_admin_of(org), make.coordinator(org), make.user()):
        with pytest.raises(Forbidden):
            start_spot_check(user, org)
    assert count(SpotCheck) == 0


def test_starting_is_audited(platform, checked):
    check = start_spot_check(platform, checked[0], certificates=2, entries=3)
    [event] = events("supervision.spot_check_started")
    assert (event.actor_id, event.organization_id, event.target_id) == (platform.id, checked[0].id, check.code)
    assert event.details == {"certificates": 2, "entries": 3}


# --- recording the outcome ------------------------------------------------------------------------------------------

@pytest.fixture
def check(platform, checked):
    found = start_spot_check(platform, checked[0], certificates=3, entries=4)
    db.session.commit()
    return found


def test_confirmed(platform, check):
    record_outcome(platform, check, "confirmed")
    assert (check.status, check.annulled_count, check.revoked_count) == ("confirmed", 0, 0)
    assert check.decided_by_id == platform.id and check.decided_at is not None
    [event] = events("supervision.spot_check_recorded")
    assert event.details == {"outcome": "confirmed", "annulled": 0, "revoked": 0}


def test_a_problem_annuls_entries_through_the_ledger(platform, check):
    entry_ids, _certificates = sample(check)
    annulled = entry_ids[:2]
    record_outcome(platform, check, "problem", description="Two sessions nobody remembers.",
                   reason="Not served: spot check by civil affairs", annul=annulled)
    db.session.commit()
    for entry_id in annulled:
        assert db.session.get(LedgerState, entry_id).status == "annulled"
        annulment = db.session.scalar(sa.select(LedgerEntry).where(LedgerEntry.kind == "annulment",
                                                                   LedgerEntry.refers_to_id == entry_id))
        assert (annulment.actor_id, annulment.reason) == (platform.id, "Not served: spot check by civil affairs")
        item = db.session.scalar(sa.select(SpotCheckItem).where(SpotCheckItem.entry_id == entry_id))
        assert (item.action, item.action_entry_id) == ("annulled", annulment.id)
    assert all(db.session.get(LedgerState, i).status == "approved" for i in entry_ids[2:])
    assert (check.status, check.annulled_count, check.revoked_count) == ("problem", 2, 0)
    assert check.description == "Two sessions nobody remembers."
    [event] = events("supervision.spot_check_recorded")
    assert event.details == {"outcome": "problem", "annulled": 2, "revoked": 0}
    assert len(events("ledger.annulment")) == 2


def test_a_problem_revokes_certificates_through_the_certificates_service(platform, check):
    _entries, certificate_ids = sample(check)
    record_outcome(platform, check, "problem", description="The hours were never served.",
                   reason="Spot check by civil affairs: hours not served", revoke=certificate_ids[:1])
    db.session.commit()
    certificate = db.session.get(Certificate, certificate_ids[0])
    assert (certificate.status, certificate.revocation_reason, certificate.revoked_by_id) == (
        "revoked", "Spot check by civil affairs: hours not served", platform.id)
    revocation = db.session.scalar(sa.select(LedgerEntry).where(LedgerEntry.kind == "revocation",
                                                                LedgerEntry.certificate_code == certificate.code))
    assert revocation is not None and revocation.actor_id == platform.id
    item = db.session.scalar(sa.select(SpotCheckItem).where(SpotCheckItem.certificate_id == certificate.id))
    assert (item.action, item.action_entry_id) == ("revoked", revocation.id)
    assert db.session.get(Certificate, certificate_ids[1]).status == "valid"
    assert check.revoked_count == 1


def test_the_actions_are_all_or_nothing(platform, check, checked):
    entry_ids, certificate_ids = sample(check)
    certificate = db.session.get(Certificate, certificate_ids[0])
    from volunteer_registry.certificates.services import revoke_certificate

    revoke_certificate(_org_admin(certificate), certificate, "revoked by the organization meanwhile")
    db.session.commit()
    with pytest.raises(Exception) as refused:
        record_outcome(platform, check, "problem", description="x", reason="spot check",
                       annul=entry_ids[:1], revoke=certificate_ids[:1])
    assert getattr(refused.value, "code", None) == "not_valid"
    db.session.rollback()
    assert db.session.get(LedgerState, entry_ids[0]).status == "approved"
    assert db.session.get(SpotCheck, check.id).status == "open"


@pytest.mark.parametrize(("kwargs", "code", "field"), [
    ({"outcome": "maybe"}, "outcome_invalid", "outcome"),
    ({"outcome": "problem"}, "description_required", "description"),
    ({"outcome": "problem", "description": "   "}, "description_required", "description"),
    ({"outcome": "problem", "description": "x" * (DESCRIPTION_MAX + 1)}, "description_too_long", "description"),
    ({"outcome": "confirmed", "annul": "first", "reason": "spot check"}, "actions_need_problem", "outcome"),
    ({"outcome": "problem", "description": "x", "annul": "first"}, "reason_required", "reason"),
    ({"outcome": "problem", "description": "x", "revoke": "first"}, "reason_required", "reason"),
    ({"outcome": "problem", "description": "x", "annul": "first", "reason": "r" * (ACTION_REASON_MAX + 1)},
     "reason_too_long", "reason"),
    ({"outcome": "problem", "description": "x", "annul": "outside", "reason": "spot check"}, "not_in_sample", None),
    ({"outcome": "problem", "description": "x", "revoke": "outside", "reason": "spot check"}, "not_in_sample", None),
])
def test_outcome_refusals(platform, check, checked, kwargs, code, field):
    entry_ids, certificate_ids = sample(check)
    _org, _volunteers, entries, certificates = checked
    picks = {"first": None, "outside": None}
    kwargs = dict(kwargs)
    outcome = kwargs.pop("outcome")
    for name, pool, drawn in (("annul", [e.id for e in entries], entry_ids),
                              ("revoke", [c.id for c in certificates], certificate_ids)):
        if name in kwargs:
            picks = drawn[:1] if kwargs[name] == "first" else [next(i for i in pool if i not in drawn)]
            kwargs[name] = picks
    with pytest.raises(SupervisionError) as refused:
        record_outcome(platform, check, outcome, **kwargs)
    assert (refused.value.code, refused.value.field) == (code, field)
    db.session.rollback()
    assert db.session.get(SpotCheck, check.id).status == "open"
    assert all(db.session.get(LedgerState, i).status == "approved" for i in entry_ids)


def test_an_outcome_is_recorded_once(platform, check):
    record_outcome(platform, check, "confirmed")
    with pytest.raises(SupervisionError) as refused:
        record_outcome(platform, check, "problem", description="second thoughts")
    assert refused.value.code == "check_decided" and refused.value.http_status == 409


def test_only_platform_admins_record_outcomes(make, check, checked):
    for user in (make.org_admin_of(checked[0]), make.user()):
        with pytest.raises(Forbidden):
            record_outcome(user, check, "confirmed")
    assert check.status == "open"


def test_an_annulment_the_ledger_refuses_stops_the_outcome(make, platform, checked):
    """A platform admin who is the volunteer of a drawn entry may not annul it (nobody decides their own record):
    the ledger's refusal comes through, coded, and nothing is recorded."""
    org, volunteers, _entries, _certificates = checked
    admin_volunteer = volunteers[0]
    person = make.account_of(admin_volunteer)
    person.is_platform_admin = True
    db.session.commit()
    check = start_spot_check(person, org, certificates=0, entries=MAX_SAMPLE)
    own = db.session.scalar(sa.select(LedgerEntry.id).where(LedgerEntry.kind == "service",
                                                            LedgerEntry.volunteer_id == admin_volunteer.id))
    with pytest.raises(Exception) as refused:
        record_outcome(person, check, "problem", description="mine", reason="spot check", annul=[own])
    assert getattr(refused.value, "code", None) == "conflict_of_interest"
    db.session.rollback()
    assert db.session.get(LedgerState, own).status == "approved"


# --- complaints -----------------------------------------------------------------------------------------------------

def test_anyone_files_a_complaint_about_a_certificate_with_an_unguessable_follow_code(checked):
    certificate = checked[3][0]
    complaint = file_complaint(certificate=certificate, message="  I never met this volunteer.  ",
                               contact="13800138000")
    assert (complaint.subject, complaint.organization_id, complaint.certificate_id) == (
        "certificate", certificate.organization_id, certificate.id)
    assert (complaint.message, complaint.contact, complaint.status) == (
        "I never met this volunteer.", "13800138000", "open")
    assert len(complaint.code) == FOLLOW_CODE_LENGTH and set(complaint.code) <= set(ALPHABET)
    other = file_complaint(organization=checked[0], message="They record hours nobody served.")
    assert other.code != complaint.code and other.subject == "organization" and other.contact is None
    [first, _second] = events("supervision.complaint_filed")
    assert first.details == {"complaint": complaint.id, "subject": "certificate"}
    assert complaint.code not in str(first.details) and first.target_id is None


@pytest.mark.parametrize(("message", "contact", "code", "field"), [
    ("", "", "message_required", "message"),
    ("   \n ", "", "message_required", "message"),
    ("x" * (COMPLAINT_MESSAGE_MAX + 1), "", "message_too_long", "message"),
    ("wrong hours", "c" * (COMPLAINT_CONTACT_MAX + 1), "contact_too_long", "contact"),
])
def test_complaint_refusals(checked, message, contact, code, field):
    with pytest.raises(SupervisionError) as refused:
        file_complaint(organization=checked[0], message=message, contact=contact)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert count(Complaint) == 0


@pytest.fixture
def complaint(checked):
    found = file_complaint(organization=checked[0], message="Hours for a day the centre was closed.")
    db.session.commit()
    return found


def test_civil_affairs_investigates_responds_and_closes(platform, complaint):
    respond_to_complaint(platform, complaint, "investigating")
    assert (complaint.status, complaint.response) == ("investigating", None)
    respond_to_complaint(platform, complaint, "investigating", "We have asked the organization for its sheets.")
    assert complaint.response == "We have asked the organization for its sheets."
    assert complaint.responded_by_id == platform.id and complaint.responded_at is not None
    respond_to_complaint(platform, complaint, "closed")  # the answer given stands
    assert complaint.status == "closed"
    updates = events("supervision.complaint_updated")
    assert [(e.details["status_from"], e.details["status_to"]) for e in updates] == [
        ("open", "investigating"), ("investigating", "investigating"), ("investigating", "closed")]
    assert all(e.actor_id == platform.id for e in updates)


@pytest.mark.parametrize(("status", "response", "code", "field"), [
    ("resolved", "", "status_invalid", "status"),
    ("closed", "", "response_required", "response"),
    ("open", "", "nothing_changed", "response"),
    ("open", "r" * (COMPLAINT_RESPONSE_MAX + 1), "response_too_long", "response"),
])
def test_response_refusals(platform, complaint, status, response, code, field):
    with pytest.raises(SupervisionError) as refused:
        respond_to_complaint(platform, complaint, status, response)
    assert (refused.value.code, refused.value.field) == (code, field)


def test_a_closed_complaint_stays_closed(platform, complaint):
    respond_to_complaint(platform, complaint, "closed", "The records were checked and are right.")
    with pytest.raises(SupervisionError) as refused:
        respond_to_complaint(platform, complaint, "open", "reopened")
    assert refused.value.code == "complaint_closed" and refused.value.http_status == 409


def test_only_platform_admins_respond(make, complaint, checked):
    for user in (make.org_admin_of(checked[0]), make.user()):
        with pytest.raises(Forbidden):
            respond_to_complaint(user, complaint, "closed", "nothing to see")
    assert complaint.status == "open"
