"""A second verifier of record bundles, written from docs/EXCHANGE.md alone ("How to verify a bundle without this
code"), with the standard library and ``cryptography`` only: nothing in the verifier's section below imports or
calls volunteer_registry. The app only builds a real bundle and serves its jwks.json; then both verifiers judge the
same bundles (the real one, one changed minute signed again or not, one signed by another key, one with a wrong
proof node) and must agree, code for code."""
from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

# --- the verifier, from docs/EXCHANGE.md ----------------------------------------------------------------------------

BUNDLE_FORMAT = "volunteer-registry/record-bundle/1"
TEXT_FIELDS = ("activity_title", "place", "recipient", "content", "person_in_charge", "reason")
DECIDED = {"approval": "approved", "rejection": "rejected", "annulment": "annulled"}


class Refused(Exception):
    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}")
        self.code = code


def canonical(value) -> bytes:
    """Canonical JSON (EXCHANGE.md § Canonical JSON): keys sorted, no whitespace, UTF-8 unescaped, no floats."""
    def check(item):
        if isinstance(item, float):
            raise Refused("malformed", "a float")
        for inner in item.values() if isinstance(item, dict) else item if isinstance(item, list) else ():
            check(inner)
    check(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def note_key(verifier_key: str) -> tuple[str, bytes, bytes]:
    """``<name>+<8 hex key id>+<base64(0x01 ‖ 32-byte Ed25519 key)>`` → (name, key id, public key), checked."""
    name, key_id_hex, encoded = verifier_key.split("+", 2)  # the base64 may hold "+" too
    raw = base64.b64decode(encoded, validate=True)
    assert len(raw) == 33 and raw[0] == 0x01
    key_id = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    assert key_id.hex() == key_id_hex
    return name, key_id, raw[1:]


def open_signed_note(text: str, verifier_keys: list[str]) -> str:
    """The body of a C2SP signed note once a known key's signature verifies. Raises Refused("unverified") when no
    known key signed it, Refused("invalid") when a known key's signature fails, Refused("malformed")."""
    split = text.rfind("\n\n")
    if split < 0 or not text.endswith("\n"):
        raise Refused("malformed", "no blank line before the signatures")
    body, lines = text[:split + 1], text[split + 2:-1].split("\n")
    keys = {(name, key_id): public for name, key_id, public in map(note_key, verifier_keys)}
    verified = 0
    for line in lines:
        if not line.startswith("\u2014 "):
            raise Refused("malformed", "a signature line starts with an em dash")
        name, _, encoded = line[2:].partition(" ")
        raw = base64.b64decode(encoded, validate=True)
        public = keys.get((name, raw[:4]))
        if public is None:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(raw[4:], body.encode("utf-8"))
        except InvalidSignature:
            raise Refused("invalid", f"the signature by {name}") from None
        verified += 1
    if not verified:
        raise Refused("unverified", "no signature by a known key")
    return body


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def inclusion_root(leaf_hash: bytes, index: int, size: int, path: list[bytes]) -> bytes | None:
    """RFC 9162 §2.1.3.2: the root the audit path leads to, or None when the path does not fit the tree."""
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def fold(leaves: list[dict]) -> dict[int, dict]:
    """EXCHANGE.md § The fold: service entry id → {status, minutes}."""
    states, corrections = {}, {}
    for leaf in sorted(leaves, key=lambda item: item["id"]):
        kind, refers = leaf["kind"], leaf["refers_to"]
        if kind == "service":
            states[leaf["id"]] = {"status": "pending", "minutes": leaf["minutes"] or 0}
        elif kind == "correction" and refers in states:
            corrections[leaf["id"]] = leaf
        elif refers in corrections:
            correction = corrections.pop(refers)
            if kind == "approval":
                states[correction["refers_to"]]["minutes"] = correction["minutes"] or 0
        elif refers in states and kind in DECIDED:
            states[refers]["status"] = DECIDED[kind]
    return states


def verify(bundle: dict, verifier_keys: list[str], origin: str) -> dict:
    """EXCHANGE.md § How to verify a bundle without this code, steps 2 to 9. Returns what counts; raises Refused
    with a refusal code."""
    if bundle.get("format") != BUNDLE_FORMAT:
        raise Refused("format_unknown")
    record = bundle["record"]
    if record["issuer"]["origin"] != origin:
        raise Refused("untrusted_issuer", "another log's bundle")
    try:
        body = open_signed_note(bundle["signature"], verifier_keys)
    except Refused as refused:
        raise Refused("untrusted_issuer" if refused.code == "unverified" else "signature_invalid") from None
    digest = b64(hashlib.sha256(canonical(record)).digest())
    if body != f"{BUNDLE_FORMAT}\n{origin}\n{digest}\n":
        raise Refused("signature_invalid", "the signed digest is not the record's")
    try:
        checkpoint_origin, size_text, root_text, *_extensions = \
            open_signed_note(record["checkpoint"], verifier_keys)[:-1].split("\n")
    except Refused:
        raise Refused("checkpoint_invalid") from None
    root = base64.b64decode(root_text, validate=True)
    if checkpoint_origin != origin or not size_text.isdigit() or len(root) != 32:
        raise Refused("checkpoint_invalid")
    size = int(size_text)
    leaves, pseudonyms = [], set()
    for item in record["entries"]:
        index, leaf_text = item["leaf_index"], item["leaf"]
        path = [base64.b64decode(p, validate=True) for p in item["proof"]]
        leaf_hash = hashlib.sha256(b"\x00" + leaf_text.encode("utf-8")).digest()
        if not 0 <= index < size or any(len(p) != 32 for p in path) \
                or inclusion_root(leaf_hash, index, size, path) != root:
            raise Refused("proof_invalid", f"leaf {index}")
        leaf = json.loads(leaf_text)
        if canonical(leaf).decode("utf-8") != leaf_text:
            raise Refused("entry_mismatch", f"leaf {index} is not canonical")
        text = {name: item["text"].get(name) for name in TEXT_FIELDS}
        if leaf["text_sha256"] != hashlib.sha256(canonical(text)).hexdigest():
            raise Refused("entry_mismatch", f"the text of leaf {index}")
        if any(leaf["id"] == other["id"] for other in leaves):
            raise Refused("entry_mismatch", f"entry {leaf['id']} twice")
        leaves.append(leaf)
        pseudonyms.add(leaf["volunteer"])
    if len(pseudonyms) > 1:
        raise Refused("entry_mismatch", "entries of several volunteers")
    states = fold(leaves)
    approved = sum(state["minutes"] for state in states.values() if state["status"] == "approved")
    if record["summary"] != {"approved_minutes": approved, "service_entries": len(states)}:
        raise Refused("summary_mismatch")
    return {"approved_minutes": approved, "states": states, "tree_size": size}


def published_note_keys(jwks: dict) -> list[str]:
    """Step 1: the checkpoint keys of a registry's jwks.json, current and retired, as signed-note verifier keys."""
    return [key["note_verifier_key"] for key in jwks["keys"]
            if key.get("kty") == "OKP" and key.get("crv") == "Ed25519" and key.get("purpose") == "ledger-checkpoint"]


def sign(body: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """A signed note of ``body`` by ``name`` (EXCHANGE.md § The signed note): for the tests' forgeries."""
    public = private_key.public_key().public_bytes_raw()
    key_id = hashlib.sha256(name.encode() + b"\n\x01" + public).digest()[:4]
    return f"{body}\n\u2014 {name} {b64(key_id + private_key.sign(body.encode('utf-8')))}\n"


def resign(bundle: dict, private_key: Ed25519PrivateKey) -> None:
    origin = bundle["record"]["issuer"]["origin"]
    digest = b64(hashlib.sha256(canonical(bundle["record"])).digest())
    bundle["signature"] = sign(f"{BUNDLE_FORMAT}\n{origin}\n{digest}\n", origin, private_key)


# --- the app: a real bundle and the published keys --------------------------------------------------------------------

from tests.exchange.test_bundle import served  # noqa: E402, F401  (the fixture)
from tests.ledger.test_ledger import serve, site  # noqa: E402, F401  (the fixtures)
from volunteer_registry.exchange.bundle import build_bundle, bundle_bytes  # noqa: E402
from volunteer_registry.exchange.services import create_transfer_code  # noqa: E402
from volunteer_registry.exchange.verify import BundleError, verify_bundle  # noqa: E402
from volunteer_registry.extensions import db  # noqa: E402
from volunteer_registry.ledger.log import signing_key  # noqa: E402
from volunteer_registry.volunteers.vault import decrypt_id_number  # noqa: E402


@pytest.fixture
def issued(app, client, served):  # noqa: F811
    """A real bundle of 卓玛's (100 minutes approved, 30 rejected), as the file she downloads, and the keys her
    registry publishes."""
    volunteer, _entries = served
    app.config["EXCHANGE_ID_KEY"] = "the exchange network's shared key"
    bundle = json.loads(bundle_bytes(build_bundle(volunteer)))
    db.session.commit()
    jwks = client.get("/.well-known/volunteer-registry/jwks.json").get_json()
    return bundle, published_note_keys(jwks), bundle["record"]["issuer"]["origin"]


def judged_by_both(bundle: dict, keys: list[str], origin: str) -> str:
    """Both verifiers' verdict on ``bundle``: "ok" or the refusal code; they must agree."""
    try:
        mine = f"ok {verify(bundle, keys, origin)['approved_minutes']}"
    except Refused as refused:
        mine = refused.code
    try:
        theirs = f"ok {verify_bundle(bundle, keys, origin=origin).approved_minutes}"
    except BundleError as error:
        theirs = error.code
    assert mine == theirs
    return mine


def a_service_leaf(bundle: dict) -> dict:
    return next(item for item in bundle["record"]["entries"] if json.loads(item["leaf"])["kind"] == "service")


def minute_added(bundle: dict) -> dict:
    changed = copy.deepcopy(bundle)
    item = a_service_leaf(changed)
    leaf = json.loads(item["leaf"])
    leaf["minutes"] += 1
    item["leaf"] = canonical(leaf).decode("utf-8")
    return changed


def test_a_real_bundle_verifies_with_the_published_keys_alone(issued):
    bundle, keys, origin = issued
    assert len(keys) == 1 and keys[0].startswith(origin + "+")
    assert judged_by_both(bundle, keys, origin) == "ok 100"
    states = sorted((state["status"], state["minutes"]) for state in verify(bundle, keys, origin)["states"].values())
    assert states == [("approved", 100), ("rejected", 30)]


def test_the_exchange_id_hash_is_the_documented_hmac(issued, served):  # noqa: F811
    bundle, _keys, _origin = issued
    volunteer, _entries = served
    identity = bundle["record"]["volunteer"]
    number = decrypt_id_number(volunteer.id_number_encrypted)
    assert identity["id_number_masked"] == number[:6] + "*" * (len(number) - 10) + number[-4:]
    assert identity["id_hash"] == hmac.new(b"the exchange network's shared key",
                                           f"{identity['id_type']}:{number}".encode(), hashlib.sha256).hexdigest()


def test_one_changed_minute_is_refused_signed_again_or_not(issued):
    bundle, keys, origin = issued
    changed = minute_added(bundle)
    assert judged_by_both(changed, keys, origin) == "signature_invalid"
    # the issuer's own key signing the changed record: the leaf is no longer the one in its signed log
    resign(changed, signing_key())
    assert judged_by_both(changed, keys, origin) == "proof_invalid"
    changed["record"]["summary"]["approved_minutes"] += 1
    resign(changed, signing_key())
    assert judged_by_both(changed, keys, origin) == "proof_invalid"


def test_a_bundle_signed_by_another_key_is_refused(issued):
    bundle, keys, origin = issued
    forged = copy.deepcopy(bundle)
    resign(forged, Ed25519PrivateKey.generate())  # the issuer's name, a stranger's key
    assert judged_by_both(forged, keys, origin) == "untrusted_issuer"
    assert judged_by_both(bundle, keys, "other.example/ledger") == "untrusted_issuer"


def test_a_wrong_proof_node_is_refused(issued):
    bundle, keys, origin = issued
    changed = copy.deepcopy(bundle)
    item = a_service_leaf(changed)
    node_bytes = bytearray(base64.b64decode(item["proof"][0]))
    node_bytes[0] ^= 1
    item["proof"][0] = b64(bytes(node_bytes))
    assert judged_by_both(changed, keys, origin) == "signature_invalid"
    resign(changed, signing_key())
    assert judged_by_both(changed, keys, origin) == "proof_invalid"


def test_changed_text_and_summary_are_refused_with_their_codes(issued):
    bundle, keys, origin = issued
    changed = copy.deepcopy(bundle)
    a_service_leaf(changed)["text"]["place"] = "别处"
    resign(changed, signing_key())
    assert judged_by_both(changed, keys, origin) == "entry_mismatch"
    changed = copy.deepcopy(bundle)
    changed["record"]["summary"]["approved_minutes"] += 60
    resign(changed, signing_key())
    assert judged_by_both(changed, keys, origin) == "summary_mismatch"


def test_the_example_in_the_doc_is_a_real_one():
    """docs/EXCHANGE.md's abridged example: its notes verify with the key it shows, its entries' proofs lead to its
    checkpoint's root and their text to their leaves' hashes (only the record's digest no longer matches)."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "EXCHANGE.md").read_text(encoding="utf-8")
    example = doc[doc.index('```json\n{\n  "format"') + 8:]
    bundle = json.loads(example[:example.index("```")])
    key = re.search(r'"note_verifier_key": "([^"]+)"', doc[doc.index("some members left out"):]).group(1)
    origin, size_text, root_text = open_signed_note(bundle["record"]["checkpoint"], [key])[:-1].split("\n")
    assert origin == bundle["record"]["issuer"]["origin"] == note_key(key)[0]
    for item in bundle["record"]["entries"]:
        leaf_hash = hashlib.sha256(b"\x00" + item["leaf"].encode()).digest()
        path = [base64.b64decode(p) for p in item["proof"]]
        assert inclusion_root(leaf_hash, item["leaf_index"], int(size_text), path) == base64.b64decode(root_text)
        assert json.loads(item["leaf"])["text_sha256"] == hashlib.sha256(canonical(item["text"])).hexdigest()
    assert open_signed_note(bundle["signature"], [key]).startswith(f"{BUNDLE_FORMAT}\n{origin}\n")
    with pytest.raises(Refused) as refused:
        verify(bundle, [key], origin)
    assert refused.value.code == "signature_invalid"  # abridged


def test_the_bundle_behind_a_transfer_code_verifies_independently(app, client, served):  # noqa: F811
    """What registry B receives from POST /api/v1/exchange/transfers (EXCHANGE.md § The transfer protocol)."""
    volunteer, _entries = served
    code, _row = create_transfer_code(volunteer, None)
    db.session.commit()
    answer = client.post("/api/v1/exchange/transfers", json={"code": code})
    assert answer.status_code == 200
    assert answer.data == canonical(answer.get_json())  # the canonical bytes, as signed
    keys = published_note_keys(client.get("/.well-known/volunteer-registry/jwks.json").get_json())
    bundle = answer.get_json()
    assert judged_by_both(bundle, keys, bundle["record"]["issuer"]["origin"]) == "ok 100"
    again = client.post("/api/v1/exchange/transfers", json={"code": code})
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "code_used")
