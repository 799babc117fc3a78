"""The risk queue's scanner: reads what is new in the ledger and the audit log and keeps ``risk_signals`` up to date,
so that the queue is a page of an indexed table however large the ledger grows (a province: 800,000 entries).

The ledger is read in the order of its Merkle log (leaf index): the log grows in batches under one lock, so its
leaves appear in commit order — a cursor on it never skips an entry, also on PostgreSQL, where an entry id can be
committed after a higher one. Every change of an entry's status or minutes is itself a new entry, so the log shows
the scanner every change it must react to. Audit events (refused decisions) are read by id, leaving the youngest
(AUDIT_SETTLE) for the next scan for the same reason. Each batch first moves its cursor, on the condition that no
other scan moved it, so that two scans never process the same batch.

What the signals mean is decided by pure functions (``batch_facts``, ``is_outlier``); the rest gathers and writes.
"""
from __future__ import annotations

import datetime as dt
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError

from ..activities.models import Activity
from ..audit.models import AuditEvent
from ..extensions import db
from ..ledger.models import LIVE_STATES, LedgerEntry, LedgerLeaf, LedgerState
from ..models import utcnow
from ..timeutil import local
from .models import (
    LONG_DAY_MINUTES,
    OFFLINE_FLAGS,
    OUTLIER_FACTOR,
    OUTLIER_MIN_VOLUNTEER_DAYS,
    OrganizationFigure,
    RiskSignal,
    ScanCursor,
)

#: log leaves (or audit events) read per batch
SCAN_BATCH = 5000
#: audit events younger than this wait for the next scan (an id handed out before a slow commit)
AUDIT_SETTLE = dt.timedelta(minutes=2)
#: with more stale organizations than this, their figures come from one pass over all approved states
FULL_REFRESH_AT = 400
#: values per IN (...) list
CHUNK = 500
#: the ledger's entry kinds that change what counts on a volunteer's day, and the organization's approved figures
DAY_KINDS = frozenset({"service", "approval", "rejection", "correction", "annulment"})
FIGURE_KINDS = frozenset({"approval", "correction", "annulment"})


def _chunks(values: Iterable, size: int = CHUNK) -> Iterator[list]:
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


# --- the pure centre ------------------------------------------------------------------------------------------------

@dataclass
class BatchFacts:
    """What one batch of log entries tells the scanner to look at again."""

    days: set[tuple[int, dt.date]] = field(default_factory=set)  #: (volunteer, service date) to total again
    offline: Counter = field(default_factory=Counter)  #: (organization, date) → new back-dated/offline entries
    offline_reasons: dict = field(default_factory=lambda: defaultdict(Counter))
    overlap: Counter = field(default_factory=Counter)  #: (organization, date) → new overlapping entries
    activities: set[int] = field(default_factory=set)  #: activities with new service entries
    organizations: set[int] = field(default_factory=set)  #: organizations whose approved figures changed


def offline_reasons(source: str | None, flags) -> list[str]:
    """Why a service entry counts as back-dated or offline: its source and flags (empty when it does not)."""
    reasons = sorted(OFFLINE_FLAGS.intersection(flags or ()))
    if source == "offline" and "offline" not in reasons:
        reasons.insert(0, "offline")
    return reasons


def batch_facts(rows) -> BatchFacts:
    """The facts of log entries given as rows with kind, volunteer_id, organization_id, activity_id,
    service_date, source and flags."""
    facts = BatchFacts()
    for row in rows:
        if row.kind in DAY_KINDS and row.service_date is not None:
            facts.days.add((row.volunteer_id, row.service_date))
        if row.kind in FIGURE_KINDS:
            facts.organizations.add(row.organization_id)
        if row.kind != "service":
            continue
        if row.activity_id is not None:
            facts.activities.add(row.activity_id)
        reasons = offline_reasons(row.source, row.flags)
        if reasons:
            facts.offline[(row.organization_id, row.service_date)] += 1
            facts.offline_reasons[(row.organization_id, row.service_date)].update(reasons)
        if "overlap" in (row.flags or ()):
            facts.overlap[(row.organization_id, row.service_date)] += 1
    return facts


