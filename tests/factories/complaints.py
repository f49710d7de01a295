"""Complaints for tests: a lot whose result was objected to (异议, 比选) or challenged (质疑, 询价) and
answered, so that a complaint can follow; a 2027 calendar (weekends only, test data) so that 30
working-day decision clocks starting in late 2026 can be counted.

    w = objected_lot(ctx)                     # 比选: candidates publicized, bidder 1's objection answered
    w = objected_lot(ctx, procedure="inquiry")  # 询价: awarded, bidder 1's challenge answered
    w.objection, w.c_supervisor, w.supervisor"""

from __future__ import annotations

from datetime import date

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.awards import World, propose, reported_lot
from trading.core.clock import beijing
from trading.core.context import ServiceContext
from trading.procedures.common.awards import objections, result
from trading.procedures.common.awards import services as awards
from trading.reference.models import CalendarYear
from trading.reference.services import load_calendar_year

PRICES = [987_654_32, 990_000_00, 1_000_000_00]
#: 比选: the objection is filed Tue 24 Nov and answered Wed 25 Nov (1 day pending)
OBJECTED_AT = beijing(2026, 11, 24, 10)
ANSWERED_AT = beijing(2026, 11, 25, 10)
COMPLAIN_AT = beijing(2026, 11, 26, 10)


def ensure_2027(ctx: ServiceContext) -> None:
    if ctx.session.get(CalendarYear, 2027) is None:
        load_calendar_year(ctx, 2027, [(date(2027, 1, 1), False, "元旦")], "测试用安排（仅元旦）")


def objected_lot(ctx: ServiceContext, *, procedure: str = "selection") -> World:
    w = reported_lot(ctx, procedure=procedure, bidders=3)
    ensure_2027(ctx)
    propose(w, PRICES)
    code = w.trade.lot_code
    if procedure == "inquiry":
        awards.confirm_supplier(w.c_owner, code, w.bidders[0].org_id)
        result.award(w.c_owner, code, w.bidders[0].org_id, team_names=["王专家", "李专家", "采购人代表赵某"])
    else:
        awards.publish_candidates(w.c_owner, code)
    ctx.clock.set(OBJECTED_AT)
    w.objection = objections.file_objection(w.c_bidders[1], code, "评审打分有误，请复核第一名的业绩证明材料。")
    ctx.clock.set(ANSWERED_AT)
    objections.answer_objection(w.c_owner, w.objection.id, "经复核，第一名业绩证明材料真实有效，维持评审结果。")
    w.supervisor = make_user(ctx, "supervisor", totp=True)
    w.c_supervisor = actor_ctx(ctx.session, ctx.clock, w.supervisor)
    ctx.clock.set(COMPLAIN_AT)
    ctx.session.flush()
    return w
