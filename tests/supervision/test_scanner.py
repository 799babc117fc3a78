"""The risk queue's scanner: each signal from the ledger (read in log order) and the audit log, kept up to date as
decisions change what counts, with the entries each concerns found again."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from volunteer_registry.audit.models import AuditEvent
from volunteer_registry.certificates.services import today
from volunteer_registry.extensions import db
from volunteer_registry.integrity.services import IntegrityRefusal
from volunteer_registry.ledger.log import extend_log
from volunteer_registry.ledger.models import LedgerEntry
from volunteer_registry.ledger.services import annul_entry, decide_entries, record_missing_service
from volunteer_registry.models import utcnow
from volunteer_registry.supervision import scanner
from volunteer_registry.supervision.models import RiskSignal, ScanCursor
from volunteer_registry.supervision.queries import risk_queue, signal_entries, signal_refusals
from volunteer_registry.supervision.scanner import (
    _claim,
    batch_facts,
    is_outlier,
    offline_reasons,
    scan_signals,
    scan_status,
)

from .conftest import add_entry, beijing

DAY = dt.date(2026, 3, 5)
LATER = dt.timedelta(minutes=5)  # past the audit log's settling time


def signals(kind: str | None = None, *, active: bool | None = True) -> list[RiskSignal]:
    query = sa.select(RiskSignal).order_by(RiskSignal.id)
    if kind:
        query = query.where(RiskSignal.kind == kind)
    if active is not None:
        query = query.where(RiskSignal.is_active.is_(active))
    return list(db.session.scalars(query))


def scan(**kwargs):
    extend_log()
    report = scan_signals(now=utcnow() + LATER, **kwargs)
    db.session.commit()
    return report


@pytest.fixture
def two_orgs(make):
    return make.org(name="Organization A"), make.org(name="Organization B")


# --- the pure centre ------------------------------------------------------------------------------------------------

def test_offline_reasons():
    assert offline_reasons("offline", []) == ["offline"]
    assert offline_reasons("card", ["clock_skew", "manual"]) == ["clock_skew"]
    assert offline_reasons("offline", ["offline", "clock_skew"]) == ["clock_skew", "offline"]
    assert offline_reasons("kiosk", ["overlap"]) == []


def test_what_a_batch_of_the_log_asks_to_look_at_again():
    from types import SimpleNamespace as Row

    rows = [Row(kind="service", volunteer_id=1, organization_id=10, activity_id=5, service_date=DAY,
                source="offline", flags=["offline"]),
            Row(kind="service", volunteer_id=2, organization_id=10, activity_id=5, service_date=DAY,
                source="card", flags=["overlap", "clock_skew"]),
            Row(kind="approval", volunteer_id=1, organization_id=10, activity_id=5, service_date=DAY,
                source=None, flags=[]),
            Row(kind="annulment", volunteer_id=3, organization_id=11, activity_id=None,
                service_date=DAY - dt.timedelta(days=1), source=None, flags=[]),
            Row(kind="certificate", volunteer_id=4, organization_id=12, activity_id=None, service_date=DAY,
                source=None, flags=[])]
    facts = batch_facts(rows)
    assert facts.days == {(1, DAY), (2, DAY), (3, DAY - dt.timedelta(days=1))}  # a certificate changes no day
    assert facts.offline == {(10, DAY): 2} and facts.overlap == {(10, DAY): 1}
    assert facts.offline_reasons[(10, DAY)] == {"offline": 1, "clock_skew": 1}
    assert facts.activities == {5} and facts.organizations == {10, 11}


def test_outliers_need_both_height_and_volume():
    assert is_outlier(500, 20, 300)
    assert not is_outlier(450, 20, 300)  # exactly 1.5 times is not "more than"
    assert not is_outlier(900, 19, 300)  # too small an organization to tell
    assert not is_outlier(900, 50, None)  # no approved service in the province yet


# --- each signal ----------------------------------------------------------------------------------------------------

def test_a_long_day_across_organizations_and_its_end_when_an_entry_is_annulled(make, two_orgs, platform):
    a, b = two_orgs
    volunteer = make.volunteer()
    first = add_entry(a, volunteer, DAY, 420, hour=7)
    add_entry(b, volunteer, DAY, 360, hour=15)
    add_entry(b, volunteer, DAY - dt.timedelta(days=1), 700, hour=8)  # another day: under 12 hours
    add_entry(a, volunteer, DAY, 200, hour=22, status="rejected")  # rejected minutes do not count
    db.session.commit()
    scan()
    [signal] = signals("long_day")
    assert (signal.volunteer_id, signal.occurred_on, signal.minutes, signal.entry_count) == (
        volunteer.id, DAY, 780, 2)
    assert signal.organization_id == a.id  # the most minutes that day
    assert signal.details == {"organizations": sorted([a.id, b.id])}
    rows, total = signal_entries(signal)
    assert total == 2 and sorted(r.minutes for r in rows) == [360, 420]

    annul_entry(platform, first, "never served")
    db.session.commit()
    scan()
    assert signals("long_day") == [] and len(signals("long_day", active=False)) == 1


def test_a_pending_entry_counts_towards_a_long_day(make, two_orgs):
    a, _b = two_orgs
    volunteer = make.volunteer()
    add_entry(a, volunteer, DAY, 400, hour=6)
    add_entry(a, volunteer, DAY, 400, hour=14, status="pending")
    db.session.commit()
    scan()
    assert [(s.minutes, s.entry_count) for s in signals("long_day")] == [(800, 2)]


def test_offline_and_clock_skewed_entries_by_organization_and_day(make, two_orgs):
    a, b = two_orgs
    volunteers = [make.volunteer() for _ in range(3)]
    add_entry(a, volunteers[0], DAY, 60, source="offline", flags=["offline"])
    add_entry(a, volunteers[1], DAY, 60, flags=["clock_skew"])
    add_entry(a, volunteers[2], DAY, 60)  # an ordinary scan
    add_entry(b, volunteers[0], DAY, 60, hour=14)
    db.session.commit()
    scan()
    [signal] = signals("offline")
    assert (signal.organization_id, signal.occurred_on, signal.entry_count) == (a.id, DAY, 2)
    assert signal.details == {"reasons": {"clock_skew": 1, "offline": 1}}
    add_entry(a, volunteers[2], DAY, 30, hour=12, source="offline", status="pending")  # it came in later
    db.session.commit()
    scan()
    [signal] = signals("offline")
    assert signal.entry_count == 3 and signal.details == {"reasons": {"clock_skew": 1, "offline": 2}}
    rows, total = signal_entries(signal)
    assert total == 3 and {r.volunteer_number for r in rows} == {v.volunteer_number for v in volunteers}


def test_overlapping_entries(make, two_orgs):
    a, _b = two_orgs
    volunteer = make.volunteer()
    add_entry(a, volunteer, DAY, 90, flags=["overlap"], status="pending")
    add_entry(a, volunteer, DAY, 90, hour=11)
    db.session.commit()
    scan()
    [signal] = signals("overlap")
    assert (signal.organization_id, signal.occurred_on, signal.entry_count) == (a.id, DAY, 1)
    rows, total = signal_entries(signal)
    assert total == 1 and rows[0].minutes == 90


def test_a_retroactive_activity_and_its_entries(make, two_orgs):
    a, _b = two_orgs
    now = utcnow().replace(microsecond=0)
    retro = make.activity(a, title="补录的清洁活动", starts_at=now - dt.timedelta(days=3),
                          ends_at=now - dt.timedelta(days=3) + dt.timedelta(hours=4), created_at=now)
    planned = make.activity(a, title="Planned ahead", starts_at=now - dt.timedelta(days=3),
                            ends_at=now - dt.timedelta(days=3) + dt.timedelta(hours=4))
    assert retro.is_retroactive and not planned.is_retroactive
    served = retro.starts_at.astimezone(beijing(DAY, 0).tzinfo).date()
    for _ in range(2):
        add_entry(a, make.volunteer(), served, 120, activity=retro, status="pending")
    add_entry(a, make.volunteer(), served, 120, activity=planned)
    db.session.commit()
    scan()
    [signal] = signals("retroactive")
    assert (signal.activity_id, signal.organization_id, signal.entry_count) == (retro.id, a.id, 2)
    rows, total = signal_entries(signal)
    assert total == 2 and {r.activity_title for r in rows} == {"补录的清洁活动"}


def test_refused_self_related_decisions(make, two_orgs):
    """A coordinator tries to approve their own service: refused, audited, and a signal of the organization's day."""
    a, _b = two_orgs
    coordinator = make.coordinator(a)
    me = make.volunteer(coordinator)
    activity = make.activity(a, starts_at=utcnow() - dt.timedelta(days=2), ends_at=utcnow() - dt.timedelta(days=1))
    entry = record_missing_service(make.coordinator(a), activity, me.id, activity.starts_at,
                                   activity.starts_at + dt.timedelta(hours=1), "paper sheet")
    db.session.commit()
    with pytest.raises(IntegrityRefusal):
        decide_entries(coordinator, a, [entry.id], "approve")
    db.session.rollback()  # the refusal is written all the same
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "integrity.refused")) == 1
    scan_signals(now=utcnow())  # too young: on PostgreSQL an older id could still be committed
    assert signals("refused") == []
    scan()
    [signal] = signals("refused")
    assert (signal.organization_id, signal.entry_count) == (a.id, 1)
    assert signal.details == {"reasons": {"conflict_of_interest": 1}}
    events, users = signal_refusals(signal)
    assert [e.details["refused"] for e in events] == ["ledger.approve"] and coordinator.id in users


