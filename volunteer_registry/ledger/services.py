"""The ledger's rules: closed sessions become service entries; decisions about them are new entries; certificates
are recorded as entries; totals come from the approved entries. The Merkle log over the entries is log.py; the
volunteers' correction requests are the corrections part, which calls correct_entry and record_missing_service.

Nothing here updates or deletes an entry (the database would refuse). ``ledger_states`` is the one mutable table:
a projection of the entries that the functions below keep in step, so that pages never fold the whole ledger.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import func

from .. import signals
from ..accounts.permissions import can, require
from ..activities.models import CATEGORIES, Activity
from ..audit.services import record_event
from ..errors import DomainError, Forbidden, NotFound
from ..extensions import db
from ..hours import as_hours
from ..integrity import rules
from ..integrity import services as integrity
from ..organizations.models import Organization
from ..text import check_plain_text
from ..timeutil import local
from ..volunteers.models import Volunteer
from . import aggregates  # noqa: F401  (its listeners keep the monthly totals in step with every flush of ledger_states)
from .fold import Fact, fold
from .models import LIVE_STATES, LedgerEntry, LedgerState, TransferredService
from .schemas import DECISIONS_PER_CALL, STAR_HOURS

#: decisions per request, as the API documents it
DECISION_LIMIT = DECISIONS_PER_CALL


class LedgerError(DomainError):
    messages = {
        "decision_invalid": _l("Choose approve or reject."),
        "reason_required": _l("Give a reason."),
        "entry_not_pending": _l("This entry has already been decided."),
        "entry_not_approved": _l("Only an approved entry can be annulled."),
        "entry_not_correctable": _l("Only a pending or approved entry can be corrected."),
        "correction_pending": _l("A correction of entry %(id)s is already waiting for a decision."),
        "minutes_exceed_interval": _l("The minutes cannot exceed the %(minutes)s minutes between check-in and "
                                      "check-out; fix the check-out instead."),
        "overlaps_other_entry": _l("Entry %(id)s overlaps entry %(other)s (%(title)s), already approved: the same "
                                   "minutes cannot count twice."),
        "daily_cap_exceeded": _l("Entry %(id)s would make this volunteer's day longer than %(hours)s hours."),
        "no_entries": _l("Choose at least one entry."),
        "too_many_entries": _l("Decide at most 500 entries at a time."),
        "message_required": _l("Say what is wrong or missing."),
        "minutes_invalid": _l("The minutes are a whole number from 0 to 1440."),
        "times_invalid": _l("Give when the service started and when it ended."),
        "ends_before_start": _l("The end must be after the start."),
        "outside_activity": _l("The times must fall within the activity (and its grace period)."),
        "activity_not_served": _l("Choose an activity of an approved organization that has started."),
        "already_requested": _l("You already reported this; the organization has not answered yet."),
        "request_not_pending": _l("This request has already been decided."),
        "volunteer_profile_required": _l("Complete your volunteer profile first."),
    }
    statuses = {"entry_not_pending": 409, "entry_not_approved": 409, "entry_not_correctable": 409,
                "correction_pending": 409, "overlaps_other_entry": 409, "daily_cap_exceeded": 409,
                "already_requested": 409, "request_not_pending": 409,
                "decision_invalid": 400, "no_entries": 400, "too_many_entries": 400}


# --- recording -----------------------------------------------------------------------------------------------------

def union_minutes(intervals) -> int:
    """Whole minutes covered by the union of (start, end) intervals."""
    total = dt.timedelta()
    current_start = current_end = None
    for start, end in sorted(intervals):
        if current_end is None or start > current_end:
            if current_end is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None:
        total += current_end - current_start
    return int(total.total_seconds() // 60)


def _minutes_added(activity_id: int, volunteer_id: int, start: dt.datetime, end: dt.datetime,
                   exclude_entry_id: int | None = None) -> int:
    """Minutes this interval adds to the volunteer's other service entries in the activity (overlaps count once)."""
    rows = db.session.execute(db.select(LedgerState.entry_id, LedgerState.started_at, LedgerState.ended_at).join(
        LedgerEntry, LedgerState.entry_id == LedgerEntry.id).where(
        LedgerEntry.activity_id == activity_id, LedgerState.volunteer_id == volunteer_id,
        LedgerState.status.in_(LIVE_STATES))).all()
    others = [(s, e) for entry_id, s, e in rows if entry_id != exclude_entry_id and s is not None and e is not None]
    return union_minutes([*others, (start, end)]) - union_minutes(others)


