"""Shared set-up of the sealed-offer benchmarks (bench/opening.py, bench/upload.py): a Flask app on the
benchmark's own PostgreSQL schema, a published sealed lot with its opening key made by the real
ceremony, bidders with signing keys, and sealed envelopes.

Everything that is one of a kind goes through the real services (project → acceptance → announcement
→ LotTrade + key ceremony with enrolled custodians; one bidder with its signing key, registration and
an accepted envelope). Thousands of bidders would make the set-up as slow as the thing measured, so
the rest are *cloned* from those template rows: every column copied from the row the service wrote,
only the identifying ones varied (name, credit code, username, key, submission id …). Clones get no
audit entries of their own; the benchmarks only measure what happens after them."""

from __future__ import annotations

import hashlib
import itertools
import secrets
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from sqlalchemy import Table, insert, select

from bench.common import database_url, fresh_schema_engine
from trading.accounts import passwords
from trading.accounts import services as accounts
from trading.accounts.models import Organisation, User
from trading.accounts.rules import credit_code_check_char
from trading.core.clock import BEIJING, Clock, to_beijing
from trading.core.context import ServiceContext
from trading.sealing import envelope

#: positions 3–8 of the credit codes: an administrative division (成都市)
DIVISION = "510100"
PASSWORD = "Bench-Passw0rd!"
PASSPHRASE = "开标密钥口令-bench-{n}"


def credit_code(seed: int) -> str:
    first17 = f"91{DIVISION}{seed:09d}"
    return first17 + credit_code_check_char(first17)


# --- the app on the benchmark's schema -------------------------------------------------------------

def app_config(schema: str, blob_dir: str | Path, *, pool_size: int = 5) -> dict:
    """The configuration of an app that works in `schema` of the benchmark database and keeps its
    blobs in `blob_dir` (used by the in-process benchmarks and by bench/wsgi.py under gunicorn)."""
    return {
        "SECRET_KEY": "bench-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": database_url(),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": pool_size, "max_overflow": 5, "pool_pre_ping": False,
                                      "connect_args": {"options": f"-c search_path={schema}"}},
        "BLOB_ROOT": str(blob_dir),
        "WTF_CSRF_ENABLED": True,
    }


def make_app(schema: str, blob_dir: str | Path, *, clock: Clock | None = None, pool_size: int = 5) -> Flask:
    from trading.factory import create_app

    app = create_app(app_config(schema, blob_dir, pool_size=pool_size), clock=clock)
    app.instance_path = str(Path(blob_dir).parent / "instance")
    return app


def fresh_schema(schema: str) -> None:
    """Drop and re-create the schema with every table (bench.common.fresh_schema_engine)."""
    fresh_schema_engine(schema).dispose()


def blob_dir(name: str) -> Path:
    """A new, empty directory for the blob store of one benchmark run."""
    return Path(tempfile.mkdtemp(prefix=f"bench-{name}-")) / "blobs"


# --- cloning rows -----------------------------------------------------------------------------------

def clone_rows(session, model, template_id: int, variants: Iterable[dict[str, Any]]) -> list[int]:
    """Insert copies of the row `template_id` of `model`, each with the columns of one variant changed;
    returns the new ids in the order of `variants`."""
    table: Table = model.__table__
    template = dict(session.execute(select(table).where(table.c.id == template_id)).mappings().one())
    template.pop("id")
    rows = [{**template, **v} for v in variants]
    if not rows:
        return []
    ids = []
    for at in range(0, len(rows), 2000):
        result = session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                                 rows[at:at + 2000])
        ids.extend(result.scalars())
    return ids


# --- people -----------------------------------------------------------------------------------------

_seq = itertools.count(1)


def system_ctx(session, clock: Clock) -> ServiceContext:
    return ServiceContext(session=session, clock=clock, ip="127.0.0.1")


def acting(session, clock: Clock, user: User) -> ServiceContext:
    return ServiceContext(session=session, actor=accounts.actor_for(user), clock=clock, ip="127.0.0.1")


