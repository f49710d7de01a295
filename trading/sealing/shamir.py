"""The lot's k-of-n opening key: Shamir secret sharing over the P-256 group order (design/sealing.md,
"Opening key and custodians").

The opening key is a P-256 scalar d; the polynomial f(x) = d + a_1 x + ... + a_{k-1} x^{k-1} mod n
(n = the group order) gives share i the point (i, f(i)) for i = 1..n_shares. Each share has a public
commitment Y_i = y_i·G (65-byte uncompressed SEC1 point), so at the opening a submitted share is checked
on its own and a wrong one is refused *and attributed* to its custodian (pycryptodome's GF(2^128) Shamir
gives a wrong secret silently).

Pitfalls held to (research/crypto.md §1e): coefficients come from `secrets`; x = 0, duplicate x and
y ≥ n are refused; after combining, the key is checked against the published public key Q. Python
integers are not constant-time and cannot be wiped: this module is for one ceremony and one opening at
known times, run in a short-lived process, never behind an endpoint outsiders can call with chosen shares.
No Flask, no SQLAlchemy: pure crypto."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

#: order of the P-256 base point G
ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
CURVE = ec.SECP256R1()
POINT_LEN = 65
KID_LEN = 8


class RandomSource(Protocol):
    def randbelow(self, exclusive_upper_bound: int, /) -> int: ...


class ShamirError(ValueError):
    """A share set or a share is unusable (bad x, duplicate x, y out of range, too few shares)."""


class ShareRejected(ShamirError):
    """One submitted share is refused; `index` names the share's x, i.e. its custodian."""

    def __init__(self, index: int, reason: str):
        super().__init__(f"share {index} rejected: {reason}")
        self.index = index
        self.reason = reason


class NotEnoughShares(ShamirError):
    """Fewer than k (valid) shares were given."""


class KeyMismatch(ShamirError):
    """The rebuilt key's public half is not the lot's published opening key Q."""


@dataclass(frozen=True)
class Share:
    """One share (x, y = f(x) mod n). `y` is secret, so it is kept out of repr (and thus out of logs)."""
    x: int
    y: int = field(repr=False)


@dataclass(frozen=True)
class Ceremony:
    """What the ceremony hands on: public values for the audit log, and the shares to encrypt for the
    custodians. It deliberately has no field for d (see make_opening_key)."""
    public_key_bytes: bytes         # Q, 65-byte uncompressed point
    kid: bytes                      # SHA-256(Q)[:8]
    k: int
    n: int
    commitments: list[bytes]        # Y_1..Y_n, 65 bytes each; commitments[i - 1] belongs to x = i
    shares: list[Share] = field(repr=False)


def _check_threshold(k: int, n_shares: int) -> None:
    if not (isinstance(k, int) and isinstance(n_shares, int)) or not 2 <= k <= n_shares < ORDER:
        raise ShamirError(f"need 2 <= k <= n, got k={k}, n={n_shares}")


def _check_share(share: Share) -> None:
    if not isinstance(share.x, int) or isinstance(share.x, bool) or not 0 < share.x < ORDER:
        raise ShareRejected(share.x, "x must be in 1..n-1 (x = 0 would be the secret itself)")
    if not isinstance(share.y, int) or isinstance(share.y, bool) or not 0 <= share.y < ORDER:
        raise ShareRejected(share.x, "y must be in 0..n-1")


def _eval(coefficients: Sequence[int], x: int) -> int:
    y = 0
    for a in reversed(coefficients):  # Horner
        y = (y * x + a) % ORDER
    return y


def split(secret: int, k: int, n_shares: int, rng: RandomSource = secrets) -> list[Share]:
    """Split `secret` (1 <= secret < n) into shares x = 1..n_shares, any k of which rebuild it.
    Random coefficients come from `rng` (default: the `secrets` module). A share with y = 0 has no
    commitment point, so such a polynomial (probability ~ n_shares/2^256) is drawn again."""
    _check_threshold(k, n_shares)
    if not isinstance(secret, int) or not 0 < secret < ORDER:
        raise ShamirError("the secret must be a P-256 scalar in 1..n-1")
    while True:
        coefficients = [secret] + [rng.randbelow(ORDER) for _ in range(k - 1)]
        shares = [Share(x, _eval(coefficients, x)) for x in range(1, n_shares + 1)]
        if all(s.y for s in shares):
            return shares


