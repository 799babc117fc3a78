"""The Merkle log against the published RFC 6962 reference vectors, reference transcriptions of the RFC, and properties.

Reference vectors: the eight-leaf tree used by the certificate-transparency projects, checked against both
- transparency-dev/merkle ``testonly/constants.go`` (LeafInputs, NodeHashes, RootHashes, CompactTrees) and
  ``proof/verify_test.go`` (inclusionProofs, consistencyProofs, and the corruptions that must fail), and
- google/certificate-transparency ``cpp/merkletree/merkle_tree_test.cc`` (kInputs, kSHA256Roots, kSHA256Paths,
  kSHA256Proofs), which lists the same values. Their leaf numbers are 1-based; the indices here are 0-based.
"""
from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from volunteer_registry.ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    StoredTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

#: derandomized so a failure is never luck; no example database written outside the test's folder
PROPERTIES = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture])

h = bytes.fromhex

INPUTS = [h(x) for x in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                         "606162636465666768696a6b6c6d6e6f"]]
LEAVES = [leaf_hash(x) for x in INPUTS]

# RootHashes() / kSHA256Roots, indexed by tree size
ROOTS = [
    h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

# NodeHashes(): every perfect subtree of the eight-leaf tree, by level then position
NODES = [
    [h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
     h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
     h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
     h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
     h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
     h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
     h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
     h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1")],
    [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
     h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
     h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
     h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0")],
    [h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
     h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")],
    [h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")],
]

# CompactTrees(): the right frontier at each size, largest subtree first
FRONTIERS = [
    [], [NODES[0][0]], [NODES[1][0]], [NODES[1][0], NODES[0][2]], [NODES[2][0]], [NODES[2][0], NODES[0][4]],
    [NODES[2][0], NODES[1][2]], [NODES[2][0], NODES[1][2], NODES[0][6]], [NODES[3][0]],
]

# inclusionProofs / kSHA256Paths: (0-based index, tree size, audit path)
INCLUSION = [
    (0, 1, []),
    (0, 8, [h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")]),
    (5, 8, [h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
    (2, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (1, 5, [h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")]),
]

# consistencyProofs / kSHA256Proofs: (first size, second size, proof)
CONSISTENCY = [
    (1, 1, []),
    (1, 8, [h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")]),
    (6, 8, [h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
    (2, 5, [h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")]),
    (6, 7, [h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
]

SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")  # verify_test.go's sha256SomeHash

#: many leaves for the random trees: leaf i is the hash of i as 4 bytes
MANY = [leaf_hash(i.to_bytes(4, "big")) for i in range(5000)]


def stored(leaves):
    """A StoredTree over a list, counting reads; a tiny chunk so the recursion over subtrees is exercised."""
    reads = []

    def get_leaves(start, end):
        reads.append((start, end))
        return leaves[start:end]

    tree = StoredTree(get_leaves, chunk_size=4)
    tree.reads = reads
    return tree


# --- the RFC's definitions, transcribed literally, as a second implementation to compare against -------------------

def _k(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def reference_mth(d):
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + reference_mth(d[:k]) + reference_mth(d[k:])).digest()


def reference_path(m, d):
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return reference_path(m, d[:k]) + [reference_mth(d[k:])]
    return reference_path(m - k, d[k:]) + [reference_mth(d[:k])]


def reference_subproof(m, d, b):
    if m == len(d):
        return [] if b else [reference_mth(d)]
    k = _k(len(d))
    if m <= k:
        return reference_subproof(m, d[:k], b) + [reference_mth(d[k:])]
    return reference_subproof(m - k, d[k:], False) + [reference_mth(d[:k])]


# --- hashes and roots ---------------------------------------------------------------------------------------------

def test_hashes_are_the_rfc_ones():
    assert EMPTY_ROOT == ROOTS[0] == hashlib.sha256(b"").digest()
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    assert LEAVES == NODES[0]
    for level in range(1, 4):
        below = NODES[level - 1]
        assert [node_hash(below[2 * i], below[2 * i + 1]) for i in range(len(below) // 2)] == NODES[level]


@pytest.mark.parametrize("size", range(9))
def test_roots_of_the_reference_tree(size):
    assert root(LEAVES[:size]) == ROOTS[size]
    assert CompactRange.from_leaves(LEAVES[:size]).root() == ROOTS[size]
    assert stored(LEAVES).root(size) == ROOTS[size]


@pytest.mark.parametrize("size", range(9))
def test_frontiers_of_the_reference_tree(size):
    assert list(CompactRange.from_leaves(LEAVES[:size]).nodes) == FRONTIERS[size]
    assert stored(LEAVES).compact_range(size) == CompactRange(size, FRONTIERS[size])


def test_root_matches_the_rfc_definition_for_every_size_to_300():
    for size in range(301):
        assert root(MANY[:size]) == reference_mth(MANY[:size]), size


def test_root_refuses_what_is_not_a_leaf_hash():
    with pytest.raises(ValueError):
        root([b"short"])
    with pytest.raises(ValueError):
        root(LEAVES[:3] + [b"x" * 33])


def test_a_large_tree_agrees_across_the_three_ways_of_computing_it():
    """100 000 leaves: the direct root, the compact range and the stored tree agree, and stored proofs verify.
    (No timing is asserted: the machines are shared.)"""
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(100_000)]
    expected = root(leaves)
    assert CompactRange.from_leaves(leaves).root() == expected
    tree = StoredTree(lambda start, end: leaves[start:end])
    assert tree.root(100_000) == expected
    for index in range(0, 100_000, 1_000):
        assert verify_inclusion(leaves[index], index, 100_000, tree.inclusion_proof(index, 100_000), expected)


# --- inclusion -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("index, size, path", INCLUSION)
def test_published_inclusion_proofs(index, size, path):
    assert inclusion_proof(LEAVES, index, size) == path
    assert stored(LEAVES).inclusion_proof(index, size) == path
    assert verify_inclusion(LEAVES[index], index, size, path, ROOTS[size])


def corrupted_inclusion(index, size, path, root_hash, leaf):
    """The probes of verify_test.go's corruptInclusionProof and merkle_tree_test.cc's VerifierCheck."""
    yield "index - 1", (leaf, index - 1, size, path, root_hash)
    yield "index + 1", (leaf, index + 1, size, path, root_hash)
    yield "index ^ 2", (leaf, index ^ 2, size, path, root_hash)
    yield "size * 2", (leaf, index, size * 2, path, root_hash)
    yield "size // 2", (leaf, index, size // 2, path, root_hash)
    yield "wrong leaf", (leaf_hash(b"WrongLeaf"), index, size, path, root_hash)
    yield "short leaf", (b"WrongLeaf", index, size, path, root_hash)
    yield "empty root", (leaf, index, size, path, EMPTY_ROOT)
    yield "random root", (leaf, index, size, path, SOME_HASH)
    yield "trailing garbage", (leaf, index, size, [*path, b""], root_hash)
    yield "trailing root", (leaf, index, size, [*path, root_hash], root_hash)
    yield "preceding garbage", (leaf, index, size, [b"", *path], root_hash)
    yield "preceding root", (leaf, index, size, [root_hash, *path], root_hash)
    for i in range(len(path)):
        flipped = bytearray(path[i])
        flipped[0] ^= 8
        yield f"proof[{i}] bit flipped", (leaf, index, size, [*path[:i], bytes(flipped), *path[i + 1:]], root_hash)
        yield f"proof[{i}] replaced", (leaf, index, size, [*path[:i], EMPTY_ROOT, *path[i + 1:]], root_hash)
    if path:
        yield "last node removed", (leaf, index, size, path[:-1], root_hash)
    if len(path) > 1:
        yield "node inserted", (leaf, index, size, [path[0], SOME_HASH, *path[1:]], root_hash)
        yield "nodes swapped", (leaf, index, size, [path[1], path[0], *path[2:]], root_hash)


@pytest.mark.parametrize("index, size, path", INCLUSION)
def test_corrupted_inclusion_proofs_fail(index, size, path):
    accepted = [name for name, args in corrupted_inclusion(index, size, path, ROOTS[size], LEAVES[index])
                if verify_inclusion(*args)]
    assert accepted == []


@pytest.mark.parametrize("index, size", [(0, 0), (0, 1), (1, 0), (2, 1), (-1, 1), (1, 1)])
def test_impossible_positions_never_verify(index, size):
    # verify_test.go TestVerifyInclusion: index >= size, or an empty tree, whatever the hashes
    for leaf, root_hash in [(SOME_HASH, b""), (b"", EMPTY_ROOT), (SOME_HASH, EMPTY_ROOT)]:
        assert not verify_inclusion(leaf, index, size, [], root_hash)


def test_single_leaf_tree():
    # verify_test.go TestVerifyInclusionSingleEntry: the leaf hash is the root, the proof is empty
    only = leaf_hash(b"data")
    assert verify_inclusion(only, 0, 1, [], only)
    assert not verify_inclusion(only, 0, 1, [], b"")
    assert not verify_inclusion(b"", 0, 1, [], only)
    assert not verify_inclusion(b"", 0, 1, [], b"")


def test_inclusion_proof_refuses_positions_outside_the_tree():
    for index, size in [(8, 8), (0, 0), (-1, 4), (0, 9)]:
        with pytest.raises(ValueError):
            inclusion_proof(LEAVES, index, size)
    with pytest.raises(ValueError):
        stored(LEAVES).inclusion_proof(8, 8)
    with pytest.raises(LookupError):  # the store has only 8 leaves
        stored(LEAVES).inclusion_proof(0, 9)


# --- consistency ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("first, second, proof", CONSISTENCY)
def test_published_consistency_proofs(first, second, proof):
    assert consistency_proof(LEAVES, first, second) == proof
    assert stored(LEAVES).consistency_proof(first, second) == proof
    assert verify_consistency(first, second, ROOTS[first], ROOTS[second], proof)


def corrupted_consistency(first, second, root1, root2, proof):
    """The probes of verify_test.go's corruptConsistencyProof and merkle_tree_test.cc's VerifierConsistencyCheck."""
    yield "first - 1", (first - 1, second, root1, root2, proof)
    yield "first + 1", (first + 1, second, root1, root2, proof)
    yield "first ^ 2", (first ^ 2, second, root1, root2, proof)
    yield "second * 2", (first, second * 2, root1, root2, proof)
    yield "second // 2", (first, second // 2, root1, root2, proof)
    yield "wrong root1", (first, second, b"WrongRoot", root2, proof)
    yield "wrong root2", (first, second, root1, b"WrongRoot", proof)
    yield "other root1", (first, second, SOME_HASH, root2, proof)
    yield "other root2", (first, second, root1, SOME_HASH, proof)
    yield "swapped roots", (first, second, root2, root1, proof)
    yield "empty proof", (first, second, root1, root2, [])
    yield "trailing garbage", (first, second, root1, root2, [*proof, b""])
    yield "trailing root1", (first, second, root1, root2, [*proof, root1])
    yield "trailing root2", (first, second, root1, root2, [*proof, root2])
    yield "trailing last node", (first, second, root1, root2, [*proof, proof[-1]])
    yield "preceding garbage", (first, second, root1, root2, [b"", *proof])
    yield "preceding root1", (first, second, root1, root2, [root1, *proof])
    yield "preceding root2", (first, second, root1, root2, [root2, *proof])
    yield "preceding proof[0]", (first, second, root1, root2, [proof[0], *proof])
    yield "truncated", (first, second, root1, root2, proof[:-1])
    if len(proof) > 1:
        yield "nodes swapped", (first, second, root1, root2, [proof[1], proof[0], *proof[2:]])
    for i in range(len(proof)):
        flipped = bytearray(proof[i])
        flipped[0] ^= 16
        yield f"proof[{i}] bit flipped", (first, second, root1, root2, [*proof[:i], bytes(flipped), *proof[i + 1:]])
        yield f"proof[{i}] replaced", (first, second, root1, root2, [*proof[:i], EMPTY_ROOT, *proof[i + 1:]])


@pytest.mark.parametrize("first, second, proof", [vector for vector in CONSISTENCY if vector[2]])
def test_corrupted_consistency_proofs_fail(first, second, proof):
    accepted = [name for name, args in corrupted_consistency(first, second, ROOTS[first], ROOTS[second], proof)
                if verify_consistency(*args)]
    assert accepted == []


@pytest.mark.parametrize("first, second, root1, root2, proof, ok", [
    # after verify_test.go TestVerifyConsistency / merkle_tree_test.cc VerifyConsistencyProof. Those accept any roots
    # for a first size of 0; here the first root must then be the empty-tree root.
    (0, 0, EMPTY_ROOT, EMPTY_ROOT, [], True),
    (0, 1, EMPTY_ROOT, ROOTS[1], [], True),
    (0, 8, EMPTY_ROOT, ROOTS[8], [], True),
    (1, 1, ROOTS[1], ROOTS[1], [], True),
    (8, 8, ROOTS[8], ROOTS[8], [], True),
    (0, 0, SOME_HASH, SOME_HASH, [], False),  # a size-0 tree has one root
    (0, 1, SOME_HASH, ROOTS[1], [], False),
    (1, 1, ROOTS[1], ROOTS[2], [], False),  # same size, different roots
    (0, 0, EMPTY_ROOT, SOME_HASH, [], False),
    (1, 0, ROOTS[1], ROOTS[0], [], False),  # time travel to the past
    (2, 1, ROOTS[2], ROOTS[1], [], False),
    (1, 2, ROOTS[1], ROOTS[2], [], False),  # a real step with an empty proof
    (0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),  # equal roots, but a proof where none belongs
    (0, 1, EMPTY_ROOT, ROOTS[1], [EMPTY_ROOT], False),
    (1, 1, ROOTS[1], ROOTS[1], [EMPTY_ROOT], False),
    (-1, 1, EMPTY_ROOT, ROOTS[1], [], False),
    (1, 1, b"", b"", [], False),
])
def test_edge_cases_of_consistency(first, second, root1, root2, proof, ok):
    assert verify_consistency(first, second, root1, root2, proof) is ok


def test_consistency_proof_refuses_sizes_out_of_order():
    with pytest.raises(ValueError):
        consistency_proof(LEAVES, 5, 4)
    with pytest.raises(ValueError):
        consistency_proof(LEAVES, 1, 9)
    with pytest.raises(ValueError):
        stored(LEAVES).consistency_proof(5, 4)
    assert consistency_proof(LEAVES, 0, 8) == consistency_proof(LEAVES, 8, 8) == []


# --- properties over random trees -----------------------------------------------------------------------------

sizes = st.integers(min_value=1, max_value=300)


@PROPERTIES
@given(size=sizes)
def test_every_leaf_of_a_random_tree_has_a_verifying_proof(size):
    leaves = MANY[:size]
    tree = stored(leaves)
    root_hash = tree.root(size)
    assert root_hash == root(leaves)
    for index in range(size):
        proof = tree.inclusion_proof(index, size)
        assert verify_inclusion(leaves[index], index, size, proof, root_hash)
        assert not verify_inclusion(leaves[index - 1], index, size, proof, root_hash) or size == 1
    probe = size // 3
    assert inclusion_proof(leaves, probe, size) == tree.inclusion_proof(probe, size) == reference_path(probe, leaves)


@PROPERTIES
@given(data=st.data())
def test_every_consistency_proof_between_random_sizes_verifies(data):
    second = data.draw(st.integers(min_value=0, max_value=300), label="second")
    first = data.draw(st.integers(min_value=0, max_value=second), label="first")
    leaves = MANY[:second]
    proof = consistency_proof(leaves, first, second)
    assert stored(leaves).consistency_proof(first, second) == proof
    if 0 < first < second:
        assert proof == reference_subproof(first, leaves, True)
    assert verify_consistency(first, second, root(leaves[:first]), root(leaves), proof)
    if 0 < first < second:
        assert not verify_consistency(first, second, root(leaves[:first]), root(leaves[:second - 1]), proof)


def flips(value, mask):
    """Every copy of ``value`` with exactly one byte changed."""
    for position in range(len(value)):
        changed = bytearray(value)
        changed[position] ^= mask
        yield bytes(changed)


@PROPERTIES
@given(data=st.data())
def test_changing_any_byte_breaks_an_inclusion_proof(data):
    size = data.draw(sizes, label="size")
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    mask = data.draw(st.integers(min_value=1, max_value=255), label="mask")
    leaves = MANY[:size]
    root_hash, leaf, proof = root(leaves), leaves[index], inclusion_proof(leaves, index, size)
    assert verify_inclusion(leaf, index, size, proof, root_hash)
    for i, node in enumerate(proof):
        for changed in flips(node, mask):
            assert not verify_inclusion(leaf, index, size, [*proof[:i], changed, *proof[i + 1:]], root_hash)
    for changed in flips(leaf, mask):
        assert not verify_inclusion(changed, index, size, proof, root_hash)
    for changed in flips(root_hash, mask):
        assert not verify_inclusion(leaf, index, size, proof, changed)


@PROPERTIES
@given(data=st.data())
def test_changing_any_byte_breaks_a_consistency_proof(data):
    second = data.draw(st.integers(min_value=2, max_value=300), label="second")
    first = data.draw(st.integers(min_value=1, max_value=second - 1), label="first")
    mask = data.draw(st.integers(min_value=1, max_value=255), label="mask")
    leaves = MANY[:second]
    root1, root2, proof = root(leaves[:first]), root(leaves), consistency_proof(leaves, first, second)
    assert verify_consistency(first, second, root1, root2, proof)
    for i, node in enumerate(proof):
        for changed in flips(node, mask):
            assert not verify_consistency(first, second, root1, root2, [*proof[:i], changed, *proof[i + 1:]])
    for changed in flips(root1, mask):
        assert not verify_consistency(first, second, changed, root2, proof)
    for changed in flips(root2, mask):
        assert not verify_consistency(first, second, root1, changed, proof)


@PROPERTIES
@given(batches=st.lists(st.integers(min_value=0, max_value=40), max_size=12))
def test_a_compact_range_extended_in_batches_agrees_with_root(batches):
    compact, size = CompactRange(), 0
    for batch in batches:
        compact = CompactRange.from_bytes(compact.to_bytes())  # as if reloaded next to the last checkpoint
        compact.extend(MANY[size:size + batch])
        size += batch
        assert compact.size == size
        assert compact.root() == root(MANY[:size])
        assert CompactRange.from_hex(size, compact.to_hex()) == compact


# --- compact ranges -----------------------------------------------------------------------------------------------

def test_compact_range_agrees_with_root_for_every_size_to_300():
    compact = CompactRange()
    assert compact.root() == EMPTY_ROOT
    for size in range(1, 301):
        compact.append(MANY[size - 1])
        assert compact.size == size
        assert len(compact.nodes) == size.bit_count()
        assert compact.root() == root(MANY[:size]), size


def test_compact_range_agrees_with_root_for_random_sizes_to_5000():
    tree = StoredTree(lambda start, end: MANY[start:end])
    for size in random.Random(9162).sample(range(301, 5001), 25):
        compact = CompactRange.from_leaves(MANY[:size])
        assert compact.root() == root(MANY[:size]) == tree.root(size), size
        assert tree.compact_range(size) == compact
        assert CompactRange.from_bytes(compact.to_bytes()) == compact


def test_extending_from_a_stored_frontier_reads_no_earlier_leaf():
    tree = stored(MANY)
    frontier = tree.compact_range(1000).to_bytes()
    reads_before = len(tree.reads)
    resumed = CompactRange.from_bytes(frontier)
    resumed.extend(MANY[1000:1037])
    assert len(tree.reads) == reads_before
    assert resumed.root() == root(MANY[:1037])


def test_stored_tree_memoises_subtrees():
    tree = stored(MANY[:1000])
    root_hash = tree.root(1000)
    assert len(tree.reads) == 250  # one read per chunk of 4
    for index in range(1000):
        before = len(tree.reads)
        assert verify_inclusion(MANY[index], index, 1000, tree.inclusion_proof(index, 1000), root_hash)
        assert len(tree.reads) - before <= 1  # at most the leaf's own chunk; every larger subtree is known
    assert len(tree.reads) <= 250 + 250  # and consecutive proofs share that read
    before = len(tree.reads)
    tree.consistency_proof(999, 1000)
    tree.compact_range(1000)
    assert len(tree.reads) - before <= 1


def test_stored_tree_refuses_a_store_that_returns_the_wrong_leaves():
    with pytest.raises(LookupError):
        StoredTree(lambda start, end: MANY[start:end - 1]).root(5)
    with pytest.raises(ValueError):
        StoredTree(lambda start, end: [b"short"] * (end - start)).root(5)
    with pytest.raises(ValueError):
        StoredTree(lambda start, end: [], chunk_size=3)


@pytest.mark.parametrize("build", [
    lambda: CompactRange(3, [EMPTY_ROOT]),  # size 3 needs two nodes
    lambda: CompactRange(2, [b"short"]),
    lambda: CompactRange(-1, []),
    lambda: CompactRange.from_bytes(b"\x00" * 7),
    lambda: CompactRange.from_bytes((3).to_bytes(8, "big") + EMPTY_ROOT),
    lambda: CompactRange.from_hex(1, ["zz" * 32]),
    lambda: CompactRange.from_hex(1, ["00" * 31]),
    lambda: CompactRange.from_hex(2, []),
    lambda: CompactRange().append(b"short"),
])
def test_compact_range_refuses_malformed_frontiers(build):
    with pytest.raises(ValueError):
        build()


def test_compact_range_serialisations():
    compact = CompactRange.from_leaves(LEAVES[:7])
    assert compact.to_bytes() == (7).to_bytes(8, "big") + b"".join(FRONTIERS[7])
    assert compact.to_hex() == [node.hex() for node in FRONTIERS[7]]
    copy = compact.copy()
    copy.append(LEAVES[7])
    assert (compact.size, copy.size, copy.root()) == (7, 8, ROOTS[8])
    assert CompactRange.from_bytes(CompactRange().to_bytes()).root() == EMPTY_ROOT
