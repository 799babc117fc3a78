"""Transfers in one process: a peer's bundle (the same log, re-signed by a peer's own key under the peer's origin)
imported into a volunteer's record — kept with its origin, counted once, refused with its code when it is not the
same person, not from a trusted peer, or not consistent with what was seen of the peer's log; the transfer codes'
life; and the volunteer's pages. Two real registries on loopback: test_two_instances.py."""
from __future__ import annotations

import copy
import datetime as dt
import os

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.conftest import login
from tests.ledger.test_ledger import serve, site  # noqa: F401  (the fixture)
from volunteer_registry.audit.models import AuditEvent
from volunteer_registry.certificates.services import CertificateError, issue_certificate
from volunteer_registry.exchange import services
from volunteer_registry.exchange.bundle import build_bundle
from volunteer_registry.exchange.models import Peer, Transfer, TransferCode
from volunteer_registry.exchange.schema import BUNDLE_FORMAT
from volunteer_registry.exchange.services import (
    ExchangeError,
    PublishedKeys,
    add_peer,
    create_transfer_code,
    import_bundle,
    redeem_transfer_code,
)
from volunteer_registry.exchange.verify import bundle_note_body
from volunteer_registry.extensions import db
from volunteer_registry.keys.ids import verifier_key
from volunteer_registry.keys.services import checkpoint_verifier_keys
from volunteer_registry.ledger.checkpoint import checkpoint_body, open_note, sign_note
from volunteer_registry.ledger.log import extend_log, stored_tree
from volunteer_registry.ledger.models import LedgerCheckpoint, TransferredService
from volunteer_registry.ledger.services import decide_entries, hours_of, service_entry_of_session
from volunteer_registry.models import utcnow

PEER_ORIGIN = "peer.registry.example/ledger"
PEER_URL = "https://peer.registry.example"
#: a certificate's period around today
YEAR = (dt.date.today() - dt.timedelta(days=365), dt.date.today() + dt.timedelta(days=1))


def _key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


def _verifier(key: Ed25519PrivateKey, origin: str = PEER_ORIGIN) -> str:
    return verifier_key(origin, key.public_key().public_bytes_raw())


def as_peers(bundle: dict, key: Ed25519PrivateKey, origin: str = PEER_ORIGIN, *, root: bytes | None = None) -> dict:
    """The bundle as a peer whose log holds the same leaves would issue it: its checkpoint and signature by the
    peer's key under the peer's origin (``root`` replaces the checkpoint's root: a forked log)."""
    record = copy.deepcopy(bundle["record"])
    ours = open_note(record["checkpoint"], checkpoint_verifier_keys())
    record["checkpoint"] = sign_note(checkpoint_body(origin, ours.size, root or ours.root), origin, key)
    record["issuer"] = {"origin": origin, "url": PEER_URL}
    return {"format": BUNDLE_FORMAT, "record": record, "signature": sign_note(bundle_note_body(origin, record),
                                                                               origin, key)}


@pytest.fixture
def exchange(app, site):  # noqa: F811
    """卓玛 served 100 minutes (approved) and 30 (waiting); the network's exchange key is set; the peer is trusted
    with its key pinned."""
    app.config["EXCHANGE_ID_KEY"] = "the province's exchange key"
    activity, coordinator, admin, (zhuoma, tashi) = site
    first = serve(activity, coordinator, zhuoma, 0, 100).session
    serve(activity, coordinator, zhuoma, 110, 140)
    decide_entries(admin, activity.organization, [service_entry_of_session(first.id).id], "approve")
    add_peer(PEER_URL, name="邻县志愿服务平台", keys=PublishedKeys(PEER_ORIGIN, [_verifier(_key(7))]))
    db.session.commit()
    return activity, coordinator, admin, zhuoma, tashi


def _transferred(volunteer) -> list[tuple]:
    return [(row.origin, row.status, row.minutes) for row in db.session.scalars(
        sa.select(TransferredService).where(TransferredService.volunteer_id == volunteer.id)
        .order_by(TransferredService.source_entry_id))]


def test_an_imported_bundle_keeps_its_origin_and_counts_once(exchange):
    _activity, _coordinator, _admin, zhuoma, _tashi = exchange
    own = hours_of(zhuoma.id)
    bundle = as_peers(build_bundle(zhuoma), _key(7))
    result = import_bundle(zhuoma, bundle)
    db.session.commit()
    assert (result.added, result.updated, result.repeated) == (2, 0, False)
    assert _transferred(zhuoma) == [(PEER_ORIGIN, "approved", 100), (PEER_ORIGIN, "pending", 30)]
    row = db.session.scalars(sa.select(TransferredService).order_by(TransferredService.id)).first()
    assert row.organization_name == _activity.organization.name and row.leaf_index >= 0
    totals = hours_of(zhuoma.id)
    assert (totals.minutes, totals.transferred_minutes) == (own.minutes + 100, 100)
    assert hours_of(zhuoma.id, _activity.organization_id).minutes == own.minutes  # never an organization's

    again = import_bundle(zhuoma, copy.deepcopy(bundle))
    db.session.commit()
    assert again.repeated and (again.added, again.updated) == (0, 0)
    assert hours_of(zhuoma.id).minutes == own.minutes + 100
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == 1


