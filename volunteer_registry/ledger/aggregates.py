"""The monthly totals (``service_months``): approved minutes per organization and month, moved in the same flush as
every change to ``ledger_states`` that adds or removes approved minutes.

The ORM reports each change with the values it replaces (the state's columns keep active history), so a listener
turns a flush into signed deltas per (organization, month) and applies them with one atomic upsert each
(``INSERT … ON CONFLICT DO UPDATE SET minutes = minutes + delta``), which concurrent requests cannot lose. Writes that
bypass the ORM (a bulk load) call :func:`rebuild_service_months` afterwards."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import event, func, inspect
from sqlalchemy.orm import Session

from ..extensions import db
from .models import LedgerState, ServiceMonth

#: the month of service that has no date (none is recorded so; kept so that totals stay exact)
NO_DATE = dt.date(1, 1, 1)


def month_of(day: dt.date | None) -> dt.date:
    return day.replace(day=1) if day is not None else NO_DATE


def _old(state: LedgerState, name: str):
    history = inspect(state).attrs[name].history
    if history.deleted:
        return history.deleted[0]
    return history.unchanged[0] if history.unchanged else getattr(state, name)


def _counted(status, minutes, organization_id, day) -> tuple[tuple[int, dt.date], int] | None:
    if status != "approved" or not minutes:
        return None
    return (organization_id, month_of(day)), int(minutes)


def deltas(session: Session) -> dict[tuple[int, dt.date], int]:
    """The change in approved minutes per (organization, month) that the session's pending flush makes."""
    changes: dict[tuple[int, dt.date], int] = defaultdict(int)
    for state in session.new:
        if isinstance(state, LedgerState) and (now := _counted(state.status, state.minutes, state.organization_id,
                                                               state.service_date)):
            changes[now[0]] += now[1]
    for state in session.dirty:
        if not isinstance(state, LedgerState) or not session.is_modified(state):
            continue
        before = _counted(*(_old(state, name) for name in ("status", "minutes", "organization_id", "service_date")))
        after = _counted(state.status, state.minutes, state.organization_id, state.service_date)
        if before:
            changes[before[0]] -= before[1]
        if after:
            changes[after[0]] += after[1]
    for state in session.deleted:
        if isinstance(state, LedgerState) and (before := _counted(
                *(_old(state, name) for name in ("status", "minutes", "organization_id", "service_date")))):
            changes[before[0]] -= before[1]
    return {key: delta for key, delta in changes.items() if delta}


def _upsert(connection, organization_id: int, month: dt.date, delta: int) -> None:
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(ServiceMonth).values(organization_id=organization_id, month=month, minutes=delta)
    connection.execute(statement.on_conflict_do_update(
        index_elements=[ServiceMonth.organization_id, ServiceMonth.month],
        set_={"minutes": ServiceMonth.minutes + statement.excluded.minutes}))


@event.listens_for(Session, "before_flush")
def _remember_deltas(session: Session, _context, _instances) -> None:
    # computed before the flush, while the history still holds the replaced values; applied after it, once the
    # states' rows (and their organizations) are written
    found = deltas(session)
    if found:
        session.info.setdefault("service_month_deltas", []).append(found)


@event.listens_for(Session, "after_flush")
def _apply_deltas(session: Session, _context) -> None:
    pending = session.info.pop("service_month_deltas", [])
    connection = session.connection()
    for found in pending:
        for (organization_id, month), delta in sorted(found.items()):
            _upsert(connection, organization_id, month, delta)


@event.listens_for(Session, "after_rollback")
def _forget_deltas(session: Session) -> None:
    session.info.pop("service_month_deltas", None)


def counted_months():
    """(organization id, month, approved minutes) recounted from ``ledger_states`` — what ``service_months`` must
    hold."""
    rows = db.session.execute(
        db.select(LedgerState.organization_id, LedgerState.service_date, func.sum(LedgerState.minutes))
        .where(LedgerState.status == "approved").group_by(LedgerState.organization_id, LedgerState.service_date))
    totals: dict[tuple[int, dt.date], int] = defaultdict(int)
    for organization_id, day, minutes in rows:
        totals[(organization_id, month_of(day))] += int(minutes or 0)
    return {key: minutes for key, minutes in totals.items() if minutes}


def stored_months() -> dict[tuple[int, dt.date], int]:
    return {(row.organization_id, row.month): row.minutes
            for row in db.session.scalars(db.select(ServiceMonth)) if row.minutes}


def rebuild_service_months() -> int:
    """Recount ``service_months`` from ``ledger_states`` (after a bulk load that bypassed the ORM). Flushes; the
    caller commits. Returns the number of rows written."""
    db.session.execute(db.delete(ServiceMonth))
    counted = counted_months()
    if counted:
        db.session.execute(db.insert(ServiceMonth), [
            {"organization_id": org, "month": month, "minutes": minutes}
            for (org, month), minutes in sorted(counted.items())])
    return len(counted)
