"""The ascending-price bidding engine of 拍卖 / 挂牌 / 网络竞价 (rules.md §1 G2, G3, H, I3; ux.md §1.4),
pure: plain values in, plain values out, time comes in as `now`.

One engine, configured per method:

* 拍卖 (AUCTION, land/mining auction): a free phase until its end, then always the timed phase.
* 挂牌 (LISTING, land/mining listing): bids during the listing period; at the close, if at least
  `auction.timed_min_bidders` buyers want to continue, the timed phase (限时竞价); else the highest
  listing bid wins if it reaches the reserve, otherwise 流拍.
* 网络竞价 (ONLINE, asset transfer / online bidding): a free-quote period, then with ≥ 2 qualified
  buyers the timed phase (企业国有资产法 Art. 54: two buyers mean competitive bidding); with exactly
  one, the one-bidder outcome (a transfer at not below the listing price) unless the setting says 流拍.

A bid answers a price (`answers_price`: the current highest, or the starting price before the first
bid) and offers `amount` = that price + k × increment, k ≥ 1 (k ≥ 0 for the first bid: it may equal
the starting price, rules.md G3.3 "first bid ≥ start price"). A bid that answers a price no longer
current is refused as stale: it never overtakes silently. In the timed phase every accepted bid
restarts the countdown (now + C); a bid at or after the deadline is refused, one before it is accepted
and extends. A pause freezes the time left of the running phase; the resume restores it.

The state's `deadline` is the end of whichever phase runs: the end of the free phase (listing close)
or the countdown of the timed phase. Price first, then time: prices strictly increase, so two bids
at the same price can never both be accepted.

Imports: core (clock, money), reference (settings, workdays), procedures.common (flow, phases,
periods, deposits.rules)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from trading.core.money import format_yuan
from trading.procedures.common.deposits.rules import DepositRefused, check_deposit
from trading.procedures.common.flow import Machine, Transition, register
from trading.procedures.common.opening.rules import parse_reserve_sheet, reserve_sheet  # noqa: F401 (shared sheet)
from trading.procedures.common.periods import check_periods  # also defines period.mining_*_wd
from trading.procedures.common.phases import HOST, PROJECT, RUNNERS, SYSTEM, failure_paths
from trading.reference.settings import SettingDef, define, definition
from trading.reference.workdays import CalendarYearMissing, Unit, WorkCalendar, meets_minimum

WAN = 1_000_000  # fen in 10,000 yuan

define(
    SettingDef("auction.countdown_s", 300, "count", "苏州 21; 福建 40–42; 汕头 20–24 [P]（秒）",
               "限时竞价倒计时（秒），每次有效报价后重新计时", "Timed-phase countdown (seconds), restarted by each valid bid",
               10, 3600),
    SettingDef("auction.timed_min_bidders", 2, "count", "39号令 [S]; 汕头 [P]", "进入限时竞价的最少竞买人数",
               "Fewest buyers who want to continue for a timed phase", 2, 10),
    SettingDef("auction.min_bidders", 2, "count", "11号令 [S]; 39号令 [U]", "网上拍卖最少竞买人数",
               "Fewest qualified buyers for an online auction", 1, 10),
    SettingDef("auction.optin_window_s", 300, "count", "汕头 [P]: 挂牌截止后 5 分钟内报名参加限时竞价（0：截止前申请，截止时决定）",
               "挂牌截止后报名参加限时竞价的时长（秒）", "Opt-in window after the listing close (seconds; 0: opt in before the close)",
               0, 3600),
    SettingDef("auction.timed_start_plus_increment", 0, "bool", "39号令 现场竞价 [S]; 福建 [P]（0：汕头，最高报价）",
               "限时竞价起始价为最高挂牌价加一个加价幅度", "The timed phase starts at the highest listing bid plus one increment",
               0, 1),
    SettingDef("auction.timed_needs_bid", 1, "bool", "汕头 [P]: 挂牌期内有有效报价者方可参加限时竞价",
               "限时竞价仅限挂牌期内报过价的竞买人", "Only buyers who bid during the listing may continue", 0, 1),
    SettingDef("auction.one_bidder_sale", 1, "bool", "企业国有资产法 Art. 54; 32号令 [S/U]（台州 Art. 15：拍卖式流标）",
               "网络竞价只有一名合格竞买人时按不低于挂牌价成交", "Online bidding: sell to a sole qualified buyer at ≥ the listing price",
               0, 1),
    SettingDef("auction.large_jump_steps", 10, "count", "平台设定 [P]（ux.md §1.4 大额跳价提示）",
               "大额加价提示：加价幅度倍数", "Large-jump warning: increments", 2, 10_000),
    SettingDef("auction.large_jump_bp", 1000, "bp", "平台设定 [P]（ux.md §1.4）", "大额加价提示：相对当前价比例",
               "Large-jump warning: share of the current price", 1, 100_000),
    # period.mining_notice_wd and period.mining_listing_wd are defined once, in common/periods.py
    SettingDef("period.asset_small_wd", 5, "WD", "县规定 [U]（100万元以下）", "资产转让披露期：100万元以下",
               "Asset disclosure below 1 M yuan", 1),
    SettingDef("period.asset_mid_wd", 10, "WD", "32号令 Art. 48 [S]（100万–1000万元）", "资产转让披露期：100万–1000万元",
               "Asset disclosure 1–10 M yuan", 1),
    SettingDef("period.asset_large_wd", 20, "WD", "32号令 Art. 48 [S]（1000万元以上）", "资产转让披露期：1000万元以上",
               "Asset disclosure above 10 M yuan", 1),
    SettingDef("auction.reappraisal_floor_bp", 9000, "bp", "32号令; 120号 [S]", "低于评估值该比例的新底价须书面批准",
               "A new floor below this share of the appraisal needs written approval", 1, 10_000),
)

PROCEDURES = ("land_auction", "land_listing", "mining_auction", "mining_listing", "asset_transfer", "online_bidding")


class Method(StrEnum):
    AUCTION = "auction"  # 拍卖
    LISTING = "listing"  # 挂牌
    ONLINE = "online"    # 网络竞价 (产权/资产)


METHOD_OF = {"land_auction": Method.AUCTION, "mining_auction": Method.AUCTION,
             "land_listing": Method.LISTING, "mining_listing": Method.LISTING,
             "asset_transfer": Method.ONLINE, "online_bidding": Method.ONLINE}

METHOD_LABELS = {Method.AUCTION: ("拍卖", "Auction"), Method.LISTING: ("挂牌", "Listing"),
                 Method.ONLINE: ("网络竞价", "Online bidding")}


class Phase(StrEnum):
    SCHEDULED = "scheduled"  # configured, not started
    FREE = "free"            # 自由竞价 / 挂牌期 / 网上报价
    OPT_IN = "opt_in"        # 挂牌截止后报名参加限时竞价（汕头）
    TIMED = "timed"          # 限时竞价
    ENDED = "ended"          # outcome decided


PHASE_LABELS = {Phase.SCHEDULED: ("未开始", "Not started"), Phase.FREE: ("自由报价", "Free bidding"),
                Phase.OPT_IN: ("报名参加限时竞价", "Opt-in to timed bidding"),
                Phase.TIMED: ("限时竞价", "Timed bidding"), Phase.ENDED: ("已结束", "Ended")}


class Outcome(StrEnum):
    SOLD = "sold"        # 成交
    NO_SALE = "no_sale"  # 流拍


# --- refusals ------------------------------------------------------------------------------------

#: every reason a bid or a step is refused: code → (zh, en, HTTP-ish kind)
REASONS: dict[str, tuple[str, str]] = {
    "auction.not_started": ("竞价尚未开始", "Bidding has not started"),
    "auction.ended": ("竞价已结束", "Bidding has ended"),
    "auction.paused": ("交易已暂停，暂停期间不接受报价", "Trading is paused; no bids are taken"),
    "auction.phase_over": ("自由报价期已截止，等待转入限时竞价或结果", "The free bidding period is over"),
    "auction.deadline_passed": ("限时竞价倒计时已结束（以服务器时间为准）", "The countdown has ended (server time)"),
    "auction.stale": ("当前价已变化，您应答的价格不是当前最高价，请按新价格重新报价",
                      "The price changed: the price you answered is no longer the current price; bid again"),
    "auction.below_minimum": ("报价低于最低可报价格", "The bid is below the lowest acceptable price"),
    "auction.not_multiple": ("报价须为当前价加上加价幅度的整数倍", "The bid must be the current price plus a whole multiple of the increment"),
    "auction.already_leading": ("您已是当前最高报价者", "You already hold the highest bid"),
    "auction.not_qualified": ("您没有本标的的竞买资格", "You are not a qualified buyer of this lot"),
    "auction.bad_amount": ("报价金额须为正整数（分）", "The amount must be a positive whole number of fen"),
    "auction.bid_id_reused": ("同一报价编号已用于另一笔报价", "This client bid id was used for a different bid"),
    "auction.not_timed": ("该交易不在限时竞价阶段", "The trade is not in its timed phase"),
    "auction.not_free": ("该交易不在自由报价阶段", "The trade is not in its free bidding phase"),
    "auction.free_not_over": ("自由报价期尚未截止", "The free bidding period has not ended"),
    "auction.countdown_running": ("倒计时尚未结束", "The countdown is still running"),
    "auction.already_paused": ("交易已处于暂停状态", "Trading is already paused"),
    "auction.not_paused": ("交易未暂停", "Trading is not paused"),
    "auction.reason_required": ("须填写理由", "A reason is required"),
    "auction.start_too_early": ("未到公告的竞价开始时间", "The announced start time has not come"),
    "auction.not_awaiting_reserve": ("竞价结果不待底价开启", "The outcome does not wait for the reserve"),
    "auction.opt_in_window": ("挂牌已截止，正在报名参加限时竞价，此时不接受报价",
                              "The listing has closed; buyers are opting in to timed bidding and no bids are taken"),
    "auction.not_opt_in": ("现在不能报名参加限时竞价（仅挂牌期内或挂牌截止后的报名时间内）",
                           "Opting in to timed bidding is possible only during the listing or its opt-in window"),
    "auction.opt_in_over": ("报名时间尚未结束", "The opt-in window has not ended"),
    "auction.not_eligible_timed": ("挂牌期内没有有效报价的竞买人不能参加限时竞价",
                                   "Only buyers with a valid bid during the listing may join the timed bidding"),
    "auction.increment_changed": ("加价幅度已调整，请按新的加价幅度重新报价",
                                  "The increment was adjusted: bid again with the new increment"),
    "auction.increment_same": ("新加价幅度与现行加价幅度相同", "The new increment is the current one"),
}


@dataclass(frozen=True)
class Refusal:
    code: str
    details: Mapping = field(default_factory=dict)

    @property
    def zh(self) -> str:
        return REASONS[self.code][0]

    @property
    def en(self) -> str:
        return REASONS[self.code][1]


# --- terms and state -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Terms:
    method: Method
    starting_fen: int
    increment_fen: int
    #: countdown C of the timed phase
    countdown: timedelta = timedelta(seconds=300)


@dataclass(frozen=True)
class State:
    phase: Phase = Phase.SCHEDULED
    #: highest accepted bid, None before the first
    price_fen: int | None = None
    #: the leading buyer (an application id)
    leader: int | None = None
    #: accepted bids so far (the next one gets bids + 1)
    bids: int = 0
    #: end of the running phase (free-phase end or countdown); None when not running
    deadline: datetime | None = None
    #: while paused: the time the running phase had left
    paused_left: timedelta | None = None
    outcome: Outcome | None = None
    #: why the outcome (sold_highest, sold_no_reserve, sold_one_bidder, no_bid, below_reserve, …)
    basis: str | None = None
    #: the timed phase's announced start price: the highest listing bid, or that plus one increment
    #: (auction.timed_start_plus_increment); until a timed bid reaches it the listing leader may bid too
    timed_start_fen: int | None = None

    @property
    def paused(self) -> bool:
        return self.paused_left is not None


#: 拍卖法 Art. 50: whether a reserve exists is announced; without one, this is stated
NO_RESERVE = ("本标的未设底价（保留价），最高报价者竞得（《拍卖法》第五十条）",
              "This lot has no reserve price: the highest bid wins (Auction Law Art. 50)")
RESERVE_SEALED = ("本标的设有底价（保留价），密封保存，竞价结束后开启；最高报价低于底价的不成交",
                  "This lot has a sealed reserve price, opened after bidding ends; a highest bid below it does not sell")


def reserve_statement(reserve_set: bool, entry_closed: bool) -> tuple[str, str] | None:
    """What the lot and the outcome say about the reserve: sealed, none (once no reserve can be
    entered any more: the free phase is over), or nothing yet (None: it may still be entered)."""
    if reserve_set:
        return RESERVE_SEALED
    return NO_RESERVE if entry_closed else None


def answerable_price(terms: Terms, state: State) -> int:
    """The price a bid must name: the current highest, or the starting price before any bid."""
    return state.price_fen if state.price_fen is not None else terms.starting_fen


def minimum_bid(terms: Terms, state: State) -> int:
    if _timed_start_open(state):
        return state.timed_start_fen
    return terms.starting_fen if state.price_fen is None else state.price_fen + terms.increment_fen


def _timed_start_open(state: State) -> bool:
    """The timed phase announced a start price above the highest bid and no timed bid has taken it."""
    return (state.phase == Phase.TIMED and state.timed_start_fen is not None
            and (state.price_fen is None or state.price_fen < state.timed_start_fen))


def running(state: State, now: datetime) -> bool:
    """Bidding open now: free or timed phase, not paused, before the phase's deadline."""
    return (state.phase in (Phase.FREE, Phase.TIMED) and not state.paused
            and state.deadline is not None and now < state.deadline)


