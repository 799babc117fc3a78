"""Supervision's rules: spot checks (a random sample drawn, an outcome recorded, entries annulled and certificates
revoked through the ledger's own services) and complaints (filed by anyone, answered by civil affairs).

Error codes (SupervisionError): sample_size_invalid, sample_empty, nothing_to_sample, check_decided,
outcome_invalid, description_required, description_too_long, actions_need_problem, reason_required,
reason_too_long, not_in_sample, message_required, message_too_long, contact_too_long, status_invalid,
complaint_closed, response_required, response_too_long, nothing_changed, and text.check_plain_text's text_*
codes for what people type. Every service also raises Forbidden for
anyone without supervision.manage (except filing a complaint, which anyone may), and recording an outcome raises
what annul_entry and revoke_certificate raise (entry_not_approved, not_valid, conflict_of_interest, …).
"""
from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Sequence

from flask_babel import lazy_gettext as _l

from ..accounts.permissions import require
from ..audit.services import record_event
from ..certificates.models import Certificate
from ..certificates.services import revoke_certificate
from ..codes import random_code
from ..errors import DomainError
from ..extensions import db
from ..ledger.models import LedgerEntry, LedgerState
from ..ledger.services import annul_entry
from ..models import utcnow
from ..organizations.models import Organization
from ..text import check_plain_text
from .models import (
    ACTION_REASON_MAX,
    COMPLAINT_CONTACT_MAX,
    COMPLAINT_MESSAGE_MAX,
    COMPLAINT_RESPONSE_MAX,
    COMPLAINT_STATUSES,
    DEFAULT_CERTIFICATE_SAMPLE,
    DEFAULT_ENTRY_SAMPLE,
    DESCRIPTION_MAX,
    FOLLOW_CODE_LENGTH,
    MAX_SAMPLE,
    OUTCOMES,
    Complaint,
    SpotCheck,
    SpotCheckItem,
)

#: the length of a spot check's public code
CHECK_CODE_LENGTH = 10


class SupervisionError(DomainError):
    messages = {
        "sample_size_invalid": _l("A sample size is a whole number from 0 to %(max)s."),
        "sample_empty": _l("Draw at least one certificate or one entry."),
        "nothing_to_sample": _l("This organization has nothing of that kind to check: no valid certificates and no "
                                "approved service entries in the sample asked for."),
        "check_decided": _l("The outcome of this spot check has already been recorded."),
        "outcome_invalid": _l("Choose an outcome."),
        "description_required": _l("Describe the problem you found."),
        "description_too_long": _l("Describe it in at most %(max)s characters."),
        "actions_need_problem": _l("Annulling entries or revoking certificates needs the outcome “problem found”."),
        "reason_required": _l("Give the reason the ledger records for the annulments and revocations."),
        "reason_too_long": _l("Give the reason in at most %(max)s characters."),
        "not_in_sample": _l("Choose entries and certificates from this check's sample."),
        "message_required": _l("Say what is wrong."),
        "message_too_long": _l("Say it in at most %(max)s characters."),
        "contact_too_long": _l("Give a contact of at most %(max)s characters."),
        "status_invalid": _l("Choose a status from the list."),
        "complaint_closed": _l("This complaint is closed."),
        "response_required": _l("Closing a complaint needs a response for the person who filed it."),
        "response_too_long": _l("Respond in at most %(max)s characters."),
        "nothing_changed": _l("Change the status or write a response."),
    }
    statuses = {"check_decided": 409, "complaint_closed": 409}


# --- spot checks ----------------------------------------------------------------------------------------------------

_system_random = secrets.SystemRandom()


def draw(ids: Sequence[int], size: int, rng=None) -> list[int]:
    """``size`` of ``ids`` at random (all of them when there are fewer), with the operating system's CSPRNG by
    default, so that nobody can predict or steer which records a check looks at."""
    return sorted((rng or _system_random).sample(list(ids), min(size, len(ids))))


