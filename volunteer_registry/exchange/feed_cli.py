"""`flask exchange`: the upward exchange's tokens, the sequencer, the push outbox and the pull of a peer's feed."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from ..errors import DomainError
from ..extensions import db
from .feed import create_exchange_token, exchange_tokens, last_seq, revoke_exchange_token, sequence_events
from .ingest import pull
from .models import ExchangeEvent, Peer, PushState, ReceivedEvent
from .push import push_configured, push_loop, push_once
from .services import peer_by_url

exchange_cli = AppGroup("exchange", help="The upward exchange: feed tokens, the push outbox, pulling a peer's feed.")
token_cli = AppGroup("token", help="Exchange tokens: a superior platform's (read) or a trusted peer's (push).")
exchange_cli.add_command(token_cli)


def _fail(error: DomainError):
    raise click.ClickException(f"{error.code}: {error.message}")


@token_cli.command("create")
@click.option("--name", required=True, help="Who the token is for.")
@click.option("--regions", default="all", show_default=True,
              help="Region code prefixes the token reads, separated by commas (63,5401), or 'all'.")
@click.option("--scope", type=click.Choice(["read", "push"]), default="read", show_default=True)
@click.option("--peer", "peer_url", default=None, help="A push token's trusted peer (its address).")
def token_create(name: str, regions: str, scope: str, peer_url: str | None):
    """Create an exchange token; it is shown once."""
    peer = None
    if peer_url:
        peer = peer_by_url(peer_url)
        if peer is None:
            raise click.ClickException("peer_unknown: no trusted peer at that address (flask peers add URL)")
    try:
        plaintext, row = create_exchange_token(name, scope, regions, peer)
    except DomainError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"Token {row.id} ({row.scope}, regions {','.join(row.regions) or 'all'}): {plaintext}")
    click.echo("It is shown only now.")


@token_cli.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int):
    """Revoke an exchange token."""
    try:
        row = revoke_exchange_token(token_id)
    except DomainError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"Token {row.id} revoked.")


@token_cli.command("list")
def token_list():
    """List the exchange tokens."""
    for row in exchange_tokens():
        state = "revoked" if row.revoked_at else "live"
        used = row.last_used_at.isoformat(timespec="seconds") if row.last_used_at else "never"
        regions = ",".join(row.regions) or "all"
        click.echo(f"{row.id:>4}  {row.prefix}…  {row.scope:<4}  {state:<7}  regions {regions:<12}  last used {used}"
                   f"  {row.name}")


@exchange_cli.command("sequence")
def sequence_command():
    """Number the committed events of the feed now (the batcher and the feed do it too)."""
    count = sequence_events()
    db.session.commit()
    click.echo(f"{count} events numbered; the feed is at {last_seq()}.")


@exchange_cli.command("push")
@click.option("--once", is_flag=True, help="One round, even before the back-off after a failure is over.")
@click.option("--every", default=60.0, show_default=True, type=click.FloatRange(1, 3600),
              help="Seconds between rounds.")
@click.option("--times", default=None, type=click.IntRange(1), help="Rounds to run (default: until stopped).")
def push_command(once: bool, every: float, times: int | None):
    """Deliver the feed to EXCHANGE_PUSH_URL (with EXCHANGE_PUSH_TOKEN), with retries and back-off."""
    if not push_configured():
        raise click.ClickException("Set EXCHANGE_PUSH_URL and EXCHANGE_PUSH_TOKEN first.")

    def echo(result):
        if result.waiting:
            click.echo(f"Waiting for the back-off (cursor {result.cursor}; last error: {result.error}).")
        elif result.error:
            click.echo(f"Delivered {result.delivered}, then failed: {result.error} (cursor {result.cursor}).",
                       err=True)
        else:
            click.echo(f"Delivered {result.delivered} events; acknowledged up to {result.cursor}.")

    if once:
        result = push_once(force=True)
        echo(result)
        if result.error:
            raise SystemExit(1)
        return
    push_loop(every, times, echo)


@exchange_cli.command("pull")
@click.argument("url")
@click.option("--token", default=None, help="The peer's read token (kept, encrypted, for the next pulls).")
def pull_command(url: str, token: str | None):
    """Pull a trusted peer's feed from where it stands here into the regional view."""
    try:
        result = pull(url, token)
    except DomainError as error:
        db.session.rollback()
        _fail(error)
    click.echo(f"Received {result.received} events; held up to {result.cursor}.")


@exchange_cli.command("status")
def status_command():
    """Where the feed, the push and the peers' feeds stand."""
    total = db.session.scalar(select(func.count()).select_from(ExchangeEvent))
    waiting = db.session.scalar(select(func.count()).select_from(ExchangeEvent).where(ExchangeEvent.seq.is_(None)))
    click.echo(f"Feed: {total} events, numbered up to {last_seq()}, {waiting} waiting for a number.")
    url = (current_app.config.get("EXCHANGE_PUSH_URL") or "").rstrip("/")
    for state in db.session.scalars(select(PushState).order_by(PushState.url)):
        mark = " (configured)" if state.url == url else ""
        click.echo(f"Push to {state.url}{mark}: acknowledged up to {state.cursor}, {state.attempts} failures in a "
                   f"row, next attempt {state.next_attempt_at or 'now'}, last error {state.last_error or '-'}")
    for peer in db.session.scalars(select(Peer).order_by(Peer.name)):
        held = db.session.scalar(select(func.count()).select_from(ReceivedEvent)
                                 .where(ReceivedEvent.peer_id == peer.id))
        click.echo(f"Peer {peer.name} ({peer.url}, {peer.status}): {held} events held, up to {peer.pull_cursor}")
