"""Steps shared by the full-journey service tests (tests/services/test_journey_*.py): every step goes
through the real services — a bidder seals its price sheet to the lot's published opening key and
uploads it in one request, the custodians submit their shares, the panel is drawn for real, each
member confirms with a two-factor code of its own — and the stage history is read back from the
lot's audit entries.

    bidders = registered_bidders(ctx, code, 4)                 # Bidder(user, org, key, ctx), registered
    submit_price(session, bidders[0], code, 800_000_00)        # sealed, uploaded, accepted (a receipt)
    open_by_custodians(ctx, code)                              # k custodians at the clock's now
    members = draw_panel(ctx, code, size=3)                    # [(user, member, ctx)] started, TOTP on
    stage_history(session, lot_id)                             # [(action, old, new), …]"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass
from datetime import timedelta

import pyotp
from sqlalchemy import select

from tests.factories.accounts import actor_ctx
from tests.factories.custodians import ensure_custodians, price_sheet
from tests.factories.experts import make_experts, operator_ctx
from tests.factories.offers import Bidder, bidder_with_key, manifest_bytes
from trading.accounts import services as account_services
from trading.accounts.models import User
from trading.audit.models import AuditEntry
from trading.core.context import ServiceContext
from trading.evaluation.draw.services import request_draw, run_draw, start_panel
from trading.evaluation.panels import PanelMember
from trading.procedures.common.lots import get_trade
from trading.procedures.common.opening import services as opening
from trading.procedures.common.opening.models import OpeningKey
from trading.procedures.common.participation import completion
from trading.procedures.common.participation import services as participation
from trading.sealing import envelope as env


@dataclass
class Member:
    user: User
    member: PanelMember
    ctx: ServiceContext

    def code(self, clock) -> str:
        return pyotp.TOTP(self.user.totp_secret).at(clock.now())


def registered_bidders(ctx: ServiceContext, lot_code: str, n: int) -> list[Bidder]:
    """n bidders with signing keys, each registered (报名) for the lot through the service."""
    out = []
    for _ in range(n):
        b = bidder_with_key(ctx)
        participation.register_for_lot(b.ctx, lot_code)
        out.append(b)
    return out


def submit_price(b: Bidder, lot_code: str, price_fen: int):
    """The bidder reads the lot's sealing info, seals its price sheet to the opening key and uploads it
    in one request (start_submission + put_envelope). Returns the receipt."""
    info = participation.sealing_info(b.ctx, lot_code)
    started = participation.start_submission(b.ctx, lot_code, "price")
    opening_public = env.load_public(base64.b64decode(info["opening_key"]["public"]))
    manifest, payload = env.seal(price_sheet(price_fen), started.context, opening_public, b.key, chunk_log2=10)
    return completion.put_envelope(b.ctx, started.submission_id, manifest_bytes(manifest), payload)


def open_by_custodians(ctx: ServiceContext, lot_code: str):
    """The lot's custodians submit their shares in x order until the lot opens (the k-th opens it)."""
    people = {u.id: (u, p) for u, p in ensure_custodians(ctx)}
    trade = get_trade(ctx, lot_code)
    key = ctx.session.execute(select(OpeningKey).where(OpeningKey.lot_id == trade.lot_id)).scalar_one()
    outcome = None
    for share in sorted(key.shares, key=lambda s: s.x)[:key.k]:
        user, passphrase = people[share.custodian_user_id]
        outcome = opening.submit_share(actor_ctx(ctx.session, ctx.clock, user), lot_code, passphrase)
    return outcome


def enable_totp(ctx: ServiceContext, user: User) -> None:
    sys_ctx = ServiceContext(session=ctx.session, clock=ctx.clock, ip="127.0.0.1")
    secret, _ = account_services.start_totp_enrolment(sys_ctx, user)
    account_services.confirm_totp(sys_ctx, user, pyotp.TOTP(secret).at(ctx.now() - timedelta(seconds=30)))


def make_pool(ctx: ServiceContext, n: int, specialty: str = "GC01") -> list:
    return make_experts(ctx, n, specialties=(specialty,))


def draw_panel(ctx: ServiceContext, lot_code: str, *, size: int = 3, specialty: str = "GC01",
               start: bool = True) -> tuple[object, list[Member]]:
    """The centre requests a draw (SHA-256 of the seed committed), runs it (seed revealed) and starts
    the panel; each member enables two-factor (the report is signed with it). (draw, members)."""
    op = operator_ctx(ctx)
    d = request_draw(op, lot_code, size=size, specialties=[specialty], experts_required=size)
    panel = run_draw(op, d.id)
    if start:
        start_panel(op, lot_code)
    members = [member_of(ctx, m) for m in ctx.session.execute(
        select(PanelMember).where(PanelMember.panel_id == panel.id).order_by(PanelMember.id)).scalars()]
    return d, members


def member_of(ctx: ServiceContext, m: PanelMember) -> Member:
    """A seated member acting for itself, with two-factor enabled (a replacement too)."""
    user = ctx.session.get(User, m.user_id)
    if not user.totp_enabled:
        enable_totp(ctx, user)
    return Member(user, m, actor_ctx(ctx.session, ctx.clock, user))


def stage_history(session, lot_id: int, *, also=("opening.opened",)) -> list[tuple[str, str | None, str | None]]:
    """The lot's stage entries (what the stage page lists, lot.*) and the opening's own step (the
    opening code moves a lot to opened/failed itself, audited as opening.opened): (action, old, new)
    in audit order, "lot." removed from the action."""
    rows = session.execute(select(AuditEntry).where(
        AuditEntry.object_type == "lot", AuditEntry.object_id == str(lot_id),
        AuditEntry.action.like("lot.%") | AuditEntry.action.in_(also)).order_by(AuditEntry.seq)).scalars()
    out = []
    for e in rows:
        payload = json.loads(e.body).get("payload", {})
        out.append((e.action.removeprefix("lot."), payload.get("old"), payload.get("new")))
    return out


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "".join((p.extract_text() or "").replace("\n", "").replace(" ", "") for p in PdfReader(io.BytesIO(data)).pages)
