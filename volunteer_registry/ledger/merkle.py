"""The Merkle log over ledger entries: RFC 9162 (Certificate Transparency 2.0) hashing, roots and proofs.

RFC 9162 hashes exactly as RFC 6962 did, so roots and proofs interoperate with every CT / C2SP tlog tool:

- leaf hash ``SHA-256(0x00 ‖ leaf bytes)``, interior node ``SHA-256(0x01 ‖ left ‖ right)``, empty tree ``SHA-256("")``;
- the root of n > 1 leaves is ``node(MTH(D[0:k]), MTH(D[k:n]))`` with k the largest power of two smaller than n.

Everything here works on *leaf hashes* (32-byte values), never on entries, and touches no database:

- module functions (:func:`root`, :func:`inclusion_proof`, :func:`consistency_proof`) take the leaf hashes in memory;
- :class:`StoredTree` answers the same questions for leaf hashes kept elsewhere (a table), read through a callable;
- :class:`CompactRange` keeps only the right frontier of a tree, so a batch of k new leaves extends a tree of n
  leaves in O(k + log n) hashes without reading any earlier leaf;
- :func:`verify_inclusion` and :func:`verify_consistency` are the verification algorithms of RFC 9162 §2.1.3.2 and
  §2.1.4.2, step for step; they return False for anything that does not verify, never raise.
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
#: the root of the empty tree (RFC 9162 §2.1.1): SHA-256 of the empty string
EMPTY_ROOT = hashlib.sha256(b"").digest()
#: RFC 9162 caps tree sizes at 2^64 - 1 (they travel as uint64)
MAX_TREE_SIZE = 2**64 - 1

#: ``get_leaves(start, end)`` returns the leaf hashes at indices start..end-1, in order
LeafReader = Callable[[int, int], Sequence[bytes]]


def leaf_hash(data: bytes) -> bytes:
    """The hash of one leaf: SHA-256(0x00 ‖ data)."""
    return hashlib.sha256(b"\x00" + bytes(data)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes | bytearray) and len(value) == HASH_SIZE


def _check_leaf_hashes(leaf_hashes: Iterable[bytes]) -> None:
    for position, value in enumerate(leaf_hashes):
        if not _is_hash(value):
            raise ValueError(f"leaf hash {position} is not {HASH_SIZE} bytes")


def _check_size(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_TREE_SIZE:
        raise ValueError(f"{name} must be an integer between 0 and 2^64 - 1, not {value!r}")


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _fold(subtree_roots: Sequence[bytes]) -> bytes:
    """The root over consecutive perfect subtrees listed largest first (the shape of every MTH(D[k:n]))."""
    result = subtree_roots[-1]
    for left in reversed(subtree_roots[:-1]):
        result = node_hash(left, result)
    return result


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle tree hash (MTH) of the given leaf hashes; EMPTY_ROOT for none.

    Computed level by level (an unpaired last node moves up unchanged), which gives the same tree as the RFC's
    split at the largest power of two, in n - 1 node hashes.
    """
    _check_leaf_hashes(leaf_hashes)
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return bytes(level[0])


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, tree_size: int) -> list[bytes]:
    """The audit path PATH(index, D[0:tree_size]) of RFC 9162 §2.1.3.1, the leaf's sibling first.

    Raises ValueError unless 0 <= index < tree_size <= len(leaf_hashes).
    """
    _check_size("tree_size", tree_size)
    _check_size("index", index)
    if tree_size > len(leaf_hashes):
        raise ValueError(f"tree size {tree_size} is larger than the {len(leaf_hashes)} leaves given")
    if index >= tree_size:
        raise ValueError(f"index {index} is not in a tree of size {tree_size}")
    path: list[bytes] = []
    start, end = 0, tree_size
    while end - start > 1:  # walk down from the root, collecting the sibling of each subtree holding the leaf
        k = _split(end - start)
        if index < start + k:
            path.append(root(leaf_hashes[start + k:end]))
            end = start + k
        else:
            path.append(root(leaf_hashes[start:start + k]))
            start += k
    path.reverse()
    return path


