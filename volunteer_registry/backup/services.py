"""Backing up and restoring the database.

A backup is one tar file: ``manifest.json`` and the database, as a consistent snapshot taken while the app runs
(SQLite: the online backup API, ``database.sqlite3``; PostgreSQL: ``pg_dump`` in the custom format,
``database.pgdump``, from a snapshot this process exported, so that the manifest and the dump see the same rows).
The manifest names the latest signed checkpoint in that snapshot. A restore replaces the database with the backup's,
then checks that its latest checkpoint is the manifest's, and that every leaf and root recomputes
(``ledger.services.verify_ledger``): the restored ledger is proven to be the one that was signed.

The keys (the instance folder's ``keys/``) and the secrets are not in a backup: back them up apart (operations.md).
Restoring needs the same ``ID_ENCRYPTION_KEY``, since the leaves are keyed by it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from ..errors import DomainError
from ..extensions import db
from ..ledger.log import VerifyReport, latest_checkpoint, verify_ledger

FORMAT = "volunteer-registry-backup/1"
MANIFEST = "manifest.json"
DATABASE = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}


class BackupError(DomainError):
    status = 400
    messages = {
        "not_a_backup": "This file is not a Volunteer Registry backup (a tar file with manifest.json).",
        "wrong_database": "This backup is of a %(backup)s database; this app uses %(current)s.",
        "damaged": "The backup's database file does not match the checksum in its manifest.",
        "checkpoint_mismatch": "After the restore, the latest checkpoint is %(found)s, but the backup's manifest "
                               "names %(expected)s.",
        "ledger_invalid": "The restored ledger does not verify: %(problem)s",
        "tool_failed": "%(tool)s failed: %(detail)s",
    }


@dataclass
class Manifest:
    format: str
    dialect: str
    created_at: str
    database_sha256: str
    tree_size: int | None
    root_hash: str | None
    checkpoint_note: str | None
    alembic_revision: str | None

    @property
    def checkpoint(self) -> str:
        return "none" if self.tree_size is None else f"tree size {self.tree_size}, root {self.root_hash}"


@dataclass
class Restored:
    manifest: Manifest
    report: VerifyReport


def _dialect() -> str:
    return db.engine.dialect.name


def _libpq_url() -> str:
    """The database URL as pg_dump and pg_restore read it (no SQLAlchemy driver name)."""
    return db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _run(tool: list[str]) -> None:
    done = subprocess.run(tool, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError("tool_failed", tool=tool[0], detail=(done.stderr or done.stdout).strip()[-500:])


def _latest(connection) -> tuple[int | None, str | None, str | None, str | None]:
    """The latest checkpoint (tree size, root hex, note) and the schema revision, read on ``connection``."""
    row = connection.execute(text("SELECT tree_size, root_hash, note FROM ledger_checkpoints "
                                  "ORDER BY tree_size DESC LIMIT 1")).first()
    revision = None  # a database made by create_all (the tests') has no migration table
    if inspect(connection).has_table("alembic_version"):
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if row is None:
        return None, None, None, revision
    return row[0], bytes(row[1]).hex(), row[2], revision


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def create_backup(target: Path) -> Manifest:
    """Write a backup of the whole database to ``target`` (a tar file) and return its manifest. The app may keep
    running: the snapshot is consistent. Raises tool_failed (pg_dump)."""
    dialect = _dialect()
    with tempfile.TemporaryDirectory(prefix="backup-") as scratch:
        dump = Path(scratch) / DATABASE[dialect]
        if dialect == "sqlite":
            source = db.engine.raw_connection()
            try:
                copy = sqlite3.connect(dump)
                source.driver_connection.backup(copy)  # one step: a read snapshot, writers go on (WAL)
                copy.close()
            finally:
                source.close()
            snapshot_engine = create_engine(f"sqlite:///{dump}")
            with snapshot_engine.connect() as connection:
                size, root, note, revision = _latest(connection)
            snapshot_engine.dispose()
        else:
            with db.engine.connect() as connection:
                connection = connection.execution_options(isolation_level="REPEATABLE READ")
                with connection.begin():
                    snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar()
                    size, root, note, revision = _latest(connection)
                    _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                          f"--file={dump}", _libpq_url()])
        manifest = Manifest(format=FORMAT, dialect=dialect,
                            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                            database_sha256=_sha256(dump), tree_size=size, root_hash=root, checkpoint_note=note,
                            alembic_revision=revision)
        target = Path(target)
        partial = target.with_name(target.name + ".partial")
        with tarfile.open(partial, "w") as archive:
            body = json.dumps(asdict(manifest), indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(body), int(dt.datetime.now(dt.UTC).timestamp())
            archive.addfile(info, io.BytesIO(body))
            archive.add(dump, arcname=dump.name)
        partial.chmod(0o600)  # it holds every person's data: the service account's alone, whatever the umask
        partial.replace(target)  # a backup file is whole, or not there
    return manifest


def read_manifest(source: Path) -> Manifest:
    """The manifest of the backup at ``source``. Raises not_a_backup."""
    try:
        with tarfile.open(source, "r") as archive:
            member = archive.extractfile(MANIFEST)
            values = json.loads(member.read()) if member else None
    except (tarfile.TarError, KeyError, OSError, ValueError):
        values = None
    if not isinstance(values, dict) or values.get("format") != FORMAT:
        raise BackupError("not_a_backup")
    try:
        return Manifest(**values)
    except TypeError as error:
        raise BackupError("not_a_backup") from error


def restore_backup(source: Path) -> Restored:
    """Replace the database with the backup's, then prove it: the latest checkpoint must be the manifest's and the
    ledger must verify. Stop the app (and the batcher) first. Raises not_a_backup, wrong_database, damaged,
    tool_failed, checkpoint_mismatch, ledger_invalid."""
    manifest = read_manifest(source)
    dialect = _dialect()
    if manifest.dialect != dialect:
        raise BackupError("wrong_database", backup=manifest.dialect, current=dialect)
    with tempfile.TemporaryDirectory(prefix="restore-") as scratch:
        with tarfile.open(source, "r") as archive:
            member = archive.getmember(DATABASE[dialect])
            if not member.isfile():
                raise BackupError("not_a_backup")
            dump = Path(scratch) / DATABASE[dialect]
            with archive.extractfile(member) as packed, dump.open("wb") as out:
                shutil.copyfileobj(packed, out)
        if _sha256(dump) != manifest.database_sha256:
            raise BackupError("damaged")
        db.session.remove()
        if dialect == "sqlite":
            backup = sqlite3.connect(dump)
            target = db.engine.raw_connection()
            try:
                backup.backup(target.driver_connection)
            finally:
                target.close()
                backup.close()
        else:
            _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
                  f"--dbname={_libpq_url()}", str(dump)])
        db.engine.dispose()  # no pooled connection may keep a view of the old database
    latest = latest_checkpoint()
    found = (latest.tree_size, latest.root_hash.hex()) if latest else (None, None)
    if found != (manifest.tree_size, manifest.root_hash):
        raise BackupError("checkpoint_mismatch", expected=manifest.checkpoint,
                          found="none" if latest is None else f"tree size {found[0]}, root {found[1]}")
    report = verify_ledger()
    if report.problems:
        raise BackupError("ledger_invalid", problem=report.problems[0])
    return Restored(manifest, report)
