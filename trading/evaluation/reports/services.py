"""Report use cases: generate the evaluation report (评审报告) from the summary once every sheet is in,
have each active member sign it with a fresh two-factor code, and finalise it when every active
member has acted: the lot advances (`submit_report`) and the ranked candidates go to the awards
(`propose_candidates`), in the same transaction as the last signature.

Signing acts (实施条例 Art. 53 [V]; 74号令 Art. 17, 35 [V]): `agree`; `dissent` (signs with a written
dissent); `refused` — with a written reason it stands as a dissent, without one the member counts as
agreeing, and the signature row says so explicitly (counts_as = "agree").

Imports: core, audit, reference, accounts, procedures.common, evaluation.*."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from trading.accounts.login import verify_totp
from trading.accounts.models import User
from trading.audit.services import record
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, InvalidInput, not_found
from trading.core.events import publish
from trading.procedures.common.lots import get_trade
from trading.procedures.common.models import LotTrade

from ..criteria.services import canonical_sha256, criteria_of
from ..panels import Panel, PanelMember, PanelStatus
from ..scoring import queries
from ..scoring import services as scoring
from ..scoring.rules import summary_body
from .models import EvaluationReport, ReportSignature

DISSENT_MAX = 2000


class Act:
    AGREE = "agree"
    DISSENT = "dissent"
    REFUSED = "refused"
    ALL = ("agree", "dissent", "refused")


def get_report(ctx: ServiceContext, trade: LotTrade) -> EvaluationReport | None:
    return ctx.session.execute(select(EvaluationReport).where(EvaluationReport.lot_id == trade.lot_id)).scalar_one_or_none()


def signatures(ctx: ServiceContext, report: EvaluationReport) -> dict[int, ReportSignature]:
    rows = ctx.session.execute(select(ReportSignature).where(ReportSignature.report_id == report.id)).scalars()
    return {s.member_id: s for s in rows}


def _body(ctx: ServiceContext, trade: LotTrade, panel: Panel) -> tuple[dict, int]:
    summary, _ = scoring.compute_summary(ctx, trade, panel)
    crit_row, _ = criteria_of(ctx.session, trade.lot_id)
    members = queries.active_members(ctx.session, panel.id)
    names = queries.member_names(ctx.session, members)
    body = {"v": 1, "lot_code": trade.lot_code, "procedure": trade.procedure, "panel_id": panel.id,
            "criteria": {"id": crit_row.id, "version": crit_row.version, "sha256": crit_row.sha256,
                         "body": crit_row.body},
            "members": [{"id": m.id, "name": names.get(m.id, ""), "role": m.role} for m in members],
            "summary": summary_body(summary)}
    return body, crit_row.id


def generate_report(ctx: ServiceContext, lot_code: str) -> EvaluationReport:
    """An active member makes the report once every sheet is submitted (a second call returns it)."""
    r = scoring.room(ctx, lot_code, write=True)
    existing = get_report(ctx, r.trade)
    if existing is not None:
        return existing
    if not scoring.all_submitted(ctx, r.trade, r.panel):
        raise Conflict("evaluation.summary_not_ready", "全体评审成员提交评分表后才能生成评审报告",
                       "The report can be made once every member has submitted")
    body, criteria_id = _body(ctx, r.trade, r.panel)
    if not body["summary"]["candidates"]:
        raise Conflict("report.no_candidates", "没有合格的投标人，不能推荐候选人（应按流标处理）",
                       "No bidder qualifies: no candidate can be recommended (the lot fails)")
    report = EvaluationReport(lot_id=r.trade.lot_id, panel_id=r.panel.id, criteria_id=criteria_id, body=body,
                              sha256=canonical_sha256(body), status="signing", created_by=ctx.actor.user_id,
                              created_at=ctx.now())
    ctx.session.add(report)
    ctx.session.flush()
    record(ctx, "evaluation.report_generated", "evaluation_report", report.id, project_id=r.trade.project_id,
           payload={"lot_code": lot_code, "sha256": report.sha256, "candidates": body["summary"]["candidates"]})
    publish(ctx, scoring.channel(lot_code), "evaluation:report_generated", {"stage": "signing"}, audience="staff")
    return report


def _check_two_factor(ctx: ServiceContext, code: str) -> None:
    user = ctx.session.get(User, ctx.actor.user_id)
    if user is None or not user.totp_enabled:
        raise Conflict("report.two_factor_required", "签署评审报告须先启用双因素认证（TOTP）",
                       "Enable two-factor authentication (TOTP) before signing the report")
    verify_totp(ctx, user, code)


def sign_report(ctx: ServiceContext, lot_code: str, act: str, *, code: str, dissent: str = "",
                report_sha256: str | None = None) -> ReportSignature:
    """The member's act on the report, confirmed with a two-factor code; the last one finalises it."""
    r = scoring.room(ctx, lot_code, write=True)
    report = get_report(ctx, r.trade)
    if report is None:
        raise Conflict("report.missing", "评审报告尚未生成", "The report has not been made yet")
    if report.status != "signing":
        raise Conflict("report.final", "评审报告已签署完毕", "The report is already final")
    if act not in Act.ALL:
        raise InvalidInput("report.act", "请选择签署方式", "Choose how you sign", field="act")
    dissent = (dissent or "").strip()
    if len(dissent) > DISSENT_MAX:
        raise InvalidInput("report.dissent_too_long", f"意见不超过 {DISSENT_MAX} 字", f"At most {DISSENT_MAX} characters",
                           field="dissent")
    if act == Act.DISSENT and not dissent:
        raise InvalidInput("report.dissent_required", "持不同意见签署须写明意见和理由",
                           "Write your dissent and its reasons", field="dissent")
    if act == Act.AGREE and dissent:
        raise InvalidInput("report.dissent_with_agree", "同意签署时不填写不同意见；有不同意见请选择“持不同意见签署”",
                           "An agreeing signature carries no dissent; choose to sign with dissent", field="dissent")
    if report_sha256 is not None and report_sha256 != report.sha256:
        raise Conflict("report.changed", "评审报告内容与您阅读的版本不一致，请刷新后再签署",
                       "The report differs from the version you read; reload before signing")
    if r.member.id in signatures(ctx, report):
        raise Conflict("report.already_signed", "您已签署该评审报告", "You have already signed this report")
    _check_two_factor(ctx, code)
    counts_as = Act.DISSENT if act == Act.DISSENT or (act == Act.REFUSED and dissent) else Act.AGREE
    sig = ReportSignature(report_id=report.id, member_id=r.member.id, user_id=ctx.actor.user_id, act=act,
                          counts_as=counts_as, dissent=dissent, report_sha256=report.sha256, confirmed_by="totp",
                          signed_at=ctx.now(), ip=ctx.ip or "")
    ctx.session.add(sig)
    ctx.session.flush()
    record(ctx, "evaluation.report_signed", "evaluation_report", report.id, project_id=r.trade.project_id,
           payload={"lot_code": lot_code, "member_id": r.member.id, "act": act, "counts_as": counts_as,
                    "refused_without_reason_counts_as_agreeing": act == Act.REFUSED and not dissent,
                    "dissent": dissent, "report_sha256": report.sha256, "confirmed_by": "totp"})
    signed = len(signatures(ctx, report))
    members = queries.active_members(ctx.session, r.panel.id)
    publish(ctx, scoring.channel(lot_code), "evaluation:report_signed",
            {"stage": "signing", "signed": signed, "expected": len(members)}, audience="staff")
    if all(m.id in signatures(ctx, report) for m in members):
        _finalise(ctx, r.trade, report)
    return sig


