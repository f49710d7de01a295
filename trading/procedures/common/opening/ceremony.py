"""The opening key ceremony at publication (design/sealing.md, "Opening key and custodians", step 1)
and what each custodian holds: its custody list and its sealed share to download. The private key d
exists only inside run_ceremony (split, checked, dropped)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from trading.accounts.models import CustodianKey, User
from trading.accounts.rules import roles_for
from trading.audit.services import record
from trading.core.clock import rfc3339
from trading.core.context import ServiceContext
from trading.core.errors import Forbidden, RuleViolation, not_found
from trading.projects.models import Lot, Project
from trading.reference.settings import get_setting
from trading.sealing import custodian as sealing_custodian
from trading.sealing import shamir

from ..lots import LotStatus, effective_status, get_trade
from ..models import LotTrade
from . import rules
from .models import CustodianShare, OpeningKey


def channel(lot_code: str) -> str:
    return f"hall:{lot_code}"


# --- the ceremony -------------------------------------------------------------------------------------

def _candidates(ctx: ServiceContext, excluded_orgs: set[int]) -> list[rules.Candidate]:
    roles = roles_for("opening.submit_share")
    rows = ctx.session.execute(
        select(CustodianKey.id, User.id, User.org_id)
        .join(User, User.id == CustodianKey.user_id)
        .where(CustodianKey.revoked_at.is_(None), User.is_active.is_(True), User.totp_enabled.is_(True),
               User.role.in_(roles), CustodianKey.org_id == User.org_id,
               User.org_id.not_in(excluded_orgs or {-1}))
        .order_by(CustodianKey.id)).all()
    return [rules.Candidate(user_id=u, org_id=o, key_id=k) for k, u, o in rows]


@dataclass(frozen=True)
class KeySplit:
    """A freshly split opening key: its public values and each custodian's sealed share. d is gone."""
    k: int
    n: int
    public_raw: bytes
    kid: bytes
    commitments: list[bytes]
    #: (x, custodian, the share y_x sealed to the custodian's key with AAD fields (code, x, user id))
    placements: list[tuple[int, rules.Candidate, dict]]

    def audit_payload(self, code: str) -> dict:
        return {"public_key": self.public_raw.hex(), "kid": self.kid.hex(), "k": self.k, "n": self.n,
                "commitments": [c.hex() for c in self.commitments],
                "custodians": [{"x": x, "user_id": p.user_id, "org_id": p.org_id, "key_id": p.key_id}
                               for x, p, _ in self.placements]}


def split_opening_key(ctx: ServiceContext, *, code: str, project: Project) -> KeySplit:
    """The ceremony's core for any sealing scope whose envelopes carry `code` as their lot_id (a lot's
    trade code; a negotiation round's `<lot_code>-R<no>`): choose n custodians at random from at least
    `institutions` organisations (never the project's owner or agency), split d k-of-n, seal each share
    to its custodian's key bound to `code`. Writes nothing; d never leaves this function."""
    k = get_setting(ctx, "opening.custodians_k")
    n = get_setting(ctx, "opening.custodians_n")
    institutions = get_setting(ctx, "opening.custodian_institutions")
    if k > n:
        raise RuleViolation("opening.threshold", f"开标密钥门限 k={k} 大于保管人数 n={n}，请系统管理员调整规则参数",
                            f"Threshold k={k} exceeds n={n}; the administrator must fix the settings")
    excluded = {project.owner_org_id} | ({project.agency_org_id} if project.agency_org_id else set())
    try:
        chosen = rules.pick_custodians(_candidates(ctx, excluded), n=n, k=k, institutions=institutions)
    except rules.CustodianShortage as short:
        m = short.missing
        raise RuleViolation(
            "opening.custodians_unavailable",
            f"标段 {code} 无法生成开标密钥：需要 {n} 名开标密钥保管人，来自至少 {institutions} 个单位"
            f"（每个单位至多 {k - 1} 名，且不含本项目业主和代理机构），当前可用 {m['available_custodians']} 名、"
            f"{m['available_institutions']} 个单位。请交易中心组织操作员、监督人员或评审专家启用双因素认证，"
            "并在“开标密钥保管”页面登记保管口令后，再发布公告。",
            f"Lot {code} cannot get its opening key: it needs {n} custodians from at least "
            f"{institutions} institutions (at most {k - 1} per institution, not the project's owner or agency); "
            f"{m['available_custodians']} custodians in {m['available_institutions']} institutions are available. "
            "The trading centre must have operators, supervisors or experts enable two-factor authentication "
            "and enrol a custodian passphrase on the custody page, then publish again.",
            details={"needed_custodians": n, "needed_institutions": institutions, **m}) from None
    keys = {row.id: row for row in ctx.session.execute(
        select(CustodianKey).where(CustodianKey.id.in_([c.key_id for c in chosen]))).scalars()}
    ceremony = shamir.make_opening_key(k, n)
    placements = []
    for share, person in zip(ceremony.shares, chosen, strict=True):
        blob = sealing_custodian.seal_share(share, bytes(keys[person.key_id].public_raw), lot_code=code,
                                            custodian_id=person.user_id)
        placements.append((share.x, person, blob))
    return KeySplit(k=k, n=n, public_raw=ceremony.public_key_bytes, kid=ceremony.kid,
                    commitments=list(ceremony.commitments), placements=placements)


