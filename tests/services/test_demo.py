"""The demo county: built through the real services, its audit chain verifies, it has what the demo
promises (every state and category, openings today, valid credit codes, working log-ins), the
README lists the same log-ins, and a date that would need 2027's calendar is refused, not invented;
the opened 比选 lot is in evaluation with a committee drawn from the demo pool, whose members can sign in
and open the evaluation room."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select

from tests.timeline import T0
from trading.accounts import services as accounts
from trading.accounts.models import Organisation, User
from trading.accounts.rules import is_valid_credit_code
from trading.audit.services import verify
from trading.core.clock import beijing, to_beijing
from trading.core.web import cli_context
from trading.demo import build_demo, demo_command
from trading.demo.catalogue import PROJECTS
from trading.demo.evaluation import EXPECTED_PANEL, POOL
from trading.demo.offers import OPENED_CUSTODIANS, TONIGHT_NAME, TONIGHT_OFFERS, tonight_deadline
from trading.demo.people import (
    DEMO_PASSWORD,
    DEMO_TWO_FACTOR,
    ORGS,
    USERS,
    demo_credit_code,
    demo_totp_secret,
)
from trading.extensions import db
from trading.procedures.common.models import Notice
from trading.projects.models import Project
from trading.reference.models import AdminAlert, CalendarYear, Region

README = Path(__file__).resolve().parents[2] / "README.md"


def expected_status(spec) -> str:
    if not spec.submitted:
        return "draft"
    if not spec.reviews:
        return "submitted"
    last = spec.reviews[-1][0]
    return {"accept": "accepted", "return": "returned", "refuse": "refused"}[last]


@pytest.fixture
def demo(app):
    summary = build_demo(cli_context())
    db.session.commit()
    return summary


def test_the_demo_county(demo, session, clock):
    """One build, several promises (a build costs seconds, so the read-only checks share it)."""
    check_chain(demo, session)
    check_states(demo, session)
    check_review_trail(session)
    check_notices(session, clock)
    check_people(session, clock)
    check_sealed_offers(session, clock)
    check_evaluation(demo, session, clock)
    check_land_tender(session, clock)
    assert clock.now() == T0  # the history ran on the demo's own clock; the app's clock did not move


def check_chain(demo, session):
    assert demo.skipped == []
    result = verify(session)
    assert result.ok, result.describe()
    assert result.count > 150


def check_states(demo, session):
    rows = session.execute(select(Project.name, Project.status, Project.category)).all()
    by_name = {name: status for name, status, _ in rows}
    assert by_name == {spec.name: expected_status(spec) for spec in PROJECTS} | {TONIGHT_NAME: "accepted"}
    statuses = Counter(s for _, s, _ in rows)
    assert statuses == {"accepted": 19, "draft": 2, "submitted": 2, "returned": 1, "refused": 1}
    assert set(c for _, _, c in rows) == {"works", "goods", "services", "land", "mining", "state_asset", "other"}
    assert demo.projects_by_status == statuses


def check_review_trail(session):
    """Returned and refused projects carry the operator's comment."""
    library = session.execute(select(Project).where(Project.name == "示范县图书馆数字资源采购")).scalar_one()
    assert library.reviews[-1].action == "returned" and "预算批复" in library.reviews[-1].comment
    refused = session.execute(select(Project).where(Project.status == "refused")).scalar_one()
    assert "查封" in refused.reviews[-1].comment
    # the project that was returned, fixed and resubmitted shows the whole trail
    kit = session.execute(select(Project).where(Project.name.like("%医疗设备采购%"))).scalar_one()
    assert [r.action for r in kit.reviews] == ["submitted", "returned", "resubmitted", "accepted"]
    assert [lot.budget_fen for lot in kit.lots] == [115_000_000, 68_000_000]


def check_notices(session, clock):
    """Open now, openings today, closed, publicity running, results."""
    now = clock.now()
    published = session.execute(select(Notice).where(Notice.status == "published")).scalars().all()
    assert len(published) == 22
    kinds = Counter(n.kind for n in published)
    assert kinds["candidates"] == 1 and kinds["result"] == 2 and kinds["deal_publicity"] == 1
    today = to_beijing(now).date()
    assert len([n for n in published if n.opening_at and to_beijing(n.opening_at).date() == today]) == 3
    assert any(n.deadline_at and n.deadline_at > now + timedelta(days=5) for n in published)
    assert any(n.deadline_at and n.deadline_at < now and n.kind == "announcement" for n in published)
    assert any(n.publicity_until and n.publicity_until > now for n in published)
    assert all(n.published_at < now for n in published)
    # nothing a notice says lies beyond the years whose holiday schedule is loaded
    years = set(session.execute(select(CalendarYear.year)).scalars())
    for n in published:
        for f in ("deadline_at", "opening_at", "closing_at", "publicity_until"):
            v = getattr(n, f)
            assert v is None or to_beijing(v).year in years


