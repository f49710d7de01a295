"""The role × endpoint permission matrix of /api/v1.

One test per endpoint, parametrized; inside it every role calls the endpoint and the whole row of
statuses is compared at once, so a failure prints which roles differ. (One world per endpoint rather
than per cell: building the world costs about a second, and 27 × 9 worlds would take minutes.)
Endpoints that consume their target (submit, publish, review) get a fresh target per role. Every
refusal is a JSON {"error", "message"} and leaves the audit trail exactly as it was."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.api.conftest import ROLES, audit_next_seq
from tests.factories.accounts import valid_credit_code
from tests.factories.notices import compliant_dates, make_notice
from tests.factories.projects import make_project, project_fields, submitted_project
from trading.extensions import db
from trading.projects.models import Project


def row(anonymous, owner, agency, other_owner, bidder, expert, operator, supervisor, admin) -> dict[str, int]:
    return dict(zip(ROLES, (anonymous, owner, agency, other_owner, bidder, expert, operator, supervisor, admin),
                    strict=True))


def every(status: int, anonymous: int | None = None) -> dict[str, int]:
    out = dict.fromkeys(ROLES, status)
    if anonymous is not None:
        out["anonymous"] = anonymous
    return out


def _draft(w) -> dict:
    return {"draft": make_project(w["as"]["agency"], owner_org_id=w["owner_org"]).id}


def _submitted(w) -> dict:
    return {"submitted": submitted_project(w["as"]["agency"], owner_org_id=w["owner_org"]).id}


def _notice_draft(w) -> dict:
    project = db.session.get(Project, w["accepted"])
    return {"notice_draft": make_notice(w["as"]["owner"], project, title="又一份比选公告").id}


def _project_body(w) -> dict:
    return project_fields(w["as"]["owner"], owner_org_id=w["owner_org"])


def _new_public() -> str:
    from cryptography.hazmat.primitives.asymmetric import ec

    from trading.sealing.envelope import b64, public_raw
    return b64(public_raw(ec.generate_private_key(ec.SECP256R1()).public_key()))


def _signing_key(w) -> dict:
    import base64

    from trading.accounts.signing_keys import register_signing_key
    key = register_signing_key(w["as"]["bidder"], public_raw=base64.b64decode(_new_public()), source="browser")
    return {"signing_key": key.id}


def _lot_code(w) -> dict:
    from sqlalchemy import select

    from trading.procedures.common.models import LotTrade
    trade = db.session.execute(select(LotTrade).where(LotTrade.project_id == w["accepted"])).scalars().first()
    return {"lot_code": trade.lot_code}


def _criteria_lot(w) -> dict:
    """A new published lot of the owner organisation (criteria set by one role would make the next
    role's identical PUT a no-op)."""
    from sqlalchemy import select

    from tests.factories.notices import published_notice
    from tests.factories.projects import accepted_project
    from trading.procedures.common.models import LotTrade
    project = accepted_project(w["as"]["agency"], w["as"]["operator"], owner_org_id=w["owner_org"])
    published_notice(w["as"]["owner"], project)
    trade = db.session.execute(select(LotTrade).where(LotTrade.project_id == project.id)).scalars().first()
    return {"lot_code": trade.lot_code}


def _land_lot(w) -> dict:
    """A published 招标出让 lot of the owner organisation (registered by its agency), made once."""
    if "land_code" not in w:
        from sqlalchemy import select

        from tests.factories.notices import bj_at, published_notice
        from tests.factories.projects import accepted_project
        from trading.procedures.common.models import LotTrade
        project = accepted_project(w["as"]["agency"], w["as"]["operator"], owner_org_id=w["owner_org"],
                                   procedure="land_tender", category="land", owner_type="gov",
                                   funding_source="self_raised", fiscal_share_bp=0)
        at = bj_at(w["as"]["owner"].now(), 25, 9, 0)
        published_notice(w["as"]["owner"], project, deadline_at=at, opening_at=at, closing_at=None)
        w["land_code"] = db.session.execute(select(LotTrade.lot_code).where(LotTrade.project_id == project.id)) \
            .scalar_one()
    return {"lot_code": w["land_code"]}


def _land_reserve_lot(w, step: str = "") -> dict:
    """A new published 招标出让 lot of the owner organisation for each call (the reserve choice is
    write-once); with step "started" its owner has started sealing the reserve (context kept in w)."""
    from sqlalchemy import select

    from tests.factories.notices import bj_at, published_notice
    from tests.factories.projects import accepted_project
    from trading.procedures.common.models import LotTrade
    from trading.procedures.land_tender import reserve

    project = accepted_project(w["as"]["agency"], w["as"]["operator"], owner_org_id=w["owner_org"],
                               procedure="land_tender", category="land", owner_type="gov",
                               funding_source="self_raised", fiscal_share_bp=0)
    at = bj_at(w["as"]["owner"].now(), 25, 9, 0)
    published_notice(w["as"]["owner"], project, deadline_at=at, opening_at=at, closing_at=None)
    code = db.session.execute(select(LotTrade.lot_code).where(LotTrade.project_id == project.id)).scalar_one()
    if step == "started":
        w["land_reserve_info"] = reserve.start_reserve(w["as"]["owner"], code)
    return {"lot_code": code}


def _land_reserve_body(w) -> dict:
    import base64

    from tests.factories.auctions import seal_reserve_envelope

    manifest, payload, signer = seal_reserve_envelope(w["land_reserve_info"], 1_200_000_000)
    return {"submission_id": w["land_reserve_info"]["submission_id"], "manifest": manifest,
            "payload": base64.b64encode(payload).decode(), "signer_public": base64.b64encode(signer).decode()}


def _parcel_body() -> dict:
    return {"subject_ref": "城区2026-21号", "location": "城区滨江路北侧", "area_m2": "12345.67"}


def _checkpoint(w) -> dict:
    from trading.audit.checkpoints import make_checkpoint
    cp = make_checkpoint(w["as"]["operator"], "manual")
    return {"size": cp.size, "consistency_query": f"?first=0&second={cp.size}"}


def _cosignable(w) -> dict:
    """The supervisor's organisation registered as a witness (once) and its cosignature line on the
    latest checkpoint, kept in the world for the body."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from trading.audit import checkpoints, note
    if "witness_key" not in w:
        w["witness_key"] = Ed25519PrivateKey.generate()
        checkpoints.register_witness(w["as"]["admin"], org_id=w["as"]["supervisor"].actor.org_id,
                                     name="witness.matrix", public_raw=note.public_raw(w["witness_key"]))
    target = _checkpoint(w)
    body, _ = note.split_note(checkpoints.checkpoint_at(db.session, target["size"]).note)
    w["cosign_line"] = note.cosign(body, "witness.matrix", w["witness_key"], 1_780_000_000).line()
    return target


def _criteria_body() -> dict:
    from tests.factories.evaluation import CRITERIA
    return CRITERIA


def _registered(w) -> dict:
    """The world's bidder registered for the lot, with an upload started for the price part."""
    from trading.procedures.common.participation import services as offers
    code = _lot_code(w)["lot_code"]
    offers.register_for_lot(w["as"]["bidder"], code)
    sub = offers.start_submission(w["as"]["bidder"], code, "price")
    return {"lot_code": code, "sid": sub.submission_id}


def _negotiation_round(w) -> dict:
    """A 竞争性谈判 lot of the owner organisation (registered by its agency) past its opening, with the
    world's bidder among three suppliers, a round open, and the bidder's quote upload started."""
    from datetime import timedelta

    from sqlalchemy import select

    from tests.factories.notices import notice_project, published_notice
    from tests.factories.offers import bidder_with_key
    from trading.accounts.models import User
    from trading.procedures.common.models import LotTrade
    from trading.procedures.common.opening.models import OpeningResult
    from trading.procedures.negotiation import quotes, services

    owner = db.session.get(User, w["as"]["owner"].actor.user_id)
    agency = db.session.get(User, w["as"]["agency"].actor.user_id)
    op = w["as"]["operator"]
    project = notice_project(op, owner, agency=agency, category="goods", owner_type="gov", procedure="negotiation")
    published_notice(w["as"]["agency"], project)
    trade = db.session.execute(select(LotTrade).where(LotTrade.project_id == project.id)).scalars().first()
    now = op.now()  # the opening is written directly (the clock is the world's: it does not move)
    orgs = [w["as"]["bidder"].actor.org_id] + [bidder_with_key(op).org.id for _ in range(2)]
    for i, org in enumerate(orgs):
        db.session.add(OpeningResult(lot_id=trade.lot_id, submission_id=f"pm-{trade.lot_id}-{i}", bidder_org_id=org,
                                     part="price", payload_sha256="0" * 64, outcome="opened", price_fen=100_00,
                                     opened_at=now))
    trade.status = "opened"
    db.session.flush()
    services.start_negotiation(op, trade.lot_code, team_size=3, team_experts=2)
    rnd = services.open_round(op, trade.lot_code, closes_at=now + timedelta(hours=1))
    sid = quotes.start_quote(w["as"]["bidder"], rnd.code).submission_id
    return {"lot_code": trade.lot_code, "round_code": rnd.code, "sid": sid}


def _auction_lot(w, step: str = "") -> dict:
    """A 挂牌 lot in its listing period with the world's bidder qualified (deposit paid) beside two
    other buyers; paused by a supervisor when step == "paused". Built from the timeline's T0 each time
    (a started listing moves the clock to its start)."""
    from tests.factories.auctions import Buyer, auction_lot, pay_deposit, started
    from tests.timeline import T0
    from trading.procedures.auction import services as auctions

    op = w["as"]["operator"]
    op.clock.set(T0)
    a = auction_lot(op, buyers=2)
    me = Buyer(None, w["as"]["bidder"])
    me.app, _ = auctions.apply(me.ctx, a.code)
    pay_deposit(a, me)
    auctions.qualify(a.c_op, me.app.id)
    started(a)
    if step == "paused":
        auctions.pause(a.c_sup, a.code, "系统维护")
    return {"lot_code": a.code}


def _reserve_lot(w, step: str = "") -> dict:
    """A 挂牌 lot of the world's owner in its listing period, custodians enrolled; with step "started"
    the owner has started sealing its reserve (the context is kept in w for the body)."""
    from tests.factories.auctions import auction_lot
    from tests.factories.custodians import ensure_custodians
    from tests.timeline import T0
    from trading.accounts.models import User
    from trading.procedures.auction import reserve

    op = w["as"]["operator"]
    op.clock.set(T0)
    ensure_custodians(op)
    a = auction_lot(op, buyers=0, owner=db.session.get(User, w["as"]["owner"].actor.user_id))
    if step == "started":
        w["reserve_info"] = reserve.start_reserve(a.c_owner, a.code)
    return {"lot_code": a.code}


def _reserve_body(w) -> dict:
    import base64

    from tests.factories.auctions import seal_reserve_envelope

    manifest, payload, signer = seal_reserve_envelope(w["reserve_info"], 90_000_000)
    return {"submission_id": w["reserve_info"]["submission_id"], "manifest": manifest,
            "payload": base64.b64encode(payload).decode(), "signer_public": base64.b64encode(signer).decode()}


def _auction_scheduled(w, step: str = "") -> dict:
    """A 挂牌 lot of the world's owner organisation (its agency acting too), configured, not started;
    one outside buyer has applied (deposit paid, not yet decided). step == "due": the clock at the
    announced start."""
    from tests.factories.auctions import add_buyer, auction_lot
    from tests.timeline import T0

    op = w["as"]["operator"]
    op.clock.set(T0)
    a = auction_lot(op, buyers=0)
    project = db.session.get(Project, a.auction.project_id)
    project.owner_org_id, project.agency_org_id = w["owner_org"], w["as"]["agency"].actor.org_id
    b = add_buyer(a, qualify=False)
    if step == "due":
        op.clock.set(a.auction.start_at)
    return {"lot_code": a.code, "application_id": b.app.id}


def _listing_body(w) -> dict:
    return {"starting_fen": 90_000_000, "increment_fen": 1_000_000, "deposit_fen": 18_000_000, "countdown_s": 300,
            "subject_ref": "城东2026-07号", "area_m2": "6666.67", "land_use": "城镇住宅用地", "term_years": 70}


def _award_lot(w, procedure: str = "selection", step: str = "") -> dict:
    """A lot of the owner organisation (its agency registered) with the world's bidder and two others
    registered, reported with the three as candidates (the world's bidder first) — then, by `step`,
    publicized, objected to by the world's bidder, confirmed (GP) or awarded (GP)."""
    from sqlalchemy import select

    from tests.factories.notices import notice_project, published_notice
    from tests.factories.offers import bidder_with_key
    from trading.accounts.models import User
    from trading.procedures.common.awards import objections, result
    from trading.procedures.common.awards import services as awards
    from trading.procedures.common.awards.rules import CandidateIn
    from trading.procedures.common.models import LotTrade
    from trading.procedures.common.participation.models import Participation

    owner, op, bidder = w["as"]["owner"], w["as"]["operator"], w["as"]["bidder"]
    extra = {"category": "goods", "owner_type": "gov"} if procedure == "inquiry" else {}
    project = notice_project(op, db.session.get(User, owner.actor.user_id),
                             agency=db.session.get(User, w["as"]["agency"].actor.user_id), procedure=procedure, **extra)
    published_notice(w["as"]["agency"], project)
    trade = db.session.execute(select(LotTrade).where(LotTrade.project_id == project.id)).scalars().first()
    people = [(bidder.actor.org_id, bidder.actor.user_id)] + [(b.org.id, b.user.id)
                                                             for b in (bidder_with_key(op) for _ in range(2))]
    for org, user in people:
        db.session.add(Participation(lot_id=trade.lot_id, bidder_org_id=org, registered_by=user,
                                     registered_at=op.now(), status="registered"))
    trade.status = "reported"
    db.session.flush()
    code = trade.lot_code
    awards.propose_candidates(owner, code, [CandidateIn(org, i, 100_000_00 + i) for i, (org, _) in
                                            enumerate(people, start=1)], report_id=None)
    out = {"lot_code": code}
    if step in ("publicized", "objection"):
        awards.publish_candidates(owner, code)
    if step == "objection":
        out["objection_id"] = objections.file_objection(bidder, code, "评审打分有误，请复核第一名的业绩证明材料。").id
    if step in ("confirmed", "awarded", "defaulted"):
        awards.confirm_supplier(owner, code, bidder.actor.org_id)
    if step in ("awarded", "defaulted"):
        result.award(owner, code, bidder.actor.org_id, team_names=["王专家", "李专家", "赵某"])
    if step == "defaulted":
        from trading.procedures.common.awards import reaward
        reaward.record_default(owner, code, "waived", "成交供应商书面声明放弃成交。", "放弃声明（来函）")
    return out


def _complaint(w, step: str = "") -> dict:
    """A complaint (投诉) by the world's bidder about the result of a 比选 lot of the owner organisation,
    after its objection was answered (one lot and objection for the whole world; a new complaint per
    call) — then, by `step`, accepted, suspended or paused by the supervisor."""
    from trading.procedures.common.awards import objections
    from trading.supervision.complaints import services as complaints

    if "complaint_lot" not in w:
        lot = _award_lot(w, step="objection")
        objections.answer_objection(w["as"]["owner"], lot["objection_id"], "经复核，第一名业绩证明材料真实有效，维持评审结果。")
        w["complaint_lot"], w["complaint_objection"] = lot["lot_code"], lot["objection_id"]
    out = {"lot_code": w["complaint_lot"]}
    if step == "lot":
        return out
    bidder, sup = w["as"]["bidder"], w["as"]["supervisor"]
    c = complaints.file_complaint(bidder, w["complaint_lot"], **_complaint_body(w, as_body=False))
    if step in ("accepted", "paused"):
        complaints.accept(sup, c.id)
    if step == "paused":
        complaints.pause(sup, c.id, "expert_review", "组织专家复核")
    if step == "suspended":
        complaints.suspend(sup, c.id, 5, "暂停采购活动待查")
    out["complaint_id"] = c.id
    return out


def _complaint_body(w, as_body: bool = True) -> dict:
    from trading.reference.workdays import beijing_date
    known = beijing_date(w["as"]["owner"].now())
    return {"matter": "result", "facts": "第一名的业绩证明材料与实际不符，评审委员会未予核实。", "request": "请责令重新评审",
            "known_on": known.isoformat() if as_body else known, "objection_id": w["complaint_objection"]}


def _award_body(w, **extra) -> dict:
    return {"bidder_org_id": w["as"]["bidder"].actor.org_id, **extra}


def _contract_body(w) -> dict:
    from trading.reference.workdays import beijing_date
    return {"signed_on": beijing_date(w["as"]["owner"].now()).isoformat(), "amount_fen": 100_000_01}


def _statement_csv(w) -> bytes:
    return "交易时间,收款账号,付款人户名,付款账号,金额,流水号\n".encode()


def _notice_body(w) -> dict:
    dates = compliant_dates("selection", "announcement", w["as"]["owner"].now())
    return {"project_id": w["accepted"], "kind": "announcement", "title": "示范县道路工程比选公告",
            "body": "一、项目概况", **{k: v.isoformat() for k, v in dates.items()}}


def _alert(w, step: str = "") -> dict:
    """A fresh supervision alert (about a bidder's action, not about anyone in the cast but the
    bidder), acknowledged first when the step needs it."""
    from trading.audit.services import record
    from trading.supervision.alerts import services as alerts
    from trading.supervision.alerts.rules import Finding
    w["alerts_made"] = w.get("alerts_made", 0) + 1
    act = record(w["as"]["bidder"], "opening.checked_in", "participation", 1, payload={"lot_code": "M"})
    alert = alerts.raise_finding(w["as"]["admin"], Finding("RF-04", "yellow", f"matrix:{w['alerts_made']}", "矩阵预警",
                                                           "Matrix alert", (act.seq,), (), (), {}),
                                 project_id=None, lot_id=None, embargo_lot_id=None, trigger_seq=act.seq)
    if step == "acknowledged":
        alerts.acknowledge_alert(w["as"]["supervisor"], alert.id)
    return {"alert_id": alert.id}


@dataclass
class Case:
    method: str
    path: str
    expect: dict[str, int]
    body: Callable | dict | None = None
    fresh: Callable | None = None
    #: a POST that only computes an answer (the envelope self-test) and so writes no audit entry
    reads: bool = False

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


OK, CREATED, GONE = 200, 201, 204
# anonymous, owner, agency, other_owner, bidder, expert, operator, supervisor, admin
PROJECT_READ = row(401, OK, OK, 404, 404, 404, 404, OK, 404)        # target: a draft (the centre sees none)
OWNER_SIDE_WRITE = row(401, OK, OK, 404, 403, 403, 403, 403, 403)
CENTRE_REVIEW = row(401, 403, 403, 403, 403, 403, OK, 403, 403)
NOTICE_WRITE = row(401, OK, OK, 404, 403, 403, OK, 403, 403)
AUDIT = row(401, 403, 403, 403, 403, 403, 403, OK, 403)
BIDDER_ONLY = row(401, 403, 403, 403, OK, 403, 403, 403, 403)
SUPERVISOR_ONLY = row(401, 403, 403, 403, 403, 403, 403, OK, 403)

CASES = [
    Case("GET", "/openapi.json", every(OK)),
    Case("GET", "/me", every(OK, anonymous=401)),
    Case("GET", "/me/tokens", every(OK, anonymous=401)),
    Case("POST", "/me/tokens", every(CREATED, anonymous=401), body={"name": "对接"}),
    Case("DELETE", "/me/tokens/{token}", row(401, GONE, 404, 404, 404, 404, 404, 404, 404)),
    Case("GET", "/organisations", every(OK, anonymous=401)),
    Case("GET", "/organisations/{owner_org}", row(401, OK, 404, 404, 404, 404, OK, OK, OK)),
    Case("POST", "/organisations", row(401, 403, 403, 403, 403, 403, 403, 403, CREATED),
         body={"name": "示范县新登记有限公司", "credit_code": valid_credit_code(31337), "kind": "bidder"}),
    Case("GET", "/projects", every(OK, anonymous=401)),
    Case("GET", "/projects/{draft}", PROJECT_READ),
    Case("GET", "/projects/{submitted}", row(401, OK, OK, 404, 404, 404, OK, OK, 404)),
    Case("POST", "/projects", row(401, CREATED, CREATED, 403, 403, 403, 403, 403, 403), body=_project_body),
    Case("PATCH", "/projects/{draft}", OWNER_SIDE_WRITE, body={"expected_version": 1, "name": "改名后的道路工程"},
         fresh=_draft),
    Case("POST", "/projects/{draft}/submit", OWNER_SIDE_WRITE, body={"expected_version": 1}, fresh=_draft),
    Case("POST", "/projects/{submitted}/return", CENTRE_REVIEW, body={"comment": "请补充审批文件扫描件"},
         fresh=_submitted),
    Case("POST", "/projects/{submitted}/accept", CENTRE_REVIEW, body={}, fresh=_submitted),
    Case("POST", "/projects/{submitted}/refuse", CENTRE_REVIEW, body={"comment": "不属于进场交易范围"},
         fresh=_submitted),
    Case("GET", "/projects/{draft}/lots", PROJECT_READ),
    Case("GET", "/lots/{lot}", PROJECT_READ),
    Case("GET", "/notices", every(OK)),
    Case("GET", "/notices/{published}", every(OK)),
    Case("GET", "/notices/{notice_draft}", row(404, OK, OK, 404, 404, 404, OK, OK, 404)),
    Case("POST", "/notices", row(401, CREATED, CREATED, 404, 403, 403, CREATED, 403, 403), body=_notice_body),
    Case("PATCH", "/notices/{notice_draft}", NOTICE_WRITE, body={"title": "更正后的比选公告"}, fresh=_notice_draft),
    Case("GET", "/notices/{notice_draft}/check", row(401, OK, OK, 404, 403, 403, OK, OK, 403)),
    Case("POST", "/notices/{notice_draft}/publish", NOTICE_WRITE, fresh=_notice_draft),
    Case("GET", "/audit/entries", AUDIT),
    Case("GET", "/audit/verify", AUDIT),
    # the supervision workspace's reads: supervisors only (and each read lands in their access log)
    Case("GET", "/supervision/projects/{submitted}/timeline", SUPERVISOR_ONLY, fresh=_submitted),
    Case("GET", "/supervision/access-log", SUPERVISOR_ONLY),
    # stage 2: checkpoints, proofs and keys are public; only a registered witness's supervisor cosigns
    Case("GET", "/audit/log-key", every(OK)),
    Case("GET", "/audit/checkpoints/latest", every(OK), fresh=_checkpoint),
    Case("GET", "/audit/checkpoints/{size}", every(OK), fresh=_checkpoint),
    Case("GET", "/audit/consistency{consistency_query}", every(OK), fresh=_checkpoint),
    Case("POST", "/audit/checkpoints/{size}/cosignatures", row(401, 403, 403, 403, 403, 403, 403, CREATED, 403),
         body=lambda w: {"line": w["cosign_line"]}, fresh=_cosignable),
    Case("GET", "/receipts/{receipt_id}/inclusion", row(401, 404, 404, 404, 404, 404, 404, 404, 404),
         fresh=lambda w: {"receipt_id": "unknownreceipt1"}),
    Case("GET", "/signing-keys", BIDDER_ONLY),
    Case("POST", "/signing-keys", row(401, 403, 403, 403, CREATED, 403, 403, 403, 403),
         body=lambda w: {"public": _new_public()}),
    Case("POST", "/signing-keys/{signing_key}/revoke", BIDDER_ONLY, body={"reason": "换电脑"}, fresh=_signing_key),
    # opening (before the deadline): only the lot's custodians may submit shares; the record is 404 to all
    Case("POST", "/lots/{lot_code}/shares", every(403, anonymous=401), body={"passphrase": "custodian-pass-1"},
         fresh=_lot_code),
    Case("GET", "/lots/{lot_code}/opening-record", every(404), fresh=_lot_code),
    # sealed offers before the deadline (Art. 22): lists are 403 for everyone, whether or not anyone
    # registered; another organisation's upload is the 404 of an id that does not exist
    Case("GET", "/receipt-key", every(OK)),
    Case("GET", "/lots/{lot_code}/sealing", every(OK, anonymous=401), fresh=_lot_code),
    Case("POST", "/lots/{lot_code}/registration", row(401, 403, 403, 403, CREATED, 403, 403, 403, 403),
         fresh=_lot_code),
    # issuing a submission id writes nothing: the row and its entry come with the upload's first use
    Case("POST", "/lots/{lot_code}/submissions", row(401, 403, 403, 403, CREATED, 403, 403, 403, 403),
         body={"part": "documents"}, fresh=_registered, reads=True),
    Case("GET", "/lots/{lot_code}/participants", every(403, anonymous=401), fresh=_registered),
    Case("GET", "/lots/{lot_code}/downloads", every(403, anonymous=401), fresh=_registered),
    Case("GET", "/lots/{lot_code}/deposits", row(401, 409, 409, 404, 403, 403, 409, 409, 403), fresh=_registered),
    Case("GET", "/submissions/{sid}", row(401, 404, 404, 404, OK, 404, 404, 404, 404), fresh=_registered),
    Case("PUT", "/submissions/{sid}/manifest", row(401, 404, 404, 404, 422, 404, 404, 404, 404),
         body={"v": 1}, fresh=_registered),
    Case("PUT", "/submissions/{sid}/chunks/{index}", row(401, 404, 404, 404, 409, 404, 404, 404, 404),
         body={"index": 0}, fresh=_registered),
    Case("POST", "/submissions/{sid}/complete", row(401, 404, 404, 404, 409, 404, 404, 404, 404),
         fresh=_registered),
    Case("PUT", "/submissions/{sid}/envelope", row(401, 404, 404, 404, 422, 404, 404, 404, 404),
         body={"v": 1}, fresh=_registered),
    Case("POST", "/submissions/{sid}/withdraw", row(401, 404, 404, 404, 409, 404, 404, 404, 404),
         fresh=_registered),
    Case("POST", "/submissions/{sid}/selftest", row(401, 404, 404, 404, OK, 404, 404, 404, 404),
         fresh=_registered, reads=True),
    Case("GET", "/submissions/{sid}/receipt", row(401, 404, 404, 404, 404, 404, 404, 404, 404),
         fresh=_registered),
    Case("GET", "/deposits", BIDDER_ONLY),
    Case("POST", "/deposits/statements", row(401, 403, 403, 403, 403, 403, 422, 403, 403)),
    Case("POST", "/lots/{lot_code}/opening-record/responses", row(401, 403, 403, 403, 404, 403, 403, 403, 403),
         body={"response": "confirm"}, fresh=_lot_code),
    # evaluation criteria (评分细则): the project side only, before the deadline; a fresh lot per role
    # (supervisors read them too: the fresh lot has none yet, the same 404 criteria.missing as the owner's)
    Case("GET", "/lots/{lot_code}/criteria", row(401, 404, 404, 404, 403, 403, 403, 404, 403), fresh=_lot_code),
    Case("PUT", "/lots/{lot_code}/criteria", row(401, OK, OK, 404, 403, 403, 403, 403, 403),
         body=lambda w: _criteria_body(), fresh=_criteria_lot),
    # 招标出让 parcel: public once the grant notice is out; the project side records it before the deadline
    # (another owner is told it is not a party: the lot itself is public)
    Case("GET", "/land-tender/{lot_code}/parcel", every(OK), fresh=_land_lot),
    Case("PUT", "/land-tender/{lot_code}/parcel", row(401, OK, OK, 403, 403, 403, 403, 403, 403),
         body=lambda w: _parcel_body(), fresh=_land_lot),
    # 招标出让 sealed reserve (底价): whether one exists is public (never the amount before the opening);
    # the project side records its choice once before the deadline. The envelope the owner sealed names
    # the owner's organisation, so the agency submitting it is refused as a context mismatch (422).
    Case("GET", "/land-tender/{lot_code}/reserve", every(OK), fresh=_land_lot),
    Case("POST", "/land-tender/{lot_code}/reserve/start", row(401, CREATED, CREATED, 403, 403, 403, 403, 403, 403),
         body={}, fresh=_land_reserve_lot),
    Case("PUT", "/land-tender/{lot_code}/reserve", row(401, OK, 422, 403, 403, 403, 403, 403, 403),
         body=_land_reserve_body, fresh=lambda w: _land_reserve_lot(w, "started")),
    Case("POST", "/land-tender/{lot_code}/reserve/none", row(401, OK, OK, 403, 403, 403, 403, 403, 403),
         body={}, fresh=_land_reserve_lot),
    # 竞争性谈判 round quotes (after the opening: the suppliers are known to the team, the prices are not)
    Case("GET", "/negotiation/lots/{round_code}/sealing", every(OK, anonymous=401), fresh=_negotiation_round),
    # suppliers come from the opening, they do not register: the call only answers whether one is still in
    Case("POST", "/negotiation/lots/{round_code}/registration", row(401, 403, 403, 403, OK, 403, 403, 403, 403),
         fresh=_negotiation_round, reads=True),
    Case("POST", "/negotiation/lots/{round_code}/submissions", row(401, 403, 403, 403, CREATED, 403, 403, 403, 403),
         body={"part": "price"}, fresh=_negotiation_round),
    Case("GET", "/negotiation/submissions/{sid}", row(401, 404, 404, 404, OK, 404, 404, 404, 404),
         fresh=_negotiation_round),
    Case("PUT", "/negotiation/submissions/{sid}/manifest", row(401, 404, 404, 404, 422, 404, 404, 404, 404),
         body={"v": 1}, fresh=_negotiation_round),
    Case("PUT", "/negotiation/submissions/{sid}/chunks/{index}", row(401, 404, 404, 404, 409, 404, 404, 404, 404),
         body={"index": 0}, fresh=_negotiation_round),
    Case("POST", "/negotiation/submissions/{sid}/complete", row(401, 404, 404, 404, 409, 404, 404, 404, 404),
         fresh=_negotiation_round),
    Case("GET", "/negotiation/receipt-key", every(OK)),
    Case("POST", "/negotiation/lots/{lot_code}/rounds/close", row(401, 403, 422, 403, 403, 403, 422, 403, 403),
         fresh=_negotiation_round),
    # the team's report: refused while the negotiation runs (409 for the team, 403 for everyone else)
    Case("POST", "/negotiation/lots/{lot_code}/report", row(401, 403, 409, 403, 403, 403, 409, 403, 403),
         body={}, fresh=_negotiation_round),
    # 拍卖/挂牌/网络竞价: anyone logged in reads the room (the price is public, bidders masked); only a
    # qualified buyer bids; only a supervisor pauses and resumes (a resume needs a paused trade)
    Case("GET", "/auctions/{lot_code}", every(OK, anonymous=401), fresh=_auction_lot),
    Case("POST", "/auctions/{lot_code}/bids", row(401, 403, 403, 403, CREATED, 403, 403, 403, 403),
         body=lambda w: {"answers_price": 80_000_000, "amount_fen": 80_000_000, "client_bid_id": "matrix-1"},
         fresh=_auction_lot),
    Case("POST", "/auctions/{lot_code}/pause", row(401, 403, 403, 403, 403, 403, 403, OK, 403),
         body={"reason": "系统故障"}, fresh=_auction_lot),
    Case("POST", "/auctions/{lot_code}/resume", row(401, 403, 403, 403, 403, 403, 403, OK, 403),
         body={"reason": "故障排除"}, fresh=lambda w: _auction_lot(w, "paused")),
    # 挂牌: a qualified buyer opts in to the timed phase; only the centre (the host) adjusts the increment
    Case("POST", "/auctions/{lot_code}/opt-in", row(401, 403, 403, 403, OK, 403, 403, 403, 403),
         fresh=_auction_lot),
    Case("POST", "/auctions/{lot_code}/increment", row(401, 403, 403, 403, 403, 403, OK, 403, 403),
         body={"increment_fen": 2_000_000, "reason": "竞价激烈"}, fresh=_auction_lot),
    # the sealed reserve (底价): the owner side starts and submits it once; whether one exists is public
    # (never its amount before the opening); only the lot's custodians submit shares, after bidding ends
    Case("GET", "/auctions/{lot_code}/reserve", every(OK), fresh=_auction_lot),
    Case("POST", "/auctions/{lot_code}/reserve/start", row(401, CREATED, 404, 404, 403, 403, 403, 403, 403),
         body={}, fresh=_reserve_lot),
    Case("PUT", "/auctions/{lot_code}/reserve", row(401, OK, 404, 404, 403, 403, 403, 403, 403),
         body=_reserve_body, fresh=lambda w: _reserve_lot(w, "started")),
    Case("POST", "/auctions/{lot_code}/reserve/shares", row(401, 403, 403, 403, 403, 403, 404, 404, 403),
         body={"passphrase": "x"}, fresh=_auction_lot),
    Case("PUT", "/auctions/{lot_code}/listing", row(401, OK, OK, 404, 403, 403, OK, 403, 403), body=_listing_body,
         fresh=_auction_scheduled),
    Case("POST", "/auctions/{lot_code}/applications", row(401, 403, 403, 403, CREATED, 403, 403, 403, 403),
         fresh=_auction_scheduled),
    Case("POST", "/auction-applications/{application_id}/decision", row(401, 403, 403, 403, 403, 403, OK, 403, 403),
         body={"decision": "refuse", "note": "营业执照已过期"}, fresh=_auction_scheduled),
    Case("POST", "/auctions/{lot_code}/start", row(401, 403, 403, 403, 403, 403, OK, 403, 403),
         fresh=lambda w: _auction_scheduled(w, "due")),
    # award steps: the project side acts; the centre and supervisors read; a participating bidder reads its view
    Case("GET", "/lots/{lot_code}/awards", row(401, OK, OK, 404, OK, 404, OK, OK, 404), fresh=_award_lot),
    Case("POST", "/lots/{lot_code}/awards/publicity", row(401, CREATED, CREATED, 404, 403, 403, 403, 403, 403),
         fresh=_award_lot),
    Case("POST", "/lots/{lot_code}/awards/confirmation", row(401, OK, OK, 404, 403, 403, 403, 403, 403),
         body=_award_body, fresh=lambda w: _award_lot(w, "inquiry")),
    Case("POST", "/lots/{lot_code}/awards/passes", row(401, CREATED, CREATED, 404, 403, 403, 403, 403, 403),
         body=lambda w: _award_body(w, reason="waived", note="供应商书面声明放弃中标"), fresh=_award_lot),
    Case("POST", "/lots/{lot_code}/awards/award", row(401, CREATED, CREATED, 404, 403, 403, 403, 403, 403),
         body=lambda w: _award_body(w, team_names=["王专家", "李专家", "赵某"]),
         fresh=lambda w: _award_lot(w, "inquiry", "confirmed")),
    Case("POST", "/lots/{lot_code}/awards/contract", row(401, CREATED, CREATED, 404, 403, 403, 403, 403, 403),
         body=_contract_body, fresh=lambda w: _award_lot(w, "inquiry", "awarded")),
    Case("POST", "/lots/{lot_code}/awards/default", row(401, CREATED, CREATED, 404, 403, 403, 403, 403, 403),
         body={"kind": "waived", "reason": "成交供应商书面声明放弃成交。", "evidence_note": "放弃声明（来函）"},
         fresh=lambda w: _award_lot(w, "inquiry", "awarded")),
    Case("POST", "/lots/{lot_code}/awards/next", row(401, CREATED, CREATED, 404, 403, 403, 403, 403, 403),
         body={}, fresh=lambda w: _award_lot(w, "inquiry", "defaulted")),
    Case("POST", "/lots/{lot_code}/awards/reprocure", row(401, OK, OK, 404, 403, 403, 403, 403, 403),
         body={"reason": "重新组织采购"}, fresh=lambda w: _award_lot(w, "inquiry", "defaulted")),
    Case("POST", "/lots/{lot_code}/objections", row(401, 403, 403, 403, CREATED, 403, 403, 403, 403),
         body={"text": "评审打分有误，请复核第一名的业绩证明材料。"}, fresh=lambda w: _award_lot(w, step="publicized")),
    Case("POST", "/objections/{objection_id}/reply", row(401, OK, OK, 404, 403, 403, 403, 403, 403),
         body={"reply": "经复核，第一名业绩证明材料真实有效，维持评审结果。"}, fresh=lambda w: _award_lot(w, step="objection")),
    # 电子监察预警: supervisors read and work alerts; the centre reads them (not those about itself) and
    # changes nothing; nobody else reads them
    Case("GET", "/alerts", row(401, 403, 403, 403, 403, 403, OK, OK, 403), fresh=_alert),
    Case("GET", "/alerts/{alert_id}", row(401, 403, 403, 403, 403, 403, OK, OK, 403), fresh=_alert),
    Case("POST", "/alerts/{alert_id}/acknowledge", row(401, 403, 403, 403, 403, 403, 403, OK, 403), fresh=_alert),
    Case("POST", "/alerts/{alert_id}/investigate", row(401, 403, 403, 403, 403, 403, 403, OK, 403),
         body={"note": "调取接入记录"}, fresh=lambda w: _alert(w, "acknowledged")),
    Case("POST", "/alerts/{alert_id}/close", row(401, 403, 403, 403, 403, 403, 403, OK, 403),
         body={"outcome": "unfounded", "finding": "共用出口IP，无关联"}, fresh=lambda w: _alert(w, "acknowledged")),
    # complaints (投诉): a bidder files; only supervisors handle; the complainant withdraws; the respondent
    # owner/agency reads accepted ones (a filed one is 404 to it); decisions are public
    Case("GET", "/complaints", row(401, OK, OK, OK, OK, 403, 403, OK, 403)),
    Case("GET", "/complaints/clocks", row(401, 403, 403, 403, 403, 403, 403, OK, 403)),
    Case("GET", "/complaint-decisions", every(OK)),
    Case("POST", "/lots/{lot_code}/complaints", row(401, 403, 403, 403, CREATED, 403, 403, 403, 403),
         body=_complaint_body, fresh=lambda w: _complaint(w, "lot")),
    Case("GET", "/complaints/{complaint_id}", row(401, 404, 404, 404, OK, 404, 404, OK, 404), fresh=_complaint),
    Case("POST", "/complaints/{complaint_id}/accept", SUPERVISOR_ONLY, fresh=_complaint),
    Case("POST", "/complaints/{complaint_id}/rejection", SUPERVISOR_ONLY, body={"reason": "不属于受理范围"},
         fresh=_complaint),
    Case("POST", "/complaints/{complaint_id}/suspension", SUPERVISOR_ONLY, body={"days": 5, "reason": "暂停采购活动待查"},
         fresh=_complaint),
    Case("POST", "/complaints/{complaint_id}/suspension/lift", SUPERVISOR_ONLY, body={"reason": "无需继续暂停"},
         fresh=lambda w: _complaint(w, "suspended")),
    Case("POST", "/complaints/{complaint_id}/pause", SUPERVISOR_ONLY, body={"kind": "testing", "reason": "委托检测"},
         fresh=lambda w: _complaint(w, "accepted")),
    Case("POST", "/complaints/{complaint_id}/resume", SUPERVISOR_ONLY, fresh=lambda w: _complaint(w, "paused")),
    Case("POST", "/complaints/{complaint_id}/decision", SUPERVISOR_ONLY,
         body={"outcome": "dismissed", "decision": "经调查，投诉事项缺乏事实依据，予以驳回。"},
         fresh=lambda w: _complaint(w, "accepted")),
    Case("POST", "/complaints/{complaint_id}/withdrawal", BIDDER_ONLY, body={"reason": "已与招标人协商解决"},
         fresh=_complaint),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_permission_matrix(world, caller, case: Case):
    got: dict[str, int] = {}
    for role in ROLES:
        targets = dict(world)
        if case.fresh:
            targets.update(case.fresh(world))
            db.session.commit()
        path = case.path.format(index=0, **targets)
        body = case.body(world) if callable(case.body) else case.body
        before = audit_next_seq()
        resp = caller(role).call(case.method, path, body)
        got[role] = resp.status_code
        if resp.status_code >= 400:
            assert set(resp.json) >= {"error", "message"} and resp.json["message"], (role, resp.json)
            assert audit_next_seq() == before, f"{role}: a refused {case.id} wrote to the audit trail"
        elif case.method != "GET" and not case.reads:
            assert audit_next_seq() > before, f"{role}: {case.id} changed something without an audit entry"
    assert got == case.expect


def test_matrix_covers_every_documented_operation(client):
    spec = client.get("/api/v1/openapi.json").json
    documented = {f"{m.upper()} {p.removeprefix('/api/v1')}" for p, ops in spec["paths"].items() for m in ops}
    tested = {f"{c.method} {c.path}" for c in CASES}
    normalise = {"{token}": "{token_id}", "{owner_org}": "{org_id}", "{draft}": "{project_id}",
                 "{submitted}": "{project_id}", "{lot}": "{lot_id}", "{published}": "{notice_id}",
                 "{notice_draft}": "{notice_id}", "{signing_key}": "{key_id}", "{consistency_query}": ""}
    for short, long in normalise.items():
        tested = {t.replace(short, long) for t in tested}
    assert documented == tested
