"""Read helpers for organization pages."""
from __future__ import annotations

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, or_

from .. import signals
from ..accounts.permissions import can
from ..errors import NotFound
from ..extensions import db
from ..models import utcnow
from ..regions import get_region
from ..volunteers.models import Volunteer
from .models import Invitation, Membership, Organization, StaffRole


def organization_by_code(code: str) -> Organization:
    """The organization with this public code. Raises NotFound."""
    org = db.session.scalar(db.select(Organization).where(Organization.code == code.upper()))
    if org is None:
        raise NotFound("not_found")
    return org


def visible_organization(code: str, user) -> Organization:
    """The organization as ``user`` may know it: approved ones for everyone, any other only for its staff and
    platform admins — to everyone else it does not exist. Raises NotFound. The visibility rule, not an
    authorization: pages and endpoints reach it through volunteer_registry/access.py, which also checks the
    permission they need."""
    org = organization_by_code(code)
    if org.status != "approved" and not can(user, "org.view_private", org):
        raise NotFound("not_found")
    return org


def _contains(text: str) -> str:
    """A LIKE pattern matching ``text`` literally anywhere (escape character: backslash)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def directory(*, text: str = "", region_code: str = "", page: int = 1, per_page: int = 20) -> Pagination:
    """Approved organizations, searched by name and narrowed to a region and what lies inside it."""
    query = db.select(Organization).where(Organization.status == "approved")
    text = text.strip()
    if text:
        query = query.where(or_(Organization.name.ilike(_contains(text), escape="\\"),
                                Organization.code == text.upper()))
    region = get_region(region_code)
    if region is not None:
        query = query.where(Organization.region_code.startswith(region.prefix))
    return db.paginate(query.order_by(Organization.name), page=page, per_page=per_page, error_out=False)


def organizations_of_user(user) -> list[tuple[Organization, str]]:
    """(organization, staff role) for every organization the user helps run or applied for."""
    rows = db.session.execute(
        db.select(Organization, StaffRole.role).join(StaffRole, StaffRole.organization_id == Organization.id)
        .where(StaffRole.user_id == user.id).order_by(Organization.name)
    )
    return [(org, role) for org, role in rows]


def pending_organization_count() -> int:
    return db.session.scalar(db.select(func.count()).select_from(Organization).where(Organization.status == "pending"))


def organizations_for_review(status: str = "pending", text: str = "", page: int = 1) -> Pagination:
    query = db.select(Organization)
    if status:
        query = query.where(Organization.status == status)
    if text.strip():
        query = query.where(Organization.name.ilike(_contains(text.strip()), escape="\\"))
    return db.paginate(query.order_by(Organization.created_at), page=page, per_page=25, error_out=False)


def members(org: Organization, status: str = "", page: int = 1) -> Pagination:
    query = (db.select(Membership).join(Volunteer, Volunteer.id == Membership.volunteer_id)
             .where(Membership.organization_id == org.id))
    if status:
        query = query.where(Membership.status == status)
    return db.paginate(query.order_by(Membership.status.desc(), Volunteer.name), page=page, per_page=50,
                       error_out=False)


def membership_in(org: Organization, membership_id: int) -> Membership:
    """A membership of this organization (never another's) that its volunteer entered into: an invitation they
    have not accepted is nothing staff can act on or reveal from. Raises NotFound."""
    membership = db.session.get(Membership, membership_id)
    if membership is None or membership.organization_id != org.id or not membership.discloses_record:
        raise NotFound("not_found")
    return membership


def memberships_of_volunteer(volunteer) -> list[Membership]:
    return list(db.session.scalars(db.select(Membership).where(Membership.volunteer_id == volunteer.id)
                                   .order_by(Membership.applied_at.desc())))


def membership_of(org: Organization, volunteer) -> Membership | None:
    if volunteer is None:
        return None
    return db.session.scalar(db.select(Membership).where(Membership.organization_id == org.id,
                                                         Membership.volunteer_id == volunteer.id))


def open_invitations(org: Organization, limit: int = 20) -> list[Invitation]:
    """The newest invitations of the organization that nobody has used yet and that still work."""
    return list(db.session.scalars(
        db.select(Invitation).where(Invitation.organization_id == org.id, Invitation.accepted_at.is_(None),
                                    Invitation.revoked_at.is_(None), Invitation.expires_at > utcnow())
        .order_by(Invitation.id.desc()).limit(limit)))


def member_counts(org: Organization) -> dict[str, int]:
    rows = db.session.execute(db.select(Membership.status, func.count()).where(Membership.organization_id == org.id)
                              .group_by(Membership.status))
    return {status: count for status, count in rows}


def figures_of(org: Organization) -> dict:
    """The figures higher parts show on ``org``'s management page, by name (see
    signals.organization_figures_wanted); a name no part answers is absent. Asked through a signal because those
    parts (the ledger, certificates) stand above organizations and read its models."""
    figures: dict = {}
    for _receiver, answer in signals.organization_figures_wanted.send(org):
        figures.update(answer or {})
    return figures
