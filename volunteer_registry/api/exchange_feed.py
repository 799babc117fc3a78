"""The upward exchange's API (docs/EXCHANGE.md): the incremental feed a superior platform reads with a read-scoped
exchange token, and the ingest a trusted peer pushes its feed to with a push-scoped one. Exchange tokens are not
account tokens: ``flask exchange token create`` makes them."""
from __future__ import annotations

import hashlib
from functools import wraps

from flask import g, jsonify, request

from ..exchange.feed import PAGE_DEFAULT, PAGE_MAX, FeedError, feed_page, sequence_events, token_for
from ..exchange.ingest import ingest_page
from ..exchange.models import Peer
from ..exchange.schema import ACTIONS, CATEGORIES, FEED_FORMAT
from ..extensions import db, limiter
from ..schema import Boolean, Choice, Integer, ListOf, Raw, Schema, Text
from . import bp
from .auth import ApiAuthError
from .openapi import documented, error, ok, query_parameter

#: a superior platform reads a page at a time; a burst of catching up is fine, a flood is not
FEED_RATE_LIMIT = "120 per minute"

FEED_EVENT_OUT = Schema("ExchangeEvent", {
    "seq": Integer(minimum=1, required=True, description="The event's place in the feed: 1, 2, … without gaps."),
    "category": Choice(CATEGORIES, required=True),
    "action": Choice(ACTIONS, required=True),
    "key": Text(plain=False, required=True, description="The record's key: a volunteer's number, a ledger entry's "
                "or a training/award/evaluation record's id, an organization's or a certificate's code."),
    "region": Text(plain=False, required=True, description="The region code the event belongs to."),
    "record": Raw({"type": ["object", "null"], "description": "The record as it is now (docs/EXCHANGE.md); null "
                   "for a delete or an anonymise."}, required=True),
})
FEED_PAGE_OUT = Schema("ExchangeFeedPage", {
    "format": Text(plain=False, required=True, description=FEED_FORMAT),
    "origin": Text(plain=False, required=True, description="The issuing registry's log origin."),
    "since": Integer(minimum=0, required=True),
    "next": Integer(minimum=0, required=True, description="The cursor to ask from next."),
    "more": Boolean(required=True),
    "checkpoint": Text(plain=False, nullable=True, description="The latest signed checkpoint of the issuer's log."),
    "events": ListOf(FEED_EVENT_OUT, required=True),
})
INGEST_OUT = Schema("ExchangeIngestResult", {
    "received": Integer(minimum=0, required=True, description="Events stored now (repeats are not counted)."),
    "cursor": Integer(minimum=0, required=True, description="Every event of the sender's feed up to here is held."),
})
EXCHANGE_TOKEN = error("No exchange token, or an unknown, revoked or wrongly scoped one (token_required, "
                       "token_invalid).")


def _rate_key() -> str:
    header = request.headers.get("Authorization", "")
    return hashlib.sha256(header.encode()).hexdigest() if header else (request.remote_addr or "")


def exchange_token_required(scope: str):
    """The request's bearer exchange token of ``scope``, as ``g.exchange_token``. Raises token_required,
    token_invalid (401)."""
    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            if not header:
                raise ApiAuthError("token_required")
            scheme, _sep, plaintext = header.partition(" ")
            token = token_for(plaintext.strip(), scope) if scheme.lower() == "bearer" else None
            if token is None:
                raise ApiAuthError("token_invalid")
            g.exchange_token = token
            return view(*args, **kwargs)

        wrapped.api_auth = "required"
        return wrapped
    return decorate


def _cursor() -> int:
    value = request.args.get("since", "0")
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise FeedError("cursor_invalid", field="since")
    return int(value)


def _limit() -> int:
    value = request.args.get("limit", str(PAGE_DEFAULT))
    if not value.isascii() or not value.isdigit() or len(value) > 6:
        raise FeedError("cursor_invalid", field="limit")
    return max(1, min(int(value), PAGE_MAX))


@bp.route("/exchange/records", methods=["GET"])
@documented("The exchange feed: the records of the token's regions written or changed after `since`, in order "
            "(a superior platform's exchange token of scope read)",
            query=(query_parameter("since", {"type": "integer", "minimum": 0, "default": 0},
                                   "The cursor: the `next` of the previous page (0 from the start)."),
                   query_parameter("limit", {"type": "integer", "minimum": 1, "maximum": PAGE_MAX,
                                             "default": PAGE_DEFAULT}, "Events per page.")),
            responses={200: ok(FEED_PAGE_OUT), 401: EXCHANGE_TOKEN,
                       422: error("`since` or `limit` is not a whole number (cursor_invalid).")})
@limiter.limit(FEED_RATE_LIMIT, key_func=_rate_key)
@exchange_token_required("read")
def exchange_records():
    since, limit = _cursor(), _limit()
    sequence_events()
    db.session.commit()  # the numbers stand before anyone reads them; the sequencer's lock is released
    page = feed_page(since, limit, g.exchange_token.regions)
    db.session.commit()  # the token's last use, and the log's first checkpoint if the page made it
    return jsonify(page)


@bp.route("/exchange/ingest", methods=["POST"])
@documented("Deliver a page of the sender's exchange feed (a trusted peer's exchange token of scope push); a "
            "page or an event delivered again is stored once",
            description="The body is one page of the sender's feed exactly as its `GET /exchange/records` answers "
                        "(ExchangeFeedPage); an exchange token is not an account's, so the body is not declared as "
                        "an account's request is.",
            responses={200: ok(INGEST_OUT), 401: EXCHANGE_TOKEN,
                       409: error("The page starts after the last event held of the sender (feed_gap)."),
                       422: error("The page is refused: malformed, format_unknown, untrusted_issuer, "
                                  "checkpoint_invalid, checkpoint_inconsistent.")})
@limiter.limit(FEED_RATE_LIMIT, key_func=_rate_key)
@exchange_token_required("push")
def exchange_ingest():
    peer = db.session.get(Peer, g.exchange_token.peer_id)
    page = request.get_json(silent=True)
    result = ingest_page(peer, page)
    db.session.commit()
    return jsonify(result.to_json())
