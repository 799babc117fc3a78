"""What the database itself guarantees: no plaintext ID numbers, append-only tables, migrations that match."""
import datetime as dt
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from volunteer_registry import create_app
from volunteer_registry.audit.services import record_event
from volunteer_registry.extensions import db
from volunteer_registry.volunteers.identity import resident_id_check_character

ROOT = Path(__file__).resolve().parents[1]
on_sqlite = pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")), reason="checks the SQLite file itself")


@on_sqlite
def test_sqlite_file_holds_no_plaintext_id_number(make, app):
    numbers = []
    for i in range(5):
        body = f"632701{1980 + i}0412{100 + i * 2:03d}"
        numbers.append(body + resident_id_check_character(body))
        make.volunteer(gender="female", birth_date=dt.date(1980 + i, 4, 12), id_number=numbers[-1])
    db.session.commit()
    db.session.execute(sa.text("PRAGMA wal_checkpoint(FULL)"))
    path = Path(db.engine.url.database)
    content = path.read_bytes() + (path.with_name(path.name + "-wal").read_bytes()
                                   if path.with_name(path.name + "-wal").exists() else b"")
    for number in numbers:
        assert number.encode() not in content
        assert number[6:14].encode() + number[14:].encode() not in content
    # the masked form is stored for display, so a search for it finds it: the check above can fail
    assert (numbers[0][:6] + "********" + numbers[0][-4:]).encode() in content


@on_sqlite
def test_sqlite_runs_in_wal_mode_with_foreign_keys(app):
    assert db.session.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
    assert db.session.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET action = 'forged'",
    "DELETE FROM audit_events",
    "UPDATE organization_status_changes SET to_status = 'approved'",
    "DELETE FROM organization_status_changes",
])
def test_append_only_tables_refuse_changes(make, app, statement):
    make.org(status="pending")
    record_event("test.event", details="kept")
    db.session.commit()
    table = statement.split()[1] if statement.startswith("UPDATE") else statement.split()[2]
    before = db.session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
    assert before >= 1
    with pytest.raises(sa.exc.DatabaseError) as info:
        db.session.execute(sa.text(statement))
        db.session.flush()
    assert "append-only" in str(info.value)
    db.session.rollback()
    assert db.session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == before
    assert db.session.execute(sa.text("SELECT count(*) FROM audit_events WHERE action = 'forged'")).scalar() == 0


