"""Entry registration pages: the form without JavaScript (five lot rows, blank rows skipped), amounts
in yuan with 大写, the routing preview, bad input re-rendered with the message next to its field and
nothing written, edit with a stale version, submission (failing closed on a missing calendar year),
the centre's queue with due-date lights and the review loop, and the permission matrix."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.factories.accounts import actor_ctx, csrf_token, login_as, make_org, make_user
from tests.factories.projects import WAN, ensure_calendar, make_project, make_region
from trading.audit.models import AuditHead
from trading.core.clock import beijing
from trading.extensions import db
from trading.projects import services
from trading.projects.models import Project
from trading.reference.models import AdminAlert


@pytest.fixture
def world(ctx, session, clock):
    owner_org = make_org(ctx, "owner", name="示范县交通运输局")
    users = dict(owner=make_user(ctx, "owner", org=owner_org), agency=make_user(ctx, "agency"),
                 other_owner=make_user(ctx, "owner"), bidder=make_user(ctx, "bidder"),
                 operator=make_user(ctx, "operator", totp=True), supervisor=make_user(ctx, "supervisor", totp=True))
    region = make_region(ctx)
    ensure_calendar(ctx)
    session.commit()
    ctxs = {k: actor_ctx(session, clock, u) for k, u in users.items()}
    return dict(users=users, ctx=ctxs, owner_org=owner_org, region=region)


def head_seq() -> int:
    db.session.expire_all()
    return db.session.execute(select(AuditHead.next_seq)).scalar_one()


def project_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Project))


def form_data(world, **over) -> dict:
    data = {"name": "示范县城南道路改造工程", "approval_number": "示发改投资〔2026〕12号",
            "approval_department": "示范县发展和改革局", "category": "works", "owner_type": "state_enterprise",
            "funding_source": "state_enterprise", "fiscal_share": "0", "total_investment": "1,500,000.00",
            "combined_total": "", "region_id": str(world["region"].id), "procedure": "selection",
            "description": "道路改造 2.1 公里", "contact_name": "李工", "contact_phone": "0838-7654321",
            "lots-0-name": "一标段", "lots-0-budget": "800,000.50", "lots-1-name": "", "lots-1-budget": "",
            "lots-2-name": "二标段", "lots-2-budget": "300000", "lots-3-name": "", "lots-3-budget": "",
            "lots-4-name": "", "lots-4-budget": "", "action": "save"}
    data.update(over)
    return data


def post_new(client, world, **over):
    return client.post("/projects/new", data=form_data(world, csrf_token=csrf_token(client, "/projects/new"), **over))


def no_inline_code(html: str) -> bool:
    return not re.search(r"<script(?![^>]*\bsrc=)", html) and ' style="' not in html


# --- registration through the form ---------------------------------------------------------------------
def test_form_works_without_javascript(client, world):
    login_as(client, world["users"]["owner"])
    page = client.get("/projects/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and no_inline_code(html)
    assert all(f'name="lots-{i}-budget"' in html for i in range(5))
    assert 'data-capitals-for="lots-0-budget-capitals"' in html and "nzh.cn.min.js" in html and "js/projects.js" in html
    assert 'name="owner_org_id"' not in html  # only agencies choose the owner

    resp = post_new(client, world)
    assert resp.status_code == 302
    project = db.session.execute(select(Project)).scalar_one()
    assert [(lot.seq, lot.name, lot.budget_fen) for lot in project.lots] == [(1, "一标段", 80_000_050), (2, "二标段", 30_000_000)]
    assert project.total_investment_fen == 150_000_000 and project.status == "draft"
    detail = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "人民币壹佰壹拾万元伍角整" in detail   # 1,100,000.50 in capitals (sum of the lots)
    assert "草稿" in detail and 'data-allowed="selection"' in detail and "16号令 第2条第（二）项" in detail
    assert no_inline_code(detail)


def _selected_procedure(html: str) -> str | None:
    select_html = re.search(r'<select[^>]*name="procedure".*?</select>', html, re.S).group(0)
    found = re.search(r'<option value="([^"]*)" selected>', select_html)
    return found.group(1) if found else None


def test_procedure_starts_empty_and_the_preview_preselects_an_allowed_one(client, world):
    login_as(client, world["users"]["owner"])
    html = client.get("/projects/new").get_data(as_text=True)
    assert _selected_procedure(html) == "" and re.search(r'<select[^>]*name="procedure"[^>]*required', html)
    resp = post_new(client, world, procedure="")          # no choice made: refused next to the field, nothing saved
    assert resp.status_code == 422 and "交易方式取值无效" in resp.get_data(as_text=True) and project_count() == 0
    # services of 1,000,000 in a state-funded project must be tendered: the preview picks the only way
    html = post_new(client, world, action="preview", procedure="", category="services",
                    **{"lots-0-budget": "1000000"}).get_data(as_text=True)
    assert _selected_procedure(html) == "tender"
    html = post_new(client, world, action="preview", procedure="selection", category="services",
                    **{"lots-0-budget": "1000000"}).get_data(as_text=True)
    assert _selected_procedure(html) == "tender" and 'data-testid="procedure-changed"' in html
    html = post_new(client, world, action="preview", procedure="tender").get_data(as_text=True)
    assert _selected_procedure(html) == "tender"       # an allowed choice is kept


def test_agency_registers_for_an_owner(client, world):
    login_as(client, world["users"]["agency"])
    page = client.get("/projects/new").get_data(as_text=True)
    assert 'name="owner_org_id"' in page and "示范县交通运输局" in page
    resp = post_new(client, world, owner_org_id=str(world["owner_org"].id))
    assert resp.status_code == 302
    project = db.session.execute(select(Project)).scalar_one()
    assert project.owner_org_id == world["owner_org"].id
    assert project.agency_org_id == world["users"]["agency"].org_id
    resp = post_new(client, world, owner_org_id="0")
    assert resp.status_code == 422 and "请选择委托本机构的业主单位" in resp.get_data(as_text=True)


def test_routing_preview_saves_nothing(client, world):
    login_as(client, world["users"]["owner"])
    seq = head_seq()
    resp = post_new(client, world, action="preview", category="services", **{"lots-0-budget": "1000000"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert 'data-must-enter="yes"' in html and 'data-allowed="tender"' in html and 'data-allowed="selection"' not in html
    assert "16号令 第5条第1款第（三）项" in html and 'data-reason="route.must_tender"' in html
    assert project_count() == 0 and head_seq() == seq


def test_preview_below_the_floor_says_entry_is_voluntary(client, world):
    login_as(client, world["users"]["owner"])
    html = post_new(client, world, action="preview", **{"lots-0-budget": "100000", "lots-2-budget": "99999.99"}
                    ).get_data(as_text=True)
    assert 'data-must-enter="no"' in html and 'data-allowed="direct"' in html and "自愿进场" in html


@pytest.mark.parametrize("over,message,where", [
    ({"total_investment": "1500000.123"}, "金额最多保留两位小数", "total_investment"),
    ({"total_investment": "-5"}, "金额不能为负数", "total_investment"),
    ({"lots-2-budget": "abc"}, "金额格式不正确", "lots-2-budget"),
    ({"lots-2-name": ""}, "请填写第2个标段（包）的名称", "lots-2-name"),
    ({"name": "长" * 101}, "项目名称不能超过100个字", "name"),
    ({"approval_number": ""}, "请填写审批/核准文号", "approval_number"),
    ({"category": "road"}, "项目类别取值无效", "category"),
    ({"fiscal_share": "abc"}, "财政资金占比请填写0–100之间的数字", "fiscal_share"),
    ({"fiscal_share": "100.01"}, "财政资金占比须在 0%–100% 之间", "fiscal_share"),
    ({"total_investment": "1000000"}, "项目总投资不能小于各标段（包）预算之和", "total_investment"),
    ({"region_id": "0"}, "请选择项目所在区域", "region_id"),
    ({"procedure": "negotiation"}, "不在本项目允许的交易方式内", "procedure"),
    ({"lots-0-name": "", "lots-0-budget": "", "lots-2-name": "", "lots-2-budget": ""}, "请至少填写一个标段", None),
])
def test_bad_input_is_shown_and_nothing_is_written(client, world, over, message, where):
    login_as(client, world["users"]["owner"])
    seq = head_seq()
    resp = post_new(client, world, **over)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert message in html
    if where:
        assert re.search(rf'name="{where}"[^>]*is-invalid|is-invalid[^>]*name="{where}"', html) or \
            re.search(rf'class="[^"]*is-invalid[^"]*"[^>]*id="{where}"', html), where
    assert project_count() == 0 and head_seq() == seq


def test_procedure_refusal_shows_the_allowed_route(client, world):
    login_as(client, world["users"]["owner"])
    html = post_new(client, world, procedure="inquiry").get_data(as_text=True)
    assert 'data-allowed="selection"' in html and 'data-allowed="tender"' in html


def test_forged_csrf_is_refused(client, world):
    login_as(client, world["users"]["owner"])
    resp = client.post("/projects/new", data=form_data(world, csrf_token="forged"))
    assert resp.status_code == 400 and project_count() == 0


# --- edit and submit ---------------------------------------------------------------------------------------
def test_edit_prefills_and_refuses_a_stale_version(client, world):
    octx = world["ctx"]["owner"]
    p = make_project(octx, lots=[{"name": "一标段", "budget_fen": 80 * WAN + 5}], total_investment_fen=150 * WAN)
    db.session.commit()
    login_as(client, world["users"]["owner"])
    page = client.get(f"/projects/{p.id}/edit").get_data(as_text=True)
    assert 'value="800000.05"' in page and 'value="1500000.00"' in page and 'name="expected_version" type="hidden" value="1"' in page
    assert 'data-reason="route.in_band"' in page  # the stored route is shown while editing
    services.update_project(octx, p.id, expected_version=1, name="别人改过的名称")  # another window saves first
    db.session.commit()
    data = form_data(world, csrf_token=csrf_token(client, f"/projects/{p.id}/edit"), expected_version="1",
                     name="我的修改")
    resp = client.post(f"/projects/{p.id}/edit", data=data)
    assert resp.status_code == 409 and "请刷新页面后重新操作" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Project, p.id).name == "别人改过的名称"
    data["expected_version"] = "2"
    assert client.post(f"/projects/{p.id}/edit", data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(Project, p.id).name == "我的修改"


def test_submitted_project_cannot_be_edited(client, world):
    p = make_project(world["ctx"]["owner"])
    services.submit_project(world["ctx"]["owner"], p.id)
    login_as(client, world["users"]["owner"])
    resp = client.get(f"/projects/{p.id}/edit")
    assert resp.status_code == 409 and 'data-code="project.not_editable"' in resp.get_data(as_text=True)


def test_submit_issues_the_trade_code(client, world):
    p = make_project(world["ctx"]["owner"])
    login_as(client, world["users"]["owner"])
    detail = client.get(f"/projects/{p.id}").get_data(as_text=True)
    assert "提交审核" in detail
    resp = client.post(f"/projects/{p.id}/submit", data={"csrf_token": csrf_token(client, f"/projects/{p.id}"),
                                                         "expected_version": "1", "comment": ""})
    assert resp.status_code == 302
    html = client.get(f"/projects/{p.id}").get_data(as_text=True)
    assert "SFX2026-GC-0001" in html and "SFX2026-GC-0001-01" in html and "待审核" in html
    assert "提交审核" not in html
    assert "2026年11月12日24时00分（北京时间）" in html  # the period ends at 24:00 of its last day


def test_submit_fails_closed_on_a_missing_calendar_year(client, world, clock):
    p = make_project(world["ctx"]["owner"])
    login_as(client, world["users"]["owner"])
    token = csrf_token(client, f"/projects/{p.id}")
    clock.set(beijing(2026, 12, 31, 10))
    seq = head_seq()
    resp = client.post(f"/projects/{p.id}/submit", data={"csrf_token": token, "expected_version": "1"})
    assert resp.status_code == 422 and "2027年的法定节假日安排尚未导入" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Project, p.id).status == "draft" and db.session.get(Project, p.id).trade_code is None
    assert db.session.execute(select(AdminAlert)).scalar_one().key == "calendar.year_missing:2027"
    assert head_seq() == seq + 1  # only the administrators' alert was recorded


# --- the centre's review --------------------------------------------------------------------------------------
def test_review_loop_through_the_pages(client, world, clock):
    owner_ctx = world["ctx"]["owner"]
    p = make_project(owner_ctx, name="示范县东街排水工程")
    services.submit_project(owner_ctx, p.id)
    login_as(client, world["users"]["operator"])
    queue = client.get("/projects/review").get_data(as_text=True)
    assert "示范县东街排水工程" in queue and 'data-light="green"' in queue and "正常" in queue
    assert "2026-11-12 24:00" in queue
    clock.set(beijing(2026, 11, 12, 12))
    assert 'data-light="yellow"' in client.get("/projects/review").get_data(as_text=True)
    clock.set(beijing(2026, 11, 13, 0, 1))
    queue = client.get("/projects/review").get_data(as_text=True)
    assert 'data-light="red"' in queue and "已超时" in queue

    page = client.get(f"/projects/{p.id}/review").get_data(as_text=True)
    assert 'value="accept"' in page and 'value="return"' in page and 'value="refuse"' in page
    token = csrf_token(client, f"/projects/{p.id}/review")
    resp = client.post(f"/projects/{p.id}/review", data={"csrf_token": token, "action": "return", "comment": "不行"})
    assert resp.status_code == 422 and "不少于5个字" in resp.get_data(as_text=True)
    resp = client.post(f"/projects/{p.id}/review",
                       data={"csrf_token": token, "action": "return", "comment": "请补充施工图审查合格书"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/projects/review")

    login_as(client, world["users"]["owner"])
    html = client.get(f"/projects/{p.id}").get_data(as_text=True)
    assert "退回修改意见" in html and "请补充施工图审查合格书" in html and "修改" in html
    resp = client.post(f"/projects/{p.id}/submit", data={"csrf_token": csrf_token(client, f"/projects/{p.id}"),
                                                         "expected_version": str(p.version), "comment": "已补充"})
    assert resp.status_code == 302

    login_as(client, world["users"]["operator"])
    token = csrf_token(client, f"/projects/{p.id}/review")
    assert client.post(f"/projects/{p.id}/review", data={"csrf_token": token, "action": "accept",
                                                         "comment": ""}).status_code == 302
    html = client.get(f"/projects/{p.id}").get_data(as_text=True)
    steps = re.findall(r'data-testid="review-step" data-action="(\w+)"', html)
    assert steps == ["submitted", "returned", "resubmitted", "accepted"]
    assert "已受理" in html and "请补充施工图审查合格书" in html and "已补充" in html


def test_splitting_warning_is_shown_to_the_operator(client, world):
    owner_ctx = world["ctx"]["owner"]
    for budget in (60 * WAN, 40 * WAN):
        p = make_project(owner_ctx, category="services", lots=[{"name": "设计", "budget_fen": budget}])
        services.submit_project(owner_ctx, p.id)
    login_as(client, world["users"]["operator"])
    assert "有提示" in client.get("/projects/review").get_data(as_text=True)
    html = client.get(f"/projects/{p.id}/review").get_data(as_text=True)
    assert 'data-warning="route.splitting_suspected"' in html and "化整为零" in html


def test_supervisor_reads_without_buttons(client, world):
    p = make_project(world["ctx"]["owner"])
    db.session.commit()
    login_as(client, world["users"]["supervisor"])
    html = client.get(f"/projects/{p.id}").get_data(as_text=True)
    assert "只读" in html and "提交审核" not in html and "/edit" not in html and 'value="accept"' not in html


def test_lists_show_status_as_text(client, world):
    make_project(world["ctx"]["owner"], name="草稿中的项目")
    login_as(client, world["users"]["owner"])
    html = client.get("/projects/").get_data(as_text=True)
    assert "草稿中的项目" in html and 'data-status="draft">草稿<' in html
    assert "我的项目" in html  # the nav link exists for the owner
    login_as(client, world["users"]["other_owner"])
    assert "草稿中的项目" not in client.get("/projects/").get_data(as_text=True)


# --- permission matrix -------------------------------------------------------------------------------------------
WHO = ["owner", "agency", "other_owner", "bidder", "operator", "supervisor", "anonymous"]
#: expected status per role in WHO order; None = allowed and state-changing (tested above); anonymous
#: POSTs carry no valid CSRF token and are refused before anything else (400)
MATRIX = {
    ("GET", "/projects/"): [200, 200, 200, 403, 403, 403, 302],
    ("GET", "/projects/new"): [200, 200, 200, 403, 403, 403, 302],
    ("GET", "/projects/{id}"): [200, 200, 404, 404, 200, 200, 302],
    ("GET", "/projects/{id}/edit"): [200, 200, 404, 403, 403, 403, 302],
    ("POST", "/projects/{id}/edit"): [None, None, 404, 403, 403, 403, 400],
    ("POST", "/projects/{id}/submit"): [None, None, 404, 403, 403, 403, 400],
    ("GET", "/projects/review"): [403, 403, 403, 403, 200, 403, 302],
    ("GET", "/projects/{id}/review"): [403, 403, 403, 403, 200, 403, 302],
    ("POST", "/projects/{id}/review"): [403, 403, 403, 403, None, 403, 400],
}


@pytest.mark.parametrize("method,path", list(MATRIX))
def test_permission_matrix(client, world, method, path):
    """A returned project an agency registered for the owner: the owner side may edit and resubmit it,
    the centre reviews, the supervisor reads, everyone else gets 403 (wrong role) or 404 (not theirs);
    a refused POST changes nothing."""
    agency_ctx, op_ctx = world["ctx"]["agency"], world["ctx"]["operator"]
    p = make_project(agency_ctx, owner_org_id=world["owner_org"].id)
    services.submit_project(agency_ctx, p.id)
    services.return_project(op_ctx, p.id, "请补充核准文件")
    db.session.commit()
    url = path.format(id=p.id)
    got, want = {}, {}
    for who, expected in zip(WHO, MATRIX[(method, path)], strict=True):
        if expected is None:
            continue
        client = client.application.test_client()  # a fresh cookie jar per role
        if who != "anonymous":
            login_as(client, world["users"][who])
        seq = head_seq()
        if method == "GET":
            resp = client.get(url)
        else:
            token = csrf_token(client, "/auth/account") if who != "anonymous" else "x"
            resp = client.post(url, data=form_data(world, csrf_token=token, action="accept", comment="越权尝试",
                                                   expected_version=str(p.version)))
        got[who], want[who] = resp.status_code, expected
        if expected == 302:
            assert "/auth/login" in resp.headers["Location"]
        if method == "POST":
            db.session.expire_all()
            assert db.session.get(Project, p.id).status == "returned" and head_seq() == seq, who
    assert got == want


def test_unknown_project_is_404(client, world):
    login_as(client, world["users"]["owner"])
    assert client.get("/projects/999999").status_code == 404


def test_new_form_starts_in_the_owners_region(client, world, ctx):
    township = make_region(ctx, code="511002", name="城南镇", name_en="Chengnan")
    owner = make_user(ctx, "owner", org=make_org(ctx, "owner", region_id=township.id))
    login_as(client, owner)
    html = client.get("/projects/new").get_data(as_text=True)
    assert re.search(rf'<option selected value="{township.id}">城南镇</option>', html)
