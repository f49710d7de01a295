"""What each audit action means, in the reader's language (msgids Chinese): the steps of a project's
timeline. An action not listed shows its domain's name and its code."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from trading.accounts.rules import ROLE_LABELS, Role

ACTION_LABELS = {
    # 进场登记与审核
    "project.registered": _l("项目登记"), "project.updated": _l("项目信息修改"), "project.submitted": _l("提交进场申请"),
    "project.accepted": _l("进场受理"), "project.returned": _l("退回修改"), "project.refused": _l("不予受理"),
    # 公告与文件
    "notice.created": _l("公告起草"), "notice.updated": _l("公告修改"), "notice.published": _l("公告发布"),
    "document.published": _l("招标文件发布"), "criteria.set": _l("评审办法设定"),
    "criteria.carried_over": _l("评审办法沿用"), "deposit.amount_set": _l("保证金金额设定"),
    # 标段各环节
    "lot.trading_opened": _l("标段进入交易"), "lot.redated": _l("时间变更"), "lot.failed": _l("流标"),
    "lot.terminated": _l("终止"), "lot.close": _l("投标截止"), "lot.start_opening": _l("开始开标"),
    "lot.open": _l("开标"), "lot.fail": _l("流标"), "lot.start_negotiation": _l("开始谈判"),
    "lot.close_round": _l("结束本轮"), "lot.call_final_offers": _l("要求最后报价"),
    "lot.close_final_offers": _l("结束最后报价"), "lot.start_evaluation": _l("开始评审"),
    "lot.submit_report": _l("提交评审报告"), "lot.publicize": _l("公示候选人"), "lot.confirm": _l("确认成交供应商"),
    "lot.award": _l("定标"), "lot.sign_contract": _l("登记合同"), "lot.archive": _l("归档"),
    "lot.reannounce": _l("重新公告"), "lot.switch_method": _l("变更采购方式"), "lot.cancel": _l("终止"),
    "lot.terminate": _l("终止公告"),
    # 报名、投标（截止后可见）
    "participation.registered": _l("投标人报名"), "offer.upload_started": _l("开始上传投标文件"),
    "offer.submitted": _l("投标文件递交"), "offer.withdrawn": _l("投标文件撤回"),
    "deposit.account_opened": _l("保证金子账户开立"), "deposit.account_readjusted": _l("保证金子账户调整"),
    "deposit.unmatched_assigned": _l("保证金到账匹配"), "deposit.refunded": _l("保证金退还"),
    "deposit.refund_event": _l("保证金退还时限起算"), "deposit.forfeited": _l("保证金不予退还"),
    # 开标
    "opening.key_ceremony": _l("开标密钥生成"), "opening.share_downloaded": _l("保管人下载密钥份额"),
    "opening.share_accepted": _l("保管人提交密钥份额"), "opening.opened": _l("开标解密"),
    "opening.record_published": _l("开标记录发布"), "opening.record_confirmed": _l("投标人确认开标记录"),
    "opening.record_disputed": _l("投标人对开标记录提出异议"), "opening.dispute_answered": _l("开标异议答复"),
    "opening.checked_in": _l("开标大厅签到"), "opening.hall_message": _l("开标大厅公告"),
    # 专家抽取与评审
    "expert_draw.requested": _l("申请抽取专家"), "expert_draw.run": _l("抽取专家"), "panel.started": _l("评标委员会组建"),
    "panel.sealed": _l("专家名单封存"), "panel.closed": _l("评标委员会解散"), "panel.member_replaced": _l("更换专家"),
    "panel.buyer_rep_added": _l("加入采购人代表"), "evaluation.conflict_declared": _l("专家申报回避"),
    "evaluation.no_conflict_confirmed": _l("专家确认无回避事由"), "evaluation.sheet_saved": _l("评分暂存"),
    "evaluation.sheet_submitted": _l("评分提交"), "evaluation.sheet_voided": _l("评分作废"),
    "evaluation.report_generated": _l("评审报告生成"), "evaluation.report_signed": _l("专家签署评审报告"),
    "evaluation.report_final": _l("评审报告定稿"),
    # 谈判
    "negotiation.started": _l("谈判开始"), "negotiation.round_opened": _l("开启报价轮次"),
    "negotiation.round_closed": _l("结束报价轮次"), "negotiation.quote_started": _l("开始上传报价"),
    "negotiation.quote_submitted": _l("报价递交"), "negotiation.share_accepted": _l("保管人提交密钥份额"),
    "negotiation.share_refused": _l("密钥份额被拒"), "negotiation.quotes_opened": _l("报价解密"),
    "negotiation.change_proposed": _l("谈判变更提出"), "negotiation.change_published": _l("谈判变更发布"),
    "negotiation.session_recorded": _l("谈判记录"), "negotiation.supplier_withdrew": _l("供应商退出"),
    "negotiation.reported": _l("谈判报告"),
    # 定标与合同
    "award.candidates_proposed": _l("推荐中标候选人"), "award.candidates_publicized": _l("中标候选人公示"),
    "award.candidate_passed": _l("候选人放弃或被取消"), "award.objection_filed": _l("异议提出"),
    "award.objection_answered": _l("异议答复"), "award.determined": _l("确定中标人"),
    "award.supplier_confirmed": _l("确认成交供应商"), "award.confirmation_deemed": _l("视为确认成交"),
    "award.winner_defaulted": _l("中标人违约"), "award.reawarded": _l("重新确定中标人"),
    "award.ended_for_reprocurement": _l("终止并重新采购"), "award.contract_recorded": _l("合同登记"),
    "award.contract_corrected": _l("合同更正"),
    "award.default_recorded": _l("违约登记"), "award.default_decided": _l("违约处理决定"), "lot.sell": _l("成交"),
    "opening.share_refused": _l("密钥份额被拒"),
    # 竞价（土地与资产）
    "auction.configured": _l("竞价条件设定"), "auction.applied": _l("竞买申请"), "auction.qualified": _l("竞买资格审核通过"),
    "auction.refused": _l("竞买资格审核不通过"), "auction.started": _l("竞价开始"), "auction.bid_accepted": _l("报价"),
    "auction.opted_in": _l("报名参加限时竞价"), "auction.timed_phase": _l("进入限时竞价"),
    "auction.paused": _l("交易暂停"), "auction.resumed": _l("交易恢复"), "auction.bidding_ended": _l("竞价结束"),
    "auction.reserve_sealed": _l("底价密封"), "auction.reserve_started": _l("开启底价"),
    "auction.reserve_share_accepted": _l("保管人提交底价密钥份额"), "auction.reserve_share_refused": _l("底价密钥份额被拒"),
    "auction.reserve_opened": _l("底价解密"), "auction.sold": _l("竞价成交"), "auction.no_sale": _l("竞价未成交"),
    # 招标出让的密封底价
    "land_tender.reserve_started": _l("开始密封底价"), "land_tender.reserve_sealed": _l("底价密封"),
    "land_tender.reserve_none": _l("声明不设底价"), "land_tender.reserve_opened": _l("底价随开标开启"),
    # 电子监察
    "alert.raised": _l("预警产生"), "alert.acknowledged": _l("预警签收"), "alert.investigating": _l("预警核查"),
    "alert.closed": _l("预警办结"),
}

DOMAIN_LABELS = {
    "project": _l("项目"), "notice": _l("公告"), "document": _l("文件"), "lot": _l("标段"), "participation": _l("报名"),
    "offer": _l("投标"), "deposit": _l("保证金"), "opening": _l("开标"), "expert_draw": _l("专家抽取"),
    "panel": _l("评标委员会"), "evaluation": _l("评审"), "criteria": _l("评审办法"), "negotiation": _l("谈判"),
    "award": _l("定标"), "auction": _l("竞价"), "alert": _l("预警"), "complaint": _l("投诉"),
}

#: what a supervisor looked at (the access log's object types)
OBJECT_LABELS = {"project": _l("项目"), "lot": _l("标段"), "notice": _l("公告"), "document": _l("文件"),
                 "opening_record": _l("开标记录"), "alert": _l("预警"), "submission": _l("投标文件"),
                 "receipt": _l("回执"), "auction_application": _l("竞买申请"), "expert": _l("专家"),
                 "user": _l("用户")}

DOC_LABELS = {"notice": _l("公告"), "document": _l("招标文件"), "criteria": _l("评审办法"),
              "opening_record": _l("开标记录")}


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    if label is not None:
        return str(label)
    domain = action.split(".", 1)[0]
    return f"{DOMAIN_LABELS[domain]}（{action}）" if domain in DOMAIN_LABELS else action


def role_label(role: str, locale: str) -> str:
    try:
        zh, en = ROLE_LABELS[Role(role)]
    except (KeyError, ValueError):
        return {"system": "系统" if locale != "en" else "System"}.get(role, role)
    return en if locale == "en" else zh
