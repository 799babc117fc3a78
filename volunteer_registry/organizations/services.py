"""Organizations: applications and decisions, staff, invitations, memberships."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import secrets
from dataclasses import dataclass, replace

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError
from sqlalchemy.exc import IntegrityError

from .. import signals
from ..accounts.permissions import require
from ..audit.services import record_event
from ..codes import new_public_code
from ..errors import DomainError, NotFound
from ..extensions import db
from ..models import utcnow
from ..regions import get_region
from ..text import check_plain_text, normalize_phone
from ..volunteers.queries import volunteer_for_user
from .credit_code import credit_code_problem, normalize_credit_code
from .models import Invitation, Membership, Organization, OrganizationStatusChange, StaffRole
from .schemas import (
    CURRENT_MEMBERSHIP_STATUSES,
    INVITATION_ROLES,
    JOIN_MODES,
    ORG_TYPES,
    ORGANIZATION,
    UNREGISTERED_TYPE,
)


class OrganizationError(DomainError):
    messages = {
        "name_required": _l("Enter the organization's name."),
        "org_type_unknown": _l("Choose one of the organization types."),
        "credit_code_required": _l("A registered organization must give its unified social credit code."),
        "credit_code_length": _l("A unified social credit code has 18 characters."),
        "credit_code_characters": _l("A unified social credit code uses only digits and the letters "
                                     "A–Y without I, O, S, V and Z."),
        "credit_code_region": _l("Characters 3 to 8 of the code must be an administrative division code."),
        "credit_code_check_character": _l("This unified social credit code is not valid: its check character "
                                          "does not match. Please check it for a typing error."),
        "credit_code_taken": _l("An organization with this unified social credit code is already registered."),
        "region_unknown": _l("Choose a region from the list."),
        "phone_invalid": _l("Enter a valid phone number."),
        "email_invalid": _l("Enter a valid email address."),
        "field_required": _l("This field is required."),
        "too_long": _l("At most %(max)s characters."),
        "join_mode_unknown": _l("Choose a join mode."),
        "decision_unknown": _l("The decision must be approve, reject, suspend or reinstate."),
        "decision_not_allowed": _l("That decision is not possible while the organization's status is: %(status)s."),
        "reason_required": _l("Give a reason: the applicant will see it."),
        "invitation_invalid": _l("This invitation link is invalid, expired or already used."),
        "role_unknown": _l("Choose a role."),
        "already_staff": _l("You already belong to this organization's staff."),
        "organization_not_active": _l("This organization is not accepting members at the moment."),
        "membership_invitation_only": _l("This organization accepts members by invitation only."),
        "seal_too_large": _l("The seal image may be at most 2 MB and 4000 × 4000 pixels."),
        "seal_not_image": _l("The seal must be a PNG or JPEG image."),
        "already_member": _l("You are already a member of this organization."),
        "already_applied": _l("Your request to join is already waiting for approval."),
        "membership_not_pending": _l("This request has already been decided."),
        "not_a_member": _l("You are not a member of this organization."),
        "volunteer_profile_required": _l("Complete your volunteer profile first."),
        "membership_not_invited": _l("This invitation has already been answered."),
    }
    statuses = {"credit_code_taken": 409, "decision_not_allowed": 409, "already_member": 409,
                "already_applied": 409, "membership_not_pending": 409, "already_staff": 409,
                "membership_not_invited": 409,
                "invitation_invalid": 404, "membership_invitation_only": 403, "organization_not_active": 409}


@dataclass
class OrganizationData:
    name: str
    org_type: str
    credit_code: str | None
    region_code: str
    address: str
    person_in_charge: str
    contact_phone: str
    contact_email: str
    description: str = ""
    join_mode: str = "approval"

    @classmethod
    def from_mapping(cls, data) -> OrganizationData:
        """Build from a form's or a JSON body's values; unknown keys are ignored, missing ones are empty."""
        def text(key, default=""):
            value = data.get(key, default)
            return "" if value is None else str(value).strip()
        return cls(name=text("name"), org_type=text("org_type"), credit_code=text("credit_code") or None,
                   region_code=text("region_code"), address=text("address"),
                   person_in_charge=text("person_in_charge"), contact_phone=text("contact_phone"),
                   contact_email=text("contact_email"), description=text("description"),
                   join_mode=text("join_mode", "approval") or "approval")


def _clean(data: OrganizationData, *, existing: Organization | None = None) -> OrganizationData:
    """Check every rule on an organization's details and return them normalised."""
    # the address and the person in charge are required too, but refused only after the type, the credit code
    # and the region: an applicant sees those problems first
    data = replace(data, **ORGANIZATION.check(data, error=OrganizationError, required=("name",)))
    if data.org_type not in ORG_TYPES:
        raise OrganizationError("org_type_unknown", field="org_type")
    code = normalize_credit_code(data.credit_code) if data.credit_code else None
    if code is None and data.org_type != UNREGISTERED_TYPE:
        raise OrganizationError("credit_code_required", field="credit_code")
    if code is not None:
        problem = credit_code_problem(code)
        if problem:
            raise OrganizationError(problem, field="credit_code")
        taken = db.session.scalar(db.select(Organization.id).where(Organization.credit_code == code))
        if taken is not None and (existing is None or taken != existing.id):
            raise OrganizationError("credit_code_taken", field="credit_code")
    if get_region(data.region_code) is None:
        raise OrganizationError("region_unknown", field="region_code")
    for field in ("address", "person_in_charge"):
        if not getattr(data, field):
            raise OrganizationError("field_required", field=field)
    phone = normalize_phone(data.contact_phone)
    if phone is None:
        raise OrganizationError("phone_invalid", field="contact_phone")
    try:
        email = validate_email(data.contact_email, check_deliverability=False).normalized
    except EmailNotValidError:
        raise OrganizationError("email_invalid", field="contact_email") from None
    if data.join_mode not in JOIN_MODES:
        raise OrganizationError("join_mode_unknown", field="join_mode")
    return OrganizationData(name=data.name, org_type=data.org_type, credit_code=code, region_code=data.region_code,
                            address=data.address, person_in_charge=data.person_in_charge, contact_phone=phone,
                            contact_email=email, description=data.description, join_mode=data.join_mode)


