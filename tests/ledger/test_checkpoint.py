"""Signed checkpoints: published signed notes that must verify, our own round trip, and every way a note is refused.

Published vectors:
- golang.org/x/mod ``sumdb/note/note.go`` (package documentation) and ``note_test.go``: the PeterNeumann signer and
  verifier keys, the note they sign, the EnochRoot cosignature, and the malformed notes that must be refused;
- google/trillian-examples ``gossip/client/notary_test.go``: a real checkpoint served by sum.golang.org, whose verifier
  key is the one pinned in the Go toolchain (``cmd/go/internal/modfetch/key.go``);
- C2SP ``tlog-checkpoint.md``: the example checkpoint body (its key is not published, so only the body is checked);
- RFC 8032 §7.1, TEST 1: the Ed25519 public key of a fixed 32-byte secret key.
"""
from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from volunteer_registry.keys.ids import NoteError, VerifierKey, key_id, parse_verifier_key, verifier_key
from volunteer_registry.ledger.checkpoint import (
    MAX_SIGNATURES,
    Checkpoint,
    checkpoint_body,
    open_note,
    parse_checkpoint,
    sign_note,
    verify_note,
)
from volunteer_registry.ledger.merkle import EMPTY_ROOT, leaf_hash, root

# --- golang.org/x/mod/sumdb/note -------------------------------------------------------------------------------------
PETER_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_KEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIGNATURE = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
PETER_SIG = f"— PeterNeumann {PETER_SIGNATURE}\n"
ENOCH_SIG = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
PETER_NOTE = TEXT + "\n" + PETER_SIG

# --- sum.golang.org, via google/trillian-examples -----------------------------------------------------------------
SUMDB_KEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_NOTE = ("go.sum database tree\n13485\n/ZWur4obeiqK+ASdnPK+/Rmz6LPQMUeSmHh0+UkL54Y=\n\n"
              "— sum.golang.org Az3grnQReYTvpCrRxT+w50vixbqBlB/aPS8bL8f8KW4HHP+UjLSXOJgCh4f54n8hO6lrESglzyRXMXnhaW"
              "zaeY3zqw8=\n")

# --- C2SP tlog-checkpoint ------------------------------------------------------------------------------------------
C2SP_NOTE = ("example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
             "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nT"
             "o+zyWE+xeMcTOAYQ8=\n")

# --- our own test key: RFC 8032 TEST 1 secret key --------------------------------------------------------------------
SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
NAME = "registry.test/ledger"
KEY = Ed25519PrivateKey.from_private_bytes(SECRET)
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
ROOT = root([leaf_hash(b"entry %d" % i) for i in range(5)])


def our_key() -> str:
    return verifier_key(NAME, PUBLIC)


def code_of(call, *args, **kwargs) -> str:
    with pytest.raises(NoteError) as caught:
        call(*args, **kwargs)
    assert str(caught.value)  # a readable message as well as a code
    return caught.value.code


# --- keys ---------------------------------------------------------------------------------------------------------

def test_key_id_and_verifier_key_of_a_fixed_key():
    assert KEY.public_key().public_bytes_raw() == PUBLIC  # RFC 8032 TEST 1
    # written out independently of the module: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)[:4], then name+hex+base64(0x01 ‖ key)
    expected_id = hashlib.sha256(b"registry.test/ledger" + b"\x0a" + b"\x01" + PUBLIC).digest()[:4]
    assert key_id(NAME, PUBLIC) == expected_id
    assert our_key() == "registry.test/ledger+" + expected_id.hex() + "+" + base64.b64encode(b"\x01" + PUBLIC).decode()
    assert parse_verifier_key(our_key()) == VerifierKey(NAME, expected_id, PUBLIC)


def test_the_go_signer_key_gives_the_published_verifier_key():
    seed = base64.b64decode(PETER_SIGNER_KEY.split("+", 4)[4])
    assert seed[0] == 0x01
    private_key = Ed25519PrivateKey.from_private_bytes(seed[1:])
    public_key = private_key.public_key().public_bytes_raw()
    assert verifier_key("PeterNeumann", public_key) == PETER_KEY
    assert key_id("PeterNeumann", public_key) == bytes.fromhex("c74f20a3")
    name, kid, parsed = parse_verifier_key(PETER_KEY)
    assert (name, kid, parsed) == ("PeterNeumann", bytes.fromhex("c74f20a3"), public_key)
    assert parse_verifier_key(SUMDB_KEY).key_id == bytes.fromhex("033de0ae")


