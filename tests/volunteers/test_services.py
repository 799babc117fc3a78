import datetime as dt

import pytest

from volunteer_registry.audit.models import AuditEvent
from volunteer_registry.extensions import db
from volunteer_registry.organizations.importing import import_volunteers
from volunteer_registry.organizations.models import Membership
from volunteer_registry.volunteers.models import Volunteer
from volunteer_registry.volunteers.services import VolunteerError, reveal_id_number, save_own_profile
from volunteer_registry.volunteers.vault import decrypt_id_number

from ..conftest import valid_resident_id

STANDARD_EXAMPLE = "11010519491231002X"


def test_profile_is_created_with_encrypted_id(make):
    user = make.user()
    volunteer = save_own_profile(user, make.volunteer_data(
        name="  Tashi   Dorje ", gender="female", birth_date=dt.date(1949, 12, 31), id_number="11010519491231002x"))
    assert volunteer.user_id == user.id and volunteer.name == "Tashi Dorje"
    assert volunteer.id_number_masked == "110105********002X"
    assert STANDARD_EXAMPLE.encode() not in volunteer.id_number_encrypted
    assert decrypt_id_number(volunteer.id_number_encrypted) == STANDARD_EXAMPLE
    assert volunteer.consent_source == "self" and volunteer.consent_at is not None
    assert db.session.scalar(db.select(AuditEvent.action).order_by(AuditEvent.id.desc())) == "volunteer.registered"


def test_one_document_one_volunteer(make):
    data = make.volunteer_data()
    make.volunteer(**data.__dict__)
    with pytest.raises(VolunteerError) as info:
        save_own_profile(make.user(), make.volunteer_data(id_number=data.id_number, name="Someone else"))
    assert (info.value.code, info.value.field, info.value.http_status) == ("id_number_taken", "id_number", 409)
    assert "only one volunteer record" in info.value.message
    assert db.session.scalar(db.select(db.func.count()).select_from(Volunteer)) == 1


@pytest.mark.parametrize("overrides, code, field", [
    ({"name": " "}, "name_required", "name"),
    ({"gender": "other"}, "gender_unknown", "gender"),
    ({"birth_date": None}, "birth_date_required", "birth_date"),
    ({"id_number": STANDARD_EXAMPLE[:-1] + "1"}, "id_number_check_digit", "id_number"),
    ({"id_number": STANDARD_EXAMPLE, "gender": "female", "birth_date": dt.date(1950, 1, 1)},
     "id_number_birth_date_mismatch", "id_number"),
    ({"id_number": STANDARD_EXAMPLE, "gender": "male", "birth_date": dt.date(1949, 12, 31)},
     "id_number_gender_mismatch", "id_number"),
    ({"phone": "123"}, "phone_invalid", "phone"),
    ({"region_code": "999999"}, "region_unknown", "region_code"),
    ({"consent": False}, "consent_required", "consent"),
    ({"email": "not@valid@x"}, "email_invalid", "email"),
])
def test_profile_refused_with_field(make, overrides, code, field):
    with pytest.raises(VolunteerError) as info:
        make.volunteer(**overrides)
    assert (info.value.code, info.value.field) == (code, field)
    assert db.session.scalar(db.select(db.func.count()).select_from(Volunteer)) == 0


def test_under_fourteen_needs_guardian(make):
    birth = dt.date.today().replace(year=dt.date.today().year - 10, day=1)
    child = dict(birth_date=birth, id_number=valid_resident_id(birth=birth, gender="female"))
    with pytest.raises(VolunteerError) as info:
        make.volunteer(**child)
    assert info.value.code == "guardian_required"
    with pytest.raises(VolunteerError) as info:
        make.volunteer(guardian_name="Ma Lan", **child)
    assert info.value.code == "guardian_consent_required"
    volunteer = make.volunteer(guardian_name="Ma Lan", guardian_consent=True, **child)
    assert volunteer.guardian_name == "Ma Lan" and volunteer.guardian_consent_at is not None


def test_update_keeps_document_when_number_left_empty(make):
    volunteer = make.volunteer()
    user = make.account_of(volunteer)
    masked = volunteer.id_number_masked
    updated = save_own_profile(user, make.volunteer_data(id_number="", phone="13911112222"))
    assert updated.id == volunteer.id and updated.phone == "13911112222" and updated.id_number_masked == masked


def test_imported_record_is_claimed_by_its_person(make):
    org = make.org()
    data = make.volunteer_data(name="才让")
    row = {"name": "才让", "gender": data.gender, "birth_date": data.birth_date.isoformat(),
           "id_number": data.id_number, "phone": "13812345678", "region_code": "630102", "consent": "yes"}
    report = import_volunteers(make.org_admin_of(org), org, [row])
    assert report.created == 1
    imported = db.session.scalar(db.select(Volunteer))
    assert imported.user_id is None and imported.consent_source == f"import:{org.code}"
    user = make.user()
    claimed = save_own_profile(user, data)
    assert claimed.id == imported.id and claimed.user_id == user.id
    assert claimed.volunteer_number == imported.volunteer_number
    assert db.session.scalar(db.select(Membership.status)) == "active"


def test_revealing_the_full_number_is_audited(make):
    volunteer = make.volunteer(gender="female", birth_date=dt.date(1949, 12, 31), id_number=STANDARD_EXAMPLE)
    org = make.org()
    viewer = make.org_admin_of(org)
    assert reveal_id_number(viewer, volunteer, organization=org, purpose="insurance") == STANDARD_EXAMPLE
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "volunteer.id_number_viewed"))
    assert event.actor_id == viewer.id and event.organization_id == org.id
    assert event.details["purpose"] == "insurance" and STANDARD_EXAMPLE not in str(event.details)
