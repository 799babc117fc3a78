import time

import click
from flask.cli import AppGroup

from ..exchange.feed import backfill_events
from ..extensions import db
from .province import SCALES, seed_province
from .seed import DEMO_ACCOUNTS, DEMO_PASSWORD, seed_demo

demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("seed")
@click.option("--scale", type=click.Choice(["small", *SCALES]), default="small", show_default=True,
              help="small: the demo accounts and a few organizations; province: 3,700 organizations, 554,000 "
                   "volunteers and 800,000 approved entries (into an empty database); tenth, hundredth: a tenth or "
                   "a hundredth of that (the benchmark's).")
@click.option("--seed", "seed", type=int, default=2026, show_default=True, help="The same seed, the same data.")
def seed_command(scale: str, seed: int):
    """Create demo data: the demo accounts (once; later runs change nothing), or a whole province."""
    if scale != "small":
        _seed_province(scale, seed)
        return
    created = seed_demo()
    backfill_events()  # every row has its exchange event (the seed's own writes have theirs already)
    db.session.commit()
    click.echo("Demo data created." if created else "Demo data already present.")
    click.echo(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
    for identifier, role in DEMO_ACCOUNTS:
        click.echo(f"  {identifier:<26} {role}")


def _seed_province(scale: str, seed: int) -> None:
    bars: dict[str, object] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            for other in bars.values():
                other.render_finish()
            bar = bars[stage] = click.progressbar(length=total, label=f"{stage:<16}")
            bar.__enter__()
        bar.update(done - bar.pos)

    started = time.monotonic()
    seeded = seed_province(scale=scale, seed=seed, progress=progress)
    for bar in bars.values():
        bar.render_finish()
    db.session.commit()
    click.echo(f"Seeded in {time.monotonic() - started:.0f} s: {seeded.organizations:,} organizations, "
               f"{seeded.volunteers:,} volunteers, {seeded.memberships:,} memberships, {seeded.activities:,} "
               f"activities, {seeded.entries:,} approved entries ({seeded.minutes / 60:,.0f} hours); the log "
               f"sealed at {seeded.tree_size:,} leaves.")
