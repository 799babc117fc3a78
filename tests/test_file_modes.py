"""Files the app creates are readable by the service account alone: the instance folder, its secrets and keys,
the SQLite database with its WAL files, backups. What a lax umask or an older version left is tightened at start."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from volunteer_registry import create_app
from volunteer_registry.backup.services import create_backup
from volunteer_registry.config import sqlite_path
from volunteer_registry.extensions import db
from volunteer_registry.keys.services import current_key

from .conftest import build_app


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def lax_umask():
    """The umask a shell usually has (022): before the fix every file below came out world-readable."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_what_the_app_writes_is_the_service_accounts_alone(tmp_path, lax_umask):
    app = build_app(tmp_path)
    instance = Path(app.instance_path)
    with app.app_context():
        current_key("certificate")  # the certificate signing key, written on first use
        db.session.execute(db.text("SELECT 1"))
        db.session.commit()
        backup = tmp_path / "backups" / "registry.backup"
        backup.parent.mkdir()
        create_backup(backup)
    assert _mode(instance) == 0o700
    keys = [path for path in (instance / "keys").iterdir() if path.is_file()]
    assert keys and {_mode(path) for path in keys} == {0o600}
    assert _mode(instance / "keys") == 0o700
    assert _mode(backup) == 0o600
    database = sqlite_path(app.config["SQLALCHEMY_DATABASE_URI"])
    if database is not None:  # SQLite: the database file and its write-ahead log
        files = [path for path in database.parent.glob(database.name + "*")]
        assert database in files and {_mode(path) for path in files} == {0o600}
    assert os.umask(0o022) == 0o077  # what the process creates from now on: 0600 files, 0700 folders


def test_files_left_readable_by_an_older_version_are_tightened_at_start(tmp_path, lax_umask):
    instance = tmp_path / "instance"
    (instance / "keys").mkdir(parents=True)
    secret = instance / "secret_key"
    secret.write_text("an-old-secret-key-written-with-a-lax-umask\n")
    key = instance / "keys" / "certificate-old.pem"
    key.write_text("not really a key")
    database = tmp_path / "old.sqlite3"
    database.write_bytes(b"")
    for path in (secret, key, database):
        path.chmod(0o644)
    instance.chmod(0o755)
    create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
                "ID_ENCRYPTION_KEY": "k"}, instance_path=str(instance))
    assert _mode(instance) == 0o700 and _mode(instance / "keys") == 0o700
    assert _mode(secret) == 0o600 and _mode(key) == 0o600 and _mode(database) == 0o600
