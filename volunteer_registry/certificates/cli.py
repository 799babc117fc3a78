"""`flask certificates issue-batch` and `flask certificates verify` (offline: published keys only, no database)."""
from __future__ import annotations

import base64
import http.client
import json
import sys
import urllib.request
from collections import Counter
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric import ec
from flask.cli import AppGroup

from ..extensions import db
from ..hours import hours_text
from .tokens import TokenError, open_token, token_from_text

certificates_cli = AppGroup("certificates", help="Service certificates: issue in bulk, verify offline.")


@certificates_cli.command("issue-batch")
@click.option("--organization", "org_code", required=True, help="The issuing organization's code.")
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day, YYYY-MM-DD.")
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day, YYYY-MM-DD.")
@click.option("--as", "handler", required=True, help="Email or phone of the org admin issuing (the handler).")
@click.option("--volunteer", "numbers", multiple=True,
              help="Only these volunteer numbers (repeatable). Default: everyone with approved hours in the period.")
@click.option("--render/--no-render", default=True, show_default=True,
              help="Render and sign each PDF now (else on first download).")
def issue_batch_command(org_code, start, end, handler, numbers, render):
    """Issue a certificate to every volunteer with approved hours recorded by the organization in the period.
    Each certificate is committed as it is made: rerunning after an interruption skips those already issued."""
    from ..accounts.permissions import can
    from ..accounts.services import find_user
    from ..errors import NotFound
    from ..integrity.services import IntegrityRefusal
    from ..organizations.queries import organization_by_code
    from ..volunteers.queries import volunteer_by_number
    from .services import (
        CertificateError,
        certifiable_volunteers,
        check_period,
        handler_name,
        issue_batch,
        own_service_refusal,
    )

    try:
        org = organization_by_code(org_code)
    except NotFound:
        raise click.UsageError(f"No organization {org_code!r}.") from None
    actor = find_user(handler)
    if actor is None:
        raise click.UsageError(f"No account {handler!r}.")
    if not can(actor, "certificates.issue", org):
        raise click.UsageError(f"{handler} is not an org admin of {org.name} (or it is not approved).")
    try:
        handler_name(actor)
        start, end = check_period(start.date(), end.date())
    except CertificateError as error:
        raise click.UsageError(error.message) from None
    left_out = 0
    if numbers:
        volunteers = []
        for number in numbers:
            volunteer = volunteer_by_number(number)
            if volunteer is None:
                raise click.UsageError(f"No volunteer {number}.")
            volunteers.append(volunteer)
    else:  # everyone, except the issuer's own service: another org admin certifies that
        everyone = [volunteer for volunteer, _minutes in certifiable_volunteers(org, start, end)]
        volunteers = [volunteer for volunteer in everyone if own_service_refusal(actor, volunteer) is None]
        left_out = len(everyone) - len(volunteers)
    with click.progressbar(length=len(volunteers), label=f"Issuing for {org.name}", file=sys.stderr) as bar:
        try:
            result = issue_batch(actor, org, volunteers, start, end, render=render, progress=bar.update,
                                 issued=lambda _certificate: db.session.commit())
        except (CertificateError, IntegrityRefusal) as error:  # refused before anything was issued
            db.session.rollback()
            raise click.UsageError(f"{error.message} ({error.code})") from None
    db.session.commit()
    click.echo(f"Issued {len(result.issued)} certificates for {start} to {end}.")
    skipped = Counter(code for _volunteer, code in result.skipped)
    for code, count in sorted(skipped.items()):
        click.echo(f"Skipped {count}: {code}")
    if left_out:
        click.echo(f"Left out {left_out}: conflict_of_interest (your own service: another org admin issues it)")


# --- offline verification ------------------------------------------------------------------------------------------

#: the most read from a file or URL: a certificate PDF's limit, with room to spare (jwks.json and root-ca.pem are
#: a few kilobytes)
MAX_READ_BYTES = 8 * 1024 * 1024
#: what reading a file or URL can raise (http.client's errors are not OSErrors)
READ_ERRORS = (OSError, ValueError, http.client.HTTPException)


