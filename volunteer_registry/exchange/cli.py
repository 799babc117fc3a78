"""The exchange's commands: ``flask records verify`` (a record bundle, offline, with the issuer's published keys)
and ``flask peers`` (the registries this one trusts, with their keys pinned)."""
from __future__ import annotations

import json
import sys

import click
import requests
from flask.cli import AppGroup

from ..certificates.cli import token_keys_from_jwks
from ..extensions import db
from ..hours import hours_text
from .models import Peer
from .services import ExchangeError, add_peer, fetch_published_keys, normalize_url, remove_peer
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
    click.echo(f"  entries: {verified.entries}, each in the log; service entries: {len(verified.services)} "
               + ", ".join(f"{status} {count}" for status, count in sorted(counts.items())))
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