def check_people(session, clock):
    """Valid, unique credit codes; nine regions; every demo log-in works."""
    codes = session.execute(select(Organisation.credit_code)).scalars().all()
    assert len(codes) == len(ORGS) == len(set(codes))
    assert all(is_valid_credit_code(c) for c in codes)
    assert session.execute(select(Region.name)).scalars().all().count("城区") == 1
    assert len(session.execute(select(Region.id)).all()) == 9
    check_log_ins(session, clock)


@pytest.mark.parametrize("register,seq", [("11", 1), ("12", 27), ("91", 99999)])
def test_demo_credit_codes_pass_gb32100(register, seq):
    code = demo_credit_code(register, seq)
    assert is_valid_credit_code(code) and code.startswith(register + "519900")


def check_log_ins(session, clock):
    ctx = cli_context()
    for spec in USERS[:4]:
        assert accounts.authenticate(ctx, spec.username, DEMO_PASSWORD).username == spec.username
    for spec in USERS:
        user = session.execute(select(User).where(User.username == spec.username)).scalar_one()
        if spec.role in DEMO_TWO_FACTOR:
            assert user.totp_enabled and user.totp_secret == demo_totp_secret(spec.username)
        else:
            assert not user.totp_enabled
    operator = session.execute(select(User).where(User.username == "operator1")).scalar_one()
    code = pyotp.TOTP(demo_totp_secret("operator1")).at(clock.now())
    assert accounts.complete_totp_login(ctx, operator.id, code).username == "operator1"


def test_totp_secrets_are_distinct_base32():
    secrets = [demo_totp_secret(u.username) for u in USERS if u.role in DEMO_TWO_FACTOR]
    assert len(set(secrets)) == len(secrets)
    assert all(re.fullmatch(r"[A-Z2-7]{32}", s) for s in secrets)


def test_readme_lists_the_demo_log_ins():
    text = README.read_text(encoding="utf-8")
    assert DEMO_PASSWORD in text
    for spec in USERS:
        if spec.role in DEMO_TWO_FACTOR or spec.username in ("edu", "agency1", "bidder01"):
            assert f"`{spec.username}`" in text, spec.username
        if spec.role in DEMO_TWO_FACTOR:
            assert demo_totp_secret(spec.username) in text, spec.username


def test_portal_shows_the_demo(demo, client):
    home = client.get("/")
    assert home.status_code == 200
    page = home.get_data(as_text=True)
    assert "城区滨河路排水管网改造工程比选公告" in page      # opening today
    assert "示范县农村公路养护服务采购竞争性谈判公告" in page
    listing = client.get("/notices?trade_type=engineering")
    assert listing.status_code == 200
    text = listing.get_data(as_text=True)
    assert "青山镇至石桥镇通村公路改造工程竞争性谈判公告" in text
    assert "示范县中小学智慧教室设备采购" not in text           # procurement, not engineering


def test_a_period_reaching_2027_is_refused_and_reported(app, clock):
    clock.set(beijing(2026, 12, 20, 10, 0))
    summary = build_demo(cli_context())
    db.session.commit()
    assert summary.skipped and all("2027" in line for line in summary.skipped)
    assert db.session.execute(select(AdminAlert.key)).scalars().all() == ["calendar.year_missing:2027"]
    assert verify(db.session).ok
    assert 2027 not in set(db.session.execute(select(CalendarYear.year)).scalars())


def test_command_fills_once_and_if_empty_keeps_quiet(app):
    runner = app.test_cli_runner()
    first = runner.invoke(demo_command, ["--if-empty"])
    assert first.exit_code == 0, first.output
    assert "Demo2026pass" in first.output and "DEMOONLYOPERATORONE" in first.output
    again = runner.invoke(demo_command, ["--if-empty"])
    assert again.exit_code == 0 and "nothing to do" in again.output
    refused = runner.invoke(demo_command, [])
    assert refused.exit_code == 1
    assert db.session.execute(select(Organisation.id)).scalars().all().__len__() == len(ORGS)



# --- sealed offers (trading/demo/offers.py) -----------------------------------------------------------