def is_long_day(minutes: int) -> bool:
    return minutes > LONG_DAY_MINUTES


def is_outlier(minutes_per_day: float, volunteer_days: int, province_per_day: float | None) -> bool:
    """Whether an organization's approved minutes per volunteer-day stand far above the province's."""
    return bool(province_per_day) and volunteer_days >= OUTLIER_MIN_VOLUNTEER_DAYS and \
        minutes_per_day > OUTLIER_FACTOR * province_per_day


def day_key(kind: str, organization_id: int | None, day: dt.date | None) -> str:
    return f"{kind}:{organization_id or 0}:{day.isoformat() if day else '-'}"


# --- cursors and signal rows ----------------------------------------------------------------------------------------

def position(name: str) -> int:
    """The cursor's position (created at 0 the first time)."""
    value = db.session.scalar(db.select(ScanCursor.position).where(ScanCursor.name == name))
    if value is not None:
        return value
    try:
        with db.session.begin_nested():
            db.session.add(ScanCursor(name=name, position=0))
    except IntegrityError:  # another scan created it first
        pass
    return 0


def _claim(name: str, start: int, end: int, now: dt.datetime) -> bool:
    """Move the cursor from ``start`` to ``end`` unless another scan has moved it since (then False: stop)."""
    result = db.session.execute(update(ScanCursor).where(ScanCursor.name == name, ScanCursor.position == start)
                                .values(position=end, updated_at=now).execution_options(synchronize_session=False))
    return result.rowcount == 1


def _signals(keys: Iterable[str]) -> dict[str, RiskSignal]:
    found: dict[str, RiskSignal] = {}
    for chunk in _chunks(sorted(set(keys))):
        found.update((s.key, s) for s in db.session.scalars(db.select(RiskSignal).where(RiskSignal.key.in_(chunk))))
    return found


def _set(found: dict[str, RiskSignal], key: str, now: dt.datetime, *, on_create: dict | None = None,
         **values) -> RiskSignal:
    """The signal ``key`` active with ``values`` (created with ``on_create`` as well when it is new)."""
    signal = found.get(key)
    if signal is None:
        signal = RiskSignal(key=key, is_active=True, first_seen_at=now, updated_at=now, **(on_create or {}),
                            **values)
        db.session.add(signal)
        found[key] = signal
    elif not signal.is_active or any(getattr(signal, name) != value for name, value in values.items()):
        for name, value in values.items():
            setattr(signal, name, value)
        signal.is_active, signal.updated_at = True, now
    return signal


def _retire(found: dict[str, RiskSignal], key: str, now: dt.datetime) -> None:
    signal = found.get(key)
    if signal is not None and signal.is_active:
        signal.is_active, signal.updated_at = False, now


def _add(found: dict[str, RiskSignal], key: str, count: int, now: dt.datetime, *, reasons: Counter | None = None,
         **values) -> None:
    """Add ``count`` new entries (and their ``reasons``) to the signal ``key``."""
    signal = found.get(key)
    before = signal.entry_count if signal is not None else 0
    merged = Counter((signal.details or {}).get("reasons", {}) if signal is not None else {})
    merged.update(reasons or {})
    details = {"reasons": dict(sorted(merged.items()))} if merged else {}
    _set(found, key, now, entry_count=before + count, details=details, **values)


# --- one batch of the log -------------------------------------------------------------------------------------------

