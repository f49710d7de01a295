"""竞争性谈判 through the services: 3 suppliers, 3 rounds (a requirements change in round 2 seen
identically by all), final offers sealed to the final round's own key and opened by its custodians,
winner = lowest final price; a round closed twice is a 409 that changes nothing; fewer than 3
suppliers terminates; the 2-supplier exception only with a failed tender AND an approval."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.custodians import price_sheet
from tests.factories.negotiation import (
    open_round_by_custodians,
    opened_negotiation,
    quote_for,
    round_holders,
    seal_quote,
)
from trading.audit.models import AuditEntry
from trading.audit.services import verify
from trading.core.errors import Conflict, Forbidden, NotFound, RuleViolation
from trading.procedures.common.participation.services import EnvelopeRefused
from trading.procedures.negotiation import quotes, rules, services
from trading.procedures.negotiation.models import NegotiationRound, NegotiationSupplier, RoundQuote


def _audit_count(session) -> int:
    return session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()


def _start(neg, **kw):
    kw.setdefault("team_size", 3)
    kw.setdefault("team_experts", 2)
    return services.start_negotiation(neg.team, neg.code, **kw)


def _round(neg, clock, minutes=60):
    return services.open_round(neg.team, neg.code, closes_at=clock.now() + timedelta(minutes=minutes))


def _close(neg, clock, rnd):
    clock.set(rnd.closes_at)
    return services.close_round(neg.team, neg.code)


def test_three_suppliers_three_rounds_change_seen_by_all_final_offers_lowest_wins(session, clock, ctx):
    neg = opened_negotiation(ctx, suppliers=3)
    a, b, c = neg.suppliers
    case = _start(neg)
    assert (neg.trade.status, case.min_suppliers) == ("negotiating", 3)

    # round 1: sealed quotes, a session with each supplier separately
    r1 = _round(neg, clock)
    assert r1.code == f"{neg.code}-R1" and r1.kind == "normal"
    for i, s in enumerate(neg.suppliers):
        quote_for(r1, s, 900_000_00 + i * 10_000_00)
        services.record_session(neg.team, neg.code, s.org.id, f"第一轮与供应商{i + 1}单独谈判")
    assert all(q.outcome is None and q.price_fen is None for q in session.execute(select(RoundQuote)).scalars())
    _close(neg, clock, r1)
    out = open_round_by_custodians(ctx, r1)
    assert out["opened"] and r1.quotes_opened_at is not None
    assert sorted(q.price_fen for q in quotes.accepted_quotes(ctx, r1)) == [900_000_00, 910_000_00, 920_000_00]

    # round 2: a change proposed by the team, confirmed by the buyer, the same list for everyone
    r2 = _round(neg, clock)
    change = services.propose_requirement_change(neg.team, neg.code, "交货期由 60 日改为 45 日")
    with pytest.raises(NotFound):  # not published yet: nobody outside sees it; suppliers see none
        services.publish_requirement_change(neg.owner_ctx, 999_999)
    assert services.published_changes(a.ctx, neg.code) == []
    services.publish_requirement_change(neg.owner_ctx, change.id)
    seen = [[(ch.id, ch.text, ch.published_at) for ch in services.published_changes(s.ctx, neg.code)]
            for s in neg.suppliers]
    assert seen[0] == seen[1] == seen[2] == [(change.id, "交货期由 60 日改为 45 日", clock.now())]
    for i, s in enumerate(neg.suppliers):
        quote_for(r2, s, 880_000_00 + i * 5_000_00)
    _close(neg, clock, r2)
    open_round_by_custodians(ctx, r2)

    # round 3, then the final offers (a supplier replaces its final offer: the later one counts)
    r3 = _round(neg, clock)
    for s in neg.suppliers:
        quote_for(r3, s, 870_000_00)
    _close(neg, clock, r3)
    open_round_by_custodians(ctx, r3)
    final = services.call_final_offers(neg.team, neg.code, closes_at=clock.now() + timedelta(hours=1))
    assert (neg.trade.status, final.kind, final.no) == ("final_offers", "final", 4)
    quote_for(final, a, 860_000_00)
    quote_for(final, b, 850_000_00)
    quote_for(final, c, 855_000_00)
    quote_for(final, a, 845_000_00)  # replaces a's first final offer
    assert quotes.final_prices(session, neg.trade.lot_id) == {}  # nothing before the opening
    with pytest.raises(RuleViolation) as err:  # final offers not opened yet
        services.close_final_offers(neg.team, neg.code)
    assert err.value.code == "negotiation.final_not_opened"
    _close(neg, clock, final)
    open_round_by_custodians(ctx, final)
    assert quotes.final_prices(session, neg.trade.lot_id) == {a.org.id: 845_000_00, b.org.id: 850_000_00,
                                                              c.org.id: 855_000_00}
    assert rules.winner(quotes.final_offers(session, neg.trade.lot_id)).bidder_org_id == a.org.id
    services.close_final_offers(neg.team, neg.code)
    assert neg.trade.status == "evaluating"
    assert session.execute(select(func.count()).select_from(RoundQuote)
                           .where(RoundQuote.status == "superseded")).scalar_one() == 1
    verify(session)


def test_a_round_closed_twice_is_a_conflict_and_nothing_changes(session, clock, ctx):
    neg = opened_negotiation(ctx)
    _start(neg)
    rnd = _round(neg, clock)
    with pytest.raises(RuleViolation) as early:
        services.close_round(neg.team, neg.code)
    assert early.value.code == "negotiation.round_not_due"
    _close(neg, clock, rnd)
    closed_at, before = rnd.closed_at, _audit_count(session)
    clock.advance(timedelta(minutes=3))
    with pytest.raises(Conflict) as err:
        services.close_round(neg.team, neg.code)
    assert err.value.status == 409 and err.value.code == "negotiation.round_closed"
    assert rnd.closed_at == closed_at and _audit_count(session) == before
    assert neg.trade.status == "negotiating"


def test_quotes_are_sealed_to_the_round_and_refused_after_it_closes(session, clock, ctx):
    neg = opened_negotiation(ctx)
    _start(neg)
    r1 = _round(neg, clock)
    s = neg.suppliers[0]
    q = quotes.start_quote(s.ctx, r1.code)
    # sealed for the lot's code instead of the round's: the context does not match
    manifest, payload = seal_quote(r1, s, q.submission_id, price_sheet(1), code=neg.code)
    with pytest.raises(EnvelopeRefused) as err:
        quotes.put_quote(s.ctx, q.submission_id, manifest, payload)
    assert err.value.code == "envelope.context_mismatch" and q.status == "uploading"
    # another supplier cannot use this submission id (same 404 as an unknown one)
    with pytest.raises(NotFound):
        quotes.put_quote(neg.suppliers[1].ctx, q.submission_id, manifest, payload)
    clock.set(r1.closes_at)
    manifest, payload = seal_quote(r1, s, q.submission_id, price_sheet(100))
    with pytest.raises(RuleViolation) as late:
        quotes.put_quote(s.ctx, q.submission_id, manifest, payload)
    assert late.value.code == "negotiation.round_closed_for_quotes"
    # shares before the close are refused; a wrong passphrase is refused and attributed
    holder, _ = round_holders(ctx, r1)[0]
    with pytest.raises(RuleViolation):
        quotes.submit_round_share(actor_ctx(session, clock, holder), r1.code, "x")
    services.close_round(neg.team, neg.code)
    with pytest.raises(RuleViolation) as wrong:
        quotes.submit_round_share(actor_ctx(session, clock, holder), r1.code, "not-the-passphrase")
    assert wrong.value.code == "opening.wrong_passphrase"
    stranger = make_user(ctx, "operator", totp=True)
    with pytest.raises(Forbidden):
        quotes.submit_round_share(actor_ctx(session, clock, stranger), r1.code, "whatever")


def test_withdrawal_below_three_terminates(session, clock, ctx):
    neg = opened_negotiation(ctx)
    _start(neg)
    _round(neg, clock)
    services.withdraw_supplier(neg.suppliers[0].ctx, neg.code, "价格无法接受")
    sup = session.execute(select(NegotiationSupplier).where(
        NegotiationSupplier.bidder_org_id == neg.suppliers[0].org.id)).scalar_one()
    assert sup.status == "withdrawn" and neg.trade.status == "terminated"
    with pytest.raises(NotFound):  # a supplier who left no longer sees the changes
        services.published_changes(neg.suppliers[0].ctx, neg.code)


def test_withdrawal_after_the_final_offer_is_refused(session, clock, ctx):
    neg = opened_negotiation(ctx, suppliers=4)
    _start(neg)
    final = services.call_final_offers(neg.team, neg.code, closes_at=clock.now() + timedelta(hours=1))
    quote_for(final, neg.suppliers[0], 100_00)
    before = _audit_count(session)
    with pytest.raises(RuleViolation) as err:
        services.withdraw_supplier(neg.suppliers[0].ctx, neg.code)
    assert err.value.code == "negotiation.withdraw_too_late" and _audit_count(session) == before
    services.withdraw_supplier(neg.suppliers[1].ctx, neg.code)  # no final offer yet: may leave
    assert neg.trade.status == "final_offers"


def test_fewer_than_three_suppliers_cannot_start_without_the_exception(session, clock, ctx):
    neg = opened_negotiation(ctx, suppliers=2)
    with pytest.raises(RuleViolation) as err:
        _start(neg)
    assert err.value.code == "negotiation.too_few_suppliers" and neg.trade.status == "opened"
    with pytest.raises(RuleViolation):  # a failed tender without an approval is not enough
        _start(neg, prior_tender_failed=True)
    with pytest.raises(RuleViolation):  # an approval without a failed tender neither
        _start(neg, approval_ref="财采〔2026〕12号")
    case = _start(neg, prior_tender_failed=True, approval_ref="财采〔2026〕12号")
    assert case.min_suppliers == 2 and neg.trade.status == "negotiating"


def test_team_and_buyer_share_guards(session, clock, ctx):
    neg = opened_negotiation(ctx, suppliers=4)
    for size, experts, code in ((4, 3, "flow.panel_size"), (3, 1, "flow.panel_experts"), (None, None, "flow.fact_missing")):
        with pytest.raises(RuleViolation) as err:
            _start(neg, team_size=size, team_experts=experts)
        assert err.value.code == code
    ids = [s.org.id for s in neg.suppliers]
    with pytest.raises(RuleViolation) as err:
        _start(neg, sources={ids[0]: "buyer", ids[1]: "buyer", ids[2]: "expert"})
    assert err.value.code == "negotiation.buyer_share" and neg.trade.status == "opened"
    _start(neg, sources={ids[0]: "buyer", ids[1]: "expert"})
    assert neg.trade.status == "negotiating"


def test_only_the_buyer_confirms_a_change(session, clock, ctx):
    neg = opened_negotiation(ctx)
    _start(neg)
    _round(neg, clock)
    change = services.propose_requirement_change(neg.team, neg.code, "增加两年质保")
    other_owner = actor_ctx(session, clock, make_user(ctx, "owner"))
    with pytest.raises(Forbidden):
        services.publish_requirement_change(other_owner, change.id)
    with pytest.raises(Forbidden):
        services.publish_requirement_change(neg.team, change.id)
    assert change.status == "proposed" and services.published_changes(neg.suppliers[0].ctx, neg.code) == []
    services.publish_requirement_change(neg.owner_ctx, change.id)
    with pytest.raises(Conflict):
        services.publish_requirement_change(neg.owner_ctx, change.id)


def test_round_keys_are_distinct_and_audited(session, clock, ctx):
    neg = opened_negotiation(ctx)
    _start(neg)
    r1 = _round(neg, clock)
    _close(neg, clock, r1)
    r2 = _round(neg, clock)
    assert r1.kid != r2.kid and (r1.k, r1.n) == (3, 5)
    entries = [e for e in session.execute(select(AuditEntry).where(AuditEntry.action == "negotiation.round_opened"))
               .scalars()]
    assert len(entries) == 2
    assert session.execute(select(func.count()).select_from(NegotiationRound)).scalar_one() == 2


def test_withdrawal_starts_the_suppliers_deposit_refund_period(session, clock, ctx):
    from trading.procedures.common.deposits.models import DepositAccount
    from trading.procedures.common.deposits.services import open_sub_account
    from trading.procedures.common.participation.models import Participation

    neg = opened_negotiation(ctx, suppliers=4)
    neg.trade.deposit_fen = 2_000_00
    leaving = neg.suppliers[0]
    part = Participation(lot_id=neg.trade.lot_id, bidder_org_id=leaving.org.id, registered_by=leaving.user.id,
                         registered_at=clock.now(), status="registered")
    session.add(part)
    session.flush()
    account = open_sub_account(leaving.ctx, part)
    _start(neg)
    services.withdraw_supplier(leaving.ctx, neg.code, "不再参加")
    assert (account.refund_event, account.refund_event_at) == ("withdrawal", clock.now())
    assert account.refund_due_at is not None and account.refund_due_at > clock.now()
    assert neg.trade.status == "negotiating"  # 3 remain
    others = session.execute(select(DepositAccount).where(DepositAccount.id != account.id)).scalars().all()
    assert others == []


def test_too_few_valid_final_offers_terminates_at_close(session, clock, ctx):
    neg = opened_negotiation(ctx)
    _start(neg)
    final = services.call_final_offers(neg.team, neg.code, closes_at=clock.now() + timedelta(hours=1))
    quote_for(final, neg.suppliers[0], 500_00)
    quote_for(final, neg.suppliers[1], 600_00)  # the third supplier sends no final offer
    _close(neg, clock, final)
    open_round_by_custodians(ctx, final)
    services.close_final_offers(neg.team, neg.code)
    assert neg.trade.status == "terminated"
    entry = session.execute(select(AuditEntry).where(AuditEntry.action == "lot.terminate")).scalar_one()
    assert "有效最后报价不足 3 家" in json.loads(entry.body)["payload"]["reason"]


def test_the_negotiation_starts_from_a_real_opening_of_the_first_responses(session, clock, ctx):
    """Sealed first responses opened by the lot's custodians (issue 3) → the valid responders join."""
    from tests.factories.custodians import add_offer, ensure_custodians
    from tests.factories.notices import notice_project, published_notice
    from trading.procedures.common.models import LotTrade
    from trading.procedures.common.opening import services as opening
    from trading.procedures.common.opening.models import OpeningKey

    people = {u.id: (u, p) for u, p in ensure_custodians(ctx)}
    owner = make_user(ctx, "owner")
    project = notice_project(ctx, owner, category="goods", owner_type="gov", procedure="negotiation")
    published_notice(actor_ctx(session, clock, owner), project)
    trade = session.execute(select(LotTrade).where(LotTrade.project_id == project.id)).scalars().first()
    key = session.execute(select(OpeningKey).where(OpeningKey.lot_id == trade.lot_id)).scalar_one()
    bidders = [add_offer(ctx, trade, key, price_fen=fen)[0] for fen in (900_00, 800_00, 700_00)]
    add_offer(ctx, trade, key, price_plaintext=b"not a price sheet")  # opens, but its sheet is invalid
    clock.set(trade.deadline_at + timedelta(seconds=1))
    for share in key.shares[:key.k]:
        user, pw = people[share.custodian_user_id]
        opening.submit_share(actor_ctx(session, clock, user), trade.lot_code, pw)
    assert trade.status == "opened"
    op = make_user(ctx, "operator")
    services.start_negotiation(actor_ctx(session, clock, op), trade.lot_code, team_size=3, team_experts=2)
    joined = {s.bidder_org_id for s in session.execute(select(NegotiationSupplier)).scalars()}
    assert joined == {b.org_id for b in bidders} and trade.status == "negotiating"


