"""Secrecy before the deadline (招标投标法 Art. 22; design/sealing.md guarantee 4) as a matrix over
roles and endpoints.

Two lots of one project are the same in every way but one: bidder X registered for lot A, paid its
deposit, downloaded the documents and submitted a sealed offer; lot B has nobody. For every role but
X itself, every page and API answer about lot A must be byte-for-byte the answer about lot B (after
swapping the lot's code, name and id): the same status — so no 403-versus-404 difference — and the
same body, so no count, list or name. The routes are read from the app's URL map, so a route added
later is checked without editing this file. X's submission and receipt ids must answer exactly like
ids that do not exist. Pages without a lot in their address must not change at all when X acts.

Positive controls show the comparison can fail: X sees its own lot A differently from lot B, and after
the deadline the owner's participant list names X."""

from __future__ import annotations

import base64
import json
import re
import secrets
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from tests.factories.accounts import actor_ctx, login_as, make_org, make_user
from tests.factories.notices import notice_project, published_notice
from trading.accounts.signing_keys import register_signing_key
from trading.core.context import ServiceContext
from trading.extensions import db
from trading.procedures.common.deposits.services import set_lot_deposit
from trading.procedures.common.models import LotTrade
from trading.procedures.common.opening.models import OpeningKey
from trading.procedures.common.participation import completion, services
from trading.procedures.common.participation.models import Receipt
from trading.procedures.common.participation.rules import UPLOAD_CHUNK_BYTES
from trading.projects.models import Lot
from trading.sealing import envelope as env

ROLES = ("anonymous", "owner", "other_owner", "operator", "supervisor", "expert", "admin", "other_bidder")
#: endpoints that stream forever or download a file whose refusal is checked elsewhere
SKIP_ENDPOINTS = {"opening.hall_stream", "auctions.stream", "evaluation.progress_stream", "supervision.alert_stream",
                  "static"}
#: pages whose content legitimately moves with any activity on the platform (they show no bidder):
#: the integrity check prints the chain length (see the README's note on stage-1 audit counts); the
#: supervisors' access log lists the supervisor's own reads, so it grows with every page this matrix visits
CHANGES_WITH_ANY_ACTIVITY = {"supervision.audit_verify", "api.audit_verify", "supervision.access_log_page",
                             "api.supervision_access_log"}


def _lot_pair(ctx, owner):
    project = notice_project(ctx, owner, procedure="tender",
                             lots=[{"name": "甲标段", "budget_fen": 60_000_000},
                                   {"name": "乙标段", "budget_fen": 60_000_000}])
    octx = actor_ctx(ctx.session, ctx.clock, owner)
    notice = published_notice(octx, project)
    lots = list(ctx.session.execute(select(Lot).where(Lot.project_id == project.id).order_by(Lot.seq)).scalars())
    for lot in lots:
        set_lot_deposit(octx, lot.code, 1_000_000)
    return notice, lots


