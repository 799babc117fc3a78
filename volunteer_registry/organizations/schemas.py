"""An organization's and a membership's shapes, declared once: limits and enumerations. The models' columns and
constraints, the forms, the services' checks and the API's JSON in and out (and so the OpenAPI document) read them
from here."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..schema import Choice, DateTime, Email, ListOf, Raw, Schema, Text

ORG_TYPES = {
    "social_group": _l("Social group"),
    "social_service_institution": _l("Social service institution"),
    "foundation": _l("Foundation"),
    "community_committee": _l("Residents' or villagers' committee"),
    "event_host": _l("Public-welfare event host"),
    "public_institution": _l("Public service institution"),
    "community_team": _l("Unregistered community team"),
}
#: the only type that may apply without a unified social credit code
UNREGISTERED_TYPE = "community_team"

ORG_STATUSES = {
    "pending": _l("Pending approval"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
    "suspended": _l("Suspended"),
}
JOIN_MODES = {
    "open": _l("Open: anyone may join"),
    "approval": _l("Approval: a coordinator approves each request"),
    "invitation": _l("Invitation only"),
}
STAFF_ROLES = {"admin": _l("Organization admin"), "coordinator": _l("Coordinator")}
#: an invitation makes its holder staff, or (for "member") a member of an invitation-only organization
INVITATION_ROLES = {**STAFF_ROLES, "member": _l("Member")}
MEMBERSHIP_STATUSES = {
    "pending": _l("Waiting for approval"),
    "active": _l("Member"),
    "declined": _l("Declined"),
    "left": _l("Left"),
    "invited": _l("Invited"),
    "refused": _l("Declined the invitation"),
}
#: an organization named an already-registered person (an import row) who has not agreed to join: it sees the name
#: it gave and the status, nothing of their record, and they count as members nowhere
UNCONSENTED_STATUSES = ("invited", "refused")
#: a membership the volunteer holds or has asked for: the one they may leave
CURRENT_MEMBERSHIP_STATUSES = ("active", "pending")

#: what a platform admin may decide on an organization, and on a request to join
ORGANIZATION_DECISIONS = {"approve": _l("Approve"), "reject": _l("Reject"), "suspend": _l("Suspend"),
                          "reinstate": _l("Reinstate")}
MEMBERSHIP_DECISIONS = {"approve": _l("Approve"), "decline": _l("Decline")}

NAME_MAX = 120
ADDRESS_MAX = 200
PERSON_IN_CHARGE_MAX = 60
CONTACT_PHONE_MAX = 20
#: RFC 5321's longest deliverable address
CONTACT_EMAIL_MAX = 254
#: the description is a Text column: the limit is the service's, not the database's
DESCRIPTION_MAX = 4000
#: a credit code as typed, with spaces or hyphens; stored normalised in 18 characters
CREDIT_CODE_TYPED_MAX = 24
#: the decision form's limit on a reason (the API and the service take a longer one, kept in a Text column)
DECISION_REASON_MAX = 2000
INVITATION_NOTE_MAX = 120

#: an organization's details, as applied for and edited (the form, OrganizationData, the API's body)
ORGANIZATION = Schema("OrganizationApplication", {
    "name": Text(NAME_MAX, required=True, required_code="name_required"),
    "org_type": Choice(ORG_TYPES, required=True),
    "credit_code": Text(plain=False, nullable=True,
                        description="GB 32100, 18 characters; optional only for community_team"),
    "region_code": Text(plain=False, required=True, description="GB/T 2260 division code (Qinghai)"),
    "address": Text(ADDRESS_MAX, required=True),
    "person_in_charge": Text(PERSON_IN_CHARGE_MAX, required=True),
    "contact_phone": Text(plain=False, required=True),
    "contact_email": Email(CONTACT_EMAIL_MAX, required=True),
    "description": Text(DESCRIPTION_MAX, multiline=True),
    "join_mode": Choice(JOIN_MODES),
})

#: POST /organizations/{code}/decision
ORGANIZATION_DECISION = Schema("Decision", {
    "decision": Choice(ORGANIZATION_DECISIONS, required=True),
    "reason": Text(multiline=True, description="Required to reject or suspend."),
})

#: POST /organizations/{code}/members/{volunteer_number}/decision
MEMBERSHIP_DECISION = Schema("MembershipDecision", {"decision": Choice(MEMBERSHIP_DECISIONS, required=True)})

#: an organization as the API answers it; the last two only to its staff and platform admins
ORGANIZATION_OUT = Schema("Organization", {
    "code": Text(plain=False, required=True), "name": ORGANIZATION["name"],
    "type": Text(plain=False), "status": Choice(ORG_STATUSES, required=True),
    **{key: spec for key, spec in ORGANIZATION.fields.items() if key not in ("name", "org_type")},
    "region_name": Text(plain=False, nullable=True), "url": Text(plain=False),
})
PRIVATE_FIELDS = {"status_reason": Text(plain=False, nullable=True),
                  "status_history": ListOf(Raw({"type": "object"}))}
ORGANIZATION_PRIVATE_OUT = ORGANIZATION_OUT.extend("Organization", PRIVATE_FIELDS)

#: a membership as its organization sees it
MEMBERSHIP_OUT = Schema("Membership", {
    "organization": Text(plain=False),
    "volunteer_number": Text(plain=False, nullable=True,
                             description="null while the person is invited (or declined it)"),
    "name": Text(plain=False),
    "id_number_masked": Text(plain=False, nullable=True,
                             description="null while the person is invited (or declined it)"),
    "status": Choice(MEMBERSHIP_STATUSES),
    "applied_at": DateTime(),
})
