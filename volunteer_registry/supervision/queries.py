"""Read helpers for supervision's pages: the risk queue and what each signal concerns, spot checks and their
samples, complaints, and the public list of an organization's checks (no personal data)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func
from sqlalchemy.orm import joinedload, selectinload

from ..accounts.models import User
from ..audit.models import AuditEvent
from ..certificates.models import Certificate
from ..errors import NotFound
from ..extensions import db
from ..ledger.models import LIVE_STATES, STATES, LedgerEntry, LedgerState
from ..ledger.queries import EntryRow, entry_rows
from ..timeutil import LOCAL_ZONE
from ..volunteers.models import Volunteer
from .models import (
    SIGNAL_KINDS,
    Complaint,
    OrganizationFigure,
    RiskSignal,
    SpotCheck,
    SpotCheckItem,
)
from .scanner import offline_reasons, province_figure

PER_PAGE = 30
#: entries a signal's page lists at most
SIGNAL_ENTRIES = 200


def risk_queue(*, kind: str = "", organization_id: int | None = None, page: int = 1,
               per_page: int = PER_PAGE) -> Pagination:
    """The active signals, the latest day first, optionally of one kind or one organization."""
    query = (db.select(RiskSignal).options(joinedload(RiskSignal.organization), joinedload(RiskSignal.activity))
             .where(RiskSignal.is_active.is_(True)))
    if kind in SIGNAL_KINDS:
        query = query.where(RiskSignal.kind == kind)
    if organization_id is not None:
        query = query.where(RiskSignal.organization_id == organization_id)
    query = query.order_by(RiskSignal.occurred_on.desc(), RiskSignal.id.desc())
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def signal_by_id(signal_id: int) -> RiskSignal:
    signal = db.session.get(RiskSignal, signal_id)
    if signal is None:
        raise NotFound("not_found")
    return signal


def _states(*where) -> list[LedgerState]:
    return list(db.session.scalars(
        db.select(LedgerState).join(LedgerEntry, LedgerEntry.id == LedgerState.entry_id)
        .options(selectinload(LedgerState.entry).options(joinedload(LedgerEntry.volunteer),
                                                         joinedload(LedgerEntry.organization)))
        .where(*where).order_by(LedgerEntry.started_at, LedgerEntry.id)))


def signal_entries(signal: RiskSignal) -> tuple[list[EntryRow], int]:
    """The service entries a signal concerns (at most SIGNAL_ENTRIES of them), and how many there are in all.
    Each comes from an indexed lookup: an organization's day, a volunteer's day, an activity."""
    if signal.kind in ("offline", "overlap"):
        states = _states(LedgerState.organization_id == signal.organization_id,
                         LedgerState.status.in_(list(STATES)), LedgerState.service_date == signal.occurred_on)
        if signal.kind == "offline":
            states = [s for s in states if offline_reasons(s.entry.source, s.entry.flags)]
        else:
            states = [s for s in states if "overlap" in (s.entry.flags or ())]
    elif signal.kind == "long_day":
        states = _states(LedgerState.volunteer_id == signal.volunteer_id,
                         LedgerState.status.in_(LIVE_STATES),
                         LedgerState.service_date == signal.occurred_on)
    elif signal.kind == "retroactive":
        states = _states(LedgerEntry.organization_id == signal.organization_id,
                         LedgerEntry.activity_id == signal.activity_id)
    else:
        return [], 0
    return entry_rows(states[:SIGNAL_ENTRIES]), len(states)


def signal_refusals(signal: RiskSignal) -> tuple[list[AuditEvent], dict[int, User]]:
    """The refused decisions of a ``refused`` signal's organization and day, with their actors."""
    if signal.kind != "refused" or signal.occurred_on is None:
        return [], {}
    start = dt.datetime.combine(signal.occurred_on, dt.time(), LOCAL_ZONE).astimezone(dt.UTC)
    query = db.select(AuditEvent).where(AuditEvent.action == "integrity.refused", AuditEvent.created_at >= start,
                                        AuditEvent.created_at < start + dt.timedelta(days=1))
    if signal.organization_id is None:
        query = query.where(AuditEvent.organization_id.is_(None))
    else:
        query = query.where(AuditEvent.organization_id == signal.organization_id)
    events = list(db.session.scalars(query.order_by(AuditEvent.id).limit(SIGNAL_ENTRIES)))
    actor_ids = {e.actor_id for e in events if e.actor_id is not None}
    users = {u.id: u for u in db.session.scalars(db.select(User).where(User.id.in_(actor_ids)))} if actor_ids else {}
    return events, users


