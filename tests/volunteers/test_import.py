"""Bulk import: every row checked, all or nothing — from the page, the service and the command line."""
import csv
import datetime as dt
import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from volunteer_registry.audit.models import AuditEvent
from volunteer_registry.extensions import db
from volunteer_registry.notifications.models import Notification
from volunteer_registry.organizations.importing import (
    COLUMNS,
    ImportFileError,
    import_volunteers,
    read_rows,
    template_csv,
    template_xlsx,
)
from volunteer_registry.organizations.models import Membership
from volunteer_registry.volunteers.models import Volunteer
from volunteer_registry.volunteers.vault import decrypt_id_number

from ..conftest import login, valid_resident_id


def row(name="王芳", gender="female", birth=dt.date(1990, 5, 17), **overrides):
    values = {"name": name, "gender": gender, "birth_date": birth.isoformat(), "id_type": "resident_id",
              "id_number": valid_resident_id(birth=birth, gender=gender), "phone": "13912345678",
              "region_code": "630102", "email": "", "skills": "", "consent": "yes", "guardian_name": "",
              "guardian_consent": ""}
    values.update(overrides)
    return values


def to_csv(rows, header=COLUMNS, encoding="utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for r in rows:
        writer.writerow([r.get(c, "") for c in COLUMNS])
    return buffer.getvalue().encode(encoding)


def to_xlsx(rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(COLUMNS))
    for r in rows:
        values = [r.get(c, "") for c in COLUMNS]
        values[2] = dt.date.fromisoformat(r["birth_date"])  # a real date cell, as Excel writes it
        sheet.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def counts():
    return (db.session.scalar(db.select(db.func.count()).select_from(Volunteer)),
            db.session.scalar(db.select(db.func.count()).select_from(Membership)))


def test_good_csv_imports_every_row(make):
    org = make.org()
    rows = [row(), row(name="李强", gender="male", birth=dt.date(1985, 1, 2)),
            row(name="Tenzin", birth=dt.date(2001, 7, 9))]
    report = import_volunteers(make.org_admin_of(org), org, read_rows("v.csv", to_csv(rows)))
    assert report.ok and (report.rows, report.created, report.invited) == (3, 3, 0)
    assert [(o.row, o.outcome) for o in report.outcomes] == [(2, "created"), (3, "created"), (4, "created")]
    assert counts() == (3, 3)
    assert set(db.session.scalars(db.select(Membership.status))) == {"active"}


def test_bad_rows_are_each_reported_and_nothing_is_imported(make):
    org = make.org()
    good = row()
    bad_check = row(name="张伟", id_number=good["id_number"][:-1] + ("1" if good["id_number"][-1] != "1" else "2"))
    duplicate = dict(good, name="王芳")
    rows = [good, bad_check, row(name="", birth=dt.date(1980, 1, 1)), row(birth=dt.date(1970, 1, 1), consent="no"),
            duplicate, dict(row(birth=dt.date(1975, 2, 2), gender="male", region_code="123456"), gender="男")]
    report = import_volunteers(make.org_admin_of(org), org, read_rows("v.csv", to_csv(rows)))
    assert not report.ok
    problems = [(p.row, p.field, p.code) for p in report.problems]
    assert problems == [
        (3, "id_number", "id_number_check_digit"),
        (4, "name", "name_required"),
        (5, "consent", "consent_required"),
        (6, "id_number", "duplicate_in_file"),
        (7, "region_code", "region_unknown"),
    ]
    assert counts() == (0, 0)


def test_xlsx_with_date_cells_and_chinese_headers(make):
    org = make.org()
    assert import_volunteers(make.org_admin_of(org), org, read_rows("v.xlsx", to_xlsx([row(), row(
        name="Dolma", birth=dt.date(1999, 9, 9))]))).created == 2
    header = ["姓名", "性别", "出生日期", "证件号码", "手机号", "地区代码", "同意"]
    r = row(name="马丽", birth=dt.date(1992, 2, 2))
    content = ("\ufeff" + ",".join(header) + "\n" + ",".join(
        ["马丽", "女", r["birth_date"], r["id_number"], r["phone"], "630103", "是"]) + "\n").encode("utf-8")
    report = import_volunteers(make.org_admin_of(org), org, read_rows("v.csv", content))
    assert report.ok and report.created == 1
    assert db.session.scalar(db.select(Volunteer.gender).where(Volunteer.name == "马丽")) == "female"


def test_gb18030_csv_from_excel(make):
    rows = read_rows("v.csv", to_csv([row(name="尼玛")], encoding="gb18030"))
    assert rows[0]["name"] == "尼玛"




@pytest.mark.parametrize("name, content, code", [
    ("v.csv", b"", "file_empty"),
    ("v.csv", b"name,gender\nA,male\n", "missing_columns"),
    ("v.csv", b"\xff\xfe\x00\x00garbage\x81", "file_encoding"),
    ("v.xlsx", b"PK\x03\x04 not really a zip", "file_unreadable"),
    ("v.bin", b"\x00\x01\x02\x03", "file_type"),
])
def test_bad_files(app, name, content, code):
    with pytest.raises(ImportFileError) as info:
        read_rows(name, content)
    assert info.value.code == code


def test_spreadsheet_bomb_is_refused(app):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b"a" * (70 * 1024 * 1024) + b">")
    assert len(buffer.getvalue()) < 1024 * 1024
    with pytest.raises(ImportFileError) as info:
        read_rows("bomb.xlsx", buffer.getvalue())
    assert info.value.code == "file_too_large"


