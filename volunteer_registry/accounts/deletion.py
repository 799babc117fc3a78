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
"""
from __future__ import annotations

import datetime as dt
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

from ..activities.models import Activity, Signup
from ..activities.services import withdraw
from ..audit.services import record_event
from ..certificates.models import Certificate, CertificateDocument
from ..extensions import db
from ..models import utcnow
from ..notifications.models import Delivery, Notification, NotificationPreference
from ..organizations.models import Membership, Organization, StaffRole
from ..organizations.services import decline_membership_invitation, leave_organization
from ..volunteers.queries import volunteer_for_user
from ..volunteers.vault import encrypt_id_number
from .models import User
from .services import AccountError

#: what a deleted person's name becomes, in both of the app's languages
DELETED_NAME = "已注销 (deleted)"
DELETED_EMAIL_DOMAIN = "deleted.invalid"  # RFC 2606: never a real address


def _forget_notifications(user: User) -> None:
    """The person's notifications go, with their email and short-message copies (the addresses) and choices: a
    message not yet sent is not sent."""
    theirs = db.select(Notification.id).where(Notification.user_id == user.id).scalar_subquery()
    db.session.execute(db.delete(Delivery).where(Delivery.notification_id.in_(theirs)))
    db.session.execute(db.delete(Notification).where(Notification.user_id == user.id))
    db.session.execute(db.delete(NotificationPreference).where(NotificationPreference.user_id == user.id))


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

    volunteer = volunteer_for_user(user)
    if volunteer is not None:
        upcoming = db.session.scalars(db.select(Activity).join(Signup, Signup.activity_id == Activity.id).where(
            Signup.volunteer_id == volunteer.id, Signup.status.in_(("accepted", "pending", "waitlisted")),
            Activity.starts_at > now))
        for activity in list(upcoming):
            withdraw(user, activity, now)
        joined = db.session.scalars(db.select(Organization).join(Membership, Membership.organization_id ==
                                                                  Organization.id).where(
            Membership.volunteer_id == volunteer.id, Membership.status.in_(("active", "pending"))))
        for org in list(joined):
            leave_organization(user, org)
        invitations = db.session.scalars(db.select(Membership).where(Membership.volunteer_id == volunteer.id,
                                                                     Membership.status == "invited"))
        for membership in list(invitations):
            decline_membership_invitation(user, membership)
        for certificate in db.session.scalars(db.select(Certificate).where(Certificate.volunteer_id == volunteer.id)):
            certificate.content = {**certificate.content, "volunteer_name": certificate.masked_name,
                                   "id_number_masked": "—"}
            db.session.execute(db.delete(CertificateDocument).where(CertificateDocument.certificate_id ==
                                                                    certificate.id))
        volunteer.name = DELETED_NAME
        volunteer.id_number_encrypted = encrypt_id_number("")
        volunteer.id_number_hash = f"deleted:{volunteer.id}"
        volunteer.id_number_masked = "—"
        volunteer.phone = ""
        volunteer.email = None
        volunteer.skills = ""
        volunteer.guardian_name = None
        volunteer.birth_date = dt.date(volunteer.birth_date.year, 1, 1)
        volunteer.user_id = None

    for token in user.tokens:
        if token.revoked_at is None:
            token.revoked_at = now
    _forget_notifications(user)
    user.email, user.phone = f"deleted-{user.id}@{DELETED_EMAIL_DOMAIN}", None
    user.password_hash = generate_password_hash(secrets.token_urlsafe(32))  # nobody knows it
    user.session_nonce = secrets.token_hex(8)  # every session ends
    user.is_disabled, user.locale, user.display_name, user.deleted_at = True, None, None, now
    user.failed_logins, user.locked_until = 0, None
    record_event("account.deleted", actor=user, target=user,
                 volunteer=volunteer.volunteer_number if volunteer is not None else None)
    db.session.flush()
