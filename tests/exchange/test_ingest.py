"""The superior platform's ingest: a trusted peer's feed page, verified against the peer's pinned keys and the
checkpoints seen of it, stored once per (peer, seq) however often it comes, its service folded into the regional
view; a page signed by another key, an inconsistent log, another registry's page or a gap is refused with its code.

Here the registry ingests its own feed as a peer's (its own keys pinned as a peer's): one database serves both
sides, so the test runs on SQLite and PostgreSQL alike; the two-instance test does it across two servers."""
from __future__ import annotations

import copy

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.exchange.test_feed import lived  # noqa: F401  (the fixture)
from tests.ledger.test_ledger import serve, site  # noqa: F401  (the fixture)
from volunteer_registry.exchange.feed import create_exchange_token, feed_page, sequence_events
from volunteer_registry.exchange.models import Peer, ReceivedEvent, RegionalService
from volunteer_registry.exchange.services import PublishedKeys, add_peer
from volunteer_registry.extensions import db
from volunteer_registry.keys.services import checkpoint_verifier_keys
from volunteer_registry.ledger.checkpoint import checkpoint_body, sign_note
from volunteer_registry.ledger.log import extend_log, latest_checkpoint, log_origin


@pytest.fixture
def peer(app):
    """This registry trusted as a peer of itself, with a push token bound to it."""
    keys = PublishedKeys(origin=log_origin(), verifier_keys=checkpoint_verifier_keys())
    peer = add_peer("http://county.test", name="城东区", keys=keys)
    token, _row = create_exchange_token("county push", "push", "all", peer)
    db.session.commit()
    return peer, token


def page_of(since=0, limit=1000) -> dict:
    sequence_events()
    db.session.commit()
    page = feed_page(since, limit)
    db.session.commit()
    return page


def push(client, token, page):
    return client.post("/api/v1/exchange/ingest", json=page, headers={"Authorization": f"Bearer {token}"})


def held(peer_id) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(ReceivedEvent)
                             .where(ReceivedEvent.peer_id == peer_id))


def test_a_page_is_stored_once_and_folded_into_the_regional_view(app, client, lived, peer):  # noqa: F811
    activity, zhuoma, entries, _course, _certificate = lived
    peer, token = peer
    extend_log()
    db.session.commit()
    page = page_of()
    answer = push(client, token, page)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"received": len(page["events"]), "cursor": page["next"]}
    assert held(peer.id) == len(page["events"])
    # delivered again (an acknowledgement lost): stored once
    again = push(client, token, page)
    assert again.get_json() == {"received": 0, "cursor": page["next"]}
    assert held(peer.id) == len(page["events"])
    services = {row.entry_key: (row.status, row.minutes, row.volunteer_key, row.region_code)
                for row in db.session.scalars(sa.select(RegionalService).where(RegionalService.peer_id == peer.id))}
    region = activity.organization.region_code
    assert services == {str(entries[0].id): ("approved", 100, zhuoma.volunteer_number, region),
                        str(entries[1].id): ("rejected", 30, zhuoma.volunteer_number, region)}
    # the anonymise event erased the volunteer's details here too; the withdrawn course's as well
    volunteer_rows = db.session.scalars(sa.select(ReceivedEvent).where(
        ReceivedEvent.peer_id == peer.id, ReceivedEvent.category == "volunteer",
        ReceivedEvent.key == zhuoma.volunteer_number)).all()
    assert [row.action for row in volunteer_rows] == ["upsert", "anonymise"]
    assert all(row.record is None for row in volunteer_rows)
    assert all(row.record is None for row in db.session.scalars(sa.select(ReceivedEvent).where(
        ReceivedEvent.peer_id == peer.id, ReceivedEvent.category == "training")))


def test_pages_in_order_and_one_repeated_across_them(app, client, lived, peer):  # noqa: F811
    peer, token = peer
    first = page_of(0, 5)
    assert push(client, token, first).get_json()["cursor"] == first["next"] == 5
    # a page overlapping what is held (a sender that lost its cursor) stores only what is new
    second = page_of(3, 5)
    assert push(client, token, second).get_json() == {"received": 3, "cursor": 8}
    assert sorted(db.session.scalars(sa.select(ReceivedEvent.seq).where(ReceivedEvent.peer_id == peer.id))) == \
        list(range(1, 9))


def test_a_page_starting_past_what_is_held_is_refused(app, client, lived, peer):  # noqa: F811
    _peer, token = peer
    answer = push(client, token, page_of(5, 5))
    assert answer.status_code == 409 and answer.get_json()["error"]["code"] == "feed_gap"


def test_a_page_signed_by_another_key_is_refused(app, client, lived, peer):  # noqa: F811
    peer, token = peer
    page = page_of()
    checkpoint = latest_checkpoint()
    forged = sign_note(checkpoint_body(log_origin(), checkpoint.tree_size, checkpoint.root_hash), log_origin(),
                       Ed25519PrivateKey.generate())
    answer = push(client, token, {**page, "checkpoint": forged})
    assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "checkpoint_invalid"
    assert held(peer.id) == 0


def test_a_checkpoint_inconsistent_with_the_one_seen_is_refused(app, client, lived, peer):  # noqa: F811
    peer, token = peer
    page = page_of()
    checkpoint = latest_checkpoint()
    peer.seen_size, peer.seen_root = checkpoint.tree_size, bytes(32)  # another log of the same size was seen
    db.session.commit()
    answer = push(client, token, page)
    assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "checkpoint_inconsistent"
    assert held(peer.id) == 0


def test_another_registrys_page_or_a_malformed_one_is_refused(app, client, lived, peer):  # noqa: F811
    _peer, token = peer
    page = page_of()
    answer = push(client, token, {**page, "origin": "elsewhere.example/ledger"})
    assert answer.get_json()["error"]["code"] == "untrusted_issuer"
    broken = copy.deepcopy(page)
    broken["events"][1]["seq"] = broken["events"][0]["seq"]
    assert push(client, token, broken).get_json()["error"]["code"] == "malformed"
    assert push(client, token, {**page, "format": "other/1"}).get_json()["error"]["code"] == "format_unknown"


def test_only_a_push_token_of_a_trusted_peer_may_deliver(app, client, lived, peer):  # noqa: F811
    peer_row, token = peer
    page = page_of()
    read_token, _row = create_exchange_token("province", "read", "all")
    db.session.commit()
    assert push(client, read_token, page).status_code == 401
    db.session.get(Peer, peer_row.id).status = "removed"
    db.session.commit()
    answer = push(client, token, page)
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "token_invalid"


def test_the_regional_view_and_the_dashboard_count_what_came_from_below(app, client, lived, peer, make):  # noqa: F811
    from tests.conftest import login
    from volunteer_registry.exchange.queries import regional_totals

    peer, token = peer
    assert push(client, token, page_of()).status_code == 200
    totals = regional_totals()
    assert (totals.volunteers, totals.entries, totals.approved_minutes) == (1, 2, 100)
    platform, stranger = make.admin(), make.user()
    db.session.commit()
    login(client, platform)
    page = client.get("/platform/regional")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "城东区" in text and "http://county.test" in text
    dashboard = client.get("/platform/dashboard").get_data(as_text=True)
    assert 'id="from-below"' in dashboard and "/platform/regional" in dashboard
    # nothing there writes: the view has no form, and the rows change only by a page of the feed
    assert "<form" not in text.split("<main", 1)[-1].split("</main>", 1)[0]
    login(client, stranger)
    assert client.get("/platform/regional").status_code == 403
