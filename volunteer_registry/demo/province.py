"""A province's worth of data (DESIGN.md's scale: 3,700 organizations, 554,000 volunteers, about 800,000 approved
entries and 2.35 million hours), written by bulk inserts of plain rows, never one ORM object a row.

Deterministic for a seed: the same seed gives the same people, organizations, activities and entries (only the
AES-GCM ciphertexts of the ID numbers differ, as their nonces are random by design). The skew is realistic: a few
large organizations and many small ones (a Pareto law), most of them in Xining and Haidong, service peaking in
March (Learn from Lei Feng month), the summer and December. The ledger's log is sealed at the end with one signed
checkpoint (``ledger.services.seal_all``) and the monthly totals rebuilt."""
from __future__ import annotations

import datetime as dt
import random
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import func, insert, text
from werkzeug.security import generate_password_hash

from ..accounts.models import User
from ..activities.models import Activity
from ..codes import ALPHABET, check_character
from ..errors import DomainError
from ..exchange.feed import backfill_events
from ..extensions import db
from ..ledger.aggregates import rebuild_service_months
from ..ledger.log import seal_all
from ..ledger.models import LedgerEntry, LedgerState
from ..models import utcnow
from ..organizations.credit_code import credit_code_check_character
from ..organizations.models import Membership, Organization, StaffRole
from ..regions import all_regions
from ..timeutil import LOCAL_ZONE
from ..volunteers.identity import mask_id_number, resident_id_check_character
from ..volunteers.models import Volunteer
from ..volunteers.vault import encrypt_id_number, id_number_hash

#: the province, a tenth and a hundredth of it (the benchmark compares the province with a tenth; --quick a tenth
#: with a hundredth)
SCALES = {"province": 1.0, "tenth": 0.1, "hundredth": 0.01}
ORGANIZATIONS, VOLUNTEERS, ENTRIES, HOURS = 3_700, 554_000, 800_000, 2_350_000
#: rows written at a time
CHUNK = 10_000
#: the share of organizations (and people) in each prefecture, roughly as the population lives
PREFECTURE_WEIGHTS = {"630100": 0.41, "630200": 0.23, "632200": 0.05, "632300": 0.05, "632500": 0.08,
                      "632600": 0.04, "632700": 0.05, "632800": 0.09}
#: service by month of the year (March, the summer and December are the peaks)
MONTH_WEIGHTS = (0.6, 0.6, 1.6, 1.0, 1.0, 1.1, 1.3, 1.3, 1.0, 0.9, 0.8, 1.2)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林罗高"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀英华玉兰桂霞平刚"
TIBETAN = ("卓玛", "扎西", "次仁", "拉姆", "旦增", "央金", "多吉", "尼玛", "才让", "德吉", "索南", "格桑")
ORG_KINDS = ("青年志愿者协会", "社区志愿服务队", "爱心助学基金会", "应急救援志愿者协会", "老年协会",
             "环保志愿服务队", "社会工作服务中心", "文化志愿服务队", "助残志愿服务队", "卫生健康志愿服务队")
ACTIVITY_KINDS = (("敬老院探访", "elderly"), ("社区清洁", "environment"), ("助学辅导", "education"),
                  ("义诊", "health"), ("文化下乡", "culture"), ("应急演练", "emergency"),
                  ("助残陪伴", "disability"), ("社区服务站值班", "community"), ("赛事服务", "events"))


class SeedError(DomainError):
    messages = {"database_not_empty": "The province is seeded into an empty database (run `flask db upgrade` on a "
                                      "new one); this one already holds organizations."}


@dataclass
class Seeded:
    organizations: int = 0
    volunteers: int = 0
    memberships: int = 0
    activities: int = 0
    entries: int = 0
    minutes: int = 0
    tree_size: int = 0


