"""Expert pool services: add, edit, suspend/blacklist/reinstate an expert, declare or withdraw a
relation, declare unavailable periods, bulk-load from CSV. Every change is audited in the same
transaction; a refused call writes nothing. The pool is the centre's (operator, action
expert.manage); an expert may declare their own relations and unavailable periods.

Imports: core, audit, accounts, reference, this package."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from trading.accounts.models import Organisation, User
from trading.accounts.rules import Role, roles_for
from trading.audit.services import diff, record
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, Forbidden, InvalidInput, not_found
from trading.reference.models import Region

from . import rules
from .models import Expert, ExpertRelation, ExpertSpecialty, ExpertUnavailable
from .rules import ExpertStatus


def _manage(ctx: ServiceContext) -> None:
    ctx.require(*roles_for("expert.manage"))


def get_expert(ctx: ServiceContext, expert_id: int, *, lock: bool = False) -> Expert:
    stmt = select(Expert).where(Expert.id == expert_id)
    if lock:
        stmt = stmt.with_for_update()
    expert = ctx.session.execute(stmt).scalar_one_or_none()
    if expert is None:
        raise not_found("专家", "Expert")
    return expert


def _self_or_manager(ctx: ServiceContext, expert: Expert) -> None:
    if ctx.actor.has(*roles_for("expert.manage")):
        return
    if ctx.actor.has(Role.EXPERT) and ctx.actor.user_id == expert.user_id:
        return
    raise Forbidden("permission.role_required", "当前账号无权执行此操作", "Your account may not perform this action")


def _text(value: str | None, code: str, zh: str, en: str, *, maximum: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(code + "_required", f"请填写{zh}", f"The {en} is required", field=code.rpartition(".")[2])
    if len(value) > maximum:
        raise InvalidInput(code + "_too_long", f"{zh}不超过 {maximum} 个字符", f"The {en} has at most {maximum} characters",
                           field=code.rpartition(".")[2])
    return value


def _check_refs(ctx: ServiceContext, employer_org_id: int, region_id: int | None) -> None:
    if ctx.session.get(Organisation, employer_org_id) is None:
        raise InvalidInput("expert.employer_unknown", "工作单位不存在", "Unknown employer", field="employer_org_id")
    if region_id is not None and ctx.session.get(Region, region_id) is None:
        raise InvalidInput("expert.region_unknown", "地区不存在", "Unknown region", field="region_id")


def _check_account(ctx: ServiceContext, user_id: int) -> User:
    user = ctx.session.get(User, user_id)
    if user is None or user.role != Role.EXPERT:
        raise InvalidInput("expert.account_invalid", "须选择角色为“评审专家”的账号", "Choose an account of role Expert",
                           field="user_id")
    if ctx.session.execute(select(Expert.id).where(Expert.user_id == user_id)).first():
        raise Conflict("expert.account_taken", "该账号已在专家库中", "This account is already in the pool", field="user_id")
    return user


@dataclass(frozen=True)
class ExpertIn:
    name: str
    id_card: str
    employer_org_id: int
    specialties: tuple[str, ...] | str
    region_id: int | None = None
    title: str = ""
    senior: bool = False
    years: int = 0


def _clean(data: ExpertIn) -> dict:
    return {"name": _text(data.name, "expert.name", "姓名", "name", maximum=40),
            "id_card_masked": rules.mask_id_card(data.id_card),
            "employer_org_id": data.employer_org_id, "region_id": data.region_id,
            "title": _text(data.title, "expert.title", "职称", "title", maximum=40, required=False),
            "senior": bool(data.senior), "years": rules.check_years(data.years),
            "specialties": rules.parse_specialties(data.specialties)}


def add_expert(ctx: ServiceContext, user_id: int, data: ExpertIn) -> Expert:
    """Put an expert account into the pool (status active)."""
    _manage(ctx)
    fields = _clean(data)
    _check_account(ctx, user_id)
    _check_refs(ctx, fields["employer_org_id"], fields["region_id"])
    return _insert(ctx, user_id, fields)


def _insert(ctx: ServiceContext, user_id: int, fields: dict, *, audit: bool = True) -> Expert:
    now = ctx.now()
    codes = fields.pop("specialties")
    expert = Expert(user_id=user_id, status=ExpertStatus.ACTIVE.value, created_at=now, updated_at=now, **fields)
    ctx.session.add(expert)
    ctx.session.flush()
    ctx.session.add_all(ExpertSpecialty(expert_id=expert.id, code=c) for c in codes)
    if audit:
        record(ctx, "expert.added", "expert", expert.id,
               payload={**{k: v for k, v in fields.items()}, "user_id": user_id, "specialties": list(codes)})
    return expert


def _codes(ctx: ServiceContext, expert_id: int) -> list[str]:
    return list(ctx.session.execute(select(ExpertSpecialty.code).where(ExpertSpecialty.expert_id == expert_id)
                                    .order_by(ExpertSpecialty.code)).scalars())


def update_expert(ctx: ServiceContext, expert_id: int, data: ExpertIn) -> Expert:
    """Edit the pool record; the audit entry records old → new for every changed field."""
    _manage(ctx)
    expert = get_expert(ctx, expert_id, lock=True)
    fields = _clean(data)
    _check_refs(ctx, fields["employer_org_id"], fields["region_id"])
    new_codes = list(fields.pop("specialties"))
    old = {k: getattr(expert, k) for k in fields} | {"specialties": _codes(ctx, expert.id)}
    changes = diff(old, fields | {"specialties": new_codes})
    if not changes:
        return expert
    for k, v in fields.items():
        setattr(expert, k, v)
    if "specialties" in changes:
        for row in ctx.session.execute(select(ExpertSpecialty).where(ExpertSpecialty.expert_id == expert.id)).scalars():
            if row.code not in new_codes:
                ctx.session.delete(row)  # the set is the current one; the audit entry keeps the old set
        ctx.session.add_all(ExpertSpecialty(expert_id=expert.id, code=c) for c in new_codes if c not in old["specialties"])
    expert.updated_at = ctx.now()
    ctx.session.flush()
    record(ctx, "expert.updated", "expert", expert.id, payload={"changes": changes})
    return expert


def set_expert_status(ctx: ServiceContext, expert_id: int, status: str, *, reason: str) -> Expert:
    """Suspend (暂停), blacklist (禁入) or reinstate an expert; a reason is required."""
    _manage(ctx)
    status = rules.check_status(status)
    reason = _text(reason, "expert.reason", "原因", "reason", maximum=200)
    expert = get_expert(ctx, expert_id, lock=True)
    if expert.status == status:
        raise Conflict("expert.status_same", "专家已是该状态", "The expert already has this status", field="status")
    old = expert.status
    expert.status, expert.status_reason, expert.updated_at = status, reason, ctx.now()
    ctx.session.flush()
    record(ctx, "expert.status_changed", "expert", expert.id, payload={"status": [old, status], "reason": reason})
    return expert


def declare_relation(ctx: ServiceContext, expert_id: int, *, org_id: int, kind: str, from_on: date | None = None,
                     to_on: date | None = None, note: str = "") -> ExpertRelation:
    """关联关系: the expert (or the centre) declares a relation with an organisation."""
    expert = get_expert(ctx, expert_id)
    _self_or_manager(ctx, expert)
    kind = rules.check_relation(kind, from_on, to_on)
    note = _text(note, "expert.note", "说明", "note", maximum=200, required=False)
    if ctx.session.get(Organisation, org_id) is None:
        raise InvalidInput("expert.relation_org", "关联单位不存在", "Unknown organisation", field="org_id")
    dup = ctx.session.execute(select(ExpertRelation.id).where(
        ExpertRelation.expert_id == expert.id, ExpertRelation.org_id == org_id, ExpertRelation.kind == kind,
        ExpertRelation.withdrawn_at.is_(None))).first()
    if dup:
        raise Conflict("expert.relation_exists", "已申报该关联关系", "This relation is already declared", field="org_id")
    rel = ExpertRelation(expert_id=expert.id, org_id=org_id, kind=kind, from_on=from_on, to_on=to_on, note=note,
                         declared_at=ctx.now())
    ctx.session.add(rel)
    ctx.session.flush()
    record(ctx, "expert.relation_declared", "expert", expert.id,
           payload={"relation_id": rel.id, "org_id": org_id, "kind": kind,
                    "from_on": from_on.isoformat() if from_on else None, "to_on": to_on.isoformat() if to_on else None})
    return rel


def withdraw_relation(ctx: ServiceContext, relation_id: int, *, reason: str) -> ExpertRelation:
    """A declaration made in error is withdrawn (kept, marked); only the centre may do it."""
    _manage(ctx)
    reason = _text(reason, "expert.reason", "原因", "reason", maximum=200)
    rel = ctx.session.get(ExpertRelation, relation_id)
    if rel is None:
        raise not_found("关联关系", "Relation")
    if rel.withdrawn_at is not None:
        raise Conflict("expert.relation_withdrawn", "该关联关系已撤回", "The relation was already withdrawn")
    rel.withdrawn_at = ctx.now()
    ctx.session.flush()
    record(ctx, "expert.relation_withdrawn", "expert", rel.expert_id,
           payload={"relation_id": rel.id, "reason": reason})
    return rel


def declare_unavailable(ctx: ServiceContext, expert_id: int, start_on: date, end_on: date,
                        reason: str = "") -> ExpertUnavailable:
    expert = get_expert(ctx, expert_id)
    _self_or_manager(ctx, expert)
    rules.check_period(start_on, end_on)
    reason = _text(reason, "expert.reason", "原因", "reason", maximum=100, required=False)
    row = ExpertUnavailable(expert_id=expert.id, start_on=start_on, end_on=end_on, reason=reason, created_at=ctx.now())
    ctx.session.add(row)
    ctx.session.flush()
    record(ctx, "expert.unavailable_declared", "expert", expert.id,
           payload={"start_on": start_on.isoformat(), "end_on": end_on.isoformat(), "reason": reason})
    return row


# --- CSV bulk load -------------------------------------------------------------------------------

MAX_IMPORT_BYTES = 10 * 1024 * 1024


def _lookup(ctx: ServiceContext, model_col, key_col, values: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    items = sorted(values)
    for i in range(0, len(items), 500):
        found.update(ctx.session.execute(select(key_col, model_col).where(key_col.in_(items[i:i + 500]))).tuples().all())
    return found


def import_experts(ctx: ServiceContext, data: bytes, filename: str = "experts.csv") -> list[Expert]:
    """Load experts from CSV (columns: rules.COLUMNS). Every line is checked first — syntax, then the
    accounts (existing, role Expert, not yet in the pool), employers and regions — and the file is
    refused with every line error, nothing written; otherwise all rows are added and one audit entry
    lists them."""
    _manage(ctx)
    if not data:
        raise InvalidInput("expert.import_empty", "请选择专家名单文件（CSV）", "Choose a CSV file", field="file")
    if len(data) > MAX_IMPORT_BYTES:
        raise InvalidInput("expert.import_too_large", "文件超过 10 MiB，请拆分后导入", "The file is larger than 10 MiB",
                           field="file")
    try:
        rows = rules.parse_expert_csv(bytes(data))
        resolved = _resolve_rows(ctx, rows)
    except rules.LineErrors as errs:
        raise errs.as_invalid_input() from None
    experts = [_insert(ctx, user_id, fields, audit=False) for user_id, fields in resolved]
    record(ctx, "expert.imported", "expert_import", None,
           payload={"filename": (filename or "")[:200], "rows": len(experts),
                    "expert_ids": [e.id for e in experts]})
    return experts


def _resolve_rows(ctx: ServiceContext, rows: list[rules.ExpertRow]) -> list[tuple[int, dict]]:
    names = sorted({r.username for r in rows})
    users: dict[str, User] = {}
    for i in range(0, len(names), 500):
        users.update((u.username, u) for u in ctx.session.execute(
            select(User).where(User.username.in_(names[i:i + 500]))).scalars())
    in_pool = set(ctx.session.execute(select(Expert.user_id)).scalars())
    orgs = _lookup(ctx, Organisation.id, Organisation.credit_code, {r.employer_credit_code for r in rows})
    regions = _lookup(ctx, Region.id, Region.code, {r.region_code for r in rows if r.region_code})
    errs = rules.LineErrors()
    out = []
    for r in rows:
        user = users.get(r.username)
        if user is None or user.role != Role.EXPERT:
            errs.add(r.line, rules.COLUMNS["username"], "账号不存在或不是评审专家账号", "no expert account of that name")
        elif user.id in in_pool:
            errs.add(r.line, rules.COLUMNS["username"], "该账号已在专家库中", "the account is already in the pool")
        if r.employer_credit_code not in orgs:
            errs.add(r.line, rules.COLUMNS["employer"], "平台上没有该单位", "no organisation with that code")
        if r.region_code and r.region_code not in regions:
            errs.add(r.line, rules.COLUMNS["region"], "地区代码不存在", "unknown region code")
        if not errs.errors and user is not None:
            out.append((user.id, {"name": r.name, "id_card_masked": r.id_card_masked,
                                  "employer_org_id": orgs[r.employer_credit_code],
                                  "region_id": regions.get(r.region_code) if r.region_code else None,
                                  "title": r.title, "senior": r.senior, "years": r.years,
                                  "specialties": r.specialties}))
    if errs.errors:
        raise errs
    return out