def test_row_limit(app):
    app.config["IMPORT_MAX_ROWS"] = 2
    with pytest.raises(ImportFileError) as info:
        read_rows("v.csv", to_csv([row(), row(), row()]))
    assert info.value.code == "too_many_rows"


def test_templates_have_every_column(app):
    assert template_csv().decode("utf-8-sig").strip().split(",") == list(COLUMNS)
    sheet = load_workbook(io.BytesIO(template_xlsx())).worksheets[0]
    assert [c.value for c in sheet[1]] == list(COLUMNS)


def test_import_page_reports_rows_and_imports_nothing(make, client):
    org = make.org()
    db.session.commit()
    login(client, make.org_admin_of(org))
    bad = to_csv([row(), row(name="X", id_number="123")])
    response = client.post(f"/organizations/{org.code}/import",
                           data={"file": (io.BytesIO(bad), "volunteers.csv")}, content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "nothing was imported" in page and "<td data-label=\"Row\">3</td>" in page
    assert counts() == (0, 0)
    good = to_csv([row(), row(name="李强", gender="male", birth=dt.date(1985, 1, 2))])
    response = client.post(f"/organizations/{org.code}/import",
                           data={"file": (io.BytesIO(good), "volunteers.csv")}, content_type="multipart/form-data")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "2 rows imported." in page and "New volunteers: 2. Invited: 0" in page
    assert counts() == (2, 2)


def test_import_command(make, app, tmp_path):
    org = make.org()
    db.session.commit()
    path = tmp_path / "volunteers.xlsx"
    path.write_bytes(to_xlsx([row(), row(name="Lhamo", birth=dt.date(1993, 3, 3))]))
    result = app.test_cli_runner().invoke(args=["volunteers", "import", str(path), "--org", org.code])
    assert result.exit_code == 0, result.output
    assert "Imported 2 rows: 2 new volunteers" in result.output
    assert counts() == (2, 2)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(to_csv([row(birth=dt.date(1960, 6, 6)), row(name="", birth=dt.date(1961, 6, 6))]))
    result = app.test_cli_runner().invoke(args=["volunteers", "import", str(bad), "--org", org.code])
    assert result.exit_code == 1
    assert "row 3: name:" in result.output and "nothing was imported" in result.output
    assert counts() == (2, 2)


# --- people who are already registered: invited, never enrolled, nothing of their record revealed ------------------

def existing_row(volunteer, **overrides) -> dict:
    """An import row naming ``volunteer`` by their ID document (with another phone and email: the record keeps its
    own)."""
    values = row(name=volunteer.name, gender=volunteer.gender, birth=volunteer.birth_date, phone="13711112222",
                 email="other@example.org")
    values["id_number"] = decrypt_id_number(volunteer.id_number_encrypted)
    values.update(overrides)
    return values


def invitations_to(volunteer) -> list[Notification]:
    return list(db.session.scalars(db.select(Notification).where(Notification.user_id == volunteer.user_id,
                                                                 Notification.kind == "membership.invited")))


def record_of(volunteer) -> tuple:
    """What an import must never change about an existing record."""
    db.session.refresh(volunteer)
    return (volunteer.name, volunteer.phone, volunteer.email, volunteer.consent_source, volunteer.consent_at,
            volunteer.updated_at, volunteer.user_id)


def audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == action)))


def test_existing_volunteer_is_invited_not_enrolled(make):
    volunteer = make.volunteer()
    org = make.org()
    admin = make.org_admin_of(org)
    before = record_of(volunteer)
    report = import_volunteers(admin, org, [row(), existing_row(volunteer)])
    assert report.ok and (report.created, report.invited) == (1, 1)
    assert [(o.row, o.outcome) for o in report.outcomes] == [(2, "created"), (3, "invited")]
    # her record is untouched; she is invited, not a member; the new person is a member as before
    assert record_of(volunteer) == before
    theirs = db.session.scalar(db.select(Membership).where(Membership.volunteer_id == volunteer.id))
    assert (theirs.organization_id, theirs.status, theirs.decided_by_id) == (org.id, "invited", None)
    assert counts() == (2, 2)
    assert list(db.session.scalars(db.select(Membership.status).order_by(Membership.id))) == ["active", "invited"]
    [notification] = invitations_to(volunteer)
    assert notification.link == f"/organizations/{org.code}" and notification.params["organization"] == org.name
    [event] = audit("membership.invited")
    assert (event.actor_id, event.organization_id, event.details["via"]) == (admin.id, org.id, "import")
    assert audit("membership.activated")[0].details["volunteer"] != volunteer.volunteer_number


