"""A volunteer reports an error or an omission; the organization decides; the decision becomes an entry; the
volunteer sees the outcome."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa

from volunteer_registry.activities.services import sign_up
from volunteer_registry.checkin.services import ScanRequest, record_scan
from volunteer_registry.corrections.models import CorrectionRequest
from volunteer_registry.corrections.services import decide_correction, report_error, report_omission
from volunteer_registry.errors import Forbidden, NotFound
from volunteer_registry.extensions import db
from volunteer_registry.integrity.services import IntegrityRefusal
from volunteer_registry.ledger.log import extend_log, verify_ledger
from volunteer_registry.ledger.models import LedgerEntry, LedgerState
from volunteer_registry.ledger.services import LedgerError, decide_entries, hours_of
from volunteer_registry.timeutil import LOCAL_ZONE

from ..conftest import login

T = dt.timedelta


@pytest.fixture
def site(make):
    activity = make.activity()
    org = activity.organization
    volunteer = make.volunteer(name="卓玛")
    person = make.account_of(volunteer)
    sign_up(person, activity, now=activity.starts_at - T(days=1))
    coordinator, admin = make.coordinator(org), make.org_admin_of(org)
    for direction, minutes in (("in", 0), ("out", 45)):
        result = record_scan(coordinator, ScanRequest(event_id=uuid.uuid4().hex, activity_code=activity.code,
                                                      volunteer_number=volunteer.volunteer_number,
                                                      direction=direction),
                             now=activity.starts_at + T(minutes=minutes))
    db.session.commit()
    return activity, coordinator, admin, volunteer, person, result.entry


def entries(kind):
    return list(db.session.scalars(sa.select(LedgerEntry).where(LedgerEntry.kind == kind)))


def test_an_error_reported_and_accepted_becomes_a_correction(site):
    activity, coordinator, admin, volunteer, person, entry = site
    decide_entries(admin, activity.organization, [entry.id], "approve")
    request = report_error(person, entry, "I had to leave after half an hour", claimed_minutes=30)
    with pytest.raises(LedgerError) as info:
        report_error(person, entry, "again")
    assert info.value.code == "already_requested"
    decide_correction(coordinator, request, True, "checked with the sign-in sheet")
    assert (request.status, request.response) == ("accepted", "checked with the sign-in sheet")
    correction = entries("correction")[0]
    assert (correction.refers_to_id, correction.minutes, request.result_entry_id) == (entry.id, 30, correction.id)
    assert entry.minutes == 45  # the service entry is as it was
    # the correction waits for a second person: until then the approved figure stays
    assert hours_of(volunteer.id).minutes == 45
    with pytest.raises(IntegrityRefusal) as refused:
        decide_entries(coordinator, activity.organization, [entry.id], "approve")  # who proposed it
    assert refused.value.code == "own_recording"
    decide_entries(admin, activity.organization, [entry.id], "approve")
    assert hours_of(volunteer.id).minutes == 30
    with pytest.raises(LedgerError) as info:
        decide_correction(admin, request, False, "no")
    assert info.value.code == "request_not_pending"
    extend_log()
    assert verify_ledger().ok


def test_a_declined_report_needs_a_reason_and_writes_no_entry(site):
    activity, coordinator, _admin, volunteer, person, entry = site
    request = report_error(person, entry, "the time is wrong")
    with pytest.raises(LedgerError) as info:
        decide_correction(coordinator, request, False, "   ")
    assert info.value.code == "reason_required"
    decide_correction(coordinator, request, False, "the scanner log shows 45 minutes")
    assert request.status == "declined" and request.result_entry_id is None
    assert entries("correction") == []


def test_an_omission_accepted_is_a_service_entry_waiting_for_someone_else(site):
    activity, coordinator, admin, volunteer, person, _entry = site
    start = activity.starts_at + T(minutes=60)
    request = report_omission(person, activity, start, start + T(minutes=30), "I came back after lunch")
    decide_correction(coordinator, request, True)
    missing = db.session.get(LedgerEntry, request.result_entry_id)
    assert (missing.kind, missing.source, missing.minutes, missing.actor_id) == ("service", "manual", 30,
                                                                                  coordinator.id)
    assert db.session.get(LedgerState, missing.id).status == "pending"
    with pytest.raises(IntegrityRefusal) as info:  # the coordinator who recorded it cannot approve it
        decide_entries(coordinator, activity.organization, [missing.id], "approve")
    assert info.value.code == "own_recording"
    decide_entries(admin, activity.organization, [missing.id], "approve")
    assert hours_of(volunteer.id).minutes == 30


def test_reports_are_checked(site, make):
    activity, coordinator, _admin, _volunteer, person, entry = site
    with pytest.raises(NotFound):  # someone else's entry
        report_error(make.account_of(make.volunteer()), entry, "not mine")
    with pytest.raises(LedgerError) as info:
        report_error(person, entry, "  ")
    assert info.value.code == "message_required"
    start = activity.starts_at
    for begin, end, code in ((start, start, "ends_before_start"), (start - T(hours=5), start, "outside_activity"),
                             (None, start, "times_invalid")):
        with pytest.raises(LedgerError) as info:
            report_omission(person, activity, begin, end, "missing")
        assert info.value.code == code
    later = make.activity(activity.organization, starts_at=start + T(days=2), ends_at=start + T(days=2, hours=2))
    with pytest.raises(LedgerError) as info:
        report_omission(person, later, later.starts_at, later.ends_at, "not yet")
    assert info.value.code == "activity_not_served"
    with pytest.raises(Forbidden):  # another organization's coordinator cannot decide
        decide_correction(make.coordinator(make.org()), report_error(person, entry, "wrong"), False, "no")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CorrectionRequest)) == 0


def local_input(moment):
    return moment.astimezone(LOCAL_ZONE).strftime("%Y-%m-%dT%H:%M")


def test_the_pages_from_report_to_outcome(app, site):
    activity, coordinator, _admin, volunteer, person, entry = site
    own, staff = app.test_client(), app.test_client()
    login(own, person)
    login(staff, coordinator)
    page = own.get(f"/volunteer/corrections/new?entry={entry.id}")
    assert page.status_code == 200 and activity.title in page.get_data(as_text=True)
    response = own.post(f"/volunteer/corrections/new?entry={entry.id}",
                        data={"message": "", "claimed_minutes": "90"})
    assert response.status_code == 200 and "Say what is wrong or missing." in response.get_data(as_text=True)
    response = own.post(f"/volunteer/corrections/new?entry={entry.id}",
                        data={"message": "I stayed until the end", "claimed_minutes": "90"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/volunteer/corrections")
    start = activity.starts_at + T(minutes=60)
    response = own.post("/volunteer/corrections/new", data={
        "activity": activity.code, "started_at": local_input(start), "ended_at": local_input(start + T(minutes=30)),
        "message": "after lunch"})
    assert response.status_code == 302
    requests = list(db.session.scalars(sa.select(CorrectionRequest).order_by(CorrectionRequest.id)))
    assert [(r.kind, r.status) for r in requests] == [("error", "pending"), ("omission", "pending")]

    listing = staff.get(f"/organizations/{activity.organization.code}/corrections").get_data(as_text=True)
    assert "I stayed until the end" in listing and "after lunch" in listing and "卓玛" in listing
    response = staff.post(f"/organizations/{activity.organization.code}/corrections/{requests[0].id}/decision",
                          data={"decision": "accept", "minutes": "40", "response": "agreed, 40 minutes"})
    assert response.status_code == 302
    response = staff.post(f"/organizations/{activity.organization.code}/corrections/{requests[1].id}/decision",
                          data={"decision": "decline", "response": ""})
    assert "Give a reason." in staff.get(response.headers["Location"]).get_data(as_text=True)
    staff.post(f"/organizations/{activity.organization.code}/corrections/{requests[1].id}/decision",
               data={"decision": "decline", "response": "nobody saw you there"})
    db.session.rollback()
    assert [r.status for r in db.session.scalars(sa.select(CorrectionRequest).order_by(CorrectionRequest.id))] == [
        "accepted", "declined"]
    assert entries("correction")[0].minutes == 40
    outcome = own.get("/volunteer/corrections").get_data(as_text=True)
    assert "agreed, 40 minutes" in outcome and "nobody saw you there" in outcome


def test_the_review_page_is_for_the_organizations_staff(app, site, make):
    activity, _coordinator, _admin, _volunteer, person, entry = site
    request = report_error(person, entry, "wrong")
    stranger = make.coordinator(make.org())
    db.session.commit()
    outsider = app.test_client()
    login(outsider, stranger)
    url = f"/organizations/{activity.organization.code}/corrections"
    assert outsider.get(url).status_code == 403
    assert outsider.post(f"{url}/{request.id}/decision", data={"decision": "decline",
                                                               "response": "no"}).status_code == 403
    db.session.rollback()
    assert db.session.get(CorrectionRequest, request.id).status == "pending"
    assert app.test_client().get("/volunteer/corrections").status_code == 302


def test_accepting_a_claim_beyond_the_scanned_interval_is_refused(site):
    """Minutes never exceed the time between check-in and check-out: more time is a fixed check-out, checked
    against the activity's window and the daily cap, not a number typed in."""
    activity, coordinator, admin, volunteer, person, entry = site
    decide_entries(admin, activity.organization, [entry.id], "approve")
    request = report_error(person, entry, "I stayed 8,000 hours", claimed_minutes=1440)
    db.session.commit()
    with pytest.raises(LedgerError) as info:
        decide_correction(coordinator, request, True, "ok")
    assert (info.value.code, info.value.params["minutes"]) == ("minutes_exceed_interval", 45)
    db.session.rollback()
    assert entries("correction") == [] and hours_of(volunteer.id).minutes == 45