def consistency_proof(leaf_hashes: Sequence[bytes], first: int, second: int) -> list[bytes]:
    """The consistency proof PROOF(first, D[0:second]) of RFC 9162 §2.1.4.1.

    Empty when first is 0 or first == second (nothing to prove). Raises ValueError unless
    0 <= first <= second <= len(leaf_hashes).
    """
    _check_size("first", first)
    _check_size("second", second)
    if second > len(leaf_hashes):
        raise ValueError(f"tree size {second} is larger than the {len(leaf_hashes)} leaves given")
    if first > second:
        raise ValueError(f"the first tree ({first}) is larger than the second ({second})")
    if first in (0, second):
        return []
    proof: list[bytes] = []
    m, start, end, whole_first_tree = first, 0, second, True
    while True:  # SUBPROOF(m, D[start:end], whole_first_tree), walked from the top
        if m == end - start:
            if not whole_first_tree:
                proof.append(root(leaf_hashes[start:end]))
            break
        k = _split(end - start)
        if m <= k:
            proof.append(root(leaf_hashes[start + k:end]))
            end = start + k
        else:
            proof.append(root(leaf_hashes[start:start + k]))
            start, m, whole_first_tree = start + k, m - k, False
    proof.reverse()
    return proof


def verify_inclusion(leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """Whether ``proof`` shows the leaf with this hash at ``index`` in the tree of ``tree_size`` with this root.

    RFC 9162 §2.1.3.2, step for step; in addition every hash must be 32 bytes.
    """
    if not (_is_hash(leaf_hash) and _is_hash(root) and all(_is_hash(node) for node in proof)):
        return False
    if not (isinstance(index, int) and isinstance(tree_size, int)) or index < 0 or index >= tree_size:
        return False
    fn, sn = index, tree_size - 1
    r = bytes(leaf_hash)
    for p in proof:
        if sn == 0:
            return False  # the proof is longer than the path
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:  # the leaf's subtree is the right edge: climb to where it is a right child
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """Whether ``proof`` shows the tree (first, first_root) is a prefix of the tree (second, second_root).

    RFC 9162 §2.1.4.2, step for step, for 0 < first < second. The cases the RFC leaves to the caller: first > second
    never verifies; first == second verifies only with an empty proof and equal roots; first == 0 verifies only with
    an empty proof and first_root the empty-tree root. Every hash must be 32 bytes.
    """
    if not (_is_hash(first_root) and _is_hash(second_root) and all(_is_hash(node) for node in proof)):
        return False
    if not (isinstance(first, int) and isinstance(second, int)) or first < 0 or first > second:
        return False
    if first == second:
        return not proof and first_root == second_root and (first > 0 or first_root == EMPTY_ROOT)
    if first == 0:
        return not proof and first_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # a perfect first tree is itself a node of the second; the proof leaves it out
        path.insert(0, bytes(first_root))
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False  # the proof is longer than the path
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_root and sr == second_root and sn == 0


class CompactRange:
    """The right frontier of a tree: the roots of its perfect subtrees, largest first (one per 1-bit of the size).

    This is all that is needed to append leaves and compute the new root (CT's compact Merkle tree, Trillian's
    compact range starting at 0). Appending k leaves to a tree of n costs O(k + log n) hashes and reads no earlier
    leaf. Store :meth:`to_bytes` or :meth:`to_hex` next to a checkpoint to resume from it.
    """

    __slots__ = ("_size", "_nodes")

    def __init__(self, size: int = 0, nodes: Sequence[bytes] = ()):
        _check_size("size", size)
        if len(nodes) != size.bit_count():
            raise ValueError(f"a tree of size {size} has {size.bit_count()} frontier nodes, not {len(nodes)}")
        if not all(_is_hash(node) for node in nodes):
            raise ValueError(f"every frontier node must be {HASH_SIZE} bytes")
        self._size = size
        self._nodes = [bytes(node) for node in nodes]

    @classmethod
    def from_leaves(cls, leaf_hashes: Iterable[bytes]) -> CompactRange:
        """The frontier of the tree over these leaf hashes."""
        compact = cls()
        compact.extend(leaf_hashes)
        return compact

    @property
    def size(self) -> int:
        """The number of leaves in the tree."""
        return self._size

    @property
    def nodes(self) -> tuple[bytes, ...]:
        """The perfect-subtree roots, largest (leftmost) first."""
        return tuple(self._nodes)

    def append(self, leaf_hash: bytes) -> None:
        """Add one leaf hash at index ``size``."""
        if not _is_hash(leaf_hash):
            raise ValueError(f"a leaf hash must be {HASH_SIZE} bytes")
        if self._size == MAX_TREE_SIZE:
            raise ValueError("the tree is full")
        node, size = bytes(leaf_hash), self._size
        while size & 1:  # merge with each equal-sized subtree on the right edge
            node = node_hash(self._nodes.pop(), node)
            size >>= 1
        self._nodes.append(node)
        self._size += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Add leaf hashes in order."""
        for value in leaf_hashes:
            self.append(value)

    def root(self) -> bytes:
        """The root of the tree; EMPTY_ROOT when it has no leaves."""
        return _fold(self._nodes) if self._nodes else EMPTY_ROOT

    def copy(self) -> CompactRange:
        return CompactRange(self._size, self._nodes)

    def to_bytes(self) -> bytes:
        """The size as 8 bytes big-endian, then the frontier nodes."""
        return self._size.to_bytes(8, "big") + b"".join(self._nodes)

    @classmethod
    def from_bytes(cls, data: bytes) -> CompactRange:
        """The inverse of :meth:`to_bytes`; ValueError if the length does not match the size."""
        if len(data) < 8:
            raise ValueError("a compact range starts with an 8-byte size")
        size = int.from_bytes(data[:8], "big")
        body = data[8:]
        if len(body) != HASH_SIZE * size.bit_count():
            raise ValueError(f"a tree of size {size} needs {size.bit_count()} frontier nodes")
        return cls(size, [body[i:i + HASH_SIZE] for i in range(0, len(body), HASH_SIZE)])

    def to_hex(self) -> list[str]:
        """The frontier nodes as lowercase hex strings (the size is kept separately, e.g. the checkpoint's)."""
        return [node.hex() for node in self._nodes]

    @classmethod
    def from_hex(cls, size: int, nodes: Sequence[str]) -> CompactRange:
        """The inverse of :meth:`to_hex`; ValueError on bad hex or a count that does not match the size."""
        if not all(isinstance(node, str) and len(node) == 2 * HASH_SIZE for node in nodes):
            raise ValueError(f"every frontier node must be {2 * HASH_SIZE} hex digits")
        return cls(size, [bytes.fromhex(node) for node in nodes])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompactRange):
            return NotImplemented
        return self._size == other._size and self._nodes == other._nodes

    __hash__ = None  # mutable

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size}, root={self.root().hex()})"


