"""Training, awards and evaluations: recorded by an organization's staff for its members, shown to the volunteer,
withdrawn (never edited) when wrong; other organizations' staff and other people's numbers kept out."""
from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from volunteer_registry.audit.models import AuditEvent
from volunteer_registry.errors import Forbidden
from volunteer_registry.extensions import db
from volunteer_registry.models import utcnow
from volunteer_registry.organizations.models import Organization
from volunteer_registry.organizations.services import apply_for_membership, decide_membership, leave_organization
from volunteer_registry.records.models import VolunteerRecord
from volunteer_registry.records.services import (
    AwardData,
    EvaluationData,
    RecordError,
    TrainingData,
    record_award,
    record_evaluation,
    record_training,
    withdraw_record,
)
from volunteer_registry.timeutil import local
from volunteer_registry.volunteers.models import Volunteer

from ..conftest import Factory, build_app, login, serve

TODAY = local(utcnow()).date()
LAST_MONTH = TODAY - dt.timedelta(days=30)


@dataclass
class Site:
    org: Organization
    other: Organization
    coordinator: object
    admin: object
    other_coordinator: object
    member: Volunteer
    outsider: Volunteer  # a volunteer who belongs to no organization
    applicant: Volunteer  # asked to join, not yet accepted

    def url(self, volunteer=None, org=None) -> str:
        return (f"/organizations/{(org or self.org).code}/members/"
                f"{(volunteer or self.member).volunteer_number}/records")


def member_of(make, org, **overrides) -> Volunteer:
    volunteer = make.volunteer(**overrides)
    decide_membership(make.org_admin_of(org), apply_for_membership(make.account_of(volunteer), org), True)
    return volunteer


def build_site(make) -> Site:
    org = make.org(name="城东区敬老志愿服务队")
    other = make.org(name="玉树应急救援队")
    applicant = make.volunteer(name="次仁")
    apply_for_membership(make.account_of(applicant), org)
    site = Site(org=org, other=other, coordinator=make.coordinator(org), admin=make.org_admin_of(org),
                other_coordinator=make.coordinator(other), member=member_of(make, org, name="卓玛"),
                outsider=make.volunteer(name="旦增"), applicant=applicant)
    db.session.commit()
    return site


@pytest.fixture
def site(make) -> Site:
    return build_site(make)


def count(*where) -> int:
    return db.session.scalar(db.select(sa.func.count()).select_from(VolunteerRecord).where(*where))


def rows() -> list[tuple]:
    """Every column of every record, to show that nothing was changed."""
    return [tuple(row) for row in db.session.execute(sa.text("SELECT * FROM volunteer_records ORDER BY id"))]


