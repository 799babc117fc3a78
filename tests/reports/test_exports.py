"""The downloads of an organization's lists and of the province's figures: each file, parsed back (CSV with the csv
module, XLSX with openpyxl), equals rows read independently from the tables; filters narrow exactly; formulas are
defused; 100,000 entries stream in flat memory; only those who may see a list can download it."""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import gc
import io
import tempfile
import time
import tracemalloc
from collections import Counter

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from volunteer_registry.activities.models import ACTIVITY_STATUSES, CATEGORIES, Activity, Signup
from volunteer_registry.activities.services import sign_up
from volunteer_registry.extensions import db
from volunteer_registry.ledger.models import SOURCES, STATES, LedgerEntry, LedgerState
from volunteer_registry.ledger.services import annul_entry, correct_entry, decide_entries, record_missing_service
from volunteer_registry.models import utcnow
from volunteer_registry.organizations.models import MEMBERSHIP_STATUSES, Membership, Organization
from volunteer_registry.organizations.services import apply_for_membership, decide_membership, leave_organization
from volunteer_registry.regions import all_regions
from volunteer_registry.reports.exports import XLSX_MIMETYPE, csv_chunks, xlsx_chunks
from volunteer_registry.reports.queries import month_keys, today
from volunteer_registry.timeutil import local
from volunteer_registry.volunteers.identity import GENDERS, ID_TYPES
from volunteer_registry.volunteers.models import Volunteer

from ..certificates.conftest import approved_service, certified  # noqa: F401  (the fixture)
from ..conftest import login, valid_resident_id

FORMATS = ("csv", "xlsx")
BOM = codecs.BOM_UTF8


# --- reading a download back ---------------------------------------------------------------------------------------

def table(response, fmt: str) -> list[list]:
    """The download's cells, header first: strings for CSV; for XLSX the typed values ('' for an empty cell)."""
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.headers["Content-Disposition"].endswith(f'.{fmt}"')
    data = response.get_data()
    if fmt == "csv":
        assert response.mimetype == "text/csv" and data.startswith(BOM)
        return list(csv.reader(io.StringIO(data[len(BOM):].decode("utf-8"), newline="")))
    assert response.mimetype == XLSX_MIMETYPE
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    return [["" if cell.value is None else cell.value for cell in row] for row in sheet.iter_rows()]


def cells(values, fmt: str) -> list:
    """``values`` (read from the tables) as the format writes them back."""
    out = []
    for value in values:
        if fmt == "csv":
            if value is None:
                value = ""
            elif isinstance(value, dt.datetime):
                value = value.isoformat(timespec="seconds")
            elif isinstance(value, dt.date):
                value = value.isoformat()
            else:
                value = str(value)
        elif value is None:
            value = ""
        elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            value = dt.datetime.combine(value, dt.time())  # a date cell reads back as midnight
        out.append(value)
    return out


def download(client, url: str, fmt: str) -> tuple[list, list[list]]:
    """(header, data rows) of a successful download."""
    rows = table(client.get(url), fmt)
    return rows[0], rows[1:]


def hours(minutes: int) -> float:
    """Hours with one decimal, as DESIGN.md shows them."""
    return round(minutes / 60, 1)


def wall(moment: dt.datetime | None) -> dt.datetime | None:
    """Beijing wall time of a stored UTC moment, without a zone."""
    return local(moment).replace(tzinfo=None) if moment is not None else None


# --- the scene -----------------------------------------------------------------------------------------------------

