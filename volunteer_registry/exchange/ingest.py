"""The superior platform's side of the feed (docs/EXCHANGE.md): a page of a trusted peer's feed, pushed to
``POST /api/v1/exchange/ingest`` or pulled with ``flask exchange pull``, verified (its checkpoint with the peer's
pinned keys, consistent with what was seen of its log) and kept: each event once per (peer, seq) in ReceivedEvent,
its service folded into RegionalService (status and counted minutes, as ledger/fold.py folds them), deletions and
anonymisations applied. Nothing here is editable by anyone: only a page changes it."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import requests
from sqlalchemy import select, update

from ..extensions import db
from ..ledger.fold import DECIDED
from ..volunteers.vault import decrypt_id_number, encrypt_id_number
from .feed import FeedError
from .models import Peer, ReceivedEvent, RegionalService
from .schema import ACTIONS, CATEGORIES, FEED_FORMAT
from .services import PEER_TIMEOUT, ExchangeError, check_consistency, open_peer_checkpoint, peer_by_url

PULL_TOKEN_CONTEXT = b"peer pull token"
#: pages a pull reads at most in one run
PULL_PAGES = 1000


@dataclass
class IngestResult:
    received: int  #: events stored now (repeats are not counted)
    cursor: int  #: every event of the peer's feed up to here is held here

    def to_json(self) -> dict:
        return {"received": self.received, "cursor": self.cursor}


def _page_events(page) -> list[dict]:
    if not isinstance(page, dict) or not isinstance(page.get("events"), list):
        raise ExchangeError("malformed")
    if page.get("format") != FEED_FORMAT:
        raise ExchangeError("format_unknown")
    for name in ("since", "next"):
        if not isinstance(page.get(name), int) or isinstance(page.get(name), bool) or page[name] < 0:
            raise ExchangeError("malformed")
    events = page["events"]
    previous = page["since"]
    for item in events:
        if not isinstance(item, dict) or not isinstance(item.get("seq"), int) or item["seq"] <= previous \
                or item.get("category") not in CATEGORIES or item.get("action") not in ACTIONS \
                or not isinstance(item.get("key"), str) or not isinstance(item.get("region"), str) \
                or not (item.get("record") is None or isinstance(item.get("record"), dict)):
            raise ExchangeError("malformed")
        previous = item["seq"]
    if previous > page["next"]:
        raise ExchangeError("malformed")
    return events


def ingest_page(peer: Peer, page) -> IngestResult:
    """Keep a page of ``peer``'s feed. The page must be the peer's (its origin), its checkpoint signed by the
    peer's pinned keys and consistent with the largest seen before, and it must not start past what is held of the
    peer (``since`` at most the peer's cursor here). An event already held (the same seq) is skipped, so a page
    delivered twice is stored once. Flushes; the caller commits. Raises malformed, format_unknown,
    untrusted_issuer, checkpoint_invalid, checkpoint_inconsistent, peer_unreachable, feed_gap."""
    events = _page_events(page)
    # one page of a peer at a time (a push and a pull crossing): the second waits, then finds the events held
    db.session.execute(select(Peer.id).where(Peer.id == peer.id).with_for_update())
    db.session.refresh(peer)
    if page.get("origin") != peer.origin:
        raise ExchangeError("untrusted_issuer")
    checkpoint = open_peer_checkpoint(peer, page.get("checkpoint") or "")
    check_consistency(peer, checkpoint)
    if page["since"] > peer.pull_cursor:
        raise FeedError("feed_gap")
    held = set(db.session.scalars(select(ReceivedEvent.seq).where(
        ReceivedEvent.peer_id == peer.id, ReceivedEvent.seq.in_([item["seq"] for item in events])))) \
        if events else set()
    received = 0
    for item in events:
        if item["seq"] in held or item["seq"] <= peer.pull_cursor:
            continue
        _apply(peer, item)
        db.session.add(ReceivedEvent(peer_id=peer.id, seq=item["seq"], category=item["category"],
                                     action=item["action"], key=item["key"][:64], region_code=item["region"][:6],
                                     record=item["record"]))
        db.session.flush()  # the next event of the page may decide about this one
        received += 1
    peer.pull_cursor = max(peer.pull_cursor, page["next"])
    db.session.flush()
    return IngestResult(received, peer.pull_cursor)


def _date(text) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _minutes(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _apply(peer: Peer, item: dict) -> None:
    """What an event changes beside being kept: the regional service (in feed order, the fold of ledger/fold.py
    one fact at a time), or the erasure of earlier records."""
    record, key = item["record"] or {}, item["key"][:64]
    if item["category"] == "service" and item["action"] == "upsert":
        row = db.session.get(RegionalService, (peer.id, key))
        if row is None:
            db.session.add(RegionalService(
                peer_id=peer.id, entry_key=key, volunteer_key=str(record.get("volunteer") or "")[:64],
                organization_code=str(record.get("organization") or "")[:16] or None,
                region_code=item["region"][:6], service_date=_date(record.get("service_date")),
                status="pending", minutes=_minutes(record.get("minutes"))))
    elif item["category"] == "service" and item["action"] == "decision":
        _decide(peer, record)
    elif item["action"] in ("delete", "anonymise"):
        # the person's (or the withdrawn record's) details are no longer kept here either
        db.session.execute(update(ReceivedEvent).where(
            ReceivedEvent.peer_id == peer.id, ReceivedEvent.category == item["category"],
            ReceivedEvent.key == key).values(record=None))


def _decide(peer: Peer, record: dict) -> None:
    kind, refers_to = record.get("kind"), str(record.get("refers_to") or "")[:64]
    service = db.session.get(RegionalService, (peer.id, refers_to))
    if service is not None:
        if kind in DECIDED:
            service.status = DECIDED[kind]
        return
    # a decision about a correction: an approval makes the correction's minutes count
    correction = db.session.scalar(select(ReceivedEvent).where(
        ReceivedEvent.peer_id == peer.id, ReceivedEvent.category == "service", ReceivedEvent.action == "decision",
        ReceivedEvent.key == refers_to))
    if correction is None or not correction.record or correction.record.get("kind") != "correction":
        return
    corrected = db.session.get(RegionalService, (peer.id, str(correction.record.get("refers_to") or "")[:64]))
    if corrected is not None and kind == "approval":
        corrected.minutes = _minutes(correction.record.get("minutes"))


# --- pulling ---------------------------------------------------------------------------------------------------

def set_pull_token(peer: Peer, token: str) -> None:
    """Keep the peer's read token for pulling, encrypted with the ID numbers' key."""
    peer.pull_token_encrypted = encrypt_id_number(token, context=PULL_TOKEN_CONTEXT)


def pull_token(peer: Peer) -> str | None:
    if peer.pull_token_encrypted is None:
        return None
    return decrypt_id_number(peer.pull_token_encrypted, context=PULL_TOKEN_CONTEXT)


def pull(url: str, token: str | None = None, *, limit: int = 500, pages: int = PULL_PAGES) -> IngestResult:
    """Read the trusted peer's feed from where it stands here, page after page, each kept and committed before the
    next is asked for (a pull cut short resumes there). ``token`` is kept (encrypted) for the next pulls. Raises
    peer_unknown, peer_unreachable and the codes of :func:`ingest_page`."""
    peer = peer_by_url(url)
    if peer is None:
        raise ExchangeError("peer_unknown", field="url")
    if token:
        set_pull_token(peer, token)
        db.session.commit()
    secret = pull_token(peer)
    total = 0
    for _page in range(pages):
        try:
            response = requests.get(peer.url + "/api/v1/exchange/records",
                                    params={"since": peer.pull_cursor, "limit": limit},
                                    headers={"Authorization": f"Bearer {secret or ''}"}, timeout=PEER_TIMEOUT,
                                    allow_redirects=False)
            response.raise_for_status()
            page = response.json()
        except (requests.RequestException, ValueError):
            raise ExchangeError("peer_unreachable") from None
        result = ingest_page(peer, page)
        db.session.commit()
        total += result.received
        if not page.get("more"):
            break
    return IngestResult(total, peer.pull_cursor)