def apply_for_organization(applicant, data: OrganizationData) -> Organization:
    """Register an organization as pending; the applicant becomes its org admin.

    Raises OrganizationError with a field: name_required, org_type_unknown, credit_code_* , region_unknown,
    field_required, phone_invalid, email_invalid, join_mode_unknown, text_* (text.check_plain_text).
    """
    clean = _clean(data)
    org = Organization(code=new_public_code(), status="pending", applicant_id=applicant.id, **clean.__dict__)
    db.session.add(org)
    db.session.flush()
    db.session.add(StaffRole(organization_id=org.id, user_id=applicant.id, role="admin"))
    db.session.add(OrganizationStatusChange(organization_id=org.id, from_status=None, to_status="pending",
                                            actor_id=applicant.id))
    record_event("organization.applied", actor=applicant, organization=org, target=org, name=org.name)
    db.session.flush()
    return org


def update_organization(actor, org: Organization, data: OrganizationData) -> Organization:
    """Change an organization's details. A rejected organization that is edited goes back to pending review."""
    clean = _clean(data, existing=org)
    changed = sorted(k for k, v in clean.__dict__.items() if getattr(org, k) != v)
    for key, value in clean.__dict__.items():
        setattr(org, key, value)
    if org.status == "rejected":
        _change_status(actor, org, "pending", None)
    record_event("organization.updated", actor=actor, organization=org, target=org, fields=changed)
    return org


SEAL_MAX_BYTES = 2 * 1024 * 1024
SEAL_MAX_SIDE = 4000
SEAL_SIZE = 600  #: the stored seal fits in this many pixels square


def set_seal(actor, org: Organization, data: bytes) -> Organization:
    """Store the organization's seal image for its certificates. The upload is checked by content (a PNG or JPEG
    that decodes, at most SEAL_MAX_SIDE pixels a side: no decompression bombs) and re-encoded as a PNG, so nothing but
    pixels reaches the PDF renderer. Requires org.edit. Raises seal_too_large, seal_not_image."""
    require("org.edit", org, actor)
    if len(data) > SEAL_MAX_BYTES:
        raise OrganizationError("seal_too_large", field="seal")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ("PNG", "JPEG"):
                raise OrganizationError("seal_not_image", field="seal")
            if max(probe.width, probe.height) > SEAL_MAX_SIDE:
                raise OrganizationError("seal_too_large", field="seal")
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            image = image.convert("RGBA")
            image.thumbnail((SEAL_SIZE, SEAL_SIZE))
            out = io.BytesIO()
            image.save(out, "PNG", optimize=True)
    except Image.DecompressionBombError:
        raise OrganizationError("seal_too_large", field="seal") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise OrganizationError("seal_not_image", field="seal") from None
    org.seal_png = out.getvalue()
    record_event("organization.seal_set", actor=actor, organization=org, target=org, bytes=len(org.seal_png))
    return org