def test_a_later_bundle_brings_the_origins_later_decisions(exchange, monkeypatch):
    activity, _coordinator, admin, zhuoma, _tashi = exchange
    import_bundle(zhuoma, as_peers(build_bundle(zhuoma), _key(7)))
    db.session.commit()
    seen = db.session.scalar(sa.select(Peer.seen_size))
    approve_the_waiting_entry(activity, admin)
    # the peer proves its larger log extends the one seen before (here: our own log's real proof)
    asked = []

    def proof(url, **params):
        asked.append((url, params))
        return {"consistency": [node.hex() for node in stored_tree().consistency_proof(params["first"],
                                                                                       params["second"])]}
    monkeypatch.setattr(services, "_get_json", proof)
    monkeypatch.setattr(services, "latest_size", lambda peer: stored_tree_size())
    result = import_bundle(zhuoma, as_peers(build_bundle(zhuoma), _key(7)))
    db.session.commit()
    assert asked and asked[0][0] == PEER_URL + "/api/v1/ledger/proof/consistency"
    assert asked[0][1]["first"] == seen
    assert (result.added, result.updated, result.unchanged) == (0, 1, 1)
    assert _transferred(zhuoma) == [(PEER_ORIGIN, "approved", 100), (PEER_ORIGIN, "approved", 30)]
    assert db.session.scalar(sa.select(Peer.seen_size)) > seen


def stored_tree_size() -> int:
    """The size of our log's latest checkpoint: the peer's, in these tests (its log holds the same leaves)."""
    return db.session.scalar(sa.select(sa.func.max(LedgerCheckpoint.tree_size)))


def approve_the_waiting_entry(activity, admin) -> None:
    """The origin decides later: the entry transferred while waiting is approved there, and sealed in its log."""
    waiting = db.session.scalar(sa.select(TransferredService.source_entry_id).where(
        TransferredService.status == "pending"))
    decide_entries(admin, activity.organization, [waiting], "approve")
    extend_log()
    db.session.commit()


def _refused(volunteer, bundle, code):
    before = _transferred(volunteer)
    with pytest.raises(ExchangeError) as refused:
        import_bundle(volunteer, bundle)
    db.session.rollback()
    assert refused.value.code == code
    assert _transferred(volunteer) == before


def test_refusals_keep_everything_as_it_was(exchange, app):
    _activity, _coordinator, _admin, zhuoma, tashi = exchange
    bundle = build_bundle(zhuoma)
    _refused(zhuoma, bundle, "own_record")  # our own record would count twice
    _refused(zhuoma, as_peers(bundle, _key(8)), "untrusted_issuer")  # the pinned key is another
    _refused(zhuoma, as_peers(bundle, _key(7), "stranger.example/ledger"), "untrusted_issuer")
    _refused(tashi, as_peers(bundle, _key(7)), "identity_mismatch")  # another person's record
    changed = as_peers(bundle, _key(7))
    changed["record"]["summary"]["approved_minutes"] += 1
    _refused(zhuoma, changed, "signature_invalid")
    _refused(zhuoma, b"\xff not json", "malformed")
    _refused(zhuoma, {"format": "volunteer-registry/record-bundle/9", "record": {}, "signature": ""},
             "format_unknown")
    app.config["EXCHANGE_ID_KEY"] = None
    _refused(zhuoma, as_peers(build_bundle(zhuoma), _key(7)), "exchange_not_configured")


def test_a_bundle_without_the_exchange_hash_cannot_be_matched(exchange, app):
    _activity, _coordinator, _admin, zhuoma, _tashi = exchange
    app.config["EXCHANGE_ID_KEY"] = None  # the issuer has no exchange key
    bundle = as_peers(build_bundle(zhuoma), _key(7))
    app.config["EXCHANGE_ID_KEY"] = "the province's exchange key"
    _refused(zhuoma, bundle, "identity_unverifiable")


def test_a_checkpoint_that_forks_from_the_one_seen_is_refused(exchange):
    _activity, _coordinator, _admin, zhuoma, _tashi = exchange
    bundle = build_bundle(zhuoma)
    import_bundle(zhuoma, as_peers(bundle, _key(7)))
    db.session.commit()
    # the same size, another root: the peer shows two histories (its entries then fail their proofs under the
    # forked root, so the bundle is given no entries: only the checkpoint speaks)
    forked = copy.deepcopy(bundle)
    forked["record"]["entries"] = []
    forked["record"]["summary"] = {"approved_minutes": 0, "service_entries": 0}
    _refused(zhuoma, as_peers(forked, _key(7), root=os.urandom(32)), "checkpoint_inconsistent")