@pytest.fixture
def scene(make, certified):  # noqa: F811
    """The certified organization with members in every status, an accepted sign-up for a coming activity, a
    corrected, an annulled, a rejected and a pending entry, and an entry of another organization."""
    org, admin, zhuoma, coordinator, (river, library) = certified
    now = utcnow().replace(microsecond=0)
    coming = make.activity(org, title="植树", category="community", starts_at=now + dt.timedelta(days=2),
                           ends_at=now + dt.timedelta(days=2, hours=3))
    tashi = make.volunteer(name="扎西", gender="male", region_code="632701")
    lamu = make.volunteer(name="拉姆", region_code="632221")
    dawa = make.volunteer(name="达瓦", gender="male", id_type="passport", id_number="E12345678")
    for volunteer in (zhuoma, tashi, lamu, dawa):
        apply_for_membership(make.account_of(volunteer), org)
    memberships = {m.volunteer_id: m for m in db.session.scalars(sa.select(Membership))}
    decide_membership(admin, memberships[zhuoma.id], True)
    decide_membership(admin, memberships[tashi.id], True)
    leave_organization(make.account_of(tashi), org)
    decide_membership(admin, memberships[lamu.id], False)
    sign_up(make.account_of(zhuoma), coming)
    sign_up(make.account_of(lamu), coming)
    corrected = approved_service(make, river, tashi, 120, days_ago=4, recorder=coordinator, approver=admin)
    correct_entry(admin, corrected, 100, "left early")
    decide_entries(coordinator, org, [corrected.id], "approve")  # a correction counts once another approves it
    annulled = approved_service(make, library, lamu, 60, days_ago=6, recorder=coordinator, approver=admin)
    annul_entry(admin, annulled, "recorded twice")
    start = (now - dt.timedelta(days=1)).replace(hour=1, minute=0, second=0)
    rejected = record_missing_service(coordinator, library, dawa.id, start, start + dt.timedelta(minutes=30), "sheet")
    decide_entries(admin, org, [rejected.id], "reject", "not there")
    start = (now - dt.timedelta(days=7)).replace(hour=3, minute=0, second=0)
    pending = record_missing_service(coordinator, library, dawa.id, start, start + dt.timedelta(minutes=45), "sheet")
    other = make.org()
    approved_service(make, make.activity(other, starts_at=now - dt.timedelta(days=20),
                                         ends_at=now + dt.timedelta(days=1)), zhuoma, 500, days_ago=2)
    db.session.commit()
    return {"org": org, "admin": admin, "coordinator": coordinator, "river": river, "library": library,
            "coming": coming, "volunteers": (zhuoma, tashi, lamu, dawa), "pending": pending, "other": other}


# --- what the tables say -------------------------------------------------------------------------------------------

def expected_members(org, status: str = "") -> list[list]:
    """The members download as the tables say it should be, computed in Python from whole rows."""
    approved = Counter()
    for state in db.session.scalars(sa.select(LedgerState).where(LedgerState.organization_id == org.id)):
        if state.status == "approved":
            approved[state.volunteer_id] += state.minutes
    memberships = [m for m in db.session.scalars(sa.select(Membership).where(Membership.organization_id == org.id))
                   if not status or m.status == status]
    volunteers = {v.id: v for v in db.session.scalars(sa.select(Volunteer))}
    memberships.sort(key=lambda m: (volunteers[m.volunteer_id].name, m.id))
    memberships.sort(key=lambda m: m.status, reverse=True)  # as the members page: status descending, then name
    regions = all_regions()
    rows = []
    for m in memberships:
        v = volunteers[m.volunteer_id]
        rows.append([v.volunteer_number, v.name, str(GENDERS[v.gender]), v.region_code,
                     regions[v.region_code].name_en, str(ID_TYPES[v.id_type]), v.id_number_masked,
                     str(MEMBERSHIP_STATUSES[m.status]), local(m.applied_at).date(),
                     local(m.decided_at).date() if m.decided_at else None, hours(approved[v.id])])
    return rows


def expected_activities(org) -> list[list]:
    """The activities download as the tables say it should be, computed in Python from whole rows."""
    activities = sorted(db.session.scalars(sa.select(Activity).where(Activity.organization_id == org.id)),
                        key=lambda a: (a.starts_at, a.id))
    accepted = Counter(s.activity_id for s in db.session.scalars(sa.select(Signup)) if s.status == "accepted")
    minutes, served = Counter(), {}
    for state, entry in db.session.execute(sa.select(LedgerState, LedgerEntry).join(
            LedgerEntry, LedgerEntry.id == LedgerState.entry_id).where(LedgerState.organization_id == org.id)):
        if state.status == "approved":
            minutes[entry.activity_id] += state.minutes
            served.setdefault(entry.activity_id, set()).add(state.volunteer_id)
    return [[a.code, a.title, str(CATEGORIES[a.category]), str(ACTIVITY_STATUSES[a.status]), wall(a.starts_at),
             wall(a.ends_at), a.address, accepted[a.id], len(served.get(a.id, ())), hours(minutes[a.id])]
            for a in activities]