def test_migrations_build_the_schema_the_models_describe(tmp_path):
    """`flask db upgrade` on an empty database, then no difference between it and the models (`flask db check`)."""
    # the app factory imports every part's models: without it (this test alone, or first on a worker) the
    # metadata compared below would be incomplete
    create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}, instance_path=str(tmp_path / "models"))
    env = dict(os.environ, FLASK_APP="volunteer_registry", VOLUNTEER_REGISTRY_INSTANCE=str(tmp_path))
    if os.environ.get("TEST_DATABASE_URL"):  # start from an empty PostgreSQL database
        env["DATABASE_URL"] = os.environ["TEST_DATABASE_URL"]
        _drop_everything(env["DATABASE_URL"])
    flask = [sys.executable, "-m", "flask"]
    upgrade = subprocess.run(flask + ["db", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert upgrade.returncode == 0, upgrade.stderr
    check = subprocess.run(flask + ["db", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr
    engine = sa.create_engine(env.get("DATABASE_URL") or f"sqlite:///{tmp_path / 'volunteer_registry.sqlite3'}")
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.execute(sa.text("SELECT name FROM sqlite_master WHERE type='trigger'"))
            triggers = {r[0] for r in rows}
            assert {"audit_events_no_update", "audit_events_no_delete"} <= triggers
        else:
            triggers = {r[0] for r in connection.execute(sa.text("SELECT tgname FROM pg_trigger"))}
            assert {"audit_events_append_only", "organization_status_changes_append_only"} <= triggers
        assert compare_metadata(MigrationContext.configure(connection), db.metadata) == []
    engine.dispose()
    if engine.dialect.name == "postgresql":
        _drop_everything(env["DATABASE_URL"])


def _drop_everything(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        db.metadata.drop_all(connection)
    engine.dispose()


def test_instance_secrets_are_generated_private_and_kept(tmp_path, monkeypatch):
    from volunteer_registry import create_app

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("ID_ENCRYPTION_KEY", raising=False)
    instance = tmp_path / "instance"
    first = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"}, instance_path=str(instance))
    for name in ("secret_key", "id_encryption.key"):
        assert stat.S_IMODE((instance / name).stat().st_mode) == 0o600
    second = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"}, instance_path=str(instance))
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] and len(first.config["SECRET_KEY"]) > 40
    assert first.config["ID_ENCRYPTION_KEY"] == second.config["ID_ENCRYPTION_KEY"]
    other = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"},
                       instance_path=str(tmp_path / "elsewhere"))
    assert other.config["SECRET_KEY"] != first.config["SECRET_KEY"]


def test_database_url_from_environment(tmp_path, monkeypatch):
    from volunteer_registry import create_app

    monkeypatch.setenv("DATABASE_URL", "postgres://user:pw@db.example/registry")
    app = create_app({"ENV_NAME": "testing"}, instance_path=str(tmp_path))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://user:pw@db.example/registry"
    monkeypatch.delenv("DATABASE_URL")
    app = create_app({"ENV_NAME": "testing"}, instance_path=str(tmp_path))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'volunteer_registry.sqlite3'}"



def _database_at(tmp_path, revision: str):
    """An empty database (the PostgreSQL one of TEST_DATABASE_URL, else a SQLite file in ``tmp_path``) brought to
    ``revision`` by `flask db upgrade`: a function that upgrades it to the head, and an engine on it."""
    env = dict(os.environ, FLASK_APP="volunteer_registry", VOLUNTEER_REGISTRY_INSTANCE=str(tmp_path))
    if os.environ.get("TEST_DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["TEST_DATABASE_URL"]
        _drop_everything(env["DATABASE_URL"])

    def upgrade(to: str = "head") -> None:
        step = subprocess.run([sys.executable, "-m", "flask", "db", "upgrade", to], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        assert step.returncode == 0, step.stderr

    upgrade(revision)
    return upgrade, sa.create_engine(env.get("DATABASE_URL") or f"sqlite:///{tmp_path / 'volunteer_registry.sqlite3'}")


def test_the_certificates_migration_widens_the_ledger_checks_and_keeps_it_append_only(tmp_path):
    """Revision 0005 rewrites ledger_entries' CHECK constraints in place (SQLite: in the schema text; PostgreSQL:
    drop and add): rows already there stay, the new kinds are accepted only with their certificate code, and the
    append-only triggers still refuse changes."""
    upgrade, engine = _database_at(tmp_path, "0004")
    sqlite = engine.dialect.name == "sqlite"
    insert = ("INSERT INTO ledger_entries (id, kind, volunteer_id, organization_id, minutes, flags, created_at, "
              "refers_to_id) VALUES (:id, :kind, 1, 1, 60, '[]', '2026-01-01 00:00:00', :refers_to)")
    if sqlite:  # a row from before the migration (foreign keys are off on this bare connection)
        with engine.begin() as connection:
            connection.execute(sa.text(insert), {"id": 1, "kind": "service", "refers_to": None})
    upgrade()
    try:
        _check_widened_ledger(engine, insert, sqlite)
    finally:
        engine.dispose()
    if not sqlite:
        _drop_everything(os.environ["TEST_DATABASE_URL"])


def _check_widened_ledger(engine, insert: str, sqlite: bool) -> None:
    with engine.connect() as connection:
        names = {row[0] for row in connection.execute(sa.text(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'ledger_entries'::regclass AND contype = 'c'"))} \
            if not sqlite else None
        if names is not None:  # the constraints keep the names the models give them
            assert {"ck_ledger_entries_kind", "ck_ledger_entries_decisions_refer",
                    "ck_ledger_entries_certificate_code"} <= names, names
        if sqlite:
            assert connection.execute(sa.text("SELECT kind, minutes FROM ledger_entries")).all() == [("service", 60)]
            assert connection.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
            with pytest.raises(sa.exc.DatabaseError, match="append-only"):
                connection.execute(sa.text("UPDATE ledger_entries SET minutes = 1"))
            connection.rollback()
        for kind, refers_to in (("certificate", None), ("revocation", 1)):  # without their certificate code
            with pytest.raises(sa.exc.IntegrityError, match="ck_ledger_entries_certificate_code"):
                connection.execute(sa.text(insert), {"id": 2, "kind": kind, "refers_to": refers_to})
            connection.rollback()
        # (refers_to set, so that only the kind is wrong: PostgreSQL checks constraints in the order of their names)
        with pytest.raises(sa.exc.IntegrityError, match="ck_ledger_entries_kind"):
            connection.execute(sa.text(insert), {"id": 3, "kind": "gift", "refers_to": 1})
        connection.rollback()


def test_the_dashboards_migration_fills_the_monthly_totals_from_the_states(tmp_path):
    """Revision 0006 creates service_months and fills it from ledger_states as they are: approved minutes only,
    per organization and month of the service date (0001-01 for none), on SQLite and on PostgreSQL."""
    upgrade, engine = _database_at(tmp_path, "0005")
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":  # the states alone, without the rows they point at
                connection.execute(sa.text("SET session_replication_role = replica"))
            connection.execute(sa.text(  # organizations the totals can point at (their own references left out)
                "INSERT INTO organizations (id, code, name, org_type, region_code, address, person_in_charge, "
                "contact_phone, contact_email, description, status, join_mode, applicant_id, created_at) VALUES "
                "(:id, :code, 'x', 'community_team', '630102', 'x', 'x', 'x', 'x', '', 'approved', 'open', 1, "
                "'2026-01-01 00:00:00')"), [{"id": 1, "code": "ORGONE"}, {"id": 2, "code": "ORGTWO"}])
            connection.execute(sa.text(
                "INSERT INTO ledger_states (entry_id, volunteer_id, organization_id, status, minutes, flagged, "
                "service_date) VALUES (:id, 1, :org, :status, :minutes, false, :day)"), [
                {"id": 1, "org": 1, "status": "approved", "minutes": 60, "day": dt.date(2026, 3, 15)},
                {"id": 2, "org": 1, "status": "approved", "minutes": 30, "day": dt.date(2026, 3, 2)},
                {"id": 3, "org": 1, "status": "pending", "minutes": 45, "day": dt.date(2026, 3, 3)},
                {"id": 4, "org": 2, "status": "approved", "minutes": 20, "day": dt.date(2026, 4, 30)},
                {"id": 5, "org": 2, "status": "approved", "minutes": 10, "day": None},
                {"id": 6, "org": 2, "status": "rejected", "minutes": 99, "day": dt.date(2026, 4, 1)}])
        upgrade()
        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT organization_id, month, minutes FROM service_months ORDER BY organization_id, month")).all()
        assert [(org, str(month), minutes) for org, month, minutes in rows] == [
            (1, "2026-03-01", 90), (2, "0001-01-01", 10), (2, "2026-04-01", 20)]
    finally:
        engine.dispose()
    if engine.dialect.name != "sqlite":
        _drop_everything(os.environ["TEST_DATABASE_URL"])


def test_the_shifts_migration_gives_every_activity_one_shift_and_moves_its_signups_to_it(tmp_path):
    """Revision 0011: each activity gets one shift with its own times and places; its sign-ups and sessions move to
    that shift, and a volunteer may then hold one place per shift (no longer one per activity)."""
    upgrade, engine = _database_at(tmp_path, "0010")
    start, end = dt.datetime(2026, 3, 1, 1, tzinfo=dt.UTC), dt.datetime(2026, 3, 1, 5, tzinfo=dt.UTC)
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":  # the rows alone, without the rows they point at
                connection.execute(sa.text("SET session_replication_role = replica"))
            fixed = {"users": {"email": "one@example.org"},  # what their CHECK constraints ask
                     "organizations": {"org_type": "community_team", "join_mode": "open", "status": "approved"},
                     "volunteers": {"gender": "female", "id_type": "passport"}}
            for table, ids in (("users", (1,)), ("organizations", (1, 2)), ("volunteers", (7, 8))):
                for row_id in ids:  # the rows the activities, sign-ups and sessions refer to
                    _insert_filled(connection, table, row_id, start, fixed[table])
            connection.execute(sa.text(
                "INSERT INTO activities (id, code, organization_id, title, description, category, recipient, "
                "region_code, address, starts_at, ends_at, capacity, is_recruiting, allows_walk_ins, grace_minutes, "
                "signup_mode, person_in_charge, risk_disclosure, requires_training, requires_insurance, status, "
                "created_by_id, created_at, is_retroactive) VALUES (:id, :code, :org, 't', '', 'community', 'r', "
                "'630102', 'a', :start, :end, :capacity, true, false, 30, 'auto', 'p', '', false, false, "
                "'published', 1, :start, false)"), [
                {"id": 1, "code": "ACTONE", "org": 1, "start": start, "end": end, "capacity": 5},
                {"id": 2, "code": "ACTTWO", "org": 2, "start": start + dt.timedelta(days=1),
                 "end": end + dt.timedelta(days=1), "capacity": None}])
            connection.execute(sa.text(
                "INSERT INTO signups (id, activity_id, volunteer_id, status, created_at) VALUES "
                "(:id, :activity, :volunteer, 'accepted', :start)"), [
                {"id": 1, "activity": 1, "volunteer": 7, "start": start},
                {"id": 2, "activity": 1, "volunteer": 8, "start": start},
                {"id": 3, "activity": 2, "volunteer": 7, "start": start}])
            connection.execute(sa.text(
                "INSERT INTO attendance_sessions (id, activity_id, organization_id, volunteer_id, source, "
                "checked_in_at, checked_out_at, flags) VALUES (1, 2, 2, 7, 'card', :start, NULL, '[]')"),
                {"start": start + dt.timedelta(days=1)})
        upgrade()
        with engine.connect() as connection:
            shifts = connection.execute(sa.text(
                "SELECT id, activity_id, organization_id, starts_at, ends_at, capacity, status, series_id "
                "FROM shifts ORDER BY activity_id")).all()
            assert [(s.activity_id, s.organization_id, s.capacity, s.status, s.series_id) for s in shifts] == [
                (1, 1, 5, "open", None), (2, 2, None, "open", None)]
            shift_of = {s.activity_id: s.id for s in shifts}
            signups = connection.execute(sa.text("SELECT id, shift_id FROM signups ORDER BY id")).all()
            assert [tuple(row) for row in signups] == [(1, shift_of[1]), (2, shift_of[1]), (3, shift_of[2])]
            assert connection.execute(sa.text("SELECT shift_id FROM attendance_sessions")).scalar() == shift_of[2]
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(sa.text("SET session_replication_role = replica"))
            # a second shift of activity 1: the same volunteer may now hold a place in each
            connection.execute(sa.text(
                "INSERT INTO shifts (id, activity_id, organization_id, starts_at, ends_at, role, status, created_at) "
                "VALUES (100, 1, 1, :start, :end, '', 'open', :start)"), {"start": start, "end": end})
            connection.execute(sa.text("INSERT INTO signups (id, activity_id, shift_id, volunteer_id, status, "
                                       "created_at) VALUES (10, 1, 100, 7, 'accepted', :start)"), {"start": start})
        with engine.connect() as connection, pytest.raises(sa.exc.IntegrityError):
            connection.execute(sa.text("INSERT INTO signups (id, activity_id, shift_id, volunteer_id, status, "
                                       "created_at) VALUES (11, 1, 100, 7, 'pending', :start)"), {"start": start})
    finally:
        engine.dispose()
    if engine.dialect.name != "sqlite":
        _drop_everything(os.environ["TEST_DATABASE_URL"])


def _insert_filled(connection, table: str, row_id: int, moment: dt.datetime, fixed: dict) -> None:
    """A row of ``table`` with id ``row_id``, the ``fixed`` values, and a plain value in every other column that
    needs one (the table as the database has it at this revision), referring to row 1 of any table: enough to be
    referred to."""
    values = dict(fixed)
    for column in sa.inspect(connection).get_columns(table):
        if column["nullable"] or column["name"] in ("id", *fixed):
            continue
        kind = column["type"]
        if isinstance(kind, sa.Boolean):
            values[column["name"]] = False
        elif isinstance(kind, (sa.DateTime, sa.Date)):
            values[column["name"]] = moment
        elif isinstance(kind, sa.Integer):
            values[column["name"]] = 1
        elif isinstance(kind, sa.LargeBinary):
            values[column["name"]] = f"{table}-{row_id}".encode()
        elif isinstance(kind, sa.JSON):
            values[column["name"]] = "[]"
        else:
            values[column["name"]] = f"{table[:3]}{row_id}"[:getattr(kind, "length", None) or 40]
    names = ", ".join(["id", *values])
    marks = ", ".join([":id", *(f":{name}" for name in values)])
    connection.execute(sa.text(f"INSERT INTO {table} ({names}) VALUES ({marks})"), {"id": row_id, **values})