def _finalise(ctx: ServiceContext, trade: LotTrade, report: EvaluationReport) -> None:
    from trading.procedures.common import stages
    from trading.procedures.common.awards.services import CandidateIn, propose_candidates

    now = ctx.now()
    report.status, report.finalised_at = "final", now
    record(ctx, "evaluation.report_final", "evaluation_report", report.id, project_id=trade.project_id,
           payload={"lot_code": trade.lot_code, "status": ["signing", "final"], "sha256": report.sha256})
    rows = {row["org_id"]: row for row in report.body["summary"]["rows"]}
    candidates = [CandidateIn(bidder_org_id=org, rank=rows[org]["rank"], price_fen=rows[org]["price_fen"],
                              score=Decimal(rows[org]["average"]) if rows[org]["average"] is not None else None)
                  for org in report.body["summary"]["candidates"]]
    panel = ctx.session.get(Panel, report.panel_id)
    old_status, panel.status = panel.status, PanelStatus.CLOSED.value
    record(ctx, "panel.closed", "panel", panel.id, project_id=trade.project_id,
           payload={"lot_code": trade.lot_code, "status": [old_status, panel.status], "report_id": report.id})
    stages.advance(ctx, trade.lot_code, "submit_report", detail={"report_id": report.id, "sha256": report.sha256})
    propose_candidates(ctx, trade.lot_code, candidates, report_id=report.id)
    publish(ctx, scoring.channel(trade.lot_code), "evaluation:report_final", {"stage": "reported"}, audience="staff")


