"""The `flask volunteers` group: the bulk import of volunteers into an organization. It keeps the name people type,
and lives here because the import makes members (organizations stands on volunteers, not the other way)."""
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from ..accounts.models import User
from ..errors import DomainError
from ..extensions import db
from ..volunteers.sheets import Deadline
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
