"""50 concurrent identical scans against a real server (gunicorn, threads in several processes): one record.

The database is the suite's: a SQLite file in the test's folder, or the PostgreSQL server named by
TEST_DATABASE_URL (tests/conftest.py). The server listens on loopback only and is always stopped.
"""
from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from volunteer_registry.activities.services import sign_up
from volunteer_registry.checkin.models import AttendanceSession, Scan
from volunteer_registry.extensions import db

from .conftest import committed_count, token_for

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
CONCURRENT = 50
TIMEOUT = 30  # seconds, for every wait


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(port: int, method: str, path: str, body=None, token: str | None = None) -> tuple[int, dict | None]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = connection.getresponse()
        data = response.read()
        try:
            return response.status, json.loads(data)
        except ValueError:
            return response.status, None
    finally:
        connection.close()


class Server:
    """gunicorn serving wsgi:app on 127.0.0.1 with the test's database."""

    def __init__(self, app, tmp_path: Path):
        self.port = free_port()
        self.log_path = tmp_path / "gunicorn.log"
        env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
               "VOLUNTEER_REGISTRY_INSTANCE": str(tmp_path / "server-instance"),
               "SECRET_KEY": app.config["SECRET_KEY"], "ID_ENCRYPTION_KEY": app.config["ID_ENCRYPTION_KEY"],
               "VOLUNTEER_REGISTRY_ENV": "testing", "PYTHONDONTWRITEBYTECODE": "1"}
        self.log = open(self.log_path, "wb")  # noqa: SIM115  (closed in stop)
        self.process = subprocess.Popen(
            [str(GUNICORN), "--workers", "4", "--threads", "4", "--worker-class", "gthread",
             "--bind", f"127.0.0.1:{self.port}", "--timeout", str(TIMEOUT), "--graceful-timeout", "5",
             "wsgi:app"], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"gunicorn exited:\n{self.log_text()}"
            try:
                if request(self.port, "GET", "/api/v1/openapi.json")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"gunicorn did not answer within {TIMEOUT}s:\n{self.log_text()}")

    def log_text(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        try:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=TIMEOUT)
        finally:
            self.log.close()


@pytest.mark.slow
def test_fifty_concurrent_identical_scans_make_one_record(app, make, tmp_path):
    org = make.org()
    coordinator = make.coordinator(org)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    activity = make.activity(org, starts_at=now + dt.timedelta(hours=1), ends_at=now + dt.timedelta(hours=4))
    volunteer_user = make.user()
    volunteer = make.volunteer(volunteer_user)
    sign_up(volunteer_user, activity, now=now)
    activity.starts_at = now - dt.timedelta(minutes=10)  # running now (signed up the day before, as it were)
    db.session.commit()
    token = token_for(coordinator)
    body = {"event_id": "concurrent-scan-0001", "activity": activity.code,
            "volunteer_number": volunteer.volunteer_number, "direction": "auto"}

    server = Server(app, tmp_path)
    try:
        server.wait_until_ready()
        barrier = threading.Barrier(CONCURRENT, timeout=TIMEOUT)

        def one_scan(_n):
            barrier.wait()
            return request(server.port, "POST", "/api/v1/scans", body, token)

        with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
            answers = list(pool.map(one_scan, range(CONCURRENT), timeout=2 * TIMEOUT))
    finally:
        server.stop()

    statuses = sorted(status for status, _body in answers)
    assert all(status < 500 for status in statuses), (statuses, server.log_text())
    assert statuses == [200] * (CONCURRENT - 1) + [201], (statuses, [b for s, b in answers if s not in (200, 201)])
    assert sorted(b["replayed"] for _s, b in answers) == [False] + [True] * (CONCURRENT - 1)
    assert {b["session"]["id"] for _s, b in answers} == {answers[0][1]["session"]["id"]}
    assert {b["scan"]["result"] for _s, b in answers} == {"in"}
    assert committed_count(Scan) == 1
    assert committed_count(AttendanceSession) == 1
    assert committed_count(Scan, Scan.event_id == "concurrent-scan-0001", Scan.accepted.is_(True)) == 1
