import time

import click
from flask.cli import AppGroup

from ..extensions import db
from .delivery import deliver_due

notifications_cli = AppGroup("notifications", help="The notifications' outbox.")


@notifications_cli.command("run")
@click.option("--every", default=10, show_default=True, type=click.IntRange(1, 3600),
              help="Seconds between rounds.")
@click.option("--times", default=0, type=click.IntRange(0), help="Stop after this many rounds (0: never).")
def run_command(every: int, times: int):
    """Send the outbox's due messages, round after round (interrupted sends are given up, failures retried)."""
    done = 0
    while True:
        result = deliver_due()
        if result.sent or result.retried or result.failed or result.interrupted:
            click.echo(f"sent {result.sent}, to retry {result.retried}, failed {result.failed}, "
                       f"interrupted {result.interrupted}")
        done += 1
        if times and done >= times:
            return
        db.session.remove()
        time.sleep(every)