def _source_of(session) -> str:
    return session.source if session.source in ("kiosk", "card", "offline", "manual") else "card"


def _overlapping(volunteer_id: int, activity_id: int | None, start: dt.datetime, end: dt.datetime, *,
                 statuses=LIVE_STATES, exclude=()) -> LedgerState | None:
    """The first of the volunteer's service entries in *another* activity whose counted interval shares time
    with [start, end) (the same activity's overlaps are already counted once, see _minutes_added)."""
    query = (db.select(LedgerState).join(LedgerEntry, LedgerEntry.id == LedgerState.entry_id)
             .where(LedgerState.volunteer_id == volunteer_id, LedgerState.status.in_(statuses),
                    LedgerState.started_at < end, LedgerState.ended_at > start)
             .order_by(LedgerState.entry_id).limit(1))
    if activity_id is not None:
        query = query.where(LedgerEntry.activity_id != activity_id)
    if exclude:
        query = query.where(LedgerState.entry_id.not_in(list(exclude)))
    return db.session.scalar(query)


def _day_minutes(volunteer_id: int, day: dt.date | None, statuses=("approved",), exclude=()) -> int:
    """The volunteer's minutes on one service date, over entries of the given statuses."""
    if day is None:
        return 0
    query = db.select(func.coalesce(func.sum(LedgerState.minutes), 0)).where(
        LedgerState.volunteer_id == volunteer_id, LedgerState.service_date == day, LedgerState.status.in_(statuses))
    if exclude:
        query = query.where(LedgerState.entry_id.not_in(list(exclude)))
    return int(db.session.scalar(query) or 0)


def _plausibility_flags(volunteer_id: int, activity: Activity, start, end, minutes: int, day) -> list[str]:
    """The flags a new record earns by itself: a retroactive activity, an overlap with another activity's service,
    a day longer than the cap. Flagged records need a second person; approval then refuses what cannot count."""
    flags = []
    if activity.is_retroactive:
        flags.append("retroactive")
    if start is not None and end is not None and _overlapping(volunteer_id, activity.id, start, end) is not None:
        flags.append("overlap")
    if _day_minutes(volunteer_id, day, LIVE_STATES) + minutes > rules.daily_cap_minutes():
        flags.append("long_day")
    return flags


def _add_service_entry(entry: LedgerEntry) -> LedgerEntry:
    db.session.add(entry)
    db.session.flush()
    db.session.add(LedgerState(entry_id=entry.id, volunteer_id=entry.volunteer_id,
                               organization_id=entry.organization_id, status="pending", minutes=entry.minutes,
                               flagged=bool(entry.flags), service_date=entry.service_date,
                               started_at=entry.started_at, ended_at=entry.ended_at))
    db.session.flush()
    return entry


def record_session(session, actor=None, *, just_closed: bool = False) -> LedgerEntry:
    """The service entry of a closed attendance session (waiting for approval). Called by the check-in services
    when a session closes; a session becomes one entry, once. ``just_closed``: the caller closed an open session in
    this transaction, so it has no entry yet and the lookup is skipped (the unique index on the entries' session
    still refuses a second one). The entry is flagged retroactive, overlap or long_day where it is so."""
    existing = None if just_closed else service_entry_of_session(session.id)
    if existing is not None:
        return existing
    activity = db.session.get(Activity, session.activity_id)
    minutes = _minutes_added(activity.id, session.volunteer_id, session.checked_in_at, session.checked_out_at)
    day = local(session.checked_in_at).date()
    flags = set(session.flags or []) | set(_plausibility_flags(
        session.volunteer_id, activity, session.checked_in_at, session.checked_out_at, minutes, day))
    return _add_service_entry(LedgerEntry(
        kind="service", volunteer_id=session.volunteer_id, organization_id=activity.organization_id,
        activity_id=activity.id, shift_id=session.shift_id, session_id=session.id, minutes=minutes,
        started_at=session.checked_in_at,
        ended_at=session.checked_out_at, service_date=day,
        activity_title=activity.title, place=activity.address, recipient=activity.recipient,
        content=str(CATEGORIES.get(activity.category, activity.category)), person_in_charge=activity.person_in_charge,
        source=_source_of(session), flags=sorted(flags), actor_id=getattr(actor, "id", None)))