def test_mangled_verifier_keys_are_refused():
    # note_test.go TestNewVerifier: every proper substring and every single-byte change fails
    for start in range(len(PETER_KEY) + 1):
        for end in range(start + 1, len(PETER_KEY) + 1):
            if (start, end) != (0, len(PETER_KEY)):
                assert code_of(parse_verifier_key, PETER_KEY[start:end]) == "bad_verifier_key"
    for position in range(len(PETER_KEY)):
        changed = PETER_KEY[:position] + chr(ord(PETER_KEY[position]) + 1) + PETER_KEY[position + 1:]
        assert code_of(parse_verifier_key, changed) == "bad_verifier_key"
    for key in [
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",  # wrong length, adjusted id
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # unknown algorithm, adjusted id
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # uppercase id
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        " " + PETER_KEY, PETER_KEY + "\n", "",
    ]:
        assert code_of(parse_verifier_key, key) == "bad_verifier_key"


@pytest.mark.parametrize("name", ["", "a b", "a+b", "tab\there", "line\nbreak", "nbsp\u00a0", "ideographic\u3000"])
def test_bad_key_names_are_refused(name):
    assert code_of(key_id, name, PUBLIC) == "bad_key_name"
    assert code_of(sign_note, TEXT, name, KEY) == "bad_key_name"


def test_public_keys_are_32_bytes():
    assert code_of(key_id, NAME, PUBLIC[:31]) == "bad_public_key"
    assert code_of(verifier_key, NAME, PUBLIC + b"\x00") == "bad_public_key"


# --- the published notes ----------------------------------------------------------------------------------------

def test_signing_reproduces_the_published_go_note():
    # Ed25519 is deterministic: the same key and text give the same bytes as Go's note.Sign
    seed = base64.b64decode(PETER_SIGNER_KEY.split("+", 4)[4])[1:]
    assert sign_note(TEXT, "PeterNeumann", Ed25519PrivateKey.from_private_bytes(seed)) == PETER_NOTE


def test_the_published_go_notes_verify():
    assert verify_note(PETER_NOTE, [PETER_KEY]) == TEXT
    assert verify_note(PETER_NOTE.encode(), PETER_KEY) == TEXT  # bytes, and one key on its own
    cosigned = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert verify_note(cosigned, [PETER_KEY]) == TEXT  # Enoch's signature is someone else's: ignored
    assert verify_note(cosigned, [ENOCH_KEY]) == TEXT
    assert verify_note(cosigned, [PETER_KEY, ENOCH_KEY]) == TEXT
    assert code_of(verify_note, cosigned, []) == "unverified"
    # repeated signatures are allowed, as Go allows them
    assert verify_note(TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG, [PETER_KEY]) == TEXT


def test_a_real_sum_golang_org_checkpoint_verifies():
    checkpoint = open_note(SUMDB_NOTE, [SUMDB_KEY], origin="go.sum database tree")
    assert checkpoint == Checkpoint(
        origin="go.sum database tree", size=13485,
        root=base64.b64decode("/ZWur4obeiqK+ASdnPK+/Rmz6LPQMUeSmHh0+UkL54Y="), extensions=(),
        body="go.sum database tree\n13485\n/ZWur4obeiqK+ASdnPK+/Rmz6LPQMUeSmHh0+UkL54Y=\n")
    assert code_of(open_note, SUMDB_NOTE.replace("13485", "13486"), [SUMDB_KEY]) == "invalid_signature"
    assert code_of(open_note, SUMDB_NOTE, [SUMDB_KEY], origin="registry.test/ledger") == "wrong_origin"


def test_the_c2sp_example_checkpoint():
    body = C2SP_NOTE[:C2SP_NOTE.index("\n\n") + 1]
    checkpoint = parse_checkpoint(body)
    assert (checkpoint.origin, checkpoint.size, len(checkpoint.root)) == ("example.com/behind-the-sofa", 20852163, 32)
    assert checkpoint_body(checkpoint.origin, checkpoint.size, checkpoint.root) == body
    assert code_of(open_note, C2SP_NOTE, [our_key()]) == "unverified"  # well formed, but not by a key we know


