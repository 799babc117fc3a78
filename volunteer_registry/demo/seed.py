from __future__ import annotations

import datetime as dt
import io
import math
import random

from PIL import Image, ImageDraw

from ..accounts.models import User
from ..accounts.services import create_account
from ..activities.schedule import SeriesData, create_series, join_roster
from ..activities.services import ActivityData, create_activity, publish_activity, sign_up
from ..certificates.services import issue_certificate, revoke_certificate
from ..checkin.services import ScanRequest, record_scan
from ..extensions import db
from ..ledger.log import extend_log
from ..ledger.services import decide_entries
from ..models import utcnow
from ..organizations.credit_code import credit_code_check_character
from ..organizations.services import (
    OrganizationData,
    accept_invitation,
    apply_for_membership,
    apply_for_organization,
    create_invitation,
    decide_membership,
    decide_organization,
    set_seal,
)
from ..points.services import PointData, create_point, issue_poster
from ..timeutil import LOCAL_ZONE
from ..volunteers.identity import resident_id_check_character
from ..volunteers.queries import volunteer_for_user
from ..volunteers.services import VolunteerData, save_own_profile

DEMO_PASSWORD = "demo-password-2026"
DEMO_ACCOUNTS = (
    ("admin@example.org", "platform admin (civil affairs): approves organizations, reads the audit log"),
    ("orgadmin@example.org", "org admin of Chengdong Youth Volunteers: members, invitations, import, certificates"),
    ("coordinator@example.org", "coordinator of Chengdong Youth Volunteers: join requests, kiosk QR, scanner"),
    ("volunteer@example.org", "volunteer Zhuoma (卓玛): profile, sign-ups, volunteer card, her certificate"),
    ("applicant@example.org", "has applied to register an organization, waiting for approval"),
)


def demo_credit_code(category: str, region: str, serial: int) -> str:
    body = f"5{category}{region}MJ{serial:07d}"
    return body + credit_code_check_character(body)


def demo_resident_id(region: str, birth: dt.date, sequence: int) -> str:
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + resident_id_check_character(body)


def _org(applicant, name, org_type, category, region, serial, person, join_mode="approval", description=""):
    return apply_for_organization(applicant, OrganizationData(
        name=name, org_type=org_type, credit_code=demo_credit_code(category, region, serial) if category else None,
        region_code=region, address=f"{name} 服务中心", person_in_charge=person, contact_phone="0971-8123456",
        contact_email=f"contact{serial}@example.org", description=description, join_mode=join_mode))


def _volunteer(user, name, gender, birth, region, sequence, skills=""):
    return save_own_profile(user, VolunteerData(
        name=name, gender=gender, birth_date=birth, id_type="resident_id",
        id_number=demo_resident_id(region, birth, sequence), phone=f"139{sequence:08d}", region_code=region,
        skills=skills, consent=True))


def demo_loaded() -> bool:
    """Whether `flask demo seed` has made the demo data here (its first account exists)."""
    return db.session.scalar(db.select(User.id).where(User.email == DEMO_ACCOUNTS[0][0])) is not None