def test_an_organization_far_above_the_province(make):
    busy, usual, tiny = make.org(name="Busy"), make.org(name="Usual"), make.org(name="Tiny")
    volunteer = make.volunteer()
    for day in range(20):
        add_entry(busy, volunteer, DAY - dt.timedelta(days=day), 600, hour=8)
    for day in range(30):
        add_entry(usual, volunteer, DAY - dt.timedelta(days=day), 120, hour=20)
    for day in range(5):
        add_entry(tiny, volunteer, DAY - dt.timedelta(days=100 + day), 700)
    add_entry(usual, volunteer, DAY, 600, hour=3, status="pending")  # pending minutes are not approved ones
    db.session.commit()
    scan()
    [signal] = signals("outlier")
    province = (20 * 600 + 30 * 120 + 5 * 700) / 55
    assert (signal.organization_id, signal.minutes, signal.entry_count) == (busy.id, 600, 20)
    assert signal.details == {"province_minutes_per_day": round(province), "volunteer_days": 20}
    # a month of short days brings it back among the others
    for day in range(40):
        add_entry(busy, volunteer, DAY - dt.timedelta(days=40 + day), 100, hour=14)
    db.session.commit()
    scan()
    assert signals("outlier") == [] and len(signals("outlier", active=False)) == 1


