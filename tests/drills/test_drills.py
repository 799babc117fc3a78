"""Drills against the real server: gunicorn with two workers on 127.0.0.1, driven by 32 client threads, on SQLite
and on PostgreSQL. Every load is bounded (2,000 scans) and loopback only.

- Load: 2,000 distinct scans (offline card scans with their own times, so each session's minutes are known) →
  exactly 2,000 records, no 5xx, the ledger's minutes exact; 50 simultaneous retries of one event id → one record.
- Crash: the server is killed (SIGKILL, the whole process group) in the middle of the load; every scan a client saw
  acknowledged is there, nothing is half-written, the ledger verifies; restarted, the clients resend what was not
  acknowledged (the same event ids) and the totals come out exact, each scan recorded once.
"""
from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

from volunteer_registry.accounts.services import create_api_token
from volunteer_registry.checkin.models import AttendanceSession, Scan
from volunteer_registry.extensions import db
from volunteer_registry.ledger.log import extend_log, verify_ledger
from volunteer_registry.ledger.models import LedgerEntry, LedgerState
from volunteer_registry.models import utcnow

ROOT = Path(__file__).resolve().parents[2]
# 500 volunteers × 2 sessions × 2 scans = 2,000 scans (at most 3 sessions per volunteer, activity and day: integrity)
CLIENTS, VOLUNTEERS, SESSIONS, MINUTES = 32, 500, 2, 45