def service_entry_of_session(session_id: int) -> LedgerEntry | None:
    return db.session.scalar(db.select(LedgerEntry).where(LedgerEntry.kind == "service",
                                                          LedgerEntry.session_id == session_id))


def _propose_correction(actor, service: LedgerEntry, minutes: int, reason: str, *, started_at=None, ended_at=None,
                        session_id=None, flags=()) -> LedgerEntry:
    """A correction entry of ``service`` waiting for another person's approval: the state keeps its minutes
    until then. Raises conflict_of_interest (the actor's own record), correction_pending (one is already
    waiting), entry_not_correctable (rejected or annulled)."""
    org = db.session.get(Organization, service.organization_id)
    integrity.ensure_may_decide(actor, action="ledger.correct", organization=org, volunteer_id=service.volunteer_id,
                                target=service)
    reason = check_plain_text(reason, multiline=True, field="reason", error=LedgerError)
    state = db.session.get(LedgerState, service.id)
    if state.status not in LIVE_STATES:
        raise LedgerError("entry_not_correctable")
    if state.pending_correction_id is not None:
        raise LedgerError("correction_pending", id=service.id)
    correction = LedgerEntry(kind="correction", volunteer_id=service.volunteer_id,
                             organization_id=service.organization_id, activity_id=service.activity_id,
                             session_id=session_id, refers_to_id=service.id, minutes=minutes, started_at=started_at,
                             ended_at=ended_at, service_date=service.service_date, flags=sorted(set(flags)),
                             reason=reason, actor_id=actor.id)
    db.session.add(correction)
    db.session.flush()
    state.pending_correction_id = correction.id
    state.proposed_minutes = minutes
    state.flagged = True
    db.session.flush()
    record_event("ledger.correction_proposed", actor=actor, organization=org, target=service,
                 minutes_now=state.minutes, minutes_proposed=minutes)
    return correction


def correct_session(session, actor, reason: str) -> LedgerEntry:
    """A session's check-out was fixed after its entry was recorded: a correction entry proposes the minutes the
    new times give, for another person to approve (the service entry and its approved minutes stay as they were
    until then). A session that had no entry yet becomes one."""
    service = service_entry_of_session(session.id)
    if service is None:
        return record_session(session, actor)
    minutes = _minutes_added(service.activity_id, service.volunteer_id, session.checked_in_at,
                             session.checked_out_at, exclude_entry_id=service.id)
    return _propose_correction(actor, service, minutes, reason, started_at=session.checked_in_at,
                               ended_at=session.checked_out_at, session_id=session.id,
                               flags=[*(session.flags or []), "corrected"])


