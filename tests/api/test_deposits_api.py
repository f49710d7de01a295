"""/api/v1 deposits: the bidder's own sub-accounts, the centre's statement import (multipart and raw
CSV; re-import; malformed → 422 naming line and column, nothing written), a lot's deposits after the
deadline only, with the same refusal for every lot before it."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from tests.api.conftest import audit_next_seq
from tests.factories.deposits import deposit_lot, registered_account, statement_csv
from tests.timeline import T0
from trading.accounts.models import Organisation
from trading.extensions import db


@pytest.fixture
def dep(ctx, cast):
    _, trade = deposit_lot(ctx, owner=cast["owner"], deposit_yuan=10_000)
    acc = registered_account(ctx, trade, cast["bidder"])
    db.session.commit()
    return dict(trade=trade, acc=acc, code=trade.lot_code)


def test_bidder_lists_its_own_accounts(caller, dep):
    r = caller("bidder").get("/deposits")
    assert r.status_code == 200
    [item] = r.json["items"]
    assert item["virtual_account"] == dep["acc"].virtual_account and item["lot_code"] == dep["code"]
    assert item["required_fen"] == 1_000_000 and item["required_capitals"] == "人民币壹万元整"
    assert item["status"] == "awaiting" and item["due_at"].endswith("+08:00") and item["light"] is None


@pytest.mark.parametrize("role, status", [("anonymous", 401), ("owner", 403), ("operator", 403),
                                          ("supervisor", 403), ("expert", 403)])
def test_only_bidders_list_deposits(caller, dep, role, status):
    assert caller(role).get("/deposits").status_code == status


def test_import_multipart_and_raw(caller, dep):
    op = caller("operator")
    data = statement_csv([(T0, dep["acc"].virtual_account, "甲", "6222", "10000.00", "B1"),
                          (T0, "8810019999999999990", "乙", "6223", "5", "B2")], bom=True)
    r = op.call("POST", "/deposits/statements", data={"file": (io.BytesIO(data), "s.csv")},
                headers={"Content-Type": "multipart/form-data"})
    assert r.status_code == 200, r.json
    assert r.json["changed"] and r.json["matched"] == 1 and r.json["unmatched"][0]["bank_ref"] == "B2"
    assert r.json["unmatched"][0]["amount_capitals"] == "人民币伍元整"
    r = op.call("POST", "/deposits/statements?filename=again.csv", data=data, headers={"Content-Type": "text/csv"})
    assert r.status_code == 200 and not r.json["changed"] and r.json["duplicates"] == 2
    assert r.json["statement_id"] is None and "未作任何更改" in r.json["message"]
    assert caller("bidder").get("/deposits").json["items"][0]["status"] == "received"


def test_malformed_statement_is_a_422_and_writes_nothing(caller, dep):
    op = caller("operator")
    seq = audit_next_seq()
    data = "交易时间,收款账号,付款人户名,付款账号,金额(元),流水号\n2026-11-20 10:00,123456789,甲,1,12.3.4,B1\n"
    r = op.call("POST", "/deposits/statements", data=data.encode("gb18030"), headers={"Content-Type": "text/csv"})
    assert r.status_code == 422 and r.json["error"] == "deposit.statement_malformed"
    assert r.json["details"] == {"line": 2, "column": "金额"}
    assert audit_next_seq() == seq


@pytest.mark.parametrize("role, status", [("anonymous", 401), ("owner", 403), ("bidder", 403),
                                          ("supervisor", 403), ("admin", 403)])
def test_only_the_centre_imports(caller, dep, role, status):
    seq = audit_next_seq()
    r = caller(role).call("POST", "/deposits/statements", data=b"x", headers={"Content-Type": "text/csv"})
    assert r.status_code == status and audit_next_seq() == seq


def test_lot_deposits_after_the_deadline_only(caller, dep, clock, cast):
    path = f"/lots/{dep['code']}/deposits"
    before = {role: caller(role).get(path) for role in ("owner", "agency", "operator", "supervisor")}
    # the same refusal whether or not anyone registered: a lot nobody registered for answers alike
    assert {r.status_code for r in before.values()} == {409, 404}
    assert before["owner"].json["error"] == "deposit.before_deadline"
    assert before["operator"].json == before["owner"].json
    assert caller("bidder").get(path).status_code == 403
    clock.set(dep["trade"].deadline_at + timedelta(seconds=1))
    r = caller("owner").get(path)
    assert r.status_code == 200
    bidder = db.session.get(Organisation, cast["bidder"].org_id).name
    assert r.json["deposit_capitals"] == "人民币壹万元整"
    assert [i["bidder_name"] for i in r.json["items"]] == [bidder]
    assert caller("supervisor").get(path).status_code == 200
    assert caller("other_owner").get(path).status_code == 404
    assert caller("owner").get("/lots/NO-SUCH-LOT/deposits").status_code == 404


def test_before_the_deadline_an_empty_lot_and_a_busy_lot_look_the_same(caller, dep, ctx, cast):
    _, empty = deposit_lot(ctx, owner=cast["owner"], deposit_yuan=10_000)
    db.session.commit()
    busy = caller("owner").get(f"/lots/{dep['code']}/deposits")
    quiet = caller("owner").get(f"/lots/{empty.lot_code}/deposits")
    assert (busy.status_code, busy.json) == (quiet.status_code, quiet.json)
