"""Two real registries on loopback (instances.py: two gunicorn servers, two databases, two sets of keys): a
volunteer serves on A and moves the record to B on B's page with a code created on A's page; B's totals and stars
count A's approved service once; the same code or the same bundle again changes nothing; a bundle with one changed
minute, one from a registry B does not trust, and one from a fork of A inconsistent with what B saw of A are each
refused with their code, B unchanged; B ingests A's upward feed pushed by A's worker, which is killed (SIGKILL)
in the middle of the push and started again, and ends with every event of A's exactly once."""
from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import re
import signal
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import PASSWORD, Factory, valid_resident_id
from tests.ledger.test_ledger import serve
from volunteer_registry.activities.services import sign_up
from volunteer_registry.audit.models import AuditEvent
from volunteer_registry.config import sqlite_path
from volunteer_registry.exchange.bundle import build_bundle
from volunteer_registry.exchange.feed import create_exchange_token, sequence_events
from volunteer_registry.exchange.models import (
    ExchangeEvent,
    Peer,
    PushState,
    ReceivedEvent,
    RegionalService,
    Transfer,
    TransferCode,
)
from volunteer_registry.exchange.services import (
    ExchangeError,
    add_peer,
    create_transfer_code,
    import_bundle,
    peer_by_url,
    transfer_in,
)
from volunteer_registry.exchange.verify import bundle_note_body, verify_bundle
from volunteer_registry.extensions import db
from volunteer_registry.ledger.checkpoint import sign_note
from volunteer_registry.ledger.log import signing_key
from volunteer_registry.ledger.models import LedgerLeaf, LedgerState, TransferredService
from volunteer_registry.ledger.services import decide_entries, hours_of
from volunteer_registry.models import utcnow
from volunteer_registry.organizations.models import Organization
from volunteer_registry.organizations.services import apply_for_membership, decide_membership
from volunteer_registry.records.services import TrainingData, record_training
from volunteer_registry.volunteers.models import Volunteer

from .instances import TIMEOUT, stop_process

pytestmark = pytest.mark.slow

T = dt.timedelta
#: events a push sends at once here (EXCHANGE_PUSH_PAGE): small, so that a few hundred events make several pages
PUSH_PAGE = 50
DAY = 24 * 60
#: five days of ten hours: 50 hours, half of the first star (STAR_HOURS)
FIVE_DAYS = [(day * DAY, day * DAY + 600) for day in range(5)]
_people = itertools.count()


@dataclass(frozen=True)
class Person:
    """One person as two registries know them: the same resident ID number and name on both."""

    name: str
    gender: str
    birth_date: dt.date
    id_number: str


def new_person(name: str = "卓玛") -> Person:
    birth = dt.date(1980, 1, 1) + T(days=next(_people))  # a birth date of its own: never the same ID number twice
    return Person(name, "female", birth, valid_resident_id(birth=birth, gender="female"))


@dataclass(frozen=True)
class Enrolled:
    volunteer_id: int
    identifier: str  #: the account's sign-in name (its password is tests.conftest.PASSWORD)


def enrol(instance, person: Person) -> Enrolled:
    """The person's account and volunteer record on ``instance``, committed."""
    with instance.context() as app:
        make = Factory(app)
        user = make.user()
        volunteer = make.volunteer(user, name=person.name, gender=person.gender, birth_date=person.birth_date,
                                   id_number=person.id_number)
        db.session.commit()
        return Enrolled(volunteer.id, user.email)


@dataclass(frozen=True)
class Served:
    organization_code: str
    approved: list[int]  #: service entry ids the org admin approved
    rejected: list[int]


def record_service(instance, volunteer_id: int, sessions, *, rejected: int = 0) -> Served:
    """The volunteer serves ``sessions`` ((start, end) minutes after the start of an activity that began six days
    ago) on ``instance``: the coordinator scans in and out, the org admin (a second person) approves every entry but
    the last ``rejected`` ones, which they reject. Committed."""
    with instance.context() as app:
        make = Factory(app)
        now = utcnow().replace(microsecond=0)
        activity = make.activity(title="社区服务站日常值班", starts_at=now - T(days=6), ends_at=now + T(hours=1))
        org = activity.organization
        coordinator, admin = make.coordinator(org), make.org_admin_of(org)
        volunteer = db.session.get(Volunteer, volunteer_id)
        sign_up(make.account_of(volunteer), activity, now=activity.starts_at - T(days=1))
        entries = [serve(activity, coordinator, volunteer, start, end).entry.id for start, end in sessions]
        kept, dropped = entries[:len(entries) - rejected], entries[len(entries) - rejected:]
        decide_entries(admin, org, kept, "approve")
        if dropped:
            decide_entries(admin, org, dropped, "reject", reason="left early")
        db.session.commit()
        return Served(org.code, kept, dropped)


