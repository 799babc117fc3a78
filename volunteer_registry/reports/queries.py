"""The figures of the dashboards and the stats API: each one grouped query over an indexed table (the ledger's
projection ``ledger_states``, memberships, activities), never a fold of the ledger and never a row per volunteer in
Python. Minutes only; pages show hours with one decimal."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, distinct, exists, extract, func

from ..activities.models import Activity, Signup
from ..certificates.models import STATUSES as CERTIFICATE_STATUSES
from ..certificates.models import Certificate, CertificateRequest
from ..checkin.models import AttendanceSession
from ..corrections.models import CorrectionRequest
from ..exchange.queries import RegionalFigures, regional_totals
from ..extensions import db
from ..ledger.aggregates import NO_DATE
from ..ledger.models import LedgerEntry, LedgerState, ServiceMonth
from ..models import utcnow
from ..organizations.models import Membership, Organization
from ..regions import all_regions
from ..timeutil import LOCAL_ZONE, local
from ..volunteers.models import Volunteer

#: how far back a volunteer's approved service makes them "active"
ACTIVE_DAYS = 365
MONTHS_SHOWN = 12


def today() -> dt.date:
    return local(utcnow()).date()


def month_keys(end: dt.date, count: int = MONTHS_SHOWN) -> list[str]:
    """The ``count`` months up to ``end``'s, oldest first, as 'YYYY-MM'."""
    year, month = end.year, end.month
    keys = []
    for _ in range(count):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(keys))


def _months_back(end: dt.date, count: int = MONTHS_SHOWN) -> dt.date:
    first = month_keys(end, count)[0]
    return dt.date(int(first[:4]), int(first[5:]), 1)


def _by_month(query, date_column, value, end: dt.date, *, moment=None) -> list[tuple[str, int]]:
    """``value`` summed per month of ``date_column`` over the last MONTHS_SHOWN months (every month present). When
    ``date_column`` is computed from a timestamp column ``moment``, that column is also bounded, so that its index
    serves the range."""
    year, month = extract("year", date_column), extract("month", date_column)
    start = _months_back(end)
    query = query.where(date_column >= start, date_column <= end)
    if moment is not None:
        query = query.where(moment >= dt.datetime.combine(start, dt.time(), LOCAL_ZONE).astimezone(dt.UTC))
    rows = db.session.execute(query.add_columns(year, month, value).group_by(year, month))
    found = {f"{int(y):04d}-{int(m):02d}": int(v or 0) for *_rest, y, m, v in rows}
    return [(key, found.get(key, 0)) for key in month_keys(end)]


APPROVED = LedgerState.status == "approved"


