"""Notifications that come from the clock rather than from a change: the reminder the day before each shift
and the coordinators' daily digest of decisions waiting. The worker runs them every round; each is written once
(``once`` keys), so running them again, from one worker or several, adds nothing."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from flask import current_app

from ..accounts.models import User
from ..activities.models import Activity, Shift, Signup
from ..checkin.models import ManualEntry
from ..corrections.models import CorrectionRequest
from ..extensions import db
from ..ledger.models import LedgerEntry, LedgerState
from ..links import path_for
from ..models import utcnow
from ..organizations.models import Membership, Organization, StaffRole
from ..timeutil import LOCAL_ZONE, local
from ..volunteers.models import Volunteer
from .services import notify

#: local time of day from which the day's reminders and digests go out
REMINDERS_FROM = dt.time(9, 0)
DIGEST_FROM = dt.time(8, 0)


def send_reminders(now: dt.datetime | None = None) -> int:
    """From 09:00 (Beijing time), remind every volunteer with an accepted place in a shift that starts tomorrow
    of that shift, naming its day and time: a volunteer in two shifts (two days of a roster, a morning and an
    afternoon) is reminded of each. Once per volunteer per shift, however often it runs. How many reminders it
    wrote."""
    now = now or utcnow()
    today = local(now)
    if today.time() < REMINDERS_FROM:
        return 0
    tomorrow = today.date() + dt.timedelta(days=1)
    start = dt.datetime.combine(tomorrow, dt.time(0), LOCAL_ZONE).astimezone(dt.UTC)
    rows = db.session.execute(
        db.select(Shift, Activity, Organization.name, User)
        .join(Activity, Activity.id == Shift.activity_id)
        .join(Organization, Organization.id == Activity.organization_id)
        .join(Signup, Signup.shift_id == Shift.id)
        .join(Volunteer, Volunteer.id == Signup.volunteer_id)
        .join(User, User.id == Volunteer.user_id)
        .where(Activity.status == "published", Shift.status == "open", Shift.starts_at >= start,
               Shift.starts_at < start + dt.timedelta(days=1), Signup.status == "accepted")
        .order_by(Shift.starts_at, Shift.id, User.id)).all()
    written = 0
    for shift, activity, organization, user in rows:
        begins = local(shift.starts_at)
        if notify(user, "activity.reminder", once=f"reminder:shift:{shift.id}", activity=activity.title,
                  organization=organization, date=begins.date().isoformat(), time=begins.strftime("%H:%M"),
                  place=activity.address, link=path_for("activities.show", code=activity.code)):
            written += 1
    db.session.commit()
    return written


def _waiting(now: dt.datetime) -> dict[int, dict[str, int]]:
    """Per organization, how many decisions of each kind have waited longer than NOTIFY_PENDING_AFTER_HOURS."""
    before = now - dt.timedelta(hours=current_app.config["NOTIFY_PENDING_AFTER_HOURS"])
    queries = {
        "entries": db.select(LedgerState.organization_id, db.func.count())
        .join(LedgerEntry, LedgerEntry.id == LedgerState.entry_id)
        .where(LedgerState.status == "pending", LedgerEntry.created_at < before)
        .group_by(LedgerState.organization_id),
        "manual": db.select(ManualEntry.organization_id, db.func.count())
        .where(ManualEntry.status == "pending", ManualEntry.entered_at < before).group_by(ManualEntry.organization_id),
        "memberships": db.select(Membership.organization_id, db.func.count())
        .where(Membership.status == "pending", Membership.applied_at < before).group_by(Membership.organization_id),
        "signups": db.select(Activity.organization_id, db.func.count()).select_from(Signup)
        .join(Activity, Activity.id == Signup.activity_id)
        .where(Signup.status == "pending", Signup.created_at < before, Activity.starts_at > now)
        .group_by(Activity.organization_id),
        "corrections": db.select(CorrectionRequest.organization_id, db.func.count())
        .where(CorrectionRequest.status == "pending", CorrectionRequest.created_at < before)
        .group_by(CorrectionRequest.organization_id),
    }
    waiting: dict[int, dict[str, int]] = defaultdict(dict)
    for key, query in queries.items():
        for org_id, count in db.session.execute(query):
            waiting[org_id][key] = count
    return waiting


def send_digests(now: dt.datetime | None = None) -> int | None:
    """From 08:00 (Beijing time), once a day, tell each organization admin and coordinator what has waited longer
    than NOTIFY_PENDING_AFTER_HOURS for a decision at their organizations (nothing when nothing has). How many
    digests it wrote; None before 08:00, when it has not looked."""
    now = now or utcnow()
    today = local(now)
    if today.time() < DIGEST_FROM:
        return None
    waiting = _waiting(now)
    if not waiting:
        return 0
    organizations = {org.id: org for org in db.session.scalars(
        db.select(Organization).where(Organization.id.in_(waiting), Organization.status == "approved"))}
    by_user: dict[int, list[dict]] = defaultdict(list)
    for role in db.session.scalars(db.select(StaffRole).where(StaffRole.organization_id.in_(organizations))
                                   .order_by(StaffRole.organization_id)):
        org = organizations[role.organization_id]
        if all(entry["code"] != org.code for entry in by_user[role.user_id]):
            by_user[role.user_id].append({"name": org.name, "code": org.code, **waiting[org.id]})
    written = 0
    for user_id, listed in by_user.items():
        link = path_for("organizations.manage", code=listed[0]["code"])
        if notify(db.session.get(User, user_id), "approvals.digest", once=f"digest:{today.date().isoformat()}",
                  organizations=listed, hours=current_app.config["NOTIFY_PENDING_AFTER_HOURS"], link=link):
            written += 1
    db.session.commit()
    return written