def seed_demo() -> bool:
    """Create the demo data once. Returns False (and changes nothing) when it is already there."""
    if demo_loaded():
        return False
    rng = random.Random(2026)
    admin = create_account("admin@example.org", DEMO_PASSWORD, is_platform_admin=True)
    org_admin = create_account("orgadmin@example.org", DEMO_PASSWORD)
    org_admin.display_name = "马晓东"  # the person in charge of 城东区青年志愿者协会, the handler on its certificates
    coordinator = create_account("coordinator@example.org", DEMO_PASSWORD)
    volunteer_user = create_account("volunteer@example.org", DEMO_PASSWORD, locale="zh_CN")
    applicant = create_account("applicant@example.org", DEMO_PASSWORD)

    chengdong = _org(org_admin, "西宁市城东区青年志愿者协会", "social_group", "1", "630102", 1, "马晓东",
                     description="社区服务、敬老助老和大型活动保障。Community service, elderly care and large events.")
    decide_organization(admin, chengdong, "approve")
    _inv, token = create_invitation(org_admin, chengdong, "coordinator", "demo coordinator")
    accept_invitation(coordinator, token)

    others = [
        ("海东市乐都区爱心助学基金会", "foundation", "3", "630202", "李文华", "open"),
        ("海北州门源县环保志愿服务队", "community_team", None, "632221", "才让", "open"),
        ("玉树市应急救援志愿者协会", "social_group", "1", "632701", "尼玛扎西", "approval"),
        ("格尔木市社会工作服务中心", "social_service_institution", "2", "632801", "王建国", "invitation"),
    ]
    for serial, (name, kind, category, region, person, mode) in enumerate(others, start=2):
        org = _org(org_admin if serial % 2 else admin, name, kind, category, region, serial, person, mode)
        decide_organization(admin, org, "approve")
    _org(applicant, "湟中区鲁沙尔镇老年协会", "social_group", "1", "630106", 9, "赵德明")

    _volunteer(volunteer_user, "卓玛", "female", dt.date(1998, 4, 12), "632701", 42, "藏语翻译, 急救")
    apply_for_membership(volunteer_user, chengdong)
    surnames = "王李张刘陈杨赵马才尼"
    given = ["丽", "强", "芳", "军", "敏", "杰", "燕", "涛", "措", "吉"]
    for i in range(8):
        user = create_account(f"volunteer{i + 1}@example.org", DEMO_PASSWORD)
        gender = "female" if i % 2 else "male"
        birth = dt.date(1975 + rng.randrange(30), rng.randrange(1, 13), rng.randrange(1, 28))
        region = rng.choice(["630102", "630103", "630104", "630105"])
        sequence = 100 + i * 2 + (0 if gender == "female" else 1)
        _volunteer(user, surnames[i] + given[i], gender, birth, region, sequence)
        membership = apply_for_membership(user, chengdong)
        if i < 5:
            decide_membership(coordinator, membership, approve=True)
    members = [volunteer_user] + [db.session.scalar(db.select(User).where(User.email == f"volunteer{i}@example.org"))
                                  for i in range(1, 9)]
    _activities(org_admin, coordinator, chengdong, members)
    db.session.flush()
    return True