@pytest.mark.parametrize("note", [
    # note_test.go TestOpen, badMsgs
    TEXT,
    TEXT + "\n",
    TEXT + "\n" + PETER_SIG[:-1],
    "\x01" + TEXT + "\n" + PETER_SIG,
    TEXT + "\n" + "— Bad Name " + PETER_SIGNATURE,
    TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
    # and more of the same kind
    TEXT.replace("\n", "\r\n") + "\r\n" + PETER_SIG,
    TEXT + "\n" + PETER_SIG.replace("— ", "- "),
    TEXT + "\n" + PETER_SIG.replace("— ", "—"),
    TEXT + "\n" + "— PeterNeumann\n",
    TEXT + "\n" + "— PeterNeumann \n",
    TEXT + "\n" + "— PeterNeumann AQID\n",  # shorter than a key id and one byte
    TEXT + "\n" + "— PeterNeumann  " + PETER_SIG[len("— PeterNeumann "):],
    "",
])
def test_malformed_notes_are_refused(note):
    assert code_of(verify_note, note, [PETER_KEY]) in {"malformed_note", "bad_signature_line", "bad_base64"}


def test_invalid_utf8_is_refused():
    assert code_of(verify_note, b"\xff" + PETER_NOTE.encode(), [PETER_KEY]) == "malformed_note"
    assert code_of(verify_note, "\ud800" + PETER_NOTE, [PETER_KEY]) == "malformed_note"


def test_a_known_key_whose_signature_fails_rejects_the_note():
    # note_test.go: four characters inserted into Peter's signature
    broken = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    assert code_of(verify_note, TEXT + "\n" + broken, [PETER_KEY]) == "invalid_signature"
    # even when another known key's signature verifies
    assert code_of(verify_note, TEXT + "\n" + ENOCH_SIG + broken, [PETER_KEY, ENOCH_KEY]) == "invalid_signature"
    # an unknown key's broken signature is not ours to judge
    assert verify_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG[:40] + "ABCD" + ENOCH_SIG[40:], [PETER_KEY]) == TEXT


def test_too_many_signatures():
    assert code_of(verify_note, TEXT + "\n" + PETER_SIG * (MAX_SIGNATURES + 1), [PETER_KEY]) == "too_many_signatures"
    assert code_of(verify_note, TEXT + "\n" + PETER_SIG * (MAX_SIGNATURES + 1), []) == "too_many_signatures"
    assert verify_note(TEXT + "\n" + PETER_SIG * MAX_SIGNATURES, [PETER_KEY]) == TEXT


def colliding_keys(name: str) -> tuple[bytes, bytes]:
    """Two 32-byte keys with the same key id under ``name``: the id is only 4 bytes, so a birthday search finds
    them after about 2^16 tries."""
    seen: dict[bytes, bytes] = {}
    for i in range(1 << 20):
        candidate = i.to_bytes(32, "big")
        other = seen.setdefault(key_id(name, candidate), candidate)
        if other != candidate:
            return other, candidate
    raise AssertionError("no collision")


def test_verifier_keys_must_be_unambiguous():
    name, kid, public_key = parse_verifier_key(PETER_KEY)
    impostor = VerifierKey(name, kid, bytes(32))
    assert code_of(verify_note, PETER_NOTE, [PETER_KEY, impostor]) == "bad_verifier_key"  # its id is not its own
    assert verify_note(PETER_NOTE, [PETER_KEY, parse_verifier_key(PETER_KEY)]) == TEXT  # the same key twice is fine
    first, second = colliding_keys("x")
    assert key_id("x", first) == key_id("x", second)
    assert code_of(verify_note, PETER_NOTE, [verifier_key("x", first), verifier_key("x", second)]) == "ambiguous_key"


# --- our checkpoints --------------------------------------------------------------------------------------------