def trust(b, a) -> None:
    """B's platform admin adds A as a trusted peer (B fetches A's published keys from A's server)."""
    with b.context():
        add_peer(a.url)
        db.session.commit()


def new_code(a, enrolled: Enrolled) -> str:
    """A one-time transfer code of the volunteer's on A (through A's service)."""
    with a.context():
        volunteer = db.session.get(Volunteer, enrolled.volunteer_id)
        code, _row = create_transfer_code(volunteer, None)
        db.session.commit()
        return code


def counts(instance) -> dict[str, int]:
    """Rows of what a transfer writes, on ``instance``."""
    with instance.context():
        return {model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
                for model in (Transfer, TransferredService)}


def totals(instance, volunteer_id: int) -> tuple[int, int, int]:
    """(approved minutes, of which transferred, stars) of the volunteer on ``instance``."""
    with instance.context():
        hours = hours_of(volunteer_id)
        return hours.minutes, hours.transferred_minutes, hours.stars


def refused_code(call) -> str:
    with pytest.raises(ExchangeError) as refused:
        call()
    return refused.value.code


# --- the pages, over HTTP --------------------------------------------------------------------------------------------

class Browser:
    """A person's browser on one instance: a cookie jar, the forms' CSRF tokens read from the pages."""

    def __init__(self, instance):
        self.instance = instance
        self.session = requests.Session()

    def close(self) -> None:
        self.session.close()

    def get(self, path: str) -> requests.Response:
        return self.session.get(self.instance.url + path, timeout=60)

    def post(self, path: str, data: dict, *, form_page: str) -> requests.Response:
        """Submit ``data`` to ``path`` with the CSRF token of the form on ``form_page``."""
        page = self.get(form_page)
        assert page.status_code == 200, (form_page, page.status_code)
        return self.session.post(self.instance.url + path, data={**data, "csrf_token": csrf_token(page.text)},
                                 timeout=60)

    def sign_in(self, identifier: str) -> None:
        answer = self.post("/login", {"identifier": identifier, "password": PASSWORD}, form_page="/login")
        assert [r.status_code for r in answer.history] == [302], (answer.status_code, answer.url)


def csrf_token(html: str) -> str:
    tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', html)
    assert tag, "no CSRF token on the page"
    return re.search(r'value="([^"]+)"', tag.group(0)).group(1)


# --- A and B ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Moved:
    person: Person
    on_a: Enrolled
    on_b: Enrolled
    served: Served  #: on A
    code: str  #: the code the record moved with


@pytest.fixture
def moved(network) -> Moved:
    """A volunteer served 50 hours on A (and a rejected half hour) and 50 hours on B, B trusts A, and the record
    was moved from A to B with a code (through the services)."""
    a, b = network.a, network.b
    person = new_person()
    on_a, on_b = enrol(a, person), enrol(b, person)
    served = record_service(a, on_a.volunteer_id, FIVE_DAYS + [(5 * DAY, 5 * DAY + 30)], rejected=1)
    record_service(b, on_b.volunteer_id, FIVE_DAYS)
    trust(b, a)
    code = new_code(a, on_a)
    with b.context():
        transfer_in(db.session.get(Volunteer, on_b.volunteer_id), a.url, code)
        db.session.commit()
    return Moved(person, on_a, on_b, served, code)


