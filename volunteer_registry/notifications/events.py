"""What each change tells the people it concerns: one receiver per signal (volunteer_registry.signals), connected by
listeners.connect and run in the sender's transaction (``notify`` only adds rows; the sender's caller commits them
with its change)."""
from __future__ import annotations

from collections import defaultdict

from ..accounts.models import User
from ..extensions import db
from ..hours import hours_text
from ..links import path_for
from ..timeutil import local
from ..volunteers.models import Volunteer
from .services import notify


def _user_of_volunteer(volunteer_id: int) -> User | None:
    user_id = db.session.scalar(db.select(Volunteer.user_id).where(Volunteer.id == volunteer_id))
    return db.session.get(User, user_id) if user_id is not None else None


def organization_decided(org, *, decision: str) -> None:
    """The platform's decision on an application, to its applicant (approved or rejected)."""
    if decision not in ("approved", "rejected"):
        return
    notify(db.session.get(User, org.applicant_id), "organization.decided", organization=org.name,
           decision=decision, reason=org.status_reason or "", link=path_for("organizations.mine"))


def membership_decided(membership) -> None:
    """The organization's answer to a request to join, to the volunteer."""
    notify(_user_of_volunteer(membership.volunteer_id), "membership.decided",
           organization=membership.organization.name, decision="approved" if membership.status == "active"
           else "declined", link=path_for("organizations.show", code=membership.organization.code))


def membership_invited(membership) -> None:
    """An organization invites a person it named (an import row): they join only if they accept, on the
    organization's page the link opens."""
    notify(_user_of_volunteer(membership.volunteer_id), "membership.invited",
           organization=membership.organization.name,
           link=path_for("organizations.show", code=membership.organization.code))


def signup_decided(signup, *, decision: str | None = None) -> None:
    """A sign-up's new place: accepted, waitlisted, declined, pending or moved_up (accepted from the list)."""
    activity = signup.activity
    notify(_user_of_volunteer(signup.volunteer_id), "signup.decided", activity=activity.title,
           organization=activity.organization.name, date=local(activity.starts_at).date().isoformat(),
           decision=decision or signup.status, link=path_for("activities.show", code=activity.code))


def entries_decided(org, *, entries, states, decision: str, reason: str) -> None:
    """Decisions on service entries of ``org`` (``entries``, with their ``states`` by entry id): one notification per
    volunteer, however many of their entries were decided together (a coordinator approving two hundred records
    sends each person one message)."""
    by_volunteer = defaultdict(list)
    for entry in entries:
        by_volunteer[entry.volunteer_id].append(entry)
    for volunteer_id, theirs in by_volunteer.items():
        first = theirs[0]
        notify(_user_of_volunteer(volunteer_id), "entry.decided", count=len(theirs),
               minutes=sum(states[entry.id].minutes for entry in theirs), activity=first.activity_title or "",
               organization=first.organization.name,
               date=first.service_date.isoformat() if first.service_date else "", decision=decision,
               reason=reason, link=path_for("ledger.hours"))


def correction_decided(request) -> None:
    """The organization's answer to a volunteer's report of an error or an omission, to the volunteer."""
    notify(_user_of_volunteer(request.volunteer_id), "correction.decided",
           organization=request.organization.name, decision=request.status, response=request.response or "",
           link=path_for("corrections.my_corrections"))


def certificate_issued(certificate) -> None:
    """A new certificate, to its volunteer."""
    notify(_user_of_volunteer(certificate.volunteer_id), "certificate.issued",
           organization=certificate.organization.name, number=certificate.number,
           hours=hours_text(certificate.minutes), link=path_for("certificates.show", code=certificate.code))


def certificate_revoked(certificate) -> None:
    """A revoked certificate and why, to its volunteer."""
    notify(_user_of_volunteer(certificate.volunteer_id), "certificate.revoked",
           organization=certificate.organization.name, number=certificate.number,
           reason=certificate.revocation_reason or "", link=path_for("certificates.show", code=certificate.code))