def expected_entries(org, *, status: str = "all", activity=None, date_from=None, date_to=None) -> list[list]:
    """The entries download as the tables say it should be (narrowed, in the approval page's order), computed in
    Python from whole rows: the minutes that count now, the times of the latest correction that moved them."""
    states = db.session.scalars(sa.select(LedgerState).where(LedgerState.organization_id == org.id)).all()
    entries = {e.id: e for e in db.session.scalars(sa.select(LedgerEntry))}
    latest = {}
    for e in sorted(entries.values(), key=lambda e: e.id):
        if e.kind == "correction":
            latest[e.refers_to_id] = e
    volunteers = {v.id: v for v in db.session.scalars(sa.select(Volunteer))}
    activities = {a.id: a for a in db.session.scalars(sa.select(Activity))}
    chosen = [s for s in states
              if (status == "all" or s.status == status)
              and (activity is None or entries[s.entry_id].activity_id == activity.id)
              and (date_from is None or s.service_date >= date_from)
              and (date_to is None or s.service_date <= date_to)]
    chosen.sort(key=lambda s: (2 if s.status != "pending" else 0 if s.flagged else 1,
                               entries[s.entry_id].started_at, s.entry_id))
    rows = []
    for s in chosen:
        entry = entries[s.entry_id]
        times = latest.get(entry.id) if latest.get(entry.id) is not None and latest[entry.id].ended_at else entry
        volunteer = volunteers[entry.volunteer_id]
        rows.append([entry.id, s.service_date, wall(times.started_at), wall(times.ended_at),
                     volunteer.volunteer_number, volunteer.name, activities[entry.activity_id].code,
                     entry.activity_title, s.minutes, hours(s.minutes), str(STATES[s.status]),
                     "Yes" if s.flagged else "No", str(SOURCES[entry.source])])
    return rows


def entries_url(org, fmt: str = "csv", **filters) -> str:
    """The entries download's address with these query parameters."""
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return f"/organizations/{org.code}/exports/entries.{fmt}" + (f"?{query}" if query else "")


# --- the organization's lists --------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_members_download_equals_the_memberships(client, scene, fmt):
    org = scene["org"]
    login(client, scene["coordinator"])
    header, rows = download(client, f"/organizations/{org.code}/exports/members.{fmt}", fmt)
    assert header == ["Volunteer number", "Name", "Gender", "Region code", "Region", "ID document", "ID number",
                      "Status", "Applied", "Decided", "Approved hours"]
    expected = expected_members(org)
    assert len(rows) == len(expected) == 4
    assert rows == [cells(row, fmt) for row in expected]
    by_name = {row[1]: row for row in expected}
    assert by_name["卓玛"][-1] == 5.5 and by_name["扎西"][-1] == hours(100) and by_name["拉姆"][-1] == 0
    assert {row[7] for row in expected} == {"Member", "Left", "Declined", "Waiting for approval"}
    _header, active = download(client, f"/organizations/{org.code}/exports/members.{fmt}?status=active", fmt)
    assert active == [cells(row, fmt) for row in expected_members(org, "active")] and len(active) == 1


def test_id_numbers_leave_only_masked(client, make, scene):
    org = scene["org"]
    number = valid_resident_id(region="632701", birth=dt.date(1988, 1, 2), gender="female")
    volunteer = make.volunteer(name="央金", birth_date=dt.date(1988, 1, 2), id_number=number)
    apply_for_membership(make.account_of(volunteer), org)
    db.session.commit()
    login(client, scene["admin"])
    for fmt in FORMATS:
        response = client.get(f"/organizations/{org.code}/exports/members.{fmt}")
        assert response.status_code == 200
        rows = table(response, fmt)
        row = next(row for row in rows if row[1] == "央金")
        assert row[6] == volunteer.id_number_masked and row[6] != number
        assert row[6][:6] == number[:6] and row[6][-4:] == number[-4:]
        assert number not in "\n".join(",".join(str(cell) for cell in r) for r in rows)
    assert number.encode() not in client.get(f"/organizations/{org.code}/exports/members.csv").get_data()


