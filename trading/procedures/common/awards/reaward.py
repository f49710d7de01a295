"""When the awarded supplier will not have the contract (政府采购法实施条例 49; 招标投标法实施条例 55, 74;
74号令 19–20): the buyer records that it refused to sign, did not sign within the period, gave up or
cannot perform (force majeure) — with the reason and the evidence, audited — and its deposit is kept
or refunded (deposits.refunds.on_winner_default); then the buyer either awards the next-ranked
candidate still standing (a new award with its result notice and letters; the first award is kept,
marked superseded, never deleted) or ends the lot for re-procurement (the lot fails, the others'
deposits start their refund period, a re-announcement opens the next attempt).

Who: the project's owner or agency. Imports: core, audit, reference, projects, this package
(notices, deposits.refunds)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from trading.audit.services import record
from trading.core.blobs import get_store
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, InvalidInput, RuleViolation
from trading.projects.models import Lot
from trading.reference.services import get_calendar

from .. import services as notices
from ..deposits.refunds import on_award_event, on_lot_terminated, on_winner_default
from ..rules import NoticeKind
from . import rules
from .models import Award, AwardDefault, CandidateList
from .objections import open_count
from .result import _issue_letters, _team, award_of_lot, latest_contract, panel_names, result_body
from .rules import CandidateFacts, DefaultKind, DepositOutcome, Regime
from .services import advance, award_settings, managed_lot, org_names, participant_orgs, require_list

REASON_MIN, REASON_MAX = 4, 2000
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
#: the evidence file: a PDF or a picture of the written statement, known by its first bytes
EVIDENCE_TYPES = ((b"%PDF-", "pdf"), (b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpg"))


def pending_default(ctx: ServiceContext, award: Award | None) -> AwardDefault | None:
    """The default recorded on this award (decided or not)."""
    if award is None:
        return None
    return ctx.session.execute(select(AwardDefault).where(AwardDefault.award_id == award.id)).scalar_one_or_none()


def defaults_of(ctx: ServiceContext, lot_id: int) -> list[AwardDefault]:
    return list(ctx.session.execute(select(AwardDefault).where(AwardDefault.lot_id == lot_id)
                                    .order_by(AwardDefault.id)).scalars())


def _text(value: object, field: str, lo: int, hi: int, zh: str, en: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not lo <= len(text) <= hi:
        raise InvalidInput(f"award.{field}_length", f"{zh}（{lo}–{hi} 字）", f"{en} ({lo}–{hi} characters)", field=field)
    return text


def _evidence(data: object, name: object) -> tuple[bytes | None, str]:
    if data is None or data == b"":
        return None, ""
    if not isinstance(data, bytes | bytearray) or len(data) > EVIDENCE_MAX_BYTES:
        raise InvalidInput("award.evidence_size", "证据文件不超过 10 MB", "The evidence file is at most 10 MB",
                           field="evidence")
    if not any(bytes(data).startswith(magic) for magic, _ in EVIDENCE_TYPES):
        raise InvalidInput("award.evidence_type", "证据文件须为 PDF、PNG 或 JPEG", "The evidence must be a PDF, PNG or JPEG",
                           field="evidence")
    clean = (name if isinstance(name, str) else "").replace("/", "_").replace("\\", "_").strip()[:200]
    return bytes(data), clean or "evidence"


def _current_award(ctx: ServiceContext, lot_id: int) -> Award:
    row = award_of_lot(ctx, lot_id)
    if row is None:
        raise Conflict("award.not_awarded", "该标段尚未定标", "The lot is not awarded yet")
    return row


def record_default(ctx: ServiceContext, lot_code: str, kind: str, reason: str, evidence_note: str, *,
                   evidence: bytes | None = None, evidence_name: str = "") -> AwardDefault:
    """The buyer records that the awarded supplier refused to sign, did not sign within the period
    (only after it), gave up, or cannot perform; the candidate is passed over with that reason, its
    deposit kept (or, for force majeure, its refund period started). Refused once the contract is
    signed and a second time (409); nothing is written when refused."""
    trade, _project = managed_lot(ctx, lot_code, lock=True)
    row = _current_award(ctx, trade.lot_id)
    try:
        kind = DefaultKind(kind)
    except ValueError:
        raise InvalidInput("award.default_kind", "请选择中标（成交）人拒签、逾期未签、放弃或不能履行",
                           "Choose refused, not signed in time, gave up or cannot perform", field="kind") from None
    reason = _text(reason, "reason", REASON_MIN, REASON_MAX, "请写明事实和理由", "State the facts and reasons")
    evidence_note = _text(evidence_note, "evidence_note", REASON_MIN, 500, "请写明证据（如书面声明、函件及其日期）",
                          "Describe the evidence (e.g. the written statement and its date)")
    data, name = _evidence(evidence, evidence_name)
    now = ctx.now()
    problem = rules.default_problem(kind, now, row.contract_due_at, contract_signed=latest_contract(ctx, row.id) is not None,
                                    pending=pending_default(ctx, row) is not None or row.status != "active")
    if problem is not None:
        cls = RuleViolation if problem.code == "award.contract_period_running" else Conflict
        raise cls(problem.code, problem.zh, problem.en, field=problem.field)
    sha = get_store().put_bytes(data) if data is not None else None
    cl = ctx.session.get(CandidateList, row.list_id)
    cand = next(c for c in cl.candidates if c.bidder_org_id == row.bidder_org_id)
    cand.passed_reason, cand.passed_note, cand.passed_at = rules.DEFAULT_PASS_REASON[kind].value, reason[:500], now
    row.status = "defaulted"
    outcome = rules.default_deposit(kind)
    label = rules.DEFAULT_KIND_LABELS[kind][0]
    deposit = on_winner_default(ctx, trade, row.bidder_org_id, forfeit=outcome == DepositOutcome.FORFEIT,
                                reason=f"中标（成交）人{label}：{reason}")
    dflt = AwardDefault(award_id=row.id, lot_id=trade.lot_id, bidder_org_id=row.bidder_org_id, kind=kind.value,
                        reason=reason, evidence_note=evidence_note, evidence_sha256=sha, evidence_name=name,
                        deposit=outcome.value, recorded_by=ctx.actor.user_id, recorded_at=now)
    ctx.session.add(dflt)
    ctx.session.flush()
    record(ctx, "award.winner_defaulted", "lot", trade.lot_id, project_id=trade.project_id,
           payload={"lot_code": lot_code, "award_id": row.id, "default_id": dflt.id, "bidder_org_id": row.bidder_org_id,
                    "rank": row.rank, "kind": kind.value, "reason": reason, "evidence_note": evidence_note,
                    "evidence_sha256": sha, "evidence_name": name, "contract_due_at": row.contract_due_at,
                    "deposit": outcome.value, "deposit_accounts": deposit["accounts"],
                    "forfeited_fen": deposit["forfeited_fen"], "refund_due_at": deposit["refund_due_at"]})
    return dflt


def _open_default(ctx: ServiceContext, row: Award) -> AwardDefault:
    dflt = pending_default(ctx, row)
    if dflt is None:
        raise Conflict("award.no_default", "请先记录中标（成交）人拒签、逾期未签或放弃的情况",
                       "Record first that the awarded supplier refused, did not sign or gave up")
    if dflt.outcome is not None:
        raise Conflict("award.default_decided", "已就该情况作出决定", "This default has been decided already")
    return dflt


def next_standing(cl: CandidateList, row: Award) -> CandidateFacts | None:
    return rules.next_candidate([CandidateFacts(c.bidder_org_id, c.rank, c.passed_reason) for c in cl.candidates],
                                row.bidder_org_id)


def award_next(ctx: ServiceContext, lot_code: str, *, team_names: Sequence[str] = ()) -> Award:
    """Award the next-ranked candidate still standing, in the order of the list (实施条例 55; GP 实施条例
    49): a new award with its result notice (a change of the result), the 中选/成交通知书 and the other
    letters; the first award stays, marked superseded; the new contract clock starts now."""
    trade, project = managed_lot(ctx, lot_code, lock=True)
    cl = require_list(ctx, trade, lock=True)
    old = _current_award(ctx, trade.lot_id)
    dflt = _open_default(ctx, old)
    nxt = next_standing(cl, old)
    if nxt is None:
        raise Conflict("award.no_next_candidate", "没有可依次确定的候选人，只能重新采购（招标）",
                       "No candidate is left in the order of the list; re-procure")
    pending = open_count(ctx, cl.id)
    if pending:
        raise RuleViolation("award.objection_open", f"尚有{pending}件异议（质疑）未答复，答复前不能定标",
                            f"{pending} objection(s) await a reply; no award before")
    regime = Regime(cl.regime)
    team = _team(panel_names(ctx, trade.lot_id) or team_names or old.team_names, regime)
    now = ctx.now()
    cal, settings = get_calendar(ctx), award_settings(ctx)
    chosen = next(c for c in cl.candidates if c.bidder_org_id == nxt.bidder_org_id)
    row = Award(lot_id=trade.lot_id, list_id=cl.id, bidder_org_id=chosen.bidder_org_id, rank=chosen.rank,
                price_fen=chosen.price_fen, determined_by=ctx.actor.user_id, determined_at=now, team_names=team,
                contract_due_at=rules.contract_due(cal, now, settings, regime))
    notice_until = None
    if regime == Regime.GP:
        row.result_due_at = rules.result_due(cal, now, settings)
        notice_until = rules.result_publicity_until(cal, now, settings)
        row.challenge_until = rules.challenge_closes(cal, notice_until, settings)
        cl.confirmed_bidder_org_id, cl.confirmed_at, cl.confirmation = chosen.bidder_org_id, now, "buyer"
    ctx.session.add(row)
    ctx.session.flush()
    old.status, old.superseded_by_id, old.superseded_at = "superseded", row.id, now
    dflt.outcome, dflt.next_award_id, dflt.decided_at = "reawarded", row.id, now
    lot = ctx.session.get(Lot, trade.lot_id)
    names = org_names(ctx, [c.bidder_org_id for c in cl.candidates] + participant_orgs(ctx, trade.lot_id))
    word = "成交" if regime == Regime.GP else "中选（中标）"
    label = rules.DEFAULT_KIND_LABELS[DefaultKind(dflt.kind)][0]
    body = (f"原{word}人{names.get(old.bidder_org_id, old.bidder_org_id)}{label}，依据评审报告推荐的候选人排序，"
            f"确定排名第{chosen.rank}的候选人为{word}人。\n\n" + result_body(ctx, project, lot, row, names))
    notice = notices.create_notice(ctx, project.id, kind=NoticeKind.RESULT, lot_id=lot.id,
                                   title=f"{project.name}{lot.name}{word}结果变更公告"[:200], body=body,
                                   publicity_until=notice_until)
    notices.publish_notice(ctx, notice.id)
    row.result_notice_id = notice.id
    letters = _issue_letters(ctx, trade, row, names)
    ctx.session.flush()
    record(ctx, "award.reawarded", "lot", trade.lot_id, project_id=trade.project_id,
           payload={"lot_code": lot_code, "award_id": row.id, "supersedes": old.id, "default_id": dflt.id,
                    "list_id": cl.id, "bidder_org_id": row.bidder_org_id, "rank": row.rank, "price_fen": row.price_fen,
                    "result_notice_id": notice.id, "result_due_at": row.result_due_at,
                    "challenge_until": row.challenge_until, "contract_due_at": row.contract_due_at, "team_names": team,
                    "letters": [{"bidder_org_id": x.bidder_org_id, "kind": x.kind, "number": x.number} for x in letters]})
    on_award_event(ctx, trade, "result", now, winner_org_id=row.bidder_org_id)
    return row


def end_for_reprocurement(ctx: ServiceContext, lot_code: str, reason: str) -> AwardDefault:
    """Instead of the next candidate, the buyer ends this attempt (重新招标/重新采购): the lot fails
    (awarded → failed), the other deposits start their refund period, and a re-announcement opens
    the next attempt `<code>-A<n>`. The award and its default stay as they are."""
    trade, _project = managed_lot(ctx, lot_code, lock=True)
    old = _current_award(ctx, trade.lot_id)
    dflt = _open_default(ctx, old)
    reason = _text(reason, "decision_note", REASON_MIN, 500, "请写明重新采购的理由", "State why the lot is re-procured")
    now = ctx.now()
    dflt.outcome, dflt.decided_at, dflt.decision_note = "ended", now, reason
    ctx.session.flush()
    record(ctx, "award.ended_for_reprocurement", "lot", trade.lot_id, project_id=trade.project_id,
           payload={"lot_code": lot_code, "award_id": old.id, "default_id": dflt.id, "reason": reason})
    advance(ctx, lot_code, "reprocure", reason=reason, detail={"award_id": old.id, "default_id": dflt.id})
    on_lot_terminated(ctx, trade)
    return dflt


def evidence_file(ctx: ServiceContext, default_id: int) -> tuple[AwardDefault, bytes]:
    """The evidence file of a recorded default, for the project side, the centre and supervisors."""
    from trading.core.errors import not_found

    from ..models import LotTrade
    from .services import acts_for, project_of

    dflt = ctx.session.get(AwardDefault, default_id) if isinstance(default_id, int) else None
    trade = ctx.session.get(LotTrade, dflt.lot_id) if dflt is not None else None
    ok = trade is not None and ((ctx.actor.has("owner", "agency") and acts_for(ctx, project_of(ctx, trade)))
                                or ctx.actor.has("operator", "supervisor"))
    if not ok or dflt.evidence_sha256 is None:
        raise not_found("证据文件", "Evidence")
    return dflt, get_store().read(dflt.evidence_sha256)