@dataclass
class DayRow:
    """One volunteer-day of an organization's approved service (for an outlier)."""

    volunteer_number: str
    service_date: dt.date | None
    minutes: int
    entries: int


def longest_days(org_id: int, limit: int = 20) -> list[DayRow]:
    """The organization's volunteer-days with the most approved minutes."""
    minutes = func.sum(LedgerState.minutes)
    rows = db.session.execute(
        db.select(LedgerState.volunteer_id, LedgerState.service_date, minutes, func.count())
        .where(LedgerState.organization_id == org_id, LedgerState.status == "approved")
        .group_by(LedgerState.volunteer_id, LedgerState.service_date)
        .order_by(minutes.desc(), LedgerState.service_date.desc()).limit(limit)).all()
    numbers = dict(db.session.execute(db.select(Volunteer.id, Volunteer.volunteer_number).where(
        Volunteer.id.in_({r[0] for r in rows})))) if rows else {}
    return [DayRow(numbers.get(v, "?"), day, int(m or 0), n) for v, day, m, n in rows]


@dataclass
class Figures:
    minutes_per_day: float | None
    volunteer_days: int
    approved_entries: int
    province_per_day: float | None


def figures_of(org_id: int) -> Figures:
    """The organization's approved minutes per volunteer-day as the scanner last computed it, and the province's."""
    figure = db.session.get(OrganizationFigure, org_id)
    days = figure.volunteer_days if figure else 0
    return Figures(figure.approved_minutes / days if figure and days else None, days,
                   figure.approved_entries if figure else 0, province_figure())


# --- spot checks ----------------------------------------------------------------------------------------------------

def spot_check_by_code(code: str) -> SpotCheck:
    check = db.session.scalar(db.select(SpotCheck).options(joinedload(SpotCheck.organization))
                              .where(SpotCheck.code == (code or "").upper()))
    if check is None:
        raise NotFound("not_found")
    return check


def spot_checks(*, organization_id: int | None = None, decided_only: bool = False, page: int = 1,
                per_page: int = PER_PAGE) -> Pagination:
    """Spot checks, the latest started first (of one organization; only those with an outcome)."""
    query = db.select(SpotCheck).options(joinedload(SpotCheck.organization))
    if organization_id is not None:
        query = query.where(SpotCheck.organization_id == organization_id)
    if decided_only:
        query = query.where(SpotCheck.status != "open")
    return db.paginate(query.order_by(SpotCheck.started_at.desc(), SpotCheck.id.desc()), page=page,
                       per_page=per_page, error_out=False)


@dataclass
class SampleRows:
    entries: list[EntryRow]
    certificates: list[Certificate]
    actions: dict  #: ("entry"|"certificate", id) → the action taken


def sample_of(check: SpotCheck) -> SampleRows:
    """The check's sample as the admin reviews it: the entries as they stand now, and the certificates."""
    items = list(db.session.scalars(db.select(SpotCheckItem).where(SpotCheckItem.spot_check_id == check.id)))
    entry_ids = [i.entry_id for i in items if i.entry_id is not None]
    certificate_ids = [i.certificate_id for i in items if i.certificate_id is not None]
    states = _states(LedgerState.entry_id.in_(entry_ids)) if entry_ids else []
    certificates = list(db.session.scalars(db.select(Certificate).where(Certificate.id.in_(certificate_ids))
                                           .order_by(Certificate.issued_at))) if certificate_ids else []
    actions = {(i.kind, i.entry_id or i.certificate_id): i.action for i in items if i.action}
    return SampleRows(entry_rows(states), certificates, actions)


# --- complaints -----------------------------------------------------------------------------------------------------

def complaints(*, status: str = "", organization_id: int | None = None, page: int = 1,
               per_page: int = PER_PAGE) -> Pagination:
    """Complaints, the latest first (of one status, of one organization)."""
    query = db.select(Complaint).options(joinedload(Complaint.organization), joinedload(Complaint.certificate))
    if status:
        query = query.where(Complaint.status == status)
    if organization_id is not None:
        query = query.where(Complaint.organization_id == organization_id)
    return db.paginate(query.order_by(Complaint.id.desc()), page=page, per_page=per_page, error_out=False)


def complaint_counts() -> dict[str, int]:
    return dict(db.session.execute(db.select(Complaint.status, func.count()).group_by(Complaint.status)).all())


def complaint_by_id(complaint_id: int) -> Complaint:
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound("not_found")
    return complaint


def complaint_by_code(code: str) -> Complaint:
    """The complaint behind a follow link. Raises NotFound."""
    complaint = db.session.scalar(db.select(Complaint).where(Complaint.code == (code or "").upper()))
    if complaint is None:
        raise NotFound("not_found")
    return complaint
