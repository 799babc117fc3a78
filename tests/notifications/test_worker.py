"""The real worker (``flask notifications run`` in its own process) against a real SMTP server on 127.0.0.1
(aiosmtpd), killed with SIGKILL in the middle of a batch and started again:

- killed while it talks to the server about a message, before handing it over: the message never reached the
  server; the restarted worker sends it, and every message of the batch arrives exactly once;
- killed after the server took a message but before the worker could record it (RFC 1047's window): that message
  is not sent again but marked failed with the reason; it arrived once, and so did every other.
"""
from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from email import message_from_bytes
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from volunteer_registry.extensions import db
from volunteer_registry.notifications.models import Delivery
from volunteer_registry.notifications.services import notify

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 12
HELD = 5  # the message during which the worker is killed


class Sink:
    """An SMTP server's handler that keeps every message it accepts, and can hold the ``HELD``-th one at the
    recipient (before any data) or after taking its data (before answering 250)."""

    def __init__(self, hold: str):
        self.hold = hold  # "rcpt" or "data"
        self.accepted: list[int] = []  # the notification ids of their Message-IDs, in order
        self.started = 0
        self.holding = threading.Event()
        self.release = threading.Event()

    async def _wait(self):
        self.holding.set()
        while not self.release.is_set():
            await asyncio.sleep(0.01)

    async def handle_RCPT(self, server, session, envelope, address, options):
        envelope.rcpt_tos.append(address)
        self.started += 1
        if self.hold == "rcpt" and self.started == HELD and not self.release.is_set():
            await self._wait()
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message_id = message_from_bytes(envelope.content)["Message-ID"]  # <notification-N@host>
        self.accepted.append(int(re.match(r"<notification-(\d+)@", message_id).group(1)))
        if self.hold == "data" and len(self.accepted) == HELD and not self.release.is_set():
            await self._wait()  # the server has the message; its 250 has not been sent
        return "250 Message accepted for delivery"


def start_worker(app, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "VOLUNTEER_REGISTRY_INSTANCE": app.instance_path, "SECRET_KEY": app.config["SECRET_KEY"],
           "ID_ENCRYPTION_KEY": app.config["ID_ENCRYPTION_KEY"],
           "LEDGER_SIGNING_KEY": app.config["LEDGER_SIGNING_KEY"], "MAIL_BACKEND": "smtp",
           "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(port), "MAIL_USE_TLS": "0",
           "VOLUNTEER_REGISTRY_NOTIFICATIONS_CLAIM_SECONDS": "2", "FLASK_APP": "volunteer_registry"}
    with log.open("a") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([str(Path(sys.executable).parent / "flask"), "notifications", "run", "--every",
                                 "1"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def statuses() -> dict[int, str]:
    """Each delivery's status by its notification's id."""
    db.session.expire_all()
    return {d.notification_id: d.status for d in db.session.scalars(sa.select(Delivery))}


def wait_for(condition, seconds: float, what: str, log: Path):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} within {seconds} s; the worker said:\n{log.read_text()[-3000:]}")


@pytest.mark.parametrize("hold", ["rcpt", "data"])
def test_a_worker_killed_mid_batch_and_restarted_sends_each_message_once(app, make, tmp_path, hold):
    users = [make.user(f"recipient{i}@example.org") for i in range(MESSAGES)]
    for user in users:
        notify(user, "membership.decided", organization="西宁市城东区志愿者协会", decision="approved")
    db.session.commit()
    ids = set(statuses())
    sink = Sink(hold)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    log = tmp_path / "worker.log"
    worker = start_worker(app, controller.port, log)
    try:
        wait_for(sink.holding.is_set, 60, f"the worker reached message {HELD}", log)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
        sink.release.set()
        before_restart = list(sink.accepted)
        held = sorted(status for status in statuses().values())
        assert held.count("sent") == HELD - 1 and ("sending" if hold == "rcpt" else "handed") in held
        worker = start_worker(app, controller.port, log)
        wait_for(lambda: all(s in ("sent", "failed") for s in statuses().values()), 60,
                 "every message sent or given up", log)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
        controller.stop()
    final = statuses()
    # every message reached the server exactly once
    assert sorted(sink.accepted) == sorted(ids) and len(sink.accepted) == MESSAGES
    if hold == "rcpt":
        assert len(before_restart) == HELD - 1
        assert set(final.values()) == {"sent"}
        assert "sent again after a dead worker 1" in log.read_text()
    else:
        assert len(before_restart) == HELD
        [given_up] = [message_id for message_id, status in final.items() if status == "failed"]
        assert given_up == before_restart[-1]  # the one the server took while the worker died
        assert sum(status == "sent" for status in final.values()) == MESSAGES - 1
        delivery = db.session.scalar(sa.select(Delivery).where(Delivery.status == "failed"))
        assert "may have been delivered" in delivery.last_error
        assert "given up 1" in log.read_text()
