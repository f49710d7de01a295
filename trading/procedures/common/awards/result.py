"""The award (定标/确定成交): refused before the publicity ends, with an objection unanswered, or
for anyone but rank 1 of a state-funded (or GP) lot without a recorded reason; publishes the result
notice (GP: with the team members' names, its announcement period, the 质疑 window), issues the
中选/成交通知书 to the winner and a result letter to every other participant (PDF, amount in figures
and in Chinese capitals), starts the GP losers' refund clocks; then the contract record (≤ 30 days,
reminder on the time-limit list) which starts the remaining refund clocks.

Imports: core, audit, reference, projects, accounts, this package (notices, deposits.refunds)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time

from sqlalchemy import select

from trading.accounts.models import Organisation
from trading.audit.services import record
from trading.core.blobs import get_store
from trading.core.clock import BEIJING
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, InvalidInput, RuleViolation, not_found
from trading.core.money import check_fen, format_yuan, to_capitals
from trading.projects.models import Lot, Project
from trading.reference.services import get_calendar
from trading.reference.workdays import beijing_date

from .. import services as notices
from ..deposits.refunds import on_award_event
from ..models import LotTrade, Notice
from ..periods import end_day
from ..rules import NoticeKind
from . import rules
from .models import Award, CandidateList, ContractRecord, ResultLetter
from .objections import open_count
from .rules import AwardFacts, CandidateFacts, ListStatus, Regime
from .rules import fmt_until as fmt_bj
from .services import (
    acts_for,
    advance,
    award_settings,
    managed_lot,
    observe_confirmation,
    org_names,
    participant_orgs,
    project_of,
    refuse,
    require_list,
)

NAME_MAX, TEAM_MAX = 40, 15


#: the names of the lot's panel, handed in by evaluation (which this package may not import): a drawn
#: panel's names are the ones the result notice lists; names typed by the caller count only without one
_team_source: Callable[[ServiceContext, int], list[str]] | None = None


def set_team_source(fn: Callable[[ServiceContext, int], list[str]] | None) -> None:
    global _team_source
    _team_source = fn


def panel_names(ctx: ServiceContext, lot_id: int) -> list[str]:
    return list(_team_source(ctx, lot_id)) if _team_source is not None else []


def _team(team_names: Sequence[str], regime: Regime) -> list[str]:
    names = [n.strip() for n in team_names if isinstance(n, str) and n.strip()]
    if len(names) > TEAM_MAX or any(len(n) > NAME_MAX for n in names):
        raise InvalidInput("award.team_names", "评审小组成员名单不正确", "Malformed list of team members", field="team_names")
    if regime == Regime.GP and not names:
        raise InvalidInput("award.team_names_required", "成交结果公告须列明谈判（询价）小组成员名单（74号令第十八条）",
                           "A GP result notice names the members of the negotiation/inquiry team (Order 74 Art. 18)",
                           field="team_names")
    return names


def _facts(ctx: ServiceContext, cl: CandidateList, project: Project) -> AwardFacts:
    conf = observe_confirmation(ctx, cl) if cl.regime == Regime.GP else None
    return AwardFacts(
        regime=Regime(cl.regime), state_funded=bool((project.route or {}).get("state_funded")),
        candidates=tuple(CandidateFacts(c.bidder_org_id, c.rank, c.passed_reason) for c in cl.candidates),
        publicity_until=cl.publicity_until, open_objections=open_count(ctx, cl.id), confirmation=conf,
        already_awarded=cl.status == ListStatus.AWARDED)


def result_body(ctx: ServiceContext, project: Project, lot: Lot, award: Award, names: dict[int, str]) -> str:
    kind = "成交" if award.result_due_at is not None else "中选（中标）"
    lines = [f"项目名称：{project.name}", f"项目编号：{project.trade_code or project.id}", f"标段（包）：{lot.name}（{lot.code}）",
             "", f"一、{kind}人：{names.get(award.bidder_org_id, award.bidder_org_id)}",
             f"二、{kind}金额：{format_yuan(award.price_fen)} 元（{to_capitals(award.price_fen)}）",
             f"三、确定时间：{fmt_bj(award.determined_at)}"]
    if award.team_names:
        lines.append(f"四、评审小组成员名单：{'、'.join(award.team_names)}")
    if award.challenge_until is not None:
        lines.append(f"五、供应商认为成交结果使自己的权益受到损害的，可在{fmt_bj(award.challenge_until)}前通过本平台提出质疑。")
    return "\n".join(lines)


def award(ctx: ServiceContext, lot_code: str, bidder_org_id: int, *, team_names: Sequence[str] = ()) -> Award:
    """Award the lot to `bidder_org_id` now (see the module docstring). Nothing is written when refused."""
    trade, project = managed_lot(ctx, lot_code, lock=True)
    cl = require_list(ctx, trade, lock=True)
    regime = Regime(cl.regime)
    now = ctx.now()
    problems = rules.award_problems(_facts(ctx, cl, project), bidder_org_id, now)
    if problems:
        raise refuse(problems, Conflict if problems[0].code == "award.already_awarded" else RuleViolation)
    team = _team(panel_names(ctx, trade.lot_id) or team_names, regime)
    cal, settings = get_calendar(ctx), award_settings(ctx)
    chosen = next(c for c in cl.candidates if c.bidder_org_id == bidder_org_id)
    row = Award(lot_id=trade.lot_id, list_id=cl.id, bidder_org_id=bidder_org_id, rank=chosen.rank,
                price_fen=chosen.price_fen, determined_by=ctx.actor.user_id, determined_at=now, team_names=team,
                contract_due_at=rules.contract_due(cal, now, settings, regime))
    notice_until = None
    land_due = None
    if regime == Regime.GP:
        row.result_due_at = rules.result_due(cal, now, settings)
        notice_until = rules.result_publicity_until(cal, now, settings)
        row.challenge_until = rules.challenge_closes(cal, notice_until, settings)
    elif regime == Regime.LAND:
        # 招标出让: the result is published now, due within award.land_result_wd WD of the report (39号令)
        land_due = rules.land_result_due(cal, cl.proposed_at, settings)
    ctx.session.add(row)
    ctx.session.flush()
    lot = ctx.session.get(Lot, trade.lot_id)
    names = org_names(ctx, [c.bidder_org_id for c in cl.candidates] + participant_orgs(ctx, trade.lot_id))
    word = {Regime.GP: "成交", Regime.LAND: "招标出让中标"}.get(regime, "中选（中标）")
    notice = notices.create_notice(ctx, project.id, kind=NoticeKind.RESULT, lot_id=lot.id,
                                   title=f"{project.name}{lot.name}{word}结果公告"[:200],
                                   body=result_body(ctx, project, lot, row, names), publicity_until=notice_until)
    notices.publish_notice(ctx, notice.id)
    row.result_notice_id = notice.id
    cl.status = ListStatus.AWARDED
    letters = _issue_letters(ctx, trade, row, names)
    ctx.session.flush()
    record(ctx, "award.determined", "lot", trade.lot_id, project_id=trade.project_id,
           payload={"lot_code": lot_code, "award_id": row.id, "list_id": cl.id, "bidder_org_id": bidder_org_id,
                    "rank": chosen.rank, "price_fen": chosen.price_fen, "result_notice_id": notice.id,
                    "result_due_at": row.result_due_at, "challenge_until": row.challenge_until,
                    "contract_due_at": row.contract_due_at, "team_names": team,
                    "letters": [{"bidder_org_id": x.bidder_org_id, "kind": x.kind, "number": x.number} for x in letters],
                    **({"land_result_due_at": land_due, "land_result_late": now >= land_due} if land_due else {})})
    # GP, land: the others' 5 WD start (the land winner's deposit becomes part of the price)
    on_award_event(ctx, trade, "result", now, winner_org_id=bidder_org_id)
    advance(ctx, lot_code, "award", facts={"publicity_until": cl.publicity_until, "open_objections": 0},
            detail={"award_id": row.id, "notice_id": notice.id})
    return row


def _issue_letters(ctx: ServiceContext, trade: LotTrade, row: Award, names: dict[int, str]) -> list[ResultLetter]:
    others = [o for o in dict.fromkeys(participant_orgs(ctx, trade.lot_id) + list(names)) if o != row.bidder_org_id]
    out = []
    for i, org_id in enumerate([row.bidder_org_id, *others], start=1):
        letter = ResultLetter(award_id=row.id, bidder_org_id=org_id, kind="winner" if i == 1 else "other",
                              number=f"{trade.lot_code}-{row.id}-{i:02d}", issued_at=row.determined_at)
        ctx.session.add(letter)
        out.append(letter)
    return out


# --- the letters (PDF) ------------------------------------------------------------------------------
def visible_letter(ctx: ServiceContext, letter_id: int) -> ResultLetter:
    """The letter, for its bidder, the project's owner/agency, the centre and supervisors."""
    letter = ctx.session.get(ResultLetter, letter_id) if isinstance(letter_id, int) else None
    if letter is None:
        raise not_found("通知书", "Letter")
    trade = ctx.session.get(LotTrade, letter.award.lot_id)
    ok = (ctx.actor.has("bidder") and ctx.actor.org_id == letter.bidder_org_id) \
        or (ctx.actor.has("owner", "agency") and acts_for(ctx, project_of(ctx, trade))) \
        or ctx.actor.has("operator", "supervisor")
    if not ok:
        raise not_found("通知书", "Letter")
    return letter


