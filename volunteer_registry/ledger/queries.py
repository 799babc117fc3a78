"""Read helpers for the ledger's pages: an organization's service entries to decide, a volunteer's history, and
the pending counts of the start page. Everything reads the projection (``ledger_states``) for status and minutes."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import case, func, or_
from sqlalchemy.orm import contains_eager

from ..activities.models import Activity
from ..activities.schemas import PUBLIC_ACTIVITY_STATUSES
from ..extensions import db
from ..integrity.services import DECIDING_ROLES, deciders_left
from ..organizations.models import Organization, StaffRole
from ..volunteers.models import Volunteer
from .models import FLAGS, SOURCES, STATES, LedgerEntry, LedgerState
from .services import decision_facts

#: the status filter of the approval page: a status, or every one
STATUS_FILTERS = ("pending", "approved", "rejected", "annulled", "all")
#: rows a page
PER_PAGE = 50
#: activities offered by the approval page's activity filter (the latest first)
ACTIVITY_CHOICES = 200


@dataclass
class EntryRow:
    """One service entry as a page shows it: what was recorded, and what counts now."""

    id: int
    status: str
    minutes: int  #: the minutes that count now (after corrections)
    recorded_minutes: int  #: as first recorded
    flagged: bool
    flags: list[str]  #: the labels of the flags that apply now
    source: str | None
    activity_title: str | None
    service_date: dt.date | None
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    corrected: bool = False
    proposed_minutes: int | None = None  #: the minutes a correction waiting for a decision would make count
    manual_author_id: int | None = None  #: who entered it by hand, for a manual entry
    volunteer_name: str = ""
    volunteer_number: str = ""
    organization_name: str = ""
    decision_reason: str | None = None

    @property
    def status_label(self) -> str:
        return str(STATES.get(self.status, self.status))

    @property
    def source_label(self) -> str:
        return str(SOURCES.get(self.source, self.source or ""))

    @property
    def is_pending(self) -> bool:
        """Something waits for a decision: the entry itself, or a correction of it."""
        return self.status == "pending" or self.proposed_minutes is not None


def flag_labels(flags) -> list[str]:
    return [str(FLAGS.get(flag, flag)) for flag in flags or ()]


def _latest_corrections(entry_ids) -> dict[int, LedgerEntry]:
    """Service entry id → its latest correction, for the entries that have one."""
    if not entry_ids:
        return {}
    latest: dict[int, LedgerEntry] = {}
    for correction in db.session.scalars(db.select(LedgerEntry).where(
            LedgerEntry.kind == "correction", LedgerEntry.refers_to_id.in_(list(entry_ids)))
            .order_by(LedgerEntry.id)):
        latest[correction.refers_to_id] = correction
    return latest


def _decision_reasons(states) -> dict[int, str]:
    """Decision entry id → its reason, for the decided states given."""
    ids = [s.decided_by_entry_id for s in states if s.decided_by_entry_id is not None]
    if not ids:
        return {}
    return {entry_id: reason for entry_id, reason in db.session.execute(
        db.select(LedgerEntry.id, LedgerEntry.reason).where(LedgerEntry.id.in_(ids))) if reason}


def entry_rows(states) -> list[EntryRow]:
    """Rows for a page of states (their entries, volunteers and organizations already loaded)."""
    states = list(states)
    corrections = _latest_corrections([s.entry_id for s in states])
    reasons = _decision_reasons(states)
    rows = []
    for state in states:
        entry = state.entry
        correction = corrections.get(entry.id)
        # a corrected check-out carries the session's flags as they are now; a correction of minutes alone none
        flags = correction.flags if correction is not None and correction.flags else entry.flags
        times = state if state.ended_at is not None else entry  # the interval that counts now
        if state.pending_correction_id is not None and correction is not None and correction.ended_at is not None:
            times = correction  # what the decision is about
        rows.append(EntryRow(
            id=entry.id, status=state.status, minutes=state.minutes, recorded_minutes=entry.minutes or 0,
            flagged=state.flagged, flags=flag_labels(flags), source=entry.source,
            activity_title=entry.activity_title, service_date=entry.service_date,
            started_at=times.started_at, ended_at=times.ended_at,
            corrected=correction is not None, proposed_minutes=state.proposed_minutes,
            manual_author_id=entry.actor_id if entry.source == "manual" else None,
            volunteer_name=entry.volunteer.name if entry.volunteer else "",
            volunteer_number=entry.volunteer.volunteer_number if entry.volunteer else "",
            organization_name=entry.organization.name if entry.organization else "",
            decision_reason=reasons.get(state.decided_by_entry_id)))
    return rows


def organization_entries(org: Organization, *, status: str = "pending", activity_id: int | None = None,
                         flagged_only: bool = False, date_from: dt.date | None = None,
                         date_to: dt.date | None = None, page: int = 1, per_page: int = PER_PAGE) -> Pagination:
    """The organization's service entries (their states), narrowed by status (``all`` for every one), activity,
    flag and local service date. Pending entries come first, the flagged ones first among them; then the oldest
    first. The items are LedgerState rows with their entries and volunteers loaded."""
    query = (db.select(LedgerState)
             .join(LedgerEntry, LedgerEntry.id == LedgerState.entry_id)
             .join(Volunteer, Volunteer.id == LedgerEntry.volunteer_id)
             .options(contains_eager(LedgerState.entry).contains_eager(LedgerEntry.volunteer))
             .where(LedgerState.organization_id == org.id))
    if status == "pending":  # waiting for a decision: the entry, or a correction of it
        query = query.where(waiting())
    elif status in STATES:
        query = query.where(LedgerState.status == status)
    if activity_id is not None:
        query = query.where(LedgerEntry.activity_id == activity_id)
    if flagged_only:
        query = query.where(LedgerState.flagged.is_(True))
    if date_from is not None:
        query = query.where(LedgerState.service_date >= date_from)
    if date_to is not None:
        query = query.where(LedgerState.service_date <= date_to)
    waiting_first = case((~waiting(), 2), (LedgerState.flagged.is_(True), 0), else_=1)
    query = query.order_by(waiting_first, LedgerEntry.started_at, LedgerEntry.id)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def waiting():
    """The states that wait for a decision: a pending entry, or a correction proposed on any entry."""
    return or_(LedgerState.status == "pending", LedgerState.pending_correction_id.is_not(None))


def activity_choices(org: Organization, limit: int = ACTIVITY_CHOICES) -> list[tuple[str, str, dt.datetime]]:
    """(code, title, start) of the organization's activities that have started, the latest first: what the
    approval page's activity filter offers."""
    rows = db.session.execute(
        db.select(Activity.code, Activity.title, Activity.starts_at)
        .where(Activity.organization_id == org.id, Activity.status.in_(PUBLIC_ACTIVITY_STATUSES))
        .order_by(Activity.starts_at.desc(), Activity.id.desc()).limit(limit))
    return [tuple(row) for row in rows]


