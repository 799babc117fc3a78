"""Everything the application holds about one person, as plain JSON-ready data: the right of access.

Each part is read from its own table, and every column of a row is given (from ``__table__.columns``), so that a
column added later is part of the export without anyone remembering to add it here. Only secrets are left out:
password and token hashes, the session nonce, the keyed hash and the ciphertext of the ID number (whose clear value
is given once, in the volunteer profile, and that view is written to the audit log).
"""
from __future__ import annotations

import base64
import datetime as dt
import re

from sqlalchemy import and_, or_

from ..accounts.models import ApiToken
from ..activities.models import Activity, Signup
from ..audit.models import AuditEvent
from ..certificates.models import Certificate, CertificateDocument, CertificateRequest
from ..checkin.models import AttendanceSession, ManualEntry, Scan
from ..corrections.models import CorrectionRequest
from ..extensions import db
from ..ledger.models import LedgerEntry, LedgerLeaf, LedgerState
from ..models import utcnow
from ..notifications.models import Delivery, Notification, NotificationPreference
from ..organizations.models import Invitation, Membership, Organization, StaffRole
from ..records.models import VolunteerRecord
from ..verification.models import Verification
from ..volunteers.models import Volunteer
from ..volunteers.queries import volunteer_for_user
from ..volunteers.services import reveal_id_number

FORMAT = "volunteer-registry/personal-data/1"
#: columns that are never exported, by table: secrets, and what identifies somebody else
SECRET_COLUMNS = {
    "users": {"password_hash", "session_nonce"},
    "volunteers": {"id_number_encrypted", "id_number_hash"},
    "api_tokens": {"token_hash"},
    "invitations": {"token_hash"},
    "verifications": {"client"},  # a keyed hash of a third party's address
}
#: column names left out of every table, including tables added later: hashes, ciphertexts and nonces are secrets
SECRET_NAME = re.compile(r"(^|_)(hash|encrypted|nonce|secret|password)(_|$)")
#: what an API token is shown by: its name and dates, never its secret
TOKEN_COLUMNS = ("id", "name", "created_at", "last_used_at", "revoked_at")


def json_value(value):
    """``value`` as JSON can hold it: dates ISO 8601, datetimes ISO 8601 in UTC with their offset, bytes in base64;
    JSON columns (lists, dicts) and numbers as they are."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def is_secret(table: str, column: str) -> bool:
    """Whether ``column`` of ``table`` must never leave the server, not even to the person it describes."""
    return column in SECRET_COLUMNS.get(table, ()) or SECRET_NAME.search(column) is not None


def columns_of(row, *, only=None, drop=()) -> dict:
    """Every column of ``row``'s table (or those in ``only``), name → JSON-ready value, secrets and ``drop`` left
    out. Deferred columns are loaded."""
    table = type(row).__table__
    names = only or [column.key for column in table.columns]
    return {name: json_value(getattr(row, name)) for name in names
            if name not in drop and not is_secret(table.name, name)}


class _Names:
    """Organization and activity ids → their codes and names, read once for all the rows that mention them."""

    def __init__(self):
        """Nothing read yet."""
        self.organizations: dict[int, dict] = {}
        self.activities: dict[int, dict] = {}

    def load(self, rows: list[dict]) -> None:
        """Read the names of the organizations and activities ``rows`` mention and are not known yet (one query
        each)."""
        org_ids = {row["organization_id"] for row in rows if row.get("organization_id")} - set(self.organizations)
        activity_ids = {row["activity_id"] for row in rows if row.get("activity_id")} - set(self.activities)
        if org_ids:
            for org_id, code, name in db.session.execute(db.select(Organization.id, Organization.code,
                                                                   Organization.name)
                                                         .where(Organization.id.in_(org_ids))):
                self.organizations[org_id] = {"code": code, "name": name}
        if activity_ids:
            for activity_id, code, title in db.session.execute(db.select(Activity.id, Activity.code, Activity.title)
                                                               .where(Activity.id.in_(activity_ids))):
                self.activities[activity_id] = {"code": code, "title": title}

    def annotate(self, rows: list[dict]) -> list[dict]:
        """The rows, each with ``organization`` and ``activity`` ({code, name/title}) next to their ids."""
        self.load(rows)
        for row in rows:
            if row.get("organization_id"):
                row["organization"] = self.organizations.get(row["organization_id"])
            if row.get("activity_id"):
                row["activity"] = self.activities.get(row["activity_id"])
        return rows


def _all(model, *where, order_by=None) -> list:
    """Every row of ``model`` that matches ``where``, in id order (or ``order_by``)."""
    return list(db.session.scalars(db.select(model).where(*where).order_by(*(order_by or (model.id,)))))


def account_data(user) -> dict:
    """The account: every column of the user row but the password hash and the session nonce, with the person's
    roles in organizations' staff and their API tokens (name and dates only, never their secrets)."""
    account = columns_of(user)
    roles = db.session.execute(
        db.select(StaffRole, Organization.code, Organization.name)
        .join(Organization, Organization.id == StaffRole.organization_id)
        .where(StaffRole.user_id == user.id).order_by(StaffRole.id)).all()
    # the platform role is the column is_platform_admin; the organizations' roles are rows of their own
    account["roles"] = [{**columns_of(role), "organization": {"code": code, "name": name}}
                        for role, code, name in roles]
    account["api_tokens"] = [columns_of(token, only=TOKEN_COLUMNS)
                             for token in _all(ApiToken, ApiToken.user_id == user.id)]
    return account


