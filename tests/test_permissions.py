"""The permission matrix: every route × role × own or other organization, with the expected status.

Every table below has one expectation per role, in this order (the columns):

    anonymous   nobody signed in (for the API: no Authorization header)
    no_profile  a signed-in account without a volunteer profile
    member_a    a volunteer who is an active member of organization A
    volunteer   a volunteer who belongs to no organization (B has invited her to; she has not answered)
    coord_a     a coordinator of A                    coord_b   a coordinator of B (the other organization)
    admin_a     the org admin of A                    admin_b   the org admin of B
    admin_p     the org admin of P, an organization still waiting for approval
    platform    a platform admin (civil affairs)

A and B are approved and take members on approval. Organization-scoped rows target A (so coord_b and admin_b are
"the other organization"), B (the same from B's side) or the pending P.

Reads assert the exact status (a redirect also asserts where it goes; a download, its media type and first bytes).
Writes also assert what the database holds afterwards: the row's ``state`` is read before and after the request;
``ok(...)`` means it must have become ``after(before)``, ``no(...)`` means it must be unchanged. API errors must be
``{"error": {"code", "message"}}``.

Around the matrix: revoked, malformed and disabled-account tokens get 401; a browser session counts for nothing on
the (CSRF-exempt) API; ``test_every_route_is_in_the_matrix`` fails when a route is added without a row here; and the
CSRF tests replay every web write, as a role it is permitted to, without its token (400, nothing written).
"""
from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import current_app
from PIL import Image
from sqlalchemy import func
from werkzeug.security import check_password_hash

from volunteer_registry.accounts.models import ApiToken, User
from volunteer_registry.accounts.permissions import staff_role
from volunteer_registry.accounts.services import (
    create_api_token,
    find_user,
    make_reset_token,
    make_signup_token,
    revoke_api_token,
)
from volunteer_registry.activities.models import Activity, RosterMember, Shift, ShiftSeries, Signup
from volunteer_registry.activities.schedule import SeriesData, create_series, join_roster
from volunteer_registry.activities.services import sign_up
from volunteer_registry.audit.models import AuditEvent
from volunteer_registry.calendars.services import open_feed
from volunteer_registry.certificates.models import Certificate, CertificateRequest
from volunteer_registry.certificates.services import issue_certificate, request_certificate, today
from volunteer_registry.certificates.tokens import token_text
from volunteer_registry.checkin.kiosk import kiosk_token
from volunteer_registry.checkin.models import AttendanceSession, ManualEntry, Scan
from volunteer_registry.checkin.services import ScanRequest, record_manual_entry, record_scan
from volunteer_registry.corrections.models import CorrectionRequest
from volunteer_registry.corrections.services import report_omission
from volunteer_registry.exchange.models import ReceivedEvent, TransferCode
from volunteer_registry.exchange.services import create_transfer_code
from volunteer_registry.extensions import db
from volunteer_registry.ledger.log import extend_log
from volunteer_registry.ledger.models import LedgerLeaf, LedgerState
from volunteer_registry.ledger.services import decide_entries, record_missing_service
from volunteer_registry.models import utcnow
from volunteer_registry.notifications.services import notify, unread_count, unsubscribe_token, wants
from volunteer_registry.organizations.models import Invitation, Membership, Organization, StaffRole
from volunteer_registry.organizations.services import (
    apply_for_membership,
    create_invitation,
    decide_membership,
    invite_member,
    set_seal,
)
from volunteer_registry.points.models import ServicePoint, ServicePointPoster
from volunteer_registry.points.services import PointData, create_point, issue_poster
from volunteer_registry.points.tokens import poster_token
from volunteer_registry.records.models import VolunteerRecord
from volunteer_registry.records.services import TrainingData, record_training
from volunteer_registry.supervision.models import Complaint, ScanCursor, SpotCheck
from volunteer_registry.supervision.services import file_complaint, start_spot_check
from volunteer_registry.timeutil import local
from volunteer_registry.verification.models import Verification
from volunteer_registry.volunteers.queries import volunteer_for_user
from volunteer_registry.volunteers.vault import decrypt_id_number

from .conftest import PASSWORD, Factory, build_app, login, serve, valid_credit_code, valid_resident_id

ROLES = ("anonymous", "no_profile", "member_a", "volunteer", "coord_a", "coord_b", "admin_a", "admin_b", "admin_p",
         "platform")
TARGET_EMAIL = "target@example.org"  # an account with no role, for sign-in and password-reset rows
NEW_PASSWORD = "another horse battery staple"
NEW_NAME = "次仁"


# --- the world every case starts from ------------------------------------------------------------------------------

@dataclass
class World:
    users: dict[str, User]
    orgs: dict[str, Organization]
    memberships: dict[str, Membership]  # the pending requests to join A and B
    id_numbers: dict[str, str]  # the applicants' full ID numbers
    member_token: ApiToken
    target: User
    values: dict[str, Any]

    def user(self, role: str) -> User | None:
        return None if role == "anonymous" else self.users[role]

    def fmt(self, template: str) -> str:
        return template.format(**self.values)


def build_world(make: Factory) -> World:
    platform = make.admin()
    admins = {key: make.user() for key in "ABP"}
    for user, name in ((admins["A"], "马晓东"), (admins["B"], "才让"), (platform, "王建国")):
        user.display_name = name  # the handler printed on the certificates they issue
    orgs = {
        "A": make.org(admin_user=admins["A"], name="Organization A"),
        "B": make.org(admin_user=admins["B"], name="Organization B"),
        "P": make.org(admin_user=admins["P"], name="Organization P", status="pending"),
    }
    users = {
        "no_profile": make.user(), "member_a": make.user(), "volunteer": make.user(),
        "coord_a": make.coordinator(orgs["A"]), "coord_b": make.coordinator(orgs["B"]),
        "admin_a": admins["A"], "admin_b": admins["B"], "admin_p": admins["P"], "platform": platform,
    }
    make.volunteer(users["member_a"])
    decide_membership(admins["A"], apply_for_membership(users["member_a"], orgs["A"]), True)
    # B invited the volunteer (it imported a row naming her): she is not a member of B unless she accepts
    invite_member(admins["B"], orgs["B"], make.volunteer(users["volunteer"]))
    memberships, applicants = {}, {}
    for key in "AB":
        person = make.user()
        applicants[key] = make.volunteer(person)
        memberships[key] = apply_for_membership(person, orgs[key])
    _invitation, invite = create_invitation(admins["A"], orgs["A"], "coordinator")
    set_seal(admins["B"], orgs["B"], seal_image())  # B has a seal to show or remove; A has none yet
    member_token, _plaintext = create_api_token(users["member_a"], "phone")
    target = make.user(TARGET_EMAIL)
    now = utcnow().replace(microsecond=0)
    tomorrow = {"starts_at": now + dt.timedelta(days=1), "ends_at": now + dt.timedelta(days=1, hours=3)}
    month_ago = now - dt.timedelta(days=30)
    activities = {
        "act_a": make.activity(orgs["A"], **tomorrow),  # open for sign-up
        "appr_a": make.activity(orgs["A"], signup_mode="approval", **tomorrow),  # each sign-up is decided
        "draft_a": make.activity(orgs["A"], status="draft"),
        "run_a": make.activity(orgs["A"], allows_walk_ins=True),  # running now, walk-ins welcome
        "now_a": make.activity(orgs["A"]),  # running now: member_a signed up and is checked in
        "now_b": make.activity(orgs["B"]),
        # over: member_a served there an hour (approved, certified)
        "past_a": make.activity(orgs["A"], starts_at=month_ago, ends_at=month_ago + dt.timedelta(hours=3)),
    }
    pending_signup = sign_up(users["volunteer"], activities["appr_a"])
    member = volunteer_for_user(users["member_a"])
    now_a = activities["now_a"]
    sign_up(users["member_a"], now_a, now=now_a.starts_at - dt.timedelta(days=1))
    session = record_scan(admins["A"], ScanRequest(event_id="world-scan-0001", activity_code=now_a.code,
                                                   volunteer_number=member.volunteer_number),
                          now=now_a.starts_at + dt.timedelta(minutes=5)).session
    entry = record_manual_entry(admins["A"], now_a, member, now_a.starts_at + dt.timedelta(minutes=10),
                                now_a.starts_at + dt.timedelta(minutes=40), "the scanner was down")
    run_a = activities["run_a"]  # member_a served there for half an hour: a pending ledger entry of A
    for direction, minutes in (("in", 5), ("out", 35)):
        scan = ScanRequest(event_id=f"world-served-{direction}", activity_code=run_a.code,
                           volunteer_number=member.volunteer_number, direction=direction)
        served = record_scan(admins["A"], scan, now=run_a.starts_at + dt.timedelta(minutes=minutes))
    record_a = record_training(admins["A"], orgs["A"], member, TrainingData(  # a record of A, for withdrawal rows
        title="First aid", provider="Red Cross", date=dt.date(2024, 1, 15), minutes=120))
    # certificates: member_a's approved hour at past_a (recorded by coord_a, approved by admin_a), certified for
    # that day; a request of member_a's to A for the period from then to today, waiting
    past_a = activities["past_a"]
    missing = record_missing_service(users["coord_a"], past_a, member.id, past_a.starts_at,
                                     past_a.starts_at + dt.timedelta(hours=1), "the scanner was down")
    decide_entries(admins["A"], orgs["A"], [missing.id], "approve")
    served_on = local(past_a.starts_at).date()
    certificate = issue_certificate(admins["A"], orgs["A"], member, served_on, served_on, render=False)
    extend_log()
    # civil affairs is spot-checking A (cert_a and the approved hour drawn); someone has complained about cert_a
    spot_check = start_spot_check(platform, orgs["A"], certificates=1, entries=1)
    complaint = file_complaint(certificate=certificate, message="I never saw this volunteer at the centre.")
    # and an approved hour ten days ago that no certificate covers (cert_a covers only the day at past_a): the
    # period the certificate rows issue from; member_a's request to A for it, from that day to today, waiting
    later_a = make.activity(orgs["A"], starts_at=now - dt.timedelta(days=10),
                            ends_at=now - dt.timedelta(days=10, hours=-3))
    later = record_missing_service(users["coord_a"], later_a, member.id, later_a.starts_at,
                                   later_a.starts_at + dt.timedelta(hours=1), "the scanner was down")
    decide_entries(admins["A"], orgs["A"], [later.id], "approve")
    later_on = local(later_a.starts_at).date()
    certificate_request = request_certificate(member, orgs["A"], later_on, today(), "a university application")
    # certificates: C's only org admin served C (recorded and approved by two coordinators of C) and asked C for a
    # certificate: nobody certifies their own service, so civil affairs issues it
    org_c = make.org(name="Organization C")
    volunteer_c = make.volunteer(user=make.org_admin_of(org_c))
    past_c = make.activity(org_c, starts_at=month_ago, ends_at=month_ago + dt.timedelta(hours=3))
    served_c = record_missing_service(make.coordinator(org_c), past_c, volunteer_c.id, past_c.starts_at,
                                      past_c.starts_at + dt.timedelta(hours=1), "the scanner was down")
    decide_entries(make.coordinator(org_c), org_c, [served_c.id], "approve")
    request_c = request_certificate(volunteer_c, org_c, local(past_c.starts_at).date(), today(), "a scholarship")
    # an organization whose only staff member is the volunteer she scanned in and out: civil affairs decides it
    solo = make.org()
    solo_admin = make.org_admin_of(solo)
    solo_volunteer = make.volunteer(user=solo_admin)
    solo_run = make.activity(solo, allows_walk_ins=True)
    for direction, minutes in (("in", 5), ("out", 35)):
        solo_served = record_scan(solo_admin, ScanRequest(
            event_id=f"world-solo-{direction}", activity_code=solo_run.code,
            volunteer_number=solo_volunteer.volunteer_number, direction=direction),
            now=solo_run.starts_at + dt.timedelta(minutes=minutes))
    correction = report_omission(users["member_a"], run_a, run_a.starts_at + dt.timedelta(minutes=40),
                                 run_a.starts_at + dt.timedelta(minutes=70), "I came back after lunch")
    # ongoing service: a service point of now_a with its first poster; roster_a, a weekly duty roster of A from
    # the day after tomorrow (its automatic one-off shift gone) that member_a has joined; member_a's calendar feed
    point_a = create_point(admins["A"], now_a, PointData(name="东关社区服务站", address="8 Kunlun Road",
                                                        latitude=36.6171, longitude=101.7782, radius_m=150))
    poster_a = issue_poster(admins["A"], point_a)
    roster_a = make.activity(orgs["A"], **tomorrow)
    first_day = local(now).date() + dt.timedelta(days=2)
    series = create_series(admins["A"], roster_a, SeriesData.from_mapping(roster_rule(first_day, "09:00")))
    join_roster(users["member_a"], series)
    roster_shifts = list(db.session.scalars(db.select(Shift).where(Shift.series_id == series.id)
                                            .order_by(Shift.starts_at)))
    _feed, feed_token = open_feed(users["member_a"])
    transfer_code, _row = create_transfer_code(member, users["member_a"])
    draft_shift = db.session.scalar(db.select(Shift.id).where(Shift.activity_id == activities["draft_a"].id))
    for user in users.values():  # one unread notification each, for the rows that read or mark them
        notify(user, "membership.decided", organization="Organization A", decision="approved")
    db.session.commit()
    values = {
        "A": orgs["A"].code, "B": orgs["B"].code, "P": orgs["P"].code,
        "pending_a": memberships["A"].id, "pending_b": memberships["B"].id,
        "applicant_a": applicants["A"].volunteer_number, "applicant_b": applicants["B"].volunteer_number,
        "invite": invite, "member_token": member_token.id, "reset": make_reset_token(target),
        "signup_link": make_signup_token("newcomer@example.org"),
        "unsubscribe": unsubscribe_token(target, "membership.decided"),
        **{key: activity.code for key, activity in activities.items()},
        "number_member_a": member.volunteer_number, "pending_signup": pending_signup.id,
        "session_a": session.id, "entry_a": entry.id, "ledger_a": served.entry.id, "correction_a": correction.id,
        "ledger_solo": solo_served.entry.id, "shift_a": session.shift_id,
        "record_a": record_a.id,
        "served_on": served_on, "later_on": later_on, "cert_a": certificate.code,
        "cert_request_a": certificate_request.id, "cert_request_c": request_c.id,
        "cert_token_a": token_text(certificate.token), "cert_token_a_lower": token_text(certificate.token).lower(),
        "volunteer_id_member_a": member.id,
        "kiosk_a": kiosk_token(now_a.code, utcnow()),
        "spot_a": spot_check.code, "complaint": complaint.code, "complaint_id": complaint.id,
        "point_a": point_a.code, "poster_a": poster_token(point_a, poster_a),
        "poster_a_lower": poster_token(point_a, poster_a).lower(), "roster_a": roster_a.code,
        "roster_day": first_day, "shift_r1": roster_shifts[0].id, "shift_r2": roster_shifts[1].id,
        "feed_a": feed_token, "draft_shift": draft_shift, "transfer_a": transfer_code,
    }
    id_numbers = {key: decrypt_id_number(v.id_number_encrypted) for key, v in applicants.items()}
    return World(users, orgs, memberships, id_numbers, member_token, target, values)


