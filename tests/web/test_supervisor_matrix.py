"""The supervisor's permission matrix over the whole URL map (issue 6's acceptance item: "supervisors
read everything and change nothing but pause/resume, alerts and complaints").

The routes are read from the app's URL map, so an endpoint added later is covered without editing
this file:

- every state-changing route (POST/PUT/PATCH/DELETE, pages and API) is refused to a supervisor with
  403 and writes nothing (the audit head and the row count of every table unchanged), except the
  explicit allow-list below, each entry with its reason;
- every read route answers 200 to a supervisor, with real records present (a 比选 lot taken through
  the real services from publication to the contract, an auction lot with qualified applicants, an
  alert), except the explicit list of pages that belong to another role's own work, each with its
  reason.

A control shows the refusal check can fail: an allow-listed action does change something."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, literal, select, union_all

from tests.factories.accounts import actor_ctx, csrf_token, login_as, make_user
from tests.factories.custodians import ensure_custodians
from tests.factories.deposits import deposit_lot
from tests.factories.evaluation import CRITERIA, sheet
from tests.factories.journeys import (
    draw_panel,
    make_pool,
    open_by_custodians,
    registered_bidders,
    submit_price,
)
from trading.audit.models import AuditHead
from trading.core.clock import to_beijing
from trading.extensions import db

# --- what a supervisor may change, and why ---------------------------------------------------------

#: endpoint → why a supervisor may call it
ALLOWED_WRITES: dict[str, str] = {
    # 网络竞价/拍卖 pause and resume: a supervisory power of the 监督 side (rules.md; auctions.services)
    "auctions.pause": "pausing a live auction is the supervisor's intervention (网络竞价暂停)",
    "auctions.resume": "resuming the auction it paused",
    "api.auction_pause": "the same pause through the API",
    "api.auction_resume": "the same resume through the API",
    # 电子监察 alerts: the supervisor's own workflow (acknowledge → investigate → close)
    "supervision.alert_action": "working an alert (签收/核查/办结) is the supervisor's job",
    "api.acknowledge_alert": "the alert workflow through the API",
    "api.investigate_alert": "the alert workflow through the API",
    "api.close_alert": "the alert workflow through the API",
    # the audit log's witnesses are supervising departments (design/audit.md stage 2)
    "api.audit_cosign": "a supervising department cosigns checkpoints as the log's witness",
    # custody of opening keys: CAN['opening.submit_share'] and CAN['custodian.enrol'] include SUPERVISOR —
    # holding a share is custody, not operation, so no opening happens without an institution that does
    # not run the trade (accounts/rules.py CUSTODY_ACTIONS)
    "opening.custody_lot": "a supervisor custodian submits its share of the lot's opening key",
    "opening.enrol_custodian": "a supervisor enrols as a custodian (its own key)",
    "api.submit_share": "a supervisor custodian's share through the API",
    "api.reserve_share": "a supervisor custodian's share of a sealed auction reserve (底价)",
    "auctions.custody": "a supervisor custodian's share of a sealed auction reserve, by the page",
    "negotiation.submit_share": "a supervisor custodian's share of a negotiation round key",
    # the supervisor's own account: password, two-factor, tokens, log-in/out
    "auth.login": "signing in",
    "auth.logout": "signing out",
    "auth.two_factor_setup": "enrolling its own two-factor key (required for supervisors)",
    "auth.two_factor_verify": "entering its own two-factor code",
    "auth.change_password": "its own password",
    "auth.create_token": "its own API token",
    "auth.revoke_token": "revoking its own API token",
    "api.create_token": "its own API token through the API",
    "api.revoke_token": "revoking its own API token through the API",
}
#: endpoint-name prefixes allowed as a group: complaints (投诉) are handled by the supervising
#: department (招标投标法实施条例第六十条; 政府采购质疑和投诉办法 第四章) — pages and API
ALLOWED_WRITE_PREFIXES: dict[str, str] = {
    "complaints.": "complaints are received and decided by the supervising department",
    "api.complaint": "complaints through the API",
    "api.complaints": "complaints through the API",
}

#: form posts refused otherwise than by 403: endpoint → (status, why)
HTML_REFUSALS: dict[str, tuple[int, str]] = {}

#: reads that are not a supervisor's: endpoint → (status a supervisor gets, why)
NOT_SUPERVISOR_READS: dict[str, tuple[int, str]] = {
    "admin.index": (403, "system administration (三员分立)"),
    "admin.calendar": (403, "system administration"),
    "admin.organisations": (403, "system administration"),
    "admin.settings": (403, "system administration"),
    "admin.edit_setting": (403, "system administration"),
    "admin.users": (403, "system administration"),
    "api.my_deposits": (403, "a bidder's own deposit sub-accounts"),
    "deposits.my_deposits": (403, "a bidder's own deposit sub-accounts"),
    "api.list_signing_keys": (403, "a bidder's own signing keys"),
    "keys.signing_keys": (403, "a bidder's own signing keys"),
    "api.get_submission": (404, "a bidder's own upload: another's id answers like a missing one"),
    "api.receipt": (404, "a bidder's own receipt"),
    "api.negotiation_state": (404, "a supplier's own round quote"),
    "offers.receipt_json": (403, "a bidder's own receipt"),
    "offers.receipt_pdf": (403, "a bidder's own receipt"),
    "offers.lot_page": (403, "a bidder's page for registering and submitting its offer"),
    "auctions.qualification_pdf": (403, "a buyer's own qualification letter (the decisions are on the lot page)"),
    "deposits.lot_amount": (403, "the project side's form setting the deposit amount (read: /deposits/lots/…)"),
    "projects.my_projects": (403, "the project side's own list (supervisors: /supervise/projects)"),
    "timelimits.index": (403, "the centre's own time limits (supervisors: /supervise/time-limits)"),
    "auctions.custody": (404, "a custodian's page for the sealed reserve: this supervisor holds no share of it"),
    "opening.custody_lot": (403, "a custodian's share page: this supervisor holds no share of the lot"),
    "offers.my_lots": (403, "a bidder's own lots"),
    "api.receipt_inclusion": (404, "a receipt's inclusion proof is its holder's"),
    "evaluation.criteria": (403, "the project side's form setting the criteria (read: GET /api/v1/lots/…/criteria)"),
    "evaluation.sheet": (403, "a panel member's own score sheet"),
    "evaluation.room": (403, "the panel's room"),
    "awards.bid": (403, "a bidder's own award view"),
    "awards.mine": (403, "a bidder's own results"),
    "complaints.new": (403, "a bidder's complaint form"),
    "negotiation.supplier_page": (403, "a supplier's own page"),
    "notices.new_notice": (403, "writing a notice"),
    "notices.edit_notice": (403, "writing a notice"),
    "notices.new_change": (403, "writing a change notice"),
    "projects.new_project": (403, "registering a project"),
    "projects.edit_project": (403, "editing a project"),
    "projects.review": (403, "the centre's entry review"),
    "projects.review_queue": (403, "the centre's entry review"),
    "auctions.setup": (403, "the owner's listing set-up"),
    "experts.me": (403, "an expert's own profile"),
    "experts.csv_template": (403, "the centre's import template"),
    "opening.custody_share_blob": (403, "a custodian's own encrypted share (this supervisor holds none here)"),
    "auth.two_factor_setup": (302, "two-factor is already enabled: the setup page sends it on"),
    "auth.two_factor_verify": (302, "already verified in this session"),
    "auth.login": (302, "already signed in"),
}
#: reads that need a query string
READ_QUERIES = {"api.audit_consistency": "?first={first_size}&second={size}"}
#: answers that stream until they end, and static files
SKIP_READS = {"static", "favicon", "opening.hall_stream", "auctions.stream", "evaluation.progress_stream",
              "supervision.alert_stream"}

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def _allowed(endpoint: str) -> bool:
    return endpoint in ALLOWED_WRITES or endpoint.startswith(tuple(ALLOWED_WRITE_PREFIXES))


# --- the world: real records of every kind ----------------------------------------------------------

def _selection_through_the_contract(ctx, session, clock) -> dict:
    """A 比选 lot through the real services: criteria, deposit, registration, sealed prices, the
    custodians' opening, the draw, scoring, the report signed, the publicity, an objection answered,
    the award and the contract."""
    from trading.evaluation.criteria.services import set_criteria
    from trading.evaluation.reports import services as reports
    from trading.evaluation.scoring import services as scoring
    from trading.procedures.common.awards import objections, result
    from trading.procedures.common.awards import services as awards
    from trading.procedures.common.awards.models import CandidateList
    from trading.procedures.common.participation import documents

    ensure_custodians(ctx)
    owner, trade = deposit_lot(ctx, procedure="selection", deposit_yuan=10_000)
    octx = actor_ctx(session, clock, owner)
    code = trade.lot_code
    set_criteria(octx, code, CRITERIA)
    doc = documents.upload_tender_document(octx, code, title="比选文件", filename="比选文件.pdf",
                                           content_type="application/pdf", stream=io.BytesIO(b"%PDF-1.4 docs"),
                                           description="")
    make_pool(ctx, 6)
    bidders = registered_bidders(ctx, code, 3)
    receipt = None
    for b, price in zip(bidders, (812_345_67, 845_000_00, 830_000_00), strict=True):
        receipt = submit_price(b, code, price)
    clock.set(trade.deadline_at + timedelta(minutes=1))
    open_by_custodians(ctx, code)
    clock.advance(timedelta(minutes=30))
    draw, members = draw_panel(ctx, code, size=3)
    for m in members:
        for b in bidders:
            scoring.declare(m.ctx, code, b.org.id, conflict=False)
        for b, pair in zip(bidders, (("36", "18"), ("32", "16"), ("30", "15")), strict=True):
            scoring.submit_sheet(m.ctx, code, b.org.id, sheet(*pair))
    clock.advance(timedelta(hours=2))
    report = reports.generate_report(members[0].ctx, code)
    for m in members:
        clock.advance(timedelta(seconds=31))
        reports.sign_report(m.ctx, code, "agree", code=m.code(clock), report_sha256=report.sha256)
    clock.advance(timedelta(hours=1))
    awards.publish_candidates(octx, code)
    clock.advance(timedelta(days=1))
    obj = objections.file_objection(bidders[1].ctx, code, "第一名的项目经理同期在其他在建项目任职，请核查。")
    objections.answer_objection(octx, obj.id, "经核查，该项目经理已于比选前办理变更，异议不成立。")
    cl = session.execute(select(CandidateList).where(CandidateList.lot_id == trade.lot_id)).scalar_one()
    clock.set(cl.publicity_until)
    row = result.award(octx, code, bidders[0].org.id)
    clock.advance(timedelta(days=3))
    result.record_contract(octx, code, to_beijing(clock.now()).date(), 812_345_67)
    assert trade.status == "contracted"
    return {"trade": trade, "owner": owner, "bidders": bidders, "members": members, "draw": draw,
            "objection": obj, "letter": row.letters[0], "receipt": receipt, "document": doc}


def _a_winner_who_refused_to_sign(ctx, session, clock):
    """A second 比选 lot (reported by the factory) whose winner refused to sign: a default with its
    evidence file."""
    from tests.factories.awards import propose, reported_lot
    from trading.procedures.common.awards import reaward, result
    from trading.procedures.common.awards import services as awards
    from trading.procedures.common.awards.models import CandidateList

    w = reported_lot(ctx, procedure="selection", bidders=3, at=clock.now())
    propose(w, [900_000_00, 950_000_00, 990_000_00])
    awards.publish_candidates(w.c_owner, w.trade.lot_code)
    cl = session.execute(select(CandidateList).where(CandidateList.lot_id == w.trade.lot_id)).scalar_one()
    clock.set(cl.publicity_until)
    result.award(w.c_owner, w.trade.lot_code, w.bidders[0].org_id)
    return reaward.record_default(w.c_owner, w.trade.lot_code, "refused_contract", "中选人书面拒绝签订合同。",
                                  "2026年11月拒签函", evidence=b"%PDF-1.4 letter", evidence_name="拒签函.pdf")


def _negotiation_with_an_open_round(ctx, clock) -> dict:
    """A 竞争性谈判 lot past its opening (three suppliers' first prices), the team set up and a
    round open."""
    from tests.factories.negotiation import opened_negotiation
    from trading.procedures.negotiation import services as negotiation

    neg = opened_negotiation(ctx, suppliers=3)
    negotiation.start_negotiation(neg.team, neg.code, team_size=3, team_experts=2)
    rnd = negotiation.open_round(neg.team, neg.code, closes_at=clock.now() + timedelta(hours=1))
    return {"lot_code": neg.code, "round_code": rnd.code}


@pytest.fixture
def world(app, ctx, session, clock):
    from tests.factories.auctions import INC, START, auction_lot, place, started
    from tests.factories.land_tender import land_lot
    from tests.timeline import T0
    from trading.audit.checkpoints import make_checkpoint
    from trading.audit.services import record
    from trading.opendata import rules as od_rules
    from trading.procedures.auction import services as auction_services
    from trading.procedures.common.deposits.models import DepositAccount
    from trading.procedures.common.participation.models import Submission
    from trading.projects.models import Lot, Project
    from trading.supervision.alerts import services as alerts
    from trading.supervision.alerts.rules import Finding

    land = land_lot(ctx)[2]        # a published 招标出让 lot: its factory starts in August 2026
    clock.set(T0)
    sup = make_user(ctx, "supervisor", totp=True)
    auction = auction_lot(ctx, procedure="online_bidding", buyers=2)   # first: its periods end within 2026
    first_checkpoint = make_checkpoint(auction.c_op, "manual")
    dflt = _a_winner_who_refused_to_sign(ctx, session, clock)   # early: its contract period ends in 2026
    sel = _selection_through_the_contract(ctx, session, clock)
    trade = sel["trade"]
    # a complaint about the selection lot (its filing period counts working days: before December)
    from trading.supervision.complaints import services as complaints
    complaint = complaints.file_complaint(
        sel["bidders"][1].ctx, trade.lot_code, matter="process", facts="第一名的项目经理同期在其他在建项目任职。",
        request="请依法查处", known_on=to_beijing(clock.now()).date(), files=[("证明.pdf", b"%PDF-1.4 matrix")])
    # the auction sells to the higher of two bids (a 成交确认书 exists)
    started(auction)
    place(auction, auction.buyers[0], START)
    place(auction, auction.buyers[1], START + INC)
    clock.set(auction.auction.free_until)
    auction_services.end_free_phase(auction.c_op, auction.code)
    if auction.auction.outcome is None:  # a timed phase follows: nobody bids in it
        clock.set(auction.auction.deadline)
        auction_services.close_timed_phase(auction.c_op, auction.code)
    assert auction.auction.outcome == "sold"
    neg = _negotiation_with_an_open_round(ctx, clock)
    act = record(sel["bidders"][0].ctx, "opening.checked_in", "participation", 1, payload={"lot_code": trade.lot_code})
    alert = alerts.raise_finding(ctx, Finding("RF-04", "yellow", "matrix", "矩阵预警", "Matrix alert", (act.seq,),
                                              (trade.lot_id,), (), {}),
                                 project_id=trade.project_id, lot_id=trade.lot_id, embargo_lot_id=None,
                                 trigger_seq=act.seq)
    checkpoint = make_checkpoint(auction.c_op, "manual")
    lot = session.get(Lot, trade.lot_id)
    account = session.execute(select(DepositAccount).where(DepositAccount.lot_id == trade.lot_id)).scalars().first()
    sub = session.execute(select(Submission).where(Submission.lot_id == trade.lot_id)).scalars().first()
    member = sel["members"][0].member
    session.commit()
    args = {
        "lot_code": trade.lot_code, "project_id": trade.project_id, "notice_id": trade.notice_id,
        "lot_id": trade.lot_id, "alert_id": alert.id, "bidder_id": sel["bidders"][0].org.id,
        "expert_id": member.expert_id, "draw_id": sel["draw"].id, "member_id": member.id,
        "account_id": account.id, "letter_id": sel["letter"].id, "objection_id": sel["objection"].id,
        "receipt_id": sel["receipt"].public_id, "sid": sub.submission_id, "index": 0,
        "application_id": auction.buyers[0].app.id, "size": checkpoint.size, "first_size": first_checkpoint.size,
        "ocid": od_rules.ocid(app.config["OCDS_OCID_PREFIX"], trade.lot_code), "name": "extension.json",
        "user_id": sel["owner"].id, "code": "auth.max_failures_ip", "action": "acknowledge",
        "org_id": sel["owner"].org_id, "key_id": 1, "token_id": 1, "entry_id": 1, "default_id": dflt.id,
        "document_id": sel["document"].id, "response_id": 1, "change_id": 1, "round_code": neg["round_code"],
        "record_id": 1, "complaint_id": complaint.id, "file_id": complaint.files[0].id, "step": "accept",
    }
    project = session.get(Project, trade.project_id)
    return {"sup": sup, "args": args, "project_code": project.trade_code, "land_code": land.lot_code, "auction_code": auction.code, "negotiation_code": neg["lot_code"], "lot_name": lot.name, "alert": alert.id}


def _path(rule, world) -> str | None:
    args = dict(world["args"])
    if rule.endpoint.startswith(("auctions.", "api.auction", "api.reserve")):
        args["lot_code"] = world["auction_code"]
    if rule.endpoint == "supervision.project_timeline_by_code":
        args["code"] = world["project_code"]
    if rule.endpoint.startswith(("land_tender.", "api.land_tender")):
        args["lot_code"] = world["land_code"]
    if rule.endpoint.startswith(("negotiation.", "api.negotiation")):
        args["lot_code"] = world["negotiation_code"]
    path = rule.rule
    for name in rule.arguments:
        value = args.get(name)
        if value is None and rule.endpoint.startswith(tuple(ALLOWED_WRITE_PREFIXES)):
            return None  # complaints land from another change: their own tests make their records
        assert value is not None, f"{rule.endpoint}: no value for <{name}>: add one to the world"
        path = path.replace(f"<{name}>", str(value))
        for conv in ("int", "path", "string"):
            path = path.replace(f"<{conv}:{name}>", str(value))
    return path


def _row_counts() -> dict[str, int]:
    """Every table's row count in one round trip."""
    tables = db.metadata.sorted_tables
    q = union_all(*(select(literal(t.name).label("t"), func.count().label("n")).select_from(t) for t in tables))
    return dict(db.session.execute(q).all())


def _audit_head() -> int:
    return db.session.execute(select(AuditHead.next_seq).where(AuditHead.id == 1)).scalar_one()


def _unsafe_routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        for method in sorted(set(rule.methods) & set(UNSAFE)):
            yield rule, method


# --- the tests -----------------------------------------------------------------------------------

def test_a_supervisor_changes_nothing_outside_the_allow_list(app, client, world):
    login_as(client, world["sup"])
    form_token = csrf_token(client, "/supervise/")
    api_token = client.get("/api/v1/me").json["csrf_token"]
    # the supervisor's own reads are logged (supervision access log): measured after them
    checked, wrong = 0, []
    for rule, method in _unsafe_routes(app):
        if _allowed(rule.endpoint):
            continue
        path = _path(rule, world)
        if path is None:
            continue
        db.session.expire_all()
        before = (_audit_head(), _row_counts())
        api = rule.rule.startswith("/api/")
        if api:
            resp = client.open(path, method=method, json={}, headers={"X-CSRFToken": api_token})
        else:  # a file too, so that an upload form reaches its service rather than "choose a file"
            resp = client.open(path, method=method, data={"csrf_token": form_token, "file": (io.BytesIO(b"x"), "a.pdf")},
                               content_type="multipart/form-data")
        db.session.rollback()
        db.session.expire_all()
        after = (_audit_head(), _row_counts())
        checked += 1
        if api:
            # the API parses the body before the service checks the role: an empty body may be a 422 (or
            # the 404/409 of a lot of another procedure); with valid bodies the API permission matrix
            # refuses the supervisor (test_the_api_matrix_refuses_every_supervisor_write below)
            refused = resp.status_code in (403, 404, 409, 422)
        else:
            refused = resp.status_code == HTML_REFUSALS.get(rule.endpoint, (403, ""))[0]
        if not refused:
            wrong.append(f"{method} {rule.rule} ({rule.endpoint}): {resp.status_code} {resp.data[:200]!r}")
        if after != before:
            changed = {t for t in before[1] if before[1][t] != after[1].get(t)}
            wrong.append(f"{method} {rule.rule} ({rule.endpoint}) wrote: audit {before[0]}→{after[0]}, {changed}")
    assert checked >= 100, checked
    assert not wrong, "\n".join(wrong)


def test_the_allow_list_names_real_endpoints(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    assert set(ALLOWED_WRITES) <= endpoints, set(ALLOWED_WRITES) - endpoints
    assert set(NOT_SUPERVISOR_READS) <= endpoints, set(NOT_SUPERVISOR_READS) - endpoints
    unsafe = {r.endpoint for r, _ in _unsafe_routes(app)}
    assert set(ALLOWED_WRITES) <= unsafe, "an allow-listed endpoint changes nothing: drop it"


def test_a_supervisor_reads_every_record(app, client, world):
    login_as(client, world["sup"])
    checked, wrong = 0, []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.endpoint in SKIP_READS:
            continue
        path = _path(rule, world)
        if path is None:  # an argument no record of the world fills (see _path)
            continue
        path += READ_QUERIES.get(rule.endpoint, "").format(**world["args"])
        try:
            resp = client.get(path)
        except Exception as exc:  # noqa: BLE001 — report every broken page at once
            wrong.append(f"GET {rule.rule} ({rule.endpoint}): {type(exc).__name__}: {exc}")
            continue
        expected = NOT_SUPERVISOR_READS.get(rule.endpoint, (200, ""))[0]
        checked += 1
        if resp.status_code != expected:
            body = resp.data[:300].decode("utf-8", "replace").replace("\n", " ")
            wrong.append(f"GET {rule.rule} ({rule.endpoint}): {resp.status_code}, expected {expected}: {body}")
        resp.close()
    assert checked >= 100, checked
    assert not wrong, "\n".join(wrong)


def test_the_api_matrix_refuses_every_supervisor_write(app):
    """tests/api/test_permission_matrix.py calls every documented operation with a valid body (it
    fails when one is missing): its supervisor column refuses every write outside the allow-list."""
    from tests.api.test_permission_matrix import CASES
    admitted = [c for c in CASES if c.method != "GET" and c.expect["supervisor"] < 400]
    adapter = app.url_map.bind("localhost")
    wrong = []
    for case in admitted:
        path = "/api/v1" + re.sub(r"{[^}]+}", "1", case.path).replace("{consistency_query}", "")
        endpoint, _ = adapter.match(path, method=case.method)
        if not _allowed(endpoint):
            wrong.append(f"{case.id} ({endpoint}) admits the supervisor")
    assert admitted and not wrong, wrong


def test_control_an_allow_listed_action_does_write(client, world):
    """The measurement above can see a write: the supervisor's acknowledgement moves the audit head
    and its refusal of a non-allowed form (an operator's review) moves nothing."""
    login_as(client, world["sup"])
    token = csrf_token(client, "/supervise/")
    before = _audit_head()
    resp = client.post(f"/supervise/alerts/{world['alert']}/acknowledge", data={"csrf_token": token})
    assert resp.status_code == 302
    db.session.expire_all()
    assert _audit_head() > before
