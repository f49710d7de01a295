"""Opening-key custodians for tests, enrolled through the real service with a tiny scrypt n.

    people = ensure_custodians(ctx)            # [(user, passphrase)] — 5 custodians in 3 institutions
    submit = actor_ctx(session, clock, people[0][0]); submit_share(submit, lot_code, people[0][1])

Custodian i (1-based) is user "custodian<i>" with passphrase "custodian-pass-<i>", in institution
(i - 1) % institutions: a centre (operator), a supervising department (supervisor), an expert employer
(expert), … Calling it again returns the same people (and adds any missing)."""

from __future__ import annotations

from sqlalchemy import select

from tests.factories.accounts import actor_ctx, make_org, make_user, valid_credit_code
from trading.accounts import custodians as custody
from trading.accounts.models import Organisation, User
from trading.core.context import ServiceContext

#: scrypt n for tests (production: 2**15)
FAST_N = 2**4
#: (role, organisation kind) of each institution, in turn
INSTITUTIONS = [("operator", "centre"), ("supervisor", "supervisor"), ("expert", "expert_employer")]
_SEED = 600_000_000


def passphrase(i: int) -> str:
    return f"custodian-pass-{i}"


def _institution(ctx: ServiceContext, j: int) -> Organisation:
    _, kind = INSTITUTIONS[j % len(INSTITUTIONS)]
    code = valid_credit_code(_SEED + j)
    org = ctx.session.execute(select(Organisation).where(Organisation.credit_code == code)).scalar_one_or_none()
    return org or make_org(ctx, kind, name=f"开标密钥保管单位{j + 1}", credit_code=code)


def ensure_custodians(ctx: ServiceContext, n: int = 5, institutions: int = 3) -> list[tuple[User, str]]:
    people = []
    for i in range(1, n + 1):
        username = f"custodian{i}"
        user = ctx.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is None:
            j = (i - 1) % institutions
            role, _ = INSTITUTIONS[j % len(INSTITUTIONS)]
            user = make_user(ctx, role, org=_institution(ctx, j), username=username, totp=True,
                             display_name=f"保管人{i}")
        if custody.active_custodian_key(ctx, user.id) is None:
            custody.enrol_custodian(actor_ctx(ctx.session, ctx.clock, user), passphrase(i), scrypt_n=FAST_N)
        people.append((user, passphrase(i)))
    return people


# --- sealed lots and offers (opening tests) ---------------------------------------------------------

def sealed_lot(ctx: ServiceContext, *, procedure: str = "tender", owner: User | None = None):
    """A lot of an accepted project whose announcement is published: (LotTrade, OpeningKey)."""
    from tests.factories.notices import notice_project, published_notice
    from trading.procedures.common.models import LotTrade
    from trading.procedures.common.opening.models import OpeningKey
    from trading.projects.models import Lot

    owner = owner or make_user(ctx, "owner")
    project = notice_project(ctx, owner, procedure=procedure)
    published_notice(actor_ctx(ctx.session, ctx.clock, owner), project)
    lot = ctx.session.execute(select(Lot).where(Lot.project_id == project.id).order_by(Lot.seq)).scalars().first()
    trade = ctx.session.get(LotTrade, lot.id)
    key = ctx.session.execute(select(OpeningKey).where(OpeningKey.lot_id == trade.lot_id)).scalar_one()
    return trade, key


def price_sheet(price_fen: int, *, duration_days: int | None = 180, quality: str = "合格",
                remarks: str = "") -> bytes:
    import json

    return json.dumps({"v": 1, "price_fen": price_fen, "duration_days": duration_days, "quality": quality,
                       "remarks": remarks}, ensure_ascii=False).encode("utf-8")


def documents_zip(files: dict[str, bytes] | None = None) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in (files or {"技术标.pdf": b"%PDF-1.4 demo", "商务标.pdf": b"%PDF-1.4 demo"}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def add_offer(ctx: ServiceContext, trade, key, *, price_fen: int | None = 1_000_000_00,
              price_plaintext: bytes | None = None, documents: bytes | None = None, status: str = "accepted",
              bidder: User | None = None, tamper_payload: bool = False):
    """A bidder (new unless given) with a signing key, registered for the lot, whose price part (and
    documents part when given) is sealed to the lot's opening key and stored as accepted (or the given
    status). Rows are written directly (the participation services are tested on their own).
    Returns (bidder user, {part: Submission})."""
    import secrets

    from cryptography.hazmat.primitives.asymmetric import ec

    from trading.accounts.models import Organisation
    from trading.accounts.signing_keys import register_signing_key
    from trading.core.blobs import get_store
    from trading.procedures.common.participation.models import Participation, Submission
    from trading.sealing import envelope

    bidder = bidder or make_user(ctx, "bidder")
    org = ctx.session.get(Organisation, bidder.org_id)
    signing = ec.generate_private_key(ec.SECP256R1())
    sk = register_signing_key(actor_ctx(ctx.session, ctx.clock, bidder),
                              public_raw=envelope.public_raw(signing.public_key()), label="test", source="tool")
    now = ctx.now()
    part_row = ctx.session.execute(select(Participation).where(
        Participation.lot_id == trade.lot_id, Participation.bidder_org_id == org.id)).scalar_one_or_none()
    if part_row is None:
        part_row = Participation(lot_id=trade.lot_id, bidder_org_id=org.id, registered_by=bidder.id,
                                 registered_at=now, status="registered")
        ctx.session.add(part_row)
        ctx.session.flush()
    opening_pub = envelope.load_public(bytes(key.public_raw))
    plaintexts = {}
    if price_plaintext is not None or price_fen is not None:
        plaintexts["price"] = price_plaintext if price_plaintext is not None else price_sheet(price_fen)
    if documents is not None:
        plaintexts["documents"] = documents
    store = get_store()
    subs = {}
    for part, plain in plaintexts.items():
        sid = secrets.token_urlsafe(18)
        manifest, payload = envelope.seal(plain, envelope.Context(trade.lot_code, org.credit_code, part, sid),
                                          opening_pub, signing, chunk_log2=10)
        if tamper_payload:  # the stored copy altered after acceptance (a platform failure)
            path = store.path_for(manifest["payload_sha256"])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(payload[:-1] + bytes([payload[-1] ^ 1]))
        else:
            store.put_bytes(payload)
        sub = Submission(submission_id=sid, lot_id=trade.lot_id, participation_id=part_row.id,
                         bidder_org_id=org.id, part=part, status=status, manifest=manifest,
                         payload_len=len(payload), payload_sha256=manifest["payload_sha256"], signing_key_id=sk.id,
                         upload_chunk_bytes=1 << 20, started_by=bidder.id, started_at=now,
                         accepted_at=now if status != "uploading" else None)
        ctx.session.add(sub)
        subs[part] = sub
    ctx.session.flush()
    return bidder, subs
