"""A volunteer's record bundle: built from the ledger with a proof for every entry, verified with the issuer's
published keys alone, and refused with its code when anything in it changes."""
from __future__ import annotations

import copy
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.ledger.test_ledger import serve, site  # noqa: F401  (the fixture)
from volunteer_registry.exchange.bundle import build_bundle, bundle_bytes
from volunteer_registry.exchange.verify import BundleError, bundle_note_body, verify_bundle
from volunteer_registry.extensions import db
from volunteer_registry.keys.ids import verifier_key
from volunteer_registry.keys.services import checkpoint_verifier_keys
from volunteer_registry.ledger.checkpoint import sign_note
from volunteer_registry.ledger.log import log_origin, signing_key
from volunteer_registry.ledger.services import decide_entries, service_entry_of_session


@pytest.fixture
def served(site):  # noqa: F811
    """卓玛 served twice (100 and 30 minutes); the first is approved, the second rejected."""
    activity, coordinator, admin, (zhuoma, _tashi) = site
    first = serve(activity, coordinator, zhuoma, 0, 100).session
    second = serve(activity, coordinator, zhuoma, 110, 140).session
    entries = [service_entry_of_session(first.id), service_entry_of_session(second.id)]
    decide_entries(admin, activity.organization, [entries[0].id], "approve")
    decide_entries(admin, activity.organization, [entries[1].id], "reject", reason="left early")
    db.session.commit()
    return zhuoma, entries


def test_a_bundle_verifies_with_the_published_keys_and_folds_to_the_approved_minutes(app, served):
    volunteer, entries = served
    bundle = build_bundle(volunteer)
    db.session.commit()
    verified = verify_bundle(bundle_bytes(bundle), checkpoint_verifier_keys(), origin=log_origin())
    assert verified.approved_minutes == 100
    assert [(s.entry_id, s.status, s.minutes) for s in verified.services] == [
        (entries[0].id, "approved", 100), (entries[1].id, "rejected", 30)]
    assert verified.entries == 4  # two services, an approval and a rejection
    assert verified.volunteer["volunteer_number"] == volunteer.volunteer_number
    assert verified.volunteer["id_number_masked"] == volunteer.id_number_masked
    assert verified.services[0].text["activity_title"] == "社区服务站日常值班"
    assert verified.checkpoint.size >= 4


def _leaf_minutes_changed(bundle):
    item = next(i for i in bundle["record"]["entries"] if json.loads(i["leaf"])["kind"] == "service")
    leaf = json.loads(item["leaf"])
    leaf["minutes"] += 1
    item["leaf"] = json.dumps(leaf, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _text_changed(bundle):
    bundle["record"]["entries"][0]["text"]["activity_title"] = "另一个活动"


def _summary_changed(bundle):
    bundle["record"]["summary"]["approved_minutes"] += 60


def _name_changed(bundle):
    bundle["record"]["volunteer"]["name"] = "扎西"


def _checkpoint_changed(bundle):
    lines = bundle["record"]["checkpoint"].split("\n")
    lines[1] = str(int(lines[1]) + 1)
    bundle["record"]["checkpoint"] = "\n".join(lines)


TAMPERS = [_leaf_minutes_changed, _text_changed, _summary_changed, _name_changed, _checkpoint_changed]


@pytest.mark.parametrize("tamper", TAMPERS)
def test_any_change_breaks_the_bundles_signature(app, served, tamper):
    volunteer, _entries = served
    bundle = build_bundle(volunteer)
    db.session.commit()
    changed = copy.deepcopy(bundle)
    tamper(changed)
    with pytest.raises(BundleError) as refused:
        verify_bundle(changed, checkpoint_verifier_keys(), origin=log_origin())
    assert refused.value.code == "signature_invalid"
    assert verify_bundle(bundle, checkpoint_verifier_keys(), origin=log_origin()).approved_minutes == 100


@pytest.mark.parametrize("tampers, code", [
    ((_leaf_minutes_changed, _summary_changed), "proof_invalid"),
    ((_text_changed,), "entry_mismatch"),
    ((_summary_changed,), "summary_mismatch"),
    ((_checkpoint_changed,), "checkpoint_invalid"),
])
def test_even_the_issuers_own_key_cannot_make_a_changed_record_pass(app, served, tampers, code):
    """Re-signed by the issuer: the entries must still be in its signed log as the bundle gives them."""
    volunteer, _entries = served
    bundle = build_bundle(volunteer)
    for tamper in tampers:
        tamper(bundle)
    bundle["signature"] = sign_note(bundle_note_body(log_origin(), bundle["record"]), log_origin(), signing_key())
    with pytest.raises(BundleError) as refused:
        verify_bundle(bundle, checkpoint_verifier_keys(), origin=log_origin())
    assert refused.value.code == code


def test_another_registrys_keys_do_not_verify_it(app, served):
    volunteer, _entries = served
    bundle = build_bundle(volunteer)
    stranger = verifier_key(log_origin(), Ed25519PrivateKey.generate().public_key().public_bytes_raw())
    with pytest.raises(BundleError) as refused:
        verify_bundle(bundle, [stranger], origin=log_origin())
    assert refused.value.code == "untrusted_issuer"
    with pytest.raises(BundleError) as refused:
        verify_bundle(bundle, checkpoint_verifier_keys(), origin="other.example/ledger")
    assert refused.value.code == "untrusted_issuer"