def activity_of(org: Organization, code: str | None) -> Activity | None:
    """The organization's activity with this code, or None."""
    if not code:
        return None
    return db.session.scalar(db.select(Activity).where(Activity.organization_id == org.id,
                                                       Activity.code == code.upper()))


def states_of(org: Organization, entry_ids) -> list[LedgerState]:
    """The states of these entries of the organization (ids of other organizations' entries are left out)."""
    ids = list(entry_ids)
    if not ids:
        return []
    return list(db.session.scalars(db.select(LedgerState).where(LedgerState.organization_id == org.id,
                                                                LedgerState.entry_id.in_(ids))))


def pending_counts(org_ids) -> dict[int, int]:
    """Organization id → its service entries waiting for a decision (one grouped query; absent means none)."""
    ids = list(org_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        db.select(LedgerState.organization_id, func.count())
        .where(LedgerState.organization_id.in_(ids), waiting())
        .group_by(LedgerState.organization_id))
    return {org_id: count for org_id, count in rows}


def volunteer_history(volunteer_id: int, page: int = 1, per_page: int = PER_PAGE) -> Pagination:
    """The volunteer's service entries (their states), the latest served first, with the entries and their
    organizations loaded."""
    query = (db.select(LedgerState)
             .join(LedgerEntry, LedgerEntry.id == LedgerState.entry_id)
             .join(Organization, Organization.id == LedgerEntry.organization_id)
             .options(contains_eager(LedgerState.entry).contains_eager(LedgerEntry.organization))
             .where(LedgerState.volunteer_id == volunteer_id)
             .order_by(LedgerState.service_date.desc(), LedgerEntry.started_at.desc(), LedgerEntry.id.desc()))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def organization_names(org_ids) -> dict[int, str]:
    ids = list(org_ids)
    if not ids:
        return {}
    rows = db.session.execute(db.select(Organization.id, Organization.name).where(Organization.id.in_(ids)))
    return {org_id: name for org_id, name in rows}


#: the organizations whose entries may end in the platform's queue: with three deciders one is always free of a
#: record (its volunteer and its recorder are at most two of them)
ESCALATION_MAX_STAFF = 2
#: candidates read for the platform's queue at once (it lists what nobody else could decide: a short list)
ESCALATION_SCAN = 2000


def escalated_states(actor, limit: int = ESCALATION_SCAN) -> list[LedgerState]:
    """The waiting states that nobody in their organization may decide (the volunteer is the only staff member, or
    the staff are the volunteer and the recorder): the platform's (civil affairs') queue, oldest first, with their
    entries, volunteers and organizations loaded."""
    small = (db.select(StaffRole.organization_id).where(StaffRole.role.in_(DECIDING_ROLES))
             .group_by(StaffRole.organization_id).having(func.count() <= ESCALATION_MAX_STAFF))
    states = list(db.session.scalars(
        db.select(LedgerState).join(LedgerEntry, LedgerEntry.id == LedgerState.entry_id)
        .options(contains_eager(LedgerState.entry).joinedload(LedgerEntry.volunteer),
                 contains_eager(LedgerState.entry).joinedload(LedgerEntry.organization))
        .where(waiting(), LedgerState.organization_id.in_(small))
        .order_by(LedgerState.entry_id).limit(limit)))
    if not states:
        return []
    corrections = {c.refers_to_id: c for c in db.session.scalars(db.select(LedgerEntry).where(LedgerEntry.id.in_(
        [s.pending_correction_id for s in states if s.pending_correction_id is not None])))}
    facts = decision_facts(actor, [s.entry for s in states], corrections)
    return [s for s in states if deciders_left(s.organization_id, facts[s.entry_id]) == 0]
