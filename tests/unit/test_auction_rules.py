"""The bidding engine's rules as tables (procedures/auction/rules.py): increments, stale bids,
idempotency, reserve, one bidder, no bidder, the countdown on its boundary instant, pause/resume."""

from __future__ import annotations

from datetime import timedelta

import pytest

from trading.core.clock import beijing
from trading.procedures.auction import rules as r
from trading.procedures.auction.rules import Bid, Method, Outcome, Phase, State, Terms
from trading.procedures.common.flow import machine_for
from trading.reference.workdays import from_days

T = beijing(2026, 11, 10, 9, 0)
MS = timedelta(milliseconds=1)
C = timedelta(minutes=5)
START, INC = 1_000_000_00, 10_000_00  # 100万元, +1万元
TERMS = Terms(Method.LISTING, START, INC, C)
FREE = State(phase=Phase.FREE, deadline=T + timedelta(hours=1))
LED = State(phase=Phase.FREE, price_fen=START + 2 * INC, leader=7, bids=3, deadline=T + timedelta(hours=1))
TIMED = State(phase=Phase.TIMED, price_fen=START + 2 * INC, leader=7, bids=3, deadline=T + C)


# --- increments, first bid, stale ------------------------------------------------------------------
@pytest.mark.parametrize("state, answers, amount, code", [
    (FREE, START, START, None),                         # the first bid may equal the starting price
    (FREE, START, START + 3 * INC, None),               # … or be above it by whole increments
    (FREE, START, START - INC, "auction.below_minimum"),
    (FREE, START, START + INC // 2, "auction.not_multiple"),
    (LED, START + 2 * INC, START + 3 * INC, None),      # current + 1 increment
    (LED, START + 2 * INC, START + 7 * INC, None),      # current + 5 increments
    (LED, START + 2 * INC, START + 2 * INC, "auction.below_minimum"),  # equal to the current price
    (LED, START + 2 * INC, START + 3 * INC + 1, "auction.not_multiple"),
    (LED, START + INC, START + 3 * INC, "auction.stale"),   # answers a price already overtaken
    (LED, START, START + 3 * INC, "auction.stale"),
    (FREE, START - INC, START, "auction.stale"),            # the first bid answers the starting price
    (LED, START + 2 * INC, 0, "auction.bad_amount"),
    (LED, START + 2 * INC, -INC, "auction.bad_amount"),
    (LED, START + 2 * INC, True, "auction.bad_amount"),
    (LED, START + 2 * INC, float(START + 3 * INC), "auction.bad_amount"),
    (State(), START, START, "auction.not_started"),
    (State(phase=Phase.ENDED, outcome=Outcome.SOLD), START, START, "auction.ended"),
])
def test_bid_table(state, answers, amount, code):
    refusal = r.check_bid(TERMS, state, Bid(1, answers, amount), T)
    assert (refusal.code if refusal else None) == code
    if refusal:
        assert r.REASONS[refusal.code][0] and r.REASONS[refusal.code][1]  # zh + en


# which bids may be refused as stale before the lot lock: only an answer below the answerable price
# while bidding runs (that price never falls, so the bid could never become acceptable)
PAUSED = State(phase=Phase.FREE, price_fen=START + 2 * INC, leader=7, bids=3, deadline=T + timedelta(hours=1),
               paused_left=timedelta(minutes=3))


@pytest.mark.parametrize("state, answers, now, expected", [
    (LED, START + INC, T, True),                  # beaten: the price is START + 2 INC
    (LED, START, T, True),
    (FREE, START - INC, T, True),                 # below the starting price, no bid yet
    (LED, START + 2 * INC, T, False),             # the current price: the lock decides
    (LED, START + 3 * INC, T, False),             # a price not reached yet: it might be, the lock decides
    (FREE, START, T, False),
    (TIMED, START + INC, T + C - MS, True),       # last millisecond of the countdown
    (TIMED, START + INC, T + C, False),           # countdown over: the lock gives the real reason
    (PAUSED, START + INC, T, False),              # paused: refused under the lock as paused
    (State(), START - INC, T, False),             # not started
    (State(phase=Phase.ENDED, outcome=Outcome.SOLD, price_fen=START), START - INC, T, False),
    (LED, True, T, False),                        # not a price at all: the lock refuses it as such
    (LED, float(START), T, False),
])
def test_superseded_table(state, answers, now, expected):
    assert r.superseded(TERMS, state, Bid(1, answers, START + 5 * INC), now) is expected
    if expected:  # whatever it is, the engine refuses it as stale
        assert r.check_bid(TERMS, state, Bid(1, answers, START + 5 * INC), now).code == "auction.stale"


def test_stale_refusal_names_the_current_price():
    refusal = r.check_bid(TERMS, LED, Bid(1, START + INC, START + 3 * INC), T)
    assert refusal.details == {"answers_price": START + INC, "current_price": START + 2 * INC}


def test_the_leader_cannot_overbid_itself_and_others_can():
    assert r.check_bid(TERMS, LED, Bid(7, START + 2 * INC, START + 3 * INC), T).code == "auction.already_leading"
    assert r.check_bid(TERMS, LED, Bid(8, START + 2 * INC, START + 3 * INC), T) is None


def test_unqualified_buyer_is_refused_first():
    assert r.check_bid(TERMS, LED, Bid(8, 1, 1), T, qualified=False).code == "auction.not_qualified"


def test_accepted_bid_advances_price_leader_and_dense_sequence():
    s, d = r.place_bid(TERMS, FREE, Bid(1, START, START), T)
    assert d.accepted and d.seq == 1 and (s.price_fen, s.leader, s.bids) == (START, 1, 1)
    s, d = r.place_bid(TERMS, s, Bid(2, START, START + INC), T)
    assert d.seq == 2 and s.leader == 2
    s2, d = r.place_bid(TERMS, s, Bid(1, START, START + 2 * INC), T)  # stale: answers the old price
    assert not d.accepted and d.refusal.code == "auction.stale" and s2 is s


def test_two_bids_answering_the_same_price_only_the_first_is_accepted():
    s, first = r.place_bid(TERMS, LED, Bid(1, START + 2 * INC, START + 3 * INC), T)
    s, second = r.place_bid(TERMS, s, Bid(2, START + 2 * INC, START + 3 * INC), T)
    assert first.accepted and not second.accepted and second.refusal.code == "auction.stale"


# --- idempotency ----------------------------------------------------------------------------------
def test_a_retry_returns_the_first_result_and_changes_nothing():
    bid = Bid(1, START + 2 * INC, START + 3 * INC, "c-1")
    s1, d1 = r.place_bid(TERMS, LED, bid, T)
    s2, d2 = r.place_bid(TERMS, s1, bid, T + MS, previous=(bid, d1))
    assert s2 is s1 and d2.replay and d2.accepted and d2.seq == d1.seq
    refused = Bid(1, START, START + 3 * INC, "c-2")
    s3, d3 = r.place_bid(TERMS, s1, refused, T)
    s4, d4 = r.place_bid(TERMS, s3, refused, T, previous=(refused, d3))
    assert not d4.accepted and d4.replay and d4.refusal.code == "auction.stale" and s4 is s3


def test_same_client_id_for_another_bid_is_refused():
    bid = Bid(1, START + 2 * INC, START + 3 * INC, "c-1")
    s1, d1 = r.place_bid(TERMS, LED, bid, T)
    s2, d2 = r.place_bid(TERMS, s1, Bid(1, START + 3 * INC, START + 5 * INC, "c-1"), T, previous=(bid, d1))
    assert d2.refusal.code == "auction.bid_id_reused" and s2 is s1


# --- countdown on the boundary instant ------------------------------------------------------------
@pytest.mark.parametrize("at, accepted, code", [
    (T + C - MS, True, None),                       # 1 ms before the end: accepted, extends
    (T + C, False, "auction.deadline_passed"),      # at the deadline: refused
    (T + C + MS, False, "auction.deadline_passed"),
    (T, True, None),
])
def test_countdown_boundary(at, accepted, code):
    s, d = r.place_bid(TERMS, TIMED, Bid(8, START + 2 * INC, START + 3 * INC), at)
    assert d.accepted is accepted and (d.refusal.code if d.refusal else None) == code
    if accepted:
        assert s.deadline == at + C == d.deadline  # the countdown restarts from the bid
    else:
        assert s.deadline == T + C


def test_free_phase_bids_do_not_move_its_end():
    s, d = r.place_bid(TERMS, FREE, Bid(1, START, START), T + timedelta(minutes=59))
    assert s.deadline == FREE.deadline
    assert r.check_bid(TERMS, s, Bid(2, START, START + INC), FREE.deadline).code == "auction.phase_over"


# --- pause / resume ------------------------------------------------------------------------------
def test_pause_freezes_the_countdown_and_resume_restores_it():
    paused = r.pause(TIMED, T + timedelta(minutes=2))
    assert paused.paused and paused.paused_left == timedelta(minutes=3) and paused.deadline is None
    assert r.check_bid(TERMS, paused, Bid(8, START + 2 * INC, START + 3 * INC), T + C + timedelta(hours=1)).code \
        == "auction.paused"
    assert not r.countdown_over(paused, T + timedelta(days=1))
    back = r.resume(paused, T + timedelta(hours=2))
    assert back.deadline == T + timedelta(hours=2, minutes=3) and not back.paused
    with pytest.raises(r.StepRefused) as e:
        r.resume(back, T)
    assert e.value.refusal.code == "auction.not_paused"
    with pytest.raises(r.StepRefused) as e:
        r.pause(paused, T)
    assert e.value.refusal.code == "auction.already_paused"


def test_pause_of_the_free_phase_moves_its_end():
    back = r.resume(r.pause(FREE, T + timedelta(minutes=50)), T + timedelta(hours=3))
    assert back.deadline == T + timedelta(hours=3, minutes=10)


@pytest.mark.parametrize("state, code", [(State(), "auction.not_started"),
                                         (State(phase=Phase.ENDED), "auction.ended")])
def test_nothing_to_pause(state, code):
    with pytest.raises(r.StepRefused) as e:
        r.pause(state, T)
    assert e.value.refusal.code == code


# --- phases and outcomes ------------------------------------------------------------------------
END = T + timedelta(hours=1)
LISTED = State(phase=Phase.FREE, price_fen=START + 2 * INC, leader=7, bids=3, deadline=END)
EMPTY = State(phase=Phase.FREE, deadline=END)


@pytest.mark.parametrize("method, state, qualified, continuing, reserve, phase, outcome, basis", [
    # 挂牌: ≥ 2 who want to continue → timed phase
    (Method.LISTING, LISTED, 3, 2, None, Phase.TIMED, None, None),
    # … fewer: the highest listing bid wins if ≥ reserve
    (Method.LISTING, LISTED, 3, 1, START, Phase.ENDED, Outcome.SOLD, "sold_highest"),
    (Method.LISTING, LISTED, 3, 1, START + 2 * INC, Phase.ENDED, Outcome.SOLD, "sold_highest"),  # 以上 includes
    (Method.LISTING, LISTED, 3, 1, None, Phase.ENDED, Outcome.SOLD, "sold_no_reserve"),  # 拍卖法 Art. 50
    (Method.LISTING, LISTED, 3, 0, START + 2 * INC + 1, Phase.ENDED, Outcome.NO_SALE, "below_reserve"),
    (Method.LISTING, EMPTY, 3, 0, None, Phase.ENDED, Outcome.NO_SALE, "no_bid"),
    # 拍卖: always the timed phase after the free one
    (Method.AUCTION, EMPTY, 2, 0, None, Phase.TIMED, None, None),
    # 网络竞价: ≥ 2 qualified → competitive bidding; 1 → one-bidder sale at its bid (≥ listing price)
    (Method.ONLINE, EMPTY, 2, 0, None, Phase.TIMED, None, None),
    (Method.ONLINE, LISTED, 1, 0, None, Phase.ENDED, Outcome.SOLD, "sold_one_bidder"),
    (Method.ONLINE, EMPTY, 1, 0, None, Phase.ENDED, Outcome.NO_SALE, "no_bid"),
])
def test_end_of_free_phase(method, state, qualified, continuing, reserve, phase, outcome, basis):
    """Without an opt-in window (auction.optin_window_s = 0): those who asked before the close decide."""
    s = r.end_free_phase(Terms(method, START, INC, C), state, END, qualified=qualified, continuing=continuing,
                         reserve_fen=reserve, settings={"auction.optin_window_s": 0})
    assert (s.phase, s.outcome, s.basis) == (phase, outcome, basis)
    if phase == Phase.TIMED:
        assert s.deadline == END + C


def test_one_bidder_sale_can_be_turned_off():
    s = r.end_free_phase(Terms(Method.ONLINE, START, INC, C), LISTED, END, qualified=1, continuing=0,
                         reserve_fen=None, settings={"auction.one_bidder_sale": 0})
    assert (s.outcome, s.basis) == (Outcome.NO_SALE, "one_bidder")


def test_free_phase_cannot_end_early_or_while_paused():
    with pytest.raises(r.StepRefused) as e:
        r.end_free_phase(TERMS, LISTED, END - MS, qualified=2, continuing=2, reserve_fen=None, settings={})
    assert e.value.refusal.code == "auction.free_not_over"
    with pytest.raises(r.StepRefused) as e:
        r.end_free_phase(TERMS, r.pause(LISTED, T), END, qualified=2, continuing=2, reserve_fen=None, settings={})
    assert e.value.refusal.code == "auction.paused"


# --- 挂牌: the opt-in window after the close (汕头) and the timed phase's start price -------------------
W = timedelta(minutes=5)


@pytest.mark.parametrize("window, eligible, continuing, phase, basis, deadline", [
    (300, 3, 1, Phase.OPT_IN, None, END + W),        # a window: the eligible may still opt in
    (300, 3, 2, Phase.OPT_IN, None, END + W),        # two asked early, a third may still join: wait
    (120, 2, 0, Phase.OPT_IN, None, END + timedelta(minutes=2)),
    (300, 2, 2, Phase.TIMED, None, END + C),         # every eligible buyer asked already: no wait
    (300, 1, 1, Phase.ENDED, "sold_no_reserve", None),  # one eligible: nobody can make it two
    (300, 0, 0, Phase.ENDED, "sold_no_reserve", None),
    (0, 3, 1, Phase.ENDED, "sold_no_reserve", None),    # no window: decided at the close
    (0, 3, 2, Phase.TIMED, None, END + C),
])
def test_listing_close_with_an_opt_in_window(window, eligible, continuing, phase, basis, deadline):
    s = r.end_free_phase(TERMS, LISTED, END, qualified=3, eligible=eligible, continuing=continuing, reserve_fen=None,
                         settings={"auction.optin_window_s": window})
    assert (s.phase, s.basis, s.deadline) == (phase, basis, deadline)


OPTING = State(phase=Phase.OPT_IN, price_fen=START + 2 * INC, leader=7, bids=3, deadline=END + W)


@pytest.mark.parametrize("continuing, reserve, sealed, phase, outcome, basis", [
    (2, None, False, Phase.TIMED, None, None),                          # ≥ 2 opted in → 限时竞价
    (3, START * 2, True, Phase.TIMED, None, None),
    (1, None, False, Phase.ENDED, Outcome.SOLD, "sold_no_reserve"),      # else the listing result stands
    (1, START, False, Phase.ENDED, Outcome.SOLD, "sold_highest"),
    (0, START + 3 * INC, False, Phase.ENDED, Outcome.NO_SALE, "below_reserve"),
    (1, None, True, Phase.ENDED, None, "awaiting_reserve"),
])
def test_end_of_the_opt_in_window(continuing, reserve, sealed, phase, outcome, basis):
    with pytest.raises(r.StepRefused) as e:
        r.end_opt_in(TERMS, OPTING, END + W - MS, continuing=continuing, reserve_fen=reserve, settings={},
                     reserve_sealed=sealed)
    assert e.value.refusal.code == "auction.opt_in_over"
    s = r.end_opt_in(TERMS, OPTING, END + W, continuing=continuing, reserve_fen=reserve, settings={},
                     reserve_sealed=sealed)
    assert (s.phase, s.outcome, s.basis, s.leader, s.price_fen) == (phase, outcome, basis, 7, START + 2 * INC)
    if phase == Phase.TIMED:
        assert s.deadline == END + W + C and s.timed_start_fen == START + 2 * INC


def test_opt_in_window_takes_no_bid_pauses_and_only_then_ends():
    assert r.check_bid(TERMS, OPTING, Bid(8, START + 2 * INC, START + 3 * INC), END).code == "auction.opt_in_window"
    paused = r.pause(OPTING, END + timedelta(minutes=1))
    assert paused.paused_left == timedelta(minutes=4) and not r.opt_in_over(paused, END + timedelta(hours=1))
    with pytest.raises(r.StepRefused) as e:
        r.end_opt_in(TERMS, paused, END + timedelta(hours=1), continuing=2, reserve_fen=None, settings={})
    assert e.value.refusal.code == "auction.paused"
    resumed = r.resume(paused, END + timedelta(hours=1))
    assert resumed.deadline == END + timedelta(hours=1, minutes=4) and r.opt_in_over(resumed, resumed.deadline)
    with pytest.raises(r.StepRefused):
        r.end_opt_in(TERMS, LISTED, END, continuing=2, reserve_fen=None, settings={})


@pytest.mark.parametrize("method, state, now, eligible, code", [
    (Method.LISTING, State(), T, False, None),                      # before the start: counted at the close
    (Method.LISTING, LISTED, END - MS, False, None),                # during the listing, even before a bid
    (Method.LISTING, LISTED, END, True, "auction.not_opt_in"),      # closed, no window open yet
    (Method.LISTING, OPTING, END, True, None),                      # in the window, eligible
    (Method.LISTING, OPTING, END + W - MS, True, None),
    (Method.LISTING, OPTING, END, False, "auction.not_eligible_timed"),  # no valid listing bid (汕头)
    (Method.LISTING, OPTING, END + W, True, "auction.not_opt_in"),  # the window is over
    (Method.LISTING, r.pause(OPTING, END), END, True, "auction.paused"),
    (Method.LISTING, TIMED, T, True, "auction.not_opt_in"),
    (Method.AUCTION, LISTED, T, True, "auction.not_opt_in"),        # 拍卖 / 网络竞价 have no opt-in
    (Method.ONLINE, LISTED, T, True, "auction.not_opt_in"),
])
def test_who_may_opt_in_when(method, state, now, eligible, code):
    got = r.check_opt_in(Terms(method, START, INC, C), state, now, eligible=eligible)
    assert (got.code if got else None) == code
    if got:
        assert r.REASONS[got.code][0] and r.REASONS[got.code][1]


@pytest.mark.parametrize("plus, leader_bid, other_bid, leader_code, other_code", [
    # 汕头: the timed phase starts at the highest bid, which the leader holds: others outbid it
    (0, START + 3 * INC, START + 3 * INC, "auction.already_leading", None),
    # 39号令 / 福建: start = highest + 1 increment, open to all (the listing leader may take it)
    (1, START + 3 * INC, START + 3 * INC, None, None),
    (1, START + 2 * INC, START + 2 * INC, "auction.below_minimum", "auction.below_minimum"),
    (1, START + 5 * INC, START + 4 * INC, None, None),   # above the start price by whole increments
])
def test_timed_start_price_rule(plus, leader_bid, other_bid, leader_code, other_code):
    settings = {"auction.timed_start_plus_increment": plus, "auction.optin_window_s": 0}
    s = r.end_free_phase(TERMS, LISTED, END, qualified=2, continuing=2, reserve_fen=None, settings=settings)
    assert s.phase == Phase.TIMED and s.timed_start_fen == START + (2 + plus) * INC
    assert r.minimum_bid(TERMS, s) == START + 3 * INC
    got = r.check_bid(TERMS, s, Bid(7, START + 2 * INC, leader_bid), END)
    assert (got.code if got else None) == leader_code
    got = r.check_bid(TERMS, s, Bid(8, START + 2 * INC, other_bid), END)
    assert (got.code if got else None) == other_code
    # once a timed bid took the start price, the usual rules: the new leader cannot overbid itself
    after_bid, d = r.place_bid(TERMS, s, Bid(7 if plus else 8, START + 2 * INC, START + 3 * INC), END)
    assert d.accepted
    assert r.check_bid(TERMS, after_bid, Bid(after_bid.leader, START + 3 * INC, START + 4 * INC), END).code \
        == "auction.already_leading"


def test_no_timed_bid_leaves_the_listing_result():
    settings = {"auction.timed_start_plus_increment": 1, "auction.optin_window_s": 0}
    s = r.end_free_phase(TERMS, LISTED, END, qualified=2, continuing=2, reserve_fen=None, settings=settings)
    done = r.close_timed_phase(s, s.deadline, reserve_fen=START)
    assert (done.outcome, done.basis, done.leader, done.price_fen) == (Outcome.SOLD, "sold_highest", 7, START + 2 * INC)


# --- the increment adjusted while bidding runs ----------------------------------------------------------
@pytest.mark.parametrize("state, new, code", [
    (LED, 2 * INC, None),
    (TIMED, INC // 2, None),
    (OPTING, 3 * INC, None),
    (LED, INC, "auction.increment_same"),
    (LED, 0, "auction.bad_amount"),
    (LED, True, "auction.bad_amount"),
    (State(), 2 * INC, "auction.not_started"),
    (State(phase=Phase.ENDED, outcome=Outcome.SOLD), 2 * INC, "auction.ended"),
])
def test_adjust_increment(state, new, code):
    if code is None:
        assert r.adjust_increment(TERMS, state, new) == Terms(Method.LISTING, START, new, C)
    else:
        with pytest.raises(r.StepRefused) as e:
            r.adjust_increment(TERMS, state, new)
        assert e.value.refusal.code == code


@pytest.mark.parametrize("answers_increment, amount, code", [
    (INC, START + 3 * INC, "auction.increment_changed"),       # in flight with the old increment
    (INC, START + 4 * INC, "auction.increment_changed"),       # even when the amount fits the new one
    (2 * INC, START + 4 * INC, None),                          # the new increment, one step
    (2 * INC, START + 3 * INC, "auction.below_minimum"),
    (None, START + 4 * INC, None),                             # not stated: checked against the new one
    (None, START + 5 * INC, "auction.not_multiple"),
])
def test_bids_answering_the_old_increment_are_refused(answers_increment, amount, code):
    terms = r.adjust_increment(TERMS, LED, 2 * INC)
    got = r.check_bid(terms, LED, Bid(8, START + 2 * INC, amount, answers_increment=answers_increment), T)
    assert (got.code if got else None) == code
    if code == "auction.increment_changed":
        assert got.details == {"answers_increment": INC, "increment_fen": 2 * INC} and "加价幅度已调整" in got.zh


@pytest.mark.parametrize("reserve_set, closed, zh", [
    (True, False, "设有底价"), (True, True, "设有底价"), (False, True, "未设底价"), (False, False, None)])
def test_reserve_statement(reserve_set, closed, zh):
    got = r.reserve_statement(reserve_set, closed)
    assert (got is None) if zh is None else (zh in got[0] and got[1])
    if not reserve_set and closed:
        assert "第五十条" in got[0] and "highest bid wins" in got[1]


@pytest.mark.parametrize("state, reserve, outcome, basis", [
    (TIMED, None, Outcome.SOLD, "sold_no_reserve"),
    (TIMED, START + 2 * INC, Outcome.SOLD, "sold_highest"),
    (TIMED, START + 3 * INC, Outcome.NO_SALE, "below_reserve"),
    (State(phase=Phase.TIMED, deadline=T + C), None, Outcome.NO_SALE, "no_bid"),
])
def test_close_of_timed_phase(state, reserve, outcome, basis):
    with pytest.raises(r.StepRefused):
        r.close_timed_phase(state, T + C - MS, reserve_fen=reserve)
    s = r.close_timed_phase(state, T + C, reserve_fen=reserve)
    assert (s.phase, s.outcome, s.basis, s.price_fen, s.leader) == (Phase.ENDED, outcome, basis, state.price_fen,
                                                                    state.leader)


@pytest.mark.parametrize("method, qualified, phase, basis", [
    (Method.AUCTION, 1, Phase.ENDED, "too_few_bidders"),   # auction.min_bidders = 2
    (Method.AUCTION, 2, Phase.FREE, None),
    (Method.LISTING, 1, Phase.FREE, None),
    (Method.LISTING, 0, Phase.ENDED, "no_bidder"),
    (Method.ONLINE, 1, Phase.FREE, None),
])
def test_start(method, qualified, phase, basis):
    s = r.start(Terms(method, START, INC, C), State(), T, END, qualified=qualified, settings={})
    assert (s.phase, s.basis) == (phase, basis)
    if phase == Phase.FREE:
        assert s.deadline == END


# --- large jumps ---------------------------------------------------------------------------------
@pytest.mark.parametrize("current, amount, increment, large", [
    (16_430_000_00, 16_440_000_00, 10_000_00, False),   # +1 increment
    (16_430_000_00, 16_520_000_00, 10_000_00, False),   # +9 increments, 0.5 %
    (16_430_000_00, 16_530_000_00, 10_000_00, True),    # +10 increments
    (16_430_000_00, 165_000_000_00, 10_000_00, True),   # 1,643万 → 1.65亿: the fat-finger case
    (1_000_00, 1_100_00, 50_00, True),                  # +2 increments but +10 %
    (1_000_00, 1_050_00, 50_00, False),
])
def test_large_jump(current, amount, increment, large):
    state = State(phase=Phase.FREE, price_fen=current, leader=1, bids=1, deadline=END)
    assert r.jump(Terms(Method.LISTING, current, increment), state, amount, {}).large is large


# --- terms and schedule --------------------------------------------------------------------------
@pytest.mark.parametrize("procedure, category, deposit, codes", [
    ("land_listing", "land", START * 20 // 100, []),
    ("land_listing", "land", START * 20 // 100 - 1, ["deposit.under_floor"]),
    ("online_bidding", "state_asset", 0, []),
    ("selection", "works", 0, ["auction.procedure"]),
])
def test_terms(procedure, category, deposit, codes):
    got = r.check_terms(procedure, category, starting_fen=START, increment_fen=INC, deposit_fen=deposit,
                        countdown_s=300, settings={})
    assert [p.code for p in got] == codes


def test_terms_refuse_zero_prices_and_a_countdown_out_of_range():
    got = r.check_terms("land_auction", "land", starting_fen=0, increment_fen=0, deposit_fen=0, countdown_s=5,
                        settings={})
    assert {p.code for p in got} == {"auction.starting_price", "auction.increment", "auction.countdown"}


CAL = from_days([2026], [])  # weekends only: enough for these checks (no holidays in Nov–Dec)


@pytest.mark.parametrize("procedure, published, start, close, starting, codes", [
    ("land_listing", beijing(2026, 11, 2, 9), beijing(2026, 11, 23, 9), beijing(2026, 12, 7, 17), START, []),
    ("land_listing", beijing(2026, 11, 2, 9), beijing(2026, 11, 20, 9), beijing(2026, 12, 7, 17), START,
     ["period.land_notice"]),                                     # 18 days' notice
    ("land_listing", beijing(2026, 11, 2, 9), beijing(2026, 11, 23, 9), beijing(2026, 12, 2, 17), START,
     ["period.land_listing"]),                                    # 7 working days' listing
    ("land_auction", beijing(2026, 11, 2, 9), beijing(2026, 11, 23, 9), beijing(2026, 11, 23, 10), START, []),
    ("mining_listing", beijing(2026, 11, 2, 9), beijing(2026, 11, 30, 9), beijing(2026, 12, 14, 17), START, []),
    ("mining_auction", beijing(2026, 11, 2, 9), beijing(2026, 11, 23, 9), beijing(2026, 11, 23, 10), START,
     ["period.mining_notice_wd"]),                                # 15 working days
    ("online_bidding", beijing(2026, 11, 2, 9), beijing(2026, 11, 5, 9), beijing(2026, 11, 9, 17), 50 * 10_000_00,
     []),                                                         # < 100万: ≥ 5 WD (Nov 3–6, 9)
    ("online_bidding", beijing(2026, 11, 2, 9), beijing(2026, 11, 5, 9), beijing(2026, 11, 6, 17), 50 * 10_000_00,
     ["period.asset_small_wd"]),                                  # 4 WD
    ("online_bidding", beijing(2026, 11, 2, 9), beijing(2026, 11, 5, 9), beijing(2026, 11, 16, 17), 500 * 10_000_00,
     []),                                                         # 100万–1000万: ≥ 10 WD
    ("asset_transfer", beijing(2026, 11, 2, 9), beijing(2026, 11, 5, 9), beijing(2026, 11, 16, 17), 1000 * 10_000_00 + 1,
     ["period.asset_large_wd"]),                                  # > 1000万: ≥ 20 WD
    ("online_bidding", beijing(2026, 11, 2, 9), beijing(2026, 11, 5, 9), beijing(2026, 11, 5, 9), START,
     ["auction.schedule_order"]),
])
def test_schedule(procedure, published, start, close, starting, codes):
    got = r.check_schedule(procedure, published_at=published, start_at=start, close_at=close, starting_fen=starting,
                           cal=CAL, settings={})
    assert [p.code for p in got] == codes


def test_schedule_fails_closed_for_an_unloaded_year():
    got = r.check_schedule("online_bidding", published_at=beijing(2027, 1, 4, 9), start_at=beijing(2027, 1, 5, 9),
                           close_at=beijing(2027, 2, 5, 9), starting_fen=START, cal=CAL, settings={})
    assert [p.code for p in got] == ["calendar.year_missing"]


def test_next_steps_after_no_sale():
    assert [s.code for s in r.next_steps("land_listing", None, {})] == ["relist", "terminate"]
    steps = r.next_steps("online_bidding", 2_000_000_00, {})
    assert [s.code for s in steps] == ["relist", "lower_floor", "terminate"] and "1,800,000.00" in steps[1].zh
    assert r.floor_needs_approval(1_799_999_99, 2_000_000_00, {}) and not r.floor_needs_approval(1_800_000_00, 2_000_000_00, {})


@pytest.mark.parametrize("procedure", r.PROCEDURES)
def test_every_procedure_has_its_machine(procedure):
    m = machine_for(procedure)
    assert m.find("accepting", "start_bidding").target == "bidding"
    assert m.find("bidding", "sell").target == "awarded" and m.find("bidding", "fail").target == "failed"
