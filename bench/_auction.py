"""The set-up the auction benchmarks share (not measured): a started 网络竞价 lot made through the real
services — project, acceptance, disclosure notice, listing terms (starting price 50万元, increment
1,000 yuan, no deposit), qualified bidders with API tokens and, for watchers, plain bidder accounts —
published in the past on a frozen clock, then started on the real clock (the server's SystemClock
decides, as in production)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import select

from bench import _offers as offers

START = 50 * 1_000_000      # 50万元 in fen
INC = 100_000                # 1,000 yuan


@dataclass
class Sale:
    app: Flask
    code: str
    #: one API token per qualified bidder
    tokens: list[str]
    #: (user id, session version) of each watcher account (bidders who watch without bidding)
    viewers: list[tuple[int, int]]


def started_sale(schema: str, blob_name: str, *, title: str, approval_number: str, lot_name: str, bidders: int,
                 viewers: int = 0, pool_size: int = 5) -> Sale:
    from trading.accounts import services as accounts
    from trading.core.clock import FrozenClock, SystemClock
    from trading.extensions import db
    from trading.procedures.auction import services as auctions
    from trading.procedures.common import services as notices
    from trading.projects import services as projects
    from trading.reference.models import CalendarYear, Region
    from trading.reference.services import builtin_years, load_builtin_years

    real_now = datetime.now(UTC)
    clock = FrozenClock(real_now - timedelta(days=8))
    app = offers.make_app(schema, offers.blob_dir(blob_name), clock=clock, pool_size=pool_size)
    with app.app_context():
        s = db.session
        ctx = offers.system_ctx(s, clock)
        years = [y for y in {clock.now().year, real_now.year, (real_now + timedelta(days=20)).year}
                 if y in builtin_years() and s.get(CalendarYear, y) is None]
        if years:
            load_builtin_years(ctx, years)
        region = s.execute(select(Region).where(Region.code == "511000")).scalar_one_or_none()
        if region is None:
            region = Region(code="511000", name="城区", name_en="County seat", sort=0)
            s.add(region)
            s.flush()
        owner = offers.make_user(ctx, "owner", "owner")
        operator = offers.make_user(ctx, "operator", "centre", totp=True)
        octx, opctx = offers.acting(s, clock, owner), offers.acting(s, clock, operator)
        project = projects.register_project(
            octx, name=title, approval_number=approval_number,
            approval_department="示范县国有资产管理局", funding_source="fiscal_county", fiscal_share_bp=10_000,
            category="state_asset", owner_type="gov", total_investment_fen=START, procedure="online_bidding",
            lots=[{"name": lot_name, "budget_fen": START}], combined_total_fen=None, description="基准测试",
            contact_name="张工", contact_phone="0838-1234567", region_id=region.id)
        projects.submit_project(octx, project.id)
        projects.accept_project(opctx, project.id, "材料齐全，予以受理")
        notice = notices.create_notice(
            octx, project.id, kind="disclosure", title=f"{project.name}信息披露公告",
            body="一、标的概况\n基准测试。\n\n二、竞买条件\n无。", deadline_at=real_now - timedelta(hours=1),
            opening_at=real_now - timedelta(minutes=10), closing_at=real_now + timedelta(days=12))
        notices.publish_notice(octx, notice.id)
        code = project.lots[0].code
        auctions.configure_listing(octx, code, starting_fen=START, increment_fen=INC, deposit_fen=0)
        tokens = []
        for _ in range(bidders):
            user = offers.make_user(ctx, "bidder", "bidder")
            bctx = offers.acting(s, clock, user)
            app_row, _ = auctions.apply(bctx, code)
            auctions.qualify(opctx, app_row.id)
            tokens.append(accounts.create_api_token(bctx, name="bench bidder")[1])
        people = [offers.make_user(ctx, "bidder", "bidder") for _ in range(viewers)]
        s.commit()
        auctions.start_bidding(offers.acting(s, SystemClock(), operator), code)
        s.commit()
        watchers = [(u.id, u.session_version) for u in people]
    return Sale(app, code, tokens, watchers)