def make_user(ctx: ServiceContext, role: str, org_kind: str, *, org: Organisation | None = None,
              totp: bool = False, seed_base: int = 800_000_000) -> User:
    import pyotp

    n = next(_seq)
    if org is None:
        org = accounts.create_organisation(ctx, name=f"基准测试{org_kind}单位{n}", credit_code=credit_code(seed_base + n),
                                           kind=org_kind)
    user = accounts.create_user(ctx, username=f"bench-{role}{n}", display_name=f"{role} {n}", org_id=org.id,
                                role=role, password=PASSWORD)
    if totp:
        secret, _ = accounts.start_totp_enrolment(ctx, user)
        accounts.confirm_totp(ctx, user, pyotp.TOTP(secret).at(ctx.now() - timedelta(seconds=30)))
    return user


# --- the lot ----------------------------------------------------------------------------------------

@dataclass
class Lot:
    lot_code: str
    lot_id: int
    project_id: int
    deadline_at: datetime
    opening_pub: ec.EllipticCurvePublicKey
    opening_kid: bytes
    max_part_bytes: int
    #: (user, passphrase) of every custodian holding a share
    custodians: list[tuple[User, str]] = field(default_factory=list)
    operator: User | None = None


def _bj_at(now: datetime, days: int, hh: int = 9, mm: int = 30) -> datetime:
    d = to_beijing(now).date() + timedelta(days=days)
    return datetime.combine(d, time(hh, mm), tzinfo=BEIJING)


def enrol_custodians(session, clock: Clock, n: int = 5) -> list[tuple[User, str]]:
    """n custodians from three institutions (centre operators, a supervisor, an expert), each enrolled
    with its own passphrase through the opening helper's enrolment service."""
    from trading.accounts import custodians as custody

    ctx = system_ctx(session, clock)
    kinds = [("operator", "centre"), ("supervisor", "supervisor"), ("expert", "expert_employer")]
    people = []
    orgs: dict[str, Organisation] = {}
    for i in range(n):
        role, kind = kinds[i % len(kinds)]
        user = make_user(ctx, role, kind, org=orgs.get(kind), totp=True)
        orgs.setdefault(kind, session.get(Organisation, user.org_id))
        passphrase = PASSPHRASE.format(n=i + 1)
        custody.enrol_custodian(acting(session, clock, user), passphrase=passphrase)
        people.append((user, passphrase))
    return people


def publish_sealed_lot(session, clock: Clock, *, custodians: int = 5) -> Lot:
    """A 比选 (selection) works project of a state enterprise, accepted by the centre, its announcement
    published: LotTrade and the opening key come from lots.on_notice_published and run_ceremony."""
    from trading.procedures.common import services as notices
    from trading.procedures.common.models import LotTrade
    from trading.procedures.common.opening.models import OpeningKey
    from trading.projects import services as projects
    from trading.reference.models import CalendarYear, Region
    from trading.reference.services import builtin_years, load_builtin_years

    ctx = system_ctx(session, clock)
    now = clock.now()
    years = [y for y in {now.year, (now + timedelta(days=40)).year} if y in builtin_years()]
    missing = [y for y in years if session.get(CalendarYear, y) is None]
    if missing:
        load_builtin_years(ctx, missing)
    region = session.execute(select(Region).where(Region.code == "511000")).scalar_one_or_none()
    if region is None:
        region = Region(code="511000", name="城区", name_en="County seat", sort=0)
        session.add(region)
        session.flush()
    people = enrol_custodians(session, clock, custodians)
    operator = next(u for u, _ in people if u.role == "operator")
    owner = make_user(ctx, "owner", "owner")
    octx, opctx = acting(session, clock, owner), acting(session, clock, operator)
    project = projects.register_project(
        octx, name="示范县基准测试道路硬化工程", approval_number="示发改投资〔2026〕999号",
        approval_department="示范县发展和改革局", funding_source="state_enterprise", fiscal_share_bp=0,
        category="works", owner_type="state_enterprise", total_investment_fen=150_000_000, procedure="selection",
        lots=[{"name": "一标段", "budget_fen": 80_000_000}], combined_total_fen=None, description="基准测试",
        contact_name="张工", contact_phone="0838-1234567", region_id=region.id)
    projects.submit_project(octx, project.id)
    projects.accept_project(opctx, project.id, "材料齐全，予以受理")
    notice = notices.create_notice(octx, project.id, kind="announcement", title=f"{project.name}比选公告",
                                   body="一、项目概况\n基准测试。\n\n二、资格要求\n具备相应资质。",
                                   deadline_at=_bj_at(now, 12), opening_at=_bj_at(now, 12))
    notices.publish_notice(octx, notice.id)
    trade = session.execute(select(LotTrade).where(LotTrade.project_id == project.id)).scalar_one()
    key = session.execute(select(OpeningKey).where(OpeningKey.lot_id == trade.lot_id)).scalar_one()
    pub = envelope.load_public(key.public_raw)
    return Lot(lot_code=trade.lot_code, lot_id=trade.lot_id, project_id=project.id, deadline_at=trade.deadline_at,
               opening_pub=pub, opening_kid=key.kid, max_part_bytes=trade.max_part_bytes, custodians=people,
               operator=operator)


