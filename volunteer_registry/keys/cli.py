import click
from flask.cli import AppGroup

from ..extensions import db
from .models import PURPOSES, SigningKey
from .services import ensure_keys, rotate_keys

keys_cli = AppGroup("keys", help="The instance's signing keys (certificates, PDFs, checkpoints).")


@keys_cli.command("list")
def list_command():
    """Every key, current and retired."""
    ensure_keys()
    db.session.commit()
    for row in db.session.scalars(db.select(SigningKey).order_by(SigningKey.purpose, SigningKey.id)):
        state = "current" if row.is_current else f"retired {row.retired_at:%Y-%m-%d %H:%M}Z"
        click.echo(f"{row.purpose:<12} {row.algorithm:<6} {row.kid:<24} since {row.created_at:%Y-%m-%d}  {state}")


@keys_cli.command("rotate")
@click.option("--purpose", "purposes", multiple=True, type=click.Choice(PURPOSES),
              help="Rotate only these (repeatable). Default: document, certificate and checkpoint keys.")
def rotate_command(purposes):
    """Retire the current keys and make new ones. Retired keys stay published, so everything they signed (old
    certificates, old PDFs, old checkpoints) still verifies. The root is rotated only with --purpose root."""
    made = rotate_keys(tuple(purposes) or ("document", "certificate", "checkpoint"))
    db.session.commit()
    for row in made:
        click.echo(f"New {row.purpose} key {row.kid} ({row.algorithm}).")