def test_a_record_moved_from_a_to_b_on_the_pages_counts_once_in_bs_totals_and_stars(network):
    a, b = network.a, network.b
    person = new_person()
    on_a, on_b = enrol(a, person), enrol(b, person)
    served = record_service(a, on_a.volunteer_id, FIVE_DAYS + [(5 * DAY, 5 * DAY + 30)], rejected=1)
    record_service(b, on_b.volunteer_id, FIVE_DAYS)
    assert totals(a, on_a.volunteer_id) == (3000, 0, 0)
    assert totals(b, on_b.volunteer_id) == (3000, 0, 0)
    before = counts(b)

    # on A: the volunteer signs in and creates a code, which A's page shows
    at_a, at_b = Browser(a), Browser(b)
    try:
        at_a.sign_in(on_a.identifier)
        page = at_a.post("/volunteer/record/transfer-codes", {}, form_page="/volunteer/record/transfer")
        assert page.status_code == 200
        code = re.search(r'id="transfer-code">\s*([^<\s]+)\s*<', page.text).group(1)

        # on B: an address B's platform admin has not trusted is refused before anything is asked of it
        at_b.sign_in(on_b.identifier)
        refused = at_b.post("/volunteer/record/transfer-in", {"url": network.c.url, "code": code},
                            form_page="/volunteer/record/transfer-in")
        assert refused.status_code == 422
        assert counts(b) == before
        with b.context():
            audited = db.session.scalars(sa.select(AuditEvent.details).where(
                AuditEvent.action == "exchange.transfer_refused", AuditEvent.target_id == str(on_b.volunteer_id)))
            assert [(d["code"], d["url"]) for d in audited] == [("peer_unknown", network.c.url)]
        added = b.flask("peers", "add", a.url, "--name", "Registry A", "--yes")
        assert a.origin in added.stdout
        answer = at_b.post("/volunteer/record/transfer-in", {"url": a.url, "code": code},
                           form_page="/volunteer/record/transfer-in")
        assert [r.status_code for r in answer.history] == [302], (answer.status_code, answer.text[-2000:])
        assert answer.url == b.url + "/volunteer/record/transfer"
        assert "社区服务站日常值班" in answer.text
    finally:
        at_a.close()
        at_b.close()

    # B counts A's approved 50 hours once: 100 hours, the first star; the rejected half hour is kept, not counted
    assert totals(b, on_b.volunteer_id) == (6000, 3000, 1)
    assert totals(a, on_a.volunteer_id) == (3000, 0, 0)
    with a.context():
        leaves = dict(db.session.execute(sa.select(LedgerLeaf.entry_id, LedgerLeaf.leaf_index).where(
            LedgerLeaf.entry_id.in_(served.approved + served.rejected))).all())
        used = db.session.scalars(sa.select(TransferCode.used_at).where(
            TransferCode.volunteer_id == on_a.volunteer_id)).all()
    assert len(leaves) == 6 and len(used) == 1 and used[0] is not None
    with b.context():
        peer = db.session.scalar(sa.select(Peer).where(Peer.url == a.url))
        rows = db.session.scalars(sa.select(TransferredService).where(
            TransferredService.volunteer_id == on_b.volunteer_id).order_by(TransferredService.source_entry_id))
        got = [(r.origin, r.organization_code, r.source_entry_id, r.leaf_index, r.status, r.minutes) for r in rows]
        transfers = db.session.scalars(sa.select(Transfer).where(Transfer.volunteer_id == on_b.volunteer_id)).all()
        assert [(t.peer_id, t.via, t.entries_added) for t in transfers] == [(peer.id, "code", 6)]
        assert peer.origin == a.origin and peer.seen_size == transfers[0].checkpoint_size
    expected = [(a.origin, served.organization_code, entry, leaves[entry], "approved", 600)
                for entry in served.approved]
    expected += [(a.origin, served.organization_code, entry, leaves[entry], "rejected", 30)
                 for entry in served.rejected]
    assert got == sorted(expected, key=lambda row: row[2])
    assert counts(b) == {"transfers": before["transfers"] + 1,
                         "transferred_services": before["transferred_services"] + 6}


def test_the_same_code_or_the_same_bundle_again_changes_nothing(network, moved):
    a, b = network.a, network.b
    on_a, on_b, code = moved.on_a, moved.on_b, moved.code
    before, minutes = counts(b), totals(b, on_b.volunteer_id)
    assert minutes == (6000, 3000, 1)
    with b.context():
        volunteer = db.session.get(Volunteer, on_b.volunteer_id)
        assert refused_code(lambda: transfer_in(volunteer, a.url, code)) == "code_used"
        db.session.rollback()
        bundle = json.loads(db.session.scalar(sa.select(Transfer.bundle).where(
            Transfer.volunteer_id == on_b.volunteer_id)))
        again = import_bundle(volunteer, bundle)
        db.session.commit()
        assert again.repeated and (again.added, again.updated) == (0, 0)
    assert counts(b) == before and totals(b, on_b.volunteer_id) == minutes

    # a new code brings the record again (the same entries, as A's log still says): nothing new is counted
    with b.context():
        later = transfer_in(db.session.get(Volunteer, on_b.volunteer_id), a.url, new_code(a, on_a))
        db.session.commit()
        assert (later.added, later.updated, later.unchanged) == (0, 0, 6)
    assert counts(b)["transferred_services"] == before["transferred_services"]
    assert totals(b, on_b.volunteer_id) == minutes


def _a_bundle_on_b(b, on_b: Enrolled) -> dict:
    with b.context():
        return json.loads(db.session.scalar(sa.select(Transfer.bundle).where(
            Transfer.volunteer_id == on_b.volunteer_id)))