@dataclass(frozen=True)
class Bid:
    bidder: int
    answers_price: int
    amount_fen: int
    client_bid_id: str = ""
    #: the increment the bidder saw (None: not stated); another than the current one is refused
    answers_increment: int | None = None


@dataclass(frozen=True)
class Decision:
    accepted: bool
    refusal: Refusal | None = None
    #: for an accepted bid: its dense per-lot sequence number and the deadline it set
    seq: int | None = None
    deadline: datetime | None = None
    #: True when this is the stored answer to an earlier try of the same client bid id
    replay: bool = False


def check_bid(terms: Terms, state: State, bid: Bid, now: datetime, *, qualified: bool = True) -> Refusal | None:
    """None when `bid` is acceptable now, else the first reason it is not (in this order: eligibility,
    phase and time, amount shape, staleness, the price steps, the leader)."""
    if not qualified:
        return Refusal("auction.not_qualified")
    if state.phase == Phase.SCHEDULED:
        return Refusal("auction.not_started")
    if state.phase == Phase.ENDED:
        return Refusal("auction.ended")
    if state.paused:
        return Refusal("auction.paused")
    if state.phase == Phase.OPT_IN:
        return Refusal("auction.opt_in_window", {"deadline": state.deadline.isoformat() if state.deadline else None})
    if state.deadline is None or now >= state.deadline:
        code = "auction.deadline_passed" if state.phase == Phase.TIMED else "auction.phase_over"
        return Refusal(code, {"deadline": state.deadline.isoformat() if state.deadline else None})
    amount = bid.amount_fen
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0 \
            or isinstance(bid.answers_price, bool) or not isinstance(bid.answers_price, int):
        return Refusal("auction.bad_amount")
    current = answerable_price(terms, state)
    if bid.answers_price != current:
        return Refusal("auction.stale", {"answers_price": bid.answers_price, "current_price": current})
    if bid.answers_increment is not None and bid.answers_increment != terms.increment_fen:
        return Refusal("auction.increment_changed", {"answers_increment": bid.answers_increment,
                                                     "increment_fen": terms.increment_fen})
    low = minimum_bid(terms, state)
    if amount < low:
        return Refusal("auction.below_minimum", {"minimum_fen": low, "amount_fen": amount})
    if (amount - low) % terms.increment_fen:
        return Refusal("auction.not_multiple", {"increment_fen": terms.increment_fen, "base_fen": current})
    if state.leader is not None and state.leader == bid.bidder and not _timed_start_open(state):
        return Refusal("auction.already_leading")
    return None