def _read(source: str, limit: int = MAX_READ_BYTES) -> bytes:
    """The bytes of a file or URL, at most ``limit`` + 1 (so that a caller can tell "too large")."""
    if source.startswith(("https://", "http://")):
        with urllib.request.urlopen(source, timeout=20) as response:  # noqa: S310 (a URL the user gave)
            return response.read(limit + 1)
    with open(source, "rb") as file:
        return file.read(limit + 1)


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token_keys_from_jwks(document: dict) -> dict[bytes, ec.EllipticCurvePublicKey]:
    """The certificate-token keys (current and retired) of a published JWK set: kid bytes → public key. Raises
    ValueError for a document that is not a JWK set, or a certificate-token key that is not a P-256 point."""
    if not isinstance(document, dict) or not isinstance(document.get("keys", []), list):
        raise ValueError("not a JWK set")
    keys = {}
    for jwk in document.get("keys", []):
        if not isinstance(jwk, dict):
            raise ValueError("a key of the set is not a JSON object")
        if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256" or jwk.get("purpose") != "certificate-token":
            continue
        if not all(isinstance(jwk.get(name), str) for name in ("x", "y", "kid")):
            raise ValueError(f"the key {jwk.get('kid')!r:.40} lacks its x, y or kid")
        numbers = ec.EllipticCurvePublicNumbers(int.from_bytes(_b64url(jwk["x"]), "big"),
                                                int.from_bytes(_b64url(jwk["y"]), "big"), ec.SECP256R1())
        keys[_b64url(jwk["kid"])] = numbers.public_key()
    return keys


def _well_known(url: str, name: str) -> str | None:
    if not url.lower().startswith(("http://", "https://")) or "/v/" not in url.lower():
        return None
    base = url[:url.lower().rindex("/v/")]
    return base.lower() + "/.well-known/volunteer-registry/" + name


@certificates_cli.command("verify")
@click.argument("source")
@click.option("--keys", "keys_source", help="The published jwks.json (a file or URL). Default: the URL's host.")
@click.option("--root", "root_source", help="For a PDF: the published root-ca.pem (a file or URL).")
def verify_command(source, keys_source, root_source):
    """Check a certificate with the published keys only (no database): SOURCE is its QR's URL, the token's base32
    text, or the PDF. Exit 0 when the signature is authentic. Revocation cannot be seen offline: open the URL."""
    from ..verification.pdfcheck import MAX_PDF_BYTES, PdfCheckError, check_signed_pdf, load_roots

    path = Path(source)
    try:
        is_pdf = path.suffix.lower() == ".pdf" or (path.is_file() and path.read_bytes()[:5] == b"%PDF-")
    except OSError:  # a token's text is longer than a file name may be
        is_pdf = False
    keys_source = keys_source or _well_known(source, "jwks.json")
    if not keys_source:
        raise click.UsageError("Give --keys: the jwks.json published at /.well-known/volunteer-registry/.")
    try:
        keys = token_keys_from_jwks(json.loads(_read(keys_source)))
    except READ_ERRORS as error:  # json's errors and the key checks' are ValueErrors
        raise click.UsageError(f"Cannot read the keys from {keys_source}: {error}") from None
    if is_pdf:
        root_source = root_source or (keys_source[:-len("jwks.json")] + "root-ca.pem"
                                      if keys_source.endswith("jwks.json") and "://" in keys_source else None)
        if not root_source:
            raise click.UsageError("Give --root: the root-ca.pem published at /.well-known/volunteer-registry/.")
        try:
            roots = load_roots(_read(root_source))
            parsed = [root.native for root in roots]  # now: a broken root file is the reader's, not the PDF's
            if not parsed:
                raise ValueError("no certificate in it")
        except READ_ERRORS as error:
            raise click.UsageError(f"Cannot read the root certificate from {root_source}: {error}") from None
        try:
            with path.open("rb") as file:
                data = file.read(MAX_PDF_BYTES + 1)  # more is refused as too_large
        except OSError as error:
            raise click.UsageError(str(error)) from None
        try:
            signed = check_signed_pdf(data, roots)
        except PdfCheckError as error:
            click.echo(f"NOT AUTHENTIC ({error.code}): {error.detail}")
            raise SystemExit(1) from None
        click.echo(f"PDF signature: intact, covers the whole file, signed by {signed.signer}")
        token = signed.token
    else:
        try:
            token = token_from_text(source)
        except TokenError as error:
            click.echo(f"NOT AUTHENTIC ({error.code}): {error.detail}")
            raise SystemExit(1) from None
    try:
        kid, claims = open_token(token, keys)
    except TokenError as error:
        click.echo(f"NOT AUTHENTIC ({error.code}): {error.detail}")
        raise SystemExit(1) from None
    click.echo(f"AUTHENTIC: signed by key {base64.urlsafe_b64encode(kid).rstrip(b'=').decode()}")
    for label, value in (("Certificate", claims.number), ("Code", claims.code), ("Issuer", claims.issuer),
                         ("Volunteer", claims.masked_name), ("Hours", hours_text(claims.minutes)),
                         ("Period", f"{claims.period_start} to {claims.period_end}"),
                         ("Issued", claims.issued_on.isoformat())):
        click.echo(f"  {label + ':':<12} {value}")
    click.echo("Revocation is not visible offline: open the certificate's URL to see whether it was revoked.")
