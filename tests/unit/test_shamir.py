"""Shamir k-of-n opening key (design/sealing.md, "Opening key and custodians"; "What must be tested")."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.sealing import shamir
from trading.sealing.shamir import (
    ORDER,
    KeyMismatch,
    NotEnoughShares,
    Share,
    ShareRejected,
    combine,
    commitment,
    make_opening_key,
    rebuild_private_key,
    split,
    verify_share,
)

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ptbid-v1-vectors.json"


@pytest.fixture(scope="module")
def vector():
    if not VECTORS.exists():
        pytest.skip(f"shared vectors not found at {VECTORS}")
    data = json.loads(VECTORS.read_text(encoding="utf-8"))
    return data["shamir"], data["keys"]["opening"]


class FixedCoefficients:
    """An rng that returns the vector's coefficients a_1..a_{k-1}."""

    def __init__(self, values):
        self.values = list(values)

    def randbelow(self, bound):
        value = self.values.pop(0)
        assert 0 <= value < bound
        return value


def _shares(v):
    return [Share(s["x"], int(s["y_hex"], 16)) for s in v["shares"]]


def _private_d(key: ec.EllipticCurvePrivateKey) -> int:
    return key.private_numbers().private_value


# --- the fixed 3-of-5 vector ------------------------------------------------------------------------

def test_vector_order_is_p256_order(vector):
    v, _ = vector
    assert int(v["order_n_hex"], 16) == ORDER


def test_vector_split_reproduces_shares(vector):
    v, _ = vector
    coefficients = [int(c, 16) for c in v["coefficients_hex"]]
    d = int(v["d_hex"], 16)
    assert coefficients[0] == d
    got = split(d, v["k"], v["n"], rng=FixedCoefficients(coefficients[1:]))
    assert got == _shares(v)


def test_vector_commitments_reproduce(vector):
    v, _ = vector
    for s in v["shares"]:
        assert commitment(int(s["y_hex"], 16)).hex() == s["Y_raw_hex"]
        assert verify_share(Share(s["x"], int(s["y_hex"], 16)), bytes.fromhex(s["Y_raw_hex"]))


def test_vector_every_3_subset_rebuilds_d_and_q(vector):
    v, opening = vector
    d = int(v["d_hex"], 16)
    assert v["d_hex"] == opening["d_hex"]
    commitments = [bytes.fromhex(s["Y_raw_hex"]) for s in v["shares"]]
    q = bytes.fromhex(opening["pub_raw_hex"])
    assert shamir.kid_of(q).hex() == opening["kid_hex"]
    for subset in itertools.combinations(_shares(v), v["k"]):
        assert combine(subset, v["k"]) == d
        key = rebuild_private_key([(s.x, s) for s in subset], commitments, v["k"], q)
        assert _private_d(key) == d


def test_vector_bad_share_refused_and_attributed(vector):
    v, opening = vector
    bad = v["bad_share"]
    commitments = [bytes.fromhex(s["Y_raw_hex"]) for s in v["shares"]]
    bad_share = Share(bad["x"], int(bad["y_hex"], 16))
    assert verify_share(bad_share, commitments[bad["x"] - 1]) is bad["verify_against_Y_2"]
    shares = _shares(v)
    submitted = [(1, shares[0]), (bad["x"], bad_share), (3, shares[2])]
    with pytest.raises(ShareRejected) as caught:
        rebuild_private_key(submitted, commitments, v["k"], bytes.fromhex(opening["pub_raw_hex"]))
    assert caught.value.index == bad["x"]


# --- properties ---------------------------------------------------------------------------------------

@settings(max_examples=25, deadline=None)
@given(data=st.data(), n=st.integers(min_value=2, max_value=7))
def test_any_k_of_n_rebuild(data, n):
    k = data.draw(st.integers(min_value=2, max_value=n))
    secret = data.draw(st.integers(min_value=1, max_value=ORDER - 1))
    shares = split(secret, k, n)
    chosen = data.draw(st.permutations(shares))[:k]
    assert combine(chosen, k) == secret


@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_ceremony_any_k_rebuilds_q(data):
    n = data.draw(st.integers(min_value=2, max_value=6))
    k = data.draw(st.integers(min_value=2, max_value=n))
    ceremony = make_opening_key(k, n)
    chosen = data.draw(st.permutations(ceremony.shares))[:k]
    key = rebuild_private_key([(s.x, s) for s in chosen], ceremony.commitments, k,
                              ceremony.public_key_bytes)
    assert shamir._point(key) == ceremony.public_key_bytes


