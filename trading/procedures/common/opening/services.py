"""The opening (开标): the key ceremony at publication, custodians' share submission after the deadline,
opening every accepted envelope at k valid shares, the opening record (开标记录), bidders' confirmations
and disputes, and 流标 (design/sealing.md, "Opening key and custodians"; rules.md §2.3).

The opening key's private half d exists only inside `run_ceremony` (split, then dropped) and inside
`open_lot` (rebuilt from k accepted shares, used, dropped); it is never stored or logged. Accepted
share values are wiped as soon as the lot is opened.

Refused share submissions are evidence (who tried, when, from where): the service records them and then
raises ShareRefused; the web layer commits that record before answering 422 (see api/opening.py)."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update

from trading.accounts import custodians as custody
from trading.accounts.models import CustodianKey, Organisation, SigningKey, User
from trading.accounts.rules import roles_for
from trading.accounts.services import current_user_row
from trading.audit.services import record
from trading.core import blobs
from trading.core.clock import rfc3339
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, Forbidden, InvalidInput, RuleViolation, Throttled, not_found
from trading.core.events import publish
from trading.core.money import format_yuan, to_capitals
from trading.projects.models import Lot, Project
from trading.reference.settings import get_setting
from trading.sealing import custodian as sealing_custodian
from trading.sealing import envelope, shamir
from trading.sealing.failures import EnvelopeError

from ..lots import LotStatus, effective_status, get_trade
from ..models import LotTrade
from ..participation.models import Submission
from . import rules
from .models import CustodianShare, OpeningKey, OpeningRecord, OpeningResult, RecordResponse, ShareAttempt

#: wrong passphrases (or shares) per custodian share within the window before further attempts wait
MAX_WRONG_ATTEMPTS = 5
WRONG_WINDOW_MINUTES = 15


class ShareRefused(RuleViolation):
    """A share submission refused after its attempt was recorded (commit before answering)."""

    def __init__(self, code: str, zh: str, en: str, *, details: dict | None = None, status: int = 422):
        super().__init__(code, zh, en, details=details)
        self.status = status


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


def run_ceremony(ctx: ServiceContext, trade: LotTrade) -> OpeningKey:
    """Make the lot's opening key (called by lots.on_notice_published in the publish transaction):
    choose n custodians at random from at least `institutions` organisations (never the project's
    owner or agency), split d k-of-n, seal each share to its custodian's key, store Q, kid, the
    commitments and sealed shares, audit the public values. d is never stored."""
    existing = ctx.session.execute(select(OpeningKey).where(OpeningKey.lot_id == trade.lot_id)).scalar_one_or_none()
    if existing is not None:
        return existing
    k = get_setting(ctx, "opening.custodians_k")
    n = get_setting(ctx, "opening.custodians_n")
    institutions = get_setting(ctx, "opening.custodian_institutions")
    if k > n:
        raise RuleViolation("opening.threshold", f"开标密钥门限 k={k} 大于保管人数 n={n}，请系统管理员调整规则参数",
                            f"Threshold k={k} exceeds n={n}; the administrator must fix the settings")
    project = ctx.session.get(Project, trade.project_id)
    excluded = {project.owner_org_id} | ({project.agency_org_id} if project.agency_org_id else set())
    try:
        chosen = rules.pick_custodians(_candidates(ctx, excluded), n=n, k=k, institutions=institutions)
    except rules.CustodianShortage as short:
        m = short.missing
        raise RuleViolation(
            "opening.custodians_unavailable",
            f"标段 {trade.lot_code} 无法生成开标密钥：需要 {n} 名开标密钥保管人，来自至少 {institutions} 个单位"
            f"（每个单位至多 {k - 1} 名，且不含本项目业主和代理机构），当前可用 {m['available_custodians']} 名、"
            f"{m['available_institutions']} 个单位。请交易中心组织操作员、监督人员或评审专家启用双因素认证，"
            "并在“开标密钥保管”页面登记保管口令后，再发布公告。",
            f"Lot {trade.lot_code} cannot get its opening key: it needs {n} custodians from at least "
            f"{institutions} institutions (at most {k - 1} per institution, not the project's owner or agency); "
            f"{m['available_custodians']} custodians in {m['available_institutions']} institutions are available. "
            "The trading centre must have operators, supervisors or experts enable two-factor authentication "
            "and enrol a custodian passphrase on the custody page, then publish again.",
            details={"needed_custodians": n, "needed_institutions": institutions, **m}) from None
    keys = {row.id: row for row in ctx.session.execute(
        select(CustodianKey).where(CustodianKey.id.in_([c.key_id for c in chosen]))).scalars()}
    ceremony = shamir.make_opening_key(k, n)
    sealed = []
    for share, person in zip(ceremony.shares, chosen, strict=True):
        blob = sealing_custodian.seal_share(share, bytes(keys[person.key_id].public_raw), lot_code=trade.lot_code,
                                            custodian_id=person.user_id)
        sealed.append((share.x, person, blob))
    now = ctx.now()
    entry = record(ctx, "opening.key_ceremony", "lot", trade.lot_id, project_id=trade.project_id, payload={
        "lot_code": trade.lot_code, "public_key": ceremony.public_key_bytes.hex(), "kid": ceremony.kid.hex(),
        "k": k, "n": n, "commitments": [c.hex() for c in ceremony.commitments],
        "custodians": [{"x": x, "user_id": p.user_id, "org_id": p.org_id, "key_id": p.key_id}
                       for x, p, _ in sealed]})
    key = OpeningKey(lot_id=trade.lot_id, public_raw=ceremony.public_key_bytes, kid=ceremony.kid, k=k, n=n,
                     created_at=now, audit_seq=entry.seq)
    ctx.session.add(key)
    ctx.session.flush()
    ctx.session.add_all([
        CustodianShare(opening_key_id=key.id, x=x, custodian_user_id=p.user_id, custodian_org_id=p.org_id,
                       custodian_key_id=p.key_id, commitment=ceremony.commitments[x - 1], sealed_share=blob,
                       status="held")
        for x, p, blob in sealed])
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


# --- share submission ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShareOutcome:
    lot_code: str
    x: int
    accepted: int
    k: int
    n: int
    opened: bool
    lot_status: str


def _attempt(ctx: ServiceContext, trade: LotTrade, share: CustodianShare, outcome: str, detail: str) -> None:
    ctx.session.add(ShareAttempt(lot_id=trade.lot_id, custodian_share_id=share.id, user_id=ctx.actor.user_id,
                                 at=ctx.now(), ip=(ctx.ip or "")[:45], outcome=outcome, detail=detail[:200]))
    action = "opening.share_accepted" if outcome == "accepted" else "opening.share_refused"
    record(ctx, action, "lot", trade.lot_id, project_id=trade.project_id,
           payload={"lot_code": trade.lot_code, "x": share.x, "custodian_user_id": share.custodian_user_id,
                    "custodian_org_id": share.custodian_org_id, "outcome": outcome, "detail": detail,
                    "commitment": bytes(share.commitment).hex()})
    ctx.session.flush()


def submit_share(ctx: ServiceContext, lot_code: str, passphrase: str) -> ShareOutcome:
    """A custodian (two-factor enabled) unseals its share with its passphrase after the deadline; the
    share is checked against its commitment. A refused attempt is recorded and attributed, then
    ShareRefused is raised; at k accepted shares the lot is opened (open_lot) in the same transaction."""
    ctx.require(*roles_for("opening.submit_share"))
    user = current_user_row(ctx)
    if not user.totp_enabled:
        raise Forbidden("opening.two_factor_required", "提交密钥份额须先启用双因素认证",
                        "Enable two-factor authentication before submitting a share")
    if not isinstance(passphrase, str) or not passphrase:
        raise InvalidInput("opening.passphrase_required", "请输入保管口令", "Enter your custodian passphrase",
                           field="passphrase")
    trade, key, share = _my_share(ctx, lot_code, lock=True)
    now = ctx.now()
    status = effective_status(trade, now)
    if status == LotStatus.ACCEPTING:
        _attempt(ctx, trade, share, "too_early", "submitted before the deadline")
        raise ShareRefused("opening.too_early", "投标截止时间（服务器时间）之前不能提交密钥份额",
                           "Shares cannot be submitted before the deadline (server time)",
                           details={"deadline_at": rfc3339(trade.deadline_at), "server_now": rfc3339(now)})
    if status not in (LotStatus.CLOSED, LotStatus.OPENING):
        raise Conflict("opening.not_open", "该标段已开标、流标或终止，不再接收密钥份额",
                       "The lot is opened, failed or terminated; no more shares are taken")
    if share.status == "accepted":
        raise Conflict("opening.share_already_accepted", "您的密钥份额已被接受，无需重复提交",
                       "Your share was already accepted")
    refused = ctx.session.execute(select(func.count()).select_from(ShareAttempt).where(
        ShareAttempt.custodian_share_id == share.id, ShareAttempt.outcome.in_(("wrong_passphrase", "bad_share")),
        ShareAttempt.at > now - timedelta(minutes=WRONG_WINDOW_MINUTES))).scalar_one()
    if refused >= MAX_WRONG_ATTEMPTS:
        raise Throttled("opening.share_throttled",
                        f"保管口令连续错误 {refused} 次，请 {WRONG_WINDOW_MINUTES} 分钟后再试，或联系开标主持人",
                        f"{refused} wrong attempts in a row; try again in {WRONG_WINDOW_MINUTES} minutes or "
                        "contact the host", details={"x": share.x})
    ckey = ctx.session.get(CustodianKey, share.custodian_key_id)
    material = custody.custodian_material(ckey)
    try:
        value = sealing_custodian.unseal_share(share.sealed_share, passphrase, material, lot_code=trade.lot_code,
                                               index=share.x, custodian_id=share.custodian_user_id)
    except sealing_custodian.ShareBlobRefused as exc:
        wrong_pass = not sealing_custodian.passphrase_matches(passphrase, material)
        outcome = "wrong_passphrase" if wrong_pass else "bad_share"
        _attempt(ctx, trade, share, outcome, str(exc))
        if wrong_pass:
            raise ShareRefused("opening.wrong_passphrase",
                               f"保管口令错误：保管人 {share.x}（{user.display_name}）的份额未被接受，本次尝试已记录",
                               f"Wrong passphrase: custodian {share.x} ({user.display_name})'s share was not "
                               "accepted; the attempt is recorded", details={"x": share.x}) from None
        raise ShareRefused("opening.share_rejected",
                           f"保管人 {share.x}（{user.display_name}）的密钥份额无法解封，已拒绝并记录",
                           f"Custodian {share.x} ({user.display_name})'s share does not unseal; refused and "
                           "recorded", details={"x": share.x}) from None
    except sealing_custodian.ShareBlobError as exc:
        _attempt(ctx, trade, share, "bad_share", str(exc))
        raise ShareRefused("opening.share_rejected", f"保管人 {share.x} 的密钥份额格式无效，已拒绝并记录",
                           f"Custodian {share.x}'s sealed share is malformed; refused and recorded",
                           details={"x": share.x}) from None
    if not shamir.verify_share(value, bytes(share.commitment)):
        _attempt(ctx, trade, share, "bad_share", "the share does not match its published commitment")
        raise ShareRefused("opening.share_rejected",
                           f"保管人 {share.x}（{user.display_name}）的密钥份额与公布的承诺值不符，已拒绝并记录",
                           f"Custodian {share.x} ({user.display_name})'s share does not match its published "
                           "commitment; refused and recorded", details={"x": share.x})
    share.status, share.accepted_at = "accepted", now
    share.accepted_y = value.y.to_bytes(32, "big")
    del value
    _attempt(ctx, trade, share, "accepted", "share matches its commitment")
    if trade.status != LotStatus.OPENING:
        trade.status, trade.status_changed_at = LotStatus.OPENING, now
        publish(ctx, channel(lot_code), "opening:stage", {"stage": "custody"})
    accepted = ctx.session.execute(select(func.count()).select_from(CustodianShare).where(
        CustodianShare.opening_key_id == key.id, CustodianShare.status == "accepted")).scalar_one()
    publish(ctx, channel(lot_code), "custody:progress", {"accepted": accepted, "k": key.k, "n": key.n})
    opened = False
    if accepted >= key.k:
        open_lot(ctx, lot_code)
        opened = True
    return ShareOutcome(lot_code=lot_code, x=share.x, accepted=accepted, k=key.k, n=key.n, opened=opened,
                        lot_status=trade.status)


def share_progress(ctx: ServiceContext, lot_code: str) -> dict:
    """Public progress of the custody stage: {"accepted", "k", "n", "custodians": [{x, org, status}]}."""
    trade = get_trade(ctx, lot_code)
    key = get_opening_key(ctx, trade.lot_id)
    rows = ctx.session.execute(select(CustodianShare.x, CustodianShare.status, Organisation.name)
                               .join(Organisation, Organisation.id == CustodianShare.custodian_org_id)
                               .where(CustodianShare.opening_key_id == key.id).order_by(CustodianShare.x)).all()
    return {"accepted": sum(1 for r in rows if r.status == "accepted"), "k": key.k, "n": key.n,
            "custodians": [{"x": r.x, "org": r.name, "status": r.status} for r in rows]}


# --- opening ------------------------------------------------------------------------------------------

@dataclass
class _Bidder:
    org_id: int
    name: str
    credit_code: str
    first_at: datetime | None = None
    parts: dict[str, dict] = field(default_factory=dict)


def _files_of(plain: bytes) -> list[str] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(plain)) as archive:
            return [info.filename for info in archive.infolist() if not info.is_dir()][:1000]
    except (zipfile.BadZipFile, ValueError, OSError):
        return None


def open_lot(ctx: ServiceContext, lot_code: str) -> OpeningRecord:
    """Rebuild d from k accepted shares, check it against Q, open every accepted envelope (price parts
    first), write the results and the opening record, count valid offers (流标 below the minimum),
    wipe the accepted share values. One transaction; batch queries; one summary audit entry."""
    ctx.require(*(set(roles_for("opening.submit_share")) | set(roles_for("opening.host"))))
    trade = get_trade(ctx, lot_code, lock=True)
    if trade.status != LotStatus.OPENING:
        raise Conflict("opening.not_open", "该标段不在开标阶段", "The lot is not being opened")
    key = get_opening_key(ctx, trade.lot_id)
    shares = list(ctx.session.execute(select(CustodianShare).where(CustodianShare.opening_key_id == key.id)
                                      .order_by(CustodianShare.x)).scalars())
    accepted = sorted((s for s in shares if s.status == "accepted" and s.accepted_y),
                      key=lambda s: (s.accepted_at, s.x))[:key.k]
    if len(accepted) < key.k:
        raise RuleViolation("opening.not_enough_shares", f"已接受 {len(accepted)} 份密钥份额，需要 {key.k} 份",
                            f"{len(accepted)} shares accepted, {key.k} needed")
    commitments = [bytes(s.commitment) for s in shares]
    try:
        private = shamir.rebuild_private_key(
            [(s.x, shamir.Share(s.x, int.from_bytes(s.accepted_y, "big"))) for s in accepted], commitments, key.k,
            bytes(key.public_raw))
    except shamir.ShamirError as exc:  # pragma: no cover - accepted shares were checked one by one
        raise Conflict("opening.key_mismatch", "重建的开标密钥与公布的公钥不符", "The rebuilt key is not the lot's key") from exc
    now = ctx.now()
    chan = channel(lot_code)
    publish(ctx, chan, "opening:stage", {"stage": "decrypting"})

    subs = list(ctx.session.execute(
        select(Submission.submission_id, Submission.bidder_org_id, Submission.part, Submission.manifest,
               Submission.payload_sha256, Submission.payload_len, Submission.signing_key_id, Submission.accepted_at)
        .where(Submission.lot_id == trade.lot_id, Submission.status == "accepted")).all())
    subs.sort(key=lambda s: (0 if s.part == "price" else 1, s.accepted_at or now, s.submission_id))
    total = len(subs)
    publish(ctx, chan, "decrypt:status", {"done": 0, "total": total})
    org_ids = {s.bidder_org_id for s in subs}
    orgs = {o.id: o for o in ctx.session.execute(
        select(Organisation.id, Organisation.name, Organisation.credit_code)
        .where(Organisation.id.in_(org_ids or {-1}))).all()}
    key_rows = {r.id: bytes(r.public_raw) for r in ctx.session.execute(
        select(SigningKey.id, SigningKey.public_raw)
        .where(SigningKey.id.in_({s.signing_key_id for s in subs if s.signing_key_id} or {-1}))).all()}
    signer_cache: dict[int, object] = {}
    store = blobs.get_store() if subs else None
    opening_kid = bytes(key.kid)
    results: list[dict] = []
    bidders: dict[int, _Bidder] = {}
    for sub in subs:
        org = orgs[sub.bidder_org_id]
        bidder = bidders.get(sub.bidder_org_id)
        if bidder is None:
            bidder = bidders[sub.bidder_org_id] = _Bidder(org.id, org.name, org.credit_code)
        row = {"lot_id": trade.lot_id, "submission_id": sub.submission_id, "bidder_org_id": sub.bidder_org_id,
               "part": sub.part, "payload_sha256": sub.payload_sha256 or "", "outcome": "opened",
               "failure_kind": None, "failure_category": None, "consequence": None, "price_fen": None,
               "duration_days": None, "quality": None, "remarks": None, "plaintext_sha256": None,
               "plaintext_len": None, "files": None, "opened_at": now}
        kind = None
        plain = None
        try:
            signer = signer_cache.get(sub.signing_key_id)
            if signer is None:
                signer = signer_cache[sub.signing_key_id] = envelope.load_public(key_rows[sub.signing_key_id])
            payload = store.read(sub.payload_sha256)
            plain = envelope.open_envelope(
                sub.manifest, payload, private, signer_pub=signer, opening_kid=opening_kid,
                expected=envelope.Context(lot_code, org.credit_code, sub.part, sub.submission_id))
        except EnvelopeError as exc:
            kind = exc.kind.value
        except blobs.BlobMissing:
            kind = "platform.blob_missing"
        except (KeyError, ValueError, TypeError):
            kind = "platform.signing_key"
        if kind is None and sub.part == "price":
            try:
                sheet = rules.parse_price_sheet(plain)
                row.update(price_fen=sheet.price_fen, duration_days=sheet.duration_days, quality=sheet.quality,
                           remarks=sheet.remarks)
            except rules.PriceSheetError as exc:
                kind = exc.code
        elif kind is None:
            row.update(plaintext_sha256=store.put_bytes(plain), plaintext_len=len(plain), files=_files_of(plain))
        if kind is not None:
            cause = rules.cause_of(kind)
            row.update(outcome="failed", failure_kind=kind, failure_category=cause.value,
                       consequence=rules.consequence_of(cause).value)
        plain = None
        results.append(row)
        if bidder.first_at is None or (sub.accepted_at and sub.accepted_at < bidder.first_at):
            bidder.first_at = sub.accepted_at
        bidder.parts[sub.part] = row
    del private
    if results:
        ctx.session.execute(insert(OpeningResult), results)
    opened_count = sum(1 for r in results if r["outcome"] == "opened")
    publish(ctx, chan, "decrypt:status", {"done": total, "total": total, "opened": opened_count,
                                          "failed": total - opened_count})

    # wipe the share values: the key cannot be rebuilt again from the database
    ctx.session.execute(update(CustodianShare).where(CustodianShare.opening_key_id == key.id)
                        .values(accepted_y=None))
    body = _record_body(ctx, trade, key, accepted, bidders, now)
    valid = body["valid_offers"]
    outcome = body["outcome"]
    audit_opened = record(ctx, "opening.opened", "lot", trade.lot_id, project_id=trade.project_id, payload={
        "lot_code": lot_code, "kid": opening_kid.hex(), "shares": [s.x for s in accepted],
        "custodians": [s.custodian_user_id for s in accepted], "envelopes": total, "opened": opened_count,
        "failed": total - opened_count,
        "digests": [[r["submission_id"], r["part"], r["payload_sha256"], r["outcome"]] for r in results]})
    digest = rules.record_digest(body)
    minutes = get_setting(ctx, "opening.record_confirm_minutes")
    entry = record(ctx, "opening.record_published", "lot", trade.lot_id, project_id=trade.project_id,
                   payload={"lot_code": lot_code, "sha256": digest, "valid_offers": valid, "outcome": outcome,
                            "opened_seq": audit_opened.seq})
    rec = OpeningRecord(lot_id=trade.lot_id, body=body, sha256=digest, outcome=outcome, valid_offers=valid,
                        created_at=now, respond_until=now + timedelta(minutes=minutes), audit_seq=entry.seq)
    ctx.session.add(rec)
    trade.status = LotStatus.OPENED if outcome == "opened" else LotStatus.FAILED
    trade.status_changed_at = now
    if outcome == "failed":
        record(ctx, "lot.failed", "lot", trade.lot_id, project_id=trade.project_id,
               payload={"lot_code": lot_code, "valid_offers": valid, "min_valid_offers": trade.min_valid_offers,
                        "next_steps": [s["code"] for s in body["next_steps"]]})
    ctx.session.flush()
    publish(ctx, chan, "opening:record", {"record_id": rec.id})
    publish(ctx, chan, "opening:stage", {"stage": outcome})
    return rec


def _record_body(ctx: ServiceContext, trade: LotTrade, key: OpeningKey, accepted: list[CustodianShare],
                 bidders: dict[int, _Bidder], now: datetime) -> dict:
    lot = ctx.session.get(Lot, trade.lot_id)
    project = ctx.session.get(Project, trade.project_id)
    ordered = sorted(bidders.values(), key=lambda b: (b.first_at or now, b.credit_code))
    rows = []
    valid = 0
    for no, b in enumerate(ordered, start=1):
        parts_state = {p: r["outcome"] for p, r in b.parts.items()}
        ok = rules.is_valid_offer(parts_state)
        valid += ok
        price = b.parts.get("price") or {}
        fen = price.get("price_fen")
        rows.append({
            "no": no, "name": b.name, "credit_code": b.credit_code, "valid": ok,
            "price_fen": fen, "price_yuan": format_yuan(fen) if fen is not None else None,
            "price_capitals": to_capitals(fen) if fen is not None else None,
            "duration_days": price.get("duration_days"), "quality": price.get("quality"),
            "remarks": price.get("remarks"),
            "parts": [{"part": p, "submission_id": r["submission_id"], "payload_sha256": r["payload_sha256"],
                       "outcome": r["outcome"], "files": r["files"],
                       "failure": None if r["outcome"] == "opened" else {
                           "kind": r["failure_kind"], "category": r["failure_category"],
                           "consequence": r["consequence"]}}
                      for p, r in sorted(b.parts.items(), key=lambda i: 0 if i[0] == "price" else 1)],
        })
    outcome = "opened" if valid >= trade.min_valid_offers else "failed"
    return {
        "v": 1, "lot_code": trade.lot_code, "lot_name": lot.name, "project_code": project.trade_code,
        "project_name": project.name, "procedure": trade.procedure,
        "deadline_at": rfc3339(trade.deadline_at) if trade.deadline_at else None,
        "opening_at": rfc3339(trade.opening_at) if trade.opening_at else None, "opened_at": rfc3339(now),
        "opening_key": {"kid": bytes(key.kid).hex(), "k": key.k, "n": key.n,
                        "shares": sorted(s.x for s in accepted)},
        "bidders": rows, "valid_offers": valid, "min_valid_offers": trade.min_valid_offers, "outcome": outcome,
        "next_steps": [] if outcome == "opened" else [
            {"code": s.code, "zh": s.zh, "en": s.en, "basis": s.basis} for s in rules.next_steps(trade.procedure)],
    }


# --- the record ---------------------------------------------------------------------------------------

def get_record(ctx: ServiceContext, lot_code: str) -> OpeningRecord:
    """The opening record: public once it exists (招标投标法 Art. 36; 20号令 Art. 32); 404 before."""
    trade = get_trade(ctx, lot_code)
    rec = ctx.session.execute(select(OpeningRecord).where(OpeningRecord.lot_id == trade.lot_id)).scalar_one_or_none()
    if rec is None:
        raise not_found("开标记录", "Opening record")
    return rec


def record_responses(ctx: ServiceContext, record_id: int) -> list[RecordResponse]:
    return list(ctx.session.execute(select(RecordResponse).where(RecordResponse.record_id == record_id)
                                    .order_by(RecordResponse.id)).scalars())


def _bidder_no(rec: OpeningRecord, credit_code: str) -> int | None:
    for row in rec.body.get("bidders", []):
        if row["credit_code"] == credit_code:
            return row["no"]
    return None


def respond_to_record(ctx: ServiceContext, lot_code: str, response: str, reason: str = "") -> RecordResponse:
    """A bidder whose envelope was opened (or failed) confirms or disputes the record, once, within the
    window (setting opening.record_confirm_minutes); a dispute needs a reason."""
    ctx.require(*roles_for("opening.record_respond"))
    rec = get_record(ctx, lot_code)
    org = ctx.session.get(Organisation, ctx.actor.org_id)
    no = _bidder_no(rec, org.credit_code) if org else None
    if no is None:
        raise Forbidden("opening.not_a_bidder", "只有开标记录中的投标人可以确认或提出异议",
                        "Only bidders listed in the opening record may confirm or dispute it")
    if response not in ("confirm", "dispute"):
        raise InvalidInput("opening.response", "请选择确认或异议", "Choose confirm or dispute", field="response")
    reason = (reason or "").strip()
    if response == "dispute" and not reason:
        raise InvalidInput("opening.dispute_reason", "提出异议须写明理由", "A dispute needs a reason", field="reason")
    if len(reason) > 2000:
        raise InvalidInput("opening.reason_too_long", "理由至多 2000 字", "The reason may have at most 2000 characters",
                           field="reason")
    now = ctx.now()
    if not rules.may_respond(now, rec.respond_until):
        raise RuleViolation("opening.response_window_closed", "开标记录确认/异议时限已过",
                            "The window to confirm or dispute the opening record has closed",
                            details={"respond_until": rfc3339(rec.respond_until)})
    existing = ctx.session.execute(select(RecordResponse).where(
        RecordResponse.record_id == rec.id, RecordResponse.bidder_org_id == org.id)).scalar_one_or_none()
    if existing is not None:
        raise Conflict("opening.already_responded", "贵单位已对开标记录作出确认或异议",
                       "Your organisation has already responded to the opening record")
    row = RecordResponse(record_id=rec.id, bidder_org_id=org.id, user_id=ctx.actor.user_id, response=response,
                         reason=reason, at=now, ip=(ctx.ip or "")[:45])
    ctx.session.add(row)
    ctx.session.flush()
    trade = get_trade(ctx, lot_code)
    record(ctx, f"opening.record_{'confirmed' if response == 'confirm' else 'disputed'}", "opening_record", rec.id,
           project_id=trade.project_id,
           payload={"lot_code": lot_code, "bidder_no": no, "org_id": org.id, "record_sha256": rec.sha256,
                    "reason": reason})
    publish(ctx, channel(lot_code), "opening:confirmed" if response == "confirm" else "opening:disputed",
            {"bidder_no": no})
    return row


def reply_to_dispute(ctx: ServiceContext, response_id: int, reply: str) -> RecordResponse:
    """The host answers a dispute on the spot (实施条例 Art. 44)."""
    ctx.require(*roles_for("opening.host"))
    row = ctx.session.get(RecordResponse, response_id)
    if row is None or row.response != "dispute":
        raise not_found("异议", "Dispute")
    reply = (reply or "").strip()
    if not reply:
        raise InvalidInput("opening.reply_required", "请填写答复", "Write a reply", field="reply")
    if row.reply is not None:
        raise Conflict("opening.already_replied", "该异议已答复", "The dispute has been answered")
    row.reply, row.replied_by, row.replied_at = reply[:4000], ctx.actor.user_id, ctx.now()
    rec = ctx.session.get(OpeningRecord, row.record_id)
    trade = ctx.session.get(LotTrade, rec.lot_id)
    no = _bidder_no(rec, ctx.session.get(Organisation, row.bidder_org_id).credit_code)
    record(ctx, "opening.dispute_answered", "opening_record", rec.id, project_id=trade.project_id,
           payload={"lot_code": trade.lot_code, "response_id": row.id, "bidder_no": no, "reply": row.reply})
    publish(ctx, channel(trade.lot_code), "opening:dispute_resolved", {"bidder_no": no})
    ctx.session.flush()
    return row
