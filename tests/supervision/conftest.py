"""Organizations with approved service and certificates, for civil affairs to check; ledger rows written straight
into the tables for the scanner (as the province's seeder writes them), each with its state."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest

from volunteer_registry.certificates.services import issue_certificate, today
from volunteer_registry.extensions import db
from volunteer_registry.ledger.models import LedgerEntry, LedgerState
from volunteer_registry.ledger.services import decide_entries, record_missing_service
from volunteer_registry.models import utcnow
from volunteer_registry.timeutil import LOCAL_ZONE

VOLUNTEER_NAME = "次仁卓嘎"
_hours = itertools.count()


def approved_service(make, activity, volunteer, minutes: int, *, start: dt.datetime, recorder=None, approver=None):
    """``minutes`` of approved service from ``start``: recorded by a coordinator, approved by the org admin."""
    org = activity.organization
    entry = record_missing_service(recorder or make.coordinator(org), activity, volunteer.id, start,
                                   start + dt.timedelta(minutes=minutes), "paper sign-in sheet")
    decide_entries(approver or make.org_admin_of(org), org, [entry.id], "approve")
    return entry


def beijing(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), LOCAL_ZONE).astimezone(dt.UTC)


def add_entry(org, volunteer, day: dt.date, minutes: int, *, hour: int = 8, source: str = "card", flags=(),
              status: str = "approved", activity=None) -> LedgerEntry:
    """A service entry (and, unless pending, its decision) with its state, written directly as plain rows."""
    start = beijing(day, hour)
    entry = LedgerEntry(kind="service", volunteer_id=volunteer.id, organization_id=org.id,
                        activity_id=activity.id if activity else None, minutes=minutes, started_at=start,
                        ended_at=start + dt.timedelta(minutes=minutes), service_date=day,
                        activity_title=activity.title if activity else "Community duty", place="Kunlun Road",
                        recipient="Residents", content="Community service", person_in_charge="Ma Li",
                        source=source, flags=sorted(flags), created_at=utcnow())
    db.session.add(entry)
    db.session.flush()
    state = LedgerState(entry_id=entry.id, volunteer_id=volunteer.id, organization_id=org.id, status="pending",
                        minutes=minutes, flagged=bool(flags), service_date=day, started_at=entry.started_at,
                        ended_at=entry.ended_at)
    db.session.add(state)
    db.session.flush()
    if status != "pending":
        kind = {"approved": "approval", "rejected": "rejection", "annulled": "annulment"}[status]
        decision = LedgerEntry(kind=kind, volunteer_id=volunteer.id, organization_id=org.id,
                               activity_id=entry.activity_id, refers_to_id=entry.id, service_date=day,
                               created_at=utcnow())
        db.session.add(decision)
        db.session.flush()
        state.status, state.decided_by_entry_id = status, decision.id
        db.session.flush()
    return entry


@pytest.fixture
def platform(make):
    admin = make.admin()
    db.session.commit()
    return admin


@pytest.fixture
def checked(make):
    return build_checked(make)


def build_checked(make):
    """An organization with 27 approved service entries (25 of five volunteers, one of them 次仁卓嘎, and two of a
    sixth) and twelve valid certificates (each volunteer's two halves of the last month), and a pending entry."""
    org = make.org(name="玉树州结古镇青年志愿者协会")
    admin, coordinator = make.org_admin_of(org), make.coordinator(org)
    make.volunteer(admin, name="马晓东", gender="male")  # the handler printed on certificates
    now = utcnow().replace(microsecond=0)
    activity = make.activity(org, title="结古寺广场清洁", starts_at=now - dt.timedelta(days=30), ends_at=now)
    volunteers = [make.volunteer(name=VOLUNTEER_NAME if i == 0 else f"志愿者{i}") for i in range(6)]
    entries = []
    for i in range(25):
        day = today() - dt.timedelta(days=29 - i)
        entries.append(approved_service(make, activity, volunteers[i % 5], 120, start=beijing(day, 9),
                                        recorder=coordinator, approver=admin))
    extra = volunteers[5]
    for days_ago in (20, 3):
        approved_service(make, activity, extra, 60, start=beijing(today() - dt.timedelta(days=days_ago), 15),
                         recorder=coordinator, approver=admin)
    certificates = []
    for start, end in ((today() - dt.timedelta(days=31), today() - dt.timedelta(days=16)),
                       (today() - dt.timedelta(days=15), today())):
        for volunteer in volunteers:
            certificates.append(issue_certificate(admin, org, volunteer, start, end, render=False))
    record_missing_service(coordinator, activity, volunteers[1].id, beijing(today() - dt.timedelta(days=1), 15),
                           beijing(today() - dt.timedelta(days=1), 16), "not yet approved")
    db.session.commit()
    return org, volunteers, entries, certificates