def scan_ledger_batch(limit: int = SCAN_BATCH, now: dt.datetime | None = None) -> int:
    """Read the next ``limit`` leaves of the log and bring the signals they touch up to date. Returns how many
    were read (0: nothing new, or another scan holds this batch)."""
    now = now or utcnow()
    start = position("ledger")
    rows = db.session.execute(
        db.select(LedgerLeaf.leaf_index, LedgerEntry.kind, LedgerEntry.volunteer_id, LedgerEntry.organization_id,
                  LedgerEntry.activity_id, LedgerEntry.service_date, LedgerEntry.source, LedgerEntry.flags)
        .join(LedgerEntry, LedgerEntry.id == LedgerLeaf.entry_id)
        .where(LedgerLeaf.leaf_index >= start).order_by(LedgerLeaf.leaf_index).limit(limit)).all()
    if not rows or not _claim("ledger", start, rows[-1].leaf_index + 1, now):
        return 0
    facts = batch_facts(rows)
    _long_days(facts.days, now)
    for kind, counts in (("offline", facts.offline), ("overlap", facts.overlap)):
        found = _signals(day_key(kind, org, day) for org, day in counts)
        for (org, day), count in counts.items():
            _add(found, day_key(kind, org, day), count, now, kind=kind, organization_id=org, occurred_on=day,
                 reasons=facts.offline_reasons.get((org, day)) if kind == "offline" else None)
    _retroactive(facts.activities, now)
    _mark_stale(facts.organizations, now)
    db.session.flush()
    return len(rows)


def _long_days(days: set[tuple[int, dt.date]], now: dt.datetime) -> None:
    """Total again each (volunteer, date) given over the pending and approved entries, and keep its signal."""
    by_volunteer: dict[int, set[dt.date]] = defaultdict(set)
    for volunteer_id, day in days:
        by_volunteer[volunteer_id].add(day)
    totals: dict[tuple[int, dt.date], list] = {}
    for chunk in _chunks(sorted(by_volunteer)):
        dates = sorted(set().union(*(by_volunteer[v] for v in chunk)))
        rows = db.session.execute(
            db.select(LedgerState.volunteer_id, LedgerState.service_date, LedgerState.organization_id,
                      func.sum(LedgerState.minutes), func.count())
            .where(LedgerState.volunteer_id.in_(chunk), LedgerState.service_date.in_(dates),
                   LedgerState.status.in_(LIVE_STATES))
            .group_by(LedgerState.volunteer_id, LedgerState.service_date, LedgerState.organization_id))
        for volunteer_id, day, org_id, minutes, count in rows:
            if (volunteer_id, day) in days:
                total = totals.setdefault((volunteer_id, day), [0, 0, Counter()])
                total[0] += minutes or 0
                total[1] += count
                total[2][org_id] += minutes or 0
    keys = {(v, d): f"long_day:{v}:{d.isoformat()}" for v, d in days}
    found = _signals(keys.values())
    for pair, key in keys.items():
        minutes, count, organizations = totals.get(pair, (0, 0, Counter()))
        if is_long_day(minutes):
            # the organization with the most minutes that day answers for it; the others are named in details
            main = min(organizations, key=lambda org_id: (-organizations[org_id], org_id))
            _set(found, key, now, kind="long_day", organization_id=main, volunteer_id=pair[0], occurred_on=pair[1],
                 entry_count=count, minutes=minutes, details={"organizations": sorted(organizations)})
        else:
            _retire(found, key, now)


def _retroactive(activity_ids: set[int], now: dt.datetime) -> None:
    """Keep the signal of each retroactive activity among ``activity_ids``: how many service entries it has."""
    for chunk in _chunks(sorted(activity_ids)):
        activities = db.session.execute(db.select(Activity.id, Activity.organization_id, Activity.starts_at).where(
            Activity.id.in_(chunk), Activity.is_retroactive.is_(True))).all()
        if not activities:
            continue
        ids = [a.id for a in activities]
        counts = dict(db.session.execute(
            db.select(LedgerEntry.activity_id, func.count())
            .where(LedgerEntry.organization_id.in_(sorted({a.organization_id for a in activities})),
                   LedgerEntry.kind == "service", LedgerEntry.activity_id.in_(ids))
            .group_by(LedgerEntry.activity_id)).all())
        found = _signals(f"retroactive:{a.id}" for a in activities)
        for activity in activities:
            _set(found, f"retroactive:{activity.id}", now, kind="retroactive", organization_id=activity.organization_id,
                 activity_id=activity.id, occurred_on=local(activity.starts_at).date(),
                 entry_count=counts.get(activity.id, 0))