def test_an_open_invitation_is_not_sent_twice(make):
    volunteer = make.volunteer()
    org = make.org()
    admin = make.org_admin_of(org)
    import_volunteers(admin, org, [existing_row(volunteer)])
    report = import_volunteers(admin, org, [existing_row(volunteer)])
    assert [o.outcome for o in report.outcomes] == ["invited"]
    assert counts() == (1, 1)
    assert len(invitations_to(volunteer)) == 1 and len(audit("membership.invited")) == 1


@pytest.mark.parametrize("status, outcome, after", [
    ("active", "already_member", "active"),
    ("pending", "requested", "pending"),  # her own request waits for the organization's decision
    ("refused", "refused", "refused"),  # she said no: not asked again
    ("declined", "invited", "invited"),  # the organization once declined her request: it may invite her now
    ("left", "invited", "invited"),
])
def test_a_membership_she_already_has(make, status, outcome, after):
    volunteer = make.volunteer()
    org = make.org()
    db.session.add(Membership(organization_id=org.id, volunteer_id=volunteer.id, status=status))
    db.session.flush()
    report = import_volunteers(make.org_admin_of(org), org, [existing_row(volunteer)])
    assert [o.outcome for o in report.outcomes] == [outcome]
    assert list(db.session.scalars(db.select(Membership.status))) == [after]
    assert len(invitations_to(volunteer)) == (1 if after == "invited" else 0)


def test_a_name_that_does_not_match_the_record_is_a_row_error_that_reveals_nothing(make):
    volunteer = make.volunteer(name="卓玛", email="zhuoma@example.org")
    org = make.org()
    before = record_of(volunteer)
    report = import_volunteers(make.org_admin_of(org), org, [row(), existing_row(volunteer, name="王芳")])
    assert not report.ok
    assert [(p.row, p.field, p.code) for p in report.problems] == [(3, "name", "name_mismatch")]
    message = report.problems[0].message
    for secret in (volunteer.name, volunteer.volunteer_number, volunteer.id_number_masked, volunteer.phone,
                   volunteer.email, volunteer.birth_date.isoformat()):
        assert secret not in message
    # all or nothing: the good row is not imported either, and nobody is invited
    assert counts() == (1, 0) and record_of(volunteer) == before
    assert invitations_to(volunteer) == [] and audit("membership.invited") == []


def test_names_are_compared_as_normalised_text(make):
    volunteer = make.volunteer(name="José Li", id_type="passport", id_number="E12345678")
    org = make.org()
    spaced = existing_row(volunteer, name="  Jose\u0301   Li ", id_type="passport", id_number="e12345678")
    report = import_volunteers(make.org_admin_of(org), org, [spaced])
    assert report.ok and [o.outcome for o in report.outcomes] == ["invited"]
    other = import_volunteers(make.org_admin_of(org), org, [dict(spaced, name="Jose Li")])
    assert [p.code for p in other.problems] == ["name_mismatch"]


def test_the_import_page_says_invited_and_nothing_else_about_her(make, client):
    volunteer = make.volunteer(name="卓玛", email="zhuoma@example.org")
    org = make.org()
    db.session.commit()
    login(client, make.org_admin_of(org))
    secrets = (volunteer.volunteer_number, volunteer.id_number_masked, volunteer.phone, volunteer.email)

    mismatch = to_csv([row(), existing_row(volunteer, name="王芳")])
    response = client.post(f"/organizations/{org.code}/import", data={"file": (io.BytesIO(mismatch), "v.csv")},
                           content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "nothing was imported" in page
    assert "registered to a volunteer under another name" in page
    for secret in (volunteer.name, *secrets):
        assert secret not in page
    assert counts() == (1, 0)

    good = to_csv([row(), existing_row(volunteer)])
    response = client.post(f"/organizations/{org.code}/import", data={"file": (io.BytesIO(good), "v.csv")},
                           content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "New volunteers: 1. Invited: 1" in page
    assert '<td data-label="Row">3</td><td data-label="Result">Invited: already registered' in page
    for secret in secrets:
        assert secret not in page
    assert counts() == (2, 2)
    assert db.session.scalar(db.select(Membership.status).where(Membership.volunteer_id == volunteer.id)) == "invited"


def test_import_command_reports_invited_rows(make, app, tmp_path):
    volunteer = make.volunteer()
    org = make.org()
    db.session.commit()
    path = tmp_path / "volunteers.csv"
    path.write_bytes(to_csv([row(), existing_row(volunteer)]))
    result = app.test_cli_runner().invoke(args=["volunteers", "import", str(path), "--org", org.code])
    assert result.exit_code == 0, result.output
    assert "Imported 2 rows: 1 new volunteers, 1 invited" in result.output
    assert "row 3: Invited: already registered" in result.output and "[invited]" in result.output
    assert volunteer.volunteer_number not in result.output and volunteer.id_number_masked not in result.output
    assert db.session.scalar(db.select(Membership.status).where(Membership.volunteer_id == volunteer.id)) == "invited"