def roster_rule(first_day: dt.date, start_time: str) -> dict:
    """A weekly duty roster's rule from ``first_day`` (its weekday), four shifts of three hours, as its form posts
    it (SeriesData.from_mapping reads the same)."""
    weekday = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[first_day.weekday()]
    return {"frequency": "weekly", "weekdays": [weekday], "interval": "1", "first_day": first_day.isoformat(),
            "until": "", "count": "4", "start_time": start_time, "duration_minutes": "180", "capacity": "",
            "role": "", "exceptions": ""}


def seal_image() -> bytes:
    """A small PNG, as an organization's seal."""
    out = io.BytesIO()
    Image.new("RGBA", (32, 32), (200, 16, 16, 255)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def world(app, make) -> World:
    return build_world(make)


# --- what a cell of the matrix can expect --------------------------------------------------------------------------

@dataclass(frozen=True)
class Redirect:
    """302 to a path matching this regular expression (after World.fmt); the query string is not compared."""
    path: str


@dataclass(frozen=True)
class Err:
    """A JSON error: this status and ``{"error": {"code": code, "message": ...}}``."""
    status: int
    code: str


@dataclass(frozen=True)
class Refused:
    """A refused scan: this status and error code, and the refused scan (kept) in the body."""
    status: int
    code: str


@dataclass(frozen=True)
class Download:
    """200 with a file of this media type whose content starts with ``magic`` (a download, not a JSON body)."""
    mimetype: str
    magic: bytes


@dataclass(frozen=True)
class Outcome:
    """A write's expected response, and whether it changes the row's state."""
    response: Any
    changed: bool


def ok(response) -> Outcome:
    return Outcome(response, True)


def no(response) -> Outcome:
    return Outcome(response, False)


LOGIN = Redirect("/login")
HOME = Redirect("/")
PROFILE = Redirect("/volunteer/profile")
SHOW_A = Redirect("/organizations/{A}")
SHOW_B = Redirect("/organizations/{B}")
SHOW_P = Redirect("/organizations/{P}")
MEMBERS_A = Redirect("/organizations/{A}/members")
MEMBERS_B = Redirect("/organizations/{B}/members")
NEW_ACTIVITY = Redirect("/activities/[A-Z0-9]+")
ACT_A = Redirect("/activities/{act_a}")
APPR_A = Redirect("/activities/{appr_a}")
DRAFT_A = Redirect("/activities/{draft_a}")
SIGNUPS_APPR_A = Redirect("/activities/{appr_a}/signups")
DAY_A = Redirect("/activities/{now_a}/day")
ROSTER_A = Redirect("/activities/{roster_a}")
SHIFTS_ACT_A = Redirect("/activities/{act_a}/shifts")
SHIFTS_ROSTER_A = Redirect("/activities/{roster_a}/shifts")
POINT_A = Redirect("/points/{point_a}")
CORRECTIONS_A = Redirect("/organizations/{A}/corrections")
LEDGER_PAGE_A = Redirect("/organizations/{A}/entries")
RECORDS_A = Redirect("/organizations/{A}/members/{number_member_a}/records")
ENTRIES_A = Redirect("/activities/{now_a}/manual-entries")
CERTIFICATE_A = Redirect("/certificates/{cert_a}")
CERTIFICATES_A = Redirect("/organizations/{A}/certificates")
PDF = Download("application/pdf", b"%PDF-")
PNG = Download("image/png", b"\x89PNG")
CSV = Download("text/csv", b"\xef\xbb\xbf")  # UTF-8 with its byte-order mark
XLSX = Download("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK\x03\x04")
JSON = Download("application/json", b"{")
ICS = Download("text/calendar", b"BEGIN:VCALENDAR\r\n")
E401 = Err(401, "token_required")
E403 = Err(403, "forbidden")
E404 = Err(404, "not_found")
NO_PROFILE = Err(422, "volunteer_profile_required")
NO_RECORD = Err(404, "no_volunteer_record")


def _cells(anonymous, default, overrides: dict) -> tuple:
    unknown = set(overrides) - set(ROLES)
    assert not unknown, f"unknown roles {unknown}"
    return tuple(overrides.get(role, anonymous if role == "anonymous" else default) for role in ROLES)


def everyone(default, **overrides) -> tuple:
    return _cells(default, default, overrides)


def signed_in(default, **overrides) -> tuple:
    """A login_required route: anonymous is sent to the sign-in page and nothing changes."""
    return _cells(no(LOGIN) if isinstance(default, Outcome) else LOGIN, default, overrides)


def token_required(default, **overrides) -> tuple:
    """An API route that needs a bearer token: without one, 401 token_required and nothing changes."""
    return _cells(no(E401) if isinstance(default, Outcome) else E401, default, overrides)


@dataclass(frozen=True)
class Row:
    method: str
    url: str
    cells: tuple  # one expectation per role, in ROLES order
    data: Any = None  # a form/JSON dict, or data(world, actor) -> dict
    state: Callable | None = None  # state(world, actor, client) -> a comparable value
    after: Callable | None = None  # after(before, world, actor) -> the state a permitted write leaves
    shows: Callable | None = None  # shows(world, actor) -> text the response holds exactly when the write happens

    @property
    def is_api(self) -> bool:
        return self.url.startswith("/api/")

    def expect(self, role: str):
        return self.cells[ROLES.index(role)]

    def __str__(self) -> str:
        return f"{self.method} {self.url}"


def get(url: str, *cells) -> Row:
    return Row("GET", url, cells)


# --- state readers and expected changes ----------------------------------------------------------------------------

def becomes(value):
    return lambda before, world, actor: value


def plus_one(before, world, actor):
    return before + 1


def org_status(key):
    return lambda w, actor, client: w.orgs[key].status


def org_name(key):
    return lambda w, actor, client: w.orgs[key].name


def has_seal(key):
    return lambda w, actor, client: w.orgs[key].seal_png is not None


def own_calendar_feeds(w, actor, client):
    """How many secrets the actor's calendar feed has had (audited), or None without a volunteer profile."""
    volunteer = volunteer_for_user(actor) if actor is not None else None
    if volunteer is None:
        return None
    return db.session.scalar(db.select(func.count()).select_from(AuditEvent).where(
        AuditEvent.actor_id == actor.id, AuditEvent.action.in_(("calendar.opened", "calendar.reset"))))


def own_transfer_codes(w, actor, client):
    """How many transfer codes the actor's volunteer record has, or None without one."""
    volunteer = volunteer_for_user(actor) if actor is not None else None
    if volunteer is None:
        return None
    return db.session.scalar(db.select(func.count()).select_from(TransferCode)
                             .where(TransferCode.volunteer_id == volunteer.id))


def refused_transfers(w, actor, client):
    """Transfers in refused for the actor (audited, whatever the reason)."""
    if actor is None:
        return 0
    return db.session.scalar(db.select(func.count()).select_from(AuditEvent).where(
        AuditEvent.actor_id == actor.id, AuditEvent.action == "exchange.transfer_refused"))


def spent_transfer_codes(w, actor, client):
    return db.session.scalar(db.select(func.count()).select_from(TransferCode).where(TransferCode.used_at.is_not(None)))


def request_status(key):
    """The status of the pending request to join A or B made in the world."""
    return lambda w, actor, client: w.memberships[key].status


def own_membership(key):
    def state(w, actor, client):
        volunteer = volunteer_for_user(actor)
        if volunteer is None:
            return None
        return db.session.scalar(db.select(Membership.status).where(
            Membership.organization_id == w.orgs[key].id, Membership.volunteer_id == volunteer.id))
    return state


def membership_count(key, status=None):
    def state(w, actor, client):
        query = db.select(func.count()).select_from(Membership).where(Membership.organization_id == w.orgs[key].id)
        if status:
            query = query.where(Membership.status == status)
        return db.session.scalar(query)
    return state


def invitation_count(key, role):
    return lambda w, actor, client: db.session.scalar(
        db.select(func.count()).select_from(Invitation).where(Invitation.organization_id == w.orgs[key].id,
                                                              Invitation.role == role))


def orgs_run_by(name):
    """Organizations called ``name`` whose org admin is the actor (any, for anonymous)."""
    def state(w, actor, client):
        query = db.select(func.count()).select_from(Organization).where(Organization.name == name)
        if actor is not None:
            query = query.join(StaffRole, StaffRole.organization_id == Organization.id).where(
                StaffRole.user_id == actor.id, StaffRole.role == "admin")
        return db.session.scalar(query)
    return state


def id_number_views(own: bool):
    """Audit events of full ID-number views (by the actor, when ``own``)."""
    def state(w, actor, client):
        query = db.select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "volunteer.id_number_viewed")
        if own and actor is not None:
            query = query.where(AuditEvent.actor_id == actor.id)
        return db.session.scalar(query)
    return state


def own_id_number(w, actor):
    volunteer = volunteer_for_user(actor)
    return decrypt_id_number(volunteer.id_number_encrypted) if volunteer else None


def own_volunteer_name(w, actor, client):
    volunteer = volunteer_for_user(actor)
    return volunteer.name if volunteer else None


def tokens_of(w, actor, client):
    query = db.select(func.count()).select_from(ApiToken)
    if actor is not None:
        query = query.where(ApiToken.user_id == actor.id)
    return db.session.scalar(query)


def users_with_chinese(w, actor, client):
    return tuple(db.session.scalars(db.select(User.id).where(User.locale == "zh_CN").order_by(User.id)))


def deleted_accounts(w, actor, client):
    return tuple(db.session.scalars(db.select(User.id).where(User.deleted_at.is_not(None)).order_by(User.id)))


def add_actor(before, w, actor):
    return tuple(sorted((*before, actor.id)))


def session_signed_in(w, actor, client):
    with client.session_transaction() as session:
        return "_user_id" in session


def activities_of(key, title):
    return lambda w, actor, client: db.session.scalar(
        db.select(func.count()).select_from(Activity).where(Activity.organization_id == w.orgs[key].id,
                                                            Activity.title == title))


def own_signup(key):
    """The actor's sign-up status for the world's activity ``key`` (act_a, draft_a)."""
    def state(w, actor, client):
        volunteer = volunteer_for_user(actor)
        if volunteer is None:
            return None
        return db.session.scalar(db.select(Signup.status).join(Activity, Activity.id == Signup.activity_id).where(
            Activity.code == w.values[key], Signup.volunteer_id == volunteer.id))
    return state


def activity_value(key, attribute):
    return lambda w, actor, client: getattr(
        db.session.scalar(db.select(Activity).where(Activity.code == w.values[key])), attribute)


def signup_status(key):
    return lambda w, actor, client: db.session.get(Signup, w.values[key]).status


def accepted_scans(w, actor, client):
    return db.session.scalar(db.select(func.count()).select_from(Scan).where(Scan.accepted.is_(True)))


def session_closed(key):
    return lambda w, actor, client: db.session.get(AttendanceSession, w.values[key]).checked_out_at is not None


def shifts_of(key):
    """How many shifts (open or cancelled) the world's activity ``key`` has."""
    return lambda w, actor, client: db.session.scalar(
        db.select(func.count()).select_from(Shift).join(Activity, Activity.id == Shift.activity_id).where(
            Activity.code == w.values[key]))


def shift_status(key):
    return lambda w, actor, client: db.session.get(Shift, w.values[key]).status


def roster_of(key):
    """The world's activity ``key``'s duty roster: (its start time, its rule), or None without one."""
    def state(w, actor, client):
        series = db.session.scalar(db.select(ShiftSeries).join(Activity, Activity.id == ShiftSeries.activity_id)
                                   .where(Activity.code == w.values[key]))
        return (series.start_time, series.rule) if series else None
    return state


def own_roster(key):
    """The actor's membership of the world's activity ``key``'s roster: its status, or None."""
    def state(w, actor, client):
        volunteer = volunteer_for_user(actor) if actor is not None else None
        if volunteer is None:
            return None
        return db.session.scalar(db.select(RosterMember.status).join(ShiftSeries).join(
            Activity, Activity.id == ShiftSeries.activity_id).where(
            Activity.code == w.values[key], RosterMember.volunteer_id == volunteer.id))
    return state


def own_shift_signup(key):
    """The actor's sign-up status for the world's shift ``key`` (shift_r2), or None."""
    def state(w, actor, client):
        volunteer = volunteer_for_user(actor) if actor is not None else None
        if volunteer is None:
            return None
        return db.session.scalar(db.select(Signup.status).where(Signup.shift_id == w.values[key],
                                                                Signup.volunteer_id == volunteer.id))
    return state


def points_of_activity(key):
    return lambda w, actor, client: db.session.scalar(
        db.select(func.count()).select_from(ServicePoint).join(Activity, Activity.id == ServicePoint.activity_id)
        .where(Activity.code == w.values[key]))