def page_of(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, f"GET {url}: {response.status_code}"
    return response.get_data(as_text=True)


def error_of(page: str, field_id: str) -> str | None:
    found = re.search(rf'<p class="error" id="{field_id}-error" role="alert">([^<]*)</p>', page)
    return html.unescape(found.group(1)) if found else None


TRAINING = {"kind": "training", "training-title": "应急救护培训", "training-provider": "青海省红十字会",
            "training-date": LAST_MONTH.isoformat(), "training-hours": "2.5", "training-notes": "证书 HZ-2024-0031"}
AWARD = {"kind": "award", "award-title": "优秀志愿者", "award-provider": "西宁市民政局",
         "award-date": LAST_MONTH.isoformat(), "award-level": "city"}
EVALUATION = {"kind": "evaluation", "evaluation-period_start": (TODAY - dt.timedelta(days=90)).isoformat(),
              "evaluation-period_end": LAST_MONTH.isoformat(), "evaluation-rating": "excellent",
              "evaluation-comment": "服务认真负责，深受老人欢迎。"}


# --- recording through the page, seen by the volunteer ---------------------------------------------------------------

def test_each_kind_is_recorded_through_the_page_and_shown_to_the_volunteer(app, make, site):
    staff, own = app.test_client(), app.test_client()
    login(staff, site.coordinator)
    login(own, make.account_of(site.member))
    assert "No training recorded yet." in page_of(own, "/volunteer/records")

    for form in (TRAINING, AWARD, EVALUATION):
        response = staff.post(site.url(), data=form)
        assert response.status_code == 302, response.get_data(as_text=True)
        assert response.headers["Location"].endswith(site.url())
    assert count() == 3
    training = db.session.scalar(db.select(VolunteerRecord).where(VolunteerRecord.kind == "training"))
    assert (training.title, training.provider, training.date, training.minutes, training.text) == (
        "应急救护培训", "青海省红十字会", LAST_MONTH, 150, "证书 HZ-2024-0031")
    assert (training.volunteer_id, training.organization_id, training.recorded_by_id) == (
        site.member.id, site.org.id, site.coordinator.id)
    award = db.session.scalar(db.select(VolunteerRecord).where(VolunteerRecord.kind == "award"))
    assert (award.title, award.provider, award.level, award.minutes) == ("优秀志愿者", "西宁市民政局", "city", None)
    evaluation = db.session.scalar(db.select(VolunteerRecord).where(VolunteerRecord.kind == "evaluation"))
    assert (evaluation.period_start, evaluation.period_end, evaluation.date, evaluation.rating) == (
        TODAY - dt.timedelta(days=90), LAST_MONTH, LAST_MONTH, "excellent")
    actions = set(db.session.scalars(db.select(AuditEvent.action).where(AuditEvent.organization_id == site.org.id)))
    assert {"record.training", "record.award", "record.evaluation"} <= actions

    staff_page = page_of(staff, site.url())
    assert "应急救护培训" in staff_page and "优秀志愿者" in staff_page and "深受老人欢迎" in staff_page

    mine = page_of(own, "/volunteer/records")
    for text in ("应急救护培训", "青海省红十字会", "2.5 h", "优秀志愿者", "西宁市民政局", "City", "Excellent",
                 "服务认真负责，深受老人欢迎。", "城东区敬老志愿服务队"):
        assert text in mine, text
    assert "No training recorded yet." not in mine


def test_the_volunteer_sees_every_organizations_records_with_total_training_hours_most_recent_first(app, make,
                                                                                                   site):
    other_member = member_of(make, site.other)  # someone else's records stay theirs
    decide_membership(make.org_admin_of(site.other),
                      apply_for_membership(make.account_of(site.member), site.other), True)
    record_training(site.coordinator, site.org, site.member, TrainingData(
        title="老年照护基础", provider="城东区社工站", date=TODAY - dt.timedelta(days=200), minutes=90))
    record_training(site.other_coordinator, site.other, site.member, TrainingData(
        title="高原急救", provider="玉树州医院", date=TODAY - dt.timedelta(days=10), minutes=240))
    record_training(site.other_coordinator, site.other, other_member, TrainingData(
        title="别人的培训", provider="某机构", date=LAST_MONTH, minutes=60))
    db.session.commit()
    client = app.test_client()
    login(client, make.account_of(site.member))
    page = page_of(client, "/volunteer/records")
    assert "5.5 h" in page  # 90 + 240 minutes
    assert page.index("高原急救") < page.index("老年照护基础")  # the most recent first
    assert "玉树应急救援队" in page and "城东区敬老志愿服务队" in page
    assert "别人的培训" not in page


def test_the_volunteers_page_needs_a_profile_and_a_sign_in(client, make):
    assert client.get("/volunteer/records").headers["Location"].startswith("/login")
    login(client, make.user())
    db.session.commit()
    response = client.get("/volunteer/records")
    assert response.status_code == 302 and response.headers["Location"].startswith("/volunteer/profile")


def test_the_members_page_and_the_own_record_link_to_the_records(app, site, make):
    staff = app.test_client()
    login(staff, site.coordinator)
    members = page_of(staff, f"/organizations/{site.org.code}/members")
    assert site.url() in members
    assert site.url(site.applicant) not in members  # a request to join is not a member yet
    own = app.test_client()
    login(own, make.account_of(site.member))
    assert 'href="/volunteer/records"' in page_of(own, "/volunteer")


# --- what is refused -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("form", "field", "message"), [
    ({**TRAINING, "training-date": (TODAY + dt.timedelta(days=1)).isoformat()}, "training-date",
     "cannot be in the future"),
    ({**TRAINING, "training-hours": "0"}, "training-hours", "at least one minute"),
    ({**TRAINING, "training-hours": "2000"}, "training-hours", "at most 1666 hours"),
    ({**TRAINING, "training-title": "  "}, "training-title", "required"),
    ({**TRAINING, "training-provider": "x" * 201}, "training-provider", "200"),
    ({**TRAINING, "training-date": "1950-01-01"}, "training-date", "before the volunteer's date of birth"),
    ({**AWARD, "award-date": (TODAY + dt.timedelta(days=3)).isoformat()}, "award-date", "cannot be in the future"),
    ({**AWARD, "award-level": "galactic"}, "award-level", "choice"),
    ({**EVALUATION, "evaluation-period_start": TODAY.isoformat(),
      "evaluation-period_end": LAST_MONTH.isoformat()}, "evaluation-period_end", "cannot be before its start"),
    ({**EVALUATION, "evaluation-period_end": (TODAY + dt.timedelta(days=1)).isoformat()},
     "evaluation-period_end", "cannot be in the future"),
    ({**EVALUATION, "evaluation-rating": ""}, "evaluation-rating", "required"),
    ({**EVALUATION, "evaluation-comment": ""}, "evaluation-comment", "required"),
])
def test_a_refused_record_shows_the_error_next_to_its_field_and_writes_nothing(app, site, form, field, message):
    client = app.test_client()
    login(client, site.admin)
    response = client.post(site.url(), data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    error = error_of(page, field)
    assert error and message in error, page
    assert page.count('record-form" open>') == 1  # the refused form stays open, the others closed
    opened = page[page.index('record-form" open>'):]
    assert re.search(r'name="kind" value="(\w+)"', opened).group(1) == form["kind"]
    assert count() == 0
    assert db.session.scalar(db.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action.like("record.%"))) == 0


