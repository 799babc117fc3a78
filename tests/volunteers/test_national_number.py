"""The national unified volunteer number: one rule, entered on the profile and through the API, imported with the
sheet, matched from the national system's list by the command line."""
import datetime as dt

import pytest

from volunteer_registry.audit.models import AuditEvent
from volunteer_registry.extensions import db
from volunteer_registry.organizations.importing import import_volunteers, read_rows
from volunteer_registry.volunteers.models import Volunteer
from volunteer_registry.volunteers.services import VolunteerError, normalize_national_number, save_own_profile

from ..api.conftest import Api, token_for
from ..conftest import login, valid_resident_id
from .test_import import counts, row, to_csv
from .test_views import STANDARD_EXAMPLE, form


def stored(volunteer_id: int) -> str | None:
    db.session.expire_all()
    return db.session.get(Volunteer, volunteer_id).national_number


# --- the rule -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "kept"), [
    ("12345678", "12345678"),
    (" 6301-0219 9001 ab ", "630102199001AB"),
    ("ｖ１２３４５６７８", "V12345678"),  # full-width, as a Chinese keyboard types it
    ("A" * 32, "A" * 32),
    ("", None), ("  - ", None),
])
def test_spaces_and_hyphens_are_removed_and_letters_upper_cased(typed, kept):
    assert normalize_national_number(typed) == kept


@pytest.mark.parametrize("typed", ["1234567", "A" * 33, "1234_5678", "12345678.", "一二三四五六七八", "ı2345678"])
def test_anything_but_8_to_32_digits_and_capital_letters_is_refused(typed):
    with pytest.raises(VolunteerError) as caught:
        normalize_national_number(typed)
    assert (caught.value.code, caught.value.field) == ("national_number_format", "national_number")


# --- entered: the profile form and the API ------------------------------------------------------------------------

def test_entered_on_the_profile_shown_on_the_record_and_removed_when_emptied(client, make):
    user = make.user()
    db.session.commit()
    login(client, user)
    response = client.post("/volunteer/profile", data=form(national_number="6301 0219-9001ab"))
    assert response.status_code == 302, response.get_data(as_text=True)
    volunteer = db.session.scalar(db.select(Volunteer))
    assert volunteer.national_number == "630102199001AB"
    page = client.get("/volunteer").get_data(as_text=True)
    assert "National volunteer number" in page and "630102199001AB" in page
    profile = client.get("/volunteer/profile").get_data(as_text=True)
    assert 'value="630102199001AB"' in profile and "全国志愿服务信息系统的志愿者编号" in profile
    client.post("/volunteer/profile", data=form(id_number="", national_number=""))
    assert stored(volunteer.id) is None
    assert "National volunteer number" not in client.get("/volunteer").get_data(as_text=True)


