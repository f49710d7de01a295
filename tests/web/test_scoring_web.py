"""Evaluation pages: assignments, check-in, the sheet (server totals, refusals as 4xx with nothing
changed, the lock), autosave JSON, secrecy of the pages before everyone submits (progress without
scores for the owner), the summary, report signing with TOTP and its PDF, the owner's criteria page."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.factories.accounts import csrf_token, login_as, make_user, totp_code
from tests.factories.evaluation import CRITERIA, evaluation_lot, fill_and_submit
from trading.evaluation.criteria.models import LotCriteria
from trading.evaluation.scoring import services as scoring
from trading.evaluation.scoring.models import ScoreSheet
from trading.extensions import db


def sheets(session):
    return [(s.id, s.status, s.revision, dict(s.scores)) for s in session.execute(
        select(ScoreSheet).order_by(ScoreSheet.id)).scalars()]


def no_inline_scripts(html: str) -> bool:
    return not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)


def test_expert_pages_check_in_score_and_lock(ctx, client, session):
    ev = evaluation_lot(ctx)
    a = ev.members[0]
    code, b1 = ev.code, ev.bidders[0]
    login_as(client, a.user)
    page = client.get("/evaluation/").get_data(as_text=True)
    assert code in page
    room = client.get(f"/evaluation/{code}/room")
    assert room.status_code == 200 and b1.name in room.get_data(as_text=True)
    token = csrf_token(client, f"/evaluation/{code}/room")
    for b in ev.bidders:
        r = client.post(f"/evaluation/{code}/declare/{b.id}", data={"csrf_token": token, "conflict": "0"})
        assert r.status_code == 302
    sheet_url = f"/evaluation/{code}/sheets/{b1.id}"
    html = client.get(sheet_url).get_data(as_text=True)
    assert "施工组织设计" in html and no_inline_scripts(html) and "evaluation-sheet.js" in html
    r = client.post(sheet_url, data={"csrf_token": token, "action": "save", "score_T1": "36",
                                     "comment_T1": "进度计划不细"})
    assert r.status_code == 302
    html = client.get(sheet_url).get_data(as_text=True)
    assert 'data-subtotal>36' in html                   # the running total computed by the server
    before = sheets(session)
    r = client.post(sheet_url, data={"csrf_token": token, "action": "submit", "score_T1": "36", "score_C1": "18",
                                     "comment_T1": "进度计划不细"})
    assert r.status_code == 422 and "扣分理由" in r.get_data(as_text=True)   # C1 deducted without comment
    r = client.post(sheet_url, data={"csrf_token": token, "action": "submit", "score_T1": "41", "score_C1": "20",
                                     "comment_T1": "x"})
    assert r.status_code == 422
    assert sheets(session) == before
    r = client.post(sheet_url, data={"csrf_token": token, "action": "submit", "score_T1": "36", "score_C1": "18",
                                     "comment_T1": "进度计划不细", "comment_C1": "业绩少一项"})
    assert r.status_code == 302
    locked = sheets(session)
    r = client.post(sheet_url, data={"csrf_token": token, "action": "submit", "score_T1": "40", "score_C1": "20"})
    assert r.status_code == 409
    assert sheets(session) == locked
    html = client.get(sheet_url).get_data(as_text=True)
    assert "提交并锁定。" in html and "<fieldset disabled>" in html


def test_autosave_json(ctx, client, session):
    ev = evaluation_lot(ctx)
    a = ev.members[0]
    for b in ev.bidders:
        scoring.declare(a.ctx, ev.code, b.id, conflict=False)
    login_as(client, a.user)
    token = csrf_token(client, f"/evaluation/{ev.code}/room")
    url = f"/evaluation/{ev.code}/sheets/{ev.bidders[1].id}/autosave"
    headers = {"X-CSRFToken": token, "Accept": "application/json"}
    r = client.post(url, json={"score_T1": "40", "score_C1": "19.5", "comment_C1": "略"}, headers=headers)
    assert r.status_code == 200 and r.json["revision"] == 1 and r.json["subtotal"] == "59.5"
    assert r.json["total"] == "95.06"   # + 800,000/900,000 × 40 = 35.555… → 35.56 (provisional)
    r = client.post(url, json={"score_T1": "40", "revision": 0}, headers=headers)
    assert r.status_code == 409 and r.json["error"] == "evaluation.stale_draft"
    r = client.post(url, json={"score_T1": "50", "revision": 1}, headers=headers)
    assert r.status_code == 422 and r.json["error"] == "evaluation.score_out_of_range"


def test_pages_keep_scores_secret_until_everyone_submitted(ctx, client, session, clock):
    ev = evaluation_lot(ctx)
    a, b, c = ev.members
    fill_and_submit(ev, {ev.bidders[0].id: ("33.75", "12.25")}, members=[a, b])
    login_as(client, b.user)
    assert client.get(f"/evaluation/{ev.code}/summary").status_code == 409
    login_as(client, ev.owner)
    r = client.get(f"/evaluation/{ev.code}/progress")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "3 / 3" in html and "0 / 3" in html
    assert "33.75" not in html and "46.00" not in html
    assert client.get(f"/evaluation/{ev.code}/summary").status_code == 409
    assert client.get(f"/evaluation/{ev.code}/report").status_code == 404
    other = make_user(ctx, "owner")
    login_as(client, other)
    assert client.get(f"/evaluation/{ev.code}/progress").status_code == 404
    login_as(client, make_user(ctx, "bidder"))
    assert client.get(f"/evaluation/{ev.code}/progress").status_code == 403
    fill_and_submit(ev, members=[c])
    login_as(client, ev.owner)
    html = client.get(f"/evaluation/{ev.code}/summary").get_data(as_text=True)
    assert "33.75" not in html and ev.bidders[0].name in html and "平均分" in html


def test_report_signing_pages_and_pdf(ctx, client, session, clock):
    ev = evaluation_lot(ctx)
    fill_and_submit(ev)
    a = ev.members[0]
    login_as(client, a.user)
    token = csrf_token(client, f"/evaluation/{ev.code}/room")
    assert client.post(f"/evaluation/{ev.code}/report/generate", data={"csrf_token": token}).status_code == 302
    html = client.get(f"/evaluation/{ev.code}/report").get_data(as_text=True)
    assert "sign-form" in html and no_inline_scripts(html)
    r = client.post(f"/evaluation/{ev.code}/report/sign", data={"csrf_token": token, "act": "agree", "code": "123"})
    assert r.status_code == 302
    r = client.post(f"/evaluation/{ev.code}/report/sign",
                    data={"csrf_token": token, "act": "agree", "code": totp_code(a.user, clock)})
    assert r.status_code == 302
    for m in ev.members[1:]:
        login_as(client, m.user)
        token = csrf_token(client, f"/evaluation/{ev.code}/report")
        client.post(f"/evaluation/{ev.code}/report/sign",
                    data={"csrf_token": token, "act": "refused", "code": totp_code(m.user, clock)})
    db.session.expire_all()
    assert ev.trade.status == "reported"
    html = client.get(f"/evaluation/{ev.code}/report").get_data(as_text=True)
    assert "视为同意" in html
    pdf = client.get(f"/evaluation/{ev.code}/report.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    from trading.evaluation.reports.models import EvaluationReport
    db.session.expire_all()
    rep = db.session.execute(select(EvaluationReport)).scalar_one()
    assert rep.pdf_sha256                                # the final report is rendered once, then served
    assert client.get(f"/evaluation/{ev.code}/report.pdf").data == pdf.data


def test_owner_criteria_page(ctx, client, session, clock):
    from tests.factories.accounts import actor_ctx
    from tests.factories.notices import make_notice, notice_project
    from trading.procedures.common.models import LotTrade

    owner = make_user(ctx, "owner")
    project = notice_project(ctx, owner, procedure="selection")
    notice = make_notice(actor_ctx(session, clock, owner), project)
    lot = project.lots[0]
    session.add(LotTrade(lot_id=lot.id, project_id=project.id, lot_code=lot.code, notice_id=notice.id,
                         procedure="selection", sealed=True, deadline_at=notice.deadline_at, max_part_bytes=1,
                         deposit_fen=0, min_valid_offers=3, status="accepting", status_changed_at=clock.now(),
                         created_at=clock.now()))
    login_as(client, owner)
    url = f"/evaluation/{lot.code}/criteria"
    html = client.get(url).get_data(as_text=True)
    assert "施工组织设计" in html                     # the template to start from
    token = csrf_token(client, url)
    form = {"csrf_token": token, "method": "comprehensive", "price_weight": "40", "tie_break": "technical",
            "max_price": "1,000,000.00",
            "items-0-code": "T1", "items-0-name": "施工组织设计", "items-0-group": "technical", "items-0-max": "40",
            "items-1-code": "C1", "items-1-name": "企业业绩", "items-1-group": "commercial", "items-1-max": "20",
            "rejections-0-code": "R1", "rejections-0-name": "资格证书缺失"}
    assert client.post(url, data=form).status_code == 302
    row = session.execute(select(LotCriteria)).scalar_one()
    assert row.body["max_price_fen"] == 1_000_000_00 and len(row.body["items"]) == 2
    r = client.post(url, data={**form, "price_weight": "50"})
    assert r.status_code == 422 and "100" in r.get_data(as_text=True)
    clock.set(notice.deadline_at)
    r = client.post(url, data=form | {"items-1-max": "19", "price_weight": "41"})
    assert r.status_code == 409
    assert session.execute(select(LotCriteria)).scalars().all() == [row]
    assert CRITERIA["method"] == "comprehensive"


def test_owner_and_operator_find_their_lots_and_the_panel_closes_with_the_report(ctx, client, session, clock):
    from trading.evaluation.reports import services as reports

    ev = evaluation_lot(ctx)
    login_as(client, ev.owner)
    html = client.get("/evaluation/").get_data(as_text=True)
    assert ev.code in html and f"/evaluation/{ev.code}/criteria" in html and f"/evaluation/{ev.code}/progress" in html
    login_as(client, make_user(ctx, "owner"))
    assert ev.code not in client.get("/evaluation/").get_data(as_text=True)
    login_as(client, make_user(ctx, "operator", totp=True))
    html = client.get("/evaluation/").get_data(as_text=True)
    assert ev.code in html and f"/evaluation/{ev.code}/criteria" not in html
    fill_and_submit(ev)
    reports.generate_report(ev.members[0].ctx, ev.code)
    for m in ev.members:
        reports.sign_report(m.ctx, ev.code, "agree", code=totp_code(m.user, clock))
    assert ev.panel.status == "closed"
    login_as(client, ev.members[0].user)
    html = client.get("/evaluation/").get_data(as_text=True)
    assert ev.code in html and "已提交报告" in html
    assert client.get(f"/evaluation/{ev.code}/room").status_code == 200   # still readable, no longer writable
    token = csrf_token(client, f"/evaluation/{ev.code}/room")
    r = client.post(f"/evaluation/{ev.code}/sheets/{ev.bidders[0].id}",
                    data={"csrf_token": token, "action": "save", "score_T1": "1", "comment_T1": "x"})
    assert r.status_code == 409


def test_progress_stream_sends_counts_and_milestones_never_scores(ctx, client, session, app):
    import json

    app.config.update(SSE_HEARTBEAT_SECONDS=0.2, SSE_MAX_SECONDS=2)
    ev = evaluation_lot(ctx)
    a = ev.members[0]
    login_as(client, ev.owner)
    html = client.get(f"/evaluation/{ev.code}/progress").get_data(as_text=True)
    assert "evaluation-progress.js" in html and no_inline_scripts(html)
    fill_and_submit(ev, {ev.bidders[0].id: ("33.75", "12.25")}, members=[a])
    db.session.commit()
    from trading.core.events import LiveEvent
    first = session.execute(select(LiveEvent.id).where(LiveEvent.channel == scoring.channel(ev.code))
                            .order_by(LiveEvent.id)).scalars().first()
    # a reconnect after the first milestone: the later ones are replayed, then the snapshot
    resp = client.get(f"/evaluation/{ev.code}/progress/stream?last_id={first}", buffered=False)
    assert resp.status_code == 200 and resp.mimetype == "text/event-stream"
    text = b"".join(resp.response).decode()
    assert "event: evaluation:progress" in text and "event: evaluation:sheet_submitted" in text
    snapshot = next(json.loads(line[5:]) for block in text.split("\n\n") if "evaluation:progress" in block
                    for line in block.split("\n") if line.startswith("data:"))
    assert [m["submitted"] for m in snapshot["members"]] == [3, 0, 0]
    assert "33.75" not in text and "12.25" not in text and "46.00" not in text and "score" not in text
    assert client.get(f"/evaluation/{ev.code}/progress.json").json["members"][0]["declared"] == 3
    login_as(client, make_user(ctx, "owner"))
    assert client.get(f"/evaluation/{ev.code}/progress/stream").status_code == 404
    login_as(client, a.user)
    assert client.get(f"/evaluation/{ev.code}/progress/stream").status_code == 403


def test_a_member_records_the_failure_from_the_room_only_when_too_few_offers_qualify(ctx, client, session):
    ev = evaluation_lot(ctx)
    reject = {"decision": "reject", "reject_code": "R1", "reject_note": "未提供施工资质证书"}
    fill_and_submit(ev, {ev.bidders[0].id: reject, ev.bidders[1].id: reject})  # one offer qualifies of three
    db.session.commit()
    a = ev.members[0]
    login_as(client, a.user)
    room = client.get(f"/evaluation/{ev.code}/room").get_data(as_text=True)
    assert 'data-testid="evaluation-fail"' in room
    token = csrf_token(client, f"/evaluation/{ev.code}/room")
    blank = client.post(f"/evaluation/{ev.code}/fail", data={"csrf_token": token, "reason": ""})
    assert blank.status_code == 302
    db.session.expire_all()
    assert ev.trade.status == "evaluating"  # a reason is required: nothing changed
    done = client.post(f"/evaluation/{ev.code}/fail", data={"csrf_token": token, "reason": "合格投标仅一家，竞争不充分"})
    assert done.status_code == 302
    db.session.expire_all()
    assert ev.trade.status == "failed"
