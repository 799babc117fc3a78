import datetime as dt

from volunteer_registry.extensions import db
from volunteer_registry.volunteers.models import Volunteer

from ..conftest import login, valid_resident_id

STANDARD_EXAMPLE = "11010519491231002X"


def form(**overrides):
    values = {"name": "卓玛", "gender": "female", "birth_date": "1949-12-31", "id_type": "resident_id",
              "id_number": STANDARD_EXAMPLE, "phone": "13800138000", "email": "", "region_code": "632701",
              "skills": "藏语", "consent": "y"}
    values.update(overrides)
    return values


def test_register_profile_then_record_shows_masked_number(client, make):
    user = make.user()
    db.session.commit()
    login(client, user)
    response = client.post("/volunteer/profile", data=form())
    assert response.status_code == 302 and response.headers["Location"] == "/volunteer"
    page = client.get("/volunteer").get_data(as_text=True)
    volunteer = db.session.scalar(db.select(Volunteer))
    assert volunteer.volunteer_number in page and "110105********002X" in page
    assert STANDARD_EXAMPLE not in page
    # the holder may see the full number; the view is audited
    assert STANDARD_EXAMPLE in client.post("/volunteer/id-number").get_data(as_text=True)


def test_profile_errors_stay_next_to_their_field(client, make):
    user = make.user()
    db.session.commit()
    login(client, user)
    page = client.post("/volunteer/profile", data=form(id_number=STANDARD_EXAMPLE[:-1] + "1")).get_data(as_text=True)
    assert 'id="id_number-error"' in page and "last character does not match" in page
    page = client.post("/volunteer/profile", data=form(gender="male")).get_data(as_text=True)
    assert 'id="id_number-error"' in page and "gender does not match" in page
    page = client.post("/volunteer/profile", data=form(consent="")).get_data(as_text=True)
    assert 'id="consent-error"' in page
    assert db.session.scalar(db.select(db.func.count()).select_from(Volunteer)) == 0


def test_second_account_with_same_document_gets_a_clear_message(client, make, app):
    make.volunteer(gender="female", birth_date=dt.date(1949, 12, 31), id_number=STANDARD_EXAMPLE)
    other = make.user()
    db.session.commit()
    login(client, other)
    page = client.post("/volunteer/profile", data=form(name="Someone")).get_data(as_text=True)
    assert "already registered to another volunteer" in page
    assert db.session.scalar(db.select(db.func.count()).select_from(Volunteer)) == 1


def test_edit_without_retyping_the_number(client, make):
    volunteer = make.volunteer()
    db.session.commit()
    login(client, make.account_of(volunteer))
    page = client.get("/volunteer/profile").get_data(as_text=True)
    assert f"Leave empty to keep {volunteer.id_number_masked}" in page
    birth = volunteer.birth_date.isoformat()
    response = client.post("/volunteer/profile", data=form(name=volunteer.name, birth_date=birth, id_number="",
                                                          region_code="630102", phone="13911110000"))
    assert response.status_code == 302
    assert volunteer.phone == "13911110000" and volunteer.region_code == "630102"


def test_minor_needs_guardian_on_the_form(client, make):
    user = make.user()
    db.session.commit()
    login(client, user)
    birth = dt.date(dt.date.today().year - 9, 6, 1)
    data = form(birth_date=birth.isoformat(), id_number=valid_resident_id(birth=birth, gender="female"))
    page = client.post("/volunteer/profile", data=data).get_data(as_text=True)
    assert 'id="guardian_name-error"' in page
    response = client.post("/volunteer/profile", data=dict(data, guardian_name="马兰", guardian_consent="y"))
    assert response.status_code == 302
    assert db.session.scalar(db.select(Volunteer.guardian_name)) == "马兰"


def test_dashboard_points_each_role_to_its_task(client, make, app):
    admin = make.admin()
    pending = make.org(status="pending")
    db.session.commit()
    login(client, admin)
    page = client.get("/").get_data(as_text=True)
    assert "1 organization is waiting for your review." in page
    staff = app.test_client()
    login(staff, make.org_admin_of(pending))
    assert "waiting for the civil-affairs department" in staff.get("/").get_data(as_text=True)
    newcomer = app.test_client()
    login(newcomer, make.user())
    db.session.commit()
    assert "Complete my profile" in newcomer.get("/").get_data(as_text=True)