def point_value(attribute):
    """An attribute of point_a (name, status)."""
    return lambda w, actor, client: getattr(
        db.session.scalar(db.select(ServicePoint).where(ServicePoint.code == w.values["point_a"])), attribute)


def posters_of_point(w, actor, client):
    """point_a's posters: (serial, withdrawn) each."""
    return tuple((serial, revoked) for serial, revoked in db.session.execute(
        db.select(ServicePointPoster.serial, ServicePointPoster.revoked_at.is_not(None))
        .join(ServicePoint, ServicePoint.id == ServicePointPoster.point_id)
        .where(ServicePoint.code == w.values["point_a"]).order_by(ServicePointPoster.serial)))


def manual_entry_count(w, actor, client):
    return db.session.scalar(db.select(func.count()).select_from(ManualEntry))


def entry_status(key):
    return lambda w, actor, client: db.session.get(ManualEntry, w.values[key]).status


def ledger_status(key):
    return lambda w, actor, client: db.session.get(LedgerState, w.values[key]).status


def correction_status(key):
    return lambda w, actor, client: db.session.get(CorrectionRequest, w.values[key]).status


def corrections_by(w, actor, client):
    volunteer = volunteer_for_user(actor) if actor is not None else None
    return db.session.scalar(db.select(func.count()).select_from(CorrectionRequest).where(
        CorrectionRequest.volunteer_id == (volunteer.id if volunteer else None)))


def records_of(key):
    """Training, award, evaluation and withdrawal rows recorded by A, B or P."""
    return lambda w, actor, client: db.session.scalar(
        db.select(func.count()).select_from(VolunteerRecord).where(VolunteerRecord.organization_id == w.orgs[key].id))


def record_withdrawn(key):
    return lambda w, actor, client: db.session.scalar(
        db.select(func.count()).select_from(VolunteerRecord).where(VolunteerRecord.refers_to_id == w.values[key])) > 0


#: a training course for member_a, as the records page's training form posts it
TRAINING_FORM = {"kind": "training", "training-title": "Matrix course", "training-provider": "Red Cross",
                 "training-date": "2024-02-01", "training-hours": "2"}


def scans_of(key):
    return lambda w, actor, client: db.session.scalar(
        db.select(func.count()).select_from(Scan).join(Activity, Activity.id == Scan.activity_id).where(
            Activity.code == w.values[key]))


def certificate_status(key):
    return lambda w, actor, client: db.session.scalar(
        db.select(Certificate.status).where(Certificate.code == w.values[key]))


def certificates_of(key):
    """Certificates issued by A, B or P."""
    return lambda w, actor, client: db.session.scalar(
        db.select(func.count()).select_from(Certificate).where(Certificate.organization_id == w.orgs[key].id))


def certificate_request_status(key):
    return lambda w, actor, client: db.session.get(CertificateRequest, w.values[key]).status


def certificate_requests_by(w, actor, client):
    volunteer = volunteer_for_user(actor) if actor is not None else None
    return db.session.scalar(db.select(func.count()).select_from(CertificateRequest).where(
        CertificateRequest.volunteer_id == (volunteer.id if volunteer else None)))


def verifications(w, actor, client):
    return db.session.scalar(db.select(func.count()).select_from(Verification))


def outbox_to(email):
    return lambda w, actor, client: sum(1 for m in current_app.extensions.get("outbox", []) if m.to == email)


# --- request bodies ------------------------------------------------------------------------------------------------

def org_details(name: str, credit_code: str | None = None) -> dict:
    return {"name": name, "org_type": "social_group", "credit_code": credit_code or valid_credit_code(),
            "region_code": "630102", "address": "8 Kunlun Road", "person_in_charge": "Tashi",
            "contact_phone": "13912345678", "contact_email": "team@example.org", "description": "",
            "join_mode": "approval"}


def renamed(key):
    return lambda w, actor: org_details("Renamed Volunteers", credit_code=w.orgs[key].credit_code)


def profile_details(w, actor) -> dict:
    """The actor's own profile with a new name (the stored ID kept), or a new profile."""
    own = volunteer_for_user(actor)
    details = {"name": NEW_NAME, "phone": "13900001111", "region_code": "630102", "email": "",
               "skills": "driving", "id_type": "resident_id"}
    if own is not None:
        details.update(gender=own.gender, birth_date=own.birth_date.isoformat(), id_number="")
    else:
        birth = dt.date(1990, 5, 17)
        details.update(gender="male", birth_date=birth.isoformat(),
                       id_number=valid_resident_id(birth=birth, gender="male"))
    return details


def profile_form(w, actor) -> dict:
    return {**profile_details(w, actor), "consent": "y"}


def profile_json(w, actor) -> dict:
    return {**profile_details(w, actor), "consent": True}


def seal_file(w, actor) -> dict:
    return {"seal": (io.BytesIO(seal_image()), "seal.png")}


def import_file(w, actor) -> dict:
    birth = dt.date(1988, 1, 2)
    number = valid_resident_id(birth=birth, gender="male")
    content = ("name,gender,birth_date,id_type,id_number,phone,region_code,consent\r\n"
               f"{NEW_NAME},male,{birth.isoformat()},resident_id,{number},13900002222,630102,yes\r\n").encode()
    return {"file": (io.BytesIO(content), "volunteers.csv")}


NEW_PASSWORD_FORM = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}


def activity_json(key):
    return lambda w, actor: {
        "organization": w.values[key], "title": "Matrix activity", "category": "community", "recipient": "Residents",
        "region_code": "630102", "address": "8 Kunlun Road", "person_in_charge": "Tashi",
        "starts_at": "2031-05-01T09:00:00+08:00", "ends_at": "2031-05-01T12:00:00+08:00"}


def card_scan_of_member_a(w, actor) -> dict:
    return {"event_id": "matrix-card-scan-1", "activity": w.values["run_a"],
            "volunteer_number": w.values["number_member_a"], "direction": "in"}


def kiosk_scan_now(w, actor) -> dict:
    return {"event_id": "matrix-kiosk-scan-1", "activity": w.values["run_a"],
            "kiosk_token": kiosk_token(w.values["run_a"], utcnow())}


def _typed(moment: dt.datetime) -> str:
    """A time as typed into a datetime-local field (Beijing time)."""
    return local(moment).strftime("%Y-%m-%dT%H:%M")


def activity_form(title):
    def data(w, actor):
        starts = utcnow() + dt.timedelta(days=3)
        return {"title": title, "category": "community", "recipient": "Residents", "region_code": "630102",
                "address": "8 Kunlun Road", "person_in_charge": "Tashi", "starts_at": _typed(starts),
                "ends_at": _typed(starts + dt.timedelta(hours=3)), "signup_mode": "auto", "is_recruiting": "y",
                "grace_minutes": "30"}
    return data


def manual_form(w, actor):
    activity = db.session.scalar(db.select(Activity).where(Activity.code == w.values["now_a"]))
    return {"volunteer_number": w.values["number_member_a"],
            "started_at": _typed(activity.starts_at + dt.timedelta(minutes=5)),
            "ended_at": _typed(activity.starts_at + dt.timedelta(minutes=65)), "reason": "phone battery died"}


def shift_form(w, actor):
    """One more shift of act_a, the day after it (act_a is tomorrow)."""
    starts = utcnow() + dt.timedelta(days=2)
    return {"starts_at": _typed(starts), "ends_at": _typed(starts + dt.timedelta(hours=3)), "capacity": "4",
            "role": "driver"}


def roster_form(start_time: str):
    """roster_a's rule from its first day (a new roster for act_a, or roster_a's own moved to another time)."""
    return lambda w, actor: roster_rule(w.values["roster_day"], start_time)


#: a service point as its form posts it (created for now_a, or point_a renamed)
POINT_FORM = {"name": "湟水河巡护站", "address": "3 Huangshui North Bank", "latitude": "36.6402",
              "longitude": "101.7451", "radius_m": "200"}


def poster_scan_here(w, actor) -> dict:
    """A tap on the page point_a's poster opens, standing at the point."""
    return {"event_id": "matrix-poster-0001", "latitude": "36.6171", "longitude": "101.7782"}


def checkout_form(w, actor):
    # a check-out that has happened: a fixed one may not lie in the future
    return {"checked_out_at": _typed(utcnow() - dt.timedelta(minutes=1)), "reason": "forgot to scan out"}


def scanner_scan(w, actor):
    return {"event_id": "matrix-scan-0001", "volunteer_number": w.values["number_member_a"], "direction": "auto"}


def since_served(w, days_before: int = 0) -> dict:
    """A period of member_a's approved service that no valid certificate overlaps (cert_a covers only the day at
    past_a), from the day at later_a (or ``days_before`` it) to today."""
    start = w.values["later_on"] - dt.timedelta(days=days_before)
    return {"period_start": start.isoformat(), "period_end": today().isoformat()}


def certificate_request_form(key):
    """member_a asks A or B for a certificate (a period other than the one cert_request_a waits for)."""
    return lambda w, actor: {"organization": w.values[key], **since_served(w, days_before=1),
                             "note": "a job application"}


#: an org admin's answer to cert_request_a, as the certificates page's decline form posts it
DECLINE_FORM = {"decline-reason": "we certify by the calendar year"}


def issue_form(w, actor) -> dict:
    """The bulk issue's confirmation (its first step only shows who, which period and how many hours)."""
    return {**since_served(w), "volunteers": [w.values["volunteer_id_member_a"]], "confirm": "yes"}


def certificate_json(key):
    return lambda w, actor: {"volunteer_number": w.values["number_member_a"], "organization": w.values[key],
                             **since_served(w)}


# --- the matrix ----------------------------------------------------------------------------------------------------