def check_sealed_offers(session, clock):
    """A tender closing later today with four sealed offers and their receipts, and a 比选 lot opened
    14 days ago whose record names its three offers; every envelope of the opened lot opened; the share
    values are wiped."""
    from trading.accounts.models import SigningKey
    from trading.procedures.common.lots import LotStatus, effective_status
    from trading.procedures.common.models import LotTrade
    from trading.procedures.common.opening.models import (
        CustodianShare,
        OpeningKey,
        OpeningRecord,
        OpeningResult,
    )
    from trading.procedures.common.participation.models import Receipt, Submission

    now = clock.now()
    tonight = session.execute(select(LotTrade).join(Project, Project.id == LotTrade.project_id)
                              .where(Project.name == TONIGHT_NAME)).scalar_one()
    assert tonight.sealed and tonight.procedure == "tender"
    assert now < tonight.deadline_at and to_beijing(tonight.deadline_at).date() == to_beijing(now).date()
    assert effective_status(tonight, now) == LotStatus.ACCEPTING
    subs = session.execute(select(Submission).where(Submission.lot_id == tonight.lot_id)).scalars().all()
    assert len(subs) == len(TONIGHT_OFFERS) and {s.status for s in subs} == {"accepted"}
    assert {s.part for s in subs} == {"price"}
    for sub in subs:
        [receipt] = session.execute(select(Receipt).where(Receipt.submission_pk == sub.id)).scalars().all()
        body = json.loads(receipt.body)
        assert body["kind"] == "submitted" and body["payload_sha256"] == sub.payload_sha256
        assert body["received_at_beijing"].endswith("（北京时间）")
        assert session.get(SigningKey, sub.signing_key_id).source == "tool"

    opened = session.execute(select(OpeningRecord)).scalars().all()
    assert len(opened) == 1 and opened[0].outcome == "opened"
    body = opened[0].body
    assert body["project_name"] == "龙泉镇农村饮水安全巩固提升工程" and body["valid_offers"] == 3
    assert [b["price_yuan"] for b in body["bidders"]] == ["923,520.00", "936,000.00", "941,760.00"]
    # no static candidate publicity: the real flow (the visitor's evaluation) produces it
    assert not session.execute(select(Notice).where(Notice.kind == "candidates", Notice.title.like("龙泉镇%"))).all()
    trade = session.get(LotTrade, opened[0].lot_id)
    assert opened[0].created_at < trade.deadline_at + timedelta(minutes=15)
    results = session.execute(select(OpeningResult.outcome).where(OpeningResult.lot_id == trade.lot_id)).scalars()
    assert list(results) == ["opened"] * 3
    key = session.execute(select(OpeningKey).where(OpeningKey.lot_id == trade.lot_id)).scalar_one()
    shares = session.execute(select(CustodianShare).where(CustodianShare.opening_key_id == key.id)).scalars().all()
    assert all(s.accepted_y is None for s in shares)
    accepted = {s.custodian_user_id for s in shares if s.status == "accepted"}
    names = set(session.execute(select(User.username).where(User.id.in_(accepted))).scalars())
    assert names == set(OPENED_CUSTODIANS)


@pytest.mark.parametrize("now,expected", [
    ((2026, 11, 10, 9, 0), (0, 10, 0)),
    ((2026, 11, 10, 9, 1), (0, 10, 30)),
    ((2026, 11, 10, 14, 29), (0, 15, 30)),
    ((2026, 11, 10, 0, 5), (0, 1, 30)),
    ((2026, 11, 10, 22, 30), (0, 23, 30)),
    ((2026, 11, 10, 22, 31), (1, 9, 30)),   # past midnight: the next morning
    ((2026, 11, 10, 23, 50), (1, 9, 30)),
])
def test_the_tender_closes_later_today(now, expected):
    assert tonight_deadline(to_beijing(beijing(*now))) == expected


def test_readme_documents_the_sealed_demo():
    text = README.read_text(encoding="utf-8")
    assert "custody-<username>-2026" in text and TONIGHT_NAME in text


# --- expert pool, criteria and the drawn committee (trading/demo/evaluation.py) ----------------------

def _water_trade(session):
    from trading.procedures.common.models import LotTrade

    return session.execute(select(LotTrade).join(Project, Project.id == LotTrade.project_id)
                           .where(Project.name == "龙泉镇农村饮水安全巩固提升工程")).scalar_one()


