"""The downloads of an organization's lists (members, activities, service entries) and of the province's figures, as
CSV or XLSX (exports.py writes them).

Each list is one SELECT of plain columns, its totals joined in from grouped subqueries (never a query per row), read
with ``yield_per`` inside the response's generator: the rows go out as the database returns them, so a download of
any length runs in flat memory. Headers and labels are in the reader's language; ID numbers only ever masked."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator

from flask import abort, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from flask_login import login_required
from sqlalchemy import and_, case, distinct, func

from ..access import load_organization
from ..accounts.permissions import require
from ..activities.models import ACTIVITY_STATUSES, CATEGORIES, Activity, Signup
from ..errors import DomainError, wants_json
from ..extensions import db
from ..hours import as_hours
from ..ledger.models import SOURCES, STATES, LedgerEntry, LedgerState
from ..ledger.queries import STATUS_FILTERS, activity_of
from ..organizations.models import MEMBERSHIP_STATUSES, UNCONSENTED_STATUSES, Membership
from ..regions import all_regions
from ..timeutil import local
from ..volunteers.identity import GENDERS, ID_TYPES
from ..volunteers.models import Volunteer
from . import bp
from .exports import FORMATS, download
from .queries import platform_stats, today

#: rows fetched from the database at a time while a list streams
YIELD_PER = 1000
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: the organization's lists that can be downloaded
LISTS = ("members", "activities", "entries")
#: the member statuses the members page filters by (an empty value: every status)
MEMBER_STATUSES = tuple(MEMBERSHIP_STATUSES)


class ExportError(DomainError):
    """A download's filters cannot be read. Answered with 400 and the message, before anything is streamed."""

    status = 400
    messages = {
        "date_invalid": _l("%(name)s: %(value)s is not a date written as YYYY-MM-DD."),
        "period_reversed": _l("The period ends before it starts."),
        "activity_unknown": _l("This organization has no activity with the code %(activity)s."),
        "status_invalid": _l("Unknown status: %(value)s."),
    }


@bp.errorhandler(ExportError)
def export_error(error: ExportError):
    """A refused download: JSON for API clients, otherwise the error page with the message; always status 400."""
    if wants_json():
        return jsonify(error.to_json()), error.http_status
    return render_template("errors/error.html", status=error.http_status, message=error.message), error.http_status


def _local_date(value: dt.datetime | None) -> dt.date | None:
    """The Beijing date of a UTC moment (None stays None)."""
    return local(value).date() if value is not None else None


def _local_time(value: dt.datetime | None) -> dt.datetime | None:
    """Beijing wall time without a zone: what the pages show, and what a spreadsheet can hold."""
    return local(value).replace(tzinfo=None) if value is not None else None


def _labels(choices: dict) -> dict[str, str]:
    """The labels of ``choices`` in the reader's language, translated once (not once a row)."""
    return {key: str(label) for key, label in choices.items()}


def _stream(statement, shape: Callable) -> Iterator[tuple]:
    """The rows of ``statement`` shaped by ``shape``, read ``YIELD_PER`` at a time when iterated (inside the
    response, in the request's context), the result closed however the iteration ends."""
    result = db.session.execute(statement.execution_options(yield_per=YIELD_PER))
    try:
        for row in result:
            yield shape(row)
    finally:
        result.close()


def _filename(*parts: str) -> str:
    """``<parts>-<today>``, ASCII letters, digits and dashes only (a Content-Disposition header stays plain)."""
    name = "-".join([*parts, today().isoformat()])
    return re.sub(r"[^A-Za-z0-9-]", "-", name)


# --- an organization's lists ---------------------------------------------------------------------------------------

def _region_names() -> dict[str, str]:
    """Region code → its name in the reader's language, looked up once a download."""
    return {code: region.name for code, region in all_regions().items()}