def _mark_stale(org_ids: set[int], now: dt.datetime) -> None:
    for chunk in _chunks(sorted(org_ids)):
        known = {f.organization_id: f for f in db.session.scalars(
            db.select(OrganizationFigure).where(OrganizationFigure.organization_id.in_(chunk)))}
        for org_id in chunk:
            if org_id in known:
                known[org_id].is_stale = True
            else:
                db.session.add(OrganizationFigure(organization_id=org_id, is_stale=True, updated_at=now))


# --- refused decisions ----------------------------------------------------------------------------------------------

def scan_refusals(limit: int = SCAN_BATCH, now: dt.datetime | None = None) -> int:
    """Read the next refused decisions (``integrity.refused`` audit events) into one signal per organization and
    day. Returns how many were read."""
    now = now or utcnow()
    start = position("audit")
    rows = db.session.execute(
        db.select(AuditEvent.id, AuditEvent.organization_id, AuditEvent.created_at, AuditEvent.details)
        .where(AuditEvent.action == "integrity.refused", AuditEvent.id > start)
        .order_by(AuditEvent.id).limit(limit)).all()
    settled = []
    for row in rows:
        if row.created_at > now - AUDIT_SETTLE:
            break  # this one and those after it wait for the next scan
        settled.append(row)
    if not settled or not _claim("audit", start, settled[-1].id, now):
        return 0
    counts: Counter = Counter()
    reasons: dict = defaultdict(Counter)
    for row in settled:
        where = (row.organization_id, local(row.created_at).date())
        counts[where] += 1
        reasons[where][str((row.details or {}).get("code", "?"))] += 1
    found = _signals(day_key("refused", org, day) for org, day in counts)
    for (org, day), count in counts.items():
        _add(found, day_key("refused", org, day), count, now, reasons=reasons[(org, day)], kind="refused",
             organization_id=org, occurred_on=day)
    db.session.flush()
    return len(settled)


# --- organizations far above the province ---------------------------------------------------------------------------

def approved_figures(org_ids: Iterable[int] | None = None) -> dict[int, tuple[int, int, int]]:
    """Organization id → (approved minutes, approved entries, volunteer-days) from the states: of ``org_ids``, or
    of every organization (one pass) when None."""
    def query(chunk):
        days = (db.select(LedgerState.organization_id.label("org"), func.sum(LedgerState.minutes).label("minutes"),
                          func.count().label("entries"))
                .where(LedgerState.status == "approved")
                .group_by(LedgerState.organization_id, LedgerState.volunteer_id, LedgerState.service_date))
        if chunk is not None:
            days = days.where(LedgerState.organization_id.in_(chunk))
        days = days.subquery()
        return db.session.execute(db.select(days.c.org, func.sum(days.c.minutes), func.sum(days.c.entries),
                                            func.count()).group_by(days.c.org))

    chunks = [None] if org_ids is None else list(_chunks(sorted(set(org_ids))))
    return {org: (int(minutes or 0), int(entries or 0), int(count)) for chunk in chunks
            for org, minutes, entries, count in query(chunk)}


