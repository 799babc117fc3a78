"""Volunteers with approved service, ready to be certified."""
from __future__ import annotations

import datetime as dt

import pytest

from volunteer_registry.extensions import db
from volunteer_registry.ledger.services import decide_entries, record_missing_service
from volunteer_registry.models import utcnow


def approved_service(make, activity, volunteer, minutes: int, *, days_ago: int = 3, recorder=None, approver=None):
    """``minutes`` of approved service by ``volunteer`` at ``activity``, ``days_ago`` days back: recorded by a
    coordinator, approved by the org admin (four eyes), as the organization would."""
    org = activity.organization
    recorder = recorder or make.coordinator(org)
    approver = approver or make.org_admin_of(org)
    start = (utcnow() - dt.timedelta(days=days_ago)).replace(hour=2, minute=0, second=0, microsecond=0)
    entry = record_missing_service(recorder, activity, volunteer.id, start, start + dt.timedelta(minutes=minutes),
                                   "paper sign-in sheet")
    decide_entries(approver, org, [entry.id], "approve")
    return entry


@pytest.fixture
def certified(make):
    """An organization whose admin can issue (their volunteer profile gives the handler's name, 马晓东), two past
    activities, and a volunteer with 5 h 30 min of approved service in them (and 2 h still pending, which no
    certificate may count)."""
    org = make.org(name="西宁市城东区志愿者协会", person_in_charge="马丽")
    admin = make.org_admin_of(org)
    make.volunteer(admin, name="马晓东", gender="male")
    now = utcnow().replace(microsecond=0)
    river = make.activity(org, title="湟水河清洁", starts_at=now - dt.timedelta(days=20),
                          ends_at=now + dt.timedelta(days=1))
    library = make.activity(org, title="社区图书角", category="education", starts_at=now - dt.timedelta(days=20),
                            ends_at=now + dt.timedelta(days=1))
    volunteer = make.volunteer(name="卓玛")
    coordinator = make.coordinator(org)
    approved_service(make, river, volunteer, 180, days_ago=10, recorder=coordinator, approver=admin)
    approved_service(make, library, volunteer, 150, days_ago=5, recorder=coordinator, approver=admin)
    record_missing_service(coordinator, river, volunteer.id, now - dt.timedelta(days=2, hours=3),
                           now - dt.timedelta(days=2, hours=1), "not yet approved")
    db.session.commit()
    return org, admin, volunteer, coordinator, (river, library)
