"""Entry registration through the services: the whole review loop with its trail and audit entries,
trade and lot codes, the anti-splitting warning, the review due date (failing closed on a missing
calendar year), visibility, and a matrix of bad input that must change nothing."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from tests.conftest import is_postgres
from tests.factories.accounts import actor_ctx, make_org, make_user
from tests.factories.projects import (
    WAN,
    accepted_project,
    ensure_calendar,
    make_project,
    make_region,
    project_fields,
    submitted_project,
)
from tests.timeline import BEFORE_NATIONAL_DAY, T0
from trading.audit.models import AuditEntry, AuditHead
from trading.audit.services import verify
from trading.core.clock import beijing
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RuleViolation
from trading.extensions import db
from trading.projects import queries, services
from trading.projects.models import EntryReview, Project, TradeCodeCounter
from trading.reference.services import update_setting


@pytest.fixture
def people(ctx, session, clock):
    owner_org = make_org(ctx, "owner")
    owner = make_user(ctx, "owner", org=owner_org)
    other_owner = make_user(ctx, "owner")
    agency = make_user(ctx, "agency")
    operator = make_user(ctx, "operator")
    supervisor = make_user(ctx, "supervisor")
    bidder = make_user(ctx, "bidder")
    admin = make_user(ctx, "admin")
    make_region(ctx)
    ensure_calendar(ctx, (2025, 2026))
    session.commit()
    as_ = {name: actor_ctx(session, clock, user) for name, user in dict(
        owner=owner, other_owner=other_owner, agency=agency, operator=operator, supervisor=supervisor,
        bidder=bidder, admin=admin).items()}
    as_["owner_org"] = owner_org
    return as_


def head_seq() -> int:
    return db.session.execute(select(AuditHead.next_seq)).scalar_one()


def actions_of(project_id: int) -> list[str]:
    return list(db.session.execute(select(AuditEntry.action).where(AuditEntry.project_id == project_id)
                                   .order_by(AuditEntry.seq)).scalars())


# --- the whole loop -------------------------------------------------------------------------------
def test_register_submit_return_fix_resubmit_accept(people, clock):
    owner, op = people["owner"], people["operator"]
    p = make_project(owner, name="示范县城南道路工程")
    assert (p.status, p.version, p.trade_code) == ("draft", 1, None)
    assert p.route["must_enter"] is True and p.route["allowed"] == ["selection", "tender"]

    services.submit_project(owner, p.id, expected_version=1)
    assert p.status == "submitted" and p.trade_code == "SFX2026-GC-0001"
    assert [lot.code for lot in p.lots] == ["SFX2026-GC-0001-01"]
    assert p.review_due_at == beijing(2026, 11, 13)  # T0 Tue + 2 WD → Thu 24:00 Beijing

    clock.advance(hours=3)
    services.return_project(op, p.id, "请补充项目核准文件扫描件")
    assert p.status == "returned"

    clock.advance(hours=20)
    services.update_project(owner, p.id, expected_version=p.version, approval_number="示发改投资〔2026〕88号",
                            lots=[{"name": "一标段", "budget_fen": 80 * WAN}, {"name": "二标段", "budget_fen": 30 * WAN}])
    services.submit_project(owner, p.id, comment="已补充核准文件")
    assert p.trade_code == "SFX2026-GC-0001"  # kept across resubmission
    assert [lot.code for lot in p.lots] == ["SFX2026-GC-0001-01", "SFX2026-GC-0001-02"]
    assert p.review_due_at == beijing(2026, 11, 14)  # Wed 08:00 + 2 WD → Fri 24:00

    services.accept_project(op, p.id)
    assert p.status == "accepted" and p.accepted_at == clock.now()
    db.session.commit()

    trail = db.session.execute(select(EntryReview).where(EntryReview.project_id == p.id)
                               .order_by(EntryReview.id)).scalars().all()
    assert [(r.action, r.comment) for r in trail] == [
        ("submitted", ""), ("returned", "请补充项目核准文件扫描件"), ("resubmitted", "已补充核准文件"), ("accepted", "")]
    assert actions_of(p.id) == ["project.registered", "project.submitted", "project.returned", "project.updated",
                                "project.submitted", "project.accepted"]
    updated = db.session.execute(select(AuditEntry).where(AuditEntry.action == "project.updated")).scalar_one()
    assert b"\xe3\x80\x9588" in bytes(updated.body)  # the new approval number "…〕88号" is in the diff
    assert verify(db.session).ok


def test_update_records_old_and_new(people):
    import json
    owner = people["owner"]
    p = make_project(owner, name="旧名称工程")
    services.update_project(owner, p.id, expected_version=1, name="新名称工程")
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "project.updated")).scalar_one()
    assert json.loads(entry.body)["payload"]["changes"] == {"name": ["旧名称工程", "新名称工程"]}
    assert entry.project_id == p.id and p.version == 2


def test_update_without_changes_writes_nothing(people):
    owner = people["owner"]
    p = make_project(owner)
    seq = head_seq()
    services.update_project(owner, p.id, expected_version=1, name=p.name)
    assert head_seq() == seq and p.version == 1


def test_refuse_and_terminate(people):
    owner, op = people["owner"], people["operator"]
    p = submitted_project(owner)
    services.refuse_project(op, p.id, "核准文件与项目名称不符，不予受理")
    assert p.status == "refused" and p.reviews[-1].comment == "核准文件与项目名称不符，不予受理"
    q = accepted_project(owner, op)
    services.terminate_project(op, q.id, "受理后90日未交易且提醒后7日仍未推进")
    assert q.status == "terminated"
    assert actions_of(q.id)[-1] == "project.terminated"


# --- codes --------------------------------------------------------------------------------------------
def test_trade_codes_count_per_year_and_category(people, clock):
    owner = people["owner"]
    works = [submitted_project(owner).trade_code for _ in range(3)]
    goods = submitted_project(owner, category="goods", owner_type="gov", funding_source="fiscal_county",
                              fiscal_share_bp=10000, procedure="negotiation").trade_code
    assert works == ["SFX2026-GC-0001", "SFX2026-GC-0002", "SFX2026-GC-0003"]
    assert goods == "SFX2026-HW-0001"
    clock.set(beijing(2025, 12, 1, 9))
    assert submitted_project(owner).trade_code == "SFX2025-GC-0001"
    assert db.session.get(TradeCodeCounter, (2026, "works")).last == 3


def test_trade_code_prefix_is_passed_in(people):
    p = make_project(people["owner"])
    services.submit_project(people["owner"], p.id, trade_code_prefix="ABC")
    assert p.trade_code == "ABC2026-GC-0001"


def test_lots_removed_after_return_are_deleted(people):
    owner, op = people["owner"], people["operator"]
    p = submitted_project(owner, lots=[{"name": "一标段", "budget_fen": 40 * WAN}, {"name": "二标段", "budget_fen": 40 * WAN}])
    services.return_project(op, p.id, "请合并为一个标段")
    services.update_project(owner, p.id, expected_version=p.version, lots=[{"name": "全部", "budget_fen": 80 * WAN}])
    db.session.commit()
    assert [(lot.seq, lot.name, lot.code) for lot in p.lots] == [(1, "全部", "SFX2026-GC-0001-01")]
    assert p.budget_fen == 80 * WAN


@pytest.mark.skipif(not is_postgres(), reason="parallel submissions need a server database")
def test_parallel_submissions_get_distinct_dense_codes(app, people, clock):
    owner_user_id = people["owner"].actor.user_id
    ids = [make_project(people["owner"]).id for _ in range(8)]
    db.session.commit()
    errors, actor = [], people["owner"].actor

    def submit(pid):
        try:
            with app.app_context():
                services.submit_project(ServiceContext(session=db.session, actor=actor, clock=clock), pid)
                db.session.commit()
                db.session.remove()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(pid,)) for pid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and owner_user_id
    db.session.expire_all()
    codes = sorted(db.session.execute(select(Project.trade_code)).scalars())
    assert codes == [f"SFX2026-GC-{n:04d}" for n in range(1, 9)]
    assert verify(db.session).ok


# --- anti-splitting --------------------------------------------------------------------------------------
SOE_SERVICES = dict(category="services", procedure="selection")


def test_splitting_warning_attached_on_submit(people, clock):
    owner = people["owner"]
    first = submitted_project(owner, lots=[{"name": "设计", "budget_fen": 60 * WAN}], **SOE_SERVICES)
    assert first.route["warnings"] == []
    second = submitted_project(owner, lots=[{"name": "监理", "budget_fen": 40 * WAN}], **SOE_SERVICES)
    [warning] = second.route["warnings"]
    assert warning["code"] == "route.splitting_suspected" and first.trade_code in warning["zh"]
    import json
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "project.submitted")
                               .order_by(AuditEntry.seq.desc())).scalars().first()
    assert json.loads(entry.body)["payload"]["warnings"] == ["route.splitting_suspected"]


@pytest.mark.parametrize("case", ["other_year", "other_category", "refused", "draft", "other_owner", "one_fen_short"])
def test_splitting_not_flagged(people, clock, case):
    owner, op = people["owner"], people["operator"]
    budget = 60 * WAN - (1 if case == "one_fen_short" else 0)
    if case == "other_year":
        clock.set(beijing(2025, 12, 10, 9))
    if case == "draft":
        make_project(owner, lots=[{"name": "设计", "budget_fen": budget}], **SOE_SERVICES)
    else:
        who = people["other_owner"] if case == "other_owner" else owner
        extra = dict(category="goods") if case == "other_category" else SOE_SERVICES
        first = submitted_project(who, lots=[{"name": "设计", "budget_fen": budget}], **extra)
        if case == "refused":
            services.refuse_project(op, first.id, "不属于本中心交易目录")
    clock.set(T0)
    second = submitted_project(owner, lots=[{"name": "监理", "budget_fen": 40 * WAN}], **SOE_SERVICES)
    assert second.route["warnings"] == []


# --- review due date ---------------------------------------------------------------------------------------
def test_due_date_skips_the_national_day_holidays(people, clock):
    clock.set(beijing(2026, 9, 30, 10))
    p = submitted_project(people["owner"])
    assert p.review_due_at == beijing(2026, 10, 10)  # Oct 1–7 off; Thu 8th and Fri 9th count; ends 9th 24:00
    clock.set(BEFORE_NATIONAL_DAY)                   # Tue 29 Sep: 30th and 8th count
    assert submitted_project(people["owner"]).review_due_at == beijing(2026, 10, 9)


def test_due_date_follows_the_setting(people):
    update_setting(people["admin"], "entry.review_wd", 3)
    people["owner"].cache.clear()
    assert submitted_project(people["owner"]).review_due_at == beijing(2026, 11, 14)


def test_submission_fails_closed_when_the_calendar_year_is_missing(people, clock):
    owner = people["owner"]
    p = make_project(owner)
    db.session.commit()
    clock.set(beijing(2026, 12, 31, 10))  # + 2 WD reaches 2027, which nobody has loaded
    seq = head_seq()
    with pytest.raises(RuleViolation) as err:
        services.submit_project(owner, p.id)
    assert err.value.code == "calendar.year_missing" and "2027" in err.value.message_zh
    assert not db.session.dirty and not db.session.new and head_seq() == seq
    assert (p.status, p.trade_code, p.review_due_at) == ("draft", None, None)
    assert db.session.get(TradeCodeCounter, (2026, "works")) is None


# --- voluntary entry -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("procedure", ["direct", "selection"])
def test_project_that_need_not_enter_may_register_voluntarily(people, procedure):
    import json
    p = make_project(people["owner"], lots=[{"name": "维修", "budget_fen": 15 * WAN}], procedure=procedure)
    assert p.route["must_enter"] is False and "route.voluntary" in [r["code"] for r in p.route["reasons"]]
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "project.registered")).scalar_one()
    assert json.loads(entry.body)["payload"]["voluntary"] is True


def test_direct_is_refused_when_entry_is_required(people):
    with pytest.raises(RuleViolation) as err:
        make_project(people["owner"], procedure="direct")
    assert err.value.code == "project.procedure_not_allowed" and "县公共资源交易目录" in err.value.message_zh \
        and "rules.md" not in err.value.message_zh


def test_submission_rechecks_the_route_with_current_settings(people):
    owner = people["owner"]
    p = make_project(owner, lots=[{"name": "维修", "budget_fen": 30 * WAN}])
    update_setting(people["admin"], "routing.tender_works_fen", 30 * WAN)
    owner.cache.clear()  # a new request reads the settings afresh
    with pytest.raises(RuleViolation) as err:
        services.submit_project(owner, p.id)
    assert err.value.code == "project.procedure_not_allowed" and err.value.details["allowed"] == ["tender"]


# --- agency and visibility -------------------------------------------------------------------------------------
def test_agency_registers_for_an_owner(people):
    agency, owner = people["agency"], people["owner"]
    p = make_project(agency, owner_org_id=people["owner_org"].id)
    assert (p.owner_org_id, p.agency_org_id) == (people["owner_org"].id, agency.actor.org_id)
    assert services.get_visible_project(owner, p.id) is p
    services.submit_project(agency, p.id)
    assert p.status == "submitted"
    other_agency = actor_ctx(db.session, agency.clock, make_user(agency, "agency"))
    with pytest.raises(NotFound):
        services.get_visible_project(other_agency, p.id)


@pytest.mark.parametrize("who,status,visible", [
    ("owner", "draft", True), ("other_owner", "draft", False), ("agency", "draft", False),
    ("operator", "draft", False), ("operator", "submitted", True), ("supervisor", "draft", True),
    ("bidder", "submitted", False), ("admin", "submitted", False), ("other_owner", "accepted", False),
])
def test_visibility(people, who, status, visible):
    owner, op = people["owner"], people["operator"]
    p = {"draft": make_project, "submitted": submitted_project}.get(status, lambda c: accepted_project(c, op))(owner)
    if visible:
        assert services.get_visible_project(people[who], p.id) is p
    else:
        with pytest.raises(NotFound) as err:
            services.get_visible_project(people[who], p.id)
        assert err.value.code == "not_found"
    listed = [x.id for x in queries.projects_for(people[who]).items]
    assert (p.id in listed) is visible


def test_lists_filter_and_page(people):
    owner, op = people["owner"], people["operator"]
    drafts = [make_project(owner) for _ in range(3)]
    subs = [submitted_project(owner) for _ in range(2)]
    page = queries.projects_for(owner, per_page=2)
    assert (page.total, page.pages, page.has_next, page.has_prev) == (5, 3, True, False)
    assert [p.id for p in page.items] == [subs[1].id, subs[0].id]
    assert queries.projects_for(owner, status="draft").total == 3
    queue = queries.projects_for(op, status="submitted")
    assert [p.id for p in queue.items] == [subs[0].id, subs[1].id]
    assert queries.projects_for(op).total == 2 and drafts
    assert queries.status_counts(owner) == {"draft": 3, "submitted": 2}


# --- bad input changes nothing ----------------------------------------------------------------------------------
BAD_REGISTRATIONS = [
    (dict(name=""), "project.name_required", "name"),
    (dict(name="长" * 101), "project.name_too_long", "name"),
    (dict(approval_number=""), "project.approval_number_required", "approval_number"),
    (dict(approval_number="号" * 61), "project.approval_number_too_long", "approval_number"),
    (dict(approval_department="局" * 61), "project.approval_department_too_long", "approval_department"),
    (dict(category="road"), "project.bad_category", "category"),
    (dict(owner_type="ngo"), "project.bad_owner_type", "owner_type"),
    (dict(funding_source="loan"), "project.bad_funding_source", "funding_source"),
    (dict(procedure="lottery"), "project.bad_procedure", "procedure"),
    (dict(fiscal_share_bp=10001), "project.bad_fiscal_share", "fiscal_share_bp"),
    (dict(fiscal_share_bp=-1), "project.bad_fiscal_share", "fiscal_share_bp"),
    (dict(fiscal_share_bp=12.5), "project.bad_fiscal_share", "fiscal_share_bp"),
    (dict(funding_source="fiscal_county", fiscal_share_bp=0), "project.fiscal_share_missing", "fiscal_share_bp"),
    (dict(total_investment_fen=-100), "money.negative", "total_investment_fen"),
    (dict(total_investment_fen=1500000.5), "money.not_integer_fen", "total_investment_fen"),
    (dict(total_investment_fen="1500000"), "money.not_integer_fen", "total_investment_fen"),
    (dict(total_investment_fen=79 * WAN), "project.investment_below_budget", "total_investment_fen"),
    (dict(combined_total_fen=10 * WAN), "project.combined_below_budget", "combined_total_fen"),
    (dict(lots=[]), "project.lots_required", "lots"),
    (dict(lots=[{"name": f"{i}标段", "budget_fen": WAN} for i in range(21)]), "project.too_many_lots", "lots"),
    (dict(lots=[{"name": " ", "budget_fen": WAN}]), "project.lot_name_required", "lots-0-name"),
    (dict(lots=[{"name": "一", "budget_fen": 30 * WAN}, {"name": "长" * 101, "budget_fen": WAN}]),
     "project.lot_name_too_long", "lots-1-name"),
    (dict(lots=[{"name": "一", "budget_fen": 0}]), "money.zero", "lots-0-budget"),
    (dict(lots=[{"name": "一", "budget_fen": -5}]), "money.negative", "lots-0-budget"),
    (dict(region_id=99999), "project.bad_region", "region_id"),
    (dict(contact_phone="1" * 21), "project.contact_phone_too_long", "contact_phone"),
    (dict(description="述" * 2001), "project.description_too_long", "description"),
    (dict(procedure="negotiation"), "project.procedure_not_allowed", "procedure"),
    (dict(surprise=1), "project.unknown_field", "surprise"),
]


@pytest.mark.parametrize("bad,code,field", BAD_REGISTRATIONS, ids=[c for _, c, _ in BAD_REGISTRATIONS])
def test_bad_registration_changes_nothing(people, bad, code, field):
    seq, count = head_seq(), db.session.scalar(select(func.count()).select_from(Project))
    with pytest.raises(DomainError) as err:
        services.register_project(people["owner"], **project_fields(people["owner"], **bad))
    assert (err.value.code, err.value.field) == (code, field)
    assert err.value.status in (422,) and err.value.message_zh and err.value.message_en
    assert not db.session.new and head_seq() == seq
    assert db.session.scalar(select(func.count()).select_from(Project)) == count


@pytest.mark.parametrize("who,owner_org,code,error", [
    ("bidder", None, "permission.role_required", Forbidden),
    ("operator", None, "permission.role_required", Forbidden),
    ("supervisor", None, "permission.role_required", Forbidden),
    ("owner", "other", "project.owner_org_not_allowed", Forbidden),
    ("agency", None, "project.owner_org_invalid", InvalidInput),
    ("agency", "bidder_org", "project.owner_org_invalid", InvalidInput),
])
def test_who_may_register(people, who, owner_org, code, error):
    ids = {"other": people["other_owner"].actor.org_id, "bidder_org": people["bidder"].actor.org_id, None: None}
    seq = head_seq()
    with pytest.raises(error) as err:
        make_project(people[who], owner_org_id=ids[owner_org])
    assert err.value.code == code and head_seq() == seq


def _state(p: Project):
    return (p.status, p.version, p.name, p.trade_code, [(lot.name, lot.budget_fen) for lot in p.lots], len(p.reviews))


@pytest.mark.parametrize("case,code", [
    ("stale", "project.stale"),
    ("other_org", "not_found"),
    ("bad_field", "project.name_too_long"),
    ("procedure_not_allowed", "project.procedure_not_allowed"),
    ("update_submitted", "project.not_editable"),
    ("operator_updates", "permission.role_required"),
    ("supervisor_updates", "permission.role_required"),
    ("submit_twice", "project.bad_transition"),
    ("submit_stale", "project.stale"),
    ("return_short_comment", "project.comment_required"),
    ("refuse_no_comment", "project.comment_required"),
    ("owner_accepts", "permission.role_required"),
    ("operator_accepts_draft", "not_found"),
    ("accept_returned", "project.bad_transition"),
    ("bad_prefix", "project.bad_prefix"),
    ("string_id", "not_found"),
])
def test_bad_actions_change_nothing(people, case, code):
    owner, op, sup = people["owner"], people["operator"], people["supervisor"]
    p = make_project(owner)
    if case in ("update_submitted", "submit_twice", "return_short_comment", "refuse_no_comment", "owner_accepts",
                "accept_returned"):
        services.submit_project(owner, p.id)
    if case == "accept_returned":
        services.return_project(op, p.id, "请补充材料后再提交")
    db.session.commit()
    before, seq = _state(p), head_seq()
    calls = {
        "stale": lambda: services.update_project(owner, p.id, expected_version=p.version - 1, name="改"),
        "other_org": lambda: services.update_project(people["other_owner"], p.id, expected_version=p.version, name="改"),
        "bad_field": lambda: services.update_project(owner, p.id, expected_version=p.version, name="长" * 101),
        "procedure_not_allowed": lambda: services.update_project(owner, p.id, expected_version=p.version,
                                                                 procedure="inquiry"),
        "update_submitted": lambda: services.update_project(owner, p.id, expected_version=p.version, name="改"),
        "operator_updates": lambda: services.update_project(op, p.id, expected_version=p.version, name="改"),
        "supervisor_updates": lambda: services.update_project(sup, p.id, expected_version=p.version, name="改"),
        "submit_twice": lambda: services.submit_project(owner, p.id),
        "submit_stale": lambda: services.submit_project(owner, p.id, expected_version=p.version + 1),
        "return_short_comment": lambda: services.return_project(op, p.id, "不行"),
        "refuse_no_comment": lambda: services.refuse_project(op, p.id, ""),
        "owner_accepts": lambda: services.accept_project(owner, p.id),
        "operator_accepts_draft": lambda: services.accept_project(op, p.id),
        "accept_returned": lambda: services.accept_project(op, p.id),
        "bad_prefix": lambda: services.submit_project(owner, p.id, trade_code_prefix="示范"),
        "string_id": lambda: services.submit_project(owner, str(p.id)),
    }
    with pytest.raises(DomainError) as err:
        calls[case]()
    assert err.value.code == code
    assert (err.value.status == 409) is (code in ("project.stale", "project.bad_transition", "project.not_editable"))
    assert not db.session.dirty and not db.session.new and head_seq() == seq
    db.session.rollback()
    assert _state(p) == before and head_seq() == seq


def test_stale_is_a_conflict():
    assert issubclass(Conflict, DomainError) and Conflict.status == 409
