"""Deleting an account: the person is anonymised, their service stays.

What identifies the person is removed or replaced: the account's name, email and mobile number, the volunteer
profile's name, ID number (its ciphertext, hash and masked form), phone, email, skills and guardian, the day and
month of birth (the year stays, for the statistics by age), and the full name and masked ID number in the content of
their certificates, whose stored PDFs are deleted (a download renders again, from the anonymised content). The
account can no longer sign in, its API tokens are revoked, its sessions end. Their notifications, with the
addresses their copies went to and their choices of channel, are deleted; a message not yet sent is not sent.

What stays, because it is the record of service that others rely on: the ledger's entries (which never named anyone:
a leaf holds a keyed pseudonym of the volunteer's row, so the log still verifies), the totals, and the certificates
(the token carries the masked name the certificate was issued with, so a certificate still verifies as it did).
Upcoming sign-ups are withdrawn, memberships ended and open invitations declined, through the same services as when
the volunteer does it.

The ID number's hash is replaced, so the same person can register again; their old service stays with the old,
anonymous profile.

This module changes only the account's own rows. The other parts act on signals (volunteer_registry.signals):
``account_closing`` (activities and organizations end the person's participation through their own services), then
``account_deleted`` (volunteers, certificates and notifications anonymise or delete their own rows).
"""
from __future__ import annotations

import datetime as dt
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

from .. import signals
from ..audit.services import record_event
from ..extensions import db
from ..models import utcnow
from ..organizations.models import Organization, StaffRole
from .models import User
from .services import AccountError

#: what a deleted person's name becomes, in both of the app's languages
DELETED_NAME = "已注销 (deleted)"
DELETED_EMAIL_DOMAIN = "deleted.invalid"  # RFC 2606: never a real address


def delete_account(user: User, password: str, *, now: dt.datetime | None = None) -> None:
    """Delete ``user``'s account as described above, after checking their password. Flushes; the caller commits
    (and signs them out). Raises invalid_credentials, staff_role_held (an org admin or coordinator hands the role
    over first), platform_admin."""
    now = now or utcnow()
    if not check_password_hash(user.password_hash, password or ""):
        raise AccountError("invalid_credentials", field="password")
    if user.is_platform_admin:
        raise AccountError("platform_admin")
    roles = db.session.scalars(db.select(Organization.name).join(StaffRole, StaffRole.organization_id ==
                                                                  Organization.id).where(StaffRole.user_id == user.id))
    held = sorted(set(roles))
    if held:
        raise AccountError("staff_role_held", organizations="、".join(held))

    signals.account_closing.send(user, now=now)
    details = {}
    for _receiver, facts in signals.account_deleted.send(user, now=now):
        details.update(facts or {})  # what a part tells the audit event (the volunteer's number)
    for token in user.tokens:
        if token.revoked_at is None:
            token.revoked_at = now
    user.email, user.phone = f"deleted-{user.id}@{DELETED_EMAIL_DOMAIN}", None
    user.password_hash = generate_password_hash(secrets.token_urlsafe(32))  # nobody knows it
    user.session_nonce = secrets.token_hex(8)  # every session ends
    user.is_disabled, user.locale, user.display_name, user.deleted_at = True, None, None, now
    user.failed_logins, user.locked_until = 0, None
    record_event("account.deleted", actor=user, target=user, volunteer=details.get("volunteer"))
    db.session.flush()