@pytest.mark.parametrize("fmt", FORMATS)
def test_activities_download_equals_the_activities(client, scene, fmt):
    org = scene["org"]
    login(client, scene["admin"])
    header, rows = download(client, f"/organizations/{org.code}/exports/activities.{fmt}", fmt)
    assert header == ["Code", "Title", "Category", "Status", "Starts", "Ends", "Place", "Sign-ups", "Volunteers",
                      "Approved hours"]
    expected = expected_activities(org)
    assert rows == [cells(row, fmt) for row in expected]
    by_title = {row[1]: row for row in expected}
    # river: 卓玛 3 h + 扎西 corrected to 100 min; library: 卓玛 2.5 h (拉姆's annulled, 达瓦's pending don't count)
    assert by_title["湟水河清洁"][-3:] == [0, 2, hours(280)]
    assert by_title["社区图书角"][-3:] == [0, 1, 2.5]
    assert by_title["植树"][-3:] == [2, 0, 0]


@pytest.mark.parametrize("fmt", FORMATS)
def test_entries_download_equals_the_ledger_states(client, scene, fmt):
    org = scene["org"]
    login(client, scene["coordinator"])
    header, rows = download(client, entries_url(org, fmt), fmt)
    assert header == ["Entry", "Date", "Start", "End", "Volunteer number", "Name", "Activity code", "Activity",
                      "Minutes", "Hours", "Status", "Flagged", "Source"]
    expected = expected_entries(org)
    assert rows == [cells(row, fmt) for row in expected]
    assert Counter(row[10] for row in expected) == {"Approved": 3, "Annulled": 1, "Rejected": 1,
                                                     "Waiting for approval": 2}
    assert len(rows) == db.session.scalar(sa.select(sa.func.count()).select_from(LedgerState).where(
        LedgerState.organization_id == org.id)) == 7
    assert str(scene["other"].code) not in str(rows)


def test_entries_filters_narrow_the_rows_exactly(client, scene):
    org, river, library = scene["org"], scene["river"], scene["library"]
    login(client, scene["coordinator"])
    days = sorted({s.service_date for s in db.session.scalars(sa.select(LedgerState).where(
        LedgerState.organization_id == org.id))})
    cases = [
        ({"status": "pending"}, {"status": "pending"}),
        ({"status": "approved"}, {"status": "approved"}),
        ({"status": "annulled"}, {"status": "annulled"}),
        ({"status": "all"}, {}),
        ({"activity": river.code}, {"activity": river}),
        ({"activity": library.code.lower(), "status": "approved"}, {"activity": library, "status": "approved"}),
        ({"date_from": days[1].isoformat()}, {"date_from": days[1]}),
        ({"date_to": days[2].isoformat()}, {"date_to": days[2]}),
        ({"date_from": days[1].isoformat(), "date_to": days[-2].isoformat(), "activity": library.code},
         {"date_from": days[1], "date_to": days[-2], "activity": library}),
        ({"date_from": "", "date_to": "", "activity": "", "status": "all"}, {}),  # the page's form, left empty
    ]
    sizes = set()
    for query, narrowing in cases:
        _header, rows = download(client, entries_url(org, **query), "csv")
        expected = expected_entries(org, **narrowing)
        assert rows == [cells(row, "csv") for row in expected], query
        sizes.add(len(rows))
    assert len(sizes) >= 5  # the filters really narrow (the scene has rows on both sides of each)
    flagged = table(client.get(entries_url(org, flagged="y")), "csv")[1:]
    assert flagged and all(row[11] == "Yes" for row in flagged)


@pytest.mark.parametrize(("query", "code"), [
    ({"date_from": "29.11.2026"}, "date_invalid"),
    ({"date_to": "2026-02-30"}, "date_invalid"),
    ({"date_from": "20261101"}, "date_invalid"),
    ({"date_from": "2026-11-02", "date_to": "2026-11-01"}, "period_reversed"),
    ({"status": "approved'--"}, "status_invalid"),
    ({"activity": "NOSUCHCODE"}, "activity_unknown"),
])
def test_a_bad_entries_filter_is_refused_before_anything_streams(client, scene, query, code):
    org = scene["org"]
    login(client, scene["coordinator"])
    for fmt in FORMATS:
        response = client.get(entries_url(org, fmt, **query))
        assert response.status_code == 400
        assert "Content-Disposition" not in response.headers and response.mimetype == "text/html"
        body = response.get_data(as_text=True)
        assert "The request could not be understood" in body  # the error page, with the message below
    expected = {"date_invalid": "YYYY-MM-DD", "period_reversed": "ends before it starts",
                "status_invalid": "Unknown status", "activity_unknown": "no activity with the code"}[code]
    assert expected in body
    api = client.get(entries_url(org, **query), headers={"Content-Type": "application/json"})
    assert api.status_code == 400 and api.get_json()["error"]["code"] == code