def local_day(column):
    """The Beijing date of a UTC timestamp column, in SQL (SQLite stores UTC text; PostgreSQL a timestamptz)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone(LOCAL_ZONE.key, column))
    return func.date(column, "+8 hours")  # China has kept UTC+8 all year since 1991


# --- an organization -----------------------------------------------------------------------------------------------

@dataclass
class OrganizationStats:
    members: int
    active_volunteers: int
    minutes_this_month: int
    minutes_this_year: int
    minutes_total: int
    by_month: list[tuple[str, int]]
    by_category: list[tuple[str, int]]
    top_activities: list[dict]
    pending_entries: int
    pending_corrections: int
    pending_certificate_requests: int
    attendance: dict
    certificates: dict = field(default_factory=dict)


def organization_stats(org: Organization, *, on: dt.date | None = None) -> OrganizationStats:
    """The organization's figures as of ``on`` (default today, Beijing)."""
    on = on or today()
    mine = and_(LedgerState.organization_id == org.id, APPROVED)

    def minutes_since(start: dt.date) -> int:
        return int(db.session.scalar(db.select(func.coalesce(func.sum(LedgerState.minutes), 0)).where(
            mine, LedgerState.service_date >= start, LedgerState.service_date <= on)) or 0)

    members = db.session.scalar(db.select(func.count()).select_from(Membership).where(
        Membership.organization_id == org.id, Membership.status == "active")) or 0
    active = db.session.scalar(db.select(func.count(distinct(LedgerState.volunteer_id))).where(
        mine, LedgerState.service_date > on - dt.timedelta(days=ACTIVE_DAYS), LedgerState.service_date <= on)) or 0
    total = int(db.session.scalar(db.select(func.coalesce(func.sum(LedgerState.minutes), 0)).where(mine)) or 0)
    by_month = _by_month(db.select().select_from(LedgerState).where(mine), LedgerState.service_date,
                         func.sum(LedgerState.minutes), on)
    category_rows = db.session.execute(
        db.select(Activity.category, func.sum(LedgerState.minutes))
        .select_from(LedgerState).join(LedgerEntry, LedgerEntry.id == LedgerState.entry_id)
        .join(Activity, Activity.id == LedgerEntry.activity_id).where(mine)
        .group_by(Activity.category).order_by(func.sum(LedgerState.minutes).desc()))
    top_rows = db.session.execute(
        db.select(Activity.code, Activity.title, func.sum(LedgerState.minutes),
                  func.count(distinct(LedgerState.volunteer_id)))
        .select_from(LedgerState).join(LedgerEntry, LedgerEntry.id == LedgerState.entry_id)
        .join(Activity, Activity.id == LedgerEntry.activity_id).where(mine)
        .group_by(Activity.id, Activity.code, Activity.title)
        .order_by(func.sum(LedgerState.minutes).desc(), Activity.title).limit(5))
    pending_entries = db.session.scalar(db.select(func.count()).select_from(LedgerState).where(
        LedgerState.organization_id == org.id, LedgerState.status == "pending")) or 0
    pending_corrections = db.session.scalar(db.select(func.count()).select_from(CorrectionRequest).where(
        CorrectionRequest.organization_id == org.id, CorrectionRequest.status == "pending")) or 0
    pending_requests = db.session.scalar(db.select(func.count()).select_from(CertificateRequest).where(
        CertificateRequest.organization_id == org.id, CertificateRequest.status == "pending")) or 0
    certificates = dict(db.session.execute(db.select(Certificate.status, func.count()).where(
        Certificate.organization_id == org.id).group_by(Certificate.status)).all())
    return OrganizationStats(
        members=members, active_volunteers=active,
        minutes_this_month=minutes_since(on.replace(day=1)),
        minutes_this_year=minutes_since(on.replace(month=1, day=1)),
        minutes_total=total, by_month=by_month,
        by_category=[(category, int(minutes or 0)) for category, minutes in category_rows],
        top_activities=[{"code": code, "title": title, "minutes": int(minutes or 0), "volunteers": volunteers}
                        for code, title, minutes, volunteers in top_rows],
        pending_entries=pending_entries, pending_corrections=pending_corrections,
        pending_certificate_requests=pending_requests, attendance=attendance(org, on=on),
        certificates={status: certificates.get(status, 0) for status in CERTIFICATE_STATUSES})


def attendance(org: Organization, *, on: dt.date | None = None) -> dict:
    """Over the organization's activities that ended in the last ACTIVE_DAYS: accepted sign-ups, how many of them
    came (a check-in), how many did not (no-shows), and check-ins after the start plus the grace period (late)."""
    on = on or today()
    now = utcnow()
    ended = and_(Activity.organization_id == org.id, Activity.ends_at <= now,
                 Activity.ends_at > now - dt.timedelta(days=ACTIVE_DAYS))
    came = exists().where(AttendanceSession.activity_id == Signup.activity_id,
                          AttendanceSession.volunteer_id == Signup.volunteer_id)
    signed_up = db.session.scalar(db.select(func.count()).select_from(Signup).join(Activity).where(
        ended, Signup.status == "accepted")) or 0
    attended = db.session.scalar(db.select(func.count()).select_from(Signup).join(Activity).where(
        ended, Signup.status == "accepted", came)) or 0
    first_in = (db.select(AttendanceSession.activity_id, AttendanceSession.volunteer_id,
                          func.min(AttendanceSession.checked_in_at).label("first_in"))
                .join(Activity, Activity.id == AttendanceSession.activity_id).where(ended)
                .group_by(AttendanceSession.activity_id, AttendanceSession.volunteer_id).subquery())
    late = 0
    for starts_at, grace, first in db.session.execute(
            db.select(Activity.starts_at, Activity.grace_minutes, first_in.c.first_in)
            .join(first_in, first_in.c.activity_id == Activity.id)):
        late += int(first > starts_at + dt.timedelta(minutes=grace))
    return {"signed_up": signed_up, "attended": attended, "no_shows": signed_up - attended, "late": late}


# --- the province --------------------------------------------------------------------------------------------------

@dataclass
class PlatformStats:
    organizations: int
    organizations_pending: int
    volunteers: int
    minutes: int
    by_prefecture: list[dict]
    by_county: list[dict]
    growth: list[dict]
    below: RegionalFigures | None = None  #: what the registries below sent up (the regional view)


def _region_counts(rows) -> dict[str, int]:
    return {code: int(value or 0) for code, value in rows}