class StoredTree:
    """Roots, proofs and frontiers for leaf hashes kept elsewhere, read through ``get_leaves(start, end)``.

    The store must be append-only: the hash of every perfect subtree then never changes, so those of ``chunk_size``
    leaves (a power of two) and more are memoised (least recently used first out, ``cache_size`` of them), and the
    leaves of the last few chunks read are kept. Once the large subtrees are known, a proof reads at most one range
    of leaves (within the leaf's chunk) and costs O(log n + chunk_size) hashes. A check that must notice a changed
    store (``ledger verify``) uses a fresh instance.
    """

    #: chunks of leaves kept for the small subtrees of consecutive proofs
    KEPT_CHUNKS = 4

    def __init__(self, get_leaves: LeafReader, *, cache_size: int = 65_536, chunk_size: int = 1024):
        if chunk_size < 1 or chunk_size & (chunk_size - 1):
            raise ValueError("chunk_size must be a power of two")
        self._get_leaves = get_leaves
        self._cache: OrderedDict[tuple[int, int], bytes] = OrderedDict()
        self._cache_size = cache_size
        self._chunk_level = chunk_size.bit_length() - 1
        self._chunks: OrderedDict[int, list[bytes]] = OrderedDict()

    def _read(self, start: int, end: int) -> list[bytes]:
        leaves = list(self._get_leaves(start, end))
        if len(leaves) != end - start:
            raise LookupError(f"the leaf store returned {len(leaves)} leaves for [{start}, {end})")
        _check_leaf_hashes(leaves)
        return leaves

    def _chunk_leaves(self, start: int, end: int) -> list[bytes]:
        """Leaves [start, end), all within one chunk, read together with the chunk's earlier leaves."""
        chunk_start = start >> self._chunk_level << self._chunk_level
        leaves = self._chunks.get(chunk_start)
        if leaves is None or len(leaves) < end - chunk_start:
            leaves = self._chunks[chunk_start] = self._read(chunk_start, end)
            if len(self._chunks) > self.KEPT_CHUNKS:
                self._chunks.popitem(last=False)
        else:
            self._chunks.move_to_end(chunk_start)
        return leaves[start - chunk_start:end - chunk_start]

    def subtree(self, level: int, index: int) -> bytes:
        """The root of the perfect subtree over leaves [index·2^level, (index+1)·2^level)."""
        if level < self._chunk_level:
            return root(self._chunk_leaves(index << level, (index + 1) << level))
        key = (level, index)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        if level == self._chunk_level:
            value = root(self._chunk_leaves(index << level, (index + 1) << level))
        else:
            value = node_hash(self.subtree(level - 1, 2 * index), self.subtree(level - 1, 2 * index + 1))
        self._cache[key] = value
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return value

    def _perfect_subtrees(self, start: int, end: int) -> list[bytes]:
        """The perfect subtrees covering [start, end), largest first; start must be aligned to the range's size
        rounded up to a power of two, as every range of the RFC's recursion is."""
        nodes, position, n = [], start, end - start
        for level in reversed(range(n.bit_length())):
            if n >> level & 1:
                nodes.append(self.subtree(level, position >> level))
                position += 1 << level
        return nodes

    def _range_root(self, start: int, end: int) -> bytes:
        return _fold(self._perfect_subtrees(start, end))

    def root(self, tree_size: int) -> bytes:
        """The root of the first ``tree_size`` leaves."""
        _check_size("tree_size", tree_size)
        return self._range_root(0, tree_size) if tree_size else EMPTY_ROOT

    def compact_range(self, tree_size: int) -> CompactRange:
        """The frontier of the first ``tree_size`` leaves, to extend from."""
        _check_size("tree_size", tree_size)
        return CompactRange(tree_size, self._perfect_subtrees(0, tree_size))

    def inclusion_proof(self, index: int, tree_size: int) -> list[bytes]:
        """As :func:`inclusion_proof`, over the stored leaves."""
        _check_size("tree_size", tree_size)
        _check_size("index", index)
        if index >= tree_size:
            raise ValueError(f"index {index} is not in a tree of size {tree_size}")
        path: list[bytes] = []
        start, end = 0, tree_size
        while end - start > 1:
            k = _split(end - start)
            if index < start + k:
                path.append(self._range_root(start + k, end))
                end = start + k
            else:
                path.append(self.subtree(k.bit_length() - 1, start // k))
                start += k
        path.reverse()
        return path

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """As :func:`consistency_proof`, over the stored leaves."""
        _check_size("first", first)
        _check_size("second", second)
        if first > second:
            raise ValueError(f"the first tree ({first}) is larger than the second ({second})")
        if first in (0, second):
            return []
        proof: list[bytes] = []
        m, start, end, whole_first_tree = first, 0, second, True
        while True:
            if m == end - start:
                if not whole_first_tree:
                    proof.append(self._range_root(start, end))
                break
            k = _split(end - start)
            if m <= k:
                proof.append(self._range_root(start + k, end))
                end = start + k
            else:
                proof.append(self.subtree(k.bit_length() - 1, start // k))
                start, m, whole_first_tree = start + k, m - k, False
        proof.reverse()
        return proof