# one row per route, one column per role:
#       anonymous  no_profile member_a   volunteer  coord_a    coord_b    admin_a    admin_b    admin_p    platform
WEB_PAGES = [
    get("/",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/language/zh_CN",
        HOME,      HOME,      HOME,      HOME,      HOME,      HOME,      HOME,      HOME,      HOME,      HOME),
    get("/login",
        200,       HOME,      HOME,      HOME,      HOME,      HOME,      HOME,      HOME,      HOME,      HOME),
    get("/signup",
        200,       HOME,      HOME,      HOME,      HOME,      HOME,      HOME,      HOME,      HOME,      HOME),
    get("/signup/sent",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/signup/{signup_link}",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/signup/not-a-valid-token",
        400,       400,       400,       400,       400,       400,       400,       400,       400,       400),
    get("/password/forgot",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/password/reset/{reset}",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/password/reset/not-a-valid-token",
        400,       400,       400,       400,       400,       400,       400,       400,       400,       400),
    get("/account",
        LOGIN,     200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/notifications",
        LOGIN,     200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/notifications?page=0",
        LOGIN,     400,       400,       400,       400,       400,       400,       400,       400,       400),
    get("/notifications/preferences",
        LOGIN,     200,       200,       200,       200,       200,       200,       200,       200,       200),
    # an email's unsubscribe link: the signed token is the authority, signed in or not
    get("/notifications/unsubscribe/{unsubscribe}",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/notifications/unsubscribe/not-a-valid-token",
        404,       404,       404,       404,       404,       404,       404,       404,       404,       404),
    get("/admin/audit",
        LOGIN,     403,       403,       403,       403,       403,       403,       403,       403,       200),
    get("/admin/organizations",
        LOGIN,     403,       403,       403,       403,       403,       403,       403,       403,       200),
    # certificate requests that no org admin of the organization may issue (C's): civil affairs issues them
    get("/admin/certificate-requests",
        LOGIN,     403,       403,       403,       403,       403,       403,       403,       403,       200),
    get("/platform/entries",
        LOGIN,     403,       403,       403,       403,       403,       403,       403,       403,       200),
    get("/organizations",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/organizations/apply",
        LOGIN,     200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/organizations/mine",
        LOGIN,     200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/organizations/{A}",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/organizations/{A}/manage",
        LOGIN,     403,       403,       403,       200,       403,       200,       403,       403,       200),
    get("/organizations/{B}/manage",
        LOGIN,     403,       403,       403,       403,       200,       403,       200,       403,       200),
    get("/organizations/{A}/edit",
        LOGIN,     403,       403,       403,       403,       403,       200,       403,       403,       403),
    get("/organizations/{A}/invitations",
        LOGIN,     403,       403,       403,       200,       403,       200,       403,       403,       403),
    get("/organizations/{A}/members",
        LOGIN,     403,       403,       403,       200,       403,       200,       403,       403,       403),
    get("/organizations/{B}/members",
        LOGIN,     403,       403,       403,       403,       200,       403,       200,       403,       403),
    get("/organizations/{A}/import",
        LOGIN,     403,       403,       403,       403,       403,       200,       403,       403,       403),
    get("/organizations/{A}/import/template.csv",
        LOGIN,     403,       403,       403,       403,       403,       200,       403,       403,       403),
    get("/organizations/{A}/import/template.xlsx",
        LOGIN,     403,       403,       403,       403,       403,       200,       403,       403,       403),
    get("/organizations/{A}/import/template.pdf",
        LOGIN,     403,       403,       403,       403,       403,       404,       403,       403,       403),
    # the seal printed on certificates: the org admin's business (A has none: 404 after the permission check)
    get("/organizations/{A}/seal.png",
        LOGIN,     403,       403,       403,       403,       403,       404,       403,       403,       403),
    get("/organizations/{B}/seal.png",
        LOGIN,     403,       403,       403,       403,       403,       403,       PNG,       403,       403),
    # a pending organization exists only for its own staff and platform admins: 404 for everyone else, so that
    # not even its code can be probed; its staff may look at it and fix its details, nothing more
    get("/organizations/{P}",
        404,       404,       404,       404,       404,       404,       404,       404,       200,       200),
    get("/organizations/{P}/manage",
        LOGIN,     404,       404,       404,       404,       404,       404,       404,       200,       200),
    get("/organizations/{P}/edit",
        LOGIN,     404,       404,       404,       404,       404,       404,       404,       200,       403),
    get("/organizations/{P}/invitations",
        LOGIN,     404,       404,       404,       404,       404,       404,       404,       403,       403),
    get("/organizations/{P}/members",
        LOGIN,     404,       404,       404,       404,       404,       404,       404,       403,       403),
    get("/organizations/{P}/import",
        LOGIN,     404,       404,       404,       404,       404,       404,       404,       403,       403),
    get("/organizations/{P}/import/template.csv",
        LOGIN,     404,       404,       404,       404,       404,       404,       404,       403,       403),
    # an organization that does not exist
    get("/organizations/NOSUCHORG",
        404,       404,       404,       404,       404,       404,       404,       404,       404,       404),
    get("/organizations/NOSUCHORG/manage",
        LOGIN,     404,       404,       404,       404,       404,       404,       404,       404,       404),
    # an invitation link works for whoever holds it, once signed in
    get("/invitations/{invite}",
        LOGIN,     200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/invitations/not-a-valid-token",
        LOGIN,     404,       404,       404,       404,       404,       404,       404,       404,       404),
    get("/volunteer",
        LOGIN,     PROFILE,   200,       200,       PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE),
    get("/volunteer/profile",
        LOGIN,     200,       200,       200,       200,       200,       200,       200,       200,       200),
    # calendars: the private feed's page (its secret URL shown once), the feed behind an unknown secret, one shift,
    # an approved organization's public feed of the shifts it recruits for (none for one not approved)
    get("/volunteer/calendar",
        LOGIN,     PROFILE,   200,       200,       PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE),
    # the exchange: a volunteer's transfer page (codes out, the form in), and their signed record as a file
    get("/volunteer/record/transfer",
        LOGIN,     PROFILE,   200,       200,       PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE),
    get("/volunteer/record/transfer-in",
        LOGIN,     PROFILE,   200,       200,       PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE),
    get("/volunteer/record.json",
        LOGIN,     PROFILE,   JSON,      JSON,      PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE),
    get("/calendar/{feed_a}.ics", *everyone(ICS)),
    get("/calendar/" + "N" * 43 + ".ics", *everyone(404)),
    get("/shifts/{shift_a}.ics", *everyone(ICS)),
    get("/shifts/{draft_shift}.ics", *everyone(404)),
    get("/shifts/999999999.ics", *everyone(404)),
    get("/organizations/{A}/shifts.ics", *everyone(ICS)),
    get("/organizations/{P}/shifts.ics", *everyone(404)),
    # activities: published ones are public; a draft exists only for its organization's staff
    get("/activities",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/activities/{act_a}",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/activities/{draft_a}",
        404,       404,       404,       404,       200,       404,       200,       404,       404,       404),
    get("/activities/NOSUCHACT",
        404,       404,       404,       404,       404,       404,       404,       404,       404,       404),
    get("/organizations/{A}/activities",
        LOGIN,     403,       403,       403,       200,       403,       200,       403,       403,       403),
    get("/organizations/{P}/activities",
        LOGIN,     404,       404,       404,       404,       404,       404,       404,       403,       403),
    get("/organizations/{A}/activities/new",
        LOGIN,     403,       403,       403,       200,       403,       200,       403,       403,       403),
    get("/activities/{act_a}/edit",
        LOGIN,     403,       403,       403,       200,       403,       200,       403,       403,       403),
    get("/activities/{draft_a}/edit",
        LOGIN,     404,       404,       404,       200,       404,       200,       404,       404,       404),
    get("/activities/{act_a}/signups",
        LOGIN,     403,       403,       403,       200,       403,       200,       403,       403,       403),
    # shifts and the duty roster: the staff of the activity's organization
    get("/activities/{roster_a}/shifts",
        LOGIN,     403,       403,       403,       200,       403,       200,       403,       403,       403),
    get("/activities/{now_b}/shifts",
        LOGIN,     403,       403,       403,       403,       200,       403,       200,       403,       403),
    get("/activities/{draft_a}/shifts",
        LOGIN,     404,       404,       404,       200,       404,       200,       404,       404,       404),
    # service points and their posters: the staff of the activity's organization
    get("/activities/{now_a}/points",
        LOGIN,     403,       403,       403,       200,       403,       200,       403,       403,       403),
    get("/activities/{now_b}/points",
        LOGIN,     403,       403,       403,       403,       200,       403,       200,       403,       403),
    get("/points/{point_a}",
        LOGIN,     403,       403,       403,       200,       403,       200,       403,       403,       403),
    get("/points/{point_a}/edit",
        LOGIN,     403,       403,       403,       200,       403,       200,       403,       403,       403),
    get("/points/{point_a}/posters/1.pdf",
        LOGIN,     403,       403,       403,       PDF,       403,       PDF,       403,       403,       403),
    get("/points/{point_a}/posters/2.pdf",
        LOGIN,     403,       403,       403,       404,       403,       404,       403,       403,       403),
    get("/points/NOSUCHPT",
        LOGIN,     404,       404,       404,       404,       404,       404,       404,       404,       404),
    # check-in: the staff of the activity's organization
    get("/activities/{now_a}/kiosk",
        LOGIN,     403,       403,       403,       200,       403,       200,       403,       403,       403),
    get("/activities/{now_a}/kiosk/state",
        LOGIN,     403,       403,       403,       200,       403,       200,       403,       403,       403),
    get("/activities/{now_a}/scanner",
        LOGIN,     403,       403,       403,       200,       403,       200,       403,       403,       403),
    get("/activities/{now_a}/day",
        LOGIN,     403,       403,       403,       200,       403,       200,       403,       403,       403),
    get("/activities/{now_b}/day",
        LOGIN,     403,       403,       403,       403,       200,       403,       200,       403,       403),
    # a draft's check-in pages do not exist for anyone but its organization's staff (its code is not confirmed)
    get("/activities/{draft_a}/day",
        LOGIN,     404,       404,       404,       200,       404,       200,       404,       404,       404),
    get("/activities/NOSUCHACT/day",
        LOGIN,     404,       404,       404,       404,       404,       404,       404,       404,       404),
    get("/activities/{now_a}/manual",
        LOGIN,     403,       403,       403,       200,       403,       200,       403,       403,       403),
    get("/activities/{now_a}/shifts/{shift_a}/group",
        LOGIN,     403,       403,       403,       200,       403,       200,       403,       403,       403),
    # A's shift through B's activity: B's staff must not reach it
    get("/activities/{now_b}/shifts/{shift_a}/group",
        LOGIN,     403,       403,       403,       403,       404,       403,       404,       403,       403),
    get("/organizations/{A}/stations",
        LOGIN,     403,       403,       403,       200,       403,       200,       403,       403,       403),
    get("/organizations/{P}/stations",
        LOGIN,     404,       404,       404,       404,       404,       404,       404,       403,       403),
    get("/activities/{now_a}/manual-entries",
        LOGIN,     403,       403,       403,       200,       403,       200,       403,       403,       403),
    # public: holds only the code from the URL (browsers fetch manifests without cookies)
    get("/activities/{now_a}/scanner.webmanifest",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/scanner-sw.js",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    # the page a kiosk QR opens: for volunteers; accounts without a profile are asked for one
    get("/k/{kiosk_a}",
        LOGIN,     PROFILE,   200,       200,       PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE),
    get("/k/not-a-token",
        404,       404,       404,       404,       404,       404,       404,       404,       404,       404),
    # the page a service point's poster opens: like the kiosk's (a QR reader may lowercase the path); a token the
    # server did not print is 404 before anything else
    get("/P/{poster_a}",
        LOGIN,     PROFILE,   200,       200,       PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE),
    get("/p/{poster_a_lower}",
        LOGIN,     PROFILE,   200,       200,       PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE),
    get("/P/not-a-token",
        404,       404,       404,       404,       404,       404,       404,       404,       404,       404),
    get("/volunteer/card",
        LOGIN,     PROFILE,   200,       200,       PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE),
    get("/volunteer/card.png",
        LOGIN,     PROFILE,   200,       200,       PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE),
    # the ledger: the organization's entries to decide; a volunteer's hours
    get("/organizations/{A}/entries",
        LOGIN,     403,       403,       403,       200,       403,       200,       403,       403,       403),
    get("/organizations/{B}/entries",
        LOGIN,     403,       403,       403,       403,       200,       403,       200,       403,       403),
    get("/organizations/{P}/entries",
        LOGIN,     404,       404,       404,       404,       404,       404,       404,       403,       403),
    get("/organizations/NOSUCHORG/entries",
        LOGIN,     404,       404,       404,       404,       404,       404,       404,       404,       404),
    get("/volunteer/hours",
        LOGIN,     PROFILE,   200,       200,       PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE),
    # the ledger: a volunteer's reports; the organization's review of them
    get("/volunteer/corrections",
        LOGIN,     PROFILE,   200,       200,       PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE),
    get("/volunteer/corrections/new",
        LOGIN,     PROFILE,   200,       200,       PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE),
    get("/volunteer/corrections/new?entry={ledger_a}",
        LOGIN,     PROFILE,   200,       404,       PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE),
    get("/organizations/{A}/corrections",
        LOGIN,     403,       403,       403,       200,       403,       200,       403,       403,       403),
    get("/organizations/{P}/corrections",
        LOGIN,     404,       404,       404,       404,       404,       404,       404,       403,       403),
    # training, awards, evaluations: the staff of the member's organization; a number that is not an active member
    # there is 404 (after the permission check, so nobody else learns who is a member)
    get("/organizations/{A}/members/{number_member_a}/records",
        LOGIN,     403,       403,       403,       200,       403,       200,       403,       403,       403),
    get("/organizations/{B}/members/{number_member_a}/records",
        LOGIN,     403,       403,       403,       403,       404,       403,       404,       403,       403),
    get("/organizations/{A}/members/{applicant_a}/records",
        LOGIN,     403,       403,       403,       404,       403,       404,       403,       403,       403),
    get("/organizations/{P}/members/{number_member_a}/records",
        LOGIN,     404,       404,       404,       404,       404,       404,       404,       403,       403),
    get("/volunteer/records",
        LOGIN,     PROFILE,   200,       200,       PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE),
    # certificates: a volunteer's own; one certificate exists only for the volunteer it certifies and the issuing
    # organization's staff (404 to everyone else, so that not even its code can be probed); the organization's
    # list for its staff, bulk issue for its org admin
    get("/volunteer/certificates",
        LOGIN,     PROFILE,   200,       200,       PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE),
    get("/certificates/{cert_a}",
        LOGIN,     404,       200,       404,       200,       404,       200,       404,       404,       404),
    get("/certificates/{cert_a}/pdf",
        LOGIN,     404,       PDF,       404,       PDF,       404,       PDF,       404,       404,       404),
    get("/certificates/NOSUCHCERT",
        LOGIN,     404,       404,       404,       404,       404,       404,       404,       404,       404),
    get("/organizations/{A}/certificates",
        LOGIN,     403,       403,       403,       200,       403,       200,       403,       403,       403),
    get("/organizations/{B}/certificates",
        LOGIN,     403,       403,       403,       403,       200,       403,       200,       403,       403),
    get("/organizations/{P}/certificates",
        LOGIN,     404,       404,       404,       404,       404,       404,       404,       403,       403),
    get("/organizations/{A}/certificates/issue",
        LOGIN,     403,       403,       403,       403,       403,       200,       403,       403,       403),
    get("/organizations/{P}/certificates/issue",
        LOGIN,     404,       404,       404,       404,       404,       404,       404,       403,       403),
    # dashboards: an organization's for its staff and civil affairs; the province's for civil affairs only
    get("/organizations/{A}/dashboard",
        LOGIN,     403,       403,       403,       200,       403,       200,       403,       403,       200),
    get("/organizations/{B}/dashboard",
        LOGIN,     403,       403,       403,       403,       200,       403,       200,       403,       200),
    get("/organizations/{P}/dashboard",
        LOGIN,     404,       404,       404,       404,       404,       404,       404,       403,       200),
    get("/organizations/NOSUCHORG/dashboard",
        LOGIN,     404,       404,       404,       404,       404,       404,       404,       404,       404),
    get("/platform/dashboard",
        LOGIN,     403,       403,       403,       403,       403,       403,       403,       403,       200),
    # the regional view of what the registries below sent up: civil affairs only, read-only
    get("/platform/regional",
        LOGIN,     403,       403,       403,       403,       403,       403,       403,       403,       200),
    # exports: the same people as the dashboards; a volunteer downloads their own record and personal data
    get("/organizations/{A}/exports/members.csv",
        LOGIN,     403,       403,       403,       CSV,       403,       CSV,       403,       403,       CSV),
    get("/organizations/{A}/exports/activities.xlsx",
        LOGIN,     403,       403,       403,       XLSX,      403,       XLSX,      403,       403,       XLSX),
    get("/organizations/{A}/exports/entries.csv?status=all",
        LOGIN,     403,       403,       403,       CSV,       403,       CSV,       403,       403,       CSV),
    get("/organizations/{B}/exports/entries.xlsx",
        LOGIN,     403,       403,       403,       403,       XLSX,      403,       XLSX,      403,       XLSX),
    get("/organizations/{P}/exports/members.csv",
        LOGIN,     404,       404,       404,       404,       404,       404,       404,       403,       CSV),
    get("/organizations/{A}/exports/secrets.csv",
        LOGIN,     404,       404,       404,       404,       404,       404,       404,       404,       404),
    get("/organizations/{A}/exports/members.pdf",
        LOGIN,     404,       404,       404,       404,       404,       404,       404,       404,       404),
    get("/platform/exports/regions.csv",
        LOGIN,     403,       403,       403,       403,       403,       403,       403,       403,       CSV),
    get("/platform/exports/growth.xlsx",
        LOGIN,     403,       403,       403,       403,       403,       403,       403,       403,       XLSX),
    get("/platform/exports/secrets.csv",
        LOGIN,     404,       404,       404,       404,       404,       404,       404,       404,       404),
    get("/me/record.csv",
        LOGIN,     PROFILE,   CSV,       CSV,       PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE),
    get("/me/record.xlsx",
        LOGIN,     PROFILE,   XLSX,      XLSX,      PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE,   PROFILE),
    # verification: public, no account; a link that holds no certificate code is a 400 page
    get("/V/{cert_token_a}",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/v/{cert_token_a_lower}",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/V/not-a-token",
        400,       400,       400,       400,       400,       400,       400,       400,       400,       400),
    get("/verify",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    # the ledger's public documents
    get("/.well-known/volunteer-registry/checkpoint",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/.well-known/volunteer-registry/checkpoint-key",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/.well-known/volunteer-registry/jwks.json",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/.well-known/volunteer-registry/root-ca.pem",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
]

WEB_WRITES = [
    Row("POST", "/login", everyone(no(HOME), anonymous=ok(HOME)),
        data={"identifier": TARGET_EMAIL, "password": PASSWORD},
        state=lambda w, actor, client: w.target.last_login_at is not None, after=becomes(True)),
    # sign-up sends a link (the account is made when it is opened): the same answer for an address that has one
    Row("POST", "/signup", everyone(no(HOME), anonymous=ok(Redirect("/signup/sent"))),
        data={"identifier": "newcomer@example.org"}, state=outbox_to("newcomer@example.org"), after=plus_one),
    Row("POST", "/signup/{signup_link}", everyone(ok(PROFILE)), data=NEW_PASSWORD_FORM,
        state=lambda w, actor, client: find_user("newcomer@example.org") is not None, after=becomes(True)),
    Row("POST", "/signup/not-a-valid-token", everyone(no(400)), data=NEW_PASSWORD_FORM,
        state=lambda w, actor, client: find_user("newcomer@example.org") is not None),
    Row("POST", "/logout", everyone(ok(HOME), anonymous=no(HOME)), data={},
        state=session_signed_in, after=becomes(False)),
    Row("POST", "/account/sign-out-everywhere", signed_in(ok(LOGIN)), data={},
        state=lambda w, actor, client: db.session.scalar(
            db.select(func.count()).select_from(AuditEvent).where(
                AuditEvent.action == "account.signed_out_everywhere", AuditEvent.actor_id == actor.id))
        if actor else None, after=plus_one),
    Row("POST", "/password/forgot", everyone(ok(LOGIN)), data={"identifier": TARGET_EMAIL},
        state=outbox_to(TARGET_EMAIL), after=plus_one),
    Row("POST", "/password/reset/{reset}", everyone(ok(HOME)), data=NEW_PASSWORD_FORM,
        state=lambda w, actor, client: check_password_hash(w.target.password_hash, NEW_PASSWORD),
        after=becomes(True)),
    Row("POST", "/password/reset/not-a-valid-token", everyone(no(400)), data=NEW_PASSWORD_FORM,
        state=lambda w, actor, client: w.target.password_hash),
    Row("POST", "/account", signed_in(ok(Redirect("/account"))), data={"locale": "zh_CN"},
        state=users_with_chinese, after=add_actor),
    Row("POST", "/account/tokens", signed_in(ok(200)), data={"name": "scanner tablet"},
        state=tokens_of, after=plus_one),
    # deleting one's own account: staff and platform admins are refused (they hand their roles over first)
    Row("POST", "/account/delete", signed_in(ok(HOME), coord_a=no(422), coord_b=no(422), admin_a=no(422),
                                             admin_b=no(422), admin_p=no(422), platform=no(422)),
        data={"password": PASSWORD, "understood": "y"}, state=deleted_accounts, after=add_actor),
    Row("POST", "/notifications/read", signed_in(ok(Redirect("/notifications"))), data={},
        state=lambda w, actor, client: unread_count(actor) if actor else None, after=becomes(0)),
    Row("POST", "/notifications/preferences", signed_in(ok(Redirect("/notifications/preferences"))), data={},
        state=lambda w, actor, client: wants(actor, "membership.decided", "email") if actor else None,
        after=becomes(False)),
    Row("POST", "/notifications/unsubscribe/{unsubscribe}", everyone(ok(200)), data={"scope": "kind"},
        state=lambda w, actor, client: wants(w.target, "membership.decided", "email"), after=becomes(False)),
    Row("POST", "/notifications/unsubscribe/not-a-valid-token", everyone(no(404)), data={"scope": "all"},
        state=lambda w, actor, client: wants(w.target, "membership.decided", "email")),
    # member_a's token: only its owner can revoke it; for everyone else it does not exist
    Row("POST", "/account/tokens/{member_token}/revoke", signed_in(no(404), member_a=ok(Redirect("/account"))),
        data={}, state=lambda w, actor, client: w.member_token.revoked_at is not None, after=becomes(True)),
    Row("POST", "/admin/organizations/{P}/decision", signed_in(no(403), platform=ok(SHOW_P)),
        data={"decision": "approve", "reason": ""}, state=org_status("P"), after=becomes("approved")),
    Row("POST", "/admin/organizations/{A}/decision", signed_in(no(403), platform=ok(SHOW_A)),
        data={"decision": "suspend", "reason": "complaints under review"}, state=org_status("A"),
        after=becomes("suspended")),
    Row("POST", "/organizations/apply", signed_in(ok(Redirect("/organizations/[A-Z0-9]+/manage"))),
        data=lambda w, actor: org_details("Applied Volunteers"), state=orgs_run_by("Applied Volunteers"),
        after=plus_one),
    Row("POST", "/organizations/{A}/edit", signed_in(no(403), admin_a=ok(Redirect("/organizations/{A}/manage"))),
        data=renamed("A"), state=org_name("A"), after=becomes("Renamed Volunteers")),
    Row("POST", "/organizations/{P}/edit", signed_in(no(404), admin_p=ok(Redirect("/organizations/{P}/manage")),
                                                     platform=no(403)),
        data=renamed("P"), state=org_name("P"), after=becomes("Renamed Volunteers")),
    # the seal, uploaded or removed on the edit page: like the organization's details, its org admin's (also while
    # the organization waits for approval)
    Row("POST", "/organizations/{A}/seal", signed_in(no(403), admin_a=ok(Redirect("/organizations/{A}/edit"))),
        data=seal_file, state=has_seal("A"), after=becomes(True)),
    Row("POST", "/organizations/{B}/seal", signed_in(no(403), admin_b=ok(Redirect("/organizations/{B}/edit"))),
        data={"remove": "y"}, state=has_seal("B"), after=becomes(False)),
    Row("POST", "/organizations/{P}/seal", signed_in(no(404), admin_p=ok(Redirect("/organizations/{P}/edit")),
                                                     platform=no(403)),
        data=seal_file, state=has_seal("P"), after=becomes(True)),
    # a coordinator may invite members but not staff: the coordinator role is not offered to them
    Row("POST", "/organizations/{A}/invitations", signed_in(no(403), coord_a=no(200), admin_a=ok(200)),
        data={"role": "coordinator", "note": "new coordinator"}, state=invitation_count("A", "coordinator"),
        after=plus_one),
    Row("POST", "/organizations/{A}/invitations", signed_in(no(403), coord_a=ok(200), admin_a=ok(200)),
        data={"role": "member", "note": "a neighbour"}, state=invitation_count("A", "member"), after=plus_one),
    Row("POST", "/organizations/{P}/invitations", signed_in(no(404), admin_p=no(403), platform=no(403)),
        data={"role": "member", "note": "a neighbour"}, state=invitation_count("P", "member"), after=plus_one),
    # A's coordinator invitation makes whoever accepts it a coordinator of A; it never downgrades an org admin
    Row("POST", "/invitations/{invite}",
        signed_in(ok(Redirect("/organizations/{A}/manage")), coord_a=no(200), admin_a=no(200)),
        data={}, state=lambda w, actor, client: staff_role(actor, w.orgs["A"]), after=becomes("coordinator")),
    Row("POST", "/organizations/{A}/members/{pending_a}/decision",
        signed_in(no(403), coord_a=ok(MEMBERS_A), admin_a=ok(MEMBERS_A)),
        data={"decision": "approve"}, state=request_status("A"), after=becomes("active")),
    Row("POST", "/organizations/{B}/members/{pending_b}/decision",
        signed_in(no(403), coord_b=ok(MEMBERS_B), admin_b=ok(MEMBERS_B)),
        data={"decision": "decline"}, state=request_status("B"), after=becomes("declined")),
    # B's request through A's URL: A's staff must not reach it
    Row("POST", "/organizations/{A}/members/{pending_b}/decision",
        signed_in(no(403), coord_a=no(404), admin_a=no(404)),
        data={"decision": "approve"}, state=request_status("B")),
    Row("POST", "/organizations/{A}/members/{pending_a}/id-number", signed_in(no(403), admin_a=ok(200)),
        data={}, state=id_number_views(own=False), after=plus_one, shows=lambda w, actor: w.id_numbers["A"]),
    # A's applicant through B's URL: B's org admin must not see A's applicant's ID number
    Row("POST", "/organizations/{B}/members/{pending_a}/id-number", signed_in(no(403), admin_b=no(404)),
        data={}, state=id_number_views(own=False), shows=lambda w, actor: w.id_numbers["A"]),
    # everything held about the signed-in person; a full ID number in it is an audited view (so: a POST)
    Row("POST", "/me/data.json", signed_in(no(JSON), member_a=ok(JSON), volunteer=ok(JSON)),
        data={}, state=id_number_views(own=True), after=plus_one, shows=lambda w, actor: own_id_number(w, actor)),
    Row("POST", "/organizations/{A}/join", signed_in(no(PROFILE), member_a=no(SHOW_A), volunteer=ok(SHOW_A)),
        data={}, state=own_membership("A"), after=becomes("pending")),
    Row("POST", "/organizations/{A}/leave", signed_in(no(SHOW_A), member_a=ok(SHOW_A)),
        data={}, state=own_membership("A"), after=becomes("left")),
    # B's invitation of the volunteer: only she can answer it; to anyone else it does not exist; member_a has no
    # invitation from A to answer (told so on A's page)
    Row("POST", "/organizations/{B}/invitation/accept", signed_in(no(404), volunteer=ok(SHOW_B)),
        data={}, state=own_membership("B"), after=becomes("active")),
    Row("POST", "/organizations/{B}/invitation/decline", signed_in(no(404), volunteer=ok(SHOW_B)),
        data={}, state=own_membership("B"), after=becomes("refused")),
    Row("POST", "/organizations/{A}/invitation/accept", signed_in(no(404), member_a=no(SHOW_A)),
        data={}, state=own_membership("A")),
    Row("POST", "/organizations/{P}/invitation/decline", signed_in(no(404)),
        data={}, state=membership_count("P")),
    Row("POST", "/organizations/{P}/join", signed_in(no(404), admin_p=no(PROFILE), platform=no(PROFILE)),
        data={}, state=membership_count("P")),
    Row("POST", "/organizations/{P}/leave", signed_in(no(404), admin_p=no(SHOW_P), platform=no(SHOW_P)),
        data={}, state=membership_count("P")),
    Row("POST", "/organizations/{A}/import", signed_in(no(403), admin_a=ok(200)),
        data=import_file, state=membership_count("A", "active"), after=plus_one),
    Row("POST", "/organizations/{P}/import", signed_in(no(404), admin_p=no(403), platform=no(403)),
        data=import_file, state=membership_count("P", "active"), after=plus_one),
    Row("POST", "/volunteer/profile", signed_in(ok(Redirect("/volunteer"))),
        data=profile_form, state=own_volunteer_name, after=becomes(NEW_NAME)),
    Row("POST", "/volunteer/id-number", signed_in(no(PROFILE), member_a=ok(200), volunteer=ok(200)),
        data={}, state=id_number_views(own=True), after=plus_one, shows=own_id_number),
    Row("POST", "/volunteer/calendar", signed_in(no(PROFILE), member_a=ok(200), volunteer=ok(200)),
        data={}, state=own_calendar_feeds, after=plus_one),
    Row("POST", "/volunteer/record/transfer-codes", signed_in(no(PROFILE), member_a=ok(200), volunteer=ok(200)),
        data={}, state=own_transfer_codes, after=plus_one),
    # a transfer in from a system this one does not trust: refused at its field, and the refusal audited
    Row("POST", "/volunteer/record/transfer-in", signed_in(no(PROFILE), member_a=ok(422), volunteer=ok(422)),
        data={"url": "https://registry.elsewhere.example", "code": "K7QF-3MXA-9T44"}, state=refused_transfers,
        after=plus_one),
    # activities
    Row("POST", "/activities/{act_a}/signup", signed_in(no(PROFILE), member_a=ok(ACT_A), volunteer=ok(ACT_A)),
        data={}, state=own_signup("act_a"), after=becomes("accepted")),
    Row("POST", "/activities/{draft_a}/signup", signed_in(no(404), coord_a=no(PROFILE), admin_a=no(PROFILE)),
        data={}, state=own_signup("draft_a")),
    Row("POST", "/activities/{appr_a}/withdraw",
        signed_in(no(PROFILE), member_a=no(APPR_A), volunteer=ok(APPR_A)),
        data={}, state=own_signup("appr_a"), after=becomes("withdrawn")),
    Row("POST", "/organizations/{A}/activities/new",
        signed_in(no(403), coord_a=ok(NEW_ACTIVITY), admin_a=ok(NEW_ACTIVITY)),
        data=activity_form("Matrix activity"), state=activities_of("A", "Matrix activity"), after=plus_one),
    Row("POST", "/organizations/{P}/activities/new", signed_in(no(404), admin_p=no(403), platform=no(403)),
        data=activity_form("Matrix activity"), state=activities_of("P", "Matrix activity")),
    Row("POST", "/activities/{act_a}/edit", signed_in(no(403), coord_a=ok(ACT_A), admin_a=ok(ACT_A)),
        data=activity_form("Renamed activity"), state=activity_value("act_a", "title"),
        after=becomes("Renamed activity")),
    Row("POST", "/activities/{draft_a}/publish", signed_in(no(404), coord_a=ok(DRAFT_A), admin_a=ok(DRAFT_A)),
        data={}, state=activity_value("draft_a", "status"), after=becomes("published")),
    Row("POST", "/activities/{act_a}/close", signed_in(no(403), coord_a=ok(ACT_A), admin_a=ok(ACT_A)),
        data={}, state=activity_value("act_a", "status"), after=becomes("closed")),
    Row("POST", "/activities/{appr_a}/signups/{pending_signup}/decision",
        signed_in(no(403), coord_a=ok(SIGNUPS_APPR_A), admin_a=ok(SIGNUPS_APPR_A)),
        data={"decision": "approve"}, state=signup_status("pending_signup"), after=becomes("accepted")),
    # A's sign-up through B's activity: B's staff must not reach it
    Row("POST", "/activities/{now_b}/signups/{pending_signup}/decision",
        signed_in(no(403), coord_b=no(404), admin_b=no(404)),
        data={"decision": "approve"}, state=signup_status("pending_signup")),
    # shifts and rosters: A's staff add and cancel shifts and set the roster's rule; a volunteer joins or leaves the
    # roster (member_a is on roster_a's), or signs up for or withdraws from one of its shifts
    Row("POST", "/activities/{act_a}/shifts/add",
        signed_in(no(403), coord_a=ok(SHIFTS_ACT_A), admin_a=ok(SHIFTS_ACT_A)),
        data=shift_form, state=shifts_of("act_a"), after=plus_one),
    Row("POST", "/activities/{roster_a}/shifts/{shift_r1}/cancel",
        signed_in(no(403), coord_a=ok(SHIFTS_ROSTER_A), admin_a=ok(SHIFTS_ROSTER_A)),
        data={"reason": "the hall is closed"}, state=shift_status("shift_r1"), after=becomes("cancelled")),
    # A's shift through B's activity: B's staff must not reach it
    Row("POST", "/activities/{now_b}/shifts/{shift_r1}/cancel", signed_in(no(403), coord_b=no(404), admin_b=no(404)),
        data={"reason": "the hall is closed"}, state=shift_status("shift_r1")),
    Row("POST", "/activities/{act_a}/roster",
        signed_in(no(403), coord_a=ok(SHIFTS_ACT_A), admin_a=ok(SHIFTS_ACT_A)),
        data=roster_form("09:00"), state=roster_of("act_a"),
        after=lambda before, w, actor: roster_of("roster_a")(w, actor, None)),
    Row("POST", "/activities/{roster_a}/roster",
        signed_in(no(403), coord_a=ok(SHIFTS_ROSTER_A), admin_a=ok(SHIFTS_ROSTER_A)),
        data=roster_form("14:00"), state=roster_of("roster_a"), after=lambda before, w, actor: ("14:00", before[1])),
    Row("POST", "/activities/{roster_a}/roster/join",
        signed_in(no(PROFILE), member_a=no(ROSTER_A), volunteer=ok(ROSTER_A)),
        data={}, state=own_roster("roster_a"), after=becomes("active")),
    Row("POST", "/activities/{roster_a}/roster/leave",
        signed_in(no(PROFILE), member_a=ok(ROSTER_A), volunteer=no(ROSTER_A)),
        data={}, state=own_roster("roster_a"), after=becomes("left")),
    Row("POST", "/activities/{roster_a}/signup",
        signed_in(no(PROFILE), member_a=no(ROSTER_A), volunteer=ok(ROSTER_A)),
        data=lambda w, actor: {"shift": w.values["shift_r2"]}, state=own_shift_signup("shift_r2"),
        after=becomes("accepted")),
    Row("POST", "/activities/{roster_a}/withdraw",
        signed_in(no(PROFILE), member_a=ok(ROSTER_A), volunteer=no(ROSTER_A)),
        data=lambda w, actor: {"shift": w.values["shift_r2"]}, state=own_shift_signup("shift_r2"),
        after=becomes("withdrawn")),
    # service points: A's staff set one up (with its first poster), edit it, print another poster, withdraw one,
    # retire the point
    Row("POST", "/activities/{now_a}/points",
        signed_in(no(403), coord_a=ok(Redirect("/points/[A-Z0-9]+")), admin_a=ok(Redirect("/points/[A-Z0-9]+"))),
        data=POINT_FORM, state=points_of_activity("now_a"), after=plus_one),
    Row("POST", "/activities/{now_b}/points", signed_in(no(403), coord_b=ok(Redirect("/points/[A-Z0-9]+")),
                                                         admin_b=ok(Redirect("/points/[A-Z0-9]+"))),
        data=POINT_FORM, state=points_of_activity("now_b"), after=plus_one),
    Row("POST", "/points/{point_a}/edit", signed_in(no(403), coord_a=ok(POINT_A), admin_a=ok(POINT_A)),
        data=POINT_FORM, state=point_value("name"), after=becomes(POINT_FORM["name"])),
    Row("POST", "/points/{point_a}/posters", signed_in(no(403), coord_a=ok(POINT_A), admin_a=ok(POINT_A)),
        data={}, state=posters_of_point, after=lambda before, w, actor: (*before, (2, False))),
    Row("POST", "/points/{point_a}/posters/1/revoke", signed_in(no(403), coord_a=ok(POINT_A), admin_a=ok(POINT_A)),
        data={"poster1-reason": "lost"}, state=posters_of_point, after=becomes(((1, True),))),
    Row("POST", "/points/{point_a}/retire", signed_in(no(403), coord_a=ok(POINT_A), admin_a=ok(POINT_A)),
        data={}, state=point_value("status"), after=becomes("retired")),
    Row("POST", "/organizations/{A}/entries/decision",
        signed_in(no(403), coord_a=ok(LEDGER_PAGE_A), admin_a=ok(LEDGER_PAGE_A)),
        data=lambda w, actor: {"entries": w.values["ledger_a"], "decision": "approve", "reason": ""},
        state=ledger_status("ledger_a"), after=becomes("approved")),
    # A's entry through B's URL: B's staff must not reach it
    Row("POST", "/organizations/{B}/entries/decision", signed_in(no(403), coord_b=no(404), admin_b=no(404)),
        data=lambda w, actor: {"entries": w.values["ledger_a"], "decision": "approve", "reason": ""},
        state=ledger_status("ledger_a")),
    Row("POST", "/organizations/{P}/entries/decision", signed_in(no(404), admin_p=no(403), platform=no(403)),
        data=lambda w, actor: {"entries": w.values["ledger_a"], "decision": "approve", "reason": ""},
        state=ledger_status("ledger_a")),
    # civil affairs decides what nobody in its organization may: the solo organization's entry, and only that
    Row("POST", "/platform/entries/decision", signed_in(no(403), platform=ok(Redirect("/platform/entries"))),
        data=lambda w, actor: {"entries": w.values["ledger_solo"], "decision": "approve", "reason": ""},
        state=ledger_status("ledger_solo"), after=becomes("approved")),
    Row("POST", "/platform/entries/decision", signed_in(no(403), platform=no(422)),
        data=lambda w, actor: {"entries": w.values["ledger_a"], "decision": "approve", "reason": ""},
        state=ledger_status("ledger_a")),
    # the ledger: member_a reports an error in their own entry; A's staff answer member_a's report of an omission
    Row("POST", "/volunteer/corrections/new?entry={ledger_a}",
        signed_in(no(PROFILE), member_a=ok(Redirect("/volunteer/corrections")), volunteer=no(404)),
        data={"message": "I stayed forty minutes", "claimed_minutes": "40"}, state=corrections_by, after=plus_one),
    Row("POST", "/organizations/{A}/corrections/{correction_a}/decision",
        signed_in(no(403), coord_a=ok(CORRECTIONS_A), admin_a=ok(CORRECTIONS_A)),
        data={"decision": "decline", "response": "nobody saw you there"}, state=correction_status("correction_a"),
        after=becomes("declined")),
    # training, awards, evaluations of member_a (an active member of A, of nobody else)
    Row("POST", "/organizations/{A}/members/{number_member_a}/records",
        signed_in(no(403), coord_a=ok(RECORDS_A), admin_a=ok(RECORDS_A)),
        data=TRAINING_FORM, state=records_of("A"), after=plus_one),
    Row("POST", "/organizations/{B}/members/{number_member_a}/records",
        signed_in(no(403), coord_b=no(404), admin_b=no(404)),
        data=TRAINING_FORM, state=records_of("B")),
    Row("POST", "/organizations/{P}/members/{number_member_a}/records",
        signed_in(no(404), admin_p=no(403), platform=no(403)),
        data=TRAINING_FORM, state=records_of("P")),
    Row("POST", "/organizations/{A}/members/{number_member_a}/records/{record_a}/withdraw",
        signed_in(no(403), coord_a=ok(RECORDS_A), admin_a=ok(RECORDS_A)),
        data={"reason": "recorded twice"}, state=record_withdrawn("record_a"), after=becomes(True)),
    # A's record through B's URL: B's staff must not reach it
    Row("POST", "/organizations/{B}/members/{number_member_a}/records/{record_a}/withdraw",
        signed_in(no(403), coord_b=no(404), admin_b=no(404)),
        data={"reason": "recorded twice"}, state=record_withdrawn("record_a")),
    # check-in. member_a is checked in at now_a: their kiosk tap checks them out; the volunteer has not signed up
    # (refused, the refusal kept but not accepted)
    Row("POST", "/k/{kiosk_a}", signed_in(no(PROFILE), member_a=ok(200), volunteer=no(403)),
        data={"event_id": "matrix-kiosk-0001"}, state=accepted_scans, after=plus_one),
    # the same at point_a's poster, with the phone's location
    Row("POST", "/P/{poster_a}", signed_in(no(PROFILE), member_a=ok(200), volunteer=no(403)),
        data=poster_scan_here, state=accepted_scans, after=plus_one),
    # the scanner page's JSON endpoint: 401 (not a redirect) for nobody signed in
    Row("POST", "/activities/{now_a}/scans",
        everyone(no(403), anonymous=no(401), coord_a=ok(201), admin_a=ok(201)),
        data=scanner_scan, state=accepted_scans, after=plus_one),
    Row("POST", "/activities/{now_a}/sessions/{session_a}/checkout",
        signed_in(no(403), coord_a=ok(DAY_A), admin_a=ok(DAY_A)),
        data=checkout_form, state=session_closed("session_a"), after=becomes(True)),
    Row("POST", "/activities/{now_a}/manual", signed_in(no(403), coord_a=ok(ENTRIES_A), admin_a=ok(ENTRIES_A)),
        data=manual_form, state=manual_entry_count, after=plus_one),
    # admin_a entered entry_a: only someone else may approve it
    Row("POST", "/activities/{now_a}/manual-entries/{entry_a}/decision",
        signed_in(no(403), coord_a=ok(ENTRIES_A), admin_a=no(ENTRIES_A)),
        data={"decision": "approve"}, state=entry_status("entry_a"), after=becomes("approved")),
    # certificates. member_a asks A, which recorded their service; the volunteer has none to ask about
    Row("POST", "/volunteer/certificates/request",
        signed_in(no(PROFILE), member_a=ok(Redirect("/volunteer/certificates")), volunteer=no(422)),
        data=certificate_request_form("A"), state=certificate_requests_by, after=plus_one),
    # B recorded no service of member_a's: not an organization they can ask
    Row("POST", "/volunteer/certificates/request", signed_in(no(PROFILE), member_a=no(422), volunteer=no(422)),
        data=certificate_request_form("B"), state=certificate_requests_by),
    # only the issuing organization's admin revokes or reissues cert_a: 403 to the others who may read it
    Row("POST", "/certificates/{cert_a}/revoke",
        signed_in(no(404), member_a=no(403), coord_a=no(403), admin_a=ok(CERTIFICATE_A)),
        data={"reason": "issued in error"}, state=certificate_status("cert_a"), after=becomes("revoked")),
    Row("POST", "/certificates/{cert_a}/reissue",
        signed_in(no(404), member_a=no(403), coord_a=no(403), admin_a=ok(Redirect("/certificates/[A-Z0-9]+"))),
        data={"reissue-reason": "the hours were corrected"}, state=certificate_status("cert_a"),
        after=becomes("superseded")),
    Row("POST", "/organizations/{A}/certificates/issue", signed_in(no(403), admin_a=ok(CERTIFICATES_A)),
        data=issue_form, state=certificates_of("A"), after=plus_one),
    # member_a through B's page: B recorded nothing of theirs to certify
    Row("POST", "/organizations/{B}/certificates/issue", signed_in(no(403), admin_b=no(422)),
        data=issue_form, state=certificates_of("B")),
    Row("POST", "/organizations/{P}/certificates/issue", signed_in(no(404), admin_p=no(403), platform=no(403)),
        data=issue_form, state=certificates_of("P")),
    Row("POST", "/organizations/{A}/certificates/requests/{cert_request_a}/issue",
        signed_in(no(403), admin_a=ok(CERTIFICATES_A)),
        data={}, state=certificate_request_status("cert_request_a"), after=becomes("issued")),
    Row("POST", "/organizations/{A}/certificates/requests/{cert_request_a}/decline",
        signed_in(no(403), admin_a=ok(CERTIFICATES_A)),
        data=DECLINE_FORM, state=certificate_request_status("cert_request_a"), after=becomes("declined")),
    # A's request through B's URL: B's org admin must not reach it
    Row("POST", "/organizations/{B}/certificates/requests/{cert_request_a}/issue",
        signed_in(no(403), admin_b=no(404)),
        data={}, state=certificate_request_status("cert_request_a")),
    Row("POST", "/organizations/{B}/certificates/requests/{cert_request_a}/decline",
        signed_in(no(403), admin_b=no(404)),
        data=DECLINE_FORM, state=certificate_request_status("cert_request_a")),
    # C's only org admin asked C for a certificate of her own service: only civil affairs issues it
    Row("POST", "/admin/certificate-requests/{cert_request_c}/issue",
        signed_in(no(403), platform=ok(Redirect("/admin/certificate-requests"))),
        data={}, state=certificate_request_status("cert_request_c"), after=becomes("issued")),
    # verification by upload or pasted link: anyone, no account; every verification is logged
    Row("POST", "/verify", everyone(ok(200)), data=lambda w, actor: {"link": w.values["cert_token_a"]},
        state=verifications, after=plus_one),
]

# one row per route, one column per role:
#       anonymous  no_profile member_a   volunteer  coord_a    coord_b    admin_a    admin_b    admin_p    platform
API_CALLS = [
    get("/api/v1/openapi.json",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/api/v1/me",
        E401,      200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/api/v1/me/volunteer",
        E401,      E404,      200,       200,       E404,      E404,      E404,      E404,      E404,      E404),
    get("/api/v1/me/record", *token_required(NO_RECORD, member_a=JSON, volunteer=JSON)),
    # the bundle behind member_a's transfer code: no token (the code is the consent), spent on first use
    Row("POST", "/api/v1/exchange/transfers", everyone(ok(JSON)),
        data=lambda w, actor: {"code": w.values["transfer_a"]}, state=spent_transfer_codes, after=plus_one),
    Row("POST", "/api/v1/exchange/transfers", everyone(no(Err(404, "code_invalid"))),
        data={"code": "K7QF-3MXA-9T44"}, state=spent_transfer_codes),
    get("/api/v1/organizations",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/api/v1/organizations/{A}",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/api/v1/organizations/{P}",
        E404,      E404,      E404,      E404,      E404,      E404,      E404,      E404,      200,       200),
    get("/api/v1/organizations/NOSUCHORG",
        E404,      E404,      E404,      E404,      E404,      E404,      E404,      E404,      E404,      E404),
    get("/api/v1/organizations/{A}/members",
        E401,      E403,      E403,      E403,      200,       E403,      200,       E403,      E403,      E403),
    get("/api/v1/organizations/{B}/members",
        E401,      E403,      E403,      E403,      E403,      200,       E403,      200,       E403,      E403),
    get("/api/v1/organizations/{P}/members",
        E401,      E404,      E404,      E404,      E404,      E404,      E404,      E404,      E403,      E403),
    Row("POST", "/api/v1/organizations", token_required(ok(201)),
        data=lambda w, actor: org_details("API Volunteers"), state=orgs_run_by("API Volunteers"), after=plus_one),
    Row("POST", "/api/v1/organizations/{P}/decision", token_required(no(E403), platform=ok(200)),
        data={"decision": "approve"}, state=org_status("P"), after=becomes("approved")),
    Row("POST", "/api/v1/organizations/{A}/decision", token_required(no(E403), platform=ok(200)),
        data={"decision": "suspend", "reason": "complaints under review"}, state=org_status("A"),
        after=becomes("suspended")),
    Row("PUT", "/api/v1/me/volunteer", token_required(ok(201), member_a=ok(200), volunteer=ok(200)),
        data=profile_json, state=own_volunteer_name, after=becomes(NEW_NAME)),
    Row("POST", "/api/v1/organizations/{A}/members",
        token_required(no(NO_PROFILE), member_a=no(Err(409, "already_member")), volunteer=ok(201)),
        data={}, state=own_membership("A"), after=becomes("pending")),
    Row("POST", "/api/v1/organizations/{P}/members",
        token_required(no(E404), admin_p=no(NO_PROFILE), platform=no(NO_PROFILE)),
        data={}, state=membership_count("P")),
    Row("POST", "/api/v1/organizations/{A}/members/{applicant_a}/decision",
        token_required(no(E403), coord_a=ok(200), admin_a=ok(200)),
        data={"decision": "approve"}, state=request_status("A"), after=becomes("active")),
    Row("POST", "/api/v1/organizations/{B}/members/{applicant_b}/decision",
        token_required(no(E403), coord_b=ok(200), admin_b=ok(200)),
        data={"decision": "decline"}, state=request_status("B"), after=becomes("declined")),
    # B's applicant through A's URL: A's staff must not reach it
    Row("POST", "/api/v1/organizations/{A}/members/{applicant_b}/decision",
        token_required(no(E403), coord_a=no(E404), admin_a=no(E404)),
        data={"decision": "approve"}, state=request_status("B")),
    # activities and check-in: a draft exists only for its organization's staff
    get("/api/v1/activities/{act_a}",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/api/v1/activities/{draft_a}",
        E404,      E404,      E404,      E404,      200,       E404,      200,       E404,      E404,      E404),
    get("/api/v1/activities/{roster_a}/shifts",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/api/v1/activities/{draft_a}/shifts",
        E404,      E404,      E404,      E404,      200,       E404,      200,       E404,      E404,      E404),
    get("/api/v1/activities/NOSUCHACT",
        E404,      E404,      E404,      E404,      E404,      E404,      E404,      E404,      E404,      E404),
    get("/api/v1/activities/{run_a}/attendance",
        E401,      E403,      E403,      E403,      200,       E403,      200,       E403,      E403,      E403),
    get("/api/v1/activities/NOSUCHACT/attendance",
        E401,      E404,      E404,      E404,      E404,      E404,      E404,      E404,      E404,      E404),
    Row("POST", "/api/v1/activities", token_required(no(E403), coord_a=ok(201), admin_a=ok(201)),
        data=activity_json("A"), state=activities_of("A", "Matrix activity"), after=plus_one),
    Row("POST", "/api/v1/activities", token_required(no(E404), admin_p=no(E403), platform=no(E403)),
        data=activity_json("P"), state=activities_of("P", "Matrix activity")),
    Row("POST", "/api/v1/activities/{act_a}/signups",
        token_required(no(NO_PROFILE), member_a=ok(201), volunteer=ok(201)),
        state=own_signup("act_a"), after=becomes("accepted")),
    Row("POST", "/api/v1/activities/{draft_a}/signups",
        token_required(no(E404), coord_a=no(NO_PROFILE), admin_a=no(NO_PROFILE)),
        state=own_signup("draft_a")),
    # a card scan: A's staff only; everyone else is refused before it is a scan (nothing kept)
    Row("POST", "/api/v1/scans", token_required(no(E403), coord_a=ok(201), admin_a=ok(201)),
        data=card_scan_of_member_a, state=scans_of("run_a"), after=plus_one),
    # a kiosk scan: the caller checks themself in; without a volunteer profile it is refused, and the refusal kept
    Row("POST", "/api/v1/scans",
        token_required(ok(Refused(422, "volunteer_profile_required")), member_a=ok(201), volunteer=ok(201)),
        data=kiosk_scan_now, state=scans_of("run_a"), after=plus_one),
]

API_CALLS += [
    # the ledger: entries and decisions for A's staff; the monitor interface for everyone
    get("/api/v1/organizations/{A}/entries",
        E401,      E403,      E403,      E403,      200,       E403,      200,       E403,      E403,      E403),
    get("/api/v1/organizations/{P}/entries",
        E401,      E404,      E404,      E404,      E404,      E404,      E404,      E404,      E403,      E403),
    get("/api/v1/volunteers/{number_member_a}/hours",
        E401,      E404,      200,       E404,      200,       E404,      200,       E404,      E404,      E404),
    Row("POST", "/api/v1/entries/decisions", token_required(no(E404), coord_a=ok(200), admin_a=ok(200)),
        data=lambda w, actor: {"entries": [w.values["ledger_a"]], "decision": "approve"},
        state=ledger_status("ledger_a"), after=becomes("approved")),
    get("/api/v1/ledger/leaves?start=0&end=10",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/api/v1/ledger/proof/inclusion?index=0&tree_size=1",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/api/v1/ledger/proof/consistency?first=1&second=1",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    # certificates: A's org admin issues to member_a; B recorded no service of member_a's, so its org admin has
    # nothing to certify; a pending organization issues nothing
    Row("POST", "/api/v1/certificates", token_required(no(E403), admin_a=ok(201)),
        data=certificate_json("A"), state=certificates_of("A"), after=plus_one),
    Row("POST", "/api/v1/certificates", token_required(no(E403), admin_b=no(Err(422, "no_approved_service"))),
        data=certificate_json("B"), state=certificates_of("B")),
    Row("POST", "/api/v1/certificates", token_required(no(E404), admin_p=no(E403), platform=no(E403)),
        data=certificate_json("P"), state=certificates_of("P")),
    # cert_a exists only for member_a and A's staff; only A's org admin revokes it
    get("/api/v1/certificates/{cert_a}",
        E401,      E404,      200,       E404,      200,       E404,      200,       E404,      E404,      E404),
    get("/api/v1/certificates/{cert_a}/pdf",
        E401,      E404,      PDF,       E404,      PDF,       E404,      PDF,       E404,      E404,      E404),
    get("/api/v1/certificates/NOSUCHCERT",
        E401,      E404,      E404,      E404,      E404,      E404,      E404,      E404,      E404,      E404),
    # the dashboards' figures, for other civil-affairs systems
    get("/api/v1/organizations/{A}/stats",
        E401,      E403,      E403,      E403,      200,       E403,      200,       E403,      E403,      200),
    get("/api/v1/organizations/{P}/stats",
        E401,      E404,      E404,      E404,      E404,      E404,      E404,      E404,      E403,      200),
    get("/api/v1/stats",
        E401,      E403,      E403,      E403,      E403,      E403,      E403,      E403,      E403,      200),
    Row("POST", "/api/v1/certificates/{cert_a}/revocation",
        token_required(no(E404), member_a=no(E403), coord_a=no(E403), admin_a=ok(200)),
        data={"reason": "issued in error"}, state=certificate_status("cert_a"), after=becomes("revoked")),
]

# supervision by civil affairs: its pages are platform admins' alone; an organization's published checks, the
# complaint forms and a complaint's follow page are anyone's
SUPERVISION = "/admin/supervision"


def scanned(w, actor, client):
    """How far the risk queue's scanner has read the ledger's log."""
    cursor = db.session.get(ScanCursor, "ledger")
    return cursor.position if cursor else 0


def logged(before, w, actor):
    return db.session.scalar(db.select(func.count()).select_from(LedgerLeaf))


def spot_checks_of(key):
    return lambda w, actor, client: db.session.scalar(
        db.select(func.count()).select_from(SpotCheck).where(SpotCheck.organization_id == w.orgs[key].id))


def spot_check_status(key):
    return lambda w, actor, client: db.session.scalar(db.select(SpotCheck.status).where(
        SpotCheck.code == w.values[key]))


def complaint_status(w, actor, client):
    return db.session.get(Complaint, w.values["complaint_id"]).status


def complaints_about(w, actor, client):
    return db.session.scalar(db.select(func.count()).select_from(Complaint))


FOLLOW = Redirect("/complaints/[A-Z0-9]+")

# the upward exchange: exchange tokens (flask exchange token create), never an account's token
E401_EXCHANGE = Err(401, "token_invalid")


def received_events(w, actor, client):
    return db.session.scalar(db.select(func.count()).select_from(ReceivedEvent))


API_CALLS += [
    get("/api/v1/exchange/records",
        E401,      *[E401_EXCHANGE] * 9),
    Row("POST", "/api/v1/exchange/ingest", token_required(no(E401_EXCHANGE)),
        data=lambda w, actor: {"format": "volunteer-registry/exchange-feed/1", "since": 0, "next": 0, "events": []},
        state=received_events),
]

# one row per route, one column per role:
#       anonymous  no_profile member_a   volunteer  coord_a    coord_b    admin_a    admin_b    admin_p    platform

WEB_PAGES += [
    get(SUPERVISION,
        LOGIN,     403,       403,       403,       403,       403,       403,       403,       403,       200),
    get(SUPERVISION + "?page=0",
        LOGIN,     403,       403,       403,       403,       403,       403,       403,       403,       400),
    get(SUPERVISION + "/signals/999999",
        LOGIN,     403,       403,       403,       403,       403,       403,       403,       403,       404),
    get(SUPERVISION + "/organizations/{A}",
        LOGIN,     403,       403,       403,       403,       403,       403,       403,       403,       200),
    get(SUPERVISION + "/organizations/{P}",
        LOGIN,     403,       403,       403,       403,       403,       403,       403,       403,       200),
    get(SUPERVISION + "/spot-checks",
        LOGIN,     403,       403,       403,       403,       403,       403,       403,       403,       200),
    get(SUPERVISION + "/spot-checks/{spot_a}",
        LOGIN,     403,       403,       403,       403,       403,       403,       403,       403,       200),
    get(SUPERVISION + "/complaints",
        LOGIN,     403,       403,       403,       403,       403,       403,       403,       403,       200),
    get(SUPERVISION + "/complaints/{complaint_id}",
        LOGIN,     403,       403,       403,       403,       403,       403,       403,       403,       200),
    get("/organizations/{A}/spot-checks",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/organizations/{P}/spot-checks",
        404,       404,       404,       404,       404,       404,       404,       404,       200,       200),
    get("/complaints/certificate/{cert_a}",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/complaints/certificate/NOSUCHCERT",
        404,       404,       404,       404,       404,       404,       404,       404,       404,       404),
    get("/complaints/organization/{A}",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/complaints/{complaint}",
        200,       200,       200,       200,       200,       200,       200,       200,       200,       200),
    get("/complaints/NOSUCHCOMPLAINTCODE",
        404,       404,       404,       404,       404,       404,       404,       404,       404,       404),
]

WEB_WRITES += [
    Row("POST", SUPERVISION + "/scan", signed_in(no(403), platform=ok(Redirect(SUPERVISION))),
        data={}, state=scanned, after=logged),
    Row("POST", SUPERVISION + "/organizations/{A}/spot-checks",
        signed_in(no(403), platform=ok(Redirect(SUPERVISION + "/spot-checks/[A-Z0-9]+"))),
        data={"certificates": "1", "entries": "1"}, state=spot_checks_of("A"), after=plus_one),
    Row("POST", SUPERVISION + "/spot-checks/{spot_a}/outcome",
        signed_in(no(403), platform=ok(Redirect(SUPERVISION + "/spot-checks/{spot_a}"))),
        data={"outcome": "confirmed"}, state=spot_check_status("spot_a"), after=becomes("confirmed")),
    Row("POST", SUPERVISION + "/complaints/{complaint_id}",
        signed_in(no(403), platform=ok(Redirect(SUPERVISION + "/complaints/{complaint_id}"))),
        data={"status": "investigating", "response": "We have asked the organization for its sign-in sheets."},
        state=complaint_status, after=becomes("investigating")),
    Row("POST", "/complaints/certificate/{cert_a}", everyone(ok(FOLLOW)),
        data={"message": "I never saw this volunteer at the centre."}, state=complaints_about, after=plus_one),
    Row("POST", "/complaints/organization/{A}", everyone(ok(FOLLOW)),
        data={"message": "Hours recorded for days the centre was closed."}, state=complaints_about,
        after=plus_one),
    Row("POST", "/complaints/organization/{P}", everyone(no(404), admin_p=ok(FOLLOW), platform=ok(FOLLOW)),
        data={"message": "Hours recorded before it was even approved."}, state=complaints_about,
        after=plus_one),
]

ALL_ROWS = WEB_PAGES + WEB_WRITES + API_CALLS


def cases(rows) -> list:
    return [pytest.param(row, role, id=f"{row} | {role}") for row in rows for role in ROLES]


# --- running one cell ----------------------------------------------------------------------------------------------

def is_success(expected) -> bool:
    return isinstance(expected, Download) or (isinstance(expected, int) and 200 <= expected < 300)


def check_response(response, expected, w: World, *, api: bool) -> None:
    where = f"{response.request.method} {response.request.path}"
    if isinstance(expected, Redirect):
        assert response.status_code == 302, f"{where}: {response.status_code}, expected a redirect"
        path = urlsplit(response.headers["Location"]).path
        assert re.fullmatch(w.fmt(expected.path), path), f"{where} redirected to {path}, not {expected.path}"
    elif isinstance(expected, Err):
        assert response.status_code == expected.status, f"{where}: {response.status_code} {response.get_data()!r}"
        body = response.get_json(silent=True)
        assert isinstance(body, dict) and set(body) == {"error"}, f"{where}: not a JSON error: {body!r}"
        error = body["error"]
        assert error["code"] == expected.code
        assert isinstance(error["message"], str) and error["message"].strip()
        assert set(error) <= {"code", "message", "field"}
    elif isinstance(expected, Download):
        assert response.status_code == 200, f"{where}: {response.status_code}, expected a download"
        assert response.mimetype == expected.mimetype, f"{where}: {response.mimetype}, not {expected.mimetype}"
        assert response.get_data().startswith(expected.magic), f"{where}: not a {expected.mimetype} file"
    elif isinstance(expected, Refused):
        assert response.status_code == expected.status, f"{where}: {response.status_code} {response.get_data()!r}"
        body = response.get_json(silent=True)
        assert body["error"]["code"] == expected.code, f"{where}: {body!r}"
        assert body["scan"]["accepted"] is False and body["scan"]["refusal_code"] == expected.code, body
    else:
        assert response.status_code == expected, f"{where}: {response.status_code}, expected {expected}"
        if api:
            body = response.get_json(silent=True)
            assert isinstance(body, dict) and "error" not in body, f"{where}: {body!r}"


def send(client, w: World, row: Row, actor, *, headers=None):
    data = row.data(w, actor) if callable(row.data) else row.data
    kwargs = {}
    if data is not None:
        kwargs["json" if row.is_api else "data"] = data
    return client.open(w.fmt(row.url), method=row.method, headers=headers or {}, **kwargs)


def api_token(actor) -> dict:
    if actor is None:
        return {}
    _token, plaintext = create_api_token(actor, "matrix")
    db.session.commit()
    return {"Authorization": f"Bearer {plaintext}"}


def run_case(client, w: World, row: Row, role: str) -> None:
    actor = w.user(role)
    headers = {}
    if row.is_api:
        headers = api_token(actor)
    elif actor is not None:
        login(client, actor)
    expected = row.expect(role)
    if not isinstance(expected, Outcome):
        check_response(send(client, w, row, actor, headers=headers), expected, w, api=row.is_api)
        return
    before = row.state(w, actor, client)
    if expected.changed:
        assert row.after(before, w, actor) != before, "a permitted write must change something this row can see"
    response = send(client, w, row, actor, headers=headers)
    check_response(response, expected.response, w, api=row.is_api)
    db.session.rollback()  # what was committed is what counts: the request's session ends here
    after = row.state(w, actor, client)
    assert after == (row.after(before, w, actor) if expected.changed else before), \
        f"{row} as {role}: state {before!r} -> {after!r}"
    shown = row.shows(w, actor) if row.shows else None
    if shown:
        assert (shown in response.get_data(as_text=True)) == expected.changed


# --- the tests -----------------------------------------------------------------------------------------------------

def run_read_row(app, w: World, row: Row) -> None:
    """Every role's cell of a read: one world for the row (a read changes nothing another role's cell depends on),
    a fresh client per role, and every failing cell reported, not only the first."""
    failures = []
    for role in ROLES:
        try:
            run_case(app.test_client(), w, row, role)
        except AssertionError as error:
            failures.append(f"{role}: {error}")
        finally:
            db.session.rollback()
    assert not failures, "\n".join(failures)


API_READS = [row for row in API_CALLS if row.method == "GET"]
API_WRITES = [row for row in API_CALLS if row.method != "GET"]


@pytest.mark.parametrize("row", WEB_PAGES, ids=str)
def test_web_page(app, world, row):
    run_read_row(app, world, row)


@pytest.mark.parametrize(("row", "role"), cases(WEB_WRITES))
def test_web_write(client, world, row, role):
    run_case(client, world, row, role)


@pytest.mark.parametrize("row", API_READS, ids=str)
def test_api_read(app, world, row):
    run_read_row(app, world, row)


@pytest.mark.parametrize(("row", "role"), cases(API_WRITES))
def test_api(client, world, row, role):
    run_case(client, world, row, role)


PRIVATE_ORG_VIEWERS = {"coord_a", "admin_a", "platform"}


@pytest.mark.parametrize("role", ROLES)
def test_api_shows_an_organizations_private_details_only_to_its_staff_and_platform_admins(client, world, role):
    response = client.get(world.fmt("/api/v1/organizations/{A}"), headers=api_token(world.user(role)))
    assert response.status_code == 200
    body = response.get_json()
    assert body["code"] == world.orgs["A"].code
    assert ("status_history" in body) == (role in PRIVATE_ORG_VIEWERS)
    assert ("status_reason" in body) == (role in PRIVATE_ORG_VIEWERS)


def first_permitted_role(row: Row) -> str | None:
    """The first role the row lets through (anonymous only when nobody signed in is)."""
    for role in ROLES[1:] + ROLES[:1]:
        expected = row.expect(role)
        if (isinstance(expected, Outcome) and expected.changed) or is_success(expected):
            return role
    return None


#: API calls that take no token at all; every other one must refuse a revoked token
PUBLIC_API = {("GET", "/api/v1/openapi.json"), ("GET", "/api/v1/organizations"),
              ("GET", "/api/v1/ledger/leaves?start=0&end=10"),
              ("GET", "/api/v1/ledger/proof/inclusion?index=0&tree_size=1"),
              ("GET", "/api/v1/ledger/proof/consistency?first=1&second=1"),
              ("POST", "/api/v1/exchange/transfers")}  # the volunteer's code is the credential
REVOKED_CASES = [
    pytest.param(row, first_permitted_role(row) or "platform", id=f"{row} | {first_permitted_role(row) or 'platform'}")
    for row in API_CALLS if (row.method, row.url) not in PUBLIC_API
]


@pytest.mark.parametrize(("row", "role"), REVOKED_CASES)
def test_api_refuses_a_revoked_token(client, world, row, role):
    actor = world.user(role)
    token, plaintext = create_api_token(actor, "lost tablet")
    revoke_api_token(actor, token.id)
    db.session.commit()
    before = row.state(world, actor, client) if row.state else None
    response = send(client, world, row, actor, headers={"Authorization": f"Bearer {plaintext}"})
    check_response(response, Err(401, "token_invalid"), world, api=True)
    db.session.rollback()
    if row.state:
        assert row.state(world, actor, client) == before


#: API calls that need (or read) a token, each with the role it lets through
SIGNED_IN_API_CASES = [
    pytest.param(row, first_permitted_role(row), id=f"{row} | {first_permitted_role(row)}")
    for row in API_CALLS if (row.method, row.url) not in PUBLIC_API and first_permitted_role(row) is not None
]


@pytest.mark.parametrize(("row", "role"), SIGNED_IN_API_CASES)
def test_api_ignores_a_browser_session(client, world, row, role):
    """The API is exempt from CSRF, so a session cookie must count for nothing there: only the token does."""
    actor = world.user(role)
    login(client, actor)
    expected = row.expect("anonymous")
    expected = expected.response if isinstance(expected, Outcome) else expected
    before = row.state(world, actor, client) if row.state else None
    response = send(client, world, row, actor)
    check_response(response, expected, world, api=True)
    db.session.rollback()
    if row.state:
        assert row.state(world, actor, client) == before


@pytest.mark.parametrize("url", ["/account", "/admin/audit", "/organizations/{A}/manage"])
def test_a_disabled_account_is_signed_out(client, world, url):
    for role in ("admin_a", "platform"):
        world.users[role].is_disabled = True
    db.session.commit()
    login(client, world.users["admin_a" if "{A}" in url else "platform"])
    check_response(client.get(world.fmt(url)), LOGIN, world, api=False)


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer vr_not-a-real-token", "Token abc"])
def test_api_refuses_a_malformed_or_unknown_token(client, world, header):
    response = client.get("/api/v1/me", headers={"Authorization": header})
    check_response(response, Err(401, "token_invalid"), world, api=True)


def test_api_refuses_the_token_of_a_disabled_account(client, world):
    headers = api_token(world.users["platform"])
    world.users["platform"].is_disabled = True
    db.session.commit()
    response = client.get(world.fmt("/api/v1/organizations/{P}"), headers=headers)
    check_response(response, Err(401, "token_invalid"), world, api=True)


def test_a_token_revoked_on_the_account_page_stops_working(client, world):
    member = world.users["member_a"]
    token, plaintext = create_api_token(member, "phone 2")
    db.session.commit()
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    login(client, member)
    response = client.post(f"/account/tokens/{token.id}/revoke", data={})
    check_response(response, Redirect("/account"), world, api=False)
    check_response(client.get("/api/v1/me", headers=headers), Err(401, "token_invalid"), world, api=True)


def test_every_route_is_in_the_matrix(app, world):
    """A new route fails this test until it has a row, with an expectation for every role."""
    adapter = app.url_map.bind("registry.test")
    covered = set()
    for row in ALL_ROWS:
        assert len(row.cells) == len(ROLES), f"{row}: {len(row.cells)} expectations for {len(ROLES)} roles"
        if isinstance(row.cells[0], Outcome) or row.method != "GET":
            assert row.state is not None, f"{row}: a write needs a state to check"
            assert all(isinstance(cell, Outcome) for cell in row.cells), f"{row}: say ok() or no() for each role"
        endpoint, _args = adapter.match(urlsplit(world.fmt(row.url)).path, method=row.method)
        covered.add((endpoint, row.method))
    routes = {(rule.endpoint, method) for rule in app.url_map.iter_rules() if rule.endpoint != "static"
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert sorted(routes - covered) == []

    web_posts = {(rule.endpoint, "POST") for rule in app.url_map.iter_rules()
                 if "POST" in rule.methods and not rule.rule.startswith("/api/")}
    replayed = {(adapter.match(urlsplit(world.fmt(p.values[0].url)).path, method="POST")[0], "POST")
                for p in CSRF_CASES}
    assert sorted(web_posts - replayed) == [], "every web POST route needs a permitted write for the CSRF test"


# --- CSRF ----------------------------------------------------------------------------------------------------------

@pytest.fixture
def csrf_app(tmp_path):
    yield from serve(build_app(tmp_path, WTF_CSRF_ENABLED=True))


@pytest.fixture
def csrf_world(csrf_app) -> World:
    return build_world(Factory(csrf_app))


#: each web write, as a role it is permitted to (so only the missing token can stop it)
CSRF_CASES = [
    pytest.param(row, first_permitted_role(row), id=f"{row} | {first_permitted_role(row)}")
    for row in WEB_WRITES if first_permitted_role(row) is not None
]


@pytest.mark.parametrize(("row", "role"), CSRF_CASES)
def test_web_post_without_csrf_token_is_refused(csrf_app, csrf_world, row, role):
    client = csrf_app.test_client()
    actor = csrf_world.user(role)
    if actor is not None:
        login(client, actor)
    before = row.state(csrf_world, actor, client)
    response = send(client, csrf_world, row, actor)
    assert response.status_code == 400, f"{row} as {role} without a CSRF token: {response.status_code}"
    db.session.rollback()
    assert row.state(csrf_world, actor, client) == before


def csrf_token_in(html: str) -> str:
    field = re.search(r'<input[^>]*\bname="csrf_token"[^>]*>', html)
    assert field, "the page has no csrf_token input"
    value = re.search(r'\bvalue="([^"]+)"', field.group(0))
    assert value, "the csrf_token input has no value"
    return value.group(1)


def test_web_post_with_the_pages_csrf_token_succeeds(csrf_app, csrf_world):
    w = csrf_world
    client = csrf_app.test_client()
    login(client, w.users["coord_a"])
    page = client.get(w.fmt("/organizations/{A}/members?status=pending"))
    assert page.status_code == 200
    token = csrf_token_in(page.get_data(as_text=True))
    url = w.fmt("/organizations/{A}/members/{pending_a}/decision")

    refused = client.post(url, data={"decision": "approve", "csrf_token": "not-the-token"})
    assert refused.status_code == 400
    db.session.rollback()
    assert w.memberships["A"].status == "pending"

    response = client.post(url, data={"decision": "approve", "csrf_token": token})
    check_response(response, MEMBERS_A, w, api=False)
    db.session.rollback()
    assert w.memberships["A"].status == "active"


def test_api_needs_no_csrf_token(csrf_app, csrf_world):
    w = csrf_world
    client = csrf_app.test_client()
    actor = w.users["no_profile"]
    response = client.put("/api/v1/me/volunteer", json=profile_json(w, actor), headers=api_token(actor))
    check_response(response, 201, w, api=True)
    db.session.rollback()
    assert own_volunteer_name(w, actor, client) == NEW_NAME
