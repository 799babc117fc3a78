import click
from flask.cli import AppGroup

from ..extensions import db
from .seed import DEMO_ACCOUNTS, DEMO_PASSWORD, seed_demo

demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("seed")
def seed_command():
    """Create demo accounts, organizations and volunteers (once; later runs change nothing)."""
    created = seed_demo()
    db.session.commit()
    click.echo("Demo data created." if created else "Demo data already present.")
    click.echo(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
    for identifier, role in DEMO_ACCOUNTS:
        click.echo(f"  {identifier:<26} {role}")