def test_ceremony_shape_and_no_d():
    ceremony = make_opening_key()
    assert (ceremony.k, ceremony.n) == (3, 5)
    assert len(ceremony.public_key_bytes) == 65 and ceremony.public_key_bytes[0] == 4
    assert ceremony.kid == shamir.kid_of(ceremony.public_key_bytes) and len(ceremony.kid) == 8
    assert [s.x for s in ceremony.shares] == [1, 2, 3, 4, 5]
    assert all(len(c) == 65 for c in ceremony.commitments)
    assert all(verify_share(s, c) for s, c in zip(ceremony.shares, ceremony.commitments, strict=True))
    assert set(vars(ceremony)) == {"public_key_bytes", "kid", "k", "n", "commitments", "shares"}
    assert "y=" not in repr(ceremony.shares[0]) and "shares" not in repr(ceremony)


def test_k_minus_one_shares_cannot_open():
    ceremony = make_opening_key(3, 5)
    two = ceremony.shares[:2]
    with pytest.raises(NotEnoughShares):
        combine(two, 3)
    with pytest.raises(NotEnoughShares):
        rebuild_private_key([(s.x, s) for s in two], ceremony.commitments, 3, ceremony.public_key_bytes)
    # interpolating k-1 shares as if the threshold were k-1 gives a key that fails the Q check
    with pytest.raises(KeyMismatch):
        rebuild_private_key([(s.x, s) for s in two], ceremony.commitments, 2, ceremony.public_key_bytes)


@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_wrong_share_rejected_and_named(data):
    ceremony = make_opening_key(3, 5)
    order = data.draw(st.permutations(ceremony.shares))[:3]
    victim = data.draw(st.sampled_from(order))
    delta = data.draw(st.integers(min_value=1, max_value=ORDER - 1))
    submitted = [(s.x, Share(s.x, (s.y + delta) % ORDER) if s is victim else s) for s in order]
    with pytest.raises(ShareRejected) as caught:
        rebuild_private_key(submitted, ceremony.commitments, 3, ceremony.public_key_bytes)
    assert caught.value.index == victim.x


def test_share_under_another_custodian_index_refused():
    ceremony = make_opening_key(3, 5)
    s1, s2, s3 = ceremony.shares[:3]
    with pytest.raises(ShareRejected) as caught:
        rebuild_private_key([(1, s1), (4, s2), (3, s3)], ceremony.commitments, 3, ceremony.public_key_bytes)
    assert caught.value.index == 4
    with pytest.raises(ShareRejected) as caught:
        rebuild_private_key([(1, s1), (1, s1), (3, s3)], ceremony.commitments, 3, ceremony.public_key_bytes)
    assert caught.value.index == 1
    with pytest.raises(ShareRejected) as caught:
        rebuild_private_key([(6, Share(6, 5)), (1, s1)], ceremony.commitments, 3, ceremony.public_key_bytes)
    assert caught.value.index == 6


def test_other_lots_shares_fail_the_q_check_or_commitment():
    a, b = make_opening_key(), make_opening_key()
    with pytest.raises(ShareRejected):
        rebuild_private_key([(s.x, s) for s in b.shares[:3]], a.commitments, 3, a.public_key_bytes)
    with pytest.raises(KeyMismatch):
        rebuild_private_key([(s.x, s) for s in b.shares[:3]], b.commitments, 3, a.public_key_bytes)


def test_wrong_share_among_more_than_k_still_named():
    ceremony = make_opening_key(3, 5)
    s = ceremony.shares
    bad = Share(2, (s[1].y + 1) % ORDER)
    with pytest.raises(ShareRejected) as caught:
        rebuild_private_key([(1, s[0]), (2, bad), (3, s[2]), (4, s[3])], ceremony.commitments, 3,
                            ceremony.public_key_bytes)
    assert caught.value.index == 2


@pytest.mark.parametrize("shares, index", [
    ([Share(0, 5), Share(1, 6), Share(2, 7)], 0),
    ([Share(1, 5), Share(1, 6), Share(2, 7)], 1),
    ([Share(1, 5), Share(2, ORDER), Share(3, 7)], 2),
    ([Share(1, 5), Share(2, 6), Share(3, -1)], 3),
    ([Share(1, 5), Share(-2, 6), Share(3, 7)], -2),
])
def test_combine_refuses_bad_shares(shares, index):
    with pytest.raises(ShareRejected) as caught:
        combine(shares, 3)
    assert caught.value.index == index


def test_verify_share_out_of_range_is_false():
    c = commitment(7)
    assert verify_share(Share(1, 7), c)
    assert not verify_share(Share(1, 7 + ORDER), c)
    assert not verify_share(Share(1, 0), c)
    assert not verify_share(Share(1, 8), c)


def test_split_refuses_bad_parameters():
    for secret, k, n in [(0, 3, 5), (ORDER, 3, 5), (5, 1, 5), (5, 6, 5)]:
        with pytest.raises(shamir.ShamirError):
            split(secret, k, n)


def test_split_draws_from_the_given_rng():
    a = split(12345, 3, 5, rng=FixedCoefficients([7, 11]))
    assert a[0] == Share(1, 12345 + 7 + 11)
    assert combine(a[2:], 3) == 12345