def members_export(org, status: str):
    """Header and lazy rows: every membership of ``org`` (or those with ``status``), ordered as the members page
    orders them, with the volunteer's approved hours in this organization from one grouped subquery."""
    approved = (db.select(LedgerState.volunteer_id, func.sum(LedgerState.minutes).label("minutes"))
                .where(LedgerState.organization_id == org.id, LedgerState.status == "approved")
                .group_by(LedgerState.volunteer_id).subquery())
    statement = (db.select(Volunteer.volunteer_number, Volunteer.name, Volunteer.gender, Volunteer.region_code,
                           Volunteer.id_type, Volunteer.id_number_masked, Membership.status, Membership.applied_at,
                           Membership.decided_at, func.coalesce(approved.c.minutes, 0))
                 .join(Volunteer, Volunteer.id == Membership.volunteer_id)
                 .outerjoin(approved, approved.c.volunteer_id == Membership.volunteer_id)
                 .where(Membership.organization_id == org.id)
                 .order_by(Membership.status.desc(), Volunteer.name, Membership.id))
    if status:
        statement = statement.where(Membership.status == status)
    header = [_("Volunteer number"), pgettext("person", "Name"), _("Gender"), _("Region code"), _("Region"),
              _("ID document"), _("ID number"), _("Status"), _("Applied"), _("Decided"), _("Approved hours")]
    genders, id_types, statuses, regions = (_labels(GENDERS), _labels(ID_TYPES), _labels(MEMBERSHIP_STATUSES),
                                            _region_names())

    def shape(row) -> tuple:
        number, name, gender, region, id_type, masked, status, applied_at, decided_at, minutes = row
        if status in UNCONSENTED_STATUSES:  # invited, not a member: the name the organization gave, nothing more
            return ("", name, "", "", "", "", "", statuses.get(status, status), _local_date(applied_at),
                    _local_date(decided_at), "")
        return (number, name, genders.get(gender, gender), region, regions.get(region, ""),
                id_types.get(id_type, id_type), masked, statuses.get(status, status), _local_date(applied_at),
                _local_date(decided_at), as_hours(minutes))

    return header, _stream(statement, shape)


def activities_export(org):
    """Header and lazy rows: every activity of ``org``, the earliest first, with its accepted sign-ups, the
    volunteers with approved service in it and its approved hours (two grouped subqueries, outer-joined)."""
    signups = (db.select(Signup.activity_id, func.count().label("accepted"))
               .join(Activity, Activity.id == Signup.activity_id)
               .where(Activity.organization_id == org.id, Signup.status == "accepted")
               .group_by(Signup.activity_id).subquery())
    served = (db.select(LedgerEntry.activity_id, func.count(distinct(LedgerState.volunteer_id)).label("volunteers"),
                        func.sum(LedgerState.minutes).label("minutes"))
              .join(LedgerEntry, LedgerEntry.id == LedgerState.entry_id)
              .where(LedgerState.organization_id == org.id, LedgerState.status == "approved")
              .group_by(LedgerEntry.activity_id).subquery())
    statement = (db.select(Activity.code, Activity.title, Activity.category, Activity.status, Activity.starts_at,
                           Activity.ends_at, Activity.address, func.coalesce(signups.c.accepted, 0),
                           func.coalesce(served.c.volunteers, 0), func.coalesce(served.c.minutes, 0))
                 .outerjoin(signups, signups.c.activity_id == Activity.id)
                 .outerjoin(served, served.c.activity_id == Activity.id)
                 .where(Activity.organization_id == org.id)
                 .order_by(Activity.starts_at, Activity.id))
    header = [_("Code"), _("Title"), _("Category"), _("Status"), _("Starts"), _("Ends"), _("Place"), _("Sign-ups"),
              _("Volunteers"), _("Approved hours")]
    categories, statuses = _labels(CATEGORIES), _labels(ACTIVITY_STATUSES)

    def shape(row) -> tuple:
        code, title, category, status, starts_at, ends_at, place, accepted, volunteers, minutes = row
        return (code, title, categories.get(category, category), statuses.get(status, status),
                _local_time(starts_at), _local_time(ends_at), place, int(accepted), int(volunteers), as_hours(minutes))

    return header, _stream(statement, shape)


