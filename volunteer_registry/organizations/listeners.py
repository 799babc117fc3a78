"""The organizations part's receivers: a closing account leaves its organizations and declines its invitations; a
volunteer's record page is given their memberships."""
from __future__ import annotations

from .. import signals
from ..extensions import db
from ..volunteers.queries import volunteer_for_user
from .models import Membership, Organization
from .queries import memberships_of_volunteer
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


def record_memberships(volunteer, **_facts) -> dict:
    """The organizations' section of the volunteer's record page: their memberships, the latest applied for first."""
    return {"memberships": memberships_of_volunteer(volunteer)}


def connect() -> None:
    """Connect the part's receivers (idempotent)."""
    signals.account_closing.connect(end_memberships)
    signals.volunteer_record_wanted.connect(record_memberships)
