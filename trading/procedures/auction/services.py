"""拍卖 / 挂牌 / 网络竞价 use cases: configure a lot's listing, buyers apply and are qualified (deposit
received), the bidding starts, bids are placed, the free phase ends (timed phase or outcome), the
countdown closes, a supervisor pauses and resumes.

Concurrency. Every change takes the lot's Auction row first (`_lock`): `SELECT … FOR UPDATE` on
PostgreSQL; on SQLite an UPDATE of the row first, which takes the database's writer lock before
anything is read (the read-then-upgrade deadlock otherwise: see audit.services `_TAKE_WRITER_LOCK`).
The server time is read after the lock is held, so arrival order, sequence numbers and times agree.
Lock order is always auction row → lot_trade row (stages.advance) → audit head, never the reverse.

Bid attempts. Each attempt that reaches the engine is stored (auction_bid) under the lock, accepted or
refused with its reason, chained by hash to the lot's previous attempt. Accepted bids are audited
(`auction.bid_accepted`, carrying the row's hash, which anchors every refused attempt before it in the
platform's audit chain); refused ones are NOT audited one by one: they change no state, their rows are
already an append-only tamper-evident log, and a refusal storm (49 of 50 racers) must not queue on
the platform-wide audit head that every other writer shares. Malformed input (not an integer, no
client bid id) is not an attempt: 422 before anything is read, nothing stored.

Events. Each accepted bid, phase change and pause/resume publishes a live event on
"auction:<lot code>" (core.events.publish, committed with the change) for the bidding room.

Imports: core, audit, reference, accounts, projects, procedures.common, this package."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select, update

from trading.audit.canonical import canonical_bytes
from trading.audit.chain import chain_hash
from trading.audit.services import record
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, Forbidden, InvalidInput, RuleViolation, not_found
from trading.core.events import publish
from trading.core.money import check_fen, to_capitals
from trading.procedures.common import stages
from trading.procedures.common.deposits.models import DepositAccount
from trading.procedures.common.deposits.rules import AccountStatus
from trading.procedures.common.deposits.services import open_sub_account, set_lot_deposit, totals
from trading.procedures.common.lots import before_deadline, get_trade
from trading.procedures.common.models import Notice
from trading.procedures.common.participation.models import Participation
from trading.projects.models import Project
from trading.reference.services import get_calendar
from trading.reference.settings import catalogue, get_setting

from . import rules
from .models import Auction, AuctionApplication, AuctionBid
from .rules import Bid, Decision, Phase, State, StepRefused, Terms

GENESIS = b"\x00" * 32
MAX_CLIENT_ID = 64


def channel(lot_code: str) -> str:
    return f"auction:{lot_code}"


def auction_settings(ctx: ServiceContext) -> dict[str, int]:
    return {code: get_setting(ctx, code) for code in catalogue()
            if code.startswith(("auction.", "period.", "deposit."))}


# --- state ↔ row ---------------------------------------------------------------------------------

def terms_of(a: Auction) -> Terms:
    return Terms(rules.Method(a.method), a.starting_fen, a.increment_fen, timedelta(seconds=a.countdown_s))


def state_of(a: Auction) -> State:
    return State(phase=Phase(a.phase), price_fen=a.price_fen, leader=a.leader_id, bids=a.bids, deadline=a.deadline,
                 paused_left=timedelta(milliseconds=a.paused_left_ms) if a.paused_left_ms is not None else None,
                 outcome=rules.Outcome(a.outcome) if a.outcome else None, basis=a.basis,
                 timed_start_fen=a.timed_start_fen)


def _store(a: Auction, s: State) -> None:
    a.phase, a.price_fen, a.leader_id, a.bids, a.deadline = s.phase.value, s.price_fen, s.leader, s.bids, s.deadline
    a.paused_left_ms = s.paused_left // timedelta(milliseconds=1) if s.paused_left is not None else None
    a.outcome, a.basis = (s.outcome.value if s.outcome else None), s.basis
    a.timed_start_fen = s.timed_start_fen
    a.version += 1


def _refused(r: rules.Refusal, cls=Conflict):
    return cls(r.code, r.zh, r.en, details=dict(r.details))


# --- loading and locking -------------------------------------------------------------------------

def _is_sqlite(ctx: ServiceContext) -> bool:
    return ctx.session.get_bind().dialect.name == "sqlite"


def get_auction(ctx: ServiceContext, lot_code: str) -> Auction:
    a = ctx.session.execute(select(Auction).where(Auction.lot_code == lot_code)).scalar_one_or_none()
    if a is None:
        raise not_found("竞价标的", "Auction")
    return a


def _lock(ctx: ServiceContext, lot_code: str) -> Auction:
    """The lot's Auction row, locked until the request commits, with its current values."""
    if _is_sqlite(ctx):
        ctx.session.execute(update(Auction.__table__).where(Auction.__table__.c.lot_code == lot_code)
                            .values(version=Auction.__table__.c.version))
        stmt = select(Auction).where(Auction.lot_code == lot_code)
    else:
        stmt = select(Auction).where(Auction.lot_code == lot_code).with_for_update()
    a = ctx.session.execute(stmt.execution_options(populate_existing=True)).scalar_one_or_none()
    if a is None:
        raise not_found("竞价标的", "Auction")
    return a