def _submit_offer(ctx_x, lot_code: str, key, credit_code: str) -> str:
    """The whole upload protocol through the services: start, manifest, chunks, complete."""
    info = services.sealing_info(ctx_x, lot_code)
    opening_pub = env.load_public(base64.b64decode(info["opening_key"]["public"]))
    sub = services.start_submission(ctx_x, lot_code, "price")
    sheet = json.dumps({"v": 1, "price_fen": 7_654_321, "duration_days": 90, "quality": "合格", "remarks": ""},
                       ensure_ascii=False).encode()
    manifest, payload = env.seal(sheet, env.Context(lot_code, credit_code, "price", sub.submission_id),
                                 opening_pub, key)
    services.put_manifest(ctx_x, sub.submission_id, json.dumps(manifest).encode())
    size = UPLOAD_CHUNK_BYTES
    for i in range(max(1, -(-len(payload) // size))):
        services.put_chunk(ctx_x, sub.submission_id, i, payload[i * size:(i + 1) * size])
    completion.complete_submission(ctx_x, sub.submission_id)
    return sub.submission_id


@pytest.fixture()
def scene(app, session, clock):
    sys_ctx = ServiceContext(session=session, clock=clock, ip="127.0.0.1")
    owner = make_user(sys_ctx, "owner")
    notice, (lot_a, lot_b) = _lot_pair(sys_ctx, owner)
    people = {
        "owner": owner,
        "other_owner": make_user(sys_ctx, "owner"),
        "operator": make_user(sys_ctx, "operator", totp=True),
        "supervisor": make_user(sys_ctx, "supervisor", totp=True),
        "expert": make_user(sys_ctx, "expert"),
        "admin": make_user(sys_ctx, "admin", totp=True),
        "other_bidder": make_user(sys_ctx, "bidder"),
    }
    x_org = make_org(sys_ctx, "bidder", name="甲乙丙建筑工程有限公司")
    x = make_user(sys_ctx, "bidder", org=x_org)
    # X's signing key belongs to its company, not to a lot: made before anyone looks
    key = ec.generate_private_key(ec.SECP256R1())
    register_signing_key(actor_ctx(session, clock, x), public_raw=env.public_raw(key.public_key()), label="X",
                         source="tool")
    session.commit()
    return {"owner": owner, "notice": notice, "a": lot_a, "b": lot_b, "people": people, "x": x, "x_org": x_org,
            "x_key": key}


def _x_acts(scene, session, clock) -> dict:
    """Bidder X registers for lot A (its deposit sub-account opens), downloads nothing yet, makes a
    signing key and submits a sealed price part. Returns X's submission id and receipt."""
    x, lot_a = scene["x"], scene["a"]
    ctx_x = actor_ctx(session, clock, x)
    services.register_for_lot(ctx_x, lot_a.code)
    sid = _submit_offer(ctx_x, lot_a.code, scene["x_key"], scene["x_org"].credit_code)
    receipt = session.execute(select(Receipt).order_by(Receipt.id.desc())).scalars().first()
    session.commit()
    return {"sid": sid, "receipt": receipt}


def _client(app, user):
    client = app.test_client()
    if user is not None:
        login_as(client, user)
    return client


_VOLATILE = [
    (re.compile(r'name="csrf_token" (type="hidden" )?value="[^"]+"'), 'name="csrf_token" value="CSRF"'),
    (re.compile(r'<meta name="csrf-token" content="[^"]+"'), '<meta name="csrf-token" content="CSRF"'),
    (re.compile(r'"csrf_token":\s*"[^"]+"'), '"csrf_token":"CSRF"'),
    (re.compile(r'data-csrf(-token)?="[^"]+"'), 'data-csrf="CSRF"'),
    (re.compile(r"nonce-[A-Za-z0-9+/=_-]+"), "nonce-N"),
    (re.compile(r'nonce="[^"]+"'), 'nonce="N"'),
]


def _normalise(body: str, swaps: list[tuple[str, str]]) -> str:
    for old, new in swaps:
        body = body.replace(old, new)
    for pattern, repl in _VOLATILE:
        body = pattern.sub(repl, body)
    return body


def _diff(a: tuple[int, str], b: tuple[int, str]) -> str:
    import difflib
    lines = difflib.unified_diff(a[1].splitlines(), b[1].splitlines(), "lot A", "lot B", lineterm="", n=0)
    return f"{a[0]} vs {b[0]}: " + "\n".join(list(lines)[:12])


def _lot_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP_ENDPOINTS or "GET" not in rule.methods:
            continue
        if set(rule.arguments) == {"lot_code"}:
            yield rule


#: addresses of the project and its notice (the same for both lots): filled from the scene
PROJECT_ARGS = {"project_id", "notice_id", "lot_id"}


def _plain_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP_ENDPOINTS | CHANGES_WITH_ANY_ACTIVITY or "GET" not in rule.methods:
            continue
        if not set(rule.arguments) <= PROJECT_ARGS or rule.endpoint.startswith(("auth.", "admin.")):
            continue
        yield rule


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cells(data: bytes) -> str:
    """A workbook compared by its cells (its zip and document dates change with every rendering)."""
    import io

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data))
    return "\n".join(f"{ws.title}!{row}" for ws in wb.worksheets for row in ws.iter_rows(values_only=True))


def _get(client, path):
    resp = client.get(path)
    if resp.mimetype == "application/pdf":
        return resp.status_code, "<pdf>"
    if resp.mimetype == XLSX:
        return resp.status_code, _cells(resp.data)
    return resp.status_code, resp.get_data(as_text=True)


def _lot_answers(app, client, scene, lot) -> dict[str, tuple[int, str]]:
    key = db.session.execute(select(OpeningKey).where(OpeningKey.lot_id == lot.id)).scalar_one()
    # each lot has its own opening key: public information, different by design
    swaps = [(lot.code, "LOT"), (lot.name, "NAME"), (f"/lots/{lot.id}", "/lots/ID"),
             (env.b64(bytes(key.public_raw)), "OPENING_PUB"), (env.b64(bytes(key.kid)), "OPENING_KID"),
             (bytes(key.public_raw).hex(), "OPENING_PUB"), (bytes(key.kid).hex(), "OPENING_KID")]
    out = {}
    for rule in _lot_routes(app):
        path = rule.rule.replace("<lot_code>", lot.code)
        status, body = _get(client, path)
        out[rule.rule] = (status, _normalise(body, swaps))
    return out


def _plain_answers(app, client, scene) -> dict[str, tuple[int, str]]:
    out = {}
    for rule in _plain_routes(app):
        path = (rule.rule.replace("<int:project_id>", str(scene["a"].project_id))
                .replace("<int:notice_id>", str(scene["notice"].id)).replace("<int:lot_id>", str(scene["a"].id)))
        status, body = _get(client, path)
        out[rule.rule] = (status, _normalise(body, []))
    return out


@pytest.mark.parametrize("role", ROLES)
def test_before_the_deadline_nothing_about_lot_a_differs_from_empty_lot_b(app, session, clock, scene, role):
    user = None if role == "anonymous" else scene["people"][role]
    before_plain = _plain_answers(app, _client(app, user), scene)
    _x_acts(scene, session, clock)
    client = _client(app, user)
    answers_a = _lot_answers(app, client, scene, scene["a"])
    answers_b = _lot_answers(app, client, scene, scene["b"])
    assert answers_a, "no lot routes found: the matrix would prove nothing"
    differ = [path for path in answers_a if answers_a[path] != answers_b[path]]
    assert not differ, {p: _diff(answers_a[p], answers_b[p]) for p in differ}
    after_plain = _plain_answers(app, client, scene)
    changed = [p for p in after_plain if after_plain[p] != before_plain.get(p)]
    assert not changed, {p: _diff(before_plain[p], after_plain[p]) for p in changed}
    x_name, x_code = scene["x_org"].name, scene["x_org"].credit_code
    for path, (_, body) in answers_a.items():
        assert x_name not in body and x_code not in body, path


@pytest.mark.parametrize("role", ROLES)
def test_x_submission_and_receipt_ids_answer_like_ids_that_do_not_exist(app, session, clock, scene, role):
    acted = _x_acts(scene, session, clock)
    user = None if role == "anonymous" else scene["people"][role]
    client = _client(app, user)
    csrf = {}
    if user is not None:
        me = client.get("/api/v1/me")
        if me.status_code == 200:
            csrf = {"X-CSRFToken": me.json["csrf_token"]}
    real_sid, fake_sid = acted["sid"], secrets.token_urlsafe(18)
    real_rid = acted["receipt"].public_id
    fake_rid = secrets.token_urlsafe(len(real_rid))[:len(real_rid)]
    checked = 0
    for rule in app.url_map.iter_rules():
        args = set(rule.arguments)
        if not args or not args <= {"sid", "index", "receipt_id"} or rule.endpoint in SKIP_ENDPOINTS:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            answers = []
            for sid, rid in ((real_sid, real_rid), (fake_sid, fake_rid)):
                path = rule.rule.replace("<sid>", sid).replace("<index>", "0").replace("<receipt_id>", rid)
                resp = client.open(path, method=method, headers=csrf, data=b"x" if method == "PUT" else None)
                body = resp.get_data(as_text=True).replace(sid, "SID").replace(rid, "RID")
                answers.append((resp.status_code, _normalise(body, [])))
            assert answers[0] == answers[1], (method, rule.rule, answers[0][0], answers[1][0])
            # 400 is the CSRF refusal of a form post without a token (the same for every id)
            assert answers[0][0] in (302, 400, 401, 403, 404), (method, rule.rule, answers[0][0])
            checked += 1
    assert checked >= 8


def test_control_x_itself_sees_its_own_lot_differently(app, session, clock, scene):
    _x_acts(scene, session, clock)
    client = _client(app, scene["x"])
    answers_a = _lot_answers(app, client, scene, scene["a"])
    answers_b = _lot_answers(app, client, scene, scene["b"])
    assert [p for p in answers_a if answers_a[p] != answers_b[p]]


def test_control_after_the_deadline_the_owner_sees_the_participants(app, session, clock, scene):
    _x_acts(scene, session, clock)
    trade = session.get(LotTrade, scene["a"].id)
    clock.set(trade.deadline_at)
    client = _client(app, scene["owner"])
    resp = client.get(f"/api/v1/lots/{scene['a'].code}/participants")
    assert resp.status_code == 200, resp.get_json()
    assert scene["x_org"].credit_code in resp.get_data(as_text=True)
    clock.set(trade.deadline_at - timedelta(microseconds=1))
    assert client.get(f"/api/v1/lots/{scene['a'].code}/participants").status_code == 403
