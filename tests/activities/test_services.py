import datetime as dt

import pytest
import sqlalchemy as sa

from volunteer_registry.activities.models import Activity, Signup
from volunteer_registry.activities.services import (
    ActivityData,
    ActivityError,
    close_activity,
    create_activity,
    decide_signup,
    publish_activity,
    sign_up,
    update_activity,
    withdraw,
)
from volunteer_registry.checkin.models import AttendanceSession
from volunteer_registry.checkin.services import ScanRequest, record_scan
from volunteer_registry.extensions import db
from volunteer_registry.models import utcnow

T = dt.timedelta


def future(make, **overrides):
    start = utcnow().replace(microsecond=0) + T(days=2)
    return make.activity(starts_at=start, ends_at=start + T(hours=3), **overrides)


def people(make, n):
    return [make.account_of(make.volunteer()) for _ in range(n)]


def test_create_is_a_draft_then_published(make):
    org = make.org()
    data = ActivityData.from_mapping({
        "title": "敬老院探访", "category": "elderly", "recipient": "城东区福利院", "region_code": "630102",
        "address": "西宁市城东区", "person_in_charge": "马丽", "starts_at": "2026-12-05T09:00",
        "ends_at": "2026-12-05T12:00", "capacity": "20", "grace_minutes": "15", "allows_walk_ins": "y"})
    activity = create_activity(make.org_admin_of(org), org, data)
    assert activity.status == "draft" and activity.capacity == 20 and activity.allows_walk_ins
    # times typed without an offset are Beijing time
    assert activity.starts_at == dt.datetime(2026, 12, 5, 1, 0, tzinfo=dt.UTC)
    publish_activity(make.org_admin_of(org), activity)
    assert activity.status == "published"
    with pytest.raises(ActivityError) as info:
        publish_activity(make.org_admin_of(org), activity)
    assert info.value.code == "activity_not_draft"


@pytest.mark.parametrize("overrides, code, field", [
    ({"title": ""}, "field_required", "title"),
    ({"category": "sports"}, "category_unknown", "category"),
    ({"region_code": "110000"}, "region_unknown", "region_code"),
    ({"starts_at": "tomorrow"}, "datetime_invalid", "starts_at"),
    ({"ends_at": "2026-12-05T08:00"}, "ends_before_start", "ends_at"),
    ({"ends_at": "2027-02-05T08:00"}, "too_long_activity", "ends_at"),
    ({"capacity": "0"}, "capacity_invalid", "capacity"),
    ({"capacity": "many"}, "capacity_invalid", "capacity"),
    ({"grace_minutes": "-5"}, "grace_invalid", "grace_minutes"),
    ({"latitude": "36.6"}, "coordinates_invalid", "latitude"),
    ({"latitude": "136.6", "longitude": "101.7"}, "coordinates_invalid", "latitude"),
    ({"radius_m": "100"}, "radius_invalid", "radius_m"),
    ({"signup_mode": "lottery"}, "signup_mode_unknown", "signup_mode"),
])
def test_create_refused_with_field(make, overrides, code, field):
    org = make.org()
    values = {"title": "Clean-up", "category": "environment", "recipient": "Park", "region_code": "630102",
              "address": "Park road", "person_in_charge": "Ma", "starts_at": "2026-12-05T09:00",
              "ends_at": "2026-12-05T12:00"}
    values.update(overrides)
    with pytest.raises(ActivityError) as info:
        create_activity(make.org_admin_of(org), org, ActivityData.from_mapping(values))
    assert (info.value.code, info.value.field) == (code, field)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0


def test_capacity_waiting_list_and_moving_up(make):
    activity = future(make, capacity=2)
    a, b, c, d = people(make, 4)
    assert [sign_up(p, activity).status for p in (a, b, c, d)] == ["accepted", "accepted", "waitlisted", "waitlisted"]
    withdraw(a, activity)
    statuses = dict(db.session.execute(sa.select(Signup.volunteer_id, Signup.status)).all())
    assert sorted(statuses.values()) == ["accepted", "accepted", "waitlisted", "withdrawn"]
    # c moved up: the first on the list
    from volunteer_registry.volunteers.queries import volunteer_for_user
    assert statuses[volunteer_for_user(c).id] == "accepted" and statuses[volunteer_for_user(d).id] == "waitlisted"
    with pytest.raises(ActivityError) as info:
        sign_up(b, activity)
    assert info.value.code == "already_signed_up"


def test_approval_mode(make):
    activity = future(make, signup_mode="approval", capacity=1)
    a, b = people(make, 2)
    first, second = sign_up(a, activity), sign_up(b, activity)
    assert (first.status, second.status) == ("pending", "pending")
    coordinator = make.coordinator(activity.organization)
    assert decide_signup(coordinator, first, True).status == "accepted"
    assert decide_signup(coordinator, second, True).status == "waitlisted"  # full
    with pytest.raises(ActivityError) as info:
        decide_signup(coordinator, first, False)
    assert info.value.code == "signup_not_pending"


def test_sign_up_refusals(make):
    person = people(make, 1)[0]
    with pytest.raises(ActivityError) as info:
        sign_up(person, future(make, status="draft"))
    assert info.value.code == "activity_not_published"
    with pytest.raises(ActivityError) as info:
        sign_up(person, future(make, is_recruiting=False))
    assert info.value.code == "recruitment_closed"
    with pytest.raises(ActivityError) as info:
        sign_up(person, make.activity())  # started an hour ago
    assert info.value.code == "activity_started"
    with pytest.raises(ActivityError) as info:
        sign_up(make.user(), future(make))
    assert info.value.code == "volunteer_profile_required"
    started = make.activity()
    sign_up(person, started, now=started.starts_at - T(hours=1))
    with pytest.raises(ActivityError) as info:
        withdraw(person, started)
    assert info.value.code == "activity_started"


def test_closing_closes_open_sessions_and_refuses_edits(make):
    activity = make.activity()
    coordinator = make.coordinator(activity.organization)
    volunteer = make.volunteer()
    sign_up(make.account_of(volunteer), activity, now=activity.starts_at - T(days=1))
    record_scan(coordinator, ScanRequest(event_id="close-test-1", activity_code=activity.code,
                                         volunteer_number=volunteer.volunteer_number), now=activity.starts_at)
    close_activity(coordinator, activity)
    session = db.session.scalar(sa.select(AttendanceSession))
    assert activity.status == "closed" and session.checked_out_at == activity.ends_at
    assert session.flags == ["auto_closed"]
    with pytest.raises(ActivityError) as info:
        update_activity(coordinator, activity, ActivityData.from_mapping({}))
    assert info.value.code == "activity_closed"