def test_a_bad_members_status_is_refused(client, scene):
    login(client, scene["coordinator"])
    response = client.get(f"/organizations/{scene['org'].code}/exports/members.csv?status=everyone")
    assert response.status_code == 400 and "Content-Disposition" not in response.headers


def test_unknown_lists_and_formats_do_not_exist(client, scene):
    org = scene["org"]
    login(client, scene["admin"])
    for path in ("volunteers.csv", "members.xls", "members.pdf", "entries", "members.csv.csv", "members..csv"):
        assert client.get(f"/organizations/{org.code}/exports/{path}").status_code == 404, path
    assert client.get("/organizations/NOSUCHORG/exports/members.csv").status_code == 404
    assert client.get("/platform/exports/regions.json").status_code == 404


def test_headers_and_labels_follow_the_readers_language(client, scene):
    login(client, scene["coordinator"])
    org = scene["org"]
    response = client.get(f"/organizations/{org.code}/exports/members.csv", headers={"Accept-Language": "zh-CN"})
    header, *rows = table(response, "csv")
    assert header[:3] == ["志愿者编号", "姓名", "性别"]
    assert {row[2] for row in rows} == {"女", "男"}
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="{org.code}-members-{today().isoformat()}.csv"'


# --- formulas ------------------------------------------------------------------------------------------------------

def test_formulas_come_back_as_text(client, make, scene):
    org, coordinator, admin = scene["org"], scene["coordinator"], scene["admin"]
    now = utcnow().replace(microsecond=0)
    hostile = make.volunteer(name='=HYPERLINK("http://x")')
    apply_for_membership(make.account_of(hostile), org)
    titles = ["+SUM(A1)", "@cmd", "-1+1", "\tTAB", "=1+2"]
    for day, title in enumerate(titles, start=2):  # a day each: one person's service never overlaps itself
        activity = make.activity(org, title=title.strip(), starts_at=now - dt.timedelta(days=20),
                                 ends_at=now + dt.timedelta(days=1))
        activity.title = title  # "\tTAB": the services trim it now (text.check_plain_text); an older row holds it
        approved_service(make, activity, hostile, 60, days_ago=day, recorder=coordinator, approver=admin)
    db.session.commit()
    login(client, coordinator)
    dangerous = ['=HYPERLINK("http://x")', *titles]
    for kind in ("members", "activities", "entries"):
        for fmt in FORMATS:
            response = client.get(f"/organizations/{org.code}/exports/{kind}.{fmt}")
            assert response.status_code == 200
            found = []
            if fmt == "csv":
                for row in table(response, fmt)[1:]:
                    found += [cell for cell in row if cell.lstrip("'") in dangerous]
            else:
                sheet = load_workbook(io.BytesIO(response.get_data())).worksheets[0]
                for row in sheet.iter_rows(min_row=2):
                    for cell in row:
                        assert cell.data_type != "f", (kind, cell.value)
                        if isinstance(cell.value, str) and cell.value.lstrip("'") in dangerous:
                            assert cell.data_type == "s"
                            found.append(cell.value)
            assert found, (kind, fmt)
            assert all(value.startswith("'") for value in found), (kind, fmt, found)
            if kind != "members":
                assert {value[1:] for value in found} >= set(titles), (kind, fmt)
            else:
                assert found == ['\'=HYPERLINK("http://x")']


def test_cells_a_spreadsheet_cannot_hold_are_cleaned_not_fatal(app):
    """Control characters XML cannot hold would stop openpyxl halfway through a download; a lazily translated
    label is text like any other, and defused like any other."""
    rows = [("Bell\x07 ring", STATES["approved"], "\x01=1+1", 7, None, dt.date(2026, 11, 29))]
    header = ["a", "b", "c", "d", "e", "f"]
    sheet = load_workbook(io.BytesIO(b"".join(xlsx_chunks(header, iter(rows))))).worksheets[0]
    assert [cell.value for cell in sheet[2]] == ["Bell ring", "Approved", "'=1+1", 7, None,
                                                 dt.datetime(2026, 11, 29)]
    assert sheet["C2"].data_type == "s"
    text = b"".join(csv_chunks(header, iter(rows))).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text, newline="")))[1] == ["Bell\x07 ring", "Approved", "\x01=1+1", "7", "",
                                                                  "2026-11-29"]