def test_what_was_typed_is_kept_when_refused(app, site):
    client = app.test_client()
    login(client, site.coordinator)
    page = client.post(site.url(), data={**TRAINING, "training-hours": "-1"}).get_data(as_text=True)
    assert 'value="应急救护培训"' in page and 'value="青海省红十字会"' in page


def test_an_unknown_kind_is_a_bad_request(app, site):
    client = app.test_client()
    login(client, site.coordinator)
    assert client.post(site.url(), data={**TRAINING, "kind": "withdrawal"}).status_code == 400
    assert count() == 0


def test_another_organizations_coordinator_gets_403_and_writes_nothing(app, site):
    client = app.test_client()
    login(client, site.other_coordinator)
    assert client.get(site.url()).status_code == 403
    for form in (TRAINING, AWARD, EVALUATION):
        assert client.post(site.url(), data=form).status_code == 403
    # the same for a number that is not A's member: 403 before any lookup, so nothing about people leaks
    assert client.get(site.url(site.outsider)).status_code == 403
    assert count() == 0


@pytest.mark.parametrize("who", ["outsider", "applicant", "left", "nobody", "malformed"])
def test_a_number_that_is_not_an_active_member_is_404_and_nothing_is_written(app, make, site, who):
    if who == "left":
        leave_organization(make.account_of(site.member), site.org)
        db.session.commit()
    url = {"outsider": site.url(site.outsider), "applicant": site.url(site.applicant), "left": site.url(),
           "nobody": f"/organizations/{site.org.code}/members/3469-ACDE-FGH3/records",
           "malformed": f"/organizations/{site.org.code}/members/not-a-number/records"}[who]
    client = app.test_client()
    login(client, site.coordinator)
    assert client.get(url).status_code == 404
    assert client.post(url, data=TRAINING).status_code == 404
    assert count() == 0