def letter_context(ctx: ServiceContext, letter: ResultLetter) -> dict:
    award_row = letter.award
    trade = ctx.session.get(LotTrade, award_row.lot_id)
    project = project_of(ctx, trade)
    names = org_names(ctx, [award_row.bidder_org_id, letter.bidder_org_id, project.owner_org_id])
    return {"letter": letter, "award": award_row, "project": project, "lot": ctx.session.get(Lot, trade.lot_id),
            "gp": award_row.result_due_at is not None,
            "land": ctx.session.get(CandidateList, award_row.list_id).regime == Regime.LAND,
            "addressee": names.get(letter.bidder_org_id, ""),
            "winner_name": names.get(award_row.bidder_org_id, ""), "owner_name": names.get(project.owner_org_id, ""),
            "amount": format_yuan(award_row.price_fen), "capitals": to_capitals(award_row.price_fen),
            "issued": fmt_bj(letter.issued_at), "contract_due": fmt_bj(award_row.contract_due_at),
            "notice": ctx.session.get(Notice, award_row.result_notice_id)}


def letter_html(ctx: ServiceContext, letter: ResultLetter) -> str:
    from flask import current_app, render_template
    from flask_babel import force_locale

    with force_locale("zh"):  # an official document: always in Chinese
        return render_template("awards/letter_pdf.html", county_name=current_app.config["COUNTY_NAME"],
                               **letter_context(ctx, letter))