def _sample_size(value, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SAMPLE:
        raise SupervisionError("sample_size_invalid", field=field, max=MAX_SAMPLE)
    return value


def start_spot_check(actor, org: Organization, *, certificates: int = DEFAULT_CERTIFICATE_SAMPLE,
                     entries: int = DEFAULT_ENTRY_SAMPLE, rng=None, now: dt.datetime | None = None) -> SpotCheck:
    """Start a spot check of ``org``: draw at random up to ``certificates`` of its valid certificates and up to
    ``entries`` of its approved service entries, and keep the sample with the check. Audited. Requires
    supervision.manage. Raises sample_size_invalid, sample_empty, nothing_to_sample."""
    require("supervision.manage", user=actor)
    certificates = _sample_size(certificates, "certificates")
    entries = _sample_size(entries, "entries")
    if certificates == 0 and entries == 0:
        raise SupervisionError("sample_empty", field="certificates")
    certificate_ids = list(db.session.scalars(db.select(Certificate.id).where(
        Certificate.organization_id == org.id, Certificate.status == "valid"))) if certificates else []
    entry_ids = list(db.session.scalars(db.select(LedgerState.entry_id).where(
        LedgerState.organization_id == org.id, LedgerState.status == "approved"))) if entries else []
    if not certificate_ids and not entry_ids:
        raise SupervisionError("nothing_to_sample")
    drawn_certificates = draw(certificate_ids, certificates, rng)
    drawn_entries = draw(entry_ids, entries, rng)
    check = SpotCheck(code=random_code(CHECK_CODE_LENGTH), organization_id=org.id,
                      certificate_sample_size=certificates, entry_sample_size=entries,
                      certificates_drawn=len(drawn_certificates), entries_drawn=len(drawn_entries),
                      started_by_id=actor.id, started_at=now or utcnow())
    db.session.add(check)
    db.session.flush()
    db.session.add_all([SpotCheckItem(spot_check_id=check.id, certificate_id=i) for i in drawn_certificates]
                       + [SpotCheckItem(spot_check_id=check.id, entry_id=i) for i in drawn_entries])
    record_event("supervision.spot_check_started", actor=actor, organization=org, target=check,
                 certificates=len(drawn_certificates), entries=len(drawn_entries))
    db.session.flush()
    return check


def _ids(values: Iterable) -> list[int]:
    return sorted({int(value) for value in values or ()})


def _text(value: str | None, limit: int, code: str, field: str, *, multiline: bool = True) -> str:
    """What someone typed, as kept (text.check_plain_text, which raises the text_* codes), within ``limit``."""
    text = check_plain_text(value, multiline=multiline, field=field, error=SupervisionError)
    if len(text) > limit:
        raise SupervisionError(code, field=field, max=limit)
    return text


def record_outcome(actor, check: SpotCheck, outcome: str, *, description: str = "", reason: str = "",
                   annul: Iterable[int] = (), revoke: Iterable[int] = (), now: dt.datetime | None = None
                   ) -> SpotCheck:
    """Record what a spot check found: ``confirmed``, or ``problem`` with a description and, optionally, action
    taken on records of its sample — the service entries ``annul`` annulled (ledger.services.annul_entry) and the
    certificates ``revoke`` revoked (certificates.services.revoke_certificate), each with ``reason``. All or
    nothing. Audited. Requires supervision.manage. Raises check_decided, outcome_invalid, description_required,
    description_too_long, actions_need_problem, reason_required, reason_too_long, not_in_sample, and what the
    ledger's and certificates' services raise."""
    require("supervision.manage", user=actor)
    if not check.is_open:
        raise SupervisionError("check_decided")
    if outcome not in OUTCOMES:
        raise SupervisionError("outcome_invalid", field="outcome")
    description = _text(description, DESCRIPTION_MAX, "description_too_long", "description")
    reason = _text(reason, ACTION_REASON_MAX, "reason_too_long", "reason")
    annul_ids, revoke_ids = _ids(annul), _ids(revoke)
    if outcome == "problem" and not description:
        raise SupervisionError("description_required", field="description")
    if (annul_ids or revoke_ids) and outcome != "problem":
        raise SupervisionError("actions_need_problem", field="outcome")
    if (annul_ids or revoke_ids) and not reason:
        raise SupervisionError("reason_required", field="reason")
    entry_items = {item.entry_id: item for item in check.items if item.entry_id is not None}
    certificate_items = {item.certificate_id: item for item in check.items if item.certificate_id is not None}
    if any(i not in entry_items for i in annul_ids) or any(i not in certificate_items for i in revoke_ids):
        raise SupervisionError("not_in_sample")
    for entry_id in annul_ids:
        annulment = annul_entry(actor, db.session.get(LedgerEntry, entry_id), reason)
        entry_items[entry_id].action, entry_items[entry_id].action_entry_id = "annulled", annulment.id
    for certificate_id in revoke_ids:
        certificate = revoke_certificate(actor, db.session.get(Certificate, certificate_id), reason)
        db.session.flush()
        revocation_id = db.session.scalar(db.select(LedgerEntry.id).where(
            LedgerEntry.kind == "revocation", LedgerEntry.certificate_code == certificate.code)
            .order_by(LedgerEntry.id.desc()).limit(1))
        certificate_items[certificate_id].action = "revoked"
        certificate_items[certificate_id].action_entry_id = revocation_id
    check.status = outcome
    check.description = description or None
    check.action_reason = reason or None
    check.annulled_count, check.revoked_count = len(annul_ids), len(revoke_ids)
    check.decided_by_id, check.decided_at = actor.id, now or utcnow()
    record_event("supervision.spot_check_recorded", actor=actor, organization=check.organization, target=check,
                 outcome=outcome, annulled=len(annul_ids), revoked=len(revoke_ids))
    db.session.flush()
    return check


# --- complaints -----------------------------------------------------------------------------------------------------

def file_complaint(*, organization: Organization | None = None, certificate: Certificate | None = None,
                   message: str, contact: str = "", now: dt.datetime | None = None) -> Complaint:
    """Anyone's complaint about ``certificate`` or about ``organization``'s recording, with an unguessable follow
    code (the complainant's only way back to it). Audited without the code. Raises message_required,
    message_too_long, contact_too_long."""
    message = _text(message, COMPLAINT_MESSAGE_MAX, "message_too_long", "message")
    if not message:
        raise SupervisionError("message_required", field="message")
    contact = _text(contact, COMPLAINT_CONTACT_MAX, "contact_too_long", "contact", multiline=False)
    if certificate is not None:
        organization = db.session.get(Organization, certificate.organization_id)
    if organization is None:
        raise ValueError("a complaint is about a certificate or an organization")
    complaint = Complaint(code=random_code(FOLLOW_CODE_LENGTH),
                          subject="certificate" if certificate is not None else "organization",
                          organization_id=organization.id,
                          certificate_id=certificate.id if certificate is not None else None,
                          message=message, contact=contact or None, created_at=now or utcnow())
    db.session.add(complaint)
    db.session.flush()
    # not the complaint itself as the target: the audit log would show its follow code
    record_event("supervision.complaint_filed", organization=organization, complaint=complaint.id,
                 subject=complaint.subject)
    return complaint


def respond_to_complaint(actor, complaint: Complaint, status: str, response: str = "", *,
                         now: dt.datetime | None = None) -> Complaint:
    """Civil affairs moves a complaint on (open → investigating → closed, or back to open) and may answer it; the
    answer replaces the last one and the complainant sees it. A closed complaint stays closed; closing needs an
    answer. Audited. Requires supervision.manage. Raises complaint_closed, status_invalid, response_too_long,
    response_required, nothing_changed."""
    require("supervision.manage", user=actor)
    if complaint.status == "closed":
        raise SupervisionError("complaint_closed")
    if status not in COMPLAINT_STATUSES:
        raise SupervisionError("status_invalid", field="status")
    response = _text(response, COMPLAINT_RESPONSE_MAX, "response_too_long", "response")
    if status == "closed" and not (response or complaint.response):
        raise SupervisionError("response_required", field="response")
    if status == complaint.status and (not response or response == complaint.response):
        raise SupervisionError("nothing_changed", field="response")
    before = complaint.status
    complaint.status = status
    if response and response != complaint.response:
        complaint.response = response
        complaint.responded_by_id, complaint.responded_at = actor.id, now or utcnow()
    record_event("supervision.complaint_updated", actor=actor, organization=complaint.organization,
                 complaint=complaint.id, status_from=before, status_to=status, responded=bool(response) or None)
    db.session.flush()
    return complaint