def superseded(terms: Terms, state: State, bid: Bid, now: datetime) -> bool:
    """True when, with bidding running, `bid` names a price already below the answerable one. That
    price never falls (starting price, then strictly rising bids), so such a bid can only ever be
    refused — as stale, or for a pause or the phase's end that came since — whatever happens before
    it would reach the lot lock: it may be answered from one committed read, without the lock."""
    answers = bid.answers_price
    if isinstance(answers, bool) or not isinstance(answers, int):
        return False
    return running(state, now) and answers < answerable_price(terms, state)


def place_bid(terms: Terms, state: State, bid: Bid, now: datetime, *, qualified: bool = True,
              previous: tuple[Bid, Decision] | None = None) -> tuple[State, Decision]:
    """Apply one bid. `previous`: the stored try with the same (bidder, client_bid_id), if any — its
    decision is returned unchanged (replay) when the retry is the same bid, else bid_id_reused.
    In the timed phase an accepted bid restarts the countdown: deadline = now + C."""
    if previous is not None:
        first, decision = previous
        if (first.answers_price, first.amount_fen) != (bid.answers_price, bid.amount_fen):
            return state, Decision(False, Refusal("auction.bid_id_reused", {"client_bid_id": bid.client_bid_id}))
        return state, replace(decision, replay=True)
    refusal = check_bid(terms, state, bid, now, qualified=qualified)
    if refusal is not None:
        return state, Decision(False, refusal)
    deadline = now + terms.countdown if state.phase == Phase.TIMED else state.deadline
    new = replace(state, price_fen=bid.amount_fen, leader=bid.bidder, bids=state.bids + 1, deadline=deadline)
    return new, Decision(True, seq=new.bids, deadline=deadline)