def check_evaluation(demo, session, clock):
    """Eight experts in the pool (one suspended); the opened lot's criteria were set before its
    deadline; yesterday's draw excluded three candidates for three different reasons, seated the three
    the README names, re-runs from its audit entries, and its started committee put the lot in evaluation."""
    from trading.audit.models import AuditEntry
    from trading.evaluation.criteria.models import LotCriteria
    from trading.evaluation.draw.models import ExpertDraw
    from trading.evaluation.draw.services import active_members, open_panel, verify_draw
    from trading.evaluation.experts.models import Expert
    from trading.evaluation.panels import PanelStatus

    experts = session.execute(select(Expert)).scalars().all()
    assert len(experts) == len(POOL) == 8
    assert sorted(e.status for e in experts) == ["active"] * 7 + ["suspended"]
    assert all("*" in e.id_card_masked for e in experts)
    trade = _water_trade(session)
    assert trade.status == "evaluating"
    [criteria] = session.execute(select(LotCriteria).where(LotCriteria.lot_id == trade.lot_id)).scalars().all()
    assert criteria.created_at < trade.deadline_at and criteria.body["method"] == "comprehensive"
    [draw] = session.execute(select(ExpertDraw).where(ExpertDraw.lot_id == trade.lot_id)).scalars().all()
    assert draw.status == "run" and (draw.pool_size, draw.eligible_count, draw.count) == (6, 3, 3)
    assert trade.deadline_at < draw.requested_at < clock.now()
    result = verify_draw(session, draw.id)
    assert result.ok, result
    panel = open_panel(session, trade.lot_id)
    assert panel.status == PanelStatus.ACTIVE and panel.size == 3
    seated = {m.user_id for m in active_members(session, trade.lot_id)}
    names = set(session.execute(select(User.username).where(User.id.in_(seated))).scalars())
    assert names == set(EXPECTED_PANEL) and demo.committee == sorted(EXPECTED_PANEL)
    [requested] = session.execute(select(AuditEntry.body).where(AuditEntry.action == "expert_draw.requested")).scalars()
    assert json.loads(bytes(requested).decode("utf-8"))["payload"]["excluded"] == {
        "relation": 1, "status": 1, "unavailable": 1}


def test_a_drawn_expert_signs_in_and_finds_the_evaluation_room(demo, app, clock, session):
    """Through the log-in pages (password, then the documented TOTP secret): 专家工作台 lists the lot,
    and the room, a score sheet and the report page render; the operator's draw page shows 6 candidates
    and 3 eligible; the owner sees the criteria and the progress; an expert not on the committee is
    refused the room."""
    from tests.factories.accounts import csrf_token

    trade = _water_trade(session)
    code = trade.lot_code
    bidder = session.execute(select(Organisation.id).where(Organisation.name == "示范县清源水利水电工程有限公司")).scalar_one()

    def sign_in(username):
        client = app.test_client()
        r = client.post("/auth/login", data={"csrf_token": csrf_token(client, "/auth/login"), "username": username,
                                             "password": DEMO_PASSWORD})
        assert r.status_code == 302 and r.headers["Location"].endswith("/auth/2fa/verify"), r.status_code
        totp = pyotp.TOTP(demo_totp_secret(username)).at(clock.now())
        r = client.post("/auth/2fa/verify", data={"csrf_token": csrf_token(client, "/auth/2fa/verify"), "code": totp})
        assert r.status_code == 302, r.get_data(as_text=True)[:500]
        return client

    def sign_in_password_only(username):
        client = app.test_client()
        r = client.post("/auth/login", data={"csrf_token": csrf_token(client, "/auth/login"), "username": username,
                                             "password": DEMO_PASSWORD})
        assert r.status_code == 302 and "2fa" not in r.headers["Location"]
        return client

    client = sign_in(EXPECTED_PANEL[0])
    home = client.get("/evaluation/")
    assert home.status_code == 200 and f"/evaluation/{code}/room" in home.get_data(as_text=True)
    room = client.get(f"/evaluation/{code}/room")
    assert room.status_code == 200
    assert "示范县清源水利水电工程有限公司" in room.get_data(as_text=True)
    for path in (f"/evaluation/{code}/sheets/{bidder}", f"/evaluation/{code}/report"):
        assert client.get(path).status_code == 200, path
    operator = sign_in("operator2")
    draw_page = operator.get(f"/experts/draws/{code}")
    assert draw_page.status_code == 200 and "6 / 3" in draw_page.get_data(as_text=True)
    assert operator.get("/experts/").status_code == 200
    assert operator.get(f"/evaluation/{code}/progress").status_code == 200
    owner = sign_in_password_only("water")
    for path in (f"/evaluation/{code}/criteria", f"/evaluation/{code}/progress"):
        assert owner.get(path).status_code == 200, path
    assert sign_in("expert01").get(f"/evaluation/{code}/room").status_code in (403, 404)