def correct_entry(actor, entry: LedgerEntry, minutes: int, reason: str) -> LedgerEntry:
    """The minutes of a service entry were wrong: a correction entry proposes the minutes that should count, for
    another person to approve. They cannot exceed the time between its check-in and check-out. Raises
    minutes_invalid, minutes_exceed_interval and the refusals of a proposal (see _propose_correction)."""
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 <= minutes <= 1440:
        raise LedgerError("minutes_invalid", field="minutes")
    state = db.session.get(LedgerState, entry.id)
    if state is not None and state.started_at is not None and state.ended_at is not None:
        span = int((state.ended_at - state.started_at).total_seconds() // 60)
        if minutes > span:
            raise LedgerError("minutes_exceed_interval", field="minutes", minutes=span)
    return _propose_correction(actor, entry, minutes, reason, session_id=entry.session_id, flags=["corrected"])


def record_missing_service(actor, activity: Activity, volunteer_id: int, started_at: dt.datetime,
                           ended_at: dt.datetime, reason: str) -> LedgerEntry:
    """Service that was never scanned, recorded by the organization: a service entry (source manual) that waits
    for approval by someone other than ``actor``."""
    minutes = _minutes_added(activity.id, volunteer_id, started_at, ended_at)
    day = local(started_at).date()
    flags = {"manual", *_plausibility_flags(volunteer_id, activity, started_at, ended_at, minutes, day)}
    return _add_service_entry(LedgerEntry(
        kind="service", volunteer_id=volunteer_id, organization_id=activity.organization_id, activity_id=activity.id,
        minutes=minutes, started_at=started_at, ended_at=ended_at, service_date=day,
        activity_title=activity.title, place=activity.address, recipient=activity.recipient,
        content=str(CATEGORIES.get(activity.category, activity.category)), person_in_charge=activity.person_in_charge,
        source="manual", flags=sorted(flags), reason=reason, actor_id=actor.id))


# --- decisions -----------------------------------------------------------------------------------------------------

def decision_facts(actor, entries, corrections=None) -> dict[int, integrity.DecisionFacts]:
    """Entry id → the facts that decide whether ``actor`` may decide it (or the correction waiting on it, from
    ``corrections``: entry id → correction entry), gathered for many entries in a few queries.

    Its recorders are everyone who put it there: who closed its session or entered it, who scanned its session in
    and out, who entered it by hand, who created its activity when that was retroactive; for a correction, who
    proposed it. It needs review when entered by hand, sent from an offline queue, flagged, of a retroactive
    activity, or a correction."""
    entries = list(entries)
    corrections = corrections or {}
    sessions = {e.session_id for e in entries if e.session_id is not None}
    recorders: dict[int, set[int]] = {}
    if sessions:  # check-in owns the scans and the manual entries: it answers who recorded each session
        for _receiver, answer in signals.session_recorders_wanted.send(None, session_ids=sessions):
            for session_id, user_ids in (answer or {}).items():
                recorders.setdefault(session_id, set()).update(user_ids)
    retroactive = dict(db.session.execute(db.select(Activity.id, Activity.created_by_id).where(
        Activity.id.in_({e.activity_id for e in entries if e.activity_id}), Activity.is_retroactive.is_(True))).all())
    accounts = dict(db.session.execute(db.select(Volunteer.id, Volunteer.user_id).where(
        Volunteer.id.in_({e.volunteer_id for e in entries}))).all())
    facts = {}
    for entry in entries:
        people = {entry.actor_id, *recorders.get(entry.session_id, ()), retroactive.get(entry.activity_id)}
        review = rules.needs_review(entry.source, entry.flags) or entry.activity_id in retroactive
        correction = corrections.get(entry.id)
        if correction is not None:  # the decision is about the correction: its proposer recorded it
            people, review = {correction.actor_id}, True
        facts[entry.id] = integrity.DecisionFacts(actor.id, accounts.get(entry.volunteer_id),
                                                  frozenset(p for p in people if p is not None), review)
    return facts


def decision_blocks(actor, states) -> dict[int, str]:
    """Entry id → why ``actor`` may not decide what waits on it (a refusal code), for a page of states: the same
    rule decide_entries enforces, read by the approval page to say so before anyone tries."""
    states = [s for s in states if s.status == "pending" or s.pending_correction_id is not None]
    if not states:
        return {}
    corrections = {c.refers_to_id: c for c in db.session.scalars(db.select(LedgerEntry).where(
        LedgerEntry.id.in_([s.pending_correction_id for s in states if s.pending_correction_id is not None])))}
    facts = decision_facts(actor, [s.entry for s in states], corrections)
    return {entry_id: code for entry_id, f in facts.items() if (code := rules.decision_refusal(f)) is not None}


def _authorize_decider(actor, org: Organization) -> bool:
    """Staff who decide the organization's entries pass; a platform admin passes for the entries nobody in the
    organization could decide (checked per entry: True is returned for them). Forbidden otherwise."""
    if can(actor, "ledger.decide", org):
        return False
    if getattr(actor, "is_platform_admin", False):
        return True
    raise Forbidden("forbidden")


def escalated(org_id: int, facts) -> bool:
    """Whether no one in the organization could decide the record: it belongs to the platform's queue."""
    return integrity.deciders_left(org_id, facts) == 0


def _check_approvable(state: LedgerState, entry: LedgerEntry, minutes: int, start, end, batch: dict) -> None:
    """What approving would make count must be plausible: no minute counted twice across activities, no day
    above the cap. ``batch``: entry id → (start, end, minutes, day, activity id, volunteer id) of what this
    decision approves before it (counted as they will be, not as they are)."""
    if start is not None and end is not None:
        other = _overlapping(entry.volunteer_id, entry.activity_id, start, end, statuses=("approved",),
                             exclude=(entry.id,))
        if other is None:
            for other_id, (o_start, o_end, _m, _d, o_activity, o_volunteer) in batch.items():
                if (o_volunteer == entry.volunteer_id and o_activity != entry.activity_id and o_start is not None
                        and rules.overlap(start, end, o_start, o_end)):
                    other = db.session.get(LedgerState, other_id)
                    break
        if other is not None:
            other_entry = db.session.get(LedgerEntry, other.entry_id)
            raise LedgerError("overlaps_other_entry", id=entry.id, other=other.entry_id,
                              title=other_entry.activity_title or "")
    day = state.service_date
    already = _day_minutes(entry.volunteer_id, day, exclude=(entry.id, *batch)) + sum(
        m for other_id, (_s, _e, m, d, _a, v) in batch.items() if v == entry.volunteer_id and d == day)
    if day is not None and already + minutes > rules.daily_cap_minutes():
        raise LedgerError("daily_cap_exceeded", id=entry.id, hours=f"{rules.limit('INTEGRITY_DAILY_CAP_HOURS'):g}")


def decide_entries(actor, org: Organization, entry_ids, decision: str, reason: str = "") -> list[LedgerEntry]:
    """Approve or reject what waits on service entries of ``org``, all or none. Each decision is a new entry.

    What waits on an entry is a correction proposed on it, if one is (approving it makes its minutes and times
    count; the entry's own status does not change), or else the entry itself while it is pending. Nobody decides
    a record of their own service, nor one they recorded (or proposed) that needs review; a platform admin
    decides the records nobody in the organization could. Approval never makes a volunteer's minutes count
    twice across activities nor a day exceed the cap.

    Raises Forbidden (not the organization's staff, nor a platform admin deciding an escalated record), NotFound
    (an id that is not one of ``org``'s service entries), decision_invalid, reason_required (rejecting needs
    one), entry_not_pending, no_entries, too_many_entries, overlaps_other_entry, daily_cap_exceeded, and
    IntegrityRefusal (conflict_of_interest, own_recording)."""
    as_platform = _authorize_decider(actor, org)
    if decision not in ("approve", "reject"):
        raise LedgerError("decision_invalid", field="decision")
    reason = check_plain_text(reason, multiline=True, field="reason", error=LedgerError)
    if decision == "reject" and not reason:
        raise LedgerError("reason_required", field="reason")
    ids = sorted({int(i) for i in entry_ids})
    if not ids:
        raise LedgerError("no_entries", field="entries")
    if len(ids) > DECISION_LIMIT:
        raise LedgerError("too_many_entries", field="entries")
    entries = {e.id: e for e in db.session.scalars(db.select(LedgerEntry).where(
        LedgerEntry.id.in_(ids), LedgerEntry.kind == "service", LedgerEntry.organization_id == org.id))}
    missing = [i for i in ids if i not in entries]
    if missing:
        raise NotFound("not_found", _l("No entry %(id)s among this organization's service records.", id=missing[0]))
    states = {s.entry_id: s for s in db.session.scalars(db.select(LedgerState).where(LedgerState.entry_id.in_(ids)))}
    corrections = {c.refers_to_id: c for c in db.session.scalars(db.select(LedgerEntry).where(LedgerEntry.id.in_(
        [s.pending_correction_id for s in states.values() if s.pending_correction_id is not None])))}
    all_facts = decision_facts(actor, entries.values(), corrections)
    batch: dict[int, tuple] = {}
    for entry_id in ids:
        state, entry, correction = states[entry_id], entries[entry_id], corrections.get(entry_id)
        if state.status != "pending" and correction is None:
            raise LedgerError("entry_not_pending", _l("Entry %(id)s has already been decided.", id=entry_id))
        facts = all_facts[entry_id]
        if as_platform and not escalated(org.id, facts):
            raise Forbidden("forbidden")
        # a recorder may withdraw (reject) what they recorded; only approving it takes a second person
        integrity.ensure_may_decide(actor, action=f"ledger.{decision}", organization=org,
                                    volunteer_id=entry.volunteer_id, recorded_by=facts.recorded_by,
                                    needs_review=facts.needs_review and decision == "approve", target=entry)
        if decision == "approve" and (state.status == "approved" or correction is None):
            # what would count once this is approved: the correction's figures on an approved entry, or the entry's
            timed = correction if correction is not None and correction.ended_at is not None else None
            start = timed.started_at if timed else state.started_at
            end = timed.ended_at if timed else state.ended_at
            minutes = state.proposed_minutes if correction is not None else state.minutes
            _check_approvable(state, entry, minutes, start, end, batch)
            batch[entry_id] = (start, end, minutes, state.service_date, entry.activity_id, entry.volunteer_id)
    kind, status = ("approval", "approved") if decision == "approve" else ("rejection", "rejected")
    made = [LedgerEntry(kind=kind, volunteer_id=entries[i].volunteer_id, organization_id=org.id,
                        activity_id=entries[i].activity_id,
                        refers_to_id=corrections[i].id if i in corrections else i,
                        service_date=entries[i].service_date, reason=reason or None, actor_id=actor.id) for i in ids]
    db.session.add_all(made)
    db.session.flush()
    for entry_id, decision_entry in zip(ids, made, strict=True):
        state, correction = states[entry_id], corrections.get(entry_id)
        if correction is None:
            state.status = status
            state.decided_by_entry_id = decision_entry.id
            continue
        if decision == "approve":
            state.minutes = correction.minutes
            if correction.ended_at is not None:
                state.started_at, state.ended_at = correction.started_at, correction.ended_at
        state.pending_correction_id = state.proposed_minutes = None
        state.flagged = bool(entries[entry_id].flags) or bool(correction.flags)
    record_event(f"ledger.{kind}", actor=actor, organization=org, count=len(made), reason=reason or None,
                 on_behalf_of_platform=True if as_platform else None)
    signals.entries_decided.send(org, entries=[entries[i] for i in ids], states=states, decision=status,
                                 reason=reason)
    db.session.flush()
    return made


def annul_entry(actor, entry: LedgerEntry, reason: str) -> LedgerEntry:
    """An approved service entry turns out to be wrong: an annulment entry takes its minutes out of every total.
    The organization's deciders may annul, and so may civil affairs (a platform admin, after a spot check);
    nobody annuls their own record (conflict_of_interest). A correction still waiting is dropped with it."""
    org = db.session.get(Organization, entry.organization_id)
    if not getattr(actor, "is_platform_admin", False):
        require("ledger.decide", org, user=actor)
    integrity.ensure_may_decide(actor, action="ledger.annul", organization=org, volunteer_id=entry.volunteer_id,
                                target=entry)
    reason = check_plain_text(reason, multiline=True, field="reason", error=LedgerError)
    if not reason:
        raise LedgerError("reason_required", field="reason")
    state = db.session.get(LedgerState, entry.id)
    if state is None or state.status != "approved":
        raise LedgerError("entry_not_approved")
    annulment = LedgerEntry(kind="annulment", volunteer_id=entry.volunteer_id, organization_id=org.id,
                            activity_id=entry.activity_id, refers_to_id=entry.id, service_date=entry.service_date,
                            reason=reason, actor_id=actor.id)
    db.session.add(annulment)
    db.session.flush()
    state.status = "annulled"
    state.decided_by_entry_id = annulment.id
    state.pending_correction_id = state.proposed_minutes = None
    record_event("ledger.annulment", actor=actor, organization=org, target=entry, reason=reason)
    db.session.flush()
    return annulment


# --- certificates -------------------------------------------------------------------------------------------------

def record_certificate_entry(actor, volunteer_id: int, organization_id: int, code: str, minutes: int,
                             issued_on: dt.date) -> LedgerEntry:
    """The ledger's record that ``organization_id`` certified ``minutes`` of the volunteer's approved service
    (certificate ``code``). It changes no totals."""
    entry = LedgerEntry(kind="certificate", volunteer_id=volunteer_id, organization_id=organization_id,
                        minutes=minutes, service_date=issued_on, certificate_code=code, actor_id=actor.id)
    db.session.add(entry)
    db.session.flush()
    return entry


def record_revocation_entry(actor, issuing_entry_id: int, volunteer_id: int, organization_id: int, code: str,
                            reason: str) -> LedgerEntry:
    """The ledger's record that the certificate issued by entry ``issuing_entry_id`` was revoked."""
    entry = LedgerEntry(kind="revocation", volunteer_id=volunteer_id, organization_id=organization_id,
                        refers_to_id=issuing_entry_id, certificate_code=code, reason=reason, actor_id=actor.id)
    db.session.add(entry)
    db.session.flush()
    return entry


# --- totals --------------------------------------------------------------------------------------------------------

@dataclass
class Hours:
    """A volunteer's approved service: minutes in all, by organization and by year, and the star level."""

    minutes: int = 0
    by_organization: dict[int, int] = field(default_factory=dict)
    by_year: dict[int, int] = field(default_factory=dict)
    pending_minutes: int = 0
    #: approved minutes recorded by other registries and transferred here (counted in ``minutes`` and the stars)
    transferred_minutes: int = 0

    @property
    def hours(self) -> float:
        return as_hours(self.minutes)

    @property
    def stars(self) -> int:
        return sum(1 for threshold in STAR_HOURS if self.minutes >= threshold * 60)

    @property
    def next_star_hours(self) -> int | None:
        return STAR_HOURS[self.stars] if self.stars < len(STAR_HOURS) else None

    @property
    def progress(self) -> float:
        """How far from the last level reached to the next, 0 to 1 (1 at the top)."""
        if self.next_star_hours is None:
            return 1.0
        floor = STAR_HOURS[self.stars - 1] * 60 if self.stars else 0
        return (self.minutes - floor) / (self.next_star_hours * 60 - floor)


def hours_of(volunteer_id: int, organization_id: int | None = None) -> Hours:
    """Totals from the projection (indexed by volunteer), never a fold of the whole ledger. The whole (no
    ``organization_id``) includes the approved service transferred from other registries; an organization's never
    does."""
    query = db.select(LedgerState.organization_id, LedgerState.service_date, LedgerState.status,
                      func.sum(LedgerState.minutes)).where(
        LedgerState.volunteer_id == volunteer_id, LedgerState.status.in_(LIVE_STATES))
    if organization_id is not None:
        query = query.where(LedgerState.organization_id == organization_id)
    hours = Hours()
    for org_id, day, status, minutes in db.session.execute(query.group_by(
            LedgerState.organization_id, LedgerState.service_date, LedgerState.status)):
        minutes = int(minutes or 0)
        if status == "pending":
            hours.pending_minutes += minutes
            continue
        hours.minutes += minutes
        hours.by_organization[org_id] = hours.by_organization.get(org_id, 0) + minutes
        if day is not None:
            hours.by_year[day.year] = hours.by_year.get(day.year, 0) + minutes
    if organization_id is None:  # service transferred from another registry counts in the whole, never an org's
        for day, minutes in db.session.execute(
                db.select(TransferredService.service_date, func.sum(TransferredService.minutes))
                .where(TransferredService.volunteer_id == volunteer_id, TransferredService.status == "approved")
                .group_by(TransferredService.service_date)):
            minutes = int(minutes or 0)
            hours.minutes += minutes
            hours.transferred_minutes += minutes
            if day is not None:
                hours.by_year[day.year] = hours.by_year.get(day.year, 0) + minutes
    return hours


def fold_ledger() -> dict[int, dict]:
    """Service entry id → its status, counted minutes, counted interval and waiting correction, recomputed from
    the entries alone (ledger/fold.py): the definition that the projection (``ledger_states``) must equal."""
    rows = db.session.execute(db.select(LedgerEntry.id, LedgerEntry.kind, LedgerEntry.refers_to_id,
                                        LedgerEntry.minutes, LedgerEntry.started_at, LedgerEntry.ended_at))
    return fold(Fact(*row) for row in rows)


def fold_states() -> dict[int, tuple[str, int]]:
    """Service entry id → (status, counted minutes), recomputed from the entries alone (see :func:`fold_ledger`)."""
    return {entry_id: (state["status"], state["minutes"]) for entry_id, state in fold_ledger().items()}