def run_ceremony(ctx: ServiceContext, trade: LotTrade) -> OpeningKey:
    """Make the lot's opening key (called by lots.on_notice_published in the publish transaction):
    split_opening_key for the lot's trade code, then store Q, kid, the commitments and sealed shares
    and audit the public values. d is never stored."""
    existing = ctx.session.execute(select(OpeningKey).where(OpeningKey.lot_id == trade.lot_id)).scalar_one_or_none()
    if existing is not None:
        return existing
    project = ctx.session.get(Project, trade.project_id)
    split = split_opening_key(ctx, code=trade.lot_code, project=project)
    now = ctx.now()
    entry = record(ctx, "opening.key_ceremony", "lot", trade.lot_id, project_id=trade.project_id,
                   payload={"lot_code": trade.lot_code, **split.audit_payload(trade.lot_code)})
    key = OpeningKey(lot_id=trade.lot_id, public_raw=split.public_raw, kid=split.kid, k=split.k, n=split.n,
                     created_at=now, audit_seq=entry.seq)
    ctx.session.add(key)
    ctx.session.flush()
    ctx.session.add_all([
        CustodianShare(opening_key_id=key.id, x=x, custodian_user_id=p.user_id, custodian_org_id=p.org_id,
                       custodian_key_id=p.key_id, commitment=split.commitments[x - 1], sealed_share=blob,
                       status="held")
        for x, p, blob in split.placements])
    ctx.session.flush()
    return key


def get_opening_key(ctx: ServiceContext, lot_id: int | str) -> OpeningKey:
    """The lot's opening key, by LotTrade.lot_id (int) or lot code (str). Public information."""
    stmt = select(OpeningKey)
    if isinstance(lot_id, str):
        stmt = stmt.join(LotTrade, LotTrade.lot_id == OpeningKey.lot_id).where(LotTrade.lot_code == lot_id)
    else:
        stmt = stmt.where(OpeningKey.lot_id == lot_id)
    key = ctx.session.execute(stmt).scalar_one_or_none()
    if key is None:
        raise not_found("开标密钥", "Opening key")
    return key


# --- custody: what a custodian holds ------------------------------------------------------------------

@dataclass(frozen=True)
class CustodyItem:
    lot_code: str
    lot_name: str
    project_name: str
    x: int
    k: int
    n: int
    status: str             # held | accepted
    lot_status: str         # LotStatus (effective)
    deadline_at: datetime | None
    opening_at: datetime | None
    accepted: int           # shares accepted so far for the lot
    can_submit: bool


