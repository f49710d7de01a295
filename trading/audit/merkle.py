"""RFC 9162 (Certificate Transparency 2.0) Merkle tree over the stored audit entries, pure stdlib.

leaf(entry)  = SHA-256(0x00 || entry bytes as stored)
node(l, r)   = SHA-256(0x01 || l || r)
MTH(D[0:n])  = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two smaller than n

`Frontier` keeps the right edge of the tree (one hash per 1-bit of the size, at most 64), so a tree
can be extended from a stored size without rehashing the entries before it. Proof generation works
on any `subtree(lo, hi) -> MTH(D[lo:hi])` provider (a list of leaves, or stored nodes plus entries);
verification follows RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) step by step."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

_sha256 = hashlib.sha256
HASH_SIZE = 32
EMPTY_ROOT = _sha256(b"").digest()

Subtree = Callable[[int, int], bytes]


def leaf_hash(entry: bytes) -> bytes:
    return _sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class Frontier:
    """The compact range [0, size): the roots of the perfect subtrees of the size's binary
    decomposition, largest (leftmost) first. `on_node(level, index, hash)` is told of every perfect
    subtree completed at level >= 1 (the stored-node cache uses it)."""

    __slots__ = ("size", "hashes")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()):
        if len(hashes) != bin(size).count("1"):
            raise ValueError(f"a frontier of size {size} holds {bin(size).count('1')} hashes, got {len(hashes)}")
        self.size = size
        self.hashes = list(hashes)

    def append(self, leaf: bytes, on_node: Callable[[int, int, bytes], None] | None = None) -> None:
        hashes = self.hashes
        hashes.append(leaf)
        n = self.size
        level = 0
        while n & 1:
            right = hashes.pop()
            hashes[-1] = h = _sha256(b"\x01" + hashes[-1] + right).digest()
            n >>= 1
            level += 1
            if on_node is not None:
                on_node(level, n, h)  # the new subtree covers leaves [n << level, (n + 1) << level)
        self.size += 1

    def extend(self, leaves: Iterable[bytes], on_node: Callable[[int, int, bytes], None] | None = None) -> None:
        for leaf in leaves:
            self.append(leaf, on_node)

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        r = self.hashes[-1]
        for h in reversed(self.hashes[:-1]):
            r = _sha256(b"\x01" + h + r).digest()
        return r

    def pack(self) -> bytes:
        return b"".join(self.hashes)

    @classmethod
    def unpack(cls, size: int, packed: bytes) -> Frontier:
        if len(packed) % HASH_SIZE:
            raise ValueError("packed frontier is not a whole number of hashes")
        return cls(size, [bytes(packed[i:i + HASH_SIZE]) for i in range(0, len(packed), HASH_SIZE)])

    def copy(self) -> Frontier:
        return Frontier(self.size, list(self.hashes))


def root_of_leaves(leaves: Sequence[bytes]) -> bytes:
    f = Frontier()
    f.extend(leaves)
    return f.root()


def tree_head(entries: Iterable[bytes]) -> tuple[int, bytes]:
    f = Frontier()
    f.extend(leaf_hash(e) for e in entries)
    return f.size, f.root()


def leaves_subtree(leaves: Sequence[bytes]) -> Subtree:
    """A subtree provider over an in-memory list of leaf hashes."""
    def subtree(lo: int, hi: int) -> bytes:
        return root_of_leaves(leaves[lo:hi])
    return subtree


# --- proofs (RFC 9162 §2.1.3.1 and §2.1.4.1, on a subtree provider) ---------------------------------

def inclusion_proof(index: int, size: int, subtree: Subtree) -> list[bytes]:
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    proof: list[bytes] = []
    lo, hi, m = 0, size, index
    while hi - lo > 1:
        k = split_point(hi - lo)
        if m < k:
            proof.append(subtree(lo + k, hi))
            hi = lo + k
        else:
            proof.append(subtree(lo, lo + k))
            lo += k
            m -= k
    proof.reverse()  # PATH lists the sibling nearest the leaf first
    return proof


def consistency_proof(first: int, second: int, subtree: Subtree) -> list[bytes]:
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    if first == 0 or first == second:
        return []
    proof: list[bytes] = []
    lo, hi, m, complete = 0, second, first, True
    while True:
        n = hi - lo
        if m == n:
            if not complete:
                proof.append(subtree(lo, hi))
            break
        k = split_point(n)
        if m <= k:
            proof.append(subtree(lo + k, hi))
            hi = lo + k
        else:
            proof.append(subtree(lo, lo + k))
            lo += k
            m -= k
            complete = False
    proof.reverse()
    return proof


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ---------------------------------------------------

def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """The root the proof leads to, or None when the proof has the wrong shape."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    return root_from_inclusion(index, size, leaf, proof) == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    if not 0 <= first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof  # the empty tree is a prefix of every tree
    path = list(proof)
    if not path:
        return False
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0
