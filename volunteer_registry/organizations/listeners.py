"""The organizations part's receivers: a closing account leaves its organizations and declines its invitations."""
from __future__ import annotations

from .. import signals
from ..extensions import db
from ..volunteers.queries import volunteer_for_user
from .models import Membership, Organization
from .services import decline_membership_invitation, leave_organization


def end_memberships(user, **_facts) -> None:
    """The person leaves every organization they belong to or asked to join, and declines every open invitation,
    as when they do it themselves."""
    volunteer = volunteer_for_user(user)
    if volunteer is None:
        return
    joined = db.session.scalars(db.select(Organization).join(Membership, Membership.organization_id ==
                                                              Organization.id).where(
        Membership.volunteer_id == volunteer.id, Membership.status.in_(("active", "pending"))))
    for org in list(joined):
        leave_organization(user, org)
    invitations = db.session.scalars(db.select(Membership).where(Membership.volunteer_id == volunteer.id,
                                                                 Membership.status == "invited"))
    for membership in list(invitations):
        decline_membership_invitation(user, membership)


def connect() -> None:
    """Connect the part's receivers (idempotent)."""
    signals.account_closing.connect(end_memberships)