def _activities(org_admin, coordinator, org, people) -> None:
    """The service station's duty: open all day today (walk-ins welcome, two volunteers already checked in), then a
    weekly roster, Monday to Friday mornings for half a year, two volunteers on it, and the station's poster (a
    service point); a visit tomorrow
    with open places, a clean-up next week whose sign-ups a coordinator decides (卓玛's is waiting), and last
    week's visit in the ledger (two entries approved, two waiting), with the log's first signed checkpoint."""
    now = utcnow().replace(second=0, microsecond=0)
    today = dt.datetime.combine(now.astimezone(LOCAL_ZONE).date(), dt.time(), tzinfo=LOCAL_ZONE)

    def activity(title, category, recipient, address, starts, hours, **extra):
        data = ActivityData(title=title, category=category, recipient=recipient, region_code=org.region_code,
                            address=address, person_in_charge="马晓东", starts_at=starts,
                            ends_at=starts + dt.timedelta(hours=hours), grace_minutes=30, **extra)
        # planned ahead, as a real organization does (created three days before it starts)
        created = create_activity(org_admin, org, data, now=min(now, starts - dt.timedelta(days=3)))
        publish_activity(org_admin, created)
        return created

    duty = activity("社区服务站日常值班", "community", "城东区居民", "西宁市城东区八一路社区服务站", today,
                    24, allows_walk_ins=True,
                    description="周一至周五上午到社区服务站值班：接待来访居民，协助办理事务。加入值班表即报名每一班；"
                                "今天全天开放，签到扫屏幕上的二维码。")
    visit = activity("敬老院周末探访", "elderly", "城东区福利院老人", "西宁市城东区福利院",
                     today + dt.timedelta(days=1, hours=9), 3, capacity=12,
                     description="陪老人聊天、读报、做手工。请穿便于活动的衣服。",
                     risk_disclosure="院内地面湿滑处请小心；不得自行给老人喂食。")
    cleanup = activity("湟水河岸清洁", "environment", "湟水河城东段河岸", "西宁市湟水河城东段",
                       today + dt.timedelta(days=6, hours=9), 4, capacity=30, signup_mode="approval",
                       requires_insurance=True, risk_disclosure="靠近水边，请勿下河；手套和垃圾袋由组织提供。")
    for person in people[1:4]:
        sign_up(person, visit)
    sign_up(people[0], cleanup)
    sign_up(people[0], visit)
    for n, person in enumerate(people[1:3], start=1):
        record_scan(coordinator, ScanRequest(event_id=f"demo-checkin-{n:04d}", activity_code=duty.code,
                                             volunteer_number=volunteer_for_user(person).volunteer_number,
                                             direction="in"))
    # from tomorrow the duty is a weekly roster (today's open day, with its check-ins, stays a shift of its own)
    roster = create_series(coordinator, duty, SeriesData.from_mapping({
        "frequency": "weekly", "weekdays": ["MO", "TU", "WE", "TH", "FR"], "interval": 1,
        "first_day": (today + dt.timedelta(days=1)).date(), "until": (today + dt.timedelta(days=182)).date(),
        "start_time": "09:00", "duration_minutes": 180, "capacity": 3, "role": "前台接待",
        "exceptions": [(today + dt.timedelta(days=days)).date() for days in (28, 29)]}), now)
    for person in people[3:5]:
        join_roster(person, roster, now)
    # the station's printed poster: volunteers on the roster scan it with their phone at arrival and departure
    issue_poster(coordinator, create_point(coordinator, duty, PointData(
        name="八一路社区服务站", address="西宁市城东区八一路社区服务站", latitude=36.6209, longitude=101.8055,
        radius_m=150)))
    # last week's visit: served, recorded in the ledger; two entries approved, two waiting for the coordinator
    past = activity("敬老院周末探访（上周）", "elderly", "城东区福利院老人", "西宁市城东区福利院",
                    today - dt.timedelta(days=7, hours=-9), 3)
    entries = []
    for n, (person, minutes) in enumerate(zip(people[:4], (180, 150, 175, 95), strict=True), start=1):
        number = volunteer_for_user(person).volunteer_number
        sign_up(person, past, now=past.starts_at - dt.timedelta(days=2))
        for direction, at in (("in", past.starts_at), ("out", past.starts_at + dt.timedelta(minutes=minutes))):
            result = record_scan(coordinator, ScanRequest(event_id=f"demo-past-{direction}-{n:04d}",
                                                          activity_code=past.code, volunteer_number=number,
                                                          direction=direction), now=at)
        entries.append(result.entry.id)
    decide_entries(coordinator, org, entries[:2], "approve")
    # 卓玛's certificate of last week's visit (the organization's seal on it), and one issued in error and revoked
    set_seal(org_admin, org, demo_seal())
    week = (today - dt.timedelta(days=14)).date(), today.date()
    issue_certificate(org_admin, org, volunteer_for_user(people[0]), *week)
    mistaken = issue_certificate(org_admin, org, volunteer_for_user(people[1]), *week, render=False)
    revoke_certificate(org_admin, mistaken, "签发时选错了志愿者 Issued to the wrong volunteer")
    extend_log()


def demo_seal() -> bytes:
    """A round red seal with a star (drawn, so the demo needs no image file and no font)."""
    size = 600
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    red = (200, 30, 35, 235)
    draw.ellipse((20, 20, size - 20, size - 20), outline=red, width=26)
    draw.ellipse((70, 70, size - 70, size - 70), outline=red, width=6)
    centre, outer, inner = size / 2, 120, 48
    points = [(centre + (outer if i % 2 == 0 else inner) * math.sin(math.pi * i / 5),
               centre - (outer if i % 2 == 0 else inner) * math.cos(math.pi * i / 5)) for i in range(10)]
    draw.polygon(points, fill=red)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