def test_volunteers_and_anonymous_people_cannot_reach_the_staff_page(app, make, site):
    client = app.test_client()
    assert client.get(site.url()).headers["Location"].startswith("/login")
    login(client, make.account_of(site.member))  # not even about themselves
    assert client.get(site.url()).status_code == 403
    assert client.post(site.url(), data=TRAINING).status_code == 403
    assert count() == 0


def test_a_pending_organizations_staff_cannot_record(app, make):
    org = make.org(status="pending")
    volunteer = make.volunteer()
    db.session.commit()
    client = app.test_client()
    login(client, make.org_admin_of(org))
    assert client.get(f"/organizations/{org.code}/members/{volunteer.volunteer_number}/records").status_code == 403


# --- services --------------------------------------------------------------------------------------------------------

def test_services_refuse_non_members_and_other_organizations_staff(make, site):
    data = TrainingData(title="培训", provider="机构", date=LAST_MONTH, minutes=60)
    for volunteer in (site.outsider, site.applicant):
        with pytest.raises(RecordError) as info:
            record_training(site.coordinator, site.org, volunteer, data)
        assert info.value.code == "not_a_member" and info.value.http_status == 404
    with pytest.raises(Forbidden):
        record_award(site.other_coordinator, site.org, site.member,
                     AwardData(title="奖", provider="局", date=LAST_MONTH))
    with pytest.raises(Forbidden):
        record_evaluation(make.account_of(site.member), site.org, site.member, EvaluationData(
            period_start=LAST_MONTH, period_end=LAST_MONTH, rating="good", comment="好"))
    db.session.flush()
    assert count() == 0


@pytest.mark.parametrize(("data", "code", "field"), [
    (TrainingData(title="培训", provider="机构", date=LAST_MONTH, minutes=100_001), "minutes_invalid", "hours"),
    (TrainingData(title="培训", provider="机构", date=None, minutes=60), "field_required", "date"),
    (TrainingData(title="培训", provider="", date=LAST_MONTH, minutes=60), "field_required", "provider"),
    (TrainingData(title="培训", provider="机构", date=LAST_MONTH, minutes=60, notes="n" * 501), "too_long", "notes"),
    (TrainingData.from_mapping({"title": "培训", "provider": "机构", "date": "2024-02-30", "hours": "1"}),
     "date_invalid", "date"),
    (TrainingData.from_mapping({"title": "培训", "provider": "机构", "date": LAST_MONTH.isoformat(),
                                "hours": "1e999999"}), "minutes_invalid", "hours"),
    (TrainingData.from_mapping({"title": "培训", "provider": "机构", "date": LAST_MONTH.isoformat(),
                                "minutes": "1.5"}), "minutes_invalid", "hours"),
])
def test_training_rules_have_codes_and_fields(site, data, code, field):
    with pytest.raises(RecordError) as info:
        record_training(site.coordinator, site.org, site.member, data)
    assert (info.value.code, info.value.field) == (code, field)


def test_hours_are_read_as_whole_minutes():
    read = TrainingData.from_mapping({"title": "t", "provider": "p", "date": LAST_MONTH.isoformat(), "hours": "0.01"})
    assert read.minutes == 1  # 36 seconds, rounded to the nearest minute
    assert TrainingData.from_mapping({"hours": "1.25"}).minutes == 75
    assert TrainingData.from_mapping({"minutes": 45, "hours": "9"}).minutes == 45


