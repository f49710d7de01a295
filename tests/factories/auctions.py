"""拍卖 / 挂牌 / 网络竞价 lots for tests, made through the real services.

    w = auction_lot(ctx, procedure="land_listing", buyers=2)   # configured, 2 buyers qualified (deposit paid)
    w.clock.set(w.auction.start_at); start_bidding(w.c_op, w.code)
    place(w, w.buyers[0], answers=w.auction.starting_fen, amount=w.auction.starting_fen)

Land and mining lots take a 出让公告 (land_grant) with the factory's compliant dates; asset lots a
信息披露公告 (disclosure). Deposits arrive through a bank statement imported by the operator."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.deposits import statement_csv
from tests.factories.notices import bj_at, notice_project, published_notice
from trading.core.context import ServiceContext
from trading.procedures.auction import services
from trading.procedures.auction.models import Auction, AuctionApplication
from trading.procedures.common.deposits import statements
from trading.procedures.common.deposits.models import DepositAccount
from trading.procedures.common.lots import get_trade

WAN = 1_000_000
START = 80 * WAN          # 80万元
INC = 1 * WAN             # 1万元
_refs = itertools.count(1)

CATEGORY = {"land_auction": "land", "land_listing": "land", "mining_auction": "mining", "mining_listing": "mining",
            "asset_transfer": "state_asset", "online_bidding": "state_asset"}


@dataclass
class Buyer:
    user: object
    ctx: ServiceContext
    app: AuctionApplication | None = None


@dataclass
class AuctionWorld:
    ctx: ServiceContext
    clock: object
    code: str
    auction: Auction
    owner: object
    c_owner: ServiceContext
    c_op: ServiceContext
    c_sup: ServiceContext
    buyers: list[Buyer] = field(default_factory=list)


#: the day (from now) a land or mining auction is held: a mining-right notice needs 20 working days
AUCTION_DAY = {"mining_auction": 35}


def _dates(procedure: str, now):
    if CATEGORY[procedure] == "state_asset":
        return dict(kind="disclosure", deadline_at=bj_at(now, 29, 17, 0), opening_at=bj_at(now, 30, 9, 0),
                    closing_at=bj_at(now, 30, 15, 0))
    if procedure == "mining_auction":  # notice ≥ 20 WD (period.mining_notice_wd): applications close the evening before
        return dict(kind="land_grant", deadline_at=bj_at(now, AUCTION_DAY[procedure] - 1, 17, 0),
                    opening_at=bj_at(now, AUCTION_DAY[procedure], 9, 0))
    if procedure.endswith("_auction"):  # one day of sale: applications close the evening before
        return dict(kind="land_grant", deadline_at=bj_at(now, 24, 17, 0), opening_at=bj_at(now, 25, 9, 0))
    if procedure.startswith("mining"):  # notice ≥ 20 WD (period.mining_notice_wd), listing ≥ 10 WD
        return dict(kind="land_grant", opening_at=bj_at(now, 35, 9, 0), deadline_at=bj_at(now, 48, 17, 0),
                    closing_at=bj_at(now, 55, 15, 0))
    return dict(kind="land_grant")


def pay_deposit(w: AuctionWorld, buyer: Buyer, *, amount_fen: int | None = None, at=None) -> None:
    acc = w.ctx.session.query(DepositAccount).filter_by(participation_id=buyer.app.participation_id).one()
    fen = acc.required_fen if amount_fen is None else amount_fen
    data = statement_csv([(at or w.clock.now(), acc.virtual_account, "竞买公司", "6222000011112222",
                           f"{fen // 100}.{fen % 100:02d}", f"B{next(_refs):06d}")])
    statements.import_bank_statement(w.c_op, "statement.csv", data)


def add_buyer(w: AuctionWorld, *, qualify: bool = True, pay: bool = True) -> Buyer:
    user = make_user(w.ctx, "bidder")
    b = Buyer(user, actor_ctx(w.ctx.session, w.clock, user))
    b.app, _ = services.apply(b.ctx, w.code)
    if pay and get_trade(w.ctx, w.code).deposit_fen > 0:
        pay_deposit(w, b)
    if qualify:
        services.qualify(w.c_op, b.app.id)
    w.buyers.append(b)
    return b


def auction_lot(ctx: ServiceContext, *, procedure: str = "land_listing", buyers: int = 2, starting_fen: int = START,
                increment_fen: int = INC, deposit_fen: int | None = None, countdown_s: int | None = None,
                owner=None, **terms) -> AuctionWorld:
    owner = owner or make_user(ctx, "owner")
    c_owner = actor_ctx(ctx.session, ctx.clock, owner)
    project = notice_project(ctx, owner, category=CATEGORY[procedure], owner_type="gov", procedure=procedure,
                             total_investment_fen=starting_fen, lots=[{"name": "一号标的", "budget_fen": starting_fen}])
    published_notice(c_owner, project, title=f"{project.name}出让（转让）公告", **_dates(procedure, ctx.now()))
    code = project.lots[0].code
    if deposit_fen is None:
        deposit_fen = starting_fen * 20 // 100 if CATEGORY[procedure] != "state_asset" else starting_fen // 10
    if procedure.endswith("_auction") and "free_until" not in terms:  # one hour of free bidding
        terms["free_until"] = bj_at(ctx.now(), AUCTION_DAY.get(procedure, 25), 10, 0)
    a = services.configure_listing(c_owner, code, starting_fen=starting_fen, increment_fen=increment_fen,
                                   deposit_fen=deposit_fen, countdown_s=countdown_s, **terms)
    op = make_user(ctx, "operator", totp=True)
    sup = make_user(ctx, "supervisor", totp=True)
    w = AuctionWorld(ctx, ctx.clock, code, a, owner, c_owner, actor_ctx(ctx.session, ctx.clock, op),
                     actor_ctx(ctx.session, ctx.clock, sup))
    for _ in range(buyers):
        add_buyer(w)
    return w


def started(w: AuctionWorld) -> Auction:
    w.clock.set(w.auction.start_at)
    return services.start_bidding(w.c_op, w.code)


def place(w: AuctionWorld, b: Buyer, amount: int, answers: int | None = None, cid: str | None = None):
    a = w.auction
    if answers is None:
        answers = a.price_fen if a.price_fen is not None else a.starting_fen
    return services.place_bid(b.ctx, w.code, answers_price=answers, amount_fen=amount,
                              client_bid_id=cid or f"c{next(_refs)}")


def after(w: AuctionWorld, **kw):
    return w.clock.advance(timedelta(**kw))


def close_listing(w: AuctionWorld) -> Auction:
    """The clock's steps at the close: the free phase ends; an opt-in window that opens (挂牌, 汕头)
    runs out with the opt-ins made so far."""
    a = w.auction
    w.clock.set(a.free_until)
    services.tick(w.c_op, w.code)
    if a.phase == "opt_in":
        w.clock.set(a.deadline)
        services.tick(w.c_op, w.code)
    return a


# --- the sealed reserve (reserve.py) ---------------------------------------------------------------

def seal_reserve_envelope(info: dict, reserve_fen: int, *, signing_key=None, plaintext: bytes | None = None, **context):
    """(manifest, payload, signer public raw) of a reserve envelope sealed with the Python envelope code
    to the lot's opening key; `context` overrides lot_id / bidder_id / part / submission_id."""
    import base64

    from cryptography.hazmat.primitives.asymmetric import ec

    from trading.procedures.auction.rules import reserve_sheet
    from trading.sealing import envelope

    key = signing_key or ec.generate_private_key(ec.SECP256R1())
    fields = {n: info[n] for n in ("lot_id", "bidder_id", "part", "submission_id")} | context
    opening = envelope.load_public(base64.b64decode(info["opening_key"]["public"]))
    manifest, payload = envelope.seal(reserve_sheet(reserve_fen) if plaintext is None else plaintext,
                                      envelope.Context(**fields), opening, key)
    return manifest, payload, envelope.public_raw(key.public_key())