# --- bidders ----------------------------------------------------------------------------------------

@dataclass
class Bidder:
    org_id: int
    credit_code: str
    user_id: int
    signing_key: ec.EllipticCurvePrivateKey = field(repr=False)
    signing_key_id: int
    token: str | None = field(default=None, repr=False)


def _key_fields(key: ec.EllipticCurvePrivateKey) -> dict:
    raw = envelope.public_raw(key.public_key())
    return {"public_raw": raw, "kid": hashlib.sha256(raw).digest()[:8], "fingerprint": hashlib.sha256(raw).hexdigest()}


def register_key(session, clock: Clock, user: User, key: ec.EllipticCurvePrivateKey):
    from trading.accounts.signing_keys import register_signing_key

    return register_signing_key(acting(session, clock, user), public_raw=envelope.public_raw(key.public_key()),
                                label="基准测试", source="tool")


def make_bidders(session, clock: Clock, count: int, *, seed_base: int = 100_000_000,
                 tokens: bool = False, via_services: bool = False) -> list[Bidder]:
    """`count` bidder organisations, each with one user and one registered signing key. The first is
    made through the services; the others too when via_services, else cloned from it. tokens=True
    gives each bidder an API token (through the service: the upload benchmark's bidders are few)."""
    from trading.accounts.models import SigningKey

    ctx = system_ctx(session, clock)
    passwords.use_cheap_hashing(True)
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(count)]
    first = make_user(ctx, "bidder", "bidder", seed_base=seed_base)
    first_key = register_key(session, clock, first, keys[0])
    made = [(first.org_id, session.get(Organisation, first.org_id).credit_code, first.id, first_key.id)]
    rest = range(1, count)
    if via_services:
        for i in rest:
            user = make_user(ctx, "bidder", "bidder", seed_base=seed_base)
            sk = register_key(session, clock, user, keys[i])
            made.append((user.org_id, session.get(Organisation, user.org_id).credit_code, user.id, sk.id))
    else:
        codes = [credit_code(seed_base + 1_000_000 + i) for i in rest]
        org_ids = clone_rows(session, Organisation, first.org_id,
                             ({"name": f"基准测试投标企业{i}有限公司", "credit_code": c}
                              for i, c in zip(rest, codes, strict=True)))
        user_ids = clone_rows(session, User, first.id,
                              ({"username": f"bench-bidder-x{i}", "display_name": f"投标人 {i}", "org_id": o}
                               for i, o in zip(rest, org_ids, strict=True)))
        key_ids = clone_rows(session, SigningKey, first_key.id,
                             ({**_key_fields(keys[i]), "org_id": o, "created_by": u}
                              for i, o, u in zip(rest, org_ids, user_ids, strict=True)))
        made += list(zip(org_ids, codes, user_ids, key_ids, strict=True))
    bidders = [Bidder(o, c, u, k, sk) for (o, c, u, sk), k in zip(made, keys, strict=True)]
    if tokens:
        for b in bidders:
            user = session.get(User, b.user_id)
            _, b.token = accounts.create_api_token(acting(session, clock, user), name="基准测试")
    return bidders


# --- envelopes --------------------------------------------------------------------------------------