def _organizations_applied(user) -> list[dict]:
    """The organizations this person applied to register: that they applied, and what became of it."""
    return [columns_of(org, only=("id", "code", "name", "status", "status_reason", "created_at", "decided_at"))
            for org in _all(Organization, Organization.applicant_id == user.id)]


def _invitations(user) -> list[dict]:
    """The staff invitations this person made or accepted (never their secret links)."""
    return [columns_of(invitation) for invitation in _all(
        Invitation, or_(Invitation.created_by_id == user.id, Invitation.accepted_by_id == user.id))]


def _ledger_entries(volunteer: Volunteer) -> list[dict]:
    """Every ledger entry about the volunteer (service, decisions, corrections, certificates), oldest first; a
    service entry with its current state (status and the minutes that count now), each with its leaf index in the
    Merkle log once it is there."""
    states = {state.entry_id: state for state in db.session.scalars(
        db.select(LedgerState).where(LedgerState.volunteer_id == volunteer.id))}
    leaves = dict(db.session.execute(
        db.select(LedgerLeaf.entry_id, LedgerLeaf.leaf_index)
        .join(LedgerEntry, LedgerEntry.id == LedgerLeaf.entry_id)
        .where(LedgerEntry.volunteer_id == volunteer.id)).all())
    rows = []
    for entry in _all(LedgerEntry, LedgerEntry.volunteer_id == volunteer.id):
        row = columns_of(entry)
        state = states.get(entry.id)
        row["state"] = columns_of(state, drop=("entry_id", "volunteer_id", "organization_id")) if state else None
        row["leaf_index"] = leaves.get(entry.id)
        rows.append(row)
    return rows


def _certificates(volunteer: Volunteer) -> list[dict]:
    """The volunteer's certificates (everything but the PDF, which is given by its SHA-256), with the log of their
    verifications (method, outcome, time; not who asked)."""
    certificates = _all(Certificate, Certificate.volunteer_id == volunteer.id)
    ids = [certificate.id for certificate in certificates]
    documents, verifications = {}, {}
    if ids:
        documents = dict(db.session.execute(db.select(CertificateDocument.certificate_id, CertificateDocument.sha256)
                                            .where(CertificateDocument.certificate_id.in_(ids))).all())
        for verification in _all(Verification, Verification.certificate_id.in_(ids)):
            verifications.setdefault(verification.certificate_id, []).append(
                columns_of(verification, drop=("certificate_id",)))
    return [{**columns_of(certificate), "pdf_sha256": documents.get(certificate.id),
             "verifications": verifications.get(certificate.id, [])} for certificate in certificates]


def _audit_events(user, volunteer: Volunteer | None, subjects: dict[str, list[int]]) -> list[dict]:
    """The audit log entries where the person is the actor, or the subject: their account, their volunteer record
    (by id or by volunteer number), or one of their own rows (``subjects``: target type → ids). The address a
    request came from is given only for the person's own actions: another's is that person's data."""
    about = [AuditEvent.actor_id == user.id,
             and_(AuditEvent.target_type == "User", AuditEvent.target_id == str(user.id))]
    if volunteer is not None:
        about += [and_(AuditEvent.target_type == "Volunteer", AuditEvent.target_id == str(volunteer.id)),
                  AuditEvent.details["volunteer"].as_string() == volunteer.volunteer_number]
    for target_type, ids in subjects.items():
        if ids:
            about.append(and_(AuditEvent.target_type == target_type,
                              AuditEvent.target_id.in_([str(i) for i in ids])))
    return [columns_of(event, drop=() if event.actor_id == user.id else ("ip_address",))
            for event in _all(AuditEvent, or_(*about))]