def remove_seal(actor, org: Organization) -> Organization:
    require("org.edit", org, actor)
    org.seal_png = None
    record_event("organization.seal_removed", actor=actor, organization=org, target=org)
    return org


#: decision → (statuses it applies to, resulting status, reason required)
DECISIONS = {
    "approve": ({"pending"}, "approved", False),
    "reject": ({"pending"}, "rejected", True),
    "suspend": ({"approved"}, "suspended", True),
    "reinstate": ({"suspended"}, "approved", False),
}


def _change_status(actor, org: Organization, to_status: str, reason: str | None) -> None:
    db.session.add(OrganizationStatusChange(organization_id=org.id, from_status=org.status, to_status=to_status,
                                            reason=reason, actor_id=actor.id))
    org.status = to_status
    org.status_reason = reason


def decide_organization(actor, org: Organization, decision: str, reason: str | None = None) -> Organization:
    """Apply a platform admin's decision. Raises decision_unknown, decision_not_allowed, reason_required, and the
    text_* codes of text.check_plain_text for the reason."""
    if decision not in DECISIONS:
        raise OrganizationError("decision_unknown", field="decision")
    allowed_from, to_status, needs_reason = DECISIONS[decision]
    if org.status not in allowed_from:
        raise OrganizationError("decision_not_allowed", status=org.status_label)
    reason = check_plain_text(reason, multiline=True, field="reason", error=OrganizationError) or None
    if needs_reason and not reason:
        raise OrganizationError("reason_required", field="reason")
    _change_status(actor, org, to_status, reason)
    org.decided_at = utcnow()
    record_event(f"organization.{decision}", actor=actor, organization=org, target=org, reason=reason)
    signals.organization_decided.send(org, decision=to_status if decision in ("approve", "reject") else "")
    db.session.flush()
    return org


def _invitation_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_invitation(actor, org: Organization, role: str, note: str = "") -> tuple[Invitation, str]:
    """A single-use invitation link token for ``role``; only its hash is stored. Raises role_unknown, and the
    text_* codes of text.check_plain_text for ``note``."""
    if role not in INVITATION_ROLES:
        raise OrganizationError("role_unknown", field="role")
    note = check_plain_text(note, field="note", error=OrganizationError)
    token = secrets.token_urlsafe(24)
    days = current_app.config["INVITATION_MAX_AGE_DAYS"]
    invitation = Invitation(organization_id=org.id, role=role, token_hash=_invitation_digest(token),
                            note=note[:120], created_by_id=actor.id,
                            expires_at=utcnow() + dt.timedelta(days=days))
    db.session.add(invitation)
    db.session.flush()
    record_event("invitation.created", actor=actor, organization=org, target=invitation, role=role)
    return invitation, token


def find_invitation(token: str) -> Invitation:
    """The open invitation for a token. Raises invitation_invalid when unknown, used, revoked or expired."""
    invitation = db.session.scalar(db.select(Invitation).where(Invitation.token_hash == _invitation_digest(token)))
    if (invitation is None or invitation.accepted_at is not None or invitation.revoked_at is not None
            or invitation.expires_at < utcnow() or invitation.organization.status != "approved"):
        raise OrganizationError("invitation_invalid")
    return invitation