# --- phases --------------------------------------------------------------------------------------

def start(terms: Terms, state: State, now: datetime, free_until: datetime, *, qualified: int,
          settings: Mapping[str, int]) -> State:
    """Open the free phase until `free_until`. A 拍卖 with fewer qualified buyers than
    auction.min_bidders does not start: it ends in 流拍 (too_few_bidders)."""
    if state.phase != Phase.SCHEDULED:
        raise _step("auction.ended" if state.phase == Phase.ENDED else "auction.not_free")
    if terms.method == Method.AUCTION and qualified < _s(settings, "auction.min_bidders"):
        return replace(state, phase=Phase.ENDED, outcome=Outcome.NO_SALE, basis="too_few_bidders", deadline=None)
    if qualified == 0:
        return replace(state, phase=Phase.ENDED, outcome=Outcome.NO_SALE, basis="no_bidder", deadline=None)
    return replace(state, phase=Phase.FREE, deadline=free_until)


def free_phase_over(state: State, now: datetime) -> bool:
    return state.phase == Phase.FREE and not state.paused and state.deadline is not None and now >= state.deadline


def end_free_phase(terms: Terms, state: State, now: datetime, *, qualified: int, continuing: int,
                   reserve_fen: int | None, settings: Mapping[str, int], reserve_sealed: bool = False,
                   eligible: int | None = None) -> State:
    """At the end of the free phase: the timed phase (countdown from now), the opt-in window, or the
    outcome. qualified: buyers with bidding rights; eligible: those of them who may continue (挂牌:
    auction.timed_needs_bid — any qualified buyer, or only those with a valid listing bid; None: all
    qualified); continuing: the eligible ones who asked to continue so far; reserve_sealed: a sealed
    reserve exists and is not opened yet (see decide).

    挂牌 with auction.optin_window_s = 0: those who asked before the close decide now. With a window
    (汕头): fewer eligible buyers than auction.timed_min_bidders → the listing result now (nobody can
    make it two); every eligible buyer already asked → the timed phase now (nothing left to wait for);
    else the OPT_IN phase until now + the window (end_opt_in decides)."""
    if state.phase != Phase.FREE:
        raise _step("auction.not_free")
    if state.paused:
        raise _step("auction.paused")
    if now < state.deadline:
        raise _step("auction.free_not_over")
    need = _s(settings, "auction.timed_min_bidders")
    if terms.method == Method.LISTING:
        window = _s(settings, "auction.optin_window_s")
        eligible = qualified if eligible is None else eligible
        if window and need <= eligible and continuing < eligible:
            return replace(state, phase=Phase.OPT_IN, deadline=now + timedelta(seconds=window))
        to_timed = continuing >= need
    else:
        to_timed = terms.method == Method.AUCTION or qualified >= need
    if to_timed:
        return _to_timed(terms, state, now, settings)
    if terms.method == Method.ONLINE and qualified == 1:
        if not _s(settings, "auction.one_bidder_sale"):
            return _ended(state, Outcome.NO_SALE, "one_bidder")
        if state.price_fen is None:
            return _ended(state, Outcome.NO_SALE, "no_bid")
        return _ended(state, Outcome.SOLD, "sold_one_bidder")
    return decide(state, reserve_fen, reserve_sealed=reserve_sealed)


