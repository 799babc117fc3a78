"""Issuing, revoking and reissuing certificates; volunteers' requests for them.

"Whoever records certifies": a certificate covers only the approved minutes that its organization recorded for the
volunteer in the period. Issuing writes a ledger entry (kind ``certificate``), signs a COSE token with the current
certificate key, and renders and signs the PDF (now, or on first download for bulk issuing).

Nobody certifies their own service: issuing, reissuing and revoking a certificate of a record in which the actor is
the volunteer is refused (IntegrityRefusal ``conflict_of_interest``, audited as ``integrity.refused``) on every path,
pages, API and command line alike, because they all call these services.

Error codes (CertificateError): period_invalid, no_approved_service, already_issued, certificate_overlaps,
handler_name_required, not_valid, reason_required, request_pending, request_not_pending, qr_too_large,
volunteer_unknown. Also Forbidden (forbidden) and IntegrityRefusal (conflict_of_interest).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError

from .. import signals
from ..accounts.models import User
from ..accounts.permissions import can, require
from ..activities.models import CATEGORIES, Activity
from ..audit.services import record_event
from ..codes import check_character, random_code
from ..errors import DomainError, Forbidden
from ..extensions import db
from ..hours import hours_text
from ..integrity.rules import DecisionFacts, decision_refusal
from ..integrity.services import ensure_may_decide
from ..keys.services import current_key, private_key_of
from ..ledger.models import LedgerEntry, LedgerState
from ..ledger.services import record_certificate_entry, record_revocation_entry
from ..links import public_base_url
from ..models import utcnow
from ..organizations.models import Organization
from ..text import check_plain_text
from ..timeutil import local
from ..volunteers.identity import ID_TYPES, mask_name
from ..volunteers.models import Volunteer
from .models import Certificate, CertificateDocument, CertificateRequest
from .pdf import certificate_html, render_pdf, sign_pdf
from .qr import QRTooLarge, qr_version
from .queries import awaiting_civil_affairs
from .schemas import NOTE_MAX, REVOCATION_REASON_MAX
from .tokens import CertificateClaims, sign_token, token_url

#: the PDF lists this many activities (largest first); the rest are summed in a line (the page stays one page)
#: the activities listed on the one page (the rest are summed up in a line): fewer when it is also in Tibetan
ACTIVITIES_ON_PAGE = {False: 4, True: 2}


class CertificateError(DomainError):
    messages = {
        "period_invalid": _l("The period must end on or after its first day, and start no later than today."),
        "no_approved_service": _l("This organization has no approved service recorded for this volunteer in that "
                                  "period, so there is nothing to certify."),
        "already_issued": _l("A valid certificate for exactly this period already exists. Reissue it instead."),
        "certificate_overlaps": _l("The volunteer already holds certificate %(number)s from this organization, for "
                                   "%(start)s to %(end)s, which overlaps this period. Reissue or revoke it first."),
        "handler_name_required": _l("A certificate prints the real name of whoever issues it as the handler, and "
                                    "your account has none: set your name on your Account page, then issue."),
        "not_valid": _l("Only a valid certificate can be revoked or reissued."),
        "reason_required": _l("Give a reason."),
        "request_pending": _l("You already asked this organization for a certificate of this period."),
        "request_not_pending": _l("This request has already been dealt with."),
        "qr_too_large": _l("The certificate's QR code would be too large to scan."),
        "volunteer_unknown": _l("No volunteer has that volunteer number."),
    }
    statuses = {"volunteer_unknown": 404}


# --- what can be certified -----------------------------------------------------------------------------------------

@dataclass
class ActivityService:
    activity_id: int | None
    title: str
    category: str | None
    minutes: int
    first_date: dt.date | None
    last_date: dt.date | None


@dataclass
class ServiceSummary:
    minutes: int = 0
    activities: list[ActivityService] = field(default_factory=list)


def today() -> dt.date:
    return local(utcnow()).date()


def check_period(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    """The period as certified: it may not start after today, and an end after today is today."""
    if start is None or end is None or end < start or start > today():
        raise CertificateError("period_invalid", field="period_start")
    return start, min(end, today())


def certifiable_service(volunteer_id: int, organization_id: int, start: dt.date, end: dt.date) -> ServiceSummary:
    """The approved minutes ``organization_id`` recorded for the volunteer in [start, end], by activity (largest
    first). Minutes come from the ledger's projection, so corrections count as corrected."""
    rows = db.session.execute(
        db.select(LedgerEntry.activity_id, LedgerEntry.activity_title, Activity.category,
                  func.sum(LedgerState.minutes), func.min(LedgerState.service_date), func.max(LedgerState.service_date))
        .join(LedgerEntry, LedgerEntry.id == LedgerState.entry_id)
        .outerjoin(Activity, Activity.id == LedgerEntry.activity_id)
        .where(LedgerState.volunteer_id == volunteer_id, LedgerState.organization_id == organization_id,
               LedgerState.status == "approved", LedgerState.service_date >= start, LedgerState.service_date <= end)
        .group_by(LedgerEntry.activity_id, LedgerEntry.activity_title, Activity.category))
    summary = ServiceSummary()
    for activity_id, title, category, minutes, first, last in rows:
        minutes = int(minutes or 0)
        if minutes <= 0:
            continue
        summary.activities.append(ActivityService(activity_id, title or "", category, minutes, first, last))
        summary.minutes += minutes
    summary.activities.sort(key=lambda a: (-a.minutes, a.title))
    return summary