def _date_filter(args, field: str) -> dt.date | None:
    """The date in query parameter ``field`` (YYYY-MM-DD), None when empty; raises ExportError date_invalid."""
    value = (args.get(field) or "").strip()
    if not value:
        return None
    try:
        if not ISO_DATE.fullmatch(value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ExportError("date_invalid", field=field, name=field, value=value[:40]) from None


def entry_filters(org, args) -> dict:
    """The entries download's filters from the query string (``date_from``, ``date_to``: local service dates as
    YYYY-MM-DD; ``activity``: an activity code of ``org``; ``status``: a state or ``all``, the default;
    ``flagged``: only flagged entries, as on the approval page). An empty value means no filter; a value that
    cannot be read raises ExportError (date_invalid, period_reversed, activity_unknown, status_invalid)."""
    date_from = _date_filter(args, "date_from")
    date_to = _date_filter(args, "date_to")
    if date_from and date_to and date_to < date_from:
        raise ExportError("period_reversed", field="date_to")
    status = (args.get("status") or "all").strip()
    if status not in STATUS_FILTERS:
        raise ExportError("status_invalid", field="status", value=status[:40])
    code = (args.get("activity") or "").strip()
    activity = activity_of(org, code) if code else None
    if code and activity is None:
        raise ExportError("activity_unknown", field="activity", activity=code[:20])
    flagged = (args.get("flagged") or "").strip().lower() not in ("", "false", "0", "n", "no")
    return {"date_from": date_from, "date_to": date_to, "status": status,
            "activity_id": activity.id if activity is not None else None, "flagged_only": flagged}


def entries_export(org, *, date_from: dt.date | None = None, date_to: dt.date | None = None, status: str = "all",
                   activity_id: int | None = None, flagged_only: bool = False):
    """Header and lazy rows: the organization's service entries narrowed as ``organization_entries`` narrows them
    and in its order (waiting first, flagged first among them; then by start), with the minutes that count now and
    the times of the latest correction where it moved them — one streamed SELECT of plain columns."""
    latest = (db.select(LedgerEntry.refers_to_id.label("entry_id"), func.max(LedgerEntry.id).label("correction_id"))
              .where(LedgerEntry.kind == "correction", LedgerEntry.organization_id == org.id)
              .group_by(LedgerEntry.refers_to_id).subquery())
    correction = db.aliased(LedgerEntry, name="correction")
    moved = correction.ended_at.is_not(None)
    statement = (db.select(LedgerEntry.id, LedgerState.service_date,
                           case((moved, correction.started_at), else_=LedgerEntry.started_at),
                           case((moved, correction.ended_at), else_=LedgerEntry.ended_at),
                           Volunteer.volunteer_number, Volunteer.name, Activity.code, LedgerEntry.activity_title,
                           LedgerState.minutes, LedgerState.status, LedgerState.flagged, LedgerEntry.source)
                 .select_from(LedgerState)
                 .join(LedgerEntry, LedgerEntry.id == LedgerState.entry_id)
                 .join(Volunteer, Volunteer.id == LedgerEntry.volunteer_id)
                 .outerjoin(Activity, Activity.id == LedgerEntry.activity_id)
                 .outerjoin(latest, latest.c.entry_id == LedgerEntry.id)
                 .outerjoin(correction, correction.id == latest.c.correction_id)
                 .where(LedgerState.organization_id == org.id))
    conditions = []
    if status in STATES:
        conditions.append(LedgerState.status == status)
    if activity_id is not None:
        conditions.append(LedgerEntry.activity_id == activity_id)
    if flagged_only:
        conditions.append(LedgerState.flagged.is_(True))
    if date_from is not None:
        conditions.append(LedgerState.service_date >= date_from)
    if date_to is not None:
        conditions.append(LedgerState.service_date <= date_to)
    if conditions:
        statement = statement.where(and_(*conditions))
    waiting_first = case((LedgerState.status != "pending", 2), (LedgerState.flagged.is_(True), 0), else_=1)
    statement = statement.order_by(waiting_first, LedgerEntry.started_at, LedgerEntry.id)
    header = [_("Entry"), _("Date"), pgettext("time", "Start"), pgettext("time", "End"), _("Volunteer number"),
              pgettext("person", "Name"),
              _("Activity code"), _("Activity"), _("Minutes"), _("Hours"), _("Status"), _("Flagged"), _("Source")]
    statuses, sources = _labels(STATES), _labels(SOURCES)
    yes, no = _("Yes"), _("No")

    def shape(row) -> tuple:
        (entry_id, service_date, started_at, ended_at, number, name, code, title, minutes, status, flagged,
         source) = row
        return (entry_id, service_date, _local_time(started_at), _local_time(ended_at), number, name, code, title,
                int(minutes), as_hours(minutes), statuses.get(status, status), yes if flagged else no,
                sources.get(source, source or ""))

    return header, _stream(statement, shape)


@bp.route("/organizations/<code>/exports/<kind>.<fmt>")
@login_required
def organization_export(code: str, kind: str, fmt: str):
    """One of the organization's lists as a streamed CSV or XLSX file, for its staff and platform admins. A list or
    format that does not exist is not found, whoever asks; filters are checked before the first byte goes out (a
    bad one: 400)."""
    if kind not in LISTS or fmt not in FORMATS:
        abort(404)
    org = load_organization(code, "reports.view")  # after the checks above: an unknown list is 404 for anyone
    if kind == "members":
        status = (request.args.get("status") or "").strip()
        if status and status not in MEMBER_STATUSES:
            raise ExportError("status_invalid", field="status", value=status[:40])
        header, rows = members_export(org, status)
    elif kind == "activities":
        header, rows = activities_export(org)
    else:
        header, rows = entries_export(org, **entry_filters(org, request.args))
    return download(fmt, _filename(org.code, kind), header, rows, title=kind)


# --- the province --------------------------------------------------------------------------------------------------

def regions_rows() -> tuple[list[str], list[tuple]]:
    """Header and rows: each prefecture's totals followed by its counties' figures (platform_stats), ordered by
    region code, with the region's name and hours beside the minutes."""
    stats = platform_stats()
    names = _region_names()
    levels = {"prefecture": _("Prefecture"), "county": _("County")}
    ordered = sorted([*(("prefecture", row) for row in stats.by_prefecture),
                      *(("county", row) for row in stats.by_county)],
                     key=lambda item: (item[1]["code"], item[0] != "prefecture"))
    header = [_("Level"), _("Code"), _("Region"), _("Organizations"), _("Pending organizations"), _("Volunteers"),
              _("Minutes"), _("Hours")]
    regions = all_regions()

    def level_of(listed: str, code: str) -> str:
        # people and organizations may be registered at a prefecture itself: its row among the counties says so
        region = regions.get(code)
        return levels.get(region.level, levels[listed]) if region is not None else levels[listed]

    rows = [(level_of(level, row["code"]), row["code"], names.get(row["code"], ""), row["organizations"],
             row["organizations_pending"], row["volunteers"], row["minutes"], as_hours(row["minutes"]))
            for level, row in ordered]
    return header, rows


def growth_rows() -> tuple[list[str], list[tuple]]:
    """Header and rows: the province's growth by month (platform_stats), the oldest month first."""
    header = [_("Month"), _("New organizations"), _("New volunteers"), _("Minutes"), _("Hours")]
    rows = [(row["month"], row["organizations"], row["volunteers"], row["minutes"], as_hours(row["minutes"]))
            for row in platform_stats().growth]
    return header, rows


#: the province's downloads: name → (header, rows)
PLATFORM_LISTS: dict[str, Callable[[], tuple[list[str], list[tuple]]]] = {"regions": regions_rows,
                                                                          "growth": growth_rows}


@bp.route("/platform/exports/<kind>.<fmt>")
@login_required
def platform_export(kind: str, fmt: str):
    """The province's figures by prefecture and county (``regions``) or its growth by month (``growth``) as CSV or
    XLSX, for platform admins. Any other list or format is not found."""
    if kind not in PLATFORM_LISTS or fmt not in FORMATS:
        abort(404)
    require("stats.view")
    header, rows = PLATFORM_LISTS[kind]()
    return download(fmt, _filename(kind), header, rows, title=kind)