def _to_timed(terms: Terms, state: State, now: datetime, settings: Mapping[str, int]) -> State:
    """The timed phase from now: countdown C; its start price the highest bid (the leader holds it) or,
    with auction.timed_start_plus_increment, that plus one increment (anyone may take it, the listing
    leader too). No bid in it: the listing result stands."""
    start = state.price_fen
    if start is not None and _s(settings, "auction.timed_start_plus_increment"):
        start += terms.increment_fen
    return replace(state, phase=Phase.TIMED, deadline=now + terms.countdown, timed_start_fen=start)


def opt_in_over(state: State, now: datetime) -> bool:
    return state.phase == Phase.OPT_IN and not state.paused and state.deadline is not None and now >= state.deadline


def end_opt_in(terms: Terms, state: State, now: datetime, *, continuing: int, reserve_fen: int | None,
               settings: Mapping[str, int], reserve_sealed: bool = False) -> State:
    """After the opt-in window: ≥ auction.timed_min_bidders eligible buyers opted in → the timed phase
    (countdown from now); else the listing result stands (G3.5)."""
    if state.phase != Phase.OPT_IN:
        raise _step("auction.not_opt_in")
    if state.paused:
        raise _step("auction.paused")
    if now < state.deadline:
        raise _step("auction.opt_in_over")
    if continuing >= _s(settings, "auction.timed_min_bidders"):
        return _to_timed(terms, state, now, settings)
    return decide(state, reserve_fen, reserve_sealed=reserve_sealed)


def check_opt_in(terms: Terms, state: State, now: datetime, *, eligible: bool) -> Refusal | None:
    """May a qualified buyer ask to continue now? 挂牌 only: during the listing (its eligibility is
    counted at the close: it may still bid) or in the opt-in window (then it must be eligible)."""
    if terms.method != Method.LISTING:
        return Refusal("auction.not_opt_in")
    if state.paused:
        return Refusal("auction.paused")
    if state.phase == Phase.SCHEDULED:
        return None
    if state.phase in (Phase.FREE, Phase.OPT_IN) and state.deadline is not None and now < state.deadline:
        if state.phase == Phase.OPT_IN and not eligible:
            return Refusal("auction.not_eligible_timed")
        return None
    return Refusal("auction.not_opt_in")


