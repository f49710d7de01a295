"""Expert pool services: add, edit, status, relations, unavailable periods, CSV import — each
audited, each refusal leaves nothing behind."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from tests.factories.accounts import actor_ctx, make_org, make_user, valid_credit_code
from tests.factories.experts import make_expert, operator_ctx, valid_id_card
from tests.factories.projects import make_region
from trading.accounts.models import User
from trading.audit.models import AuditEntry
from trading.core.errors import Conflict, Forbidden, InvalidInput
from trading.evaluation.experts import services
from trading.evaluation.experts.models import Expert, ExpertRelation, ExpertSpecialty
from trading.evaluation.experts.services import ExpertIn

HEADER = "账号,姓名,身份证号,工作单位统一社会信用代码,地区代码,职称,高级职称,从业年限,专业代码"


def _count(session, model):
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def _last(session, action):
    body = session.execute(select(AuditEntry.body).where(AuditEntry.action == action)
                           .order_by(AuditEntry.seq.desc())).scalars().first()
    return json.loads(bytes(body))["payload"] if body else None


def test_add_expert_masks_the_id_card_and_audits(ctx, session):
    e = make_expert(ctx, specialties=("gc01", "SZ02"))
    assert e.status == "active" and "********" in e.id_card_masked
    assert [s.code for s in e.specialties] == ["GC01", "SZ02"]
    payload = _last(session, "expert.added")
    assert payload["specialties"] == ["GC01", "SZ02"] and payload["id_card_masked"] == e.id_card_masked
    assert valid_id_card(0)[6:14] not in json.dumps(payload)


def test_only_the_centre_adds_and_only_expert_accounts(ctx, session):
    account = make_user(ctx, "expert")
    data = ExpertIn(name="王五", id_card=valid_id_card(9), employer_org_id=account.org_id, specialties="GC01")
    with pytest.raises(Forbidden):
        services.add_expert(actor_ctx(session, ctx.clock, make_user(ctx, "owner")), account.id, data)
    bidder = make_user(ctx, "bidder")
    with pytest.raises(InvalidInput) as exc:
        services.add_expert(operator_ctx(ctx), bidder.id, data)
    assert exc.value.code == "expert.account_invalid"
    services.add_expert(operator_ctx(ctx), account.id, data)
    with pytest.raises(Conflict):
        services.add_expert(operator_ctx(ctx), account.id, data)
    assert _count(session, Expert) == 1


def test_update_records_old_and_new(ctx, session):
    e = make_expert(ctx, specialties=("GC01",), years=10)
    other = make_org(ctx, "bidder")
    services.update_expert(operator_ctx(ctx), e.id, ExpertIn(
        name=e.name, id_card=e.id_card_masked, employer_org_id=other.id, specialties="GC01;SZ02", years=11,
        title=e.title, senior=True))
    changes = _last(session, "expert.updated")["changes"]
    assert changes["employer_org_id"][1] == other.id and changes["years"] == [10, 11]
    assert changes["specialties"] == [["GC01"], ["GC01", "SZ02"]]
    assert sorted(session.execute(select(ExpertSpecialty.code).where(ExpertSpecialty.expert_id == e.id)).scalars()) \
        == ["GC01", "SZ02"]


def test_suspend_needs_a_reason_and_a_change(ctx, session):
    e = make_expert(ctx)
    op = operator_ctx(ctx)
    with pytest.raises(InvalidInput):
        services.set_expert_status(op, e.id, "suspended", reason=" ")
    with pytest.raises(InvalidInput):
        services.set_expert_status(op, e.id, "retired", reason="x")
    services.set_expert_status(op, e.id, "suspended", reason="连续两次无故缺席")
    assert _last(session, "expert.status_changed") == {"status": ["active", "suspended"], "reason": "连续两次无故缺席"}
    with pytest.raises(Conflict):
        services.set_expert_status(op, e.id, "suspended", reason="again")
    services.set_expert_status(op, e.id, "active", reason="复核恢复")
    assert session.get(Expert, e.id).status == "active"


def test_an_expert_declares_own_relations_but_not_anothers(ctx, session):
    e = make_expert(ctx)
    other = make_expert(ctx)
    me = actor_ctx(session, ctx.clock, session.get(User, e.user_id))
    org = make_org(ctx, "bidder")
    rel = services.declare_relation(me, e.id, org_id=org.id, kind="employment", from_on=date(2018, 1, 1),
                                    to_on=date(2024, 5, 31))
    assert _last(session, "expert.relation_declared")["to_on"] == "2024-05-31"
    with pytest.raises(Conflict):
        services.declare_relation(me, e.id, org_id=org.id, kind="employment", from_on=date(2018, 1, 1))
    with pytest.raises(Forbidden):
        services.declare_relation(me, other.id, org_id=org.id, kind="other")
    with pytest.raises(Forbidden):
        services.withdraw_relation(me, rel.id, reason="填错")
    services.withdraw_relation(operator_ctx(ctx), rel.id, reason="填错单位")
    assert session.get(ExpertRelation, rel.id).withdrawn_at is not None
    with pytest.raises(Conflict):
        services.withdraw_relation(operator_ctx(ctx), rel.id, reason="again")
    services.declare_unavailable(me, e.id, date(2026, 12, 1), date(2026, 12, 3), "出差")
    assert _last(session, "expert.unavailable_declared")["end_on"] == "2026-12-03"


def _import_file(ctx, n=3, bad_line=None):
    employer = make_org(ctx, "expert_employer", credit_code=valid_credit_code(4242))
    region = make_region(ctx, "511000", "城区", "County seat")
    lines = [HEADER]
    for i in range(n):
        account = make_user(ctx, "expert", username=f"imp{i}.expert")
        lines.append(f"{account.username},专家{i},{valid_id_card(100 + i)},{employer.credit_code},{region.code},"
                     f"工程师,{'是' if i % 2 else '否'},{8 + i},GC01;SZ0{i}")
    if bad_line is not None:
        lines.append(bad_line)
    return "\n".join(lines).encode("utf-8")


def test_csv_import_adds_every_row_with_one_audit_entry(ctx, session):
    experts = services.import_experts(operator_ctx(ctx), _import_file(ctx), "pool.csv")
    assert len(experts) == 3 and _count(session, Expert) == 3
    payload = _last(session, "expert.imported")
    assert payload["rows"] == 3 and payload["expert_ids"] == [e.id for e in experts]
    assert _count(session, ExpertSpecialty) == 6


@pytest.mark.parametrize("bad, column", [
    ("nobody.here,某,{card},{code},,,否,5,GC01", "账号"),
    ("imp0.expert,重复,{card},{code},,,否,5,GC01", "账号"),
    ("imp9.x,某,{card},915101009999999990,,,否,5,GC01", "工作单位统一社会信用代码"),
])
def test_csv_import_is_all_or_nothing(ctx, session, bad, column):
    data = _import_file(ctx, bad_line=bad.format(card=valid_id_card(300), code=valid_credit_code(4242)))
    op = operator_ctx(ctx)
    before = _count(session, AuditEntry)
    with pytest.raises(InvalidInput) as exc:
        services.import_experts(op, data)
    assert exc.value.code == "expert.import_invalid"
    errors = exc.value.details["errors"]
    assert column in [e[1] for e in errors] and {e[0] for e in errors} == {5}
    assert _count(session, Expert) == 0 and _count(session, AuditEntry) == before


def test_an_already_pooled_account_is_a_line_error(ctx, session):
    data = _import_file(ctx, n=2)
    services.import_experts(operator_ctx(ctx), data)
    with pytest.raises(InvalidInput) as exc:
        services.import_experts(operator_ctx(ctx), data)
    assert {e[0] for e in exc.value.details["errors"]} == {2, 3}
    assert _count(session, Expert) == 2