def combine(shares: Iterable[Share], k: int) -> int:
    """Lagrange interpolation at 0 mod n. Every share is checked (x in 1..n-1, x distinct, y < n);
    fewer than k shares are refused; with more than k, the first k are used. Note that shares from the
    wrong polynomial give a wrong value silently: callers check the result against Q (rebuild_private_key
    does, and checks each share against its commitment first)."""
    shares = list(shares)
    if not isinstance(k, int) or k < 2:
        raise ShamirError("k must be at least 2")
    seen: set[int] = set()
    for share in shares:
        _check_share(share)
        if share.x in seen:
            raise ShareRejected(share.x, "duplicate x")
        seen.add(share.x)
    if len(shares) < k:
        raise NotEnoughShares(f"{len(shares)} shares given, {k} needed")
    used = shares[:k]
    secret = 0
    for i, si in enumerate(used):
        num, den = 1, 1
        for j, sj in enumerate(used):
            if i != j:
                num = num * sj.x % ORDER
                den = den * (sj.x - si.x) % ORDER
        secret = (secret + si.y * num * pow(den, -1, ORDER)) % ORDER
    return secret


def _point(private: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> bytes:
    public = private.public_key() if isinstance(private, ec.EllipticCurvePrivateKey) else private
    return public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def commitment(y: int) -> bytes:
    """Y = y·G as a 65-byte uncompressed point (computed by pyca: derive_private_key(y).public_key())."""
    if not isinstance(y, int) or not 0 < y < ORDER:
        raise ShamirError("a commitment needs y in 1..n-1")
    return _point(ec.derive_private_key(y, CURVE))


def verify_share(share: Share, expected_commitment: bytes) -> bool:
    """True when share.y·G equals the published commitment (bytes compared in constant time)."""
    if not isinstance(share.y, int) or isinstance(share.y, bool) or not 0 < share.y < ORDER:
        return False
    return hmac.compare_digest(commitment(share.y), bytes(expected_commitment))


def kid_of(public_key_bytes: bytes) -> bytes:
    """Key id: the first 8 bytes of SHA-256 of the 65-byte point."""
    return hashlib.sha256(public_key_bytes).digest()[:KID_LEN]


def make_opening_key(k: int = 3, n: int = 5, rng: RandomSource = secrets) -> Ceremony:
    """The ceremony: draw d, Q = d·G, split d, commit to every share, check that every k-subset of the
    shares rebuilds d, and return Q, kid, the commitments and the shares — never d.

    Why d is not kept: the design's guarantee is that the opening key exists only as shares held by k of
    n custodians until the opening; a copy on any object could end up pickled, logged, cached or in a
    traceback. d lives only in this function's locals and is dropped on return. Python cannot wipe
    memory, so the caller runs the ceremony in a short-lived process that exits once the shares are
    encrypted for the custodians (design/sealing.md: "the process that held it exits")."""
    _check_threshold(k, n)
    d = 1 + rng.randbelow(ORDER - 1)
    public = _point(ec.derive_private_key(d, CURVE))
    shares = split(d, k, n, rng)
    for subset in itertools.combinations(shares, k):
        if combine(subset, k) != d:  # pragma: no cover - would be a bug in split/combine
            raise ShamirError("ceremony check failed: a k-subset does not rebuild the key")
    commitments = [commitment(s.y) for s in shares]
    del d
    return Ceremony(public_key_bytes=public, kid=kid_of(public), k=k, n=n,
                    commitments=commitments, shares=shares)


def rebuild_private_key(submitted: Iterable[tuple[int, Share]], commitments: Sequence[bytes], k: int,
                        expected_public: bytes | ec.EllipticCurvePublicKey) -> ec.EllipticCurvePrivateKey:
    """The opening: check each submitted (custodian_index, share) against its commitment Y_index, one by
    one in the order given; a wrong share raises ShareRejected naming that index. At k valid shares the
    key is rebuilt and its public half compared with Q (`expected_public`, 65 bytes or a key); a
    mismatch raises KeyMismatch. Shares after the k-th valid one are not read."""
    if isinstance(expected_public, ec.EllipticCurvePublicKey):
        expected_public = _point(expected_public)
    valid: list[Share] = []
    seen: set[int] = set()
    for index, share in submitted:
        if not isinstance(index, int) or isinstance(index, bool) or not 1 <= index <= len(commitments):
            raise ShareRejected(index, f"no custodian {index} (1..{len(commitments)})")
        if index in seen:
            raise ShareRejected(index, "share already submitted")
        if share.x != index:
            raise ShareRejected(index, f"share x={share.x} does not belong to custodian {index}")
        _check_share(share)
        if not verify_share(share, commitments[index - 1]):
            raise ShareRejected(index, "share does not match its published commitment")
        seen.add(index)
        valid.append(share)
        if len(valid) == k:
            break
    if len(valid) < k:
        raise NotEnoughShares(f"{len(valid)} valid shares, {k} needed")
    d = combine(valid, k)
    private = ec.derive_private_key(d, CURVE) if d else None
    del d
    if private is None or not hmac.compare_digest(_point(private), bytes(expected_public)):
        raise KeyMismatch("the rebuilt key is not the lot's opening key")
    return private