def adjust_increment(terms: Terms, state: State, increment_fen: int) -> Terms:
    """The host adjusts the increment while bidding runs (rules.md G2.2, G3.3): a positive amount other
    than the current one, in the free, opt-in or timed phase. Bids that answered the old increment are
    refused (check_bid: auction.increment_changed)."""
    if state.phase == Phase.ENDED:
        raise _step("auction.ended")
    if state.phase == Phase.SCHEDULED:
        raise _step("auction.not_started")
    if isinstance(increment_fen, bool) or not isinstance(increment_fen, int) or increment_fen <= 0:
        raise _step("auction.bad_amount")
    if increment_fen == terms.increment_fen:
        raise _step("auction.increment_same")
    return replace(terms, increment_fen=increment_fen)


def countdown_over(state: State, now: datetime) -> bool:
    return state.phase == Phase.TIMED and not state.paused and state.deadline is not None and now >= state.deadline


def close_timed_phase(state: State, now: datetime, *, reserve_fen: int | None, reserve_sealed: bool = False) -> State:
    """The countdown ran out without a bid: the outcome."""
    if state.phase != Phase.TIMED:
        raise _step("auction.not_timed")
    if state.paused:
        raise _step("auction.paused")
    if now < state.deadline:
        raise _step("auction.countdown_running")
    return decide(state, reserve_fen, reserve_sealed=reserve_sealed)


def decide(state: State, reserve_fen: int | None, *, reserve_sealed: bool = False) -> State:
    """Highest bid ≥ reserve wins (no reserve: any bid); else 流拍 (no_bid / below_reserve).
    With a sealed reserve not yet opened and a bid to compare, bidding ends without an outcome
    (basis awaiting_reserve): the custodians open the reserve, then `settle` decides."""
    if state.price_fen is None:
        return _ended(state, Outcome.NO_SALE, "no_bid")
    if reserve_sealed:
        return replace(state, phase=Phase.ENDED, outcome=None, basis="awaiting_reserve", deadline=None,
                       paused_left=None)
    if reserve_fen is None:
        return _ended(state, Outcome.SOLD, "sold_no_reserve")  # 拍卖法 Art. 50: no reserve, the highest bid wins
    if state.price_fen < reserve_fen:
        return _ended(state, Outcome.NO_SALE, "below_reserve")
    return _ended(state, Outcome.SOLD, "sold_highest")


def awaiting_reserve(state: State) -> bool:
    return state.phase == Phase.ENDED and state.outcome is None and state.basis == "awaiting_reserve"


def settle(state: State, reserve_fen: int | None) -> State:
    """Bidding ended awaiting the reserve: the outcome with the opened reserve. None means the sealed
    reserve could not be read (a bad sheet): the seller's floor is unknown, so no sale (reserve_failed)
    rather than a sale that may be below it."""
    if not awaiting_reserve(state):
        raise _step("auction.not_awaiting_reserve")
    if reserve_fen is None:
        return _ended(state, Outcome.NO_SALE, "reserve_failed")
    return decide(replace(state, basis=None), reserve_fen)


def _ended(state: State, outcome: Outcome, basis: str) -> State:
    return replace(state, phase=Phase.ENDED, outcome=outcome, basis=basis, deadline=None, paused_left=None)


def pause(state: State, now: datetime) -> State:
    """Freeze the running phase: the time it had left is kept, nobody can bid."""
    if state.phase not in (Phase.FREE, Phase.OPT_IN, Phase.TIMED):
        raise _step("auction.ended" if state.phase == Phase.ENDED else "auction.not_started")
    if state.paused:
        raise _step("auction.already_paused")
    left = max(state.deadline - now, timedelta(0))
    return replace(state, paused_left=left, deadline=None)


def resume(state: State, now: datetime) -> State:
    """Restore the time left at the pause, counted from now."""
    if not state.paused:
        raise _step("auction.not_paused")
    return replace(state, deadline=now + state.paused_left, paused_left=None)


class StepRefused(Exception):
    def __init__(self, refusal: Refusal):
        super().__init__(refusal.code)
        self.refusal = refusal


def _step(code: str, **details) -> StepRefused:
    return StepRefused(Refusal(code, details))


def _s(settings: Mapping[str, int], code: str) -> int:
    return int(settings.get(code, definition(code).default))


