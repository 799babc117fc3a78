"""The exchange's commands: ``flask records verify`` (a record bundle, offline, with the issuer's published keys),
``flask peers`` (the registries this one trusts, with their keys pinned) and ``flask exchange`` (the upward
exchange's tokens, the sequencer, the push outbox and the pull of a peer's feed)."""
from __future__ import annotations

import json
import sys

import click
import requests
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from ..certificates.cli import token_keys_from_jwks
from ..errors import DomainError
from ..extensions import db
from ..hours import hours_text
from .feed import create_exchange_token, exchange_tokens, last_seq, revoke_exchange_token, sequence_events
from .ingest import pull
from .models import ExchangeEvent, Peer, PushState, ReceivedEvent
from .push import push_configured, push_loop, push_once
from .services import ExchangeError, add_peer, fetch_published_keys, normalize_url, peer_by_url, remove_peer
from .verify import MAX_BUNDLE_BYTES, BundleError, check_certificates, verify_bundle

records_cli = AppGroup("records", help="Volunteers' records as signed bundles (docs/EXCHANGE.md).")
peers_cli = AppGroup("peers", help="The registries this one trusts, with their keys pinned.")

WELL_KNOWN_JWKS = "/.well-known/volunteer-registry/jwks.json"


def verifier_keys_from(document) -> list[str]:
    """The signed-note verifier keys in a published JWK set (its checkpoint keys), or in plain text (one verifier
    key a line). Raises ValueError when there are none."""
    if isinstance(document, dict):
        keys = [key.get("note_verifier_key") for key in document.get("keys") or [] if isinstance(key, dict)
                and key.get("purpose") == "ledger-checkpoint"]
        keys = [key for key in keys if isinstance(key, str)]
    else:
        keys = [line.strip() for line in str(document).splitlines() if line.strip() and "+" in line]
    if not keys:
        raise ValueError("no checkpoint (signed-note) key in it")
    return keys


def _read_keys(source: str) -> tuple[list[str], dict | None]:
    """The checkpoint verifier keys, and the certificate-token keys when the source is a JWK set (else None)."""
    if source.startswith(("https://", "http://")):
        url = source if source.endswith(".json") else source.rstrip("/") + WELL_KNOWN_JWKS
        response = requests.get(url, timeout=20)
        response.raise_for_status()
        document = response.json()
    else:
        with open(source, encoding="utf-8") as file:
            text = file.read(MAX_BUNDLE_BYTES)
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            return verifier_keys_from(text), None
    return verifier_keys_from(document), token_keys_from_jwks(document)


@records_cli.command("verify")
@click.argument("file", type=click.File("rb"))
@click.option("--keys", "keys_source", required=True,
              help="The issuer's address (its jwks.json is fetched), a jwks.json URL, or a file: a saved jwks.json "
                   "or verifier keys, one a line (offline).")
@click.option("--origin", default=None, help="Require the bundle to be of this log (the issuer's origin).")
def verify_command(file, keys_source: str, origin: str | None):
    """Check a record bundle FILE with the issuer's published keys alone: the signature, the checkpoint, every
    entry's inclusion proof and text, and the totals. Exit status 0 when it verifies, 1 with the refusal's code."""
    try:
        keys, token_keys = _read_keys(keys_source)
    except (OSError, ValueError, requests.RequestException) as error:  # token_keys_from_jwks: ValueError
        click.echo(f"Cannot read the keys from {keys_source}: {error}", err=True)
        sys.exit(2)
    try:
        verified = verify_bundle(file.read(MAX_BUNDLE_BYTES + 1), keys, origin=origin)
        certificates = check_certificates(verified.record, token_keys) if token_keys is not None else None
    except BundleError as error:
        click.echo(f"REFUSED {error.code}: {error.detail}")
        sys.exit(1)
    person = verified.volunteer
    counts: dict[str, int] = {}
    for service in verified.services:
        counts[service.status] = counts.get(service.status, 0) + 1
    click.echo(f"VERIFIED: the record of {person.get('name')} ({person.get('id_number_masked')}, volunteer number "
               f"{person.get('volunteer_number')}) issued by {verified.origin}")
    click.echo(f"  checkpoint: tree size {verified.checkpoint.size}, root {verified.checkpoint.root.hex()}")
    by_status = ", ".join(f"{status} {count}" for status, count in sorted(counts.items()))
    click.echo(f"  entries: {verified.entries}, each in the log; service entries: {len(verified.services)}"
               + (f" ({by_status})" if by_status else ""))
    click.echo(f"  approved service: {hours_text(verified.approved_minutes)} h ({verified.approved_minutes} minutes)")
    if certificates is not None:
        click.echo(f"  certificates: {certificates}, each as its signed token says")
    else:
        click.echo("  certificates: not checked (give the issuer's jwks.json to check their signed tokens)")


@peers_cli.command("add")
@click.argument("url")
@click.option("--name", default=None, help="A name people know it by (default: its log's origin).")
@click.option("--yes", is_flag=True, help="Trust the keys shown without asking.")
def add_command(url: str, name: str | None, yes: bool):
    """Trust the registry at URL: its published checkpoint keys are fetched, shown and pinned. Run it again
    when a peer's keys change: that is a new decision, shown as such."""
    try:
        base = normalize_url(url)
        keys = fetch_published_keys(base)
    except ExchangeError as error:
        click.echo(f"{url}: {error.message} ({error.code})", err=True)
        sys.exit(1)
    known = db.session.scalar(db.select(Peer).where((Peer.url == base) | (Peer.origin == keys.origin)))
    click.echo(f"Registry {base}\n  log origin: {keys.origin}\n  keys (fingerprint {keys.fingerprint}):")
    for key in keys.verifier_keys:
        click.echo(f"    {key}")
    if known is not None and known.keys_sha256 != keys.fingerprint:
        click.echo(f"KEY CHANGE: the keys pinned on {known.updated_at:%Y-%m-%d} had fingerprint {known.keys_sha256}.")
        for key in sorted(set(known.verifier_keys) - set(keys.verifier_keys)):
            click.echo(f"  no longer published: {key}")
    elif known is not None and known.status == "trusted":
        click.echo("Already trusted with these keys: nothing to change.")
        return
    if not yes and not click.confirm("Trust this registry with these keys?"):
        click.echo("Nothing changed.")
        return
    peer = add_peer(base, name=name, keys=keys)
    db.session.commit()
    click.echo(f"Trusted: {peer.name} ({peer.url}).")


@peers_cli.command("list")
def list_command():
    """The peers, trusted and removed, with their pinned keys' fingerprints and the last checkpoint seen."""
    peers = db.session.scalars(db.select(Peer).order_by(Peer.status.desc(), Peer.name)).all()
    if not peers:
        click.echo("No peers. Add one with: flask peers add URL")
    for peer in peers:
        seen = f"tree size {peer.seen_size}" if peer.seen_size is not None else "no checkpoint seen yet"
        click.echo(f"{peer.status:8} {peer.name}  {peer.url}  origin {peer.origin}  keys {peer.keys_sha256[:16]}…  "
                   f"{seen}")


@peers_cli.command("remove")
@click.argument("url")
def remove_command(url: str):
    """Stop trusting a peer. What was transferred from it stays, with its origin."""
    try:
        peer = remove_peer(url)
    except ExchangeError as error:
        click.echo(f"{url}: {error.message} ({error.code})", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"No longer trusted: {peer.name} ({peer.url}).")


# --- flask exchange ---------------------------------------------------------------------------------------------

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