def _chunks(rows: Iterator[dict], size: int = CHUNK) -> Iterator[list[dict]]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _write(model, rows: Iterator[dict], progress: Callable[[int], None] | None) -> int:
    """``rows`` into ``model``'s table, CHUNK at a time (executemany); the number written."""
    count = 0
    for batch in _chunks(rows):
        db.session.execute(insert(model), batch)
        count += len(batch)
        if progress:
            progress(len(batch))
    return count


class _Codes:
    """Unique public codes from the seeded random source (``codes.ALPHABET``: nothing a person misreads)."""

    def __init__(self, rng: random.Random):
        self.rng, self.seen = rng, set()

    def code(self, length: int = 8) -> str:
        while True:
            value = "".join(self.rng.choice(ALPHABET) for _ in range(length))
            if value not in self.seen:
                self.seen.add(value)
                return value

    def volunteer_number(self) -> str:
        while True:
            body = "".join(self.rng.choice(ALPHABET) for _ in range(11))
            raw = body + check_character(body)
            if raw not in self.seen:
                self.seen.add(raw)
                return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def _counties() -> dict[str, list[str]]:
    """Prefecture code → its counties' codes."""
    found: dict[str, list[str]] = {}
    for region in all_regions().values():
        if region.level == "county":
            found.setdefault(region.parent, []).append(region.code)
    return found


