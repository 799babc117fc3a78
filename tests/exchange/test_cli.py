"""The exchange's commands: `flask records verify` checks a bundle offline with a saved jwks.json (or verifier
keys), and `flask peers` pins a peer's keys, shows a key change as a new decision, and removes a peer."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from tests.exchange.test_transfer import PEER_ORIGIN, PEER_URL, YEAR, _key, _verifier, exchange  # noqa: F401
from tests.ledger.test_ledger import site  # noqa: F401
from volunteer_registry.certificates.services import issue_certificate
from volunteer_registry.exchange import services
from volunteer_registry.exchange.bundle import build_bundle, bundle_bytes
from volunteer_registry.exchange.models import Peer
from volunteer_registry.exchange.services import PublishedKeys
from volunteer_registry.exchange.verify import bundle_note_body
from volunteer_registry.extensions import db
from volunteer_registry.keys.services import checkpoint_verifier_keys
from volunteer_registry.ledger.checkpoint import sign_note
from volunteer_registry.ledger.log import log_origin, signing_key


@pytest.fixture
def saved(exchange, client, tmp_path):  # noqa: F811
    """卓玛's bundle (with a certificate) and this registry's published jwks.json, as files."""
    activity, _coordinator, admin, zhuoma, _tashi = exchange
    admin.display_name = "Ma Li"
    issue_certificate(admin, activity.organization, zhuoma, *YEAR, render=False)
    bundle = build_bundle(zhuoma)
    db.session.commit()
    (tmp_path / "record.json").write_bytes(bundle_bytes(bundle))
    (tmp_path / "jwks.json").write_bytes(client.get("/.well-known/volunteer-registry/jwks.json").data)
    return tmp_path, bundle


def test_records_verify_offline_with_the_saved_keys(app, saved):
    folder, _bundle = saved
    result = app.test_cli_runner().invoke(args=["records", "verify", str(folder / "record.json"),
                                                "--keys", str(folder / "jwks.json")])
    assert result.exit_code == 0, result.output
    assert "VERIFIED" in result.output and "approved service: 1.7 h (100 minutes)" in result.output
    assert "certificates: 1, each as its signed token says" in result.output
    (folder / "keys.txt").write_text("\n".join(checkpoint_verifier_keys()) + "\n")
    plain = app.test_cli_runner().invoke(args=["records", "verify", str(folder / "record.json"),
                                               "--keys", str(folder / "keys.txt")])
    assert plain.exit_code == 0, plain.output
    assert "certificates: not checked" in plain.output


def test_records_verify_refuses_a_certificate_that_differs_from_its_token(app, saved):
    """Even re-signed by the issuer's own key, a certificate's minutes must be what its own signed token says."""
    folder, bundle = saved
    bundle["record"]["certificates"][0]["minutes"] += 60
    bundle["signature"] = sign_note(bundle_note_body(log_origin(), bundle["record"]), log_origin(), signing_key())
    (folder / "changed.json").write_text(json.dumps(bundle))
    result = app.test_cli_runner().invoke(args=["records", "verify", str(folder / "changed.json"),
                                                "--keys", str(folder / "jwks.json")])
    assert result.exit_code == 1 and result.output.startswith("REFUSED certificate_invalid")


def test_records_verify_refuses_a_changed_minute_with_its_code(app, saved):
    folder, bundle = saved
    bundle["record"]["summary"]["approved_minutes"] += 1
    (folder / "changed.json").write_text(json.dumps(bundle))
    result = app.test_cli_runner().invoke(args=["records", "verify", str(folder / "changed.json"),
                                                "--keys", str(folder / "jwks.json")])
    assert result.exit_code == 1
    assert result.output.startswith("REFUSED signature_invalid")
    (folder / "stranger.txt").write_text(_verifier(_key(9), "volunteer-registry.local/ledger") + "\n")
    stranger = app.test_cli_runner().invoke(args=["records", "verify", str(folder / "record.json"),
                                                  "--keys", str(folder / "stranger.txt")])
    assert stranger.exit_code == 1 and stranger.output.startswith("REFUSED untrusted_issuer")


def test_peers_add_pins_the_keys_and_a_key_change_is_a_new_decision(app, monkeypatch):
    published = {"keys": PublishedKeys(PEER_ORIGIN, [_verifier(_key(7))])}
    monkeypatch.setattr(services, "fetch_published_keys", lambda url: published["keys"])
    monkeypatch.setattr("volunteer_registry.exchange.cli.fetch_published_keys", lambda url: published["keys"])
    runner = app.test_cli_runner()
    added = runner.invoke(args=["peers", "add", PEER_URL + "/", "--name", "邻县", "--yes"])
    assert added.exit_code == 0, added.output
    peer = db.session.scalar(sa.select(Peer))
    assert (peer.url, peer.origin, peer.verifier_keys) == (PEER_URL, PEER_ORIGIN, [_verifier(_key(7))])

    published["keys"] = PublishedKeys(PEER_ORIGIN, [_verifier(_key(8))])  # the peer's keys changed
    declined = runner.invoke(args=["peers", "add", PEER_URL], input="n\n")
    assert "KEY CHANGE" in declined.output and "Nothing changed." in declined.output
    db.session.expire_all()
    assert db.session.scalar(sa.select(Peer.verifier_keys)) == [_verifier(_key(7))]
    accepted = runner.invoke(args=["peers", "add", PEER_URL], input="y\n")
    assert accepted.exit_code == 0 and "Trusted" in accepted.output
    db.session.expire_all()
    assert db.session.scalar(sa.select(Peer.verifier_keys)) == [_verifier(_key(8))]

    listed = runner.invoke(args=["peers", "list"])
    assert "trusted" in listed.output and PEER_URL in listed.output
    removed = runner.invoke(args=["peers", "remove", PEER_URL])
    assert removed.exit_code == 0
    db.session.expire_all()
    assert db.session.scalar(sa.select(Peer.status)) == "removed"
