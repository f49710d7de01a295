"""/api/v1 award steps (trading/api/awards.py), the same services as the /awards pages: a 比选 lot from
the candidate publicity to the contract, a 询价 lot with the buyer's confirmation; every refusal the
issue names (objection after the window, award before the publicity ends, a second award) and the
others answer 4xx with code + message and write nothing; each audience sees what it may."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.api.conftest import Caller, audit_next_seq
from tests.factories.accounts import make_user
from tests.factories.awards import propose, reported_lot
from trading.core.clock import beijing
from trading.extensions import db
from trading.procedures.common.awards.models import Award, ContractRecord, Objection, ResultLetter
from trading.procedures.common.models import Notice

PRICES = [987_654_32, 990_000_00, 1_000_000_00]
PUBLICITY_END = beijing(2026, 11, 27)  # published Mon 11-23 10:00 + 3 CD → Thu 11-26 24:00


def _counts() -> tuple:
    n = lambda m: db.session.execute(select(func.count()).select_from(m)).scalar_one()  # noqa: E731
    return n(Award), n(Notice), n(Objection), n(ResultLetter), n(ContractRecord), audit_next_seq()


def refused(call, status: int, code: str):
    """The call answers `status` with `code` and a message, and nothing is written."""
    before = _counts()
    resp = call()
    assert resp.status_code == status, resp.json
    assert resp.json["error"] == code and resp.json["message"]
    db.session.expire_all()
    assert _counts() == before
    return resp


@pytest.fixture
def sel(app, ctx):
    w = reported_lot(ctx, procedure="selection", bidders=3)
    propose(w, PRICES)
    db.session.commit()
    return w


def test_selection_from_publicity_to_contract(app, session, ctx, clock, sel):
    code = sel.trade.lot_code
    owner = Caller(app, sel.owner)
    bidders = [Caller(app, b) for b in sel.bidders]
    base = f"/lots/{code}"

    # before the publicity: an objection is refused; a bidder sees no candidates yet
    refused(lambda: bidders[2].post(f"{base}/objections", {"text": "尚未公示就提出的异议内容。"}), 422,
            "award.objection_not_open")
    early = bidders[1].get(f"{base}/awards").json
    assert early["audience"] == "bidder" and early["candidates"] is None and early["window"]["open"] is False

    pub = owner.post(f"{base}/awards/publicity")
    assert pub.status_code == 201, pub.json
    assert pub.json["lot_status"] == "publicity" and pub.json["candidates"]["status"] == "publicized"
    assert pub.json["candidates"]["publicity_until"] == "2026-11-27T00:00:00+08:00"
    assert pub.json["candidates"]["candidates"][0]["price_capitals"] == "人民币玖拾捌万柒仟陆佰伍拾肆元叁角贰分"
    refused(lambda: owner.post(f"{base}/awards/publicity"), 409, "award.already_publicized")

    # an objection in the window; too short → 422; the bidder sees its own, the window open
    refused(lambda: bidders[2].post(f"{base}/objections", {"text": "太短"}), 422, "award.text_length")
    filed = bidders[2].post(f"{base}/objections", {"text": "评审打分有误，请复核第一名的业绩证明材料。"})
    assert filed.status_code == 201, filed.json
    mine = filed.json
    assert mine["window"] == {"kind": "objection", "opens_at": "2026-11-23T10:00:00+08:00",
                              "closes_at": "2026-11-27T00:00:00+08:00", "open": True}
    assert [o["status"] for o in mine["objections"]] == ["open"]
    assert bidders[1].get(f"{base}/awards").json["objections"] == []  # another bidder's objection stays its own

    # the award before the publicity ends → 422, nothing written
    refused(lambda: owner.post(f"{base}/awards/award", {"bidder_org_id": sel.bidders[0].org_id}), 422,
            "award.publicity_running")
    clock.set(PUBLICITY_END)
    refused(lambda: owner.post(f"{base}/awards/award", {"bidder_org_id": sel.bidders[0].org_id}), 422,
            "award.objection_open")
    # the objection after the window → 422, nothing written
    refused(lambda: bidders[1].post(f"{base}/objections", {"text": "公示期已过仍想提出异议的文字内容。"}), 422,
            "award.objection_window_closed")

    obj_id = mine["objections"][0]["id"]
    refused(lambda: bidders[2].post(f"/objections/{obj_id}/reply", {"reply": "投标人自己答复自己的异议。"}), 403,
            "permission.role_required")
    replied = owner.post(f"/objections/{obj_id}/reply", {"reply": "经复核，第一名业绩证明材料真实有效，维持评审结果。"})
    assert replied.status_code == 200, replied.json
    answered = replied.json["objections"][0]
    assert answered["status"] == "answered"
    assert answered["reply_due_at"] == "2026-11-27T00:00:00+08:00" and answered["late"] is True  # filed Mon: 3 CD ran out
    refused(lambda: owner.post(f"/objections/{obj_id}/reply", {"reply": "再次答复的内容文字。"}), 409,
            "award.objection_answered")

    refused(lambda: owner.post(f"{base}/awards/award", {"bidder_org_id": "1"}), 422, "invalid_input")
    awarded = owner.post(f"{base}/awards/award", {"bidder_org_id": sel.bidders[0].org_id})
    assert awarded.status_code == 201, awarded.json
    body = awarded.json
    assert body["lot_status"] == "awarded" and body["award"]["price_fen"] == PRICES[0]
    assert [(x["kind"], x["bidder_org_id"]) for x in body["letters"]] == \
        [("winner", sel.bidders[0].org_id)] + [("other", b.org_id) for b in sel.bidders[1:]]
    # the second award → 409, nothing written
    refused(lambda: owner.post(f"{base}/awards/award", {"bidder_org_id": sel.bidders[0].org_id}), 409,
            "award.already_awarded")

    # each bidder sees its own letter only
    letter = bidders[1].get(f"{base}/awards").json["letter"]
    assert letter["kind"] == "other" and letter["bidder_org_id"] == sel.bidders[1].org_id
    assert letter["pdf_url"] == f"/awards/letters/{letter['id']}.pdf"

    clock.set(beijing(2026, 12, 3, 15, 0))
    refused(lambda: owner.post(f"{base}/awards/contract", {"signed_on": "2026-12-04", "amount_fen": PRICES[0]}), 422,
            "award.contract_date_range")
    refused(lambda: owner.post(f"{base}/awards/contract", {"signed_on": "2026-12-03", "amount_fen": 1.5}), 422,
            "invalid_input")
    signed = owner.post(f"{base}/awards/contract", {"signed_on": "2026-12-03", "amount_fen": PRICES[0],
                                                    "note": "合同已签订"})
    assert signed.status_code == 201, signed.json
    assert signed.json["lot_status"] == "contracted"
    assert signed.json["contract"]["signed_on"] == "2026-12-03" and signed.json["contract"]["late"] is False


@pytest.fixture
def inq(app, ctx):
    w = reported_lot(ctx, procedure="inquiry", bidders=3, deposit_yuan=1_000)
    propose(w, [450_000_00, 470_000_00, 480_000_00])
    db.session.commit()
    return w


def test_gp_buyer_confirmation_and_award(app, session, ctx, clock, inq):
    code = inq.trade.lot_code
    owner = Caller(app, inq.owner)
    base = f"/lots/{code}/awards"
    refused(lambda: owner.post(f"{base}/publicity"), 409, "award.no_publicity")
    refused(lambda: owner.post(f"{base}/confirmation", {"bidder_org_id": inq.bidders[1].org_id}), 422,
            "award.rank_one_required")
    refused(lambda: owner.post(f"{base}/award", {"bidder_org_id": inq.bidders[0].org_id, "team_names": ["王专家"]}),
            422, "award.not_confirmed")
    # the buyer records that rank 1 waived, then confirms rank 2
    refused(lambda: owner.post(f"{base}/passes", {"bidder_org_id": inq.bidders[0].org_id, "reason": "bogus",
                                                  "note": "书面放弃成交"}), 422, "invalid_input")
    passed = owner.post(f"{base}/passes", {"bidder_org_id": inq.bidders[0].org_id, "reason": "waived",
                                           "note": "供应商书面声明放弃成交"})
    assert passed.status_code == 201 and passed.json["candidates"]["candidates"][0]["passed_reason"] == "waived"
    ok = owner.post(f"{base}/confirmation", {"bidder_org_id": inq.bidders[1].org_id})
    assert ok.status_code == 200, ok.json
    assert ok.json["confirmation"] == {"bidder_org_id": inq.bidders[1].org_id, "deemed": False}
    assert ok.json["lot_status"] == "confirming"
    refused(lambda: owner.post(f"{base}/confirmation", {"bidder_org_id": inq.bidders[1].org_id}), 409,
            "award.already_confirmed")
    done = owner.post(f"{base}/award", {"bidder_org_id": inq.bidders[1].org_id,
                                        "team_names": ["王专家", "李专家", "采购人代表赵某"]})
    assert done.status_code == 201, done.json
    assert done.json["award"]["price_fen"] == 470_000_00 and done.json["award"]["challenge_until"]
    # a 质疑 inside its window is a "challenge"
    bidder = Caller(app, inq.bidders[2])
    filed = bidder.post(f"/lots/{code}/objections", {"text": "对成交结果提出质疑，理由见附件说明。"})
    assert filed.status_code == 201 and filed.json["objections"][0]["kind"] == "challenge"


def test_audiences_and_auth(app, session, ctx, clock, sel):
    code = sel.trade.lot_code
    outsider = Caller(app, make_user(ctx, "bidder"))
    other_owner = Caller(app, make_user(ctx, "owner"))
    operator = Caller(app, make_user(ctx, "operator", totp=True))
    db.session.commit()
    assert Caller(app).get(f"/lots/{code}/awards").status_code == 401
    for who in (outsider, other_owner):
        resp = who.get(f"/lots/{code}/awards")
        assert resp.status_code == 404 and resp.json["error"]
    view = operator.get(f"/lots/{code}/awards")
    assert view.status_code == 200 and view.json["audience"] == "project"
    assert [c["rank"] for c in view.json["candidates"]["candidates"]] == [1, 2, 3]
    # the centre reads but does not act; another owner's organisation cannot act either
    refused(lambda: operator.post(f"/lots/{code}/awards/publicity"), 403, "permission.role_required")
    refused(lambda: other_owner.post(f"/lots/{code}/awards/publicity"), 404, "not_found")
    # a session request without the CSRF header is refused
    owner = Caller(app, sel.owner)
    refused(lambda: owner.post(f"/lots/{code}/awards/publicity", csrf=False), 400, "csrf.missing")


def test_the_winner_refuses_then_the_next_candidate_is_awarded(app, session, ctx, clock, inq):
    import base64

    code = inq.trade.lot_code
    owner = Caller(app, inq.owner)
    base = f"/lots/{code}/awards"
    team = ["王专家", "李专家", "采购人代表赵某"]
    owner.post(f"{base}/confirmation", {"bidder_org_id": inq.bidders[0].org_id})
    assert owner.post(f"{base}/award", {"bidder_org_id": inq.bidders[0].org_id, "team_names": team}).status_code == 201
    refused(lambda: owner.post(f"{base}/next", {}), 409, "award.no_default")
    refused(lambda: owner.post(f"{base}/default", {"kind": "not_signed", "reason": "成交供应商未在期限内签订合同。",
                                                   "evidence_note": "期限届满"}), 422, "award.contract_period_running")
    refused(lambda: owner.post(f"{base}/default", {"kind": "refused_contract", "reason": "成交供应商书面拒绝签订合同。",
                                                   "evidence_note": "拒签函", "evidence_base64": "%%%"}), 422,
            "award.evidence_base64")
    pdf = base64.b64encode(b"%PDF-1.4 refusal").decode()
    done = owner.post(f"{base}/default", {"kind": "refused_contract", "reason": "成交供应商书面拒绝签订合同。",
                                          "evidence_note": "2026年11月23日拒签函", "evidence_base64": pdf,
                                          "evidence_name": "拒签函.pdf"})
    assert done.status_code == 201, done.json
    d = done.json["defaults"][0]
    assert (d["kind"], d["deposit"], d["outcome"]) == ("refused_contract", "forfeit", None)
    assert done.json["award_status"] == "defaulted" and done.json["next_candidate"] == inq.bidders[1].org_id
    evidence = owner.client.get(d["evidence_url"])
    assert evidence.status_code == 200 and evidence.data == b"%PDF-1.4 refusal"
    assert Caller(app, inq.bidders[2]).client.get(d["evidence_url"]).status_code in (403, 404)
    refused(lambda: owner.post(f"{base}/default", {"kind": "waived", "reason": "再次记录的放弃理由。",
                                                   "evidence_note": "放弃声明"}), 409, "award.default_recorded")

    nxt = owner.post(f"{base}/next", {})
    assert nxt.status_code == 201, nxt.json
    body = nxt.json
    assert body["award"]["bidder_org_id"] == inq.bidders[1].org_id and body["award"]["rank"] == 2
    assert [h["bidder_org_id"] for h in body["history"]] == [inq.bidders[0].org_id]
    assert body["defaults"][0]["outcome"] == "reawarded" and body["award_status"] == "active"
    refused(lambda: owner.post(f"{base}/next", {}), 409, "award.no_default")
    refused(lambda: owner.post(f"{base}/reprocure", {"reason": "重新组织采购"}), 409, "award.no_default")
    # the new winner's letter; the first winner's letter of the first award stays in its list of letters
    letter = Caller(app, inq.bidders[1]).get(f"/lots/{code}/awards").json["letter"]
    assert letter["kind"] == "winner"
