"""Who may do what: the one place where roles become permissions.

Roles are per organization (DESIGN.md): a person is an org admin or a coordinator of particular organizations,
a volunteer through their own profile, and a platform admin platform-wide. Views and API endpoints ask
:func:`require`; nothing else looks at roles.
"""
from __future__ import annotations

from functools import wraps

from flask import current_app
from flask_login import current_user

from ..errors import Forbidden
from ..extensions import db

#: organization permission → staff roles that hold it
ORG_PERMISSIONS: dict[str, frozenset[str]] = {
    "org.view_private": frozenset({"admin", "coordinator"}),
    "org.edit": frozenset({"admin"}),
    "staff.invite": frozenset({"admin"}),
    "members.view": frozenset({"admin", "coordinator"}),
    "members.decide": frozenset({"admin", "coordinator"}),
    "members.import": frozenset({"admin"}),
    "members.reveal_id": frozenset({"admin"}),
    "activities.manage": frozenset({"admin", "coordinator"}),
    "checkin.scan": frozenset({"admin", "coordinator"}),
    "checkin.review": frozenset({"admin", "coordinator"}),
    "ledger.decide": frozenset({"admin", "coordinator"}),
    "records.write": frozenset({"admin", "coordinator"}),
    "certificates.view": frozenset({"admin", "coordinator"}),
    "certificates.issue": frozenset({"admin"}),
    "reports.view": frozenset({"admin", "coordinator"}),
}
#: permissions that platform admins hold over every organization (oversight, not running it)
PLATFORM_ORG_PERMISSIONS = frozenset({"org.view_private", "reports.view"})
PLATFORM_PERMISSIONS = frozenset({"orgs.decide", "audit.view", "volunteers.reveal_id", "stats.view",
                                  "supervision.manage"})
#: while an organization is not approved its staff may only look at it (and fix its details)
INACTIVE_ORG_PERMISSIONS = frozenset({"org.view_private", "org.edit"})


def staff_role(user, organization) -> str | None:
    from ..organizations.models import StaffRole

    if user is None or not user.is_authenticated:
        return None
    return db.session.scalar(
        db.select(StaffRole.role).where(StaffRole.organization_id == organization.id, StaffRole.user_id == user.id)
    )


def can(user, permission: str, organization=None) -> bool:
    """Whether ``user`` holds ``permission`` (over ``organization`` for organization permissions)."""
    if user is None or not user.is_authenticated:
        return False
    if permission in PLATFORM_PERMISSIONS:
        return bool(user.is_platform_admin)
    if organization is None:
        raise ValueError(f"{permission} needs an organization")
    if user.is_platform_admin and permission in PLATFORM_ORG_PERMISSIONS:
        return True
    if organization.status != "approved" and permission not in INACTIVE_ORG_PERMISSIONS:
        return False
    role = staff_role(user, organization)
    return role is not None and role in ORG_PERMISSIONS[permission]


def require(permission: str, organization=None, user=None) -> None:
    """Raise Forbidden unless the user (default: the signed-in one) holds ``permission``."""
    if not can(user if user is not None else current_user, permission, organization):
        raise Forbidden("forbidden")


def platform_admin_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        require("orgs.decide")
        return view(*args, **kwargs)

    return wrapped


#: the permission needed to create an invitation for each role
INVITATION_PERMISSIONS = {"admin": "staff.invite", "coordinator": "staff.invite", "member": "members.decide"}