def certifiable_volunteers(org: Organization, start: dt.date, end: dt.date) -> list[tuple[Volunteer, int]]:
    """Every volunteer with approved minutes recorded by ``org`` in the period, with those minutes (most first)."""
    total = func.sum(LedgerState.minutes)
    rows = db.session.execute(
        db.select(Volunteer, total).join(LedgerState, LedgerState.volunteer_id == Volunteer.id)
        .where(LedgerState.organization_id == org.id, LedgerState.status == "approved",
               LedgerState.service_date >= start, LedgerState.service_date <= end)
        .group_by(Volunteer.id).having(total > 0).order_by(total.desc(), Volunteer.name))
    return [(volunteer, int(minutes)) for volunteer, minutes in rows]


# --- issuing -------------------------------------------------------------------------------------------------------

def _labels(mapping: dict, key: str | None) -> tuple[str, str]:
    if key is None or key not in mapping:
        return "", ""
    with force_locale("zh_Hans_CN"):
        zh = str(mapping[key])
    with force_locale("en"):
        en = str(mapping[key])
    return zh, en


def _zh_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _content(volunteer: Volunteer, org: Organization, summary: ServiceSummary, start: dt.date, end: dt.date,
             handler: str, issued_on: dt.date, number: str) -> dict:
    """What the certificate says, as plain data (kept with the certificate; the PDF renders from it)."""
    id_zh, id_en = _labels(ID_TYPES, volunteer.id_type)
    activities = []
    for item in summary.activities:
        category_zh, category_en = _labels(CATEGORIES, item.category)
        activities.append({"title": item.title, "category": item.category, "category_zh": category_zh,
                           "category_en": category_en, "minutes": item.minutes, "hours": hours_text(item.minutes),
                           "first_date": item.first_date.isoformat() if item.first_date else "",
                           "last_date": item.last_date.isoformat() if item.last_date else ""})
    return {
        "number": number, "volunteer_name": volunteer.name, "volunteer_number": volunteer.volunteer_number,
        # the national unified volunteer number, when the record has one (certificates issued before it was kept
        # have no such key, and print without it)
        "national_number": volunteer.national_number,
        "id_type": volunteer.id_type, "id_type_zh": id_zh, "id_type_en": id_en,
        "id_number_masked": volunteer.id_number_masked, "minutes": summary.minutes,
        "hours": hours_text(summary.minutes),
        "activities": activities, "organization_name": org.name, "organization_code": org.code,
        "credit_code": org.credit_code, "person_in_charge": org.person_in_charge, "handler": handler,
        "contact_phone": org.contact_phone, "contact_email": org.contact_email,
        "period_start": start.isoformat(), "period_end": end.isoformat(), "issued_on": issued_on.isoformat(),
        # the volunteer reads Tibetan (their account's language): the certificate says everything in it too
        "tibetan": _reads_tibetan(volunteer),
    }


