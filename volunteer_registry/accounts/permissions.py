"""Who may do what: the one place where roles become permissions.

Roles are per organization (DESIGN.md): a person is an org admin or a coordinator of particular organizations,
a volunteer through their own profile, and a platform admin platform-wide. Nothing but this module looks at roles.

The contract, in three layers:

- **Views and API endpoints** load and authorize through the decorators of ``volunteer_registry/access.py``
  (``@loads_organization("ledger.decide")`` and its kin for activities and certificates): the object named in the
  URL is loaded, not found where the caller may not know it exists, and refused (403) without the permission,
  before the view runs. Platform-wide pages use :func:`platform_admin_required` or :func:`require` alone.
- **Services** authorize the actor they are given: every service that acts for a person takes that person as
  ``actor`` (or ``user``) and calls ``require(permission, organization, user=actor)`` itself, before it writes
  anything, so a page, an API endpoint and a CLI command meet the same check; the view's check only answers
  earlier. A service never falls back to the signed-in person: it is passed its actor explicitly. Services where
  people act on their own behalf (signing up, their own profile) check that they are that person instead.
- **Queries** (``*/queries.py``) never authorize: they answer for whoever calls them, and are only called after
  one of the above has.

The platform itself acts without an actor only in the jobs the CLI runs (``flask ledger run``: closing the
sessions left open at ended activities, recorded with ``actor=None``, then extending the log); such a job is not a
service that acts for a person, and no page or endpoint reaches it. A CLI command that acts for a person (``flask
certificates issue-batch --as``) names that person and goes through the same services and checks.
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
    """Raise Forbidden unless ``user`` holds ``permission`` (over ``organization`` for organization permissions).
    Without ``user`` the signed-in person is asked: for pages only; services always pass their actor."""
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