class Server:
    """``gunicorn --workers 2 wsgi:app`` on a free port of 127.0.0.1, on the test's database and instance folder,
    in a process group of its own (so that SIGKILL takes the master and its workers at once)."""

    def __init__(self, app):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.log = open(Path(app.instance_path) / f"gunicorn-{self.port}.log", "w")  # noqa: SIM115
        env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
               "VOLUNTEER_REGISTRY_INSTANCE": app.instance_path, "VOLUNTEER_REGISTRY_ENV": "production",
               "PUBLIC_URL": f"http://127.0.0.1:{self.port}",
               "SECRET_KEY": app.config["SECRET_KEY"], "ID_ENCRYPTION_KEY": app.config["ID_ENCRYPTION_KEY"],
               "LEDGER_SIGNING_KEY": app.config["LEDGER_SIGNING_KEY"],
               # one scanner's token sends all 2,000 scans within seconds: the drill is about integrity, not limits
               "VOLUNTEER_REGISTRY_SCAN_RATE_LIMIT": "100000 per minute"}
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{self.port}",
             "--timeout", "60", "wsgi:app"], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, Path(self.log.name).read_text()[-2000:]
            try:
                if self.request("GET", "/api/v1/openapi.json")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("gunicorn did not answer within 60 s")

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            headers = {"Content-Type": "application/json"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            connection.request(method, path, body=json.dumps(body).encode() if body is not None else None,
                               headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def kill(self) -> None:
        """SIGKILL to the master and every worker: no shutdown, no flush."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self.log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)
        self.log.close()


@dataclass
class Drill:
    """The scans to send: each client has its own volunteers (so no two clients scan one person), and each
    volunteer's sessions are sent in order: in, then out 45 minutes later by the device's clock (offline scans keep
    their times), four times."""

    token: str
    activity: str
    scans: list[list[dict]]  # one list a client, in sending order
    acknowledged: set = field(default_factory=set)
    statuses: dict = field(default_factory=dict)  # event id → last status seen
    failures: list = field(default_factory=list)  # what no answer came back for (connection refused, reset)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def total(self) -> int:
        return sum(len(queue) for queue in self.scans)

    def run(self, server: Server, *, stop: threading.Event | None = None) -> None:
        """Every client sends its scans until done (or until ``stop``, or until the server stops answering)."""
        def client(queue: list[dict]) -> None:
            for scan in queue:
                if stop is not None and stop.is_set():
                    return
                if scan["event_id"] in self.acknowledged:
                    continue
                try:
                    status, _body = server.request("POST", "/api/v1/scans", scan, self.token)
                # The server is gone (refused, reset, or killed between the headers and the body): what was
                # not acknowledged in full waits for a resend.
                except (OSError, http.client.HTTPException) as error:
                    with self.lock:
                        self.failures.append((scan["event_id"], repr(error)))
                    return
                with self.lock:
                    self.statuses[scan["event_id"]] = status
                    if 200 <= status < 300:
                        self.acknowledged.add(scan["event_id"])
                if status >= 300:
                    return  # a refusal stops this client: a later scan of its volunteer would be refused too
        threads = [threading.Thread(target=client, args=(queue,)) for queue in self.scans]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)


@pytest.fixture
def drill(app, make):
    org = make.org()
    coordinator = make.coordinator(org)
    now = utcnow().replace(microsecond=0)
    start = now - dt.timedelta(hours=9)
    activity = make.activity(org, starts_at=start - dt.timedelta(minutes=10), ends_at=now + dt.timedelta(hours=1),
                             allows_walk_ins=True)
    numbers = [make.volunteer(name=f"志愿者{i}", birth_date=dt.date(1990, 1, 1) + dt.timedelta(days=i)).volunteer_number
               for i in range(VOLUNTEERS)]
    _token, plaintext = create_api_token(coordinator, "drill scanner")
    db.session.commit()
    queues: list[list[dict]] = [[] for _ in range(CLIENTS)]
    for index, number in enumerate(numbers):
        for session in range(SESSIONS):
            begin = start + dt.timedelta(minutes=index % 30 + session * 120)
            for direction, moment in (("in", begin), ("out", begin + dt.timedelta(minutes=MINUTES))):
                queues[index % CLIENTS].append({
                    "event_id": f"drill-{index:03d}-{session}-{direction}", "activity": activity.code,
                    "volunteer_number": number, "direction": direction, "offline": True,
                    "scanned_at": moment.isoformat()})
    return Drill(token=plaintext, activity=activity.code, scans=queues)


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def assert_whole(expected_scans: int | None = None) -> None:
    """Nothing half-written: every accepted check-out closed its session, every closed session is exactly one
    service entry with its state, and every open session has no entry."""
    db.session.expire_all()
    if expected_scans is not None:
        assert count(Scan) == expected_scans
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Scan).where(Scan.accepted.is_(False))) == 0
    closed = db.session.scalar(sa.select(sa.func.count()).select_from(AttendanceSession)
                               .where(AttendanceSession.checked_out_at.is_not(None)))
    outs = db.session.scalar(sa.select(sa.func.count()).select_from(Scan).where(Scan.result == "out"))
    ins = db.session.scalar(sa.select(sa.func.count()).select_from(Scan).where(Scan.result == "in"))
    service = db.session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)
                                .where(LedgerEntry.kind == "service"))
    assert closed == outs == service == count(LedgerState)
    assert count(AttendanceSession) == ins
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Scan).where(Scan.session_id.is_(None))) == 0


def assert_exact(drill: Drill) -> None:
    """All 2,000 scans recorded once, the ledger's minutes exact, and the log verifies."""
    assert_whole(expected_scans=drill.total)
    assert count(LedgerEntry) == drill.total // 2
    minutes = db.session.scalar(sa.select(sa.func.sum(LedgerState.minutes)).where(LedgerState.status == "pending"))
    assert minutes == drill.total // 2 * MINUTES
    extend_log()
    db.session.commit()
    report = verify_ledger()
    assert not report.problems and report.leaves == drill.total // 2


def test_load_2000_scans_from_32_clients_are_2000_records_and_exact_minutes(app, drill):
    server = Server(app)
    try:
        began = time.monotonic()
        drill.run(server)
        took = time.monotonic() - began
        print(f"load drill: {drill.total} scans sent by {CLIENTS} clients in {took:.1f} s, "
              f"{len(drill.acknowledged)} acknowledged, statuses {sorted(set(drill.statuses.values()))}")
        assert not drill.failures
        assert len(drill.acknowledged) == drill.total == 2000
        assert set(drill.statuses.values()) == {201}
        assert_exact(drill)

        # 50 clients retry one event id at the same moment: one record, every answer a success
        retry = {"event_id": "drill-retry-0001", "activity": drill.activity, "direction": "in",
                 "volunteer_number": drill.scans[0][0]["volunteer_number"]}
        barrier, answers = threading.Barrier(50), []

        def retry_once():
            barrier.wait()
            answers.append(server.request("POST", "/api/v1/scans", retry, drill.token)[0])
        threads = [threading.Thread(target=retry_once) for _ in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        server.stop()
    assert len(answers) == 50 and answers.count(201) == 1 and answers.count(200) == 49
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Scan)
                             .where(Scan.event_id == retry["event_id"])) == 1
    assert count(Scan) == drill.total + 1


def test_crash_in_the_middle_of_the_load_loses_no_acknowledged_scan(app, drill):
    server = Server(app)
    stop = threading.Event()
    killed = threading.Event()

    def killer():
        while len(drill.acknowledged) < drill.total * 2 // 5 and not stop.is_set():
            time.sleep(0.01)
        server.kill()
        killed.set()
    threading.Thread(target=killer, daemon=True).start()
    drill.run(server)
    stop.set()
    assert killed.wait(30)
    acknowledged = set(drill.acknowledged)
    print(f"crash drill: killed after {len(acknowledged)} of {drill.total} scans were acknowledged; "
          f"{len(drill.failures)} clients saw the connection fail")
    assert 0 < len(acknowledged) < drill.total and drill.failures

    # the server is down: every acknowledged scan is there, and nothing is half-written
    db.session.expire_all()
    stored = set(db.session.scalars(sa.select(Scan.event_id)))
    assert acknowledged <= stored
    assert_whole()
    extend_log()
    db.session.commit()
    assert not verify_ledger().problems

    # restarted, the clients send again what they did not see acknowledged: the same event ids
    server = Server(app)
    try:
        drill.run(server)
    finally:
        server.stop()
    assert not [f for f in drill.failures if f[0] not in drill.acknowledged]
    assert len(drill.acknowledged) == drill.total
    assert_exact(drill)