def _reads_tibetan(volunteer: Volunteer) -> bool:
    if volunteer.user_id is None:
        return False
    return db.session.scalar(db.select(User.locale).where(User.id == volunteer.user_id)) == "bo"


def handler_name(user) -> str:
    """The handler printed on a certificate: the name on the issuer's account, else the real name on their
    volunteer profile. A certificate never prints an email address or a phone number: without either name,
    handler_name_required."""
    name = user.display_name or db.session.scalar(db.select(Volunteer.name).where(Volunteer.user_id == user.id))
    name = " ".join((name or "").split())
    if not name:
        raise CertificateError("handler_name_required")
    return name


def own_service_refusal(actor, volunteer: Volunteer) -> str | None:
    """Why ``actor`` may not issue, reissue or revoke a certificate of ``volunteer`` (conflict_of_interest: it is
    their own service), or None. What pages read to offer the buttons; the services enforce the same rule."""
    return decision_refusal(DecisionFacts(actor_id=actor.id, volunteer_user_id=volunteer.user_id))


def issues_on_behalf(actor, request_: CertificateRequest) -> bool:
    """Whether ``actor`` is a platform admin (civil affairs) who may issue ``request_`` on its organization's
    behalf: the organization is approved and none of its org admins may issue it (each is the volunteer who
    asked, or it has none who can sign in)."""
    return bool(actor.is_platform_admin) and not can(actor, "certificates.issue", request_.organization) \
        and awaiting_civil_affairs(request_)


def valid_certificates_overlapping(org_id: int, start: dt.date, end: dt.date, volunteer_id: int | None = None
                                   ) -> list[Certificate]:
    """The organization's valid certificates (of one volunteer, or of all) whose period shares a day with
    [start, end], earliest first."""
    query = db.select(Certificate).where(Certificate.organization_id == org_id, Certificate.status == "valid",
                                         Certificate.period_start <= end, Certificate.period_end >= start)
    if volunteer_id is not None:
        query = query.where(Certificate.volunteer_id == volunteer_id)
    return list(db.session.scalars(query.order_by(Certificate.period_start, Certificate.id)))


def overlap_refusal(existing: list[Certificate], start: dt.date, end: dt.date) -> CertificateError | None:
    """The refusal to issue [start, end] to a volunteer who holds ``existing`` (their valid certificates from the
    organization that overlap it): already_issued for exactly this period, certificate_overlaps naming the
    certificate and its period otherwise, None when there is none."""
    if any(c.period_start == start and c.period_end == end for c in existing):
        return CertificateError("already_issued")
    if existing:
        held = existing[0]
        return CertificateError("certificate_overlaps", number=held.number, start=held.period_start.isoformat(),
                                end=held.period_end.isoformat())
    return None


def _take_for_issuing(volunteer_id: int) -> None:
    """Issue for one volunteer at a time, so that two overlapping periods issued at the same moment cannot both
    pass the overlap check: the volunteer's row is taken for writing until the transaction ends (a row lock on
    PostgreSQL; on SQLite the database's write lock, which a read would not take). Nothing changes in the row."""
    db.session.execute(db.update(Volunteer).where(Volunteer.id == volunteer_id)
                       .values(updated_at=Volunteer.updated_at).execution_options(synchronize_session=False))


def _new_number(year: int) -> str:
    body = random_code(7)
    return f"VR-{year}-{body[:4]}-{body[4:]}{check_character(body)}"


def issue_certificate(actor, org: Organization, volunteer: Volunteer, start: dt.date | None, end: dt.date | None,
                      *, render: bool = True) -> Certificate:
    """Issue a certificate of the approved service ``org`` recorded for ``volunteer`` in the period (an end after
    today is today). Writes the ledger entry, signs the token, and renders the signed PDF unless ``render`` is
    False (then the first download renders it). Requires certificates.issue, and that the volunteer is not the
    actor. Raises forbidden, conflict_of_interest, handler_name_required, period_invalid, no_approved_service,
    already_issued, certificate_overlaps, qr_too_large."""
    require("certificates.issue", org, actor)
    ensure_may_decide(actor, action="certificate.issue", organization=org, volunteer_id=volunteer.id, target=volunteer)
    return _issue(actor, org, volunteer, start, end, render=render)


