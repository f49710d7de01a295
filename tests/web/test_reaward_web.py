"""Re-award on /awards/lots/<code>: the owner records that the winner refused to sign (with its
evidence file), the page then offers the next candidate or re-procurement; a refused step shows its
reason with a 4xx and writes nothing; the next candidate's award shows with the first one kept."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from tests.factories.accounts import csrf_token, login_as
from tests.factories.awards import propose, reported_lot
from trading.audit.models import AuditEntry
from trading.core.clock import beijing
from trading.extensions import db
from trading.procedures.common.awards import result, services
from trading.procedures.common.awards.models import Award, AwardDefault

PRICES = [900_000_00, 950_000_00, 990_000_00]


@pytest.fixture
def w(ctx, clock):
    w = reported_lot(ctx, procedure="selection", bidders=3)
    propose(w, PRICES)
    services.publish_candidates(w.c_owner, w.trade.lot_code)
    clock.set(beijing(2026, 11, 27))
    result.award(w.c_owner, w.trade.lot_code, w.bidders[0].org_id)
    db.session.commit()
    return w


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_refusal_recorded_with_evidence_then_the_next_candidate_awarded(client, clock, w):
    page = f"/awards/lots/{w.trade.lot_code}"
    login_as(client, w.owner)
    html = client.get(page).get_data(as_text=True)
    assert 'data-testid="record-default"' in html and 'data-testid="award-next"' not in html
    r = client.post(f"{page}/default", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, page), "kind": "refused_contract",
        "reason": "中选人以材料涨价为由书面拒绝签订合同。", "evidence_note": "2026年11月27日拒签函",
        "evidence": (io.BytesIO(b"%PDF-1.4 letter"), "拒签函.pdf")})
    assert r.status_code == 302, r.get_data(as_text=True)
    html = client.get(page).get_data(as_text=True)
    assert 'data-testid="award-next"' in html and "拒绝签订合同" in html and "保证金不予退还" in html
    assert "确定排名第 2 的候选人" in html
    dflt = db.session.execute(select(AwardDefault)).scalar_one()
    ev = client.get(f"/awards/defaults/{dflt.id}/evidence")
    assert ev.status_code == 200 and ev.data == b"%PDF-1.4 letter"

    entries = count(AuditEntry)
    r = client.post(f"{page}/reprocure", data={"csrf_token": csrf_token(client, page), "reason": ""})
    assert r.status_code == 422 and "请写明重新采购的理由" in r.get_data(as_text=True)
    assert count(AuditEntry) == entries

    r = client.post(f"{page}/next", data={"csrf_token": csrf_token(client, page)})
    assert r.status_code == 302
    html = client.get(page).get_data(as_text=True)
    assert 'data-testid="award-history"' in html and "人民币玖拾伍万元整" in html
    assert count(Award) == 2 and 'data-testid="decide"' not in html


def test_a_bidder_cannot_record_a_default(client, clock, w):
    login_as(client, w.bidders[1])
    page = f"/awards/bid/{w.trade.lot_code}"
    r = client.post(f"/awards/lots/{w.trade.lot_code}/default",
                    data={"csrf_token": csrf_token(client, page), "kind": "waived", "reason": "理由理由理由",
                          "evidence_note": "证据说明"})
    assert r.status_code == 403 and count(AwardDefault) == 0