def test_an_evaluation_dates_are_checked_against_today_in_beijing(site):
    now = dt.datetime(2024, 6, 30, 17, 0, tzinfo=dt.UTC)  # already 1 July in Beijing
    record_evaluation(site.admin, site.org, site.member, EvaluationData(
        period_start=dt.date(2024, 1, 1), period_end=dt.date(2024, 7, 1), rating="good", comment="好"), now=now)
    with pytest.raises(RecordError) as info:
        record_evaluation(site.admin, site.org, site.member, EvaluationData(
            period_start=dt.date(2024, 1, 1), period_end=dt.date(2024, 7, 2), rating="good", comment="好"), now=now)
    assert (info.value.code, info.value.field) == ("date_in_future", "period_end")


# --- withdrawal ------------------------------------------------------------------------------------------------------

def test_withdrawal_hides_the_record_from_the_volunteer_and_keeps_the_original(app, make, site):
    wrong = record_award(site.coordinator, site.org, site.member, AwardData(
        title="抗震救灾先进个人", provider="青海省人民政府", date=LAST_MONTH, level="provincial"))
    kept = record_training(site.coordinator, site.org, site.member, TrainingData(
        title="心肺复苏", provider="红十字会", date=LAST_MONTH, minutes=120))
    db.session.commit()
    own = app.test_client()
    login(own, make.account_of(site.member))
    assert "抗震救灾先进个人" in page_of(own, "/volunteer/records")
    before_rows, before_count = rows(), count()

    staff = app.test_client()
    login(staff, site.admin)
    url = f"{site.url()}/{wrong.id}/withdraw"
    response = staff.post(url, data={"reason": "  "})  # a reason is needed
    assert response.status_code == 422
    assert error_of(response.get_data(as_text=True), f"reason-{wrong.id}")
    assert rows() == before_rows

    response = staff.post(url, data={"reason": "记录在了错误的志愿者名下"})
    assert response.status_code == 302
    assert count() == before_count + 1
    assert rows()[:len(before_rows)] == before_rows  # the original rows are exactly as they were
    withdrawal = db.session.scalar(db.select(VolunteerRecord).where(VolunteerRecord.kind == "withdrawal"))
    assert (withdrawal.refers_to_id, withdrawal.text, withdrawal.volunteer_id, withdrawal.organization_id,
            withdrawal.recorded_by_id) == (wrong.id, "记录在了错误的志愿者名下", site.member.id, site.org.id,
                                           site.admin.id)
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "record.withdrawn")) is not None

    mine = page_of(own, "/volunteer/records")
    assert "抗震救灾先进个人" not in mine and "心肺复苏" in mine and "No awards recorded yet." in mine
    staff_page = page_of(staff, site.url())
    assert "抗震救灾先进个人" in staff_page and "Withdrawn" in staff_page and "记录在了错误的志愿者名下" in staff_page
    assert f"/{wrong.id}/withdraw" not in staff_page and f"/{kept.id}/withdraw" in staff_page

    # once is enough: a second withdrawal is refused and writes nothing
    response = staff.post(url, data={"reason": "again"})
    assert response.status_code == 422
    assert "This record has already been withdrawn." in response.get_data(as_text=True)
    assert count() == before_count + 1


def test_withdrawal_is_refused_to_other_organizations_and_for_others_records(app, make, site):
    record = record_training(site.coordinator, site.org, site.member, TrainingData(
        title="心肺复苏", provider="红十字会", date=LAST_MONTH, minutes=120))
    second = member_of(make, site.org)
    db.session.commit()
    before = count()
    client = app.test_client()
    login(client, site.other_coordinator)
    assert client.post(f"{site.url()}/{record.id}/withdraw", data={"reason": "x"}).status_code == 403
    login(client, site.coordinator)
    # the record through another member's URL, or a withdrawal row, is not found
    assert client.post(f"{site.url(second)}/{record.id}/withdraw", data={"reason": "x"}).status_code == 404
    assert client.post(f"{site.url()}/999999/withdraw", data={"reason": "x"}).status_code == 404
    with pytest.raises(Forbidden):
        withdraw_record(site.other_coordinator, record, "x")
    assert count() == before
    withdrawal = withdraw_record(site.coordinator, record, "重复录入")
    db.session.commit()
    assert client.post(f"{site.url()}/{withdrawal.id}/withdraw", data={"reason": "x"}).status_code == 404
    with pytest.raises(RecordError) as info:
        withdraw_record(site.coordinator, withdrawal, "x")
    assert info.value.code == "not_withdrawable"