def _issue(actor, org: Organization, volunteer: Volunteer, start: dt.date | None, end: dt.date | None, *,
           request_: CertificateRequest | None = None, supersedes: Certificate | None = None, render: bool,
           on_behalf: bool = False) -> Certificate:
    """Issue, once the actor is authorized and is not the volunteer (the callers check both)."""
    handler = handler_name(actor)
    start, end = check_period(start, end)
    summary = certifiable_service(volunteer.id, org.id, start, end)
    if summary.minutes <= 0:
        raise CertificateError("no_approved_service")
    _take_for_issuing(volunteer.id)
    existing = [c for c in valid_certificates_overlapping(org.id, start, end, volunteer.id)
                if supersedes is None or c.id != supersedes.id]
    refusal = overlap_refusal(existing, start, end)
    if refusal is not None:
        raise refusal
    issued_on = today()
    code, number = random_code(16), _new_number(issued_on.year)
    content = _content(volunteer, org, summary, start, end, handler, issued_on, number)
    claims = CertificateClaims(version=1, code=code, number=number, issuer=org.code,
                               masked_name=mask_name(volunteer.name), minutes=summary.minutes, period_start=start,
                               period_end=end, issued_on=issued_on)
    key = current_key("certificate")
    token = sign_token(claims, private_key_of(key))
    try:
        qr_version(token_url(public_base_url(), token))
    except QRTooLarge:
        raise CertificateError("qr_too_large") from None
    if supersedes is not None:
        supersedes.status = "superseded"
        db.session.flush()  # before the new one: one valid certificate per volunteer, organization and period
    try:
        with db.session.begin_nested():  # a concurrent issue of the same period: the unique index decides
            entry = record_certificate_entry(actor, volunteer.id, org.id, code, summary.minutes, issued_on)
            certificate = Certificate(code=code, number=number, volunteer_id=volunteer.id, organization_id=org.id,
                                      period_start=start, period_end=end, minutes=summary.minutes,
                                      masked_name=claims.masked_name, content=content, token=token,
                                      key_id=key.kid, issued_on=issued_on, issued_by_id=actor.id,
                                      entry_id=entry.id, supersedes_id=supersedes.id if supersedes else None)
            db.session.add(certificate)
    except IntegrityError:
        raise CertificateError("already_issued") from None
    if request_ is not None:
        request_.status, request_.certificate_id = "issued", certificate.id
        request_.decided_by_id, request_.decided_at = actor.id, utcnow()
    record_event("certificate.issued", actor=actor, organization=org, target=certificate.number,
                 volunteer=volunteer.volunteer_number, minutes=summary.minutes,
                 supersedes=supersedes.number if supersedes else None,
                 on_behalf_of_organization=True if on_behalf else None)
    signals.certificate_issued.send(certificate)
    if render:
        certificate_pdf(certificate)
    return certificate


@dataclass
class BatchResult:
    issued: list[Certificate] = field(default_factory=list)
    skipped: list[tuple[Volunteer, str]] = field(default_factory=list)  #: (volunteer, error code)


def check_batch(actor, org: Organization, volunteers) -> str:
    """What must hold before a batch issues anything: the actor issues for the organization, is none of the
    volunteers (each is checked; one refusal refuses the whole batch) and has a name to print as the handler,
    which is returned. Raises forbidden, conflict_of_interest, handler_name_required."""
    require("certificates.issue", org, actor)
    for volunteer in volunteers:
        ensure_may_decide(actor, action="certificate.issue", organization=org, volunteer_id=volunteer.id,
                          target=volunteer)
    return handler_name(actor)


