"""Sealed-offer fixtures: a lot that accepts sealed offers (with an opening key whose private half
the test keeps, so it can open what was accepted), bidders with registered signing keys, envelopes.

    lot = sealed_lot(ctx)                                   # lot.code, lot.trade, lot.opening_private
    b = bidder_with_key(ctx)                                # b.user, b.org, b.key (P-256 private), b.ctx
    manifest, payload = seal_for(lot, b, part, sid, b"...")  # manifest dict (JSON-ready) and bytes

The lot is built directly (a draft announcement for its dates, the LotTrade row, an OpeningKey made
with sealing.shamir.make_opening_key), so these tests do not depend on the custodian pool the
publication ceremony needs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric import ec

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.notices import make_notice, notice_project
from trading.accounts.models import Organisation, User
from trading.accounts.signing_keys import register_signing_key
from trading.core.context import ServiceContext
from trading.procedures.common.lots import LotStatus
from trading.procedures.common.models import LotTrade
from trading.procedures.common.opening.models import OpeningKey
from trading.sealing import envelope as env
from trading.sealing.shamir import make_opening_key, rebuild_private_key


@dataclass
class SealedLot:
    code: str
    trade: LotTrade
    owner: User
    opening_public: ec.EllipticCurvePublicKey
    opening_private: ec.EllipticCurvePrivateKey

    @property
    def deadline(self) -> datetime:
        return self.trade.deadline_at


@dataclass
class Bidder:
    user: User
    org: Organisation
    key: ec.EllipticCurvePrivateKey
    ctx: ServiceContext


def sealed_lot(ctx: ServiceContext, *, owner: User | None = None, max_part_bytes: int = 8 * 1024 * 1024,
               deposit_fen: int = 0) -> SealedLot:
    owner = owner or make_user(ctx, "owner")
    project = notice_project(ctx, owner, procedure="tender")
    notice = make_notice(actor_ctx(ctx.session, ctx.clock, owner), project)
    lot = project.lots[0]
    now = ctx.now()
    trade = LotTrade(lot_id=lot.id, project_id=project.id, lot_code=lot.code, notice_id=notice.id,
                     procedure="tender", sealed=True, docs_from=notice.docs_from, docs_until=notice.docs_until,
                     deadline_at=notice.deadline_at, opening_at=notice.opening_at, max_part_bytes=max_part_bytes,
                     deposit_fen=deposit_fen, min_valid_offers=3, status=LotStatus.ACCEPTING,
                     status_changed_at=now, created_at=now)
    ctx.session.add(trade)
    ctx.session.flush()
    ceremony = make_opening_key(2, 3)
    ctx.session.add(OpeningKey(lot_id=lot.id, public_raw=ceremony.public_key_bytes, kid=ceremony.kid,
                               k=ceremony.k, n=ceremony.n, created_at=now, audit_seq=0))
    ctx.session.flush()
    private = rebuild_private_key([(s.x, s) for s in ceremony.shares[:2]], ceremony.commitments, 2,
                                  ceremony.public_key_bytes)
    return SealedLot(lot.code, trade, owner, env.load_public(ceremony.public_key_bytes), private)


def bidder_with_key(ctx: ServiceContext, *, org=None) -> Bidder:
    user = make_user(ctx, "bidder", org=org)
    key = ec.generate_private_key(ec.SECP256R1())
    bctx = actor_ctx(ctx.session, ctx.clock, user)
    register_signing_key(bctx, public_raw=env.public_raw(key.public_key()), label="test", source="tool")
    return Bidder(user, user.organisation, key, bctx)


def seal_for(lot: SealedLot, bidder: Bidder, part: str, sid: str, plaintext: bytes, *,
             chunk_log2: int = 10, signing_key: ec.EllipticCurvePrivateKey | None = None,
             opening_public: ec.EllipticCurvePublicKey | None = None) -> tuple[dict, bytes]:
    context = env.Context(lot.code, bidder.org.credit_code, part, sid)
    return env.seal(plaintext, context, opening_public or lot.opening_public, signing_key or bidder.key,
                    chunk_log2=chunk_log2)


def manifest_bytes(manifest: dict) -> bytes:
    return json.dumps(manifest).encode("utf-8")


def price_sheet(price_fen: int = 123_456_00) -> bytes:
    return json.dumps({"v": 1, "price_fen": price_fen, "duration_days": 180, "quality": "合格",
                       "remarks": ""}, ensure_ascii=False).encode("utf-8")
