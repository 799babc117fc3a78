"""The monthly totals (service_months) stay equal to a recount of the entries' states through every kind of change
— approval, rejection, correction, annulment, in two organizations and two months — and `flask ledger verify`
notices when they do not."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from volunteer_registry.extensions import db
from volunteer_registry.ledger.aggregates import counted_months, rebuild_service_months, stored_months
from volunteer_registry.ledger.log import verify_ledger
from volunteer_registry.ledger.models import LedgerEntry, ServiceMonth
from volunteer_registry.ledger.services import annul_entry, correct_entry, decide_entries, record_missing_service
from volunteer_registry.models import utcnow

from ..certificates.conftest import approved_service

T = dt.timedelta


def test_the_monthly_totals_follow_every_change_and_verify_checks_them(make):
    now = utcnow().replace(microsecond=0)
    earlier = make.activity(title="A then", starts_at=now - T(days=50), ends_at=now - T(days=25))
    org_a = earlier.organization
    first = make.activity(org_a, title="A now", starts_at=now - T(days=5), ends_at=now + T(days=1))
    second = make.activity(title="B", starts_at=now - T(days=5), ends_at=now + T(days=1))
    org_b = second.organization
    admin_a = make.org_admin_of(org_a)
    zhuoma, tashi = make.volunteer(name="卓玛"), make.volunteer(name="扎西")
    steps = []

    def check(label: str) -> None:
        db.session.commit()
        assert stored_months() == counted_months(), label
        steps.append(label)

    old = approved_service(make, earlier, zhuoma, 120, days_ago=45, approver=admin_a)  # another month than today's
    recent = approved_service(make, first, tashi, 60, days_ago=2, approver=admin_a)
    approved_service(make, second, zhuoma, 30, days_ago=2)
    check("three approvals in two organizations")
    assert sum(stored_months().values()) == 210 and len({org for org, _m in stored_months()}) == 2
    correct_entry(admin_a, recent, 50, "left earlier than scanned")
    check("a correction proposed on an approved entry moves nothing")
    assert sum(minutes for (org, _m), minutes in stored_months().items() if org == org_a.id) == 180
    decide_entries(make.coordinator(org_a), org_a, [recent.id], "approve")
    check("the correction approved by another person")
    annul_entry(admin_a, old, "not our activity")
    check("an annulment")
    assert sum(minutes for (org, _m), minutes in stored_months().items() if org == org_a.id) == 50
    waiting = record_missing_service(make.coordinator(org_a), first, zhuoma.id, now - T(days=1, hours=3),
                                     now - T(days=1, hours=1), "paper sheet")
    check("a pending entry counts nothing")
    correct_entry(admin_a, waiting, 100, "typed wrong")
    decide_entries(admin_a, org_a, [waiting.id], "reject", "not ours")
    check("a corrected, then rejected entry counts nothing")
    assert sum(minutes for (org, _m), minutes in stored_months().items() if org == org_a.id) == 50
    assert not verify_ledger().problems

    # a total changed behind the app's back is named by verify; a rebuild puts it right
    db.session.execute(sa.update(ServiceMonth).where(ServiceMonth.organization_id == org_b.id)
                       .values(minutes=ServiceMonth.minutes + 1))
    db.session.commit()
    assert "the monthly totals (service_months) differ from the entries' states" in verify_ledger().problems
    assert rebuild_service_months() == len(counted_months())
    db.session.commit()
    assert stored_months() == counted_months() and not verify_ledger().problems
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)) > 0 and len(steps) == 6
