import time

import click
from flask.cli import AppGroup

from ..extensions import db
from ..models import utcnow
from ..timeutil import local
from .delivery import deliver_due
from .models import DELIVERY_STATUSES, Delivery
from .scheduled import send_digests, send_reminders

notifications_cli = AppGroup("notifications", help="The notifications' outbox.")


@notifications_cli.command("run")
@click.option("--every", default=5, show_default=True, type=click.IntRange(1, 3600),
              help="Seconds between rounds.")
@click.option("--times", default=0, type=click.IntRange(0), help="Stop after this many rounds (0: never).")
@click.option("--schedule-every", default=300, show_default=True, type=click.IntRange(1, 86400),
              help="Seconds between looks for the day-before reminders and the coordinators' daily digest.")
def run_command(every: int, times: int, schedule_every: int):
    """Send the outbox's due messages, round after round (the messages of dead workers are dealt with, failures
    retried), and write the reminders and digests when their time comes. Several may run: none sends a message
    another has taken."""
    done, scheduled_at, digested_on = 0, None, None  # digested_on: the Beijing day whose digests are written
    click.echo(f"notifications worker: a round every {every} s, reminders and digests every {schedule_every} s")
    while True:
        if scheduled_at is None or time.monotonic() - scheduled_at >= schedule_every:
            reminders, digests = send_reminders(), None
            today = local(utcnow()).date()
            if digested_on != today:  # the day's digests are written in one go, then not looked for
                digests = send_digests()
                if digests is not None:
                    digested_on = today
            if reminders or digests:
                click.echo(f"wrote {reminders} reminders, {digests} digests")
            scheduled_at = time.monotonic()
        result = deliver_due()
        if result:
            click.echo(f"sent {result.sent}, to retry {result.retried}, failed {result.failed}, "
                       f"sent again after a dead worker {result.resumed}, given up {result.interrupted}")
        done += 1
        if times and done >= times:
            return
        db.session.remove()
        time.sleep(every)


@notifications_cli.command("status")
@click.option("--failed", "show", default=10, show_default=True, type=click.IntRange(0),
              help="How many of the last failed messages to list.")
def status_command(show: int):
    """How many messages are in each state, and the last failed ones with the reason."""
    counts = dict(db.session.execute(db.select(Delivery.status, db.func.count()).group_by(Delivery.status)).all())
    click.echo("  ".join(f"{status} {counts.get(status, 0)}" for status in DELIVERY_STATUSES))
    failed = db.session.scalars(db.select(Delivery).where(Delivery.status == "failed")
                                .order_by(Delivery.id.desc()).limit(show)).all()
    for delivery in failed:
        click.echo(f"#{delivery.id} {delivery.channel} to {delivery.to}, {delivery.attempts} attempts: "
                   f"{delivery.last_error}")