def _project_party(ctx: ServiceContext, project: Project) -> bool:
    org = ctx.actor.org_id
    return org is not None and org in (project.owner_org_id, project.agency_org_id)


def _require_party_or_operator(ctx: ServiceContext, project_id: int) -> None:
    ctx.require("owner", "agency", "operator")
    if not ctx.actor.has("operator") and not _project_party(ctx, ctx.session.get(Project, project_id)):
        raise not_found("标段", "Lot")


def own_application(ctx: ServiceContext, a: Auction) -> AuctionApplication | None:
    if not ctx.actor.has("bidder") or ctx.actor.org_id is None:
        return None
    return ctx.session.execute(select(AuctionApplication).where(
        AuctionApplication.lot_id == a.lot_id, AuctionApplication.bidder_org_id == ctx.actor.org_id)).scalar_one_or_none()


# --- configuration ---------------------------------------------------------------------------------

def _opening_notice(ctx: ServiceContext, notice_id: int) -> Notice:
    return ctx.session.get(Notice, notice_id)


def _decimal(value, field: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput("auction.area", "面积须为数字（平方米）", "The area must be a number of ㎡", field=field) from None
    if not d.is_finite() or d <= 0 or d >= Decimal("1e12"):
        raise InvalidInput("auction.area", "面积须为正数（平方米）", "The area must be a positive number of ㎡", field=field)
    return d.quantize(Decimal("0.01"))


def configure_listing(ctx: ServiceContext, lot_code: str, *, starting_fen: object, increment_fen: object,
                      deposit_fen: object = 0, countdown_s: int | None = None, start_at: datetime | None = None,
                      free_until: datetime | None = None, subject_ref: str = "", location: str = "",
                      area_m2: object = None, land_use: str = "", term_years: int | None = None, plot_ratio: str = "",
                      description: str = "", appraisal_fen: object = None) -> Auction:
    """The owner or agency of the project (or the centre) sets the listing of a lot whose grant notice
    / disclosure is published: subject, starting price, increment, deposit (through the deposits
    ledger, land ≥ deposit.land_floor_bp of the starting price), countdown and schedule (from the
    notice's 开始/截止 unless given), checked against the schedule minimums. Changeable until the
    bidding starts; each change audited old → new."""
    trade = get_trade(ctx, lot_code, lock=True)
    _require_party_or_operator(ctx, trade.project_id)
    if trade.procedure not in rules.PROCEDURES:
        raise RuleViolation("auction.procedure", "该标段的交易方式不是拍卖、挂牌或网络竞价",
                            "The lot is not sold by auction, listing or online bidding")
    project = ctx.session.get(Project, trade.project_id)
    notice = _opening_notice(ctx, trade.notice_id)
    settings = auction_settings(ctx)
    starting = check_fen(starting_fen, field="starting_fen")
    increment = check_fen(increment_fen, field="increment_fen")
    deposit = check_fen(deposit_fen, field="deposit_fen", allow_zero=True)
    appraisal = check_fen(appraisal_fen, field="appraisal_fen") if appraisal_fen not in (None, "") else None
    countdown = settings["auction.countdown_s"] if countdown_s is None else countdown_s
    if isinstance(countdown, bool) or not isinstance(countdown, int):
        raise InvalidInput("auction.countdown", "倒计时须为整数秒", "The countdown must be whole seconds", field="countdown_s")
    start_at = start_at or notice.opening_at
    free_until = free_until or notice.closing_at
    if start_at is None or free_until is None:
        raise InvalidInput("auction.schedule_missing", "须给出竞价开始与自由报价（挂牌）截止时间",
                           "The start and the end of the free bidding are required", field="start_at")
    problems = rules.check_terms(trade.procedure, project.category, starting_fen=starting, increment_fen=increment,
                                 deposit_fen=deposit, countdown_s=countdown, settings=settings)
    problems += rules.check_schedule(trade.procedure, published_at=notice.published_at, start_at=start_at,
                                     close_at=free_until, starting_fen=starting, cal=get_calendar(ctx), settings=settings)
    if problems:
        p = problems[0]
        raise RuleViolation(p.code, p.zh, p.en, field=p.field,
                            details={"problems": [{"code": q.code, "field": q.field, "message": q.zh,
                                                   "message_en": q.en} for q in problems]})
    a = ctx.session.execute(select(Auction).where(Auction.lot_id == trade.lot_id).with_for_update()).scalar_one_or_none()
    now = ctx.now()
    if a is not None and a.phase != Phase.SCHEDULED:
        raise Conflict("auction.started", "竞价已开始，不能再修改竞价条件", "Bidding has started; the terms can no longer change")
    values = dict(subject="parcel" if project.category in ("land", "mining") else "asset",
                  subject_ref=(subject_ref or "").strip()[:60], location=(location or "").strip()[:200],
                  area_m2=_decimal(area_m2, "area_m2"), land_use=(land_use or "").strip()[:60], term_years=term_years,
                  plot_ratio=(plot_ratio or "").strip()[:40], description=(description or "").strip(),
                  appraisal_fen=appraisal, starting_fen=starting, increment_fen=increment, countdown_s=countdown,
                  start_at=start_at, free_until=free_until)
    if a is None:
        a = Auction(lot_id=trade.lot_id, project_id=trade.project_id, lot_code=trade.lot_code,
                    procedure=trade.procedure, method=rules.METHOD_OF[trade.procedure].value, phase="scheduled",
                    bids=0, last_bid_hash=GENESIS, version=1, created_by=ctx.actor.user_id, created_at=now, **values)
        ctx.session.add(a)
        old = {}
    else:
        old = {k: getattr(a, k) for k in values if getattr(a, k) != values[k]}
        for k, v in values.items():
            setattr(a, k, v)
        a.version += 1
    if trade.deposit_fen != deposit:
        set_lot_deposit(ctx, lot_code, deposit)
    ctx.session.flush()
    changed = {k: [_plain(old.get(k)), _plain(values[k])] for k in (old or values)}
    record(ctx, "auction.configured", "lot", trade.lot_id, project_id=trade.project_id,
           payload={"lot_code": lot_code, "method": a.method, "changed": changed})
    return a


def _plain(v):
    return str(v) if isinstance(v, Decimal) else v


# The 底价 is sealed (reserve.py): start_reserve / put_reserve before the close, submit_reserve_share
# after bidding ends. No service takes it in plain text.


# --- buyers --------------------------------------------------------------------------------------

def apply(ctx: ServiceContext, lot_code: str) -> tuple[AuctionApplication, bool]:
    """竞买申请 by the bidder's organisation before the application deadline: the registration
    (participation) and its deposit sub-account when the lot asks one. Applying again answers with
    the existing application (created False)."""
    ctx.require("bidder")
    org_id = ctx.actor.org_id
    a = get_auction(ctx, lot_code)
    trade = get_trade(ctx, lot_code)
    existing = own_application(ctx, a)
    if existing is not None:
        return existing, False
    now = ctx.now()
    if a.phase == Phase.ENDED or not before_deadline(trade, now):
        raise RuleViolation("auction.applications_closed", "竞买申请已截止", "Applications are closed")
    part = ctx.session.execute(select(Participation).where(
        Participation.lot_id == trade.lot_id, Participation.bidder_org_id == org_id)).scalar_one_or_none()
    if part is None:
        part = Participation(lot_id=trade.lot_id, bidder_org_id=org_id, registered_by=ctx.actor.user_id,
                             registered_at=now, status="registered")
        ctx.session.add(part)
        ctx.session.flush()
    app = AuctionApplication(lot_id=a.lot_id, participation_id=part.id, bidder_org_id=org_id,
                             applied_by=ctx.actor.user_id, applied_at=now, status="applied")
    ctx.session.add(app)
    ctx.session.flush()
    record(ctx, "auction.applied", "auction_application", app.id, project_id=a.project_id, embargo_lot_id=a.lot_id,
           payload={"lot_code": lot_code})
    open_sub_account(ctx, part)
    return app, True


def _new_bidder_no(ctx: ServiceContext, lot_id: int) -> str:
    for _ in range(50):
        no = f"{secrets.randbelow(900_000) + 100_000}"
        if ctx.session.execute(select(AuctionApplication.id).where(
                AuctionApplication.lot_id == lot_id, AuctionApplication.bidder_no == no)).first() is None:
            return no
    raise Conflict("auction.bidder_no_exhausted", "无法分配竞买号，请重试", "Could not allocate a bidder number; retry")


def deposit_received(ctx: ServiceContext, app: AuctionApplication, required_fen: int) -> bool:
    """The deposit is in full and on time (no deposit asked: True)."""
    if required_fen <= 0:
        return True
    account = ctx.session.execute(select(DepositAccount).where(
        DepositAccount.participation_id == app.participation_id)).scalar_one_or_none()
    if account is None:
        return False
    t = totals(ctx, account)
    return t.status in (AccountStatus.RECEIVED, AccountStatus.OVERPAID) and not t.late


def qualify(ctx: ServiceContext, application_id: int, *, approve: bool = True, note: str = "") -> AuctionApplication:
    """The operator's qualification (资格审查): approved only with the deposit received in full and on
    time; the approval gives the random 竞买号. A refusal needs a note. Decided once."""
    ctx.require("operator")
    app = ctx.session.get(AuctionApplication, application_id)
    if app is None:
        raise not_found("竞买申请", "Application")
    a = _lock(ctx, ctx.session.get(Auction, app.lot_id).lot_code)
    if app.status != "applied":
        raise Conflict("auction.decided", "该竞买申请已审查", "This application has been decided")
    if a.phase == Phase.ENDED:
        raise Conflict("auction.ended", rules.REASONS["auction.ended"][0], rules.REASONS["auction.ended"][1])
    note = (note or "").strip()[:500]
    trade = get_trade(ctx, a.lot_code)
    if approve:
        if not deposit_received(ctx, app, trade.deposit_fen):
            raise RuleViolation("auction.deposit_missing", "竞买保证金未按时足额到账，不能确认竞买资格",
                                "The deposit has not arrived in full and on time; the buyer cannot be qualified")
        app.status, app.bidder_no = "qualified", _new_bidder_no(ctx, a.lot_id)
    else:
        if not note:
            raise InvalidInput("auction.note_required", "不予确认须说明理由", "A refusal needs a reason", field="note")
        app.status = "refused"
    app.decided_by, app.decided_at, app.decision_note = ctx.actor.user_id, ctx.now(), note
    record(ctx, "auction.qualified" if approve else "auction.refused", "auction_application", app.id,
           project_id=a.project_id, embargo_lot_id=a.lot_id,
           payload={"lot_code": a.lot_code, "old": "applied", "new": app.status, "note": note})
    ctx.session.flush()
    return app


def opt_in(ctx: ServiceContext, lot_code: str) -> AuctionApplication:
    """挂牌: a qualified buyer asks to continue in the timed phase (参加限时竞价): during the listing,
    or after its close within the opt-in window (auction.optin_window_s, 汕头), where only eligible
    buyers may (auction.timed_needs_bid: a valid listing bid). Asking again changes nothing."""
    ctx.require("bidder")
    a = _lock(ctx, lot_code)
    app = own_application(ctx, a)
    if app is None or app.status != "qualified":
        raise Forbidden("auction.not_qualified", *rules.REASONS["auction.not_qualified"])
    now = ctx.now()
    needs_bid = bool(get_setting(ctx, "auction.timed_needs_bid"))
    eligible = not needs_bid or _has_accepted_bid(ctx, a, app.id)
    refusal = rules.check_opt_in(terms_of(a), state_of(a), now, eligible=eligible)
    if refusal is None and a.phase == Phase.SCHEDULED and now >= a.free_until:
        refusal = rules.Refusal("auction.not_opt_in")
    if refusal is not None:
        raise _refused(refusal, Forbidden if refusal.code == "auction.not_eligible_timed" else Conflict)
    if not app.wants_timed:
        app.wants_timed = True
        record(ctx, "auction.opted_in", "auction_application", app.id, project_id=a.project_id,
               embargo_lot_id=a.lot_id, payload={"lot_code": lot_code, "phase": a.phase})
        ctx.session.flush()
    return app


def _has_accepted_bid(ctx: ServiceContext, a: Auction, application_id: int) -> bool:
    return ctx.session.execute(select(AuctionBid.id).where(
        AuctionBid.lot_id == a.lot_id, AuctionBid.application_id == application_id,
        AuctionBid.accepted.is_(True)).limit(1)).first() is not None


# --- bidding -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BidResult:
    accepted: bool
    replay: bool
    seq: int | None
    answers_fen: int
    amount_fen: int
    received_at: datetime
    reason: str | None
    message_zh: str | None
    message_en: str | None
    details: dict
    price_fen: int | None
    deadline: datetime | None
    phase: str
    version: int


def _check_bid_input(answers_price: object, amount_fen: object, client_bid_id: object) -> str:
    for name, v in (("answers_price", answers_price), ("amount_fen", amount_fen)):
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise InvalidInput("auction.bad_amount", *rules.REASONS["auction.bad_amount"], field=name)
    cid = client_bid_id.strip() if isinstance(client_bid_id, str) else ""
    if not cid or len(cid) > MAX_CLIENT_ID:
        raise InvalidInput("auction.client_bid_id", f"须提供报价编号 client_bid_id（1–{MAX_CLIENT_ID} 个字符）",
                           f"client_bid_id is required (1–{MAX_CLIENT_ID} characters)", field="client_bid_id")
    return cid


def _bid_bytes(a: Auction, row: AuctionBid, bidder_no: str | None) -> bytes:
    return canonical_bytes({"lot": a.lot_code, "application": row.application_id, "bidder_no": bidder_no,
                            "client_bid_id": row.client_bid_id, "answers": row.answers_fen, "amount": row.amount_fen,
                            "at": row.received_at, "phase": row.phase, "accepted": row.accepted, "seq": row.seq,
                            "reason": row.reason, "deadline": row.deadline_after})


def _result(a: Auction, row: AuctionBid, *, replay: bool, details: dict | None = None) -> BidResult:
    zh, en = rules.REASONS[row.reason] if row.reason else (None, None)
    return BidResult(row.accepted, replay, row.seq, row.answers_fen, row.amount_fen, row.received_at, row.reason, zh,
                     en, details or {}, a.price_fen, a.deadline, a.phase, a.version)


def _superseded_before_lock(ctx: ServiceContext, lot_code: str, answers_price: int, amount_fen: int,
                            cid: str) -> BidResult | None:
    """The stale refusal of a bid that names a price already superseded (rules.superseded), answered
    from ONE committed read without the lot lock, and not stored: under competition most attempts
    answer a price another bidder has just beaten, and deciding each of them in turn under the lock
    made every bidder wait behind all of them (a bid's answer took about a second with 100
    bidders). One statement reads the lot, the bidder's application and an earlier try with the same
    client_bid_id in one snapshot: an earlier try (replay or bid_id_reused), no qualified
    application, or any other state goes the locked way, which decides and stores as before; the
    answer here is the one the lock would give (the answerable price only rises), so a retry gets
    it again."""
    org = ctx.actor.org_id
    if org is None:
        return None
    earlier = (select(AuctionBid.id).where(AuctionBid.application_id == AuctionApplication.id,
                                           AuctionBid.client_bid_id == cid).exists())
    row = ctx.session.execute(
        select(Auction, AuctionApplication.id, AuctionApplication.status, earlier)
        .join(AuctionApplication, (AuctionApplication.lot_id == Auction.lot_id)
              & (AuctionApplication.bidder_org_id == org))
        .where(Auction.lot_code == lot_code)).one_or_none()
    if row is None:
        return None
    a, app_id, status, tried = row
    now = ctx.now()
    bid = Bid(app_id, answers_price, amount_fen, cid)
    if tried or status != "qualified" or not rules.superseded(terms_of(a), state_of(a), bid, now):
        return None
    refusal = rules.check_bid(terms_of(a), state_of(a), bid, now)
    zh, en = rules.REASONS[refusal.code]
    return BidResult(False, False, None, answers_price, amount_fen, now, refusal.code, zh, en, dict(refusal.details),
                     a.price_fen, a.deadline, a.phase, a.version)


def place_bid(ctx: ServiceContext, lot_code: str, *, answers_price: object, amount_fen: object,
              client_bid_id: object, answers_increment: object = None) -> BidResult:
    """One bid, in ONE transaction: lock the lot, read the server time, check the rules, store the
    attempt, advance price / leader / countdown, audit an accepted bid and publish it. A retry with
    the same client_bid_id returns the first attempt's result and writes nothing. A refused attempt is
    stored and returned (accepted False); the caller commits it like an accepted one. A bid naming a
    price already beaten is answered before the lock and not stored (_superseded_before_lock)."""
    cid = _check_bid_input(answers_price, amount_fen, client_bid_id)
    if answers_increment is not None and (isinstance(answers_increment, bool) or not isinstance(answers_increment, int)
                                          or answers_increment <= 0):
        raise InvalidInput("auction.bad_amount", *rules.REASONS["auction.bad_amount"], field="answers_increment")
    ctx.require("bidder")
    early = _superseded_before_lock(ctx, lot_code, answers_price, amount_fen, cid)
    if early is not None:
        return early
    a = _lock(ctx, lot_code)
    app = own_application(ctx, a)
    if app is None:
        raise not_found("竞价标的", "Auction")
    now = ctx.now()  # after the lock: arrival order and server time agree
    first = ctx.session.execute(select(AuctionBid).where(
        AuctionBid.application_id == app.id, AuctionBid.client_bid_id == cid)).scalar_one_or_none()
    bid = Bid(app.id, answers_price, amount_fen, cid, answers_increment)
    previous = None
    if first is not None:
        previous = (Bid(app.id, first.answers_fen, first.amount_fen, cid),
                    Decision(first.accepted, rules.Refusal(first.reason) if first.reason else None, first.seq))
    new, d = rules.place_bid(terms_of(a), state_of(a), bid, now, qualified=app.status == "qualified",
                             previous=previous)
    if d.replay:
        return _result(a, first, replay=True)
    if d.refusal is not None and d.refusal.code == "auction.bid_id_reused":
        raise _refused(d.refusal)
    row = AuctionBid(lot_id=a.lot_id, application_id=app.id, client_bid_id=cid, answers_fen=answers_price,
                     amount_fen=amount_fen, received_at=now, phase=a.phase, accepted=d.accepted, seq=d.seq,
                     reason=d.refusal.code if d.refusal else None, deadline_after=d.deadline,
                     prev_hash=a.last_bid_hash)
    row.entry_hash = chain_hash(bytes(a.last_bid_hash), _bid_bytes(a, row, app.bidder_no))
    ctx.session.add(row)
    a.last_bid_hash = row.entry_hash
    if d.accepted:
        _store(a, new)
        record(ctx, "auction.bid_accepted", "lot", a.lot_id, project_id=a.project_id, embargo_lot_id=a.lot_id,
               payload={"lot_code": lot_code, "seq": d.seq, "answers_fen": answers_price, "amount_fen": amount_fen,
                        "phase": a.phase, "deadline": d.deadline, "bid_hash": row.entry_hash.hex()})
        publish(ctx, channel(lot_code), "auction:bid",
                {"seq": d.seq, "price_fen": amount_fen, "capitals": to_capitals(amount_fen),
                 "bidder": rules.mask_bidder_no(app.bidder_no), "at": now.isoformat(), "phase": a.phase,
                 "deadline": d.deadline.isoformat() if d.deadline else None, "version": a.version})
    else:
        a.version += 1  # the chain head moved
    ctx.session.flush()
    return _result(a, row, replay=False, details=dict(d.refusal.details) if d.refusal else None)


# --- phases --------------------------------------------------------------------------------------

def _qualified(ctx: ServiceContext, a: Auction) -> list[AuctionApplication]:
    return list(ctx.session.execute(select(AuctionApplication).where(
        AuctionApplication.lot_id == a.lot_id, AuctionApplication.status == "qualified")).scalars())


def _eligible(ctx: ServiceContext, a: Auction, qualified: list[AuctionApplication],
              needs_bid: bool) -> list[AuctionApplication]:
    """The qualified buyers who may continue in the timed phase: all (any_registered), or those with
    a valid listing bid (auction.timed_needs_bid, 汕头)."""
    if not needs_bid:
        return qualified
    bidders = set(ctx.session.execute(select(AuctionBid.application_id).where(
        AuctionBid.lot_id == a.lot_id, AuctionBid.accepted.is_(True)).distinct()).scalars())
    return [q for q in qualified if q.id in bidders]


def _continuing(ctx: ServiceContext, a: Auction, qualified: list[AuctionApplication], needs_bid: bool) -> int:
    return len([q for q in _eligible(ctx, a, qualified, needs_bid) if q.wants_timed])


def _phase_event(ctx: ServiceContext, a: Auction, name: str, extra: dict | None = None) -> None:
    publish(ctx, channel(a.lot_code), name,
            {"phase": a.phase, "deadline": a.deadline.isoformat() if a.deadline else None, "paused": a.paused_left_ms is not None,
             "price_fen": a.price_fen, "version": a.version, **(extra or {})})


def _host(ctx: ServiceContext) -> None:
    ctx.require("operator", "system")


def _step(fn):
    try:
        return fn()
    except StepRefused as e:
        raise _refused(e.refusal) from None


def start_bidding(ctx: ServiceContext, lot_code: str) -> Auction:
    """At the announced start (centre or the system clock): the free phase opens until free_until;
    a 拍卖 with too few qualified buyers, or any sale with none, ends at once in 流拍."""
    _host(ctx)
    a = _lock(ctx, lot_code)
    now = ctx.now()
    if a.phase == Phase.SCHEDULED and now < a.start_at:
        raise Conflict("auction.start_too_early", *rules.REASONS["auction.start_too_early"])
    qualified = len(_qualified(ctx, a))
    old = a.phase
    new = _step(lambda: rules.start(terms_of(a), state_of(a), now, a.free_until, qualified=qualified,
                                    settings=auction_settings(ctx)))
    _store(a, new)
    record(ctx, "auction.started", "lot", a.lot_id, project_id=a.project_id,
           payload={"lot_code": lot_code, "old": old, "new": a.phase, "qualified": qualified, "deadline": a.deadline})
    if new.phase == Phase.ENDED:
        return _finish(ctx, a, now)
    stages.advance(ctx, lot_code, "start_bidding")
    _phase_event(ctx, a, "auction:phase")
    ctx.session.flush()
    return a


def end_free_phase(ctx: ServiceContext, lot_code: str) -> Auction:
    """At the end of the free phase: the timed phase, or the outcome (rules.end_free_phase)."""
    _host(ctx)
    a = _lock(ctx, lot_code)
    now = ctx.now()
    settings = auction_settings(ctx)
    qualified = _qualified(ctx, a)
    needs_bid = bool(settings["auction.timed_needs_bid"])
    eligible = _eligible(ctx, a, qualified, needs_bid)
    continuing = len([q for q in eligible if q.wants_timed])
    new = _step(lambda: rules.end_free_phase(terms_of(a), state_of(a), now, qualified=len(qualified),
                                             continuing=continuing, reserve_fen=a.reserve_fen, settings=settings,
                                             reserve_sealed=_reserve_sealed(ctx, a), eligible=len(eligible)))
    _store(a, new)
    if new.phase == Phase.ENDED:
        return _finish(ctx, a, now)
    if new.phase == Phase.OPT_IN:
        record(ctx, "auction.opt_in_window", "lot", a.lot_id, project_id=a.project_id,
               payload={"lot_code": lot_code, "old": "free", "new": "opt_in", "eligible": len(eligible),
                        "continuing": continuing, "deadline": a.deadline})
    else:
        _timed_started(ctx, a, "free", continuing)
    _phase_event(ctx, a, "auction:phase")
    ctx.session.flush()
    return a


def _timed_started(ctx: ServiceContext, a: Auction, old: str, continuing: int) -> None:
    record(ctx, "auction.timed_phase", "lot", a.lot_id, project_id=a.project_id,
           payload={"lot_code": a.lot_code, "old": old, "new": "timed", "continuing": continuing,
                    "deadline": a.deadline, "start_fen": a.timed_start_fen})


def end_opt_in(ctx: ServiceContext, lot_code: str) -> Auction:
    """After the opt-in window (挂牌, 汕头): the timed phase if enough eligible buyers opted in, else the
    listing result (rules.end_opt_in)."""
    _host(ctx)
    a = _lock(ctx, lot_code)
    now = ctx.now()
    settings = auction_settings(ctx)
    continuing = _continuing(ctx, a, _qualified(ctx, a), bool(settings["auction.timed_needs_bid"]))
    new = _step(lambda: rules.end_opt_in(terms_of(a), state_of(a), now, continuing=continuing,
                                         reserve_fen=a.reserve_fen, settings=settings,
                                         reserve_sealed=_reserve_sealed(ctx, a)))
    _store(a, new)
    if new.phase == Phase.ENDED:
        return _finish(ctx, a, now)
    _timed_started(ctx, a, "opt_in", continuing)
    _phase_event(ctx, a, "auction:phase")
    ctx.session.flush()
    return a


def close_timed_phase(ctx: ServiceContext, lot_code: str) -> Auction:
    """The countdown ran out: the outcome."""
    _host(ctx)
    a = _lock(ctx, lot_code)
    now = ctx.now()
    new = _step(lambda: rules.close_timed_phase(state_of(a), now, reserve_fen=a.reserve_fen,
                                                reserve_sealed=_reserve_sealed(ctx, a)))
    _store(a, new)
    return _finish(ctx, a, now)


def tick(ctx: ServiceContext, lot_code: str) -> Auction:
    """Whatever the clock has made due: start, end of the free phase, end of the opt-in window, end of
    the countdown (for a
    scheduler; each step also callable alone). Nothing due: the auction unchanged."""
    a = get_auction(ctx, lot_code)
    now = ctx.now()
    s = state_of(a)
    if a.phase == Phase.SCHEDULED and now >= a.start_at:
        return start_bidding(ctx, lot_code)
    if rules.free_phase_over(s, now):
        return end_free_phase(ctx, lot_code)
    if rules.opt_in_over(s, now):
        return end_opt_in(ctx, lot_code)
    if rules.countdown_over(s, now):
        return close_timed_phase(ctx, lot_code)
    return a


def _reserve_sealed(ctx: ServiceContext, a: Auction) -> bool:
    from .reserve import is_sealed

    return is_sealed(ctx, a)


def _finish(ctx: ServiceContext, a: Auction, now: datetime) -> Auction:
    """The outcome: 成交 (the lot is awarded to the leader) or 流拍 with the next steps; the reserve, once
    opened (reserve.py), is in the audit entry. Bidding that ended awaiting the sealed reserve is
    audited (auction.bidding_ended) and announced; the outcome follows the reserve's opening."""
    a.ended_at = now
    if rules.awaiting_reserve(state_of(a)):
        record(ctx, "auction.bidding_ended", "lot", a.lot_id, project_id=a.project_id,
               payload={"lot_code": a.lot_code, "price_fen": a.price_fen, "bids": a.bids, "basis": a.basis})
        _phase_event(ctx, a, "auction:phase", {"basis": a.basis})
        ctx.session.flush()
        return a
    sold = a.outcome == rules.Outcome.SOLD
    winner = ctx.session.get(AuctionApplication, a.leader_id) if sold else None
    payload = {"lot_code": a.lot_code, "outcome": a.outcome, "basis": a.basis, "price_fen": a.price_fen,
               "reserve_fen": a.reserve_fen, "bids": a.bids}
    if sold:
        payload.update(winner_application=winner.id, capitals=to_capitals(a.price_fen))
        # the winner's deposit becomes earnest money / part of the price: the result notice's refund
        # period (deposits.refunds.record_refund_event) then starts for the others only
        account = ctx.session.execute(select(DepositAccount).where(
            DepositAccount.participation_id == winner.participation_id)).scalar_one_or_none()
        if account is not None:
            account.is_winner = True
    else:
        payload["next_steps"] = [s.code for s in rules.next_steps(a.procedure, a.appraisal_fen, auction_settings(ctx))]
    record(ctx, "auction.sold" if sold else "auction.no_sale", "lot", a.lot_id, project_id=a.project_id,
           payload=payload)
    stages.advance(ctx, a.lot_code, "sell" if sold else "fail", detail={"basis": a.basis})
    _phase_event(ctx, a, "auction:ended", {"outcome": a.outcome, "basis": a.basis,
                                           "winner": rules.mask_bidder_no(winner.bidder_no) if winner else None})
    ctx.session.flush()
    return a


#: for reserve.py: store a settled state and announce the outcome
store_state = _store
auction_finished = _finish


# --- supervision ---------------------------------------------------------------------------------

def _reason(reason: str) -> str:
    reason = (reason or "").strip()[:500]
    if not reason:
        raise InvalidInput("auction.reason_required", *rules.REASONS["auction.reason_required"], field="reason")
    return reason


def pause(ctx: ServiceContext, lot_code: str, reason: str) -> Auction:
    """暂停交易 by a supervisor, with a reason: the running phase's time left is kept, no bid is taken."""
    ctx.require("supervisor")
    reason = _reason(reason)
    a = _lock(ctx, lot_code)
    now = ctx.now()
    new = _step(lambda: rules.pause(state_of(a), now))
    _store(a, new)
    a.paused_at, a.pause_reason = now, reason
    record(ctx, "auction.paused", "lot", a.lot_id, project_id=a.project_id,
           payload={"lot_code": lot_code, "reason": reason, "phase": a.phase, "left_ms": a.paused_left_ms})
    _phase_event(ctx, a, "auction:paused", {"reason": reason, "left_ms": a.paused_left_ms})
    ctx.session.flush()
    return a


def resume(ctx: ServiceContext, lot_code: str, reason: str) -> Auction:
    """恢复交易: the phase runs on with the time it had left at the pause, from now."""
    ctx.require("supervisor")
    reason = _reason(reason)
    a = _lock(ctx, lot_code)
    now = ctx.now()
    left = a.paused_left_ms
    new = _step(lambda: rules.resume(state_of(a), now))
    _store(a, new)
    record(ctx, "auction.resumed", "lot", a.lot_id, project_id=a.project_id,
           payload={"lot_code": lot_code, "reason": reason, "phase": a.phase, "left_ms": left,
                    "paused_at": a.paused_at, "deadline": a.deadline})
    a.paused_at, a.pause_reason = None, ""
    _phase_event(ctx, a, "auction:resumed", {"reason": reason})
    ctx.session.flush()
    return a


def adjust_increment(ctx: ServiceContext, lot_code: str, increment_fen: object, reason: str) -> Auction:
    """The host (the centre) adjusts the increment while bidding runs (rules.md G2.2, G3.3), with a
    reason: audited old → new, announced to the room (auction:increment). A bid in flight that states
    the old increment is refused (auction.increment_changed); one that does not is checked against the
    new one."""
    ctx.require("operator")
    reason = _reason(reason)
    new_fen = check_fen(increment_fen, field="increment_fen")
    a = _lock(ctx, lot_code)
    old = a.increment_fen
    terms = _step(lambda: rules.adjust_increment(terms_of(a), state_of(a), new_fen))
    a.increment_fen = terms.increment_fen
    a.version += 1
    state = state_of(a)
    record(ctx, "auction.increment_adjusted", "lot", a.lot_id, project_id=a.project_id,
           payload={"lot_code": lot_code, "old": old, "new": new_fen, "reason": reason, "phase": a.phase})
    publish(ctx, channel(lot_code), "auction:increment",
            {"increment_fen": new_fen, "old_increment_fen": old, "capitals": to_capitals(new_fen), "reason": reason,
             "next_minimum_fen": rules.minimum_bid(terms, state), "phase": a.phase, "version": a.version})
    ctx.session.flush()
    return a


def bid_count(ctx: ServiceContext, lot_code: str) -> int:
    a = get_auction(ctx, lot_code)
    return ctx.session.execute(select(func.count()).select_from(AuctionBid).where(AuctionBid.lot_id == a.lot_id)).scalar_one()