def test_wrong_round_shares_are_recorded_and_throttled(session, clock, ctx):
    from trading.core.errors import Throttled
    from trading.procedures.negotiation.models import RoundShareAttempt

    neg = opened_negotiation(ctx)
    _start(neg)
    rnd = _round(neg, clock)
    _close(neg, clock, rnd)
    user, passphrase = round_holders(ctx, rnd)[0]
    uctx = actor_ctx(session, clock, user)
    for _ in range(5):
        with pytest.raises(RuleViolation):
            quotes.submit_round_share(uctx, rnd.code, "custodian-pass-wrong")
    with pytest.raises(Throttled):
        quotes.submit_round_share(uctx, rnd.code, passphrase)
    assert [a.outcome for a in session.execute(select(RoundShareAttempt)).scalars()] == ["wrong_passphrase"] * 5
    clock.advance(timedelta(minutes=15))
    assert quotes.submit_round_share(uctx, rnd.code, passphrase)["accepted"] == 1


def test_a_drawn_panel_decides_the_team_over_figures_typed_by_the_caller(session, clock, ctx, monkeypatch):
    from trading.evaluation.draw import panel_services

    neg = opened_negotiation(ctx, suppliers=3)
    # evaluation hands the negotiation its panel's composition; no open panel: the caller's figures count
    assert services._team_source is panel_services.negotiation_team
    assert panel_services.negotiation_team(neg.team, neg.trade.lot_id) is None
    monkeypatch.setattr(services, "_team_source", lambda c, lot_id: (4, 3))  # a panel of 4 seats
    with pytest.raises(RuleViolation) as err:
        _start(neg, team_size=3, team_experts=2)
    assert err.value.code == "flow.panel_size" and neg.trade.status == "opened"
    monkeypatch.setattr(services, "_team_source", lambda c, lot_id: (3, 2))
    _start(neg, team_size=9, team_experts=0)
    assert neg.trade.status == "negotiating"