OUTCOME_BASIS = {
    "sold_highest": ("最高报价不低于底价，成交", "The highest bid reached the reserve: sold"),
    "sold_no_reserve": ("本标的未设底价（保留价），最高报价者竞得", "No reserve was set: the highest bid wins"),
    "sold_one_bidder": ("仅一名合格竞买人，按不低于挂牌价成交", "One qualified buyer: sold at not below the listing price"),
    "no_bid": ("无人报价，流拍", "No bid: no sale"),
    "below_reserve": ("最高报价低于底价，流拍", "The highest bid is below the reserve: no sale"),
    "too_few_bidders": ("竞买人不足，流拍", "Too few buyers: no sale"),
    "no_bidder": ("无合格竞买人，流拍", "No qualified buyer: no sale"),
    "one_bidder": ("仅一名竞买人，按规定流拍", "One buyer only: no sale under the rules"),
    "awaiting_reserve": ("竞价已结束，待开启密封底价", "Bidding has ended; the sealed reserve is being opened"),
    "reserve_failed": ("密封底价无法开启，流拍", "The sealed reserve could not be opened: no sale"),
}


@dataclass(frozen=True)
class NextStep:
    code: str
    zh: str
    en: str


def next_steps(procedure: str, appraisal_fen: int | None, settings: Mapping[str, int]) -> list[NextStep]:
    """What may follow a 流拍: re-listing; for state assets a lower floor, below
    auction.reappraisal_floor_bp of the appraisal only with recorded written approval (120号/32号令)."""
    steps = [NextStep("relist", "重新公告挂牌（拍卖）", "Announce the sale again")]
    if METHOD_OF.get(procedure) == Method.ONLINE:
        bp = _s(settings, "auction.reappraisal_floor_bp")
        floor = appraisal_fen * bp // 10_000 if appraisal_fen else None
        zh = "降低转让底价后重新披露" + (f"；低于 {format_yuan(floor)} 元（评估值的{bp / 100:g}%）须经书面批准" if floor else "")
        en = "Lower the floor and disclose again" + (
            f"; below {format_yuan(floor)} yuan ({bp / 100:g} % of the appraisal) only with written approval" if floor else "")
        steps.append(NextStep("lower_floor", zh, en))
    steps.append(NextStep("terminate", "终止交易", "Terminate the trade"))
    return steps


def floor_needs_approval(new_floor_fen: int, appraisal_fen: int, settings: Mapping[str, int]) -> bool:
    return new_floor_fen * 10_000 < appraisal_fen * _s(settings, "auction.reappraisal_floor_bp")


# --- large jumps (ux.md §1.4: the 1,643万 → 1.65亿 fat-finger case) --------------------------------

@dataclass(frozen=True)
class Jump:
    steps: int
    bp: int | None  # the jump as a share of the current price, basis points
    large: bool


def jump(terms: Terms, state: State, amount_fen: int, settings: Mapping[str, int]) -> Jump:
    base = answerable_price(terms, state)
    diff = max(amount_fen - base, 0)
    steps = diff // terms.increment_fen
    bp = diff * 10_000 // base if base else None
    large = steps >= _s(settings, "auction.large_jump_steps") or (
        bp is not None and bp >= _s(settings, "auction.large_jump_bp"))
    return Jump(steps, bp, large)


# --- listing terms and schedule --------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    code: str
    zh: str
    en: str
    field: str | None = None


def check_terms(procedure: str, category: str, *, starting_fen: int, increment_fen: int, deposit_fen: int,
                countdown_s: int, settings: Mapping[str, int]) -> list[Problem]:
    """The money terms: positive prices, an increment, a countdown within the setting's range, the
    deposit within its regime's limits of the starting price (land: ≥ deposit.land_floor_bp)."""
    out: list[Problem] = []
    if procedure not in METHOD_OF:
        out.append(Problem("auction.procedure", "该交易方式不是拍卖、挂牌或网络竞价", "Not an auction, listing or online bidding", "procedure"))
        return out
    if starting_fen <= 0:
        out.append(Problem("auction.starting_price", "起始价须大于零", "The starting price must be above zero", "starting_fen"))
    if increment_fen <= 0:
        out.append(Problem("auction.increment", "加价幅度须大于零", "The increment must be above zero", "increment_fen"))
    d = definition("auction.countdown_s")
    if not d.minimum <= countdown_s <= (d.maximum or countdown_s):
        out.append(Problem("auction.countdown", f"倒计时须在{d.minimum}–{d.maximum}秒之间",
                           f"The countdown must be {d.minimum}–{d.maximum} seconds", "countdown_s"))
    if starting_fen > 0:
        try:
            check_deposit(procedure, category, starting_fen, deposit_fen, settings)
        except DepositRefused as err:
            out.append(Problem(err.code, err.message_zh, err.message_en, "deposit_fen"))
    return out


