"""The declarative base shared by every part: constraint naming, UTC datetimes, append-only tables."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DDL, DateTime, MetaData, Table, event
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC and always returned timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def append_only_ddl(table_name: str) -> dict[str, list[str]]:
    """SQL, per dialect, for triggers that refuse UPDATE and DELETE on ``table_name``.

    Migrations carry their own literal copy of these statements (a migration is a snapshot).
    """
    sqlite = [
        f"CREATE TRIGGER {table_name}_no_update BEFORE UPDATE ON {table_name} "
        f"BEGIN SELECT RAISE(ABORT, '{table_name} is append-only'); END",
        f"CREATE TRIGGER {table_name}_no_delete BEFORE DELETE ON {table_name} "
        f"BEGIN SELECT RAISE(ABORT, '{table_name} is append-only'); END",
    ]
    postgresql = [
        "CREATE OR REPLACE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$",
        f"CREATE TRIGGER {table_name}_append_only BEFORE UPDATE OR DELETE ON {table_name} "
        f"FOR EACH ROW EXECUTE FUNCTION refuse_change()",
        f"CREATE TRIGGER {table_name}_no_truncate BEFORE TRUNCATE ON {table_name} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()",
    ]
    return {"sqlite": sqlite, "postgresql": postgresql}


def make_append_only(table: Table) -> None:
    """Attach the append-only triggers to ``table`` whenever metadata creates it."""
    for dialect, statements in append_only_ddl(table.name).items():
        for statement in statements:
            ddl = DDL(statement.replace("%", "%%"))  # DDL() formats its text with %
            event.listen(table, "after_create", ddl.execute_if(dialect=dialect))