# --- the province --------------------------------------------------------------------------------------------------

def expected_regions() -> list[list]:
    """The regions download as the tables say it should be: counts per region code, rolled up to prefectures."""
    regions = all_regions()
    organizations = db.session.scalars(sa.select(Organization)).all()
    by_code: dict[str, Counter] = {}
    for o in organizations:
        if o.status in ("approved", "pending"):
            by_code.setdefault(o.region_code, Counter())["organizations" if o.status == "approved" else "pending"] += 1
    for v in db.session.scalars(sa.select(Volunteer)):
        by_code.setdefault(v.region_code, Counter())["volunteers"] += 1
    region_of = {o.id: o.region_code for o in organizations}
    for s in db.session.scalars(sa.select(LedgerState)):
        if s.status == "approved":
            by_code.setdefault(region_of[s.organization_id], Counter())["minutes"] += s.minutes
    prefectures: dict[str, Counter] = {}
    for code, counts in by_code.items():
        region = regions.get(code)
        parent = region.parent if region is not None and region.level == "county" else code
        prefectures.setdefault(parent, Counter()).update(counts)
    rows = [("Prefecture", code, counts) for code, counts in prefectures.items()]
    rows += [("County", code, counts) for code, counts in by_code.items()]
    rows.sort(key=lambda row: (row[1], row[0] != "Prefecture"))
    return [[level, code, regions[code].name_en if code in regions else "", c["organizations"], c["pending"],
             c["volunteers"], c["minutes"], hours(c["minutes"])] for level, code, c in rows]


@pytest.mark.parametrize("fmt", FORMATS)
def test_region_figures_download_equals_counts_from_the_rows(client, make, scene, fmt):
    make.org(status="pending", region_code="632701")
    make.org(region_code="632221")
    platform = make.admin()
    db.session.commit()
    login(client, platform)
    header, rows = download(client, f"/platform/exports/regions.{fmt}", fmt)
    assert header == ["Level", "Code", "Region", "Organizations", "Pending organizations", "Volunteers", "Minutes",
                      "Hours"]
    expected = expected_regions()
    assert rows == [cells(row, fmt) for row in expected]
    assert sum(row[6] for row in expected if row[0] == "County") == db.session.scalar(
        sa.select(sa.func.sum(LedgerState.minutes)).where(LedgerState.status == "approved")) == 330 + 100 + 500
    assert ["Prefecture", "632700"] == [str(cell) for cell in rows[[r[1] for r in rows].index("632700")][:2]]


@pytest.mark.parametrize("fmt", FORMATS)
def test_growth_download_equals_counts_from_the_rows(client, make, scene, fmt):
    platform = make.admin()
    db.session.commit()
    login(client, platform)
    header, rows = download(client, f"/platform/exports/growth.{fmt}", fmt)
    assert header == ["Month", "New organizations", "New volunteers", "Minutes", "Hours"]
    months = month_keys(today())
    organizations = Counter(o.decided_at.strftime("%Y-%m") for o in db.session.scalars(sa.select(Organization))
                            if o.status == "approved")
    volunteers = Counter(v.created_at.strftime("%Y-%m") for v in db.session.scalars(sa.select(Volunteer)))
    minutes = Counter()
    for s in db.session.scalars(sa.select(LedgerState)):
        if s.status == "approved":
            minutes[s.service_date.strftime("%Y-%m")] += s.minutes
    expected = [[key, organizations[key], volunteers[key], minutes[key], hours(minutes[key])] for key in months]
    assert rows == [cells(row, fmt) for row in expected]
    assert sum(row[3] for row in expected) == 930
    assert sum(row[2] for row in expected) == db.session.scalar(sa.select(sa.func.count()).select_from(Volunteer))


# --- who may download ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ("members", "activities", "entries"))
def test_only_the_organizations_staff_and_platform_admins_download_its_lists(client, make, scene, kind):
    org = scene["org"]
    url = f"/organizations/{org.code}/exports/{kind}.csv"
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    strangers = {"coordinator of another organization": make.coordinator(scene["other"]),
                 "admin of another organization": make.org_admin_of(scene["other"]),
                 "volunteer and member": make.account_of(scene["volunteers"][0]),
                 "account without a role": make.user()}
    allowed = {"coordinator": scene["coordinator"], "org admin": scene["admin"], "platform admin": make.admin()}
    db.session.commit()
    for who, user in strangers.items():
        login(client, user)
        response = client.get(url)
        assert response.status_code == 403, who
        assert "Content-Disposition" not in response.headers
    for who, user in allowed.items():
        login(client, user)
        assert client.get(url).status_code == 200, who


