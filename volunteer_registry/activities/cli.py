"""The activities part's `flask` commands: `flask shifts extend`, for a daily timer."""
import click
from flask.cli import AppGroup

from ..extensions import db
from ..timeutil import parse_datetime
from .schedule import extend_horizons

shifts_cli = AppGroup("shifts", help="Shifts and duty rosters.")


@shifts_cli.command("extend")
@click.option("--now", default=None, help="The moment to extend from (ISO 8601; without an offset, Beijing "
                                          "time); default: now.")
def extend_command(now: str | None):
    """Create every duty roster's shifts up to the horizon and sign the rosters' members up for them. Run it
    daily; running it twice creates nothing more."""
    moment = None
    if now is not None:
        moment = parse_datetime(now)
        if moment is None:
            raise click.BadParameter("not a date and time", param_hint="--now")
    created = extend_horizons(moment)
    db.session.commit()
    click.echo(f"created {created} shifts")