def fail_evaluation(ctx: ServiceContext, lot_code: str, reason: str) -> LotTrade:
    """流标 from the evaluation: once every sheet is in and no report exists, an active member records
    that too few offers qualify (every one rejected leaves no candidate, so no report can be made).
    The machine's evaluating → failed guard gets the count of offers not rejected (`qualified`) and
    refuses when enough qualify; the panel closes; a re-announcement then opens the next attempt."""
    from trading.procedures.common import stages

    r = scoring.room(ctx, lot_code, write=True)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("evaluation.fail_reason_required", "请写明流标理由（如全部投标被否决）",
                           "State why the lot fails (e.g. every offer was rejected)", field="reason")
    if get_report(ctx, r.trade) is not None:
        raise Conflict("evaluation.report_exists", "评审报告已生成，不能再按流标处理",
                       "The report exists: the lot can no longer fail in the evaluation")
    if not scoring.all_submitted(ctx, r.trade, r.panel):
        raise Conflict("evaluation.summary_not_ready", "全体评审成员提交评分表后才能认定流标",
                       "The lot can fail once every member has submitted")
    summary, _ = scoring.compute_summary(ctx, r.trade, r.panel)
    qualified = sum(1 for row in summary.rows if not row.rejected)
    trade = stages.advance(ctx, lot_code, "fail", facts={"qualified": qualified}, reason=reason[:500],
                           detail={"qualified": qualified, "panel_id": r.panel.id})
    old_status, r.panel.status = r.panel.status, PanelStatus.CLOSED.value
    record(ctx, "panel.closed", "panel", r.panel.id, project_id=trade.project_id,
           payload={"lot_code": lot_code, "status": [old_status, r.panel.status], "failed": True})
    ctx.session.flush()
    publish(ctx, scoring.channel(lot_code), "evaluation:failed", {"stage": "failed"}, audience="staff")
    return trade


@dataclass
class ReportView:
    trade: LotTrade
    report: EvaluationReport | None
    signatures: dict[int, ReportSignature]
    member: PanelMember | None


def view_report(ctx: ServiceContext, lot_code: str) -> ReportView:
    """Members of the panel see the report while signing; the project side, the centre and supervisors
    see it once it exists (it only exists after every sheet is in)."""
    trade = get_trade(ctx, lot_code)
    panel = queries.current_panel(ctx.session, trade.lot_id)
    if panel is None:
        raise not_found("评审报告", "Report")
    member = queries.member_of(ctx.session, panel.id, ctx.actor.user_id)
    if member is None:
        from trading.accounts.rules import roles_for

        ctx.require(*roles_for("evaluation.progress"))
        scoring._staff_party(ctx, trade)
    report = get_report(ctx, trade)
    if report is None and member is None:
        raise not_found("评审报告", "Report")
    return ReportView(trade, report, signatures(ctx, report) if report else {}, member)