def test_a_malformed_number_is_a_field_error_and_nothing_is_saved(client, make):
    user = make.user()
    db.session.commit()
    login(client, user)
    response = client.post("/volunteer/profile", data=form(national_number="NO.123"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="national_number-error"' in page and "8 to 32 digits and capital letters" in page
    assert db.session.scalar(db.select(db.func.count()).select_from(Volunteer)) == 0


def test_a_number_another_volunteer_holds_is_a_field_error_and_nothing_is_saved(client, make):
    holder = make.volunteer(national_number="NATL00000001")
    own = make.volunteer(name="Lhamo", birth_date=dt.date(1980, 2, 2), national_number="")
    db.session.commit()
    login(client, make.account_of(own))
    page = client.post("/volunteer/profile", data=form(
        name="Lhamo", birth_date="1980-02-02", id_number="", phone="13700000000",
        national_number="natl-0000-0001")).get_data(as_text=True)
    assert 'id="national_number-error"' in page and "already recorded for another volunteer" in page
    db.session.expire_all()
    own = db.session.get(Volunteer, own.id)
    assert own.national_number is None and own.phone == "13800138000"  # nothing of the form was saved
    assert stored(holder.id) == "NATL00000001"


def test_the_service_refuses_a_taken_number_before_creating_a_record(make):
    make.volunteer(national_number="NATL00000001")
    with pytest.raises(VolunteerError) as caught:
        save_own_profile(make.user(), make.volunteer_data(birth_date=dt.date(1970, 1, 1),
                                                          national_number="NATL00000001"))
    assert caught.value.code == "national_number_taken" and caught.value.http_status == 409
    assert db.session.scalar(db.select(db.func.count()).select_from(Volunteer)) == 1


def test_api_puts_keeps_and_refuses_the_number(client, make):
    api = Api(client)
    make.volunteer(national_number="TAKEN0001")
    user = make.user()
    token = token_for(user)
    body = {"name": "王芳", "gender": "female", "birth_date": "1949-12-31", "id_type": "resident_id",
            "id_number": STANDARD_EXAMPLE, "phone": "13800138000", "region_code": "630102", "consent": True}
    response = api.put("/me/volunteer", token=token, json={**body, "national_number": "api-2020-0001"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["national_number"] == "API20200001"
    # a body without it keeps it
    response = api.put("/me/volunteer", token=token, json={**body, "phone": "13900001111"})
    assert response.status_code == 200 and response.get_json()["national_number"] == "API20200001"
    response = api.put("/me/volunteer", token=token, json={**body, "national_number": "TAKEN-0001"})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "national_number_taken"
    response = api.put("/me/volunteer", token=token, json={**body, "national_number": "short"})
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "national_number_format"
    assert api.get("/me/volunteer", token=token).get_json()["national_number"] == "API20200001"
    response = api.put("/me/volunteer", token=token, json={**body, "national_number": None})
    assert response.status_code == 200 and response.get_json()["national_number"] is None


# --- imported: the volunteers sheet -------------------------------------------------------------------------------

def test_the_sheet_stores_a_new_volunteers_number(make):
    org = make.org()
    rows = [row(national_number="qh 2024 0001"), row(name="李强", gender="male", birth=dt.date(1985, 1, 2))]
    report = import_volunteers(make.org_admin_of(org), org, read_rows("v.csv", to_csv(rows)))
    assert report.ok and report.created == 2
    assert dict(db.session.execute(db.select(Volunteer.name, Volunteer.national_number)).all()) == {
        "王芳": "QH20240001", "李强": None}


def test_the_person_claiming_an_imported_record_keeps_its_number_when_leaving_the_field_empty(make):
    org = make.org()
    data = make.volunteer_data(name="才让", national_number="")
    sheet = [row(name="才让", gender=data.gender, birth=data.birth_date, id_number=data.id_number,
                 national_number="QH20240002")]
    assert import_volunteers(make.org_admin_of(org), org, read_rows("v.csv", to_csv(sheet))).created == 1
    claimed = save_own_profile(make.user(), data)
    assert claimed.user_id is not None and claimed.national_number == "QH20240002"


@pytest.mark.parametrize(("number", "code"), [
    ("12-34", "national_number_format"),
    ("HELD0001", "national_number_taken"),
    ("TWICE001", "national_number_duplicate_in_file"),
])
def test_a_bad_or_taken_number_is_reported_for_its_row_and_nothing_is_imported(make, number, code):
    org = make.org()
    make.volunteer(birth_date=dt.date(1970, 7, 7), national_number="HELD0001")
    db.session.commit()
    before = counts()
    rows = [row(national_number="TWICE001"), row(name="Lhamo", birth=dt.date(1993, 3, 3), national_number=number)]
    report = import_volunteers(make.org_admin_of(org), org, read_rows("v.csv", to_csv(rows)))
    assert [(p.row, p.field, p.code) for p in report.problems] == [(3, "national_number", code)]
    assert report.outcomes == [] and counts() == before


# --- matched: flask volunteers national-numbers --------------------------------------------------------------------

def national_list(path, lines: list[tuple[str, str, str]]):
    path.write_text("id_type,id_number,national_number\n" + "".join(f"{a},{b},{c}\n" for a, b, c in lines),
                    encoding="utf-8")
    return path


@pytest.fixture
def people(make):
    """Four volunteers: one without a national number, one with N1, one with N2, one more without."""
    births = [dt.date(1981, 1, 1), dt.date(1982, 2, 2), dt.date(1983, 3, 3), dt.date(1984, 4, 4)]
    numbers = ["", "N1000001", "N2000002", ""]
    found = []
    for index, (birth, number) in enumerate(zip(births, numbers, strict=True)):
        id_number = valid_resident_id(birth=birth, gender="female")
        volunteer = make.volunteer(name=f"V{index}", birth_date=birth, id_number=id_number, national_number=number)
        found.append((volunteer, id_number))
    db.session.commit()
    return found


def test_the_command_matches_by_id_document_and_counts_each_outcome(app, people, tmp_path):
    (free, free_id), (same, same_id), (other, other_id), (fourth, fourth_id) = people
    path = national_list(tmp_path / "national.csv", [
        ("resident_id", free_id, "n3000-003"),  # matched
        ("居民身份证", same_id, "N1000001"),  # already set
        ("resident_id", valid_resident_id(birth=dt.date(1999, 9, 9), gender="male"), "N4000004"),  # not found
        ("resident_id", other_id, "N5000005"),  # conflicting: she has N2000002
        ("", fourth_id, "N2000002"),  # conflicting: another volunteer holds it
    ])
    runner = app.test_cli_runner()
    result = runner.invoke(args=["volunteers", "national-numbers", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Dry run, nothing written: 1 matched, 1 already set, 1 not found, 2 conflicting." in result.output
    assert [stored(v.id) for v, _id in people] == [None, "N1000001", "N2000002", None]
    assert db.session.scalar(db.select(AuditEvent).where(
        AuditEvent.action == "volunteer.national_numbers_matched")) is None

    result = runner.invoke(args=["volunteers", "national-numbers", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 matched, 1 already set, 1 not found, 2 conflicting." in result.output
    assert "line 5: conflicting" in result.output and "line 6: conflicting" in result.output
    assert [stored(v.id) for v, _id in people] == ["N3000003", "N1000001", "N2000002", None]
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "volunteer.national_numbers_matched"))
    assert event.details == {"source": "national.csv", "matched": 1, "already_set": 1, "not_found": 1,
                             "conflicting": 2}

    again = runner.invoke(args=["volunteers", "national-numbers", str(path)])
    assert "0 matched, 2 already set, 1 not found, 2 conflicting." in again.output


def test_one_bad_row_and_the_command_writes_nothing(app, people, tmp_path):
    (free, free_id), (_same, same_id), _other, (fourth, fourth_id) = people
    path = national_list(tmp_path / "national.csv", [
        ("resident_id", free_id, "N3000003"),
        ("driving_licence", same_id, "N1000001"),
        ("resident_id", fourth_id, "N°6"),
        ("resident_id", free_id, "N7000007"),
    ])
    result = app.test_cli_runner().invoke(args=["volunteers", "national-numbers", str(path)])
    assert result.exit_code == 1
    assert "line 3: id_type:" in result.output and "[id_type_unknown]" in result.output
    assert "line 4: national_number:" in result.output and "[national_number_format]" in result.output
    assert "line 5: id_number:" in result.output and "[duplicate_in_file]" in result.output
    assert "3 bad rows; nothing was written" in result.output
    assert stored(free.id) is None and stored(fourth.id) is None
    assert db.session.scalar(db.select(AuditEvent).where(
        AuditEvent.action == "volunteer.national_numbers_matched")) is None


def test_a_list_without_the_columns_is_refused(app, tmp_path):
    path = tmp_path / "national.csv"
    path.write_text("证件号码,编号\n1,2\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["volunteers", "national-numbers", str(path)])
    assert result.exit_code == 1 and "missing_columns" in result.output
