from pathlib import Path

import click
from flask.cli import AppGroup

from .services import BackupError, create_backup, restore_backup

backup_cli = AppGroup("backup", help="Back up and restore the whole database.")


@backup_cli.command("create")
@click.argument("target", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def create_command(target: Path):
    """Write a backup of the database to TARGET (a tar file), while the app runs."""
    try:
        manifest = create_backup(target)
    except BackupError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"Backup written to {target} ({manifest.dialect}); latest signed checkpoint: {manifest.checkpoint}.")


@backup_cli.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the database without asking.")
def restore_command(source: Path, yes: bool):
    """Replace the database with the backup in SOURCE, then check that its ledger is the one the backup's checkpoint
    signed. Stop the app and the batcher first."""
    if not yes:
        click.confirm("This replaces everything in the database with the backup. Go on?", abort=True)
    try:
        restored = restore_backup(source)
    except BackupError as error:
        raise click.ClickException(f"{error.message} [{error.code}]") from error
    click.echo(f"Restored the backup of {restored.manifest.created_at}. The ledger verifies: "
               f"{restored.report.leaves} leaves, {restored.report.checkpoints} signed checkpoints; the latest is the "
               f"backup's ({restored.manifest.checkpoint}).")