def test_sign_and_open_round_trip():
    body = checkpoint_body(NAME, 5, ROOT)
    assert body == f"{NAME}\n5\n{base64.b64encode(ROOT).decode()}\n"
    note = sign_note(body, NAME, KEY)
    body_part, signature_line = note.split("\n\n")
    assert body_part + "\n" == body
    assert signature_line.startswith("\u2014 " + NAME + " ") and signature_line.endswith("=\n")
    raw = base64.b64decode(signature_line.split(" ")[2])
    assert raw[:4] == key_id(NAME, PUBLIC) and len(raw) == 4 + 64
    assert open_note(note, [our_key()], origin=NAME) == Checkpoint(NAME, 5, ROOT, (), body)
    assert open_note(note, [parse_verifier_key(our_key())]).size == 5


def test_extensions_and_the_empty_tree_round_trip():
    body = checkpoint_body(NAME, 0, EMPTY_ROOT, ["extension one", "ext two: ünïcode"])
    checkpoint = open_note(sign_note(body, NAME, KEY), [our_key()])
    assert checkpoint == Checkpoint(NAME, 0, EMPTY_ROOT, ("extension one", "ext two: ünïcode"), body)
    biggest = open_note(sign_note(checkpoint_body(NAME, 2**64 - 1, ROOT), NAME, KEY), [our_key()])
    assert biggest.size == 2**64 - 1


def test_notes_with_blank_lines_in_the_text_split_at_the_last_one():
    # the C2SP signed-note example is a poem with an empty line in its text
    poem = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n"
    assert verify_note(sign_note(poem, NAME, KEY), [our_key()]) == poem


def test_cosigned_checkpoint_opens_with_either_key():
    body = checkpoint_body(NAME, 5, ROOT)
    note = sign_note(body, NAME, KEY)
    cosigned = note + sign_note(body, "witness.example", OTHER_KEY).split("\n\n")[1]
    witness = verifier_key("witness.example", OTHER_KEY.public_key().public_bytes_raw())
    assert open_note(cosigned, [our_key()]).body == body
    assert open_note(cosigned, [witness]).body == body
    # sixteen unknown signatures (the spec's minimum to accept) before ours
    others = "".join(sign_note(body, f"witness{i}.example", OTHER_KEY).split("\n\n")[1] for i in range(16))
    assert open_note(body + "\n" + others + note.split("\n\n")[1], [our_key()]).size == 5


def test_a_modified_body_is_refused():
    note = sign_note(checkpoint_body(NAME, 5, ROOT), NAME, KEY)
    assert code_of(open_note, note.replace("\n5\n", "\n6\n"), [our_key()]) == "invalid_signature"
    assert code_of(open_note, note.replace(NAME + "\n", NAME + "x\n", 1), [our_key()]) == "invalid_signature"
    appended = note.replace("\n\n", "\nextra line\n\n")
    assert code_of(open_note, appended, [our_key()]) == "invalid_signature"


def test_a_signature_by_an_unknown_key_is_refused():
    body = checkpoint_body(NAME, 5, ROOT)
    assert code_of(open_note, sign_note(body, NAME, OTHER_KEY), [our_key()]) == "unverified"  # our name, not our key
    assert code_of(open_note, sign_note(body, "someone.else", KEY), [our_key()]) == "unverified"  # our key, not name
    assert code_of(open_note, sign_note(body, NAME, KEY), []) == "unverified"


def test_a_truncated_signature_is_refused():
    note = sign_note(checkpoint_body(NAME, 5, ROOT), NAME, KEY)
    encoded = note.split(" ")[-1][:-1]
    raw = base64.b64decode(encoded)
    shorter = note.replace(encoded, base64.b64encode(raw[:-1]).decode())
    assert code_of(open_note, shorter, [our_key()]) == "invalid_signature"
    assert code_of(open_note, note.replace(encoded, encoded[:-4]), [our_key()]) == "invalid_signature"
    assert code_of(open_note, note.replace(encoded, encoded[:-1]), [our_key()]) == "bad_base64"
    assert code_of(open_note, note[:-1], [our_key()]) == "malformed_note"  # the last newline cut off


def test_a_missing_blank_line_is_refused():
    note = sign_note(checkpoint_body(NAME, 5, ROOT), NAME, KEY)
    assert code_of(open_note, note.replace("\n\n", "\n"), [our_key()]) == "malformed_note"


