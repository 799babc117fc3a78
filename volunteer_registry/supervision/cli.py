"""`flask supervision scan`: bring the risk queue up to date (run it after `flask ledger run`'s batches, from the
same timer, or on its own)."""
from __future__ import annotations

import click

from ..extensions import db
from . import bp
from .scanner import scan_signals, scan_status


@bp.cli.command("scan")
@click.option("--every", type=click.IntRange(5, 86400), default=None,
              help="Keep running, scanning every this many seconds.")
def scan_command(every: int | None):
    """Read the ledger's new log entries and refused decisions into the risk signals (committing per batch)."""
    import time

    while True:
        report = scan_signals(commit=db.session.commit)
        status = scan_status()
        click.echo(f"{report.entries} log entries and {report.refusals} refused decisions read, "
                   f"{report.figures} organizations' figures recomputed; {status.behind} entries behind the log.")
        if every is None:
            return
        db.session.remove()
        time.sleep(every)
