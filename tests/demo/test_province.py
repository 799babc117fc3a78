"""The province seed at a small fraction of its scale: the rows it promises, valid identities, a sealed log that
verifies, monthly totals that match, the same data for the same seed, and an empty database only."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from volunteer_registry.demo.province import SeedError, seed_province
from volunteer_registry.extensions import db
from volunteer_registry.ledger.aggregates import counted_months, stored_months
from volunteer_registry.ledger.log import verify_ledger
from volunteer_registry.ledger.models import LedgerEntry, LedgerState
from volunteer_registry.organizations.models import Organization
from volunteer_registry.volunteers.identity import id_number_problem
from volunteer_registry.volunteers.models import Volunteer
from volunteer_registry.volunteers.vault import decrypt_id_number

SCALE = 0.002  # 7 organizations, 1,108 volunteers, 1,600 entries


def fingerprint() -> list[tuple]:
    """What the seed decides (not the ciphertexts, whose nonces are random by design)."""
    volunteers = db.session.execute(sa.select(Volunteer.volunteer_number, Volunteer.name, Volunteer.birth_date,
                                              Volunteer.id_number_masked).order_by(Volunteer.id)).all()
    entries = db.session.execute(sa.select(LedgerEntry.kind, LedgerEntry.volunteer_id, LedgerEntry.minutes,
                                           LedgerEntry.service_date).order_by(LedgerEntry.id)).all()
    return [*volunteers, *entries]


def planner_statistics(table: str) -> bool:
    """Whether the query planner has statistics of ``table`` (SQLite: sqlite_stat1; PostgreSQL: its row estimate)."""
    if db.engine.dialect.name == "sqlite":
        return bool(db.session.scalar(sa.text("SELECT count(*) FROM sqlite_stat1 WHERE tbl = :t"), {"t": table}))
    return db.session.scalar(sa.text("SELECT reltuples FROM pg_class WHERE relname = :t"), {"t": table}) > 0


def test_the_batcher_gathers_statistics_on_sqlite_and_leaves_postgresql_to_autovacuum(app):
    seed_province(scale=SCALE, seed=3)
    sqlite = db.engine.dialect.name == "sqlite"
    if sqlite:
        db.session.execute(sa.text("DELETE FROM sqlite_stat1"))
        assert not planner_statistics("ledger_states")
    db.session.commit()
    statements = []

    def note(_conn, _cursor, statement, *_args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", note)
    try:
        result = app.test_cli_runner().invoke(args=["ledger", "run", "--times", "1"])
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", note)
    assert result.exit_code == 0, result.output
    analysed = [statement for statement in statements if statement.strip().upper().startswith("ANALYZE")]
    assert statements and len(analysed) == (1 if sqlite else 0)
    if sqlite:
        assert planner_statistics("ledger_states")


def test_a_small_province_is_whole_valid_sealed_and_repeatable(app):
    seeded = seed_province(scale=SCALE, seed=7)
    db.session.commit()
    counts = {model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
              for model in (Organization, Volunteer, LedgerEntry, LedgerState)}
    assert counts == {"organizations": 7, "volunteers": 1108, "ledger_entries": 3200, "ledger_states": 1600}
    assert (seeded.organizations, seeded.volunteers, seeded.entries) == (7, 1108, 1600)
    minutes = db.session.scalar(sa.select(sa.func.sum(LedgerState.minutes)).where(LedgerState.status == "approved"))
    assert minutes == seeded.minutes and 0.8 < minutes / 60 / (2_350_000 * SCALE) < 1.2  # about 2.35 M h in all
    for volunteer in db.session.scalars(sa.select(Volunteer).limit(200)):
        number = decrypt_id_number(volunteer.id_number_encrypted)
        assert id_number_problem("resident_id", number, birth_date=volunteer.birth_date,
                                 gender=volunteer.gender) is None, number
    assert stored_months() == counted_months()
    assert planner_statistics("ledger_states")  # a bulk load leaves none: the seed gathers them
    report = verify_ledger()
    assert not report.problems and report.leaves == seeded.tree_size == 3200
    first = fingerprint()
    with pytest.raises(SeedError) as refused:
        seed_province(scale=SCALE, seed=7)
    assert refused.value.code == "database_not_empty"

    db.session.remove()  # the same seed into a new, empty database gives the same data
    db.drop_all()
    db.create_all()
    seed_province(scale=SCALE, seed=7)
    db.session.commit()
    assert fingerprint() == first


def test_the_command_seeds_a_hundredth_with_a_progress_bar_per_stage(app):
    result = app.test_cli_runner().invoke(args=["demo", "seed", "--scale", "hundredth", "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert "37 organizations, 5,540 volunteers" in result.output and "8,000 approved entries" in result.output
    assert "the log sealed at 16,000 leaves" in result.output
    assert all(stage in result.output for stage in ("volunteers", "ledger entries", "Merkle log"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organization)) == 37
    assert planner_statistics("ledger_states")