def letter_pdf(ctx: ServiceContext, letter_id: int) -> tuple[ResultLetter, bytes]:
    """The letter as PDF, rendered once (WeasyPrint is slow) and cached in the blob store."""
    letter = visible_letter(ctx, letter_id)
    store = get_store()
    if letter.pdf_sha256 and store.exists(letter.pdf_sha256):
        return letter, store.read(letter.pdf_sha256)
    from weasyprint import HTML

    data = HTML(string=letter_html(ctx, letter)).write_pdf()
    letter.pdf_sha256 = store.put_bytes(data)
    ctx.session.flush()
    return letter, data


# --- the contract -----------------------------------------------------------------------------------
def award_of_lot(ctx: ServiceContext, lot_id: int) -> Award | None:
    return ctx.session.execute(select(Award).where(Award.lot_id == lot_id).order_by(Award.id.desc())
                               .limit(1)).scalar_one_or_none()


def latest_contract(ctx: ServiceContext, award_id: int) -> ContractRecord | None:
    return ctx.session.execute(select(ContractRecord).where(ContractRecord.award_id == award_id)
                               .order_by(ContractRecord.id.desc()).limit(1)).scalar_one_or_none()


def record_contract(ctx: ServiceContext, lot_code: str, signed_on: date, amount_fen: object, note: str = "") -> ContractRecord:
    """The owner/buyer records the signed contract (date, amount). The first record starts the
    refund clocks (tender/比选: everyone, 5 days; GP: the winner, 5 WD) and moves the lot on; a later
    record is a correction, kept beside the first."""
    trade, _project = managed_lot(ctx, lot_code, lock=True)
    row = award_of_lot(ctx, trade.lot_id)
    if row is None:
        raise Conflict("award.not_awarded", "该标段尚未定标，不能登记合同", "The lot is not awarded yet; no contract")
    if row.status != "active":
        raise Conflict("award.defaulted", "中标（成交）人已拒签或放弃，请确定下一候选人或重新采购后再登记合同",
                       "The awarded supplier refused or gave up; award the next candidate or re-procure first")
    if not isinstance(signed_on, date) or isinstance(signed_on, datetime):
        raise InvalidInput("award.contract_date", "请填写合同签订日期", "Give the contract date", field="signed_on")
    now = ctx.now()
    if signed_on > beijing_date(now) or signed_on < beijing_date(row.determined_at):
        raise InvalidInput("award.contract_date_range", "合同签订日期应在发出通知书之后、今天或之前",
                           "The contract date must be between the notice and today", field="signed_on")
    amount = check_fen(amount_fen, field="amount")
    pending = open_count(ctx, row.list_id)
    if pending:  # GP 实施条例 54: a 质疑 that may affect the result suspends the signing
        raise RuleViolation("award.contract_suspended", f"尚有{pending}件质疑（异议）未答复，合同签订暂停",
                            f"{pending} challenge(s) await a reply; the contract signing is suspended")
    signed_at = datetime.combine(signed_on, time(0, 0), tzinfo=BEIJING)
    previous = latest_contract(ctx, row.id)
    rec = ContractRecord(award_id=row.id, signed_at=signed_at, amount_fen=amount, note=(note or "").strip()[:500],
                         late=signed_on > end_day(row.contract_due_at), recorded_by=ctx.actor.user_id, recorded_at=now)
    ctx.session.add(rec)
    ctx.session.flush()
    record(ctx, "award.contract_corrected" if previous else "award.contract_recorded", "lot", trade.lot_id,
           project_id=trade.project_id,
           payload={"lot_code": lot_code, "award_id": row.id, "contract_id": rec.id, "signed_on": signed_on.isoformat(),
                    "amount_fen": amount, "contract_due_at": row.contract_due_at, "late": rec.late,
                    "previous_id": previous.id if previous else None})
    if previous is None:
        on_award_event(ctx, trade, "contract", signed_at, winner_org_id=row.bidder_org_id)
        advance(ctx, lot_code, "sign_contract", detail={"contract_id": rec.id})
    return rec


def winner_name(ctx: ServiceContext, row: Award) -> str:
    org = ctx.session.get(Organisation, row.bidder_org_id)
    return org.name if org else ""