def my_custody(ctx: ServiceContext) -> list[CustodyItem]:
    """The shares the acting custodian holds, newest lot first."""
    ctx.require(*roles_for("opening.submit_share"))
    user_id = ctx.actor.user_id
    rows = ctx.session.execute(
        select(CustodianShare, OpeningKey, LotTrade, Lot.name, Project.name)
        .join(OpeningKey, OpeningKey.id == CustodianShare.opening_key_id)
        .join(LotTrade, LotTrade.lot_id == OpeningKey.lot_id)
        .join(Lot, Lot.id == LotTrade.lot_id).join(Project, Project.id == LotTrade.project_id)
        .where(CustodianShare.custodian_user_id == user_id)
        .order_by(LotTrade.deadline_at.desc(), LotTrade.lot_id.desc())).all()
    counts = dict(ctx.session.execute(
        select(CustodianShare.opening_key_id, func.count()).where(
            CustodianShare.opening_key_id.in_([r[1].id for r in rows] or [-1]), CustodianShare.status == "accepted")
        .group_by(CustodianShare.opening_key_id)).all())
    now = ctx.now()
    items = []
    for share, key, trade, lot_name, project_name in rows:
        status = effective_status(trade, now)
        items.append(CustodyItem(
            lot_code=trade.lot_code, lot_name=lot_name, project_name=project_name, x=share.x, k=key.k, n=key.n,
            status=share.status, lot_status=status, deadline_at=trade.deadline_at, opening_at=trade.opening_at,
            accepted=counts.get(key.id, 0),
            can_submit=share.status == "held" and status in (LotStatus.CLOSED, LotStatus.OPENING)))
    return items


def _my_share(ctx: ServiceContext, lot_code: str, *, lock: bool = False) -> tuple[LotTrade, OpeningKey, CustodianShare]:
    trade = get_trade(ctx, lot_code, lock=lock)
    if not trade.sealed:
        raise not_found("标段", "Lot")
    key = get_opening_key(ctx, trade.lot_id)
    share = ctx.session.execute(select(CustodianShare).where(
        CustodianShare.opening_key_id == key.id, CustodianShare.custodian_user_id == ctx.actor.user_id)
    ).scalar_one_or_none()
    if share is None:
        raise Forbidden("opening.not_custodian", f"您不是标段 {lot_code} 的开标密钥保管人",
                        f"You are not a custodian of lot {lot_code}")
    return trade, key, share


def custody_item(ctx: ServiceContext, lot_code: str) -> CustodyItem:
    ctx.require(*roles_for("opening.submit_share"))
    for item in my_custody(ctx):
        if item.lot_code == lot_code:
            return item
    _my_share(ctx, lot_code)  # 404 for an unknown lot, 403 for a lot the caller holds no share of
    raise not_found("标段", "Lot")  # pragma: no cover


def custody_blob(ctx: ServiceContext, lot_code: str) -> dict:
    """The sealed share handed to its custodian, as a JSON document that holds everything needed to
    unseal it offline (with the passphrase): the blob, the HPKE info fields, the custodian key's salt
    and scrypt parameters, the commitment and the lot's opening key. Audited (who took a copy)."""
    ctx.require(*roles_for("opening.submit_share"))
    trade, key, share = _my_share(ctx, lot_code)
    ckey = ctx.session.get(CustodianKey, share.custodian_key_id)
    record(ctx, "opening.share_downloaded", "lot", trade.lot_id, project_id=trade.project_id,
           payload={"lot_code": lot_code, "x": share.x, "custodian_user_id": share.custodian_user_id})
    return {
        "format": "ptbid-custodian-share/v1", "lot_code": lot_code, "x": share.x, "k": key.k, "n": key.n,
        "custodian_user_id": share.custodian_user_id,
        "info": "LP(lot_code) || LP(u16be(x)) || LP(str(custodian_user_id))",
        "sealed_share": share.sealed_share,
        "custodian_key": {"kid": ckey.kid.hex(), "public": bytes(ckey.public_raw).hex(), "salt": bytes(ckey.salt).hex(),
                          "kdf": "scrypt", "kdf_params": ckey.kdf_params,
                          "derivation": "d = int(scrypt(NFC(passphrase), salt, n, r, p, 48)) mod (order-1) + 1"},
        "commitment": bytes(share.commitment).hex(), "opening_key": {"public": bytes(key.public_raw).hex(),
                                                                      "kid": bytes(key.kid).hex()},
        "deadline_at": rfc3339(trade.deadline_at) if trade.deadline_at else None,
    }
