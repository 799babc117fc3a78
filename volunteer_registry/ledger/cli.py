import sys
import time

import click
from flask.cli import AppGroup
from sqlalchemy import func, text

from ..extensions import db
from .log import close_ended_and_extend, extend_log, verify_ledger
from .models import LedgerLeaf

ledger_cli = AppGroup("ledger", help="The hours ledger and its Merkle log.")
#: seconds between two refreshes of SQLite's statistics by the batcher
ANALYZE_EVERY = 24 * 3600


def refresh_statistics() -> None:
    """SQLite: ANALYZE, so that the planner knows, for example, that a volunteer has a handful of entries and an
    organization thousands (without statistics it took the organization's index for one volunteer's certificate:
    67 ms instead of 1 at the province's scale; docs/PERFORMANCE.md). Under a second for a province. PostgreSQL's
    autovacuum does this itself."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("ANALYZE"))
        db.session.commit()


@ledger_cli.command("checkpoint")
def checkpoint_command():
    """Add the entries not yet in the log as a batch and sign a checkpoint (now, instead of at the next batch)."""
    checkpoint = extend_log()
    db.session.commit()
    if checkpoint is None:
        click.echo("Nothing new: the latest checkpoint already covers every entry.")
    else:
        click.echo(f"Checkpoint: tree size {checkpoint.tree_size}, root {checkpoint.root_hash.hex()}")


@ledger_cli.command("run")
@click.option("--every", default=60, show_default=True, type=click.IntRange(5, 3600),
              help="Seconds between batches.")
@click.option("--times", default=0, type=click.IntRange(0), help="Stop after this many batches (0: never).")
def run_command(every: int, times: int):
    """Run batches forever: close the sessions of ended activities, extend the log, sign a checkpoint. On SQLite,
    also refresh the query planner's statistics at start and once a day."""
    done, analysed = 0, None
    while True:
        closed, checkpoint = close_ended_and_extend()
        db.session.commit()
        if analysed is None or time.monotonic() - analysed > ANALYZE_EVERY:
            refresh_statistics()
            analysed = time.monotonic()
        if closed or checkpoint is not None:
            size = checkpoint.tree_size if checkpoint is not None else "unchanged"
            click.echo(f"closed {closed} sessions; tree size {size}")
        done += 1
        if times and done >= times:
            return
        db.session.remove()
        time.sleep(every)


@ledger_cli.command("verify")
def verify_command():
    """Recompute every leaf from the rows and every signed checkpoint's root; exit 1 naming the first entry that
    no longer matches."""
    total = db.session.scalar(db.select(func.count()).select_from(LedgerLeaf)) or 0
    with click.progressbar(length=total, label="Checking leaves", file=sys.stderr) as bar:
        report = verify_ledger(progress=bar.update)
    for problem in report.problems:
        click.echo(f"FAIL {problem}", err=True)
    if not report.ok:
        raise SystemExit(1)
    click.echo(f"OK: {report.leaves} leaves, {report.checkpoints} signed checkpoints, every root recomputed.")