def _notifications(user) -> dict:
    notifications = _all(Notification, Notification.user_id == user.id)
    deliveries = _all(Delivery, Delivery.notification_id.in_([n.id for n in notifications]))
    by_notification: dict[int, list] = {}
    for delivery in deliveries:
        by_notification.setdefault(delivery.notification_id, []).append(
            columns_of(delivery, drop=("notification_id", "claim", "claimed_until")))
    return {"messages": [{**columns_of(n), "deliveries": by_notification.get(n.id, [])} for n in notifications],
            "preferences": [columns_of(p, drop=("user_id",)) for p in db.session.scalars(
                db.select(NotificationPreference).where(NotificationPreference.user_id == user.id)
                .order_by(NotificationPreference.kind, NotificationPreference.channel))]}


def personal_data(user) -> dict:
    """Everything the application holds about ``user``: the account, and, when the person has a volunteer profile,
    the profile with the full ID number, consents, memberships, sign-ups, attendance sessions and scans, manual
    entries, ledger entries with their current states, correction requests, training, award and evaluation records,
    certificates and certificate requests; then the audit log entries where the person is the actor or the subject.

    Dates are ISO 8601, datetimes ISO 8601 in UTC with the offset. No secret is included (see ``is_secret``). The
    full ID number is read through ``reveal_id_number``, so this call adds that view to the audit log (in the
    session: the caller commits), and the returned audit entries include it. The account's part also lists the
    person's notifications, each with its email and short-message copies (address, status, times), and their
    choices of channel."""
    names = _Names()
    volunteer = volunteer_for_user(user)
    data: dict = {"format": FORMAT, "generated_at": json_value(utcnow()), "account": account_data(user),
                  "organizations_applied": _organizations_applied(user), "invitations": _invitations(user),
                  "notifications": _notifications(user), "volunteer": None}
    subjects: dict[str, list[int]] = {"ApiToken": [token["id"] for token in data["account"]["api_tokens"]]}
    if volunteer is not None:
        profile = columns_of(volunteer)
        profile["id_number"] = reveal_id_number(user, volunteer, purpose="personal data export")
        by_volunteer = {
            "memberships": _all(Membership, Membership.volunteer_id == volunteer.id),
            "signups": _all(Signup, Signup.volunteer_id == volunteer.id),
            "attendance_sessions": _all(AttendanceSession, AttendanceSession.volunteer_id == volunteer.id),
            "scans": _all(Scan, Scan.volunteer_id == volunteer.id),
            "manual_entries": _all(ManualEntry, ManualEntry.volunteer_id == volunteer.id),
            "correction_requests": _all(CorrectionRequest, CorrectionRequest.volunteer_id == volunteer.id),
            "records": _all(VolunteerRecord, VolunteerRecord.volunteer_id == volunteer.id),
            "certificate_requests": _all(CertificateRequest, CertificateRequest.volunteer_id == volunteer.id),
        }
        data["volunteer"] = {
            "profile": profile,
            "consents": {key: profile.get(key) for key in ("consent_at", "consent_source", "guardian_name",
                                                             "guardian_consent_at")},
            **{key: names.annotate([columns_of(row) for row in rows]) for key, rows in by_volunteer.items()},
            "ledger_entries": names.annotate(_ledger_entries(volunteer)),
            "certificates": names.annotate(_certificates(volunteer)),
        }
        subjects.update({
            "Volunteer": [volunteer.id],
            "Membership": [row.id for row in by_volunteer["memberships"]],
            "Signup": [row.id for row in by_volunteer["signups"]],
            "CorrectionRequest": [row.id for row in by_volunteer["correction_requests"]],
            "VolunteerRecord": [row.id for row in by_volunteer["records"]],
            "CertificateRequest": [row.id for row in by_volunteer["certificate_requests"]],
            "ManualEntry": [row.id for row in by_volunteer["manual_entries"]],
            "LedgerEntry": [row["id"] for row in data["volunteer"]["ledger_entries"]],
        })
    data["audit_events"] = _audit_events(user, volunteer, subjects)
    return data