def test_a_pending_organizations_lists_do_not_exist_for_strangers(client, make):
    pending = make.org(status="pending")
    stranger = make.coordinator(make.org())
    db.session.commit()
    login(client, stranger)
    assert client.get(f"/organizations/{pending.code}/exports/members.csv").status_code == 404


@pytest.mark.parametrize("path", ("regions.csv", "regions.xlsx", "growth.csv", "growth.xlsx"))
def test_only_platform_admins_download_the_provinces_figures(client, make, scene, path):
    url = f"/platform/exports/{path}"
    assert client.get(url).status_code == 302
    for user in (scene["admin"], scene["coordinator"], make.account_of(scene["volunteers"][0])):
        login(client, user)
        assert client.get(url).status_code == 403
    platform = make.admin()
    db.session.commit()
    login(client, platform)
    assert client.get(url).status_code == 200


# --- 100,000 rows --------------------------------------------------------------------------------------------------

BULK_BATCH = 10_000


def add_entries(org, activity, volunteers, count: int) -> None:
    """``count`` more approved service entries of ``org`` (and their states), written by bulk INSERTs (the
    append-only triggers allow them), a minute apart from 2026-01-05 09:00 Beijing time on."""
    first = (db.session.scalar(sa.select(sa.func.max(LedgerEntry.id))) or 0) + 1
    done = db.session.scalar(sa.select(sa.func.count()).select_from(LedgerState).where(
        LedgerState.organization_id == org.id))
    start = dt.datetime(2026, 1, 5, 1, 0, tzinfo=dt.UTC)
    now = utcnow()
    for offset in range(0, count, BULK_BATCH):
        entries, states = [], []
        for i in range(offset, min(count, offset + BULK_BATCH)):
            started = start + dt.timedelta(minutes=done + i)
            volunteer = volunteers[i % len(volunteers)]
            day = local(started).date()
            entries.append({"id": first + i, "kind": "service", "volunteer_id": volunteer.id,
                            "organization_id": org.id, "activity_id": activity.id, "minutes": 45,
                            "started_at": started, "ended_at": started + dt.timedelta(minutes=45),
                            "service_date": day, "activity_title": activity.title, "place": activity.address,
                            "source": "kiosk", "flags": [], "created_at": now})
            states.append({"entry_id": first + i, "volunteer_id": volunteer.id, "organization_id": org.id,
                           "status": "approved", "minutes": 45, "flagged": False, "service_date": day})
        db.session.execute(sa.insert(LedgerEntry), entries)
        db.session.execute(sa.insert(LedgerState), states)
    db.session.commit()


def _lines(chunks):
    """The text lines of a UTF-8 CSV arriving in chunks (the byte-order mark dropped), one at a time."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    pending = ""
    for chunk in chunks:
        pending += decoder.decode(chunk)
        *complete, pending = pending.split("\r\n")
        for line in complete:
            yield line + "\r\n"
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending


class Statements:
    """Counts the SQL statements ``engine`` runs while this is active."""

    def __init__(self, engine):
        self.engine = engine
        self.count = 0

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, *args):
        self.count += 1


def stream_csv(client, url: str) -> tuple[int, int, int, int]:
    """(data rows, their last entry id, peak bytes traced while the download streamed, SQL statements run while
    the body streamed), the rows parsed with the csv module one by one and not kept. The body is read after the
    client returned, as a WSGI server reads it: in the request's own context and database session."""
    gc.collect()
    tracemalloc.start()
    try:
        response = client.get(url, buffered=False)
        assert response.status_code == 200 and response.mimetype == "text/csv"
        rows, last = -1, None
        with Statements(db.engine) as statements:
            for row in csv.reader(_lines(response.iter_encoded())):
                rows += 1
                last = row[0]
            response.close()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return rows, int(last), peak, statements.count


@pytest.fixture
def bulk(make):
    """An organization with an activity, three volunteers and its admin, ready for bulk entries."""
    org = make.org()
    activity = make.activity(org, title="Marathon stewards")  # the bulk entries are written around the rules
    volunteers = [make.volunteer(name=name) for name in ("卓玛", "Tashi Dorje", "拉姆")]
    admin = make.org_admin_of(org)
    db.session.commit()
    return org, activity, volunteers, admin