def seed_province(*, scale: float | str = "province", seed: int = 2026,
                  progress: Callable[[str, int, int], None] | None = None) -> Seeded:
    """Write the province (``scale``: "province", "tenth", or a fraction for tests) into an empty database.
    ``progress(stage, done, total)`` is told how far each stage is. Flushes; the caller commits. Raises SeedError
    database_not_empty."""
    factor = SCALES[scale] if isinstance(scale, str) else float(scale)
    if db.session.scalar(db.select(func.count()).select_from(Organization)):
        raise SeedError("database_not_empty")
    rng, codes, now = random.Random(seed), _Codes(random.Random(seed + 1)), utcnow().replace(microsecond=0)
    counties = _counties()
    prefectures = list(PREFECTURE_WEIGHTS)
    n_orgs = max(3, round(ORGANIZATIONS * factor))
    n_volunteers = max(10, round(VOLUNTEERS * factor))
    n_entries = max(20, round(ENTRIES * factor))
    mean_minutes = HOURS * 60 / ENTRIES
    done = Seeded()

    def tell(stage: str, total: int):
        counter = {"done": 0}

        def step(count: int) -> None:
            counter["done"] += count
            if progress:
                progress(stage, counter["done"], total)
        return step

    # accounts: one org admin per organization (one password hash for all: the demo's)
    password = generate_password_hash("demo-password-2026")
    users = [{"id": i, "email": f"org{i}@province.example.org", "password_hash": password,
              "session_nonce": secrets.token_hex(16), "created_at": now} for i in range(1, n_orgs + 1)]
    _write(User, iter(users), tell("accounts", n_orgs))

    # organizations: Pareto sizes, placed by prefecture weight
    sizes = [rng.paretovariate(1.16) for _ in range(n_orgs)]
    orgs = []
    for i in range(1, n_orgs + 1):
        prefecture = rng.choices(prefectures, weights=[PREFECTURE_WEIGHTS[p] for p in prefectures])[0]
        county = rng.choice(counties.get(prefecture, [prefecture]))
        body = f"51{county}MJ{i:07d}"
        orgs.append({"id": i, "code": codes.code(), "name": f"{all_regions()[county].name_zh}{ORG_KINDS[i % 10]}{i}",
                     "org_type": "social_group", "credit_code": body + credit_code_check_character(body),
                     "region_code": county, "address": f"{all_regions()[county].name_zh}人民路{i}号",
                     "person_in_charge": rng.choice(SURNAMES) + rng.choice(GIVEN), "contact_phone": "0971-8000000",
                     "contact_email": f"org{i}@province.example.org", "description": "", "status": "approved",
                     "join_mode": "approval", "applicant_id": i,
                     "created_at": now - dt.timedelta(days=rng.randint(200, 3000)),
                     "decided_at": now - dt.timedelta(days=rng.randint(1, 199))})
    done.organizations = _write(Organization, iter(orgs), tell("organizations", n_orgs))
    _write(StaffRole, ({"organization_id": i, "user_id": i, "role": "admin", "created_at": now}
                       for i in range(1, n_orgs + 1)), None)

    # volunteers: valid resident IDs (GB 11643), living where the organizations are
    used_ids: set[str] = set()

    def volunteers() -> Iterator[dict]:
        for i in range(1, n_volunteers + 1):
            prefecture = rng.choices(prefectures, weights=[PREFECTURE_WEIGHTS[p] for p in prefectures])[0]
            county = rng.choice(counties.get(prefecture, [prefecture]))
            gender = rng.choice(("male", "female"))
            birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randint(0, 365 * 58))
            sequence = rng.randrange(0, 500) * 2 + (1 if gender == "male" else 0)
            while True:
                body = f"{county}{birth:%Y%m%d}{sequence % 1000:03d}"
                number = body + resident_id_check_character(body)
                if number not in used_ids:
                    used_ids.add(number)
                    break
                sequence += 2
            name = (rng.choice(TIBETAN) if rng.random() < 0.3 else rng.choice(SURNAMES) + rng.choice(GIVEN)
                    + (rng.choice(GIVEN) if rng.random() < 0.5 else ""))
            joined = now - dt.timedelta(days=rng.randint(0, 1500), minutes=rng.randint(0, 1439))
            yield {"id": i, "volunteer_number": codes.volunteer_number(), "name": name, "gender": gender,
                   "birth_date": birth, "id_type": "resident_id",
                   "id_number_encrypted": encrypt_id_number(number),
                   "id_number_hash": id_number_hash("resident_id", number),
                   "id_number_masked": mask_id_number(number), "phone": f"138{rng.randrange(10**8):08d}",
                   "region_code": county, "skills": "", "consent_at": joined, "consent_source": "self",
                   "created_at": joined, "updated_at": joined}
    done.volunteers = _write(Volunteer, volunteers(), tell("volunteers", n_volunteers))

    # memberships: each volunteer in one organization (a third in two), the large ones taking more
    members: dict[int, list[int]] = {}
    org_ids = list(range(1, n_orgs + 1))

    def memberships() -> Iterator[dict]:
        for volunteer_id in range(1, n_volunteers + 1):
            chosen = set(rng.choices(org_ids, weights=sizes, k=2 if rng.random() < 0.33 else 1))
            for org_id in chosen:
                members.setdefault(org_id, []).append(volunteer_id)
                yield {"organization_id": org_id, "volunteer_id": volunteer_id, "status": "active",
                       "applied_at": now - dt.timedelta(days=300), "decided_at": now - dt.timedelta(days=299),
                       "decided_by_id": org_id}
    done.memberships = _write(Membership, memberships(), tell("memberships", n_volunteers))

    # activities: about ten a year for an ordinary organization, many more for the large ones
    total_size = sum(sizes)
    activities: dict[int, list[tuple[int, str, str, dt.datetime]]] = {}
    rows, activity_id = [], 0
    for org_id, size in zip(org_ids, sizes, strict=True):
        org = orgs[org_id - 1]
        for _ in range(max(2, min(2000, round(30 * n_orgs * size / total_size)))):
            activity_id += 1
            title, category = rng.choice(ACTIVITY_KINDS)
            start = _seasonal_moment(rng, now)
            rows.append({"id": activity_id, "code": codes.code(), "organization_id": org_id, "title": title,
                         "description": "", "category": category, "recipient": "社区居民",
                         "region_code": org["region_code"], "address": org["address"],
                         "starts_at": start, "ends_at": start + dt.timedelta(hours=4), "grace_minutes": 30,
                         "signup_mode": "auto", "person_in_charge": org["person_in_charge"], "status": "closed",
                         "created_by_id": org_id, "created_at": start - dt.timedelta(days=7)})
            activities.setdefault(org_id, []).append((activity_id, title, category, start))
    done.activities = _write(Activity, iter(rows), tell("activities", len(rows)))

    # the ledger: each service entry and its approval, about 2.35 million hours in all
    entry_orgs = rng.choices([o for o in org_ids if o in members], weights=[sizes[o - 1] for o in org_ids
                                                                           if o in members], k=n_entries)
    states: list[dict] = []

    def entries() -> Iterator[dict]:
        entry_id = 0
        for org_id in entry_orgs:
            org = orgs[org_id - 1]
            activity, title, category, start = rng.choice(activities[org_id])
            volunteer_id = rng.choice(members[org_id])
            minutes = max(30, min(600, round(rng.lognormvariate(0, 0.45) * mean_minutes * 0.905)))
            begun = start + dt.timedelta(minutes=rng.randint(0, 30))
            ended = begun + dt.timedelta(minutes=minutes)
            served_on = begun.astimezone(LOCAL_ZONE).date()
            entry_id += 2
            common = {"volunteer_id": volunteer_id, "organization_id": org_id, "activity_id": activity,
                      "service_date": served_on, "flags": [], "certificate_code": None, "session_id": None}
            yield {**common, "id": entry_id - 1, "kind": "service", "refers_to_id": None, "minutes": minutes,
                   "started_at": begun, "ended_at": ended, "activity_title": title, "place": org["address"],
                   "recipient": "社区居民", "content": category, "person_in_charge": org["person_in_charge"],
                   "source": "card", "reason": None, "actor_id": org_id, "created_at": ended}
            yield {**common, "id": entry_id, "kind": "approval", "refers_to_id": entry_id - 1, "minutes": None,
                   "started_at": None, "ended_at": None, "activity_title": None, "place": None, "recipient": None,
                   "content": None, "person_in_charge": None, "source": None, "reason": None, "actor_id": org_id,
                   "created_at": ended + dt.timedelta(days=1)}
            states.append({"entry_id": entry_id - 1, "volunteer_id": volunteer_id, "organization_id": org_id,
                           "status": "approved", "minutes": minutes, "flagged": False, "service_date": served_on,
                           "decided_by_entry_id": entry_id, "started_at": begun, "ended_at": ended,
                           "pending_correction_id": None, "proposed_minutes": None})
            done.minutes += minutes
    done.entries = _write(LedgerEntry, entries(), tell("ledger entries", 2 * n_entries)) // 2
    _write(LedgerState, iter(states), tell("totals", len(states)))
    rebuild_service_months()
    _reset_sequences()
    checkpoint = seal_all(chunk=CHUNK * 2, progress=tell("Merkle log", 2 * n_entries))
    done.tree_size = checkpoint.tree_size if checkpoint else 0
    backfill_events()  # the bulk load bypassed the ORM: the exchange feed's events of every row, as an upgrade does
    db.session.execute(text("ANALYZE"))  # the planner's statistics: a bulk load leaves none
    return done


def _seasonal_moment(rng: random.Random, now: dt.datetime) -> dt.datetime:
    """A moment in the last three years, weighted by MONTH_WEIGHTS, at a daytime hour in Beijing."""
    while True:
        day = (now - dt.timedelta(days=rng.randint(1, 3 * 365))).astimezone(LOCAL_ZONE).date()
        if rng.random() * max(MONTH_WEIGHTS) <= MONTH_WEIGHTS[day.month - 1]:
            local = dt.datetime.combine(day, dt.time(rng.choice((8, 9, 10, 14, 15))), LOCAL_ZONE)
            return local.astimezone(dt.UTC)


def _reset_sequences() -> None:
    """PostgreSQL: the id sequences continue after the ids written explicitly (SQLite needs nothing)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for table in ("users", "organizations", "volunteers", "activities", "ledger_entries"):
        db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"))