def price_sheet(i: int, size: int) -> bytes:
    """A price sheet (opening/rules.parse_price_sheet's format) of exactly `size` bytes, its remarks
    (唱标 reads them out) filled with Chinese text."""
    import json

    sheet = {"v": 1, "price_fen": 70_000_000 + 137 * i, "duration_days": 90 + i % 60, "quality": "合格",
             "remarks": ""}

    def encoded() -> bytes:
        return json.dumps(sheet, ensure_ascii=False, separators=(",", ":")).encode()

    room = max(0, size - len(encoded()))
    text = "本报价为含税总价，包含完成招标文件规定全部工作内容所需的一切费用；工期及质量满足招标文件要求。"
    chars = room // 3
    sheet["remarks"] = (text * (chars // len(text) + 1))[:chars] + " " * (room - 3 * chars)
    return encoded()


def seal_for(lot: Lot, bidder: Bidder, part: str, submission_id: str, plaintext: bytes,
             chunk_log2: int = envelope.CHUNK_LOG2_DEFAULT) -> tuple[dict, bytes]:
    ctx = envelope.Context(lot.lot_code, bidder.credit_code, part, submission_id)
    return envelope.seal(plaintext, ctx, lot.opening_pub, bidder.signing_key, chunk_log2=chunk_log2)


def new_submission_id() -> str:
    return secrets.token_urlsafe(18)


Callback = Callable[[], None]


# --- accepted offers (opening benchmark) -------------------------------------------------------------

def _complete(ctx: ServiceContext, sid: str):
    from trading.procedures.common.participation.completion import complete_submission

    return complete_submission(ctx, sid)


def _write_blob(store, payload: bytes) -> str:
    """The payload at its content address, as BlobStore.put_bytes leaves it, without the fsync of
    every one of 10,000 files (set-up only)."""
    sha = hashlib.sha256(payload).hexdigest()
    path = store.path_for(sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    return sha


def accepted_offers(session, clock: Clock, lot: Lot, bidders: list[Bidder], size: int, part: str = "price"):
    """Every bidder registered with one accepted `part` envelope of a `size`-byte price sheet. The
    first through the participation services (register, start, manifest, chunk, complete: with its
    receipt and audit entries); the others cloned from its Participation and Submission rows, their
    payloads written to the blob store. Returns, for the bare loop, one (manifest JSON bytes, payload,
    signer public raw, expected context) per bidder."""
    import json

    from trading.core.blobs import get_store
    from trading.procedures.common.participation import services as participation
    from trading.procedures.common.participation.models import Participation, Submission

    items = []
    first = bidders[0]
    ctx = acting(session, clock, session.get(User, first.user_id))
    registration = participation.register_for_lot(ctx, lot.lot_code)
    template_part = registration[0] if isinstance(registration, tuple) else registration
    sub = participation.start_submission(ctx, lot.lot_code, part)
    m, payload = seal_for(lot, first, part, sub.submission_id, price_sheet(0, size))
    raw = json.dumps(m).encode()
    participation.put_manifest(ctx, sub.submission_id, raw)
    for i, at in enumerate(range(0, len(payload), sub.upload_chunk_bytes)):
        participation.put_chunk(ctx, sub.submission_id, i, payload[at:at + sub.upload_chunk_bytes])
    _complete(ctx, sub.submission_id)
    session.flush()
    template_sub = participation.own_submission(ctx, sub.submission_id)
    assert template_sub.status == "accepted", template_sub.status
    items.append((raw, payload, envelope.public_raw(first.signing_key.public_key()),
                  envelope.Context(lot.lot_code, first.credit_code, part, sub.submission_id)))

    rest = bidders[1:]
    store = get_store()
    part_ids = clone_rows(session, Participation, template_part.id,
                          ({"bidder_org_id": b.org_id, "registered_by": b.user_id} for b in rest))
    variants = []
    for i, (b, pid) in enumerate(zip(rest, part_ids, strict=True), start=1):
        sid = new_submission_id()
        m, payload = seal_for(lot, b, part, sid, price_sheet(i, size))
        sha = _write_blob(store, payload)
        variants.append({"submission_id": sid, "participation_id": pid, "bidder_org_id": b.org_id, "manifest": m,
                         "payload_len": len(payload), "payload_sha256": sha, "signing_key_id": b.signing_key_id,
                         "started_by": b.user_id, "supersedes_id": None})
        items.append((json.dumps(m).encode(), payload, envelope.public_raw(b.signing_key.public_key()),
                      envelope.Context(lot.lot_code, b.credit_code, part, sid)))
    clone_rows(session, Submission, template_sub.id, variants)
    session.flush()
    return items


# --- the opening ------------------------------------------------------------------------------------

def threshold(session, lot: Lot) -> int:
    from trading.procedures.common.opening.models import OpeningKey

    return session.execute(select(OpeningKey.k).where(OpeningKey.lot_id == lot.lot_id)).scalar_one()


def rebuild_opening_key(session, lot: Lot) -> ec.EllipticCurvePrivateKey:
    """The lot's opening key from k custodians' shares, unsealed with their passphrases (for the bare
    loop of the benchmark only; the platform never holds it outside open_lot)."""
    from trading.accounts.models import CustodianKey
    from trading.procedures.common.opening.models import CustodianShare, OpeningKey
    from trading.sealing import custodian as crypto
    from trading.sealing.shamir import rebuild_private_key

    key = session.execute(select(OpeningKey).where(OpeningKey.lot_id == lot.lot_id)).scalar_one()
    shares = {s.custodian_user_id: s for s in session.execute(
        select(CustodianShare).where(CustodianShare.opening_key_id == key.id)).scalars()}
    submitted = []
    for user, passphrase in lot.custodians:
        share = shares.get(user.id)
        if share is None:
            continue
        ck = session.get(CustodianKey, share.custodian_key_id)
        material = crypto.CustodianKeyMaterial(public_raw=bytes(ck.public_raw), kid=bytes(ck.kid),
                                               salt=bytes(ck.salt), params=dict(ck.kdf_params))
        submitted.append((share.x, crypto.unseal_share(share.sealed_share, passphrase, material,
                                                       lot_code=lot.lot_code, index=share.x, custodian_id=user.id)))
        if len(submitted) == key.k:
            break
    commitments = [bytes(s.commitment) for s in sorted(shares.values(), key=lambda s: s.x)]
    return rebuild_private_key(submitted, commitments, key.k, bytes(key.public_raw))


def holders(session, lot: Lot) -> list[tuple[User, str]]:
    """The custodians that hold a share of the lot (the ceremony picks n of the enrolled)."""
    from trading.procedures.common.opening.models import CustodianShare, OpeningKey

    ids = set(session.execute(select(CustodianShare.custodian_user_id).join(OpeningKey)
                              .where(OpeningKey.lot_id == lot.lot_id)).scalars())
    return [(u, p) for u, p in lot.custodians if u.id in ids]


def submit_share(session, clock: Clock, user: User, lot: Lot, passphrase: str):
    from trading.procedures.common.opening import services as opening

    return opening.submit_share(acting(session, clock, session.get(User, user.id)), lot.lot_code, passphrase)


def opening_modules() -> list:
    """Modules of the opening code that may have imported envelope functions by name."""
    import importlib

    out = []
    for name in ("trading.procedures.common.opening.rules", "trading.procedures.common.opening.decrypt",
                 "trading.procedures.common.opening.records"):
        try:
            out.append(importlib.import_module(name))
        except ImportError:
            pass
    return out


def opening_outcome(session, lot: Lot) -> dict:
    from sqlalchemy import func

    from trading.audit.models import AuditEntry
    from trading.procedures.common.models import LotTrade
    from trading.procedures.common.opening.models import OpeningRecord, OpeningResult

    counts = dict(session.execute(select(OpeningResult.outcome, func.count()).where(OpeningResult.lot_id == lot.lot_id)
                                  .group_by(OpeningResult.outcome)).all())
    record = session.execute(select(OpeningRecord).where(OpeningRecord.lot_id == lot.lot_id)).scalar_one_or_none()
    return {"opened": counts.get("opened", 0), "failed": counts.get("failed", 0), "record": record is not None,
            "record_outcome": record.outcome if record else None,
            "lot_status": session.get(LotTrade, lot.lot_id).status,
            "audit_entries": session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()}