def issue_batch(actor, org: Organization, volunteers, start: dt.date, end: dt.date, *, render: bool = False,
                progress=None, issued=None) -> BatchResult:
    """Issue a certificate to each of ``volunteers`` for the period. All or nothing for who may issue
    (:func:`check_batch`: refused before anything is issued); then those with nothing to certify or a valid
    certificate overlapping the period are skipped with their error code. Each is issued in a savepoint, so one
    skip does not undo the others; ``issued(certificate)`` is called after each (the command line commits there,
    so that a rerun after an interruption carries on)."""
    volunteers = list(volunteers)
    check_batch(actor, org, volunteers)
    result = BatchResult()
    for volunteer in volunteers:
        try:
            with db.session.begin_nested():
                certificate = _issue(actor, org, volunteer, start, end, render=render)
        except CertificateError as error:
            result.skipped.append((volunteer, error.code))
        else:
            result.issued.append(certificate)
            if issued:
                issued(certificate)
        if progress:
            progress(1)
    return result


def _reason(reason: str | None) -> str:
    reason = " ".join(check_plain_text(reason, multiline=True, field="reason", error=CertificateError).split())
    if not reason:
        raise CertificateError("reason_required", field="reason")
    return reason[:REVOCATION_REASON_MAX]


def may_revoke(actor, certificate: Certificate) -> bool:
    """The issuing organization's org admins, and platform admins (civil affairs' spot checks, any certificate)."""
    return bool(actor.is_platform_admin) or can(actor, "certificates.issue", certificate.organization)


def revoke_certificate(actor, certificate: Certificate, reason: str) -> Certificate:
    """Revoke a valid certificate, with a reason (shown to whoever verifies it). Writes a ledger revocation entry.
    For the issuing organization's org admins and for platform admins (:func:`may_revoke`), never for the volunteer
    it certifies. Raises forbidden, conflict_of_interest, reason_required, not_valid."""
    if not may_revoke(actor, certificate):
        raise Forbidden("forbidden")
    ensure_may_decide(actor, action="certificate.revoke", organization=certificate.organization,
                      volunteer_id=certificate.volunteer_id, target=certificate)
    reason = _reason(reason)
    if certificate.status != "valid":
        raise CertificateError("not_valid")
    record_revocation_entry(actor, certificate.entry_id, certificate.volunteer_id, certificate.organization_id,
                            certificate.code, reason)
    certificate.status, certificate.revoked_at = "revoked", utcnow()
    certificate.revocation_reason, certificate.revoked_by_id = reason, actor.id
    by_platform = not can(actor, "certificates.issue", certificate.organization)
    record_event("certificate.revoked", actor=actor, organization=certificate.organization,
                 target=certificate.number, reason=reason, by_platform_admin=True if by_platform else None)
    signals.certificate_revoked.send(certificate)
    return certificate


def reissue_certificate(actor, certificate: Certificate, reason: str, *, render: bool = True) -> Certificate:
    """A new certificate of the same period from the ledger as it is now (after a correction, say), superseding
    ``certificate``, whose verification page then links to the new one. Raises forbidden, conflict_of_interest,
    reason_required, not_valid and what issue_certificate raises (certificate_overlaps: another valid
    certificate overlaps the period)."""
    require("certificates.issue", certificate.organization, actor)
    ensure_may_decide(actor, action="certificate.reissue", organization=certificate.organization,
                      volunteer_id=certificate.volunteer_id, target=certificate)
    reason = _reason(reason)
    if certificate.status != "valid":
        raise CertificateError("not_valid")
    new = _issue(actor, certificate.organization, certificate.volunteer, certificate.period_start,
                 certificate.period_end, supersedes=certificate, render=render)
    record_event("certificate.reissued", actor=actor, organization=certificate.organization,
                 target=certificate.number, new=new.number, reason=reason)
    return new


# --- the PDF -------------------------------------------------------------------------------------------------------

def document_data(certificate: Certificate) -> dict:
    """The template's data: the stored content plus what is derived for print (Chinese dates, URLs, the
    activities that fit on the page)."""
    data = dict(certificate.content)
    listed = ACTIVITIES_ON_PAGE[bool(data.get("tibetan"))]
    shown, rest = data["activities"][:listed], data["activities"][listed:]
    base = public_base_url()
    data.update(
        activities_shown=shown, activities_more=len(rest),
        activities_more_hours=hours_text(sum(a["minutes"] for a in rest)),
        period_start_zh=_zh_date(certificate.period_start), period_end_zh=_zh_date(certificate.period_end),
        issued_on_zh=_zh_date(certificate.issued_on), verify_page=base + "/verify",
        keys_url=base + "/.well-known/volunteer-registry/jwks.json")
    return data


