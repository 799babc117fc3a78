"""Read helpers for the certificate pages."""
from __future__ import annotations

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func
from sqlalchemy.orm import joinedload

from ..accounts.permissions import can
from ..errors import NotFound
from ..extensions import db
from ..ledger.models import LedgerState
from ..organizations.models import Organization
from ..volunteers.models import Volunteer
from .models import STATUSES, Certificate, CertificateRequest

PER_PAGE = 25


def certificate_by_code(code: str) -> Certificate:
    certificate = db.session.scalar(db.select(Certificate).where(Certificate.code == (code or "").upper()))
    if certificate is None:
        raise NotFound("not_found")
    return certificate


def may_read(user, certificate: Certificate) -> bool:
    """The volunteer it certifies, and the issuing organization's staff."""
    if not user.is_authenticated:
        return False
    owner = db.session.scalar(db.select(Volunteer.user_id).where(Volunteer.id == certificate.volunteer_id))
    return owner == user.id or can(user, "certificates.view", certificate.organization)


def readable_certificate(code: str, user) -> Certificate:
    """The certificate, for those who may read it; 404 for everyone else (its existence is not theirs to learn)."""
    certificate = certificate_by_code(code)
    if not may_read(user, certificate):
        raise NotFound("not_found")
    return certificate


def certificates_of_volunteer(volunteer_id: int, limit: int | None = None) -> list[Certificate]:
    """The volunteer's certificates, the latest first (the first ``limit`` of them)."""
    return list(db.session.scalars(db.select(Certificate).options(joinedload(Certificate.organization))
                                   .where(Certificate.volunteer_id == volunteer_id)
                                   .order_by(Certificate.issued_at.desc()).limit(limit)))


def requests_of_volunteer(volunteer_id: int) -> list[CertificateRequest]:
    return list(db.session.scalars(db.select(CertificateRequest).options(joinedload(CertificateRequest.organization))
                                   .where(CertificateRequest.volunteer_id == volunteer_id)
                                   .order_by(CertificateRequest.created_at.desc()).limit(50)))


def organizations_with_service(volunteer_id: int) -> list[Organization]:
    """The organizations that recorded approved service for the volunteer (those that can certify it)."""
    ids = db.select(LedgerState.organization_id).where(LedgerState.volunteer_id == volunteer_id,
                                                       LedgerState.status == "approved").distinct()
    return list(db.session.scalars(db.select(Organization).where(Organization.id.in_(ids))
                                   .order_by(Organization.name)))


def organization_certificates(org: Organization, status: str = "", page: int = 1) -> Pagination:
    query = (db.select(Certificate).options(joinedload(Certificate.volunteer))
             .where(Certificate.organization_id == org.id).order_by(Certificate.issued_at.desc()))
    if status in STATUSES:
        query = query.where(Certificate.status == status)
    return db.paginate(query, page=page, per_page=PER_PAGE, error_out=False)


def pending_requests(org: Organization) -> list[CertificateRequest]:
    return list(db.session.scalars(db.select(CertificateRequest).options(joinedload(CertificateRequest.volunteer))
                                   .where(CertificateRequest.organization_id == org.id,
                                          CertificateRequest.status == "pending")
                                   .order_by(CertificateRequest.created_at)))


def pending_request_count(org: Organization) -> int:
    return db.session.scalar(db.select(func.count()).select_from(CertificateRequest).where(
        CertificateRequest.organization_id == org.id, CertificateRequest.status == "pending")) or 0


def request_of(org: Organization, request_id: int) -> CertificateRequest:
    row = db.session.get(CertificateRequest, request_id)
    if row is None or row.organization_id != org.id:
        raise NotFound("not_found")
    return row