def _import(b, on_b: Enrolled, bundle: dict) -> str:
    """The code B refuses ``bundle`` with, offered as a file for the volunteer's record on B."""
    with b.context():
        code = refused_code(lambda: import_bundle(db.session.get(Volunteer, on_b.volunteer_id), bundle))
        db.session.rollback()
        return code


def _one_minute_more(bundle: dict) -> None:
    item = next(i for i in bundle["record"]["entries"] if json.loads(i["leaf"])["kind"] == "service")
    leaf = json.loads(item["leaf"])
    leaf["minutes"] += 1
    item["leaf"] = json.dumps(leaf, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    bundle["record"]["summary"]["approved_minutes"] += 1


def test_a_bundle_with_one_changed_minute_is_refused(network, moved):
    a, b = network.a, network.b
    on_b = moved.on_b
    before, minutes = counts(b), totals(b, on_b.volunteer_id)
    changed = _a_bundle_on_b(b, on_b)
    _one_minute_more(changed)
    assert _import(b, on_b, changed) == "signature_invalid"
    # re-signed with A's own checkpoint key: the signature holds, the entry is not in A's log as it says
    with a.context():
        changed["signature"] = sign_note(bundle_note_body(a.origin, changed["record"]), a.origin, signing_key())
    assert _import(b, on_b, changed) == "proof_invalid"
    assert counts(b) == before and totals(b, on_b.volunteer_id) == minutes


def test_a_bundle_from_a_registry_b_does_not_trust_is_refused(network, moved):
    b, c = network.b, network.c
    on_b = moved.on_b
    before, minutes = counts(b), totals(b, on_b.volunteer_id)
    on_c = enrol(c, moved.person)
    record_service(c, on_c.volunteer_id, FIVE_DAYS[:1])
    with c.context():
        bundle = build_bundle(db.session.get(Volunteer, on_c.volunteer_id))
        db.session.commit()
    assert bundle["record"]["issuer"]["origin"] == c.origin
    assert _import(b, on_b, bundle) == "untrusted_issuer"
    assert counts(b) == before and totals(b, on_b.volunteer_id) == minutes


def test_a_bundle_inconsistent_with_what_b_saw_of_a_is_refused(network, moved):
    """A fork of A (A's checkpoint key and origin, another history) signs a bundle that A's pinned keys verify;
    its checkpoint is not in the log B saw of A (B asks A's server for the consistency proof)."""
    a, b, fork = network.a, network.b, network.fork
    on_b = moved.on_b
    before, minutes = counts(b), totals(b, on_b.volunteer_id)
    on_fork = enrol(fork, moved.person)
    record_service(fork, on_fork.volunteer_id, [(0, 900)])
    with fork.context():
        bundle = build_bundle(db.session.get(Volunteer, on_fork.volunteer_id))
        db.session.commit()
    with b.context():
        peer = db.session.scalar(sa.select(Peer).where(Peer.url == a.url))
        seen = peer.seen_size
        assert verify_bundle(copy.deepcopy(bundle), peer.verifier_keys, origin=a.origin).approved_minutes == 900
    fork_size = int(bundle["record"]["checkpoint"].split("\n")[1])
    assert 0 < fork_size < seen  # a smaller tree than B saw: B checks it against A's proof from fork_size to seen
    assert _import(b, on_b, bundle) == "checkpoint_inconsistent"
    with b.context():
        assert db.session.scalar(sa.select(Peer.seen_size).where(Peer.url == a.url)) == seen
    assert counts(b) == before and totals(b, on_b.volunteer_id) == minutes


# --- the upward feed: A pushes, B ingests --------------------------------------------------------------------------

def grow_feed(a, enrolled: Enrolled, served: Served, trainings: int) -> None:
    """``trainings`` training records of the volunteer on A, recorded by the organization they served (they join
    it first): an event each in A's feed. Committed."""
    with a.context():
        org = db.session.scalar(sa.select(Organization).where(Organization.code == served.organization_code))
        admin = Factory(a.app).org_admin_of(org)
        volunteer = db.session.get(Volunteer, enrolled.volunteer_id)
        decide_membership(admin, apply_for_membership(Factory(a.app).account_of(volunteer), org), True)
        day = utcnow().date() - T(days=30)
        for number in range(trainings):
            record_training(admin, org, volunteer, TrainingData(title=f"First aid, part {number + 1}",
                                                                provider="Red Cross", date=day, minutes=60))
        db.session.commit()


def held(b, peer_id: int) -> int:
    """Events of the peer's feed B holds (committed)."""
    with b.context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(ReceivedEvent).where(
            ReceivedEvent.peer_id == peer_id))