def test_a_transfer_code_works_once_and_expires(exchange):
    _activity, _coordinator, _admin, zhuoma, _tashi = exchange
    code, row = create_transfer_code(zhuoma, None)
    assert db.session.scalar(sa.select(TransferCode.code_hash)) != code  # only its hash is kept
    assert redeem_transfer_code(code.lower().replace("-", " "), "192.0.2.7").id == zhuoma.id
    for attempt, expected in ((code, "code_used"), ("K7QF-3MXA-9T45", "code_invalid"), ("", "code_invalid")):
        with pytest.raises(ExchangeError) as refused:
            redeem_transfer_code(attempt, "192.0.2.7")
        assert refused.value.code == expected
    late, row = create_transfer_code(zhuoma, None)
    row.expires_at = utcnow() - dt.timedelta(seconds=1)
    with pytest.raises(ExchangeError) as refused:
        redeem_transfer_code(late, "192.0.2.7")
    assert refused.value.code == "code_expired"


def test_the_api_gives_the_bundle_once_per_code(exchange, client):
    _activity, _coordinator, _admin, zhuoma, _tashi = exchange
    code, _row = create_transfer_code(zhuoma, None)
    db.session.commit()
    first = client.post("/api/v1/exchange/transfers", json={"code": code})
    assert first.status_code == 200
    assert first.get_json()["record"]["volunteer"]["volunteer_number"] == zhuoma.volunteer_number
    second = client.post("/api/v1/exchange/transfers", json={"code": code})
    assert (second.status_code, second.get_json()["error"]["code"]) == (409, "code_used")
    malformed = client.post("/api/v1/exchange/transfers", json={"code": 12})
    assert (malformed.status_code, malformed.get_json()["error"]["code"]) == (404, "code_invalid")


def test_the_volunteers_page_makes_a_code_and_reports_a_refusal_at_its_field(exchange, client, make):
    _activity, _coordinator, _admin, zhuoma, _tashi = exchange
    login(client, make.account_of(zhuoma))
    page = client.get("/volunteer/record/transfer")
    assert page.status_code == 200 and "邻县志愿服务平台" in page.get_data(as_text=True)
    made = client.post("/volunteer/record/transfer-codes", data={})
    assert made.status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TransferCode)) == 1
    assert 'id="transfer-code"' in made.get_data(as_text=True)
    refused = client.post("/volunteer/record/transfer-in", data={"url": PEER_URL, "code": "not a code"})
    assert refused.status_code == 422
    assert "does not know this transfer code" in refused.get_data(as_text=True)
    unknown = client.post("/volunteer/record/transfer-in",
                          data={"url": "https://elsewhere.example", "code": "K7QF-3MXA-9T44"})
    assert unknown.status_code == 422 and "does not trust that address" in unknown.get_data(as_text=True)
    codes = list(db.session.scalars(sa.select(AuditEvent.details).where(
        AuditEvent.action == "exchange.transfer_refused")))
    assert [details["code"] for details in codes] == ["code_invalid", "peer_unknown"]
    download = client.get("/volunteer/record.json")
    assert download.status_code == 200 and download.get_json()["format"] == BUNDLE_FORMAT


def test_transferred_service_is_never_certified_here(exchange, make):
    """Who records certifies: the organization here certifies its own approved minutes, not those transferred."""
    activity, _coordinator, admin, zhuoma, tashi = exchange
    import_bundle(zhuoma, as_peers(build_bundle(zhuoma), _key(7)))
    db.session.commit()
    assert hours_of(zhuoma.id).transferred_minutes == 100
    admin.display_name = "Ma Li"
    certificate = issue_certificate(admin, activity.organization, zhuoma, *YEAR, render=False)
    assert certificate.minutes == hours_of(zhuoma.id, activity.organization_id).minutes == 100  # its own 100
    # a volunteer whose only approved service was transferred has nothing here to certify
    other = make.org()
    make.org_admin_of(other).display_name = "Zhang Wei"
    with pytest.raises(CertificateError) as refused:
        issue_certificate(make.org_admin_of(other), other, zhuoma, *YEAR, render=False)
    assert refused.value.code == "no_approved_service"


def test_a_checkpoint_larger_than_any_the_peer_signed_is_a_fork(exchange, monkeypatch):
    """A bundle (a file, say) whose log is ahead of everything the peer has published is not the peer's log."""
    activity, _coordinator, admin, zhuoma, _tashi = exchange
    import_bundle(zhuoma, as_peers(build_bundle(zhuoma), _key(7)))
    db.session.commit()
    seen = db.session.scalar(sa.select(Peer.seen_size))
    approve_the_waiting_entry(activity, admin)
    monkeypatch.setattr(services, "latest_size", lambda peer: seen)  # the peer has signed nothing larger
    monkeypatch.setattr(services, "_get_json", lambda url, **params: pytest.fail("no proof can be asked for"))
    _refused(zhuoma, as_peers(build_bundle(zhuoma), _key(7)), "checkpoint_inconsistent")
    assert db.session.scalar(sa.select(Peer.seen_size)) == seen
