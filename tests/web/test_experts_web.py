"""Expert pool and draw pages: the centre's pool (add, CSV import with line errors → 422 and nothing
written), the draw page (request → run → counts only while sealed; start → names), the expert's own
page (no project before check-in), the supervisor's re-verification; other roles are refused."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from tests.factories.accounts import csrf_token, login_as, make_org, make_user
from tests.factories.experts import drawable_lot, make_experts, operator_ctx, valid_id_card
from trading.accounts.models import User
from trading.evaluation.draw import services as draw
from trading.evaluation.draw.models import ExpertDraw
from trading.evaluation.experts.models import Expert
from trading.extensions import db


@pytest.fixture
def world(ctx):
    owner, trade, bidders = drawable_lot(ctx, bidders=2)
    experts = make_experts(ctx, 6)
    op = ctx.cache["_experts_operator"]
    bidder = make_user(ctx, "bidder", org=bidders[0])
    sup = make_user(ctx, "supervisor")
    return dict(owner=owner, trade=trade, code=trade.lot_code, experts=experts, op=op, bidder=bidder, sup=sup)


def _get(client, user, path):
    login_as(client, user)
    r = client.get(path)
    return r, r.get_data(as_text=True)


def test_the_pool_page_lists_and_adds(client, ctx, world):
    r, html = _get(client, world["op"], "/experts/")
    assert r.status_code == 200 and world["experts"][0].name in html and "********" in html
    account = make_user(ctx, "expert", username="new.expert")
    employer = make_org(ctx, "expert_employer")
    login_as(client, world["op"])
    token = csrf_token(client, "/experts/")
    r = client.post("/experts/add", data={"csrf_token": token, "username": "new.expert", "name": "新专家",
                                          "id_card": valid_id_card(77), "employer": employer.credit_code,
                                          "region_id": "", "years": "9", "specialties": "GC01;SZ02"})
    assert r.status_code == 302
    assert db.session.execute(select(Expert).where(Expert.user_id == account.id)).scalar_one().name == "新专家"
    r = client.post("/experts/add", data={"csrf_token": token, "username": "new.expert", "name": "x",
                                          "id_card": "123", "employer": employer.credit_code, "specialties": "GC01"})
    assert r.status_code == 422 and "身份证号" in r.get_data(as_text=True)


def test_csv_import_errors_name_the_lines_and_write_nothing(client, ctx, world):
    login_as(client, world["op"])
    before = db.session.execute(select(func.count()).select_from(Expert)).scalar_one()
    data = ("账号,姓名,身份证号,工作单位统一社会信用代码,地区代码,职称,高级职称,从业年限,专业代码\n"
            f"nobody,甲,{valid_id_card(1)},91510100700000017X,,,否,5,GC01\n").encode()
    token = csrf_token(client, "/experts/")
    r = client.post("/experts/import", data={"csrf_token": token, "file": (io.BytesIO(data), "专家.csv")},
                    content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'data-line="2"' in html and "未导入任何专家" in html
    assert db.session.execute(select(func.count()).select_from(Expert)).scalar_one() == before


@pytest.mark.parametrize("role", ["owner", "bidder", "expert"])
def test_other_roles_cannot_see_the_pool_or_the_draw(client, world, role):
    user = {"owner": world["owner"], "bidder": world["bidder"]}.get(role) or \
        db.session.get(User, world["experts"][0].user_id)
    for path in ("/experts/", f"/experts/draws/{world['code']}"):
        r, _ = _get(client, user, path)
        assert r.status_code == 403


def test_draw_page_request_run_sealed_then_start(client, ctx, world):
    code = world["code"]
    login_as(client, world["op"])
    token = csrf_token(client, f"/experts/draws/{code}")
    r = client.post(f"/experts/draws/{code}/request", data={"csrf_token": token, "size": "3",
                                                            "experts_required": "3", "specialties": "GC01"})
    assert r.status_code == 302
    d = db.session.execute(select(ExpertDraw)).scalar_one()
    html = client.get(f"/experts/draws/{code}").get_data(as_text=True)
    assert d.seed_sha256[:16] in html and d.seed.hex() not in html
    r = client.post(f"/experts/draws/{code}/{d.id}/run", data={"csrf_token": token})
    assert r.status_code == 302
    html = client.get(f"/experts/draws/{code}").get_data(as_text=True)
    assert d.seed.hex() in html          # revealed once the draw has run
    drawn = {e.name for e in world["experts"] if e.id in db.session.get(ExpertDraw, d.id).result}
    assert "专家 3 / 3" in html and not any(name in html for name in drawn)
    # the chosen expert sees an assignment without the project
    member_user = db.session.get(User, world["experts"][0].user_id if world["experts"][0].id in d.result
                                 else next(e.user_id for e in world["experts"] if e.id in d.result))
    r, mine = _get(client, member_user, "/experts/me")
    assert r.status_code == 200 and 'data-testid="sealed-assignment"' in mine and code not in mine
    login_as(client, world["op"])
    token = csrf_token(client, f"/experts/draws/{code}")
    assert client.post(f"/experts/draws/{code}/start", data={"csrf_token": token}).status_code == 302
    html = client.get(f"/experts/draws/{code}").get_data(as_text=True)
    assert all(name in html for name in drawn)
    r, mine = _get(client, member_user, "/experts/me")
    assert code in mine
    # running twice is a 409 with nothing changed
    login_as(client, world["op"])
    r = client.post(f"/experts/draws/{code}/{d.id}/run", data={"csrf_token": csrf_token(client, f"/experts/draws/{code}")})
    assert r.status_code == 409


def test_supervisor_reverifies_a_draw(client, ctx, world):
    op = operator_ctx(ctx)
    d = draw.request_draw(op, world["code"], size=3, specialties="GC01", experts_required=3)
    draw.run_draw(op, d.id)
    r, html = _get(client, world["sup"], "/experts/")
    assert r.status_code == 200 and f"/experts/draws/{world['code']}" in html
    r, html = _get(client, world["sup"], f"/experts/draws/{world['code']}/{d.id}/verify")
    assert r.status_code == 200 and "复核一致" in html
    r, _ = _get(client, world["sup"], f"/experts/draws/{world['code']}/{d.id + 99}/verify")
    assert r.status_code == 404


def test_the_csv_template_is_a_file_the_import_reads(client, world):
    from trading.evaluation.experts import rules
    r, _ = _get(client, world["op"], "/experts/template.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    (row,) = rules.parse_expert_csv(r.data)
    assert (row.username, row.specialties, row.senior) == ("zhang.san", ("GC01", "SZ02"), True)
    from trading.accounts.rules import credit_code_problem
    assert credit_code_problem(row.employer_credit_code) is None  # the example is a code the import accepts
    r, _ = _get(client, world["bidder"], "/experts/template.csv")
    assert r.status_code == 403