def test_the_committee_can_finish_the_demo_evaluation_and_the_owner_publicizes(demo, session, clock):
    """What the README leaves to the visitor works with the demo's data: the three drawn experts
    confirm no conflict, score every offer, make and sign the report with their documented TOTP
    secrets; the owner (water) publishes the candidate publicity that the static notice used to fake."""
    from tests.factories.accounts import actor_ctx
    from trading.evaluation.reports import services as reports
    from trading.evaluation.scoring import services as scoring
    from trading.procedures.common.awards.services import publish_candidates

    trade = _water_trade(session)
    bidders = sorted(session.execute(select(Organisation.id).join(
        Organisation.users).where(User.username.in_(["bidder01", "bidder02", "bidder03"]))).scalars())
    members = {u: session.execute(select(User).where(User.username == u)).scalar_one() for u in EXPECTED_PANEL}
    for n, user in enumerate(members.values()):
        ctx = actor_ctx(session, clock, user)
        for b in bidders:
            scoring.declare(ctx, trade.lot_code, b, conflict=False)
        for b in bidders:
            scoring.submit_sheet(ctx, trade.lot_code, b, {
                "decision": "score", "scores": {"T1": str(20 + n), "T2": "9", "T3": "10", "C1": "8", "C2": "5"},
                "comments": {"T1": "临时供水方案不够具体", "T2": "项目经理类似业绩偏少", "C1": "类似业绩不足三项"}})
    first = actor_ctx(session, clock, members[EXPECTED_PANEL[0]])
    reports.generate_report(first, trade.lot_code)
    for username, user in members.items():
        reports.sign_report(actor_ctx(session, clock, user), trade.lot_code, "agree",
                            code=pyotp.TOTP(demo_totp_secret(username)).at(clock.now()))
    session.refresh(trade)
    assert trade.status == "reported"
    water = session.execute(select(User).where(User.username == "water")).scalar_one()
    notice = publish_candidates(actor_ctx(session, clock, water), trade.lot_code)
    assert notice.kind == "candidates" and "示范县清源水利水电工程有限公司" in notice.body
    session.commit()
    assert verify(session).ok


def check_land_tender(session, clock):
    """The 招标出让 lot: grant notice out, bids still open, the highest-price criteria and the parcel
    recorded by the grantor; anyone reads the parcel through the API and its OCDS tender names both."""
    from trading.evaluation.criteria.models import LotCriteria
    from trading.opendata import queries, rules
    from trading.procedures.common.models import LotTrade
    from trading.procedures.land_tender.models import TenderParcel

    trade = session.execute(select(LotTrade).where(LotTrade.procedure == "land_tender")).scalar_one()
    assert trade.status == "accepting" and trade.deadline_at > clock.now() + timedelta(days=5)
    notice = session.get(Notice, trade.notice_id)
    assert notice.kind == "land_grant" and notice.status == "published" and "招标出让公告" in notice.title
    parcel = session.get(TenderParcel, trade.lot_id)
    assert parcel.subject_ref == "CQ2026-21" and str(parcel.area_m2) == "15320.00" and parcel.term_years == 70
    criteria = session.execute(select(LotCriteria).where(LotCriteria.lot_id == trade.lot_id)).scalar_one()
    assert criteria.body["method"] == "highest_price"
    pub = rules.Publication("ocds-a1b2c3", "https://ggzy.example.cn", "示范县公共资源交易中心")
    tender = queries.process_releases(session, pub, trade.lot_code, clock.now())[-1]["tender"]
    assert tender["awardCriteria"] == "priceOnly" and "宗地编号：CQ2026-21" in tender["items"][0]["description"]


def test_the_demo_land_tender_parcel_is_public(demo, app):
    from trading.procedures.common.models import LotTrade

    code = db.session.execute(select(LotTrade.lot_code).where(LotTrade.procedure == "land_tender")).scalar_one()
    client = app.test_client()
    page = client.get(f"/land-tender/{code}")
    assert page.status_code == 200 and "CQ2026-21" in page.get_data(as_text=True)
    got = client.get(f"/api/v1/land-tender/{code}/parcel").json
    assert got["recorded"] is True and got["area_m2"] == "15320.00" and got["land_use"] == "城镇住宅用地"
