"""The `flask volunteers` group: the bulk import of volunteers into an organization, and the matching of the national
system's volunteer numbers. It keeps the name people type, and lives here because the import makes members
(organizations stands on volunteers, not the other way)."""
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from ..accounts.models import User
from ..errors import DomainError
from ..extensions import db
from ..volunteers.services import (
    MATCH_OUTCOMES,
    NATIONAL_LIST_COLUMNS,
    NationalMatchReport,
    match_national_numbers,
    read_national_list,
)
from ..volunteers.sheets import Deadline, ImportFileError, ImportLimits, open_rows
from .importing import import_volunteers, read_rows
from .queries import organization_by_code

volunteers_cli = AppGroup("volunteers", help="Volunteers.")


@volunteers_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_code", required=True, help="The organization's public code.")
@click.option("--actor", default=None, help="Account recorded as the importer (default: the org's applicant).")
def import_command(file: Path, org_code: str, actor: str | None):
    """Import volunteers from a CSV or XLSX file into an organization: all rows or none."""
    try:
        org = organization_by_code(org_code)
        # no worker to time out here: every limit but IMPORT_MAX_SECONDS holds
        rows = read_rows(file.name, file.read_bytes(), deadline=Deadline(None))
    except DomainError as error:
        raise click.ClickException(f"{error.code}: {error.message}") from None
    if actor:
        from ..accounts.services import find_user
        user = find_user(actor)
        if user is None:
            raise click.ClickException(f"No account {actor}.")
    else:
        user = db.session.get(User, org.applicant_id)

    def progress(items, stage: str):
        with click.progressbar(items, label={"check": "Checking", "write": "Importing"}[stage],
                               file=sys.stderr) as bar:
            yield from bar

    report = import_volunteers(user, org, rows, progress=progress)
    if not report.ok:
        db.session.rollback()
        for problem in report.problems:
            click.echo(f"row {problem.row}: {problem.field}: {problem.message} [{problem.code}]", err=True)
        raise click.ClickException(f"{len(report.problems)} bad rows; nothing was imported.")
    db.session.commit()
    click.echo(f"Imported {report.rows} rows: {report.created} new volunteers, {report.invited} invited "
               "(already registered: they become members by accepting).")
    for row in report.outcomes:
        if row.outcome != "created":
            click.echo(f"row {row.row}: {row.label} [{row.outcome}]")


def _national_list_records(file: Path) -> list[tuple[int, dict]]:
    """The data rows of the national system's list as (line, {column: text}), under the IMPORT_* limits but the
    time. Raises ImportFileError (missing_columns, and sheets.py's codes for an unreadable or oversized file)."""
    rows = open_rows(file.name, file.read_bytes(), ImportLimits.from_config(current_app.config), Deadline(None))
    header: dict[int, str] = {}
    records: list[tuple[int, dict]] = []

    def take(number: int, cells: dict) -> None:
        nonlocal header
        values = {index: str(value).strip() for index, value in cells.items()}
        if not any(values.values()):
            return
        if not header:
            header = {index: name.lower() for index, name in values.items() if name.lower() in NATIONAL_LIST_COLUMNS}
            missing = [name for name in NATIONAL_LIST_COLUMNS if name not in header.values()]
            if missing:
                raise ImportFileError("missing_columns", field="file", columns=", ".join(missing))
            rows.only(header)
            return
        records.append((number, {name: values.get(index, "") for index, name in header.items()}))

    rows.read(take)
    if not header:
        raise ImportFileError("file_empty", field="file")
    return records


@volunteers_cli.command("national-numbers")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Report what would change and write nothing.")
def national_numbers_command(file: Path, dry_run: bool):
    """Record the national unified volunteer numbers from the national system's list (CSV with a header row:
    id_type,id_number,national_number), matched to volunteers by their ID document. All rows or none."""
    try:
        records = _national_list_records(file)
    except DomainError as error:
        raise click.ClickException(f"{error.code}: {error.message}") from None
    report = NationalMatchReport()
    rows = read_national_list(records, report)
    match_national_numbers(rows, report, dry_run=dry_run, source=file.name)
    counts = ", ".join(f"{report.count(outcome)} {outcome.replace('_', ' ')}" for outcome in MATCH_OUTCOMES)
    if report.problems:
        db.session.rollback()
        for line, field, code, message in report.problems:
            click.echo(f"line {line}: {field}: {message} [{code}]", err=True)
        raise click.ClickException(f"{len(report.problems)} bad rows; nothing was written ({counts} among the "
                                   "good ones).")
    for line, outcome in report.outcomes:
        if outcome == "conflicting":
            click.echo(f"line {line}: conflicting: the record or the number already has another; left as it is")
    if dry_run:
        db.session.rollback()
        click.echo(f"Dry run, nothing written: {counts}.")
        return
    db.session.commit()
    click.echo(f"{counts}.")