def seal_reserve(w: AuctionWorld, reserve_fen: int):
    """The owner seals the reserve (custodians enrolled first so the lot's key ceremony can run)."""
    from tests.factories.custodians import ensure_custodians
    from trading.procedures.auction import reserve

    ensure_custodians(w.ctx)
    info = reserve.start_reserve(w.c_owner, w.code)
    manifest, payload, signer = seal_reserve_envelope(info, reserve_fen)
    return reserve.put_reserve(w.c_owner, w.code, submission_id=info["submission_id"], manifest_raw=manifest,
                               payload=payload, signer_public=signer)


def open_reserve_by_custodians(w: AuctionWorld) -> list[dict]:
    """The lot's custodians submit shares until the reserve opens (k of n)."""
    from sqlalchemy import select

    from tests.factories.custodians import ensure_custodians
    from trading.procedures.auction import reserve
    from trading.procedures.common.opening.models import CustodianShare, OpeningKey

    people = {u.id: (u, p) for u, p in ensure_custodians(w.ctx)}
    key = w.ctx.session.execute(select(OpeningKey).where(OpeningKey.lot_id == w.auction.lot_id)).scalar_one()
    out = []
    for share in w.ctx.session.execute(select(CustodianShare).where(CustodianShare.opening_key_id == key.id)
                                       .order_by(CustodianShare.x)).scalars().all():
        user, pw = people[share.custodian_user_id]
        out.append(reserve.submit_reserve_share(actor_ctx(w.ctx.session, w.clock, user), w.code, pw))
        if out[-1]["opened"]:
            break
    return out