def test_a_record_stays_withdrawable_after_the_volunteer_left(make, site):
    record = record_training(site.coordinator, site.org, site.member, TrainingData(
        title="心肺复苏", provider="红十字会", date=LAST_MONTH, minutes=120))
    leave_organization(make.account_of(site.member), site.org)
    withdraw_record(site.coordinator, record, "误录")
    assert count(VolunteerRecord.kind == "withdrawal") == 1


# --- what the database guarantees ------------------------------------------------------------------------------------

@pytest.mark.parametrize("statement", [
    "UPDATE volunteer_records SET title = 'forged'",
    "UPDATE volunteer_records SET minutes = 60000",
    "DELETE FROM volunteer_records",
])
def test_volunteer_records_refuse_update_and_delete(site, statement):
    record_training(site.coordinator, site.org, site.member, TrainingData(
        title="心肺复苏", provider="红十字会", date=LAST_MONTH, minutes=120))
    db.session.commit()
    before = rows()
    with pytest.raises(sa.exc.DatabaseError) as info:
        db.session.execute(sa.text(statement))
        db.session.flush()
    assert "append-only" in str(info.value)
    db.session.rollback()
    assert rows() == before


@pytest.mark.parametrize("values", [
    {"kind": "training", "title": "t", "provider": "p", "minutes": 0},
    {"kind": "training", "title": "t", "provider": "p"},  # no length
    {"kind": "award", "title": "t", "provider": "p", "level": "galactic"},
    {"kind": "evaluation", "period_start": dt.date(2024, 5, 1), "period_end": dt.date(2024, 4, 1),
     "rating": "good", "text": "c"},
    {"kind": "evaluation", "period_start": dt.date(2024, 1, 1), "period_end": dt.date(2024, 4, 1),
     "rating": "superb", "text": "c"},
    {"kind": "withdrawal", "text": "no record named"},
    {"kind": "diary", "title": "t"},
])
def test_the_database_refuses_an_impossible_record(site, values):
    with pytest.raises(sa.exc.IntegrityError):
        db.session.add(VolunteerRecord(volunteer_id=site.member.id, organization_id=site.org.id,
                                       recorded_by_id=site.admin.id, date=LAST_MONTH, **values))
        db.session.flush()
    db.session.rollback()


# --- CSRF ------------------------------------------------------------------------------------------------------------

@pytest.fixture
def csrf_app(tmp_path):
    yield from serve(build_app(tmp_path, WTF_CSRF_ENABLED=True))


def test_a_post_without_the_csrf_token_is_refused(csrf_app):
    site = build_site(Factory(csrf_app))
    record = record_training(site.coordinator, site.org, site.member, TrainingData(
        title="心肺复苏", provider="红十字会", date=LAST_MONTH, minutes=120))
    db.session.commit()
    client = csrf_app.test_client()
    login(client, site.coordinator)
    assert client.post(site.url(), data=AWARD).status_code == 400
    assert client.post(f"{site.url()}/{record.id}/withdraw", data={"reason": "误录"}).status_code == 400
    assert count() == 1

    page = page_of(client, site.url())
    token = re.search(r'name="award-csrf_token" type="hidden" value="([^"]+)"', page)
    assert token
    assert client.post(site.url(), data={**AWARD, "award-csrf_token": token.group(1)}).status_code == 302
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    response = client.post(f"{site.url()}/{record.id}/withdraw", data={"reason": "误录", "csrf_token": token.group(1)})
    assert response.status_code == 302
    assert count() == 3
