"""Who may decide a record: the one check that every decision (approving, rejecting, correcting, fixing a
check-out, annulling, issuing or reissuing a certificate) calls, with its refusals audited.

A refusal is audited even though the refused request is rolled back: :func:`record_refusal` keeps the event on
the session and writes it with the commit, or, when the transaction ends without one, on a connection of its own
once the session's connection has let go of its locks (an SQLite writer would otherwise wait on itself).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable

from flask import has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..audit.models import AuditEvent
from ..errors import DomainError
from ..extensions import db
from ..models import utcnow
from ..organizations.models import StaffRole
from ..volunteers.models import Volunteer
from .rules import DecisionFacts, decision_refusal, may_decide

__all__ = ["DecisionFacts", "IntegrityRefusal", "deciders_left", "ensure_may_decide", "facts_for", "record_refusal"]

log = logging.getLogger(__name__)

#: the staff roles that decide records (accounts.permissions: ledger.decide)
DECIDING_ROLES = ("admin", "coordinator")


class IntegrityRefusal(DomainError):
    status = 403
    messages = {
        "conflict_of_interest": _l("This is your own service record: someone else must decide it."),
        "own_recording": _l("You recorded this yourself and it needs review: someone else must decide it."),
    }


def volunteer_user_id(volunteer_id: int) -> int | None:
    return db.session.scalar(db.select(Volunteer.user_id).where(Volunteer.id == volunteer_id))


def facts_for(actor, volunteer_id: int, recorded_by: Iterable[int | None] = (), needs_review: bool = False
              ) -> DecisionFacts:
    return DecisionFacts(actor_id=actor.id, volunteer_user_id=volunteer_user_id(volunteer_id),
                         recorded_by=frozenset(i for i in recorded_by if i is not None), needs_review=needs_review)


def ensure_may_decide(actor, *, action: str, organization, volunteer_id: int, recorded_by: Iterable[int | None] = (),
                      needs_review: bool = False, target=None) -> None:
    """Raise IntegrityRefusal (conflict_of_interest, own_recording) unless ``actor`` may take ``action`` on a
    record of ``volunteer_id``; the refusal is audited as ``integrity.refused``."""
    facts = facts_for(actor, volunteer_id, recorded_by, needs_review)
    code = decision_refusal(facts)
    if code is not None:
        record_refusal(code, action=action, actor=actor, organization=organization, target=target,
                       volunteer_id=volunteer_id)
        raise IntegrityRefusal(code, entry_id=getattr(target, "id", None))


def deciders_left(organization_id: int, facts: DecisionFacts) -> int:
    """How many of the organization's staff (admins and coordinators) other than ``facts.actor_id`` could decide
    the record: with none, the decision belongs to the platform's (civil affairs') queue."""
    staff = db.session.scalars(db.select(StaffRole.user_id).where(
        StaffRole.organization_id == organization_id, StaffRole.role.in_(DECIDING_ROLES)))
    return sum(1 for user_id in staff if user_id != facts.actor_id and may_decide(user_id, facts))


# --- refusals are audited, whatever happens to the transaction -----------------------------------------------------

def record_refusal(code: str, *, action: str, actor=None, organization=None, target=None, **details) -> None:
    """Keep an ``integrity.refused`` audit event for the refusal ``code`` of ``action``. It is written with the
    session's next commit, or on its own once the transaction ends without one (the usual case: the refused
    request is rolled back)."""
    row = {"action": "integrity.refused", "actor_id": getattr(actor, "id", None),
           "organization_id": getattr(organization, "id", None),
           "target_type": type(target).__name__ if target is not None else None,
           "target_id": str(getattr(target, "code", None) or getattr(target, "id", "")) if target is not None
           else None,
           "details": {"code": code, "refused": action, **{k: v for k, v in details.items() if v is not None}},
           "ip_address": request.remote_addr if has_request_context() else None}
    db.session().info.setdefault("integrity_refusals", []).append(row)


@event.listens_for(Session, "before_commit")
def _write_with_commit(session: Session) -> None:
    rows = session.info.pop("integrity_refusals", None)
    if rows:
        session.add_all(AuditEvent(**row) for row in rows)


@event.listens_for(Session, "after_transaction_end")
def _write_after_rollback(session: Session, transaction) -> None:
    if transaction.parent is not None or transaction.nested:
        return
    rows = session.info.pop("integrity_refusals", None)
    if not rows:
        return
    rows = [{**row, "created_at": utcnow()} for row in rows]
    try:
        bind = session.get_bind()
        with bind.connect() as connection:  # a connection of its own: the session's has just rolled back
            try:
                connection.execute(insert(AuditEvent), rows)
            except IntegrityError:
                # the actor or organization was created in the transaction that was rolled back (a script's, a
                # test's): keep the event, with their ids in its details instead of as references
                connection.rollback()
                connection.execute(insert(AuditEvent), [
                    {**row, "actor_id": None, "organization_id": None,
                     "details": {**row["details"], "actor_id": row["actor_id"],
                                 "organization_id": row["organization_id"]}} for row in rows])
            connection.commit()
    except Exception:  # an audit write must never turn a refusal into a crash; say so loudly instead
        log.exception("could not write %d integrity refusal(s) to the audit log", len(rows))