def _claim_invitation(user, invitation: Invitation) -> None:
    """Mark ``invitation`` accepted by ``user`` in one conditional write that only an open invitation passes (not
    accepted, not revoked, not expired): of two people accepting it at the same moment, the database lets one
    through and the other raises invitation_invalid. The first write of the transaction that gives the role."""
    now = utcnow()
    claimed = db.session.execute(
        db.update(Invitation)
        .where(Invitation.token_hash == invitation.token_hash, Invitation.accepted_at.is_(None),
               Invitation.revoked_at.is_(None), Invitation.expires_at > now)
        .values(accepted_at=now, accepted_by_id=user.id)
        .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        raise OrganizationError("invitation_invalid")
    db.session.refresh(invitation)


def accept_invitation(user, token: str) -> Invitation:
    """Give ``user`` the invitation's role, once: the invitation is consumed (``_claim_invitation``) before the role
    is given, in the same transaction, so two people accepting one link at the same moment make one coordinator (or
    member) and one invitation_invalid. Staff roles never downgrade an org admin. Raises invitation_invalid,
    volunteer_profile_required, already_member, already_staff."""
    invitation = find_invitation(token)
    org = invitation.organization
    if invitation.role == "member":
        volunteer = _volunteer_of(user)
        membership = _membership(org, volunteer)
        if membership is not None and membership.status == "active":
            raise OrganizationError("already_member")
        _claim_invitation(user, invitation)
        try:
            with db.session.begin_nested():  # the same person accepting two links at once: one membership
                _activate_membership(user, org, volunteer, via="invitation")
        except IntegrityError:
            raise OrganizationError("already_member") from None
    else:
        existing = db.session.scalar(db.select(StaffRole).where(StaffRole.organization_id == org.id,
                                                                StaffRole.user_id == user.id))
        if existing is not None and (existing.role == invitation.role or existing.role == "admin"):
            raise OrganizationError("already_staff")
        _claim_invitation(user, invitation)
        if existing is not None:
            existing.role = invitation.role
        else:
            try:
                with db.session.begin_nested():  # the same person accepting two links at once: one role
                    db.session.add(StaffRole(organization_id=org.id, user_id=user.id, role=invitation.role))
            except IntegrityError:
                raise OrganizationError("already_staff") from None
    record_event("invitation.accepted", actor=user, organization=org, target=invitation, role=invitation.role)
    db.session.flush()
    return invitation


def _volunteer_of(user):
    volunteer = volunteer_for_user(user)
    if volunteer is None:
        raise OrganizationError("volunteer_profile_required")
    return volunteer


def _membership(org: Organization, volunteer) -> Membership | None:
    return db.session.scalar(db.select(Membership).where(Membership.organization_id == org.id,
                                                         Membership.volunteer_id == volunteer.id))


def _activate_membership(actor, org: Organization, volunteer, *, via: str) -> Membership:
    membership = _membership(org, volunteer)
    if membership is not None and membership.status == "active":
        raise OrganizationError("already_member")
    if membership is None:
        membership = Membership(organization_id=org.id, volunteer_id=volunteer.id, status="active")
        db.session.add(membership)
    membership.status = "active"
    membership.applied_at = membership.applied_at or utcnow()
    membership.decided_at = utcnow()
    membership.decided_by_id = actor.id
    db.session.flush()
    record_event("membership.activated", actor=actor, organization=org, target=membership, via=via,
                 volunteer=volunteer.volunteer_number)
    return membership


def apply_for_membership(user, org: Organization) -> Membership:
    """The signed-in volunteer asks to join. Open organizations accept at once; approval ones queue the request;
    asking to join an organization that invited them accepts its invitation.

    Raises volunteer_profile_required, organization_not_active, membership_invitation_only, already_member,
    already_applied.
    """
    volunteer = _volunteer_of(user)
    if org.status != "approved":
        raise OrganizationError("organization_not_active")
    membership = _membership(org, volunteer)
    if membership is not None and membership.status == "invited":
        return accept_membership_invitation(user, membership)
    if org.join_mode == "invitation":
        raise OrganizationError("membership_invitation_only")
    if org.join_mode == "open":
        return _activate_membership(user, org, volunteer, via="open")
    if membership is not None and membership.status == "active":
        raise OrganizationError("already_member")
    if membership is not None and membership.status == "pending":
        raise OrganizationError("already_applied")
    if membership is None:
        membership = Membership(organization_id=org.id, volunteer_id=volunteer.id, status="pending")
        db.session.add(membership)
    membership.status = "pending"
    membership.applied_at = utcnow()
    membership.decided_at = membership.decided_by_id = None
    db.session.flush()
    record_event("membership.requested", actor=user, organization=org, target=membership,
                 volunteer=volunteer.volunteer_number)
    return membership


def decide_membership(actor, membership: Membership, approve: bool) -> Membership:
    """A coordinator's decision on a pending request. Raises membership_not_pending."""
    if membership.status != "pending":
        raise OrganizationError("membership_not_pending")
    membership.status = "active" if approve else "declined"
    membership.decided_at = utcnow()
    membership.decided_by_id = actor.id
    record_event("membership.approved" if approve else "membership.declined", actor=actor,
                 organization=membership.organization, target=membership,
                 volunteer=membership.volunteer.volunteer_number)
    signals.membership_decided.send(membership)
    db.session.flush()
    return membership


def leave_organization(user, org: Organization) -> Membership:
    """The volunteer leaves (or withdraws a pending request). Raises not_a_member."""
    volunteer = _volunteer_of(user)
    membership = _membership(org, volunteer)
    if membership is None or membership.status not in CURRENT_MEMBERSHIP_STATUSES:
        raise OrganizationError("not_a_member")
    membership.status = "left"
    membership.decided_at = utcnow()
    membership.decided_by_id = user.id
    record_event("membership.left", actor=user, organization=org, target=membership,
                 volunteer=volunteer.volunteer_number)
    return membership


def add_imported_member(actor, org: Organization, volunteer) -> Membership:
    """Make a volunteer whom this import has just registered (a new record, created from the organization's row) an
    active member (no-op when already active). A person who was already registered is never enrolled by an
    organization: see :func:`invite_member`."""
    membership = _membership(org, volunteer)
    if membership is not None and membership.status == "active":
        return membership
    return _activate_membership(actor, org, volunteer, via="import")


#: what naming an already-registered person leads to, by their membership's status (the only thing an organization
#: learns about them from it); any other status (none, declined, left) becomes a new invitation
INVITE_OUTCOMES = {"active": "already_member", "pending": "requested", "invited": "invited", "refused": "refused"}


def invite_member(actor, org: Organization, volunteer, *, via: str = "import") -> tuple[Membership, str]:
    """Invite an already-registered volunteer whom the organization named (an import row whose ID document and name
    match their record) to become a member: they become one only by accepting. Never changes the volunteer record.

    Returns the membership and the outcome (INVITE_OUTCOMES): ``invited`` (a new invitation, and the person is
    notified; an invitation still open is kept as it is, never sent twice), ``already_member`` (unchanged),
    ``requested`` (their own request to join waits for a decision: unchanged), ``refused`` (they declined an earlier
    invitation: not asked again; they may still ask to join themselves).
    """
    membership = _membership(org, volunteer)
    if membership is not None and membership.status in INVITE_OUTCOMES:
        return membership, INVITE_OUTCOMES[membership.status]
    if membership is None:
        membership = Membership(organization_id=org.id, volunteer_id=volunteer.id, status="invited")
        db.session.add(membership)
    membership.status = "invited"  # also after an earlier request was declined or they left
    membership.applied_at = utcnow()
    membership.decided_at = membership.decided_by_id = None
    db.session.flush()
    record_event("membership.invited", actor=actor, organization=org, target=membership, via=via,
                 volunteer=volunteer.volunteer_number)
    signals.membership_invited.send(membership)
    return membership, "invited"


def _open_invitation_of(user, membership: Membership) -> Membership:
    """The membership when it is ``user``'s own open invitation. Raises NotFound when it is someone else's (to
    anyone else it does not exist), membership_not_invited when it is theirs but already answered."""
    if user is None or membership.volunteer.user_id is None or membership.volunteer.user_id != user.id:
        raise NotFound("not_found")
    if membership.status != "invited":
        raise OrganizationError("membership_not_invited")
    return membership


def _answer_invitation(user, membership: Membership, status: str) -> None:
    """Answer an open membership invitation in one conditional write that only a membership still ``invited``
    passes: of two answers at the same moment (accept and decline, or accepting twice), one is recorded and the other
    raises membership_not_invited."""
    answered = db.session.execute(
        db.update(Membership).where(Membership.id == membership.id, Membership.status == "invited")
        .values(status=status, decided_at=utcnow(), decided_by_id=user.id)
        .execution_options(synchronize_session=False))
    if answered.rowcount != 1:
        raise OrganizationError("membership_not_invited")
    db.session.refresh(membership)


def accept_membership_invitation(user, membership: Membership) -> Membership:
    """The invited volunteer accepts: they become an active member. Only they can (NotFound for anyone else).
    Raises NotFound, membership_not_invited, organization_not_active."""
    _open_invitation_of(user, membership)
    if membership.organization.status != "approved":
        raise OrganizationError("organization_not_active")
    _answer_invitation(user, membership, "active")
    record_event("membership.invitation_accepted", actor=user, organization=membership.organization,
                 target=membership, volunteer=membership.volunteer.volunteer_number)
    db.session.flush()
    return membership


def decline_membership_invitation(user, membership: Membership) -> Membership:
    """The invited volunteer declines: the organization sees "declined the invitation", nothing more, and does not
    invite them again by importing them. Only they can (NotFound for anyone else). Raises NotFound,
    membership_not_invited."""
    _open_invitation_of(user, membership)
    _answer_invitation(user, membership, "refused")
    record_event("membership.invitation_declined", actor=user, organization=membership.organization,
                 target=membership, volunteer=membership.volunteer.volunteer_number)
    db.session.flush()
    return membership