def test_100000_entries_stream_as_csv_in_flat_memory(client, bulk):
    org, activity, volunteers, admin = bulk
    login(client, admin)
    url = entries_url(org)
    add_entries(org, activity, volunteers, 10_000)
    stream_csv(client, url)  # once before measuring: first-use costs (imports, compiled SQL) are not per row
    rows_10k, last_10k, peak_10k, statements_10k = stream_csv(client, url)
    add_entries(org, activity, volunteers, 90_000)
    started = time.perf_counter()
    rows_100k, last_100k, peak_100k, statements_100k = stream_csv(client, url)
    seconds = time.perf_counter() - started
    print(f"\nCSV peak traced: 10k rows {peak_10k / 1e6:.2f} MB, 100k rows {peak_100k / 1e6:.2f} MB "
          f"({seconds:.1f} s for 100k under tracemalloc)")
    assert (rows_10k, rows_100k) == (10_000, 100_000)
    top = db.session.scalar(sa.select(sa.func.max(LedgerState.entry_id)).where(LedgerState.organization_id == org.id))
    assert last_100k == top and last_10k < top  # in order of start: the last entry added comes last
    assert statements_10k == statements_100k == 1  # one SELECT, read as the body streams
    assert peak_100k < 1.5 * peak_10k + 2_000_000


def stream_xlsx(client, url: str, out, *, trace: bool = True) -> int | None:
    """Write the XLSX download into the file ``out`` as it streams; the peak bytes traced meanwhile (if traced)."""
    gc.collect()
    if trace:
        tracemalloc.start()
    try:
        response = client.get(url, buffered=False)
        assert response.status_code == 200 and response.mimetype == XLSX_MIMETYPE
        for chunk in response.iter_encoded():
            out.write(chunk)
        response.close()
        return tracemalloc.get_traced_memory()[1] if trace else None
    finally:
        if trace:
            tracemalloc.stop()


def xlsx_rows(out) -> tuple[int, tuple | None]:
    """(data rows, the last row's values) of the XLSX in ``out``, read by openpyxl's read-only mode, not kept."""
    out.seek(0)
    workbook = load_workbook(out, read_only=True)
    try:
        rows, last = 0, None
        for row in workbook.worksheets[0].iter_rows(min_row=2, values_only=True):
            rows += 1
            last = row
    finally:
        workbook.close()
    return rows, last


def test_100000_entries_stream_as_xlsx(client, bulk):
    """XLSX is built by openpyxl's write-only mode into a temporary file, then sent in chunks; 100,000 rows are
    counted back with its read-only mode. Its memory is compared at 1,000 and 10,000 rows (the same tenfold step
    as the CSV test's) rather than at 100,000: under tracemalloc openpyxl's cell writer runs about ten times slower
    (20,000 traced rows take half a minute on two cores), and its cost per row does not depend on the row count."""
    org, activity, volunteers, admin = bulk
    login(client, admin)
    url = entries_url(org, "xlsx")
    add_entries(org, activity, volunteers, 1_000)
    with tempfile.TemporaryFile() as out:
        stream_xlsx(client, url, out, trace=False)  # first-use costs (imports, compiled SQL) out of the way
    peaks, counts = [], []
    for more in (0, 9_000):
        add_entries(org, activity, volunteers, more)
        with tempfile.TemporaryFile() as out:
            peaks.append(stream_xlsx(client, url, out))
            counts.append(xlsx_rows(out)[0])
    print(f"\nXLSX peak traced: 1k rows {peaks[0] / 1e6:.2f} MB, 10k rows {peaks[1] / 1e6:.2f} MB")
    assert counts == [1_000, 10_000]
    assert peaks[1] < 1.5 * peaks[0] + 2_000_000
    add_entries(org, activity, volunteers, 90_000)
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        stream_xlsx(client, url, out, trace=False)
        rows, last = xlsx_rows(out)
    print(f"XLSX 100k rows written and read back in {time.perf_counter() - started:.1f} s")
    assert rows == 100_000
    assert last[0] == db.session.scalar(sa.select(sa.func.max(LedgerState.entry_id)))
    assert last[8:10] == (45, 0.8)
