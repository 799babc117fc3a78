"""Whole registries on loopback, for the tests of the exchange between two systems: each instance has its own
database (a SQLite file, or a PostgreSQL database of its own when TEST_DATABASE_URL is set), its own instance folder
and keys, its own log origin, and is served by its own gunicorn on 127.0.0.1. The test process writes into an
instance's database through an app built on the same database and instance folder (so with the same keys), commits,
and the server serves what it wrote; commands of the app (``flask db upgrade``, a worker) run as subprocesses with
the instance's environment. A server is stopped by :meth:`Instance.stop` (the fixture's teardown, also on failure),
a command started with :meth:`Instance.spawn` by :func:`stop_process` (the test's ``finally``)."""
from __future__ import annotations

import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests
import sqlalchemy as sa

from volunteer_registry import create_app
from volunteer_registry.extensions import db

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
#: seconds any wait of the harness may take: a server's start, a command, a stop
TIMEOUT = 60
#: what the instances of one network share: the key of the ID numbers' exchange hash (config.EXCHANGE_ID_KEY)
EXCHANGE_ID_KEY = "two-instances-exchange-key"


def _die_with_the_tests() -> None:
    """In a child before it runs: the kernel sends it SIGTERM when the test process dies (PR_SET_PDEATHSIG), so a
    server or worker is not left behind even when pytest itself is killed."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_database(url: sa.engine.URL) -> sa.engine.Engine:
    return sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


def make_database(folder: Path, name: str) -> str:
    """A new, empty database for instance ``name``: a SQLite file in ``folder``, or with TEST_DATABASE_URL the
    PostgreSQL database ``<its name>_<name>`` on that server, made anew (its name carries the pytest-xdist worker's
    suffix when the suite runs in workers, tests/conftest.py, so parallel workers never share one)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{folder / f'{name}.sqlite3'}"
    target = sa.engine.make_url(url)
    target = target.set(database=f"{target.database}_{name}")
    server = _server_database(target)
    try:
        with server.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
            connection.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    finally:
        server.dispose()
    return target.render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop a PostgreSQL database :func:`make_database` made (a SQLite file goes with its folder)."""
    target = sa.engine.make_url(url)
    if not target.drivername.startswith("postgresql"):
        return
    server = _server_database(target)
    try:
        with server.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    finally:
        server.dispose()


class Instance:
    """One registry: its folder (instance folder, logs), database, secrets, origin and port. ``app`` is the test
    process's app on the same database and folder; :meth:`start` serves it with gunicorn at :attr:`url`."""

    def __init__(self, name: str, folder: Path, *, origin: str | None = None, signing_key: str | None = None):
        self.name = name
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.instance_path = folder / "instance"
        self.database_url = make_database(folder, name)
        self.origin = origin or f"{name}.registry.test/ledger"
        self.secrets = {"SECRET_KEY": secrets.token_urlsafe(32), "ID_ENCRYPTION_KEY": secrets.token_urlsafe(32),
                        "LEDGER_SIGNING_KEY": signing_key or secrets.token_urlsafe(32)}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log_path = folder / "server.log"
        self.app = create_app({
            "ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": self.database_url, "LEDGER_ORIGIN": self.origin,
            "PUBLIC_URL": self.url, "EXCHANGE_ID_KEY": EXCHANGE_ID_KEY, **self.secrets,
        }, instance_path=str(self.instance_path))

    def environment(self, **extra: str) -> dict[str, str]:
        """The environment of this instance's server and commands (``extra`` on top, e.g. EXCHANGE_PUSH_URL)."""
        inherited = {key: value for key, value in os.environ.items()
                     if not key.startswith(("VOLUNTEER_REGISTRY_", "EXCHANGE_", "FLASK_"))
                     and key not in ("DATABASE_URL", "PUBLIC_URL", "LEDGER_ORIGIN", "SECRET_KEY",
                                     "ID_ENCRYPTION_KEY", "LEDGER_SIGNING_KEY")}
        return {**inherited, "FLASK_APP": "volunteer_registry", "VOLUNTEER_REGISTRY_ENV": "testing",
                "VOLUNTEER_REGISTRY_INSTANCE": str(self.instance_path), "DATABASE_URL": self.database_url,
                "PUBLIC_URL": self.url, "LEDGER_ORIGIN": self.origin, "EXCHANGE_ID_KEY": EXCHANGE_ID_KEY,
                "PYTHONDONTWRITEBYTECODE": "1", **self.secrets, **extra}

    def flask(self, *args: str, timeout: float = TIMEOUT, **extra: str) -> subprocess.CompletedProcess:
        """``flask <args>`` run to its end with this instance's environment; fails the test when it fails."""
        done = subprocess.run([str(BIN / "flask"), *args], cwd=ROOT, env=self.environment(**extra),
                              capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"flask {' '.join(args)} on {self.name}:\n{done.stdout}\n{done.stderr}"
        return done

    def spawn(self, *args: str, log: Path, **extra: str) -> subprocess.Popen:
        """``flask <args>`` started in a process group of its own (stopped with :func:`stop_process`)."""
        with log.open("ab") as out:  # the child keeps its own copy of the descriptor
            return subprocess.Popen([str(BIN / "flask"), *args], cwd=ROOT, env=self.environment(**extra),
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                    preexec_fn=_die_with_the_tests)

    @contextmanager
    def context(self):
        """The test process's app of this instance, in an application context; the session is removed after."""
        with self.app.app_context():
            try:
                yield self.app
            finally:
                db.session.remove()

    def start(self, workers: int = 2) -> None:
        """Serve the instance with gunicorn on 127.0.0.1 (the app loaded once, before the workers fork: it opens
        no connection while it is built); :meth:`wait_until_ready` waits until it answers."""
        assert self.process is None
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                [str(BIN / "gunicorn"), "--workers", str(workers), "--preload", "--bind", f"127.0.0.1:{self.port}",
                 "--timeout", str(TIMEOUT), "--graceful-timeout", "5", "wsgi:app"],
                cwd=ROOT, env=self.environment(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_the_tests)

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"{self.name}'s server exited:\n{self.log_text()}"
            try:
                if requests.get(self.url + "/.well-known/volunteer-registry/jwks.json", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{self.name}'s server did not answer within {TIMEOUT}s:\n{self.log_text()}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        """Stop the server (if started) and close the test process's connections."""
        if self.process is not None:
            stop_process(self.process)
            self.process = None
        with self.app.app_context():
            db.engine.dispose()

    def drop(self) -> None:
        self.stop()
        drop_database(self.database_url)


def stop_process(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stop a process started in a group of its own, with every process of its group (gunicorn's workers): ``sig``
    to the group, SIGKILL when its leader has not ended after a while (gunicorn's master waits for its workers)."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=TIMEOUT)


def start_upgrade(instance: Instance) -> subprocess.Popen:
    """``flask db upgrade`` of the instance's database, started (the migrations make the schema, as on a server)."""
    return subprocess.Popen([str(BIN / "flask"), "db", "upgrade"], cwd=ROOT, env=instance.environment(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish_upgrade(instance: Instance, process: subprocess.Popen) -> None:
    try:
        output, _ = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    assert process.returncode == 0, f"flask db upgrade failed on {instance.name}:\n{output}"