def test_a_body_not_ending_in_newline_is_refused():
    assert code_of(sign_note, TEXT[:-1], NAME, KEY) == "malformed_note"
    assert code_of(sign_note, "", NAME, KEY) == "malformed_note"
    assert code_of(parse_checkpoint, checkpoint_body(NAME, 5, ROOT)[:-1]) == "malformed_checkpoint"


@pytest.mark.parametrize("encoded", [
    "not base64!",
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBnAM=",  # a length of 4n+1
    "x08go_ZJkuBS9UG_SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",  # URL alphabet
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAN=",  # non-canonical
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM",  # no padding
])
def test_bad_base64_signatures_are_refused(encoded):
    assert code_of(verify_note, TEXT + "\n— PeterNeumann " + encoded + "\n", [PETER_KEY]) == "bad_base64"


def signed(body: str) -> str:
    """A note over a hand-made body, signed with our key, so that only the body's content can be wrong."""
    return sign_note(body, NAME, KEY)


ROOT64 = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize("size", ["", "0x10", "1e3", "+5", "-1", "05", "00", " 5", "5 ", "5.0", "1_000", "٣", "５",
                                  str(2**64), "9" * 25])
def test_sizes_that_are_not_plain_decimal_are_refused(size):
    assert code_of(open_note, signed(f"{NAME}\n{size}\n{ROOT64}\n"), [our_key()]) == "bad_size"


@pytest.mark.parametrize("root_text", [
    base64.b64encode(ROOT[:31]).decode(), base64.b64encode(ROOT + b"\x00").decode(), "", "not base64",
    ROOT64.rstrip("="), ROOT64[:-2] + "j=",  # unpadded; non-canonical last character
    base64.b64encode(ROOT.hex().encode()).decode(), ROOT.hex(),
])
def test_roots_that_are_not_32_bytes_of_base64_are_refused(root_text):
    assert code_of(open_note, signed(f"{NAME}\n5\n{root_text}\n"), [our_key()]) == "bad_root"


@pytest.mark.parametrize("body, code", [
    (f"{NAME}\n5\n", "malformed_checkpoint"),
    (f"{NAME}\n", "malformed_checkpoint"),
    (f" {NAME}\n5\n{ROOT64}\n", "bad_origin"),
    (f"{NAME} \n5\n{ROOT64}\n", "bad_origin"),
    (f"\u3000{NAME}\n5\n{ROOT64}\n", "bad_origin"),
])
def test_malformed_checkpoint_bodies_are_refused(body, code):
    assert code_of(open_note, signed(body), [our_key()]) == code
    assert code_of(parse_checkpoint, body) == code


def test_an_empty_origin_or_extension_line_is_refused():
    # a note cannot carry these (the blank line would end the text), so parse the bodies directly
    assert code_of(parse_checkpoint, f"\n5\n{ROOT64}\n") == "bad_origin"
    assert code_of(parse_checkpoint, f"{NAME}\n5\n{ROOT64}\n\nafter an empty line\n") == "bad_extension"
    assert code_of(parse_checkpoint, f"{NAME}\n5\n{ROOT64}\n\x00\n") == "malformed_checkpoint"


@pytest.mark.parametrize("origin, size, root_hash, extensions, code", [
    ("", 5, ROOT, (), "bad_origin"),
    (" x", 5, ROOT, (), "bad_origin"),
    ("x ", 5, ROOT, (), "bad_origin"),
    ("a\nb", 5, ROOT, (), "bad_origin"),
    ("tab\tin", 5, ROOT, (), "bad_origin"),
    (NAME, -1, ROOT, (), "bad_size"),
    (NAME, 2**64, ROOT, (), "bad_size"),
    (NAME, True, ROOT, (), "bad_size"),
    (NAME, "5", ROOT, (), "bad_size"),
    (NAME, 5, ROOT[:31], (), "bad_root"),
    (NAME, 5, ROOT.hex(), (), "bad_root"),
    (NAME, 5, ROOT, ("",), "bad_extension"),
    (NAME, 5, ROOT, ("two\nlines",), "bad_extension"),
    (NAME, 5, ROOT, "one string", "bad_extension"),
])
def test_checkpoint_body_refuses_what_it_cannot_write(origin, size, root_hash, extensions, code):
    assert code_of(checkpoint_body, origin, size, root_hash, extensions) == code
