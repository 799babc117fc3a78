"""Read helpers for the certificate pages."""
from __future__ import annotations

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, func, or_
from sqlalchemy.orm import joinedload

from ..accounts.models import User
from ..accounts.permissions import ORG_PERMISSIONS, can
from ..errors import NotFound
from ..extensions import db
from ..ledger.models import LedgerState
from ..organizations.models import Organization, StaffRole
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


# --- requests that only civil affairs can issue --------------------------------------------------------------------

def _awaiting_civil_affairs(query: Select) -> Select:
    """``query`` over certificate requests, narrowed to the waiting requests to approved organizations that none of
    the organization's issuers may issue: every org admin who can sign in is the volunteer who asked (nobody
    certifies their own service), or there is none."""
    issuer = (db.select(StaffRole.id).join(User, User.id == StaffRole.user_id)
              .where(StaffRole.organization_id == CertificateRequest.organization_id,
                     StaffRole.role.in_(ORG_PERMISSIONS["certificates.issue"]),
                     User.is_disabled.is_(False), User.deleted_at.is_(None),
                     or_(Volunteer.user_id.is_(None), StaffRole.user_id != Volunteer.user_id)))
    return (query.join(Volunteer, Volunteer.id == CertificateRequest.volunteer_id)
            .join(Organization, Organization.id == CertificateRequest.organization_id)
            .where(CertificateRequest.status == "pending", Organization.status == "approved", ~issuer.exists()))


def awaiting_civil_affairs(request_: CertificateRequest) -> bool:
    """Whether a platform admin may issue ``request_`` on its organization's behalf."""
    query = _awaiting_civil_affairs(db.select(CertificateRequest.id)).where(CertificateRequest.id == request_.id)
    return db.session.scalar(query) is not None


def requests_for_civil_affairs() -> list[CertificateRequest]:
    """The requests that platform admins issue on their organizations' behalf, the oldest first."""
    query = _awaiting_civil_affairs(db.select(CertificateRequest)).options(
        joinedload(CertificateRequest.volunteer), joinedload(CertificateRequest.organization))
    return list(db.session.scalars(query.order_by(CertificateRequest.created_at)).unique())