def disclosure_setting(starting_fen: int) -> str:
    """32号令 Art. 48 value bands for asset transfers: < 100万, 100万–1000万, > 1000万 (以上 includes)."""
    if starting_fen < 100 * WAN:
        return "period.asset_small_wd"
    if starting_fen <= 1000 * WAN:
        return "period.asset_mid_wd"
    return "period.asset_large_wd"


def check_schedule(procedure: str, *, published_at: datetime, start_at: datetime, close_at: datetime,
                   starting_fen: int, cal: WorkCalendar, settings: Mapping[str, int]) -> list[Problem]:
    """The schedule minimums: land — notice ≥ period.land_notice_cd before the start, listing ≥
    period.land_listing_wd; mining — notice ≥ period.mining_notice_wd, listing ≥ period.mining_listing_wd;
    assets — the disclosure (publication → close) by value band; an auction's free phase ends after
    it starts. A year nobody loaded fails closed (calendar.year_missing)."""
    out: list[Problem] = []
    if close_at <= start_at:
        out.append(Problem("auction.schedule_order", "竞价结束时间须晚于开始时间", "The close must be after the start", "close_at"))
        return out
    if start_at < published_at:
        out.append(Problem("auction.schedule_order", "竞价开始时间须晚于公告发布时间", "The start must be after the notice", "start_at"))
        return out
    checks: list[tuple[str, datetime, datetime, Unit, str]] = []
    if procedure.startswith("land"):
        for v in check_periods("land_listing" if procedure == "land_listing" else "land", "land_grant",
                               {"published_at": published_at, "opening_at": start_at, "closing_at": close_at},
                               cal, settings):
            out.append(Problem(v.code, v.zh, v.en, "close_at" if v.field == "closing_at" else "start_at"))
        return out
    if procedure.startswith("mining"):
        checks.append(("period.mining_notice_wd", published_at, start_at, Unit.WD, "start_at"))
        if procedure == "mining_listing":
            checks.append(("period.mining_listing_wd", start_at, close_at, Unit.WD, "close_at"))
    else:
        checks.append((disclosure_setting(starting_fen), published_at, close_at, Unit.WD, "close_at"))
    for code, a, b, unit, fld in checks:
        n = _s(settings, code)
        d = definition(code)
        try:
            ok = meets_minimum(cal, a, b, n, unit)
        except CalendarYearMissing as err:
            out.append(Problem(err.code, err.message_zh, err.message_en, fld))
            continue
        if not ok:
            out.append(Problem(code, f"不符合「{d.label_zh}不少于{n}个工作日」（{d.source}）",
                               f"Breaks the rule: {d.label_en} at least {n} working days ({d.source})", fld))
    return out


# --- the lot's stage machine (LotTrade.status) --------------------------------------------------

def _machine(procedure: str) -> Machine:
    return Machine(
        procedure=procedure,
        initial="accepting",
        terminal=frozenset({"archived", "terminated", "reannounced"}),
        transitions=(
            Transition("accepting", "start_bidding", "bidding", HOST),
            Transition("closed", "start_bidding", "bidding", HOST),
            Transition("accepting", "fail", "failed", HOST),
            Transition("closed", "fail", "failed", HOST),
            Transition("bidding", "sell", "awarded", HOST),
            Transition("bidding", "fail", "failed", HOST),
            Transition("awarded", "sign_contract", "contracted", RUNNERS),
            Transition("contracted", "archive", "archived", HOST),
            *failure_paths(("bidding",)),
            # a termination notice (终止公告) ends the lot wherever it stands (lots._terminate_lots)
            *(Transition(s, "terminate", "terminated", SYSTEM) for s in ("accepting", "closed", "bidding")),
        ),
    )


MACHINES = {p: _machine(p) for p in PROCEDURES}
for _m in MACHINES.values():
    register(_m)

__all__ = ["MACHINES", "METHOD_OF", "PROCEDURES", "PROJECT", "Bid", "Decision", "Method", "Outcome", "Phase",
           "Refusal", "State", "StepRefused", "Terms", "check_bid", "place_bid"]


# --- parcel figures ------------------------------------------------------------------------------

def mu_of(area_m2):
    """㎡ → 亩 (1 亩 = 10000/15 ㎡), two decimals, half up; None stays None."""
    from decimal import ROUND_HALF_UP, Decimal

    if area_m2 is None:
        return None
    return (Decimal(area_m2) * 15 / 10_000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def mask_bidder_no(no: str | None) -> str:
    """The history shows ****12: the buyer recognises its own number, nobody else learns one."""
    return "****" + no[-2:] if no else "****"