def platform_stats(*, on: dt.date | None = None) -> PlatformStats:
    """The province's headline figures, by prefecture and county (from the organizations' and volunteers' region
    codes; hours count where the recording organization is), and their growth by month. Hours come from the
    maintained monthly totals (ledger.aggregates); counts from indexed columns."""
    on = on or today()
    approved_org = Organization.status == "approved"
    orgs_by_county = _region_counts(db.session.execute(
        db.select(Organization.region_code, func.count()).where(approved_org).group_by(Organization.region_code)))
    pending_by_county = _region_counts(db.session.execute(
        db.select(Organization.region_code, func.count()).where(Organization.status == "pending")
        .group_by(Organization.region_code)))
    volunteers_by_county = _region_counts(db.session.execute(
        db.select(Volunteer.region_code, func.count()).group_by(Volunteer.region_code)))
    # minutes from the monthly totals (a few rows per organization), not from every entry
    minutes_by_county = _region_counts(db.session.execute(
        db.select(Organization.region_code, func.sum(ServiceMonth.minutes))
        .join(Organization, Organization.id == ServiceMonth.organization_id)
        .group_by(Organization.region_code)))
    regions = all_regions()
    counties, prefectures = [], {}
    for code in sorted(set(orgs_by_county) | set(pending_by_county) | set(volunteers_by_county)
                       | set(minutes_by_county)):
        row = {"code": code, "organizations": orgs_by_county.get(code, 0),
               "organizations_pending": pending_by_county.get(code, 0),
               "volunteers": volunteers_by_county.get(code, 0), "minutes": minutes_by_county.get(code, 0)}
        counties.append(row)
        region = regions.get(code)
        prefecture = code if region is None or region.level != "county" else region.parent
        total = prefectures.setdefault(prefecture, {"code": prefecture, "organizations": 0,
                                                    "organizations_pending": 0, "volunteers": 0, "minutes": 0})
        for key in ("organizations", "organizations_pending", "volunteers", "minutes"):
            total[key] += row[key]
    new_orgs = dict(_by_month(db.select().select_from(Organization).where(approved_org),
                              local_day(Organization.decided_at), func.count(), on,
                              moment=Organization.decided_at))
    new_volunteers = dict(_by_month(db.select().select_from(Volunteer), local_day(Volunteer.created_at),
                                    func.count(), on, moment=Volunteer.created_at))
    minutes = dict(_by_month(db.select().select_from(ServiceMonth).where(ServiceMonth.month != NO_DATE),
                             ServiceMonth.month, func.sum(ServiceMonth.minutes), on))
    growth = [{"month": key, "organizations": new_orgs[key], "volunteers": new_volunteers[key],
               "minutes": minutes[key]} for key in month_keys(on)]
    return PlatformStats(
        organizations=sum(orgs_by_county.values()), organizations_pending=sum(pending_by_county.values()),
        volunteers=sum(volunteers_by_county.values()), minutes=sum(minutes_by_county.values()),
        by_prefecture=sorted(prefectures.values(), key=lambda r: r["code"]), by_county=counties, growth=growth,
        below=regional_totals())


# --- a volunteer ---------------------------------------------------------------------------------------------------

@dataclass
class VolunteerStats:
    by_month: list[tuple[str, int]]
    by_organization: list[tuple[str, int]]
    by_category: list[tuple[str, int]]


def volunteer_stats(volunteer: Volunteer, *, on: dt.date | None = None) -> VolunteerStats:
    """A volunteer's approved minutes by month (the last MONTHS_SHOWN), by organization and by activity category,
    largest first: grouped queries over their rows of the projection (indexed by volunteer)."""
    on = on or today()
    theirs = and_(LedgerState.volunteer_id == volunteer.id, APPROVED)
    by_month = _by_month(db.select().select_from(LedgerState).where(theirs), LedgerState.service_date,
                         func.sum(LedgerState.minutes), on)
    total = func.sum(LedgerState.minutes)
    by_organization = db.session.execute(
        db.select(Organization.name, total).join(Organization, Organization.id == LedgerState.organization_id)
        .where(theirs).group_by(Organization.id, Organization.name).order_by(total.desc(), Organization.name))
    by_category = db.session.execute(
        db.select(Activity.category, total).select_from(LedgerState)
        .join(LedgerEntry, LedgerEntry.id == LedgerState.entry_id)
        .join(Activity, Activity.id == LedgerEntry.activity_id).where(theirs)
        .group_by(Activity.category).order_by(total.desc(), Activity.category))
    return VolunteerStats(by_month=by_month,
                          by_organization=[(name, int(minutes or 0)) for name, minutes in by_organization],
                          by_category=[(category, int(minutes or 0)) for category, minutes in by_category])
