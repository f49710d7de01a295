"""What every participation use case shares: the refusals (envelope, deadline), the request-scoped
cache of rows a request keeps using (held), the caller's bidder organisation, a sealed lot, its
opening key and the caller's registration. Imports: core, sealing, accounts, procedures.common."""

from __future__ import annotations

from sqlalchemy import select

from trading.accounts.models import Organisation
from trading.accounts.rules import roles_for
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, InvalidInput, RuleViolation, not_found
from trading.sealing.failures import EnvelopeError, Failure

from ..lots import get_trade
from ..models import LotTrade
from ..opening.models import OpeningKey
from .models import Participation


class EnvelopeRefused(InvalidInput):
    """An envelope check failed: 422 with code "envelope.<kind>" (e.g. envelope.kid_mismatch)."""

    def __init__(self, err: EnvelopeError, zh: str | None = None, details: dict | None = None):
        short = err.kind.value.split(".", 1)[1]
        super().__init__(f"envelope.{short}", zh or f"密封文件未通过检查（{short}）：{err.detail}",
                         f"The sealed envelope was refused ({short}): {err.detail}",
                         details={"failure": err.kind.value, **(details or {})})


def _refuse(kind: Failure, detail: str, zh: str, **details) -> EnvelopeRefused:
    return EnvelopeRefused(EnvelopeError(kind, detail), zh, details)


def _deadline_passed() -> RuleViolation:
    return RuleViolation("offer.deadline_passed", "已过投标截止时间（以服务器时间为准），不再接受递交、修改或撤回",
                         "The offer deadline has passed (server time); nothing can be submitted, replaced or withdrawn")


def held(ctx: ServiceContext, model, pk):
    """ctx.session.get(model, pk), kept referenced for the rest of the request (ctx.cache). The
    session's identity map holds rows weakly: a row one step of a request loaded and let go (the
    bidder's organisation, the lot) is otherwise SELECTed again by the next step's session.get."""
    key = ("participation.held", model.__name__, pk)
    row = ctx.cache.get(key)
    if row is None or row not in ctx.session:
        row = ctx.session.get(model, pk)
        if row is not None:
            ctx.cache[key] = row
    return row


def _bidder_org(ctx: ServiceContext) -> Organisation:
    ctx.require(*roles_for("offer.participate"))
    org = held(ctx, Organisation, ctx.actor.org_id) if ctx.actor.org_id else None
    if org is None:
        raise InvalidInput("offer.no_org", "当前账号不属于任何单位", "Your account belongs to no organisation")
    return org


def _sealed_trade(ctx: ServiceContext, lot_code: str, *, lock: bool = False) -> LotTrade:
    trade = get_trade(ctx, lot_code, lock=lock)
    if not trade.sealed:
        raise not_found("标段", "Lot")
    ctx.cache[("participation.held", "LotTrade", trade.lot_id)] = trade  # see held()
    return trade


def opening_key_of(ctx: ServiceContext, trade: LotTrade) -> OpeningKey:
    # the manifest check and the layout check both ask for it: once per request (ctx.cache, see held())
    cache_key = ("participation.opening_key", trade.lot_id)
    key = ctx.cache.get(cache_key)
    if key is not None and key in ctx.session:
        return key
    key = ctx.session.execute(select(OpeningKey).where(OpeningKey.lot_id == trade.lot_id)).scalar_one_or_none()
    if key is not None:
        ctx.cache[cache_key] = key
    if key is None:
        raise Conflict("offer.no_opening_key", "本标段的开标密钥尚未生成，暂不能递交密封文件，请联系交易中心",
                       "This lot has no opening key yet; sealed offers cannot be submitted; contact the centre")
    return key


def own_participation(ctx: ServiceContext, trade: LotTrade, org_id: int, *, lock: bool = False) -> Participation | None:
    stmt = select(Participation).where(Participation.lot_id == trade.lot_id, Participation.bidder_org_id == org_id)
    if lock:
        stmt = stmt.with_for_update()
    return ctx.session.execute(stmt).scalar_one_or_none()
