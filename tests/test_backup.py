"""Backups: taken while the app runs, restored whole, and proven after the restore to hold the ledger the backup's
checkpoint signed; damaged, forged and foreign files refused with their codes. On SQLite and on PostgreSQL."""
from __future__ import annotations

import io
import json
import tarfile

import pytest
import sqlalchemy as sa

from volunteer_registry.accounts.models import User
from volunteer_registry.activities.models import Activity
from volunteer_registry.backup.services import BackupError, create_backup, read_manifest, restore_backup
from volunteer_registry.extensions import db
from volunteer_registry.ledger.log import extend_log
from volunteer_registry.ledger.models import LedgerCheckpoint, LedgerEntry
from volunteer_registry.volunteers.models import Volunteer

from .certificates.conftest import approved_service


def entries() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry))


def latest() -> tuple[int, str]:
    row = db.session.scalar(sa.select(LedgerCheckpoint).order_by(LedgerCheckpoint.tree_size.desc()).limit(1))
    return row.tree_size, row.root_hash.hex()


@pytest.fixture
def ledger(make):
    """Two approved sessions, sealed under a signed checkpoint; returns a function that adds one more, sealed."""
    org = make.org()
    ids = make.activity(org).id, make.volunteer().id, make.coordinator(org).id

    def serve(minutes: int, days_ago: int):
        # read again each time: a restore ends the session that held them
        activity, volunteer, coordinator = (db.session.get(Activity, ids[0]), db.session.get(Volunteer, ids[1]),
                                            db.session.get(User, ids[2]))
        approved_service(make, activity, volunteer, minutes, days_ago=days_ago, recorder=coordinator)
        extend_log()
        db.session.commit()

    serve(120, 3)
    serve(90, 2)
    return serve


def rewrite(backup, target, *, manifest=None, database=None):
    """A copy of ``backup`` with its manifest or database bytes changed."""
    with tarfile.open(backup) as archive:
        members = {m.name: archive.extractfile(m).read() for m in archive.getmembers()}
    if manifest:
        members["manifest.json"] = json.dumps({**json.loads(members["manifest.json"]), **manifest}).encode()
    if database:
        name = next(n for n in members if n.startswith("database."))
        members[name] = database(members[name])
    with tarfile.open(target, "w") as archive:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    return target


def test_a_restore_brings_back_the_ledger_the_backups_checkpoint_signed(app, ledger, tmp_path):
    signed = latest()
    before = entries()
    manifest = create_backup(tmp_path / "registry.backup")
    assert (manifest.tree_size, manifest.root_hash) == signed and manifest.dialect == db.engine.dialect.name
    assert manifest.checkpoint_note.startswith("volunteer-registry.local/ledger\n")
    assert read_manifest(tmp_path / "registry.backup") == manifest

    ledger(60, 1)  # written after the backup: the restore takes it away
    assert entries() == before + 2 and latest() != signed

    restored = restore_backup(tmp_path / "registry.backup")
    assert entries() == before and latest() == signed
    assert not restored.report.problems and restored.report.leaves == signed[0] == before
    ledger(30, 1)  # and the restored database goes on: new entries, a new checkpoint on top of the old tree
    assert entries() == before + 2 and latest()[0] == signed[0] + 2


def test_the_commands_back_up_and_restore_and_say_what_they_proved(app, ledger, tmp_path):
    runner = app.test_cli_runner()
    target = tmp_path / "nightly.backup"
    made = runner.invoke(args=["backup", "create", str(target)])
    assert made.exit_code == 0, made.output
    size, root = latest()
    assert f"latest signed checkpoint: tree size {size}, root {root}" in made.output
    ledger(45, 1)
    refused = runner.invoke(args=["backup", "restore", str(target)], input="n\n")
    assert refused.exit_code == 1 and latest()[0] == size + 2  # asked, declined: nothing changed
    restored = runner.invoke(args=["backup", "restore", str(target), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert f"The ledger verifies: {size} leaves" in restored.output and latest() == (size, root)


def test_a_damaged_backup_is_refused_before_anything_is_replaced(app, ledger, tmp_path):
    good = tmp_path / "good.backup"
    create_backup(good)
    ledger(45, 1)
    now = latest()
    damaged = rewrite(good, tmp_path / "damaged.backup", database=lambda body: body[:-1] + bytes([body[-1] ^ 1]))
    with pytest.raises(BackupError) as refused:
        restore_backup(damaged)
    assert refused.value.code == "damaged" and latest() == now


def test_a_manifest_naming_another_checkpoint_fails_the_proof(app, ledger, tmp_path):
    good = tmp_path / "good.backup"
    create_backup(good)
    forged = rewrite(good, tmp_path / "forged.backup", manifest={"root_hash": "00" * 32})
    with pytest.raises(BackupError) as refused:
        restore_backup(forged)
    assert refused.value.code == "checkpoint_mismatch" and "00000000" in refused.value.message


@pytest.mark.parametrize("content", [b"", b"not a tar file at all", None])
def test_a_file_that_is_not_a_backup_is_refused(app, tmp_path, content):
    path = tmp_path / "other.tar"
    if content is None:  # a tar file, but not ours
        with tarfile.open(path, "w") as archive:
            info = tarfile.TarInfo("manifest.json")
            body = b'{"format": "something-else/1"}'
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    else:
        path.write_bytes(content)
    with pytest.raises(BackupError) as refused:
        restore_backup(path)
    assert refused.value.code == "not_a_backup"


def test_a_backup_of_another_kind_of_database_is_refused(app, ledger, tmp_path):
    good = tmp_path / "good.backup"
    create_backup(good)
    other = "postgresql" if db.engine.dialect.name == "sqlite" else "sqlite"
    foreign = rewrite(good, tmp_path / "foreign.backup", manifest={"dialect": other})
    with pytest.raises(BackupError) as refused:
        restore_backup(foreign)
    assert refused.value.code == "wrong_database"