def refresh_figures(now: dt.datetime | None = None) -> int:
    """Recompute the stale organizations' figures, then keep the outlier signals of every organization against the
    province's figure (which they change). Returns how many figures were recomputed (0: none was stale)."""
    now = now or utcnow()

    def stale_ids() -> list[int]:
        return list(db.session.scalars(db.select(OrganizationFigure.organization_id)
                                       .where(OrganizationFigure.is_stale.is_(True))))

    if not stale_ids():
        return 0
    start = position("figures")
    if not _claim("figures", start, start + 1, now):
        return 0
    stale = stale_ids()  # again, now that this scan holds the figures: another may have just done them
    totals = approved_figures(None if len(stale) > FULL_REFRESH_AT else stale) if stale else {}
    for chunk in _chunks(stale):
        for figure in db.session.scalars(db.select(OrganizationFigure)
                                         .where(OrganizationFigure.organization_id.in_(chunk))):
            minutes, entries, days = totals.get(figure.organization_id, (0, 0, 0))
            figure.approved_minutes, figure.approved_entries, figure.volunteer_days = minutes, entries, days
            figure.is_stale, figure.updated_at = False, now
    db.session.flush()
    _outliers(now)
    db.session.flush()
    return len(stale)


def province_figure() -> float | None:
    """The province's approved minutes per volunteer-day, or None before any approved service."""
    minutes, days = db.session.execute(db.select(func.sum(OrganizationFigure.approved_minutes),
                                                 func.sum(OrganizationFigure.volunteer_days))).one()
    return int(minutes) / int(days) if days else None


def _outliers(now: dt.datetime) -> None:
    province = province_figure()
    figures = db.session.execute(db.select(OrganizationFigure.organization_id, OrganizationFigure.approved_minutes,
                                           OrganizationFigure.approved_entries,
                                           OrganizationFigure.volunteer_days)).all()
    found = {s.key: s for s in db.session.scalars(db.select(RiskSignal).where(RiskSignal.kind == "outlier"))}
    for org_id, minutes, entries, days in figures:
        key = f"outlier:{org_id}"
        per_day = minutes / days if days else 0.0
        if is_outlier(per_day, days, province):
            _set(found, key, now, on_create={"occurred_on": local(now).date()}, kind="outlier",
                 organization_id=org_id, entry_count=entries, minutes=round(per_day),
                 details={"province_minutes_per_day": round(province), "volunteer_days": days})
        else:
            _retire(found, key, now)


# --- the whole scan -------------------------------------------------------------------------------------------------

@dataclass
class ScanReport:
    entries: int = 0  #: log leaves read
    refusals: int = 0  #: refused decisions read
    figures: int = 0  #: organizations' figures recomputed
    complete: bool = True  #: False when it stopped (time or batches) before the end of the log


def scan_signals(*, batch: int = SCAN_BATCH, max_batches: int | None = None, seconds: float | None = None,
                 now: dt.datetime | None = None, commit=None) -> ScanReport:
    """Bring the risk signals up to date: the log's new leaves (at most ``max_batches`` batches or ``seconds``),
    the settled refused decisions, the stale figures and the outliers. ``commit`` (a callable), when given, is
    called after each batch (the command line commits as it goes); otherwise everything is only flushed."""
    now = now or utcnow()
    report = ScanReport()
    began = time.monotonic()
    batches = 0
    while True:
        read = scan_ledger_batch(batch, now)
        report.entries += read
        batches += 1
        if commit:
            commit()
        if read < batch:
            break
        if (max_batches is not None and batches >= max_batches) or \
                (seconds is not None and time.monotonic() - began > seconds):
            report.complete = False
            break
    while (read := scan_refusals(batch, now)) > 0:
        report.refusals += read
        if read < batch:
            break
    report.figures = refresh_figures(now)
    if commit:
        commit()
    return report


@dataclass
class ScanStatus:
    scanned: int  #: log leaves read
    logged: int  #: leaves in the log
    last_scan_at: dt.datetime | None

    @property
    def behind(self) -> int:
        return max(0, self.logged - self.scanned)


def scan_status() -> ScanStatus:
    """How far the scanner has read the log, and when it last did."""
    cursor = db.session.get(ScanCursor, "ledger")
    last_leaf = db.session.scalar(db.select(func.max(LedgerLeaf.leaf_index)))
    return ScanStatus(scanned=cursor.position if cursor else 0, logged=(last_leaf + 1) if last_leaf is not None else 0,
                      last_scan_at=cursor.updated_at if cursor else None)
