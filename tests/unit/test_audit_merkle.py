"""RFC 9162 Merkle tree: known answers, every (m, n) proof up to 64 against a naive recursive tree
written here from the RFC's definitions, and tampered proofs."""

import hashlib

import pytest

from trading.audit import merkle

# The certificate-transparency reference test leaves (merkle_tree_test.cc) and their published roots.
CT_LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                        "606162636465666768696a6b6c6d6e6f")]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def sha(b):
    return hashlib.sha256(b).digest()


def naive_mth(entries):
    """MTH from RFC 9162 §2.1.1, recursively, over the raw entries."""
    n = len(entries)
    if n == 0:
        return sha(b"")
    if n == 1:
        return sha(b"\x00" + entries[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return sha(b"\x01" + naive_mth(entries[:k]) + naive_mth(entries[k:]))


def naive_path(m, entries):
    n = len(entries)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return naive_path(m, entries[:k]) + [naive_mth(entries[k:])]
    return naive_path(m - k, entries[k:]) + [naive_mth(entries[:k])]


def naive_subproof(m, entries, b):
    n = len(entries)
    if m == n:
        return [] if b else [naive_mth(entries)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return naive_subproof(m, entries[:k], b) + [naive_mth(entries[k:])]
    return naive_subproof(m - k, entries[k:], False) + [naive_mth(entries[:k])]


ENTRIES = [f'{{"seq":{i},"x":"{"y" * (i % 7)}"}}'.encode() for i in range(64)]
LEAVES = [merkle.leaf_hash(e) for e in ENTRIES]
ROOTS = [naive_mth(ENTRIES[:n]) for n in range(65)]


def test_ct_known_answers():
    for n in range(1, 9):
        assert naive_mth(CT_LEAVES[:n]).hex() == CT_ROOTS[n - 1]
        size, root = merkle.tree_head(CT_LEAVES[:n])
        assert (size, root.hex()) == (n, CT_ROOTS[n - 1])
    assert merkle.tree_head([]) == (0, hashlib.sha256(b"").digest())


def test_hash_definitions():
    assert merkle.leaf_hash(b"abc") == sha(b"\x00abc")
    left, right = sha(b"l"), sha(b"r")
    assert merkle.node_hash(left, right) == sha(b"\x01" + left + right)


def test_frontier_root_at_every_size_and_resume_from_packed():
    f = merkle.Frontier()
    for n in range(1, 65):
        f.append(LEAVES[n - 1])
        assert f.root() == ROOTS[n]
        assert len(f.hashes) == bin(n).count("1")
        resumed = merkle.Frontier.unpack(n, f.pack())
        resumed.extend(LEAVES[n:])
        assert resumed.root() == ROOTS[64]


def test_frontier_reports_completed_subtrees():
    seen = {}
    merkle.Frontier().extend(LEAVES[:16], on_node=lambda level, index, h: seen.__setitem__((level, index), h))
    for (level, index), h in seen.items():
        lo, hi = index << level, (index + 1) << level
        assert h == naive_mth(ENTRIES[lo:hi])
    assert len(seen) == 15  # 8 + 4 + 2 + 1 internal nodes of a perfect 16-leaf tree


def test_frontier_refuses_a_wrong_shape():
    with pytest.raises(ValueError):
        merkle.Frontier(3, [LEAVES[0]])


def test_inclusion_proofs_every_leaf_every_size():
    subtree = merkle.leaves_subtree(LEAVES)
    for n in range(1, 65):
        for m in range(n):
            proof = merkle.inclusion_proof(m, n, subtree)
            assert proof == naive_path(m, ENTRIES[:n])
            assert merkle.verify_inclusion(m, n, LEAVES[m], proof, ROOTS[n])


def test_consistency_proofs_every_pair():
    subtree = merkle.leaves_subtree(LEAVES)
    for n in range(1, 65):
        for m in range(1, n + 1):
            proof = merkle.consistency_proof(m, n, subtree)
            assert proof == (naive_subproof(m, ENTRIES[:n], True) if m < n else [])
            assert merkle.verify_consistency(m, n, ROOTS[m], ROOTS[n], proof), (m, n)
    assert merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, ROOTS[5], [])


def _flip(h):
    return bytes([h[0] ^ 1]) + h[1:]


def test_tampered_inclusion_proofs_fail():
    subtree = merkle.leaves_subtree(LEAVES)
    for n in (1, 2, 3, 7, 8, 13, 32, 33, 64):
        for m in range(n):
            proof = merkle.inclusion_proof(m, n, subtree)
            assert not merkle.verify_inclusion(m, n, _flip(LEAVES[m]), proof, ROOTS[n])
            assert not merkle.verify_inclusion(m, n, LEAVES[m], proof, _flip(ROOTS[n]))
            for i in range(len(proof)):
                bad = proof[:i] + [_flip(proof[i])] + proof[i + 1:]
                assert not merkle.verify_inclusion(m, n, LEAVES[m], bad, ROOTS[n])
            assert not merkle.verify_inclusion(m, n, LEAVES[m], proof + [LEAVES[0]], ROOTS[n])
            if proof:
                assert not merkle.verify_inclusion(m, n, LEAVES[m], proof[:-1], ROOTS[n])
            if n > 1:  # the same proof does not place the leaf elsewhere
                other = (m + 1) % n
                assert not merkle.verify_inclusion(other, n, LEAVES[m], proof, ROOTS[n]) or LEAVES[m] == LEAVES[other]
    assert not merkle.verify_inclusion(5, 5, LEAVES[0], [], ROOTS[5])
    assert not merkle.verify_inclusion(-1, 5, LEAVES[0], [], ROOTS[5])


def test_tampered_consistency_proofs_fail():
    subtree = merkle.leaves_subtree(LEAVES)
    for n in range(2, 65, 3):
        for m in range(1, n):
            proof = merkle.consistency_proof(m, n, subtree)
            assert not merkle.verify_consistency(m, n, _flip(ROOTS[m]), ROOTS[n], proof)
            assert not merkle.verify_consistency(m, n, ROOTS[m], _flip(ROOTS[n]), proof)
            for i in range(len(proof)):
                bad = proof[:i] + [_flip(proof[i])] + proof[i + 1:]
                assert not merkle.verify_consistency(m, n, ROOTS[m], ROOTS[n], bad), (m, n, i)
            assert not merkle.verify_consistency(m, n, ROOTS[m], ROOTS[n], proof[:-1])
            assert not merkle.verify_consistency(m, n, ROOTS[m], ROOTS[n], proof + [LEAVES[0]])
            assert not merkle.verify_consistency(m, n, ROOTS[m], ROOTS[n], [])
            # a forked log: the old tree's root is not a prefix of a tree that changed an old entry
            forked = list(ENTRIES[:n])
            forked[m - 1] = b"changed"
            assert not merkle.verify_consistency(m, n, ROOTS[m], naive_mth(forked), proof)
    assert not merkle.verify_consistency(5, 4, ROOTS[5], ROOTS[4], [])
    assert not merkle.verify_consistency(4, 4, ROOTS[4], ROOTS[5], [])
    assert not merkle.verify_consistency(0, 4, merkle.EMPTY_ROOT, ROOTS[4], [LEAVES[0]])


def test_proof_arguments_out_of_range():
    subtree = merkle.leaves_subtree(LEAVES)
    with pytest.raises(ValueError):
        merkle.inclusion_proof(4, 4, subtree)
    with pytest.raises(ValueError):
        merkle.consistency_proof(5, 4, subtree)