def wait_for(condition, what: str, timeout: float = TIMEOUT, every: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"waited {timeout}s for {what}")


@contextmanager
def writes_held(instance):
    """While inside, ``instance`` cannot store a received event: the test process holds the write lock of its
    SQLite database, or on PostgreSQL an EXCLUSIVE lock of received_events (reads go on). An ingest in progress when
    it is asked for finishes first."""
    path = sqlite_path(instance.database_url)
    if path is not None:
        connection = sqlite3.connect(path, timeout=TIMEOUT, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            yield
            connection.execute("ROLLBACK")
        finally:
            connection.close()
        return
    engine = sa.create_engine(instance.database_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("LOCK TABLE received_events IN EXCLUSIVE MODE"))
            yield
    finally:
        engine.dispose()


def test_b_ingests_as_feed_pushed_by_a_killed_mid_push_and_restarted_holding_every_event_once(network):
    a, b = network.a, network.b
    person = new_person("扎西")
    on_a = enrol(a, person)
    served = record_service(a, on_a.volunteer_id, FIVE_DAYS + [(5 * DAY, 5 * DAY + 30)], rejected=1)
    # three pages of the push at least: the kill lands after B stored one and before it stored the last
    grow_feed(a, on_a, served, 2 * PUSH_PAGE + 50)
    with a.context():
        sequence_events()
        db.session.commit()
        seqs = db.session.scalars(sa.select(ExchangeEvent.seq).where(ExchangeEvent.seq.is_not(None))).all()
        approved = db.session.scalar(sa.select(sa.func.sum(LedgerState.minutes)).where(
            LedgerState.status == "approved"))
        entries = db.session.scalar(sa.select(sa.func.count()).select_from(LedgerState))
    assert sorted(seqs) == list(range(1, len(seqs) + 1)) and len(seqs) > 2 * PUSH_PAGE
    trust(b, a)
    with b.context():
        peer = peer_by_url(a.url)
        token, _row = create_exchange_token("A's push", "push", "all", peer)
        db.session.commit()
        peer_id = peer.id
    push = {"EXCHANGE_PUSH_URL": b.url, "EXCHANGE_PUSH_TOKEN": token, "EXCHANGE_PUSH_PAGE": str(PUSH_PAGE)}
    log = a.folder / "push.log"

    def pushed_cursor() -> int:
        with a.context():
            return db.session.scalar(sa.select(PushState.cursor).where(PushState.url == b.url)) or 0

    worker = a.spawn("exchange", "push", "--every", "1", log=log, **push)
    try:
        wait_for(lambda: held(b, peer_id) > 0, "B to store the first page")
        with writes_held(b):  # B cannot store the next page: the push is in the middle of delivering it
            at_kill = held(b, peer_id)
            assert 0 < at_kill < len(seqs)
            # A recorded B's answer to the last page B stored, and goes on with the next (sent within a moment)
            wait_for(lambda: pushed_cursor() == at_kill, "A to record B's acknowledgement", every=0.05)
            time.sleep(0.5)
            stop_process(worker, signal.SIGKILL)
        assert worker.returncode == -signal.SIGKILL
        assert pushed_cursor() == at_kill
        # the page B was storing when A died finishes there (A never heard the answer); then A starts again
        settled = {"held": -1, "since": time.monotonic()}

        def quiet() -> bool:
            now = held(b, peer_id)
            if now != settled["held"]:
                settled.update(held=now, since=time.monotonic())
            return time.monotonic() - settled["since"] > 1

        wait_for(quiet, "B to finish the page it was storing", every=0.1)
        worker = a.spawn("exchange", "push", "--every", "1", log=log, **push)
        wait_for(lambda: pushed_cursor() == len(seqs), "the restarted push to deliver A's whole feed", every=0.2)
    finally:
        stop_process(worker)
    with b.context():
        received = db.session.execute(sa.select(ReceivedEvent.seq, sa.func.count()).where(
            ReceivedEvent.peer_id == peer_id).group_by(ReceivedEvent.seq)).all()
        regional = db.session.execute(sa.select(RegionalService.status, sa.func.count(),
                                                sa.func.sum(RegionalService.minutes))
                                      .where(RegionalService.peer_id == peer_id)
                                      .group_by(RegionalService.status)).all()
    assert sorted(seq for seq, _count in received) == sorted(seqs), log.read_text()[-2000:]
    assert {count for _seq, count in received} == {1}
    by_status = {status: (count, minutes) for status, count, minutes in regional}
    assert by_status["approved"][1] == approved
    assert sum(count for count, _minutes in by_status.values()) == entries
