"""Correction requests: a volunteer reports an error in one of their service entries, or service that was never
recorded; the organization answers. An accepted request becomes a ledger entry (a correction, or a service entry),
which waits for someone else's approval like any other; this part never changes the ledger itself."""
from __future__ import annotations

import datetime as dt

from .. import signals
from ..accounts.permissions import require
from ..activities.models import Activity
from ..audit.services import record_event
from ..errors import NotFound
from ..extensions import db
from ..integrity import services as integrity
from ..ledger.models import LedgerEntry
from ..ledger.services import LedgerError, correct_entry, record_missing_service
from ..models import utcnow
from ..organizations.models import Organization
from ..text import check_plain_text
from ..volunteers.queries import volunteer_for_user
from .models import CorrectionRequest


def _volunteer_of(user):
    volunteer = volunteer_for_user(user)
    if volunteer is None:
        raise LedgerError("volunteer_profile_required")
    return volunteer


def _message(text: str) -> str:
    text = check_plain_text(text, multiline=True, field="message", error=LedgerError)
    if not text:
        raise LedgerError("message_required", field="message")
    return text


def _check_times(activity: Activity, started_at, ended_at) -> None:
    if started_at is None or ended_at is None:
        raise LedgerError("times_invalid", field="started_at")
    if ended_at <= started_at:
        raise LedgerError("ends_before_start", field="ended_at")
    grace = dt.timedelta(minutes=activity.grace_minutes)
    if started_at < activity.starts_at - grace or ended_at > activity.ends_at + grace:
        raise LedgerError("outside_activity", field="started_at")


def _pending_request(**where) -> CorrectionRequest | None:
    query = db.select(CorrectionRequest).where(CorrectionRequest.status == "pending")
    for column, value in where.items():
        query = query.where(getattr(CorrectionRequest, column) == value)
    return db.session.scalar(query.limit(1))


def report_error(user, entry: LedgerEntry, message: str, claimed_minutes: int | None = None) -> CorrectionRequest:
    """The volunteer says one of their service entries is wrong (NotFound for anyone else's)."""
    volunteer = _volunteer_of(user)
    if entry.volunteer_id != volunteer.id or entry.kind != "service":
        raise NotFound("not_found")
    message = _message(message)
    if claimed_minutes is not None and (isinstance(claimed_minutes, bool) or not 0 <= claimed_minutes <= 1440):
        raise LedgerError("minutes_invalid", field="claimed_minutes")
    if _pending_request(entry_id=entry.id) is not None:
        raise LedgerError("already_requested")
    request = CorrectionRequest(kind="error", volunteer_id=volunteer.id, organization_id=entry.organization_id,
                                entry_id=entry.id, activity_id=entry.activity_id, claimed_minutes=claimed_minutes,
                                message=message)
    db.session.add(request)
    db.session.flush()
    record_event("ledger.correction_requested", actor=user, organization=entry.organization, target=request)
    return request


def report_omission(user, activity: Activity, started_at, ended_at, message: str,
                    now: dt.datetime | None = None) -> CorrectionRequest:
    """The volunteer served at ``activity`` and it was never recorded."""
    volunteer = _volunteer_of(user)
    now = now or utcnow()
    if activity.organization.status != "approved" or activity.status == "draft" or activity.starts_at > now:
        raise LedgerError("activity_not_served", field="activity")
    _check_times(activity, started_at, ended_at)
    message = _message(message)
    if _pending_request(volunteer_id=volunteer.id, activity_id=activity.id, kind="omission") is not None:
        raise LedgerError("already_requested")
    request = CorrectionRequest(kind="omission", volunteer_id=volunteer.id, organization_id=activity.organization_id,
                                activity_id=activity.id, started_at=started_at, ended_at=ended_at, message=message)
    db.session.add(request)
    db.session.flush()
    record_event("ledger.correction_requested", actor=user, organization=activity.organization, target=request)
    return request


def decide_correction(actor, request: CorrectionRequest, accept: bool, response: str = "", *,
                      minutes: int | None = None, started_at=None, ended_at=None,
                      now: dt.datetime | None = None) -> CorrectionRequest:
    """The organization answers a report. Accepting an error proposes a correction entry with ``minutes``;
    accepting an omission records the service (times as reported unless given) as an entry; either waits for
    someone else's approval. Declining needs a response, which the volunteer sees. Nobody answers a report about
    their own service (conflict_of_interest)."""
    org = db.session.get(Organization, request.organization_id)
    require("ledger.decide", org, user=actor)
    integrity.ensure_may_decide(actor, action="ledger.correction_request", organization=org,
                                volunteer_id=request.volunteer_id, target=request)
    if request.status != "pending":
        raise LedgerError("request_not_pending")
    response = check_plain_text(response, multiline=True, field="response", error=LedgerError)
    if not accept:
        if not response:
            raise LedgerError("reason_required", field="response")
        request.status = "declined"
    elif request.kind == "error":
        minutes = request.claimed_minutes if minutes is None else minutes
        if minutes is None:
            raise LedgerError("minutes_invalid", field="minutes")
        result = correct_entry(actor, request.entry, minutes, response or request.message)
        request.status, request.result_entry_id = "accepted", result.id
    else:
        activity = db.session.get(Activity, request.activity_id)
        started_at, ended_at = started_at or request.started_at, ended_at or request.ended_at
        _check_times(activity, started_at, ended_at)
        result = record_missing_service(actor, activity, request.volunteer_id, started_at, ended_at,
                                        response or request.message)
        request.status, request.result_entry_id = "accepted", result.id
    request.response = response or None
    request.decided_by_id = actor.id
    request.decided_at = now or utcnow()
    db.session.flush()
    record_event(f"ledger.correction_{request.status}", actor=actor, organization=org, target=request)
    signals.correction_decided.send(request)
    return request
