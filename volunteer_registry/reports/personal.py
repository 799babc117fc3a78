"""A person's own downloads: their whole volunteer service record (CSV, XLSX), and everything the application holds
about them (JSON: the right of access)."""
from __future__ import annotations

import json
from collections.abc import Iterator

from flask import Response, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import pgettext
from flask_login import current_user, login_required
from sqlalchemy.orm import contains_eager

from ..extensions import db
from ..hours import as_hours
from ..ledger.models import LedgerEntry, LedgerState
from ..ledger.queries import entry_rows
from ..models import utcnow
from ..organizations.models import Organization
from ..records.queries import records_of_volunteer
from ..timeutil import local
from ..volunteers.queries import volunteer_for_user
from ..volunteers.services import VolunteerError
from . import bp
from .exports import FORMATS, download
from .personal_data import personal_data

#: service entries read at a time while the record is streamed
BATCH = 500


def record_header() -> list[str]:
    """The columns of the record download, in the request's language."""
    return [_("Kind"), _("Date"), pgettext("time", "Start"), pgettext("time", "End"), _("Activity, course or award"),
            _("Organization"), _("Minutes that count"), _("Hours"), _("Status"), _("Minutes first recorded"),
            _("Corrected"), _("Reason for the decision"), _("Given by"), _("Level"), _("Rating"), _("Period from"),
            _("Period to"), _("Notes")]


def _service_order():
    """The record's order of service entries: by the day served, then the start, then the entry (the ledger's
    order of recording)."""
    return LedgerState.service_date, LedgerEntry.started_at, LedgerEntry.id


def service_rows(volunteer_id: int) -> Iterator[list]:
    """One row per service entry of the volunteer (every organization, every status), the earliest served first:
    the minutes that count now (after corrections, as the "My hours" page shows them), the minutes first recorded,
    and start and end in local (Beijing) time. Entries are read ``BATCH`` at a time, so memory stays flat."""
    ids = list(db.session.scalars(
        db.select(LedgerState.entry_id).join(LedgerEntry, LedgerEntry.id == LedgerState.entry_id)
        .where(LedgerState.volunteer_id == volunteer_id).order_by(*_service_order())))
    for start in range(0, len(ids), BATCH):
        states = db.session.scalars(
            db.select(LedgerState)
            .join(LedgerEntry, LedgerEntry.id == LedgerState.entry_id)
            .join(Organization, Organization.id == LedgerEntry.organization_id)
            .options(contains_eager(LedgerState.entry).contains_eager(LedgerEntry.organization))
            .where(LedgerState.entry_id.in_(ids[start:start + BATCH])).order_by(*_service_order()))
        for row in entry_rows(states):
            yield ["service", row.service_date,
                   local(row.started_at) if row.started_at else None, local(row.ended_at) if row.ended_at else None,
                   row.activity_title, row.organization_name, row.minutes, as_hours(row.minutes), row.status_label,
                   row.recorded_minutes, row.corrected, row.decision_reason,
                   None, None, None, None, None, None]


def record_rows(volunteer) -> Iterator[list]:
    """The volunteer's training, awards and evaluations that their organizations still stand by (withdrawn ones
    are not part of the record), each list the most recent first, in the columns of ``record_header``."""
    records = records_of_volunteer(volunteer)
    for kind, rows in (("training", records.training), ("award", records.awards),
                       ("evaluation", records.evaluations)):
        for record in rows:
            yield [kind, record.date, None, None, record.title, record.organization.name, record.minutes,
                   as_hours(record.minutes), None, None, None, None, record.provider, record.level_label,
                   record.rating_label, record.period_start, record.period_end, record.text]


def _own_volunteer():
    """The signed-in person's volunteer profile; None (with a message waiting) when they have none yet."""
    volunteer = volunteer_for_user(current_user)
    if volunteer is None:
        flash(VolunteerError("profile_missing").message, "info")
    return volunteer


@bp.route("/me/record.<fmt>")
@login_required
def my_record_export(fmt: str):
    """The signed-in volunteer's whole record as a CSV or XLSX download (any other format: 404): every service
    entry, then training, awards and evaluations. Without a volunteer profile: to the profile page."""
    if fmt not in FORMATS:
        abort(404)
    volunteer = _own_volunteer()
    if volunteer is None:
        return redirect(url_for("volunteers.profile"))

    def rows():  # read while the response streams, inside the request's context and session
        yield from service_rows(volunteer.id)
        yield from record_rows(volunteer)

    filename = f"volunteer-record-{volunteer.volunteer_number}-{local(utcnow()).date().isoformat()}"
    return download(fmt, filename, record_header(), rows(), title=_("My record"))


@bp.route("/me/data.json", methods=["POST"])
@login_required
def my_data():
    """Everything the application holds about the signed-in person (``personal_data``), as a JSON attachment that
    no cache keeps. Reading the full ID number for it is written to the audit log, and committed — so it is a POST
    (with the form's CSRF token), which another site cannot make a browser send."""
    data = personal_data(current_user._get_current_object())
    db.session.commit()
    body = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = \
        f'attachment; filename="my-data-{local(utcnow()).date().isoformat()}.json"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