# --- reading the log ------------------------------------------------------------------------------------------------

def test_the_log_is_read_once_in_its_order_and_only_what_it_holds(make, two_orgs):
    a, _b = two_orgs
    volunteer = make.volunteer()
    add_entry(a, volunteer, DAY, 60, source="offline")
    db.session.commit()
    assert scan_signals(now=utcnow()).entries == 0  # not in the log yet: the next batch of the log brings it
    report = scan()
    assert report.entries == 2 and report.complete  # the service entry and its approval
    assert scan().entries == 0
    assert [s.entry_count for s in signals("offline")] == [1]
    status = scan_status()
    assert (status.scanned, status.logged, status.behind) == (2, 2, 0) and status.last_scan_at is not None


def test_a_scan_in_small_batches_reaches_the_same_signals(make, two_orgs):
    a, b = two_orgs
    volunteers = [make.volunteer() for _ in range(3)]
    for volunteer in volunteers:
        add_entry(a, volunteer, DAY, 400, hour=6, source="offline")
        add_entry(b, volunteer, DAY, 400, hour=15, flags=["overlap"])
    db.session.commit()
    extend_log()
    report = scan_signals(batch=2, max_batches=1, now=utcnow() + LATER)
    assert (report.entries, report.complete) == (2, False)
    assert scan_status().behind == 10
    scan(batch=2)
    assert sorted((s.kind, s.entry_count) for s in signals()) == [("long_day", 2)] * 3 + [("offline", 3),
                                                                                          ("overlap", 3)]


def test_a_batch_another_scan_took_is_not_read_twice(make, two_orgs):
    add_entry(two_orgs[0], make.volunteer(), DAY, 60, source="offline")
    db.session.commit()
    extend_log()
    scanner.position("ledger")
    assert _claim("ledger", 0, 1, utcnow())  # another scan moves the cursor first
    assert not _claim("ledger", 0, 2, utcnow())
    assert db.session.get(ScanCursor, "ledger").position == 1


def test_the_queue_lists_active_signals_latest_first_and_by_kind(make, two_orgs):
    a, b = two_orgs
    volunteer = make.volunteer()
    add_entry(a, volunteer, DAY, 60, source="offline")
    add_entry(b, volunteer, DAY + dt.timedelta(days=1), 60, flags=["overlap"])
    db.session.commit()
    scan()
    page = risk_queue()
    assert [(s.kind, s.occurred_on) for s in page.items] == [("overlap", DAY + dt.timedelta(days=1)),
                                                             ("offline", DAY)]
    assert [s.kind for s in risk_queue(kind="offline").items] == ["offline"]
    assert [s.kind for s in risk_queue(organization_id=b.id).items] == ["overlap"]
    assert risk_queue(kind="nonsense").total == 2


def test_every_change_is_itself_an_entry_in_the_log(make, two_orgs):
    """A rejection is an entry: the scanner sees a pending long day end without reading the states."""
    a, _b = two_orgs
    volunteer = make.volunteer()
    activity = make.activity(a, starts_at=beijing(today(), 0) - dt.timedelta(days=2),
                             ends_at=beijing(today(), 0) - dt.timedelta(days=1))
    recorder = make.coordinator(a)
    start = activity.starts_at
    first = record_missing_service(recorder, activity, volunteer.id, start, start + dt.timedelta(hours=7), "sheet")
    record_missing_service(recorder, activity, volunteer.id, start + dt.timedelta(hours=8),
                           start + dt.timedelta(hours=14), "sheet")
    db.session.commit()
    scan()
    assert len(signals("long_day")) == 1
    decide_entries(make.org_admin_of(a), a, [first.id], "reject", "not on the sheet")
    db.session.commit()
    scan()
    assert signals("long_day") == []
    rejection = db.session.scalar(sa.select(LedgerEntry).where(LedgerEntry.kind == "rejection"))
    assert rejection.refers_to_id == first.id


def test_the_command_scans_everything_new(app, make, two_orgs):
    add_entry(two_orgs[0], make.volunteer(), DAY, 60, source="offline")
    db.session.commit()
    extend_log()
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["supervision", "scan"])
    assert result.exit_code == 0, result.output
    assert "2 log entries and 0 refused decisions read" in result.output and "0 entries behind" in result.output
    db.session.rollback()
    assert [s.entry_count for s in signals("offline")] == [1]