def render_certificate(certificate: Certificate) -> bytes:
    """Render and sign the certificate's PDF (not stored: see certificate_pdf)."""
    seal = db.session.scalar(db.select(Organization.seal_png).where(Organization.id == certificate.organization_id))
    url = token_url(public_base_url(), certificate.token)
    html = certificate_html(document_data(certificate), url, seal)
    unsigned = render_pdf(html, certificate.token)
    document_key = current_key("document")
    root = current_key("root")
    return sign_pdf(unsigned, private_key_of(document_key), document_key.certificate_pem, root.certificate_pem,
                    reason=f"Certificate of volunteer service {certificate.number}",
                    location=certificate.content["organization_name"])


def certificate_pdf(certificate: Certificate) -> bytes:
    """The certificate's signed PDF: the stored one, else rendered now and stored (once, also when two requests
    race: the first stored wins)."""
    stored = db.session.get(CertificateDocument, certificate.id)
    if stored is not None:
        return stored.pdf
    pdf = render_certificate(certificate)
    try:
        with db.session.begin_nested():
            db.session.add(CertificateDocument(certificate_id=certificate.id, pdf=pdf,
                                               sha256=hashlib.sha256(pdf).hexdigest()))
    except IntegrityError:
        return db.session.get(CertificateDocument, certificate.id).pdf
    return pdf


# --- requests ------------------------------------------------------------------------------------------------------

def request_certificate(volunteer: Volunteer, org: Organization, start: dt.date | None, end: dt.date | None,
                        note: str = "") -> CertificateRequest:
    """A volunteer asks ``org`` for a certificate of the period. Refused when the organization recorded no
    approved service for them in it (no_approved_service), or the same request is already waiting."""
    start, end = check_period(start, end)
    if certifiable_service(volunteer.id, org.id, start, end).minutes <= 0:
        raise CertificateError("no_approved_service")
    waiting = db.session.scalar(db.select(CertificateRequest.id).where(
        CertificateRequest.volunteer_id == volunteer.id, CertificateRequest.organization_id == org.id,
        CertificateRequest.period_start == start, CertificateRequest.period_end == end,
        CertificateRequest.status == "pending"))
    if waiting is not None:
        raise CertificateError("request_pending")
    note = " ".join(check_plain_text(note, field="note", error=CertificateError).split())
    row = CertificateRequest(volunteer_id=volunteer.id, organization_id=org.id, period_start=start,
                             period_end=end, note=note[:NOTE_MAX])
    db.session.add(row)
    db.session.flush()
    return row


def issue_requested(actor, request_: CertificateRequest, *, render: bool = True) -> Certificate:
    """Issue the certificate a volunteer asked for: by an org admin of the organization, or by a platform admin on
    its behalf when none of its org admins may (:func:`issues_on_behalf`); never by the volunteer. Raises
    forbidden, conflict_of_interest, request_not_pending and what issue_certificate raises."""
    org = request_.organization
    on_behalf = issues_on_behalf(actor, request_)
    if not on_behalf:
        require("certificates.issue", org, actor)
    ensure_may_decide(actor, action="certificate.issue", organization=org, volunteer_id=request_.volunteer_id,
                      target=request_)
    if request_.status != "pending":
        raise CertificateError("request_not_pending")
    return _issue(actor, org, request_.volunteer, request_.period_start, request_.period_end, request_=request_,
                  render=render, on_behalf=on_behalf)


def decline_request(actor, request_: CertificateRequest, reason: str) -> CertificateRequest:
    """Decline a request, with a reason the volunteer sees."""
    require("certificates.issue", request_.organization, actor)
    if request_.status != "pending":
        raise CertificateError("request_not_pending")
    request_.status, request_.response = "declined", _reason(reason)
    request_.decided_by_id, request_.decided_at = actor.id, utcnow()
    return request_


def verification_url(certificate: Certificate) -> str:
    return token_url(public_base_url(), certificate.token)
