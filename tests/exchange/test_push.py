"""The push outbox: the feed delivered in order, a page at a time, to a receiver served by werkzeug on loopback
(this registry's own ingest, trusting itself as a peer); the cursor moves only to what the receiver acknowledged;
a failing receiver means back-off and retries; an acknowledgement lost (the sender killed after the receiver
stored the page) means the page is sent again and stored once."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from tests.conftest import build_app
from tests.conftest import serve as serve_app
from tests.exchange.test_feed import lived  # noqa: F401  (the fixture)
from tests.ledger.test_ledger import serve, site  # noqa: F401  (the fixture)
from volunteer_registry.exchange.feed import create_exchange_token, last_seq, sequence_events
from volunteer_registry.exchange.models import ExchangeEvent, PushState, ReceivedEvent
from volunteer_registry.exchange.push import backoff, push_once
from volunteer_registry.exchange.services import PublishedKeys, add_peer
from volunteer_registry.extensions import db
from volunteer_registry.keys.services import checkpoint_verifier_keys
from volunteer_registry.ledger.log import log_origin
from volunteer_registry.models import utcnow


@pytest.fixture
def app(tmp_path):
    """No SERVER_NAME: the receiver is asked at 127.0.0.1."""
    yield from serve_app(build_app(tmp_path, SERVER_NAME=None))


class Receiver:
    """The app's ingest on 127.0.0.1, behind a switch: ``failures`` requests answer 503 first; with ``lose_ack``
    the page reaches the ingest but the answer is lost (502), as when the sender is killed mid-push."""

    def __init__(self, app):
        self.failures = 0
        self.lose_ack = 0
        self.calls = 0
        self._app = app
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _wsgi(self, environ, start_response):
        self.calls += 1
        if self.failures:
            self.failures -= 1
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"down"]
        if self.lose_ack:
            self.lose_ack -= 1
            response = self._app(environ, lambda *_args, **_kwargs: None)
            b"".join(response)
            if hasattr(response, "close"):
                response.close()
            start_response("502 Bad Gateway", [("Content-Type", "text/plain")])
            return [b"lost"]
        response = self._app(environ, start_response)
        try:
            return [b"".join(response)]
        finally:
            if hasattr(response, "close"):
                response.close()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=15)


@pytest.fixture
def receiver(app):
    server = Receiver(app)
    keys = PublishedKeys(origin=log_origin(), verifier_keys=checkpoint_verifier_keys())
    peer = add_peer(server.url, name="城东区", keys=keys)
    token, _row = create_exchange_token("county push", "push", "all", peer)
    db.session.commit()
    app.config.update(EXCHANGE_PUSH_URL=server.url, EXCHANGE_PUSH_TOKEN=token)
    try:
        yield server, peer
    finally:
        server.stop()


def held(peer_id) -> list[int]:
    db.session.expire_all()
    return sorted(db.session.scalars(sa.select(ReceivedEvent.seq).where(ReceivedEvent.peer_id == peer_id)))


def state() -> PushState:
    db.session.expire_all()
    return db.session.scalar(sa.select(PushState))


def test_the_feed_is_delivered_in_pages_and_the_cursor_follows_the_acknowledgements(
        app, lived, receiver, monkeypatch):  # noqa: F811
    server, peer = receiver
    app.config["EXCHANGE_PUSH_PAGE"] = 4
    result = push_once()
    total = last_seq()
    assert result.error is None and result.cursor == total and result.delivered == total
    assert held(peer.id) == list(range(1, total + 1))
    assert server.calls == -(-total // 4)
    assert state().cursor == total and state().attempts == 0
    # nothing new: nothing sent
    assert push_once().delivered == 0 and server.calls == -(-total // 4)
    # a new event goes with the next round
    db.session.add(ExchangeEvent(category="organization", action="upsert", subject_id=1, region_code="630102"))
    db.session.commit()
    assert push_once().delivered == 1 and held(peer.id) == list(range(1, total + 2))


def test_a_failing_receiver_means_back_off_then_retries(app, lived, receiver):  # noqa: F811
    server, peer = receiver
    server.failures = 2
    now = utcnow()
    first = push_once(now=now)
    assert first.error == "HTTP 503" and first.cursor == 0
    assert (state().attempts, state().last_error) == (1, "HTTP 503")
    assert state().next_attempt_at == now + backoff(1) == now + dt.timedelta(seconds=10)
    # before the back-off is over nothing is tried
    assert push_once(now=now + dt.timedelta(seconds=5)).waiting and server.calls == 1
    second = push_once(now=now + dt.timedelta(seconds=11))
    assert second.error == "HTTP 503" and state().attempts == 2
    assert state().next_attempt_at == now + dt.timedelta(seconds=11) + dt.timedelta(seconds=20)
    third = push_once(now=now + dt.timedelta(seconds=40))
    assert third.error is None and third.cursor == last_seq()
    assert (state().attempts, state().next_attempt_at, state().last_error) == (0, None, None)
    assert held(peer.id) == list(range(1, last_seq() + 1))
    assert backoff(20) == dt.timedelta(hours=1)


def test_a_lost_acknowledgement_sends_the_page_again_and_it_is_stored_once(app, lived, receiver, monkeypatch):  # noqa: F811
    server, peer = receiver
    app.config["EXCHANGE_PUSH_PAGE"] = 5
    server.lose_ack = 1
    lost = push_once()
    assert lost.error == "HTTP 502" and lost.cursor == 0
    assert held(peer.id) == [1, 2, 3, 4, 5]  # the receiver kept the page; the sender does not know
    done = push_once(force=True)
    assert done.error is None and done.cursor == last_seq()
    assert held(peer.id) == list(range(1, last_seq() + 1))


def test_a_sender_that_lost_its_cursor_duplicates_nothing(app, lived, receiver):  # noqa: F811
    """As a sender restored from a backup taken before its last pushes: everything is sent again, nothing is
    stored twice."""
    _server, peer = receiver
    push_once()
    before = held(peer.id)
    row = state()
    row.cursor = 0
    db.session.commit()
    result = push_once()
    assert result.error is None and result.cursor == last_seq() and held(peer.id) == before


def test_a_revoked_push_token_is_a_failure_with_its_code(app, lived, receiver):  # noqa: F811
    from volunteer_registry.exchange.feed import revoke_exchange_token
    from volunteer_registry.exchange.models import ExchangeToken

    revoke_exchange_token(db.session.scalar(sa.select(ExchangeToken.id)))
    db.session.commit()
    sequence_events()
    db.session.commit()
    result = push_once()
    assert result.error == "HTTP 401 token_invalid" and result.cursor == 0


def test_a_pull_reads_the_peers_feed_page_by_page_once(app, lived, receiver):  # noqa: F811
    from volunteer_registry.exchange.ingest import pull, pull_token

    server, peer = receiver
    token, _row = create_exchange_token("province", "read", "all")
    db.session.commit()
    result = pull(server.url, token, limit=4)
    assert result.received == last_seq() and result.cursor == last_seq()
    assert held(peer.id) == list(range(1, last_seq() + 1))
    assert pull_token(db.session.get(type(peer), peer.id)) == token  # kept, encrypted
    assert token.encode() not in db.session.get(type(peer), peer.id).pull_token_encrypted
    assert pull(server.url).received == 0  # with the kept token; nothing new
