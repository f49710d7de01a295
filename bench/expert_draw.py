"""Expert draw with avoidance over a pool of 20,000 experts and 50 bidders per lot, on PostgreSQL.

Set-up (not measured): a 比选 lot published through the real services (bench/_offers.py), 50 bidder
organisations registered for it (cloned rows), 2,000 employer organisations, and 20,000 expert
accounts put in the pool (cloned users, experts inserted in bulk): every expert has the requested
specialty GC01 (so the whole pool is the candidate set) plus one of nine others; 2,500 declared
relations spread over the pool (one in five with one of the bidders, employments ending at various
dates around the 3-year look-back), 100 experts employed by a bidder, 1,000 unavailable periods
covering the evaluation day, and 200 earlier panels of the same owner (1,000 seats) for the
frequency cap. Then the clock moves past the deadline.

Measured, each repetition in a savepoint rolled back afterwards (so every repetition sees the same
pool): the draw = request_draw + run_draw. The request reads the set-based pool snapshot (one query
per kind of fact, never one per expert), checks eligibility, freezes the snapshot (canonical JSON,
zlib, SHA-256) and commits the seed's and the snapshot's digests; the run parses the frozen snapshot,
applies the avoidance filters, samples with the DRBG, seats the sealed panel and writes the reveal.
Each half is reported too. Baseline, in the same run: a plain random sample of the same pool — the candidate ids of the
specialty in one query and the same DRBG sampler, no avoidance. Correctness: a committed draw
re-verifies from its audit entries, and no drawn expert is conflicted with a bidder."""

from __future__ import annotations

import secrets
import shutil
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert, select, text

from bench import _offers as offers
from bench.common import Figure
from trading.core.clock import FrozenClock, to_beijing

SCHEMA = "bench_expert_draw"
POOL = 20_000
BIDDERS = 50
PANEL = 5
REPEATS = 25


def _pool(session, clock, lot, bidder_orgs: list[int], n: int, today: date) -> dict:
    """Bulk-load n experts with their specialties, relations, unavailable periods and history."""
    from trading.accounts.models import Organisation, User
    from trading.evaluation.experts.models import Expert, ExpertRelation, ExpertSpecialty, ExpertUnavailable
    from trading.evaluation.panels import Panel, PanelMember

    ctx = offers.system_ctx(session, clock)
    template = offers.make_user(ctx, "expert", "expert_employer")
    employers = [template.org_id] + offers.clone_rows(
        session, Organisation, template.org_id,
        ({"name": f"基准测试设计院{i}", "credit_code": offers.credit_code(300_000_000 + i)} for i in range(1, max(20, n // 10))))
    user_ids = offers.clone_rows(session, User, template.id,
                                 ({"username": f"bench-expert-x{i}", "display_name": f"专家{i}",
                                   "org_id": template.org_id} for i in range(n)))
    now = clock.now() - timedelta(days=30)
    rows = [{"user_id": u, "name": f"专家{i}", "id_card_masked": "510104********123X",
             "employer_org_id": bidder_orgs[i % len(bidder_orgs)] if i % (n // 100 or 1) == 0 else employers[i % len(employers)],
             "region_id": None, "title": "高级工程师", "senior": True, "years": 8 + i % 20, "status":
             "suspended" if i % 97 == 0 else "active", "status_reason": "", "created_at": now, "updated_at": now}
            for i, u in enumerate(user_ids)]
    expert_ids = []
    for at in range(0, n, 2000):
        expert_ids += list(session.execute(insert(Expert).returning(Expert.id, sort_by_parameter_order=True),
                                           rows[at:at + 2000]).scalars())
    session.execute(insert(ExpertSpecialty), [{"expert_id": e, "code": "GC01"} for e in expert_ids] +
                    [{"expert_id": e, "code": f"SZ0{1 + i % 9}"} for i, e in enumerate(expert_ids)])
    relations = []
    for j in range(max(50, n // 8)):
        e = expert_ids[(j * 7919) % n]
        org = bidder_orgs[j % len(bidder_orgs)] if j % 5 == 0 else employers[(j * 31) % len(employers)]
        kind = ("employment", "directorship", "shareholding", "relative", "other")[j % 5 if j % 5 else (j // 5) % 5]
        ended = today - timedelta(days=365 * (1 + j % 5)) if kind == "employment" else None
        relations.append({"expert_id": e, "org_id": org, "kind": kind, "from_on": date(2005, 1, 1) + timedelta(days=j),
                          "to_on": ended, "note": "", "declared_at": now, "withdrawn_at": None})
    session.execute(insert(ExpertRelation), relations)
    session.execute(insert(ExpertUnavailable), [
        {"expert_id": expert_ids[(j * 104729) % n], "start_on": today - timedelta(days=j % 3),
         "end_on": today + timedelta(days=j % 4), "reason": "出差", "created_at": now} for j in range(max(10, n // 20))])
    regulars = max(PANEL, min(n // 4, 300))     # 200 panels over 300 experts: most sat 3+ times (frequency cap)
    for p in range(max(60, n // 100)):
        panel_id = session.execute(insert(Panel).returning(Panel.id), [{
            "lot_id": lot.lot_id, "kind": "committee", "size": PANEL, "experts_required": PANEL, "status": "closed",
            "created_at": now - timedelta(days=p % 300), "sealed_until": None, "draw_id": None}]).scalar_one()
        session.execute(insert(PanelMember), [
            {"panel_id": panel_id, "expert_id": expert_ids[(p * PANEL + s) % regulars],
             "user_id": user_ids[(p * PANEL + s) % regulars],
             "role": "expert", "status": "active", "replaced_by_id": None, "replaced_reason": "", "joined_at": now}
            for s in range(PANEL)])
    return {"experts": n, "relations": len(relations), "bidder_relations": sum(r["org_id"] in set(bidder_orgs)
                                                                             for r in relations)}


def _register(session, lot, bidders) -> None:
    from trading.procedures.common.participation.models import Participation

    session.execute(insert(Participation), [
        {"lot_id": lot.lot_id, "bidder_org_id": b.org_id, "registered_by": b.user_id,
         "registered_at": lot.deadline_at - timedelta(days=1), "status": "registered"} for b in bidders])


def _conflicted(session, bidder_orgs: set[int]) -> set[int]:
    from trading.evaluation.experts.models import Expert, ExpertRelation

    ids = set(session.execute(select(Expert.id).where(Expert.employer_org_id.in_(bidder_orgs))).scalars())
    return ids | set(session.execute(select(ExpertRelation.expert_id).where(
        ExpertRelation.org_id.in_(bidder_orgs), ExpertRelation.kind != "employment")).scalars())


def run(scale: float = 1.0) -> list[Figure]:
    blobs = offers.blob_dir("expert-draw")
    try:
        return _run(scale, blobs)
    finally:
        shutil.rmtree(blobs.parent, ignore_errors=True)


def _run(scale: float, blobs) -> list[Figure]:
    from trading.core.context import ServiceContext
    from trading.evaluation.draw import rules
    from trading.evaluation.draw import services as draw
    from trading.evaluation.experts.models import ExpertSpecialty
    from trading.extensions import db

    n = max(300, int(POOL * scale))
    repeats = max(5, int(REPEATS * min(1.0, scale * 4)))
    offers.fresh_schema(SCHEMA)
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    app = offers.make_app(SCHEMA, blobs, clock=clock)
    with app.app_context():
        session = db.session
        started = time.perf_counter()
        lot = offers.publish_sealed_lot(session, clock)
        bidders = offers.make_bidders(session, clock, BIDDERS)
        _register(session, lot, bidders)
        clock.set(lot.deadline_at + timedelta(hours=1))
        today = to_beijing(clock.now()).date()
        loaded = _pool(session, clock, lot, [b.org_id for b in bidders], n, today)
        session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))   # what autovacuum does after a bulk load
        print(f"  set-up: {n:,} experts, {BIDDERS} bidders, {loaded['relations']:,} relations "
              f"({time.perf_counter() - started:.0f} s)")
        op = ServiceContext(session=session, actor=offers.accounts.actor_for(lot.operator), clock=clock, ip="127.0.0.1")
        request = {"size": PANEL, "specialties": ["GC01"], "experts_required": PANEL}

        def plain() -> list[int]:
            ids = list(session.connection().execute(
                select(ExpertSpecialty.expert_id).where(ExpertSpecialty.code == "GC01")).scalars())
            return rules.plain_sample(ids, PANEL, secrets.token_bytes(32))

        run_ms, both_ms, plain_ms = [], [], []
        for i in range(repeats + 1):        # the first round warms caches and is not counted
            t0 = time.perf_counter()
            plain()
            t_plain = time.perf_counter() - t0
            nested = session.begin_nested()
            t0 = time.perf_counter()
            d = draw.request_draw(op, lot.lot_code, **request)
            t1 = time.perf_counter()
            draw.run_draw(op, d.id)
            t2 = time.perf_counter()
            nested.rollback()
            if i:
                plain_ms.append(t_plain * 1000)
                run_ms.append((t2 - t1) * 1000)
                both_ms.append((t2 - t0) * 1000)
        d = draw.request_draw(op, lot.lot_code, **request)
        session.commit()
        draw.run_draw(op, d.id)
        session.commit()
        verified = draw.verify_draw(session, d.id)
        conflicted = _conflicted(session, {b.org_id for b in bidders})
        run_entry = draw.draw_entries(session, d.id)[1]["payload"]
    med_run, med_both, med_plain = (statistics.median(x) for x in (run_ms, both_ms, plain_ms))
    clean = not (set(d.result) & conflicted)
    details = {"pool": n, "bidders": BIDDERS, "repeats": repeats, **loaded, "run_ms": [round(x, 2) for x in run_ms],
               "plain_ms": [round(x, 2) for x in plain_ms], "verified": verified.ok, "no_conflicted_drawn": clean,
               "eligible": run_entry["eligible_count"], "excluded": run_entry["excluded"]}
    note = (f"eligible {run_entry['eligible_count']:,} of {run_entry['pool_size']:,}; excluded {run_entry['excluded']}; "
            f"re-verified from the audit trail: {'yes' if verified.ok else 'NO'}; conflicted drawn: "
            f"{'none' if clean else 'SOME'}")
    return [
        Figure(name=f"expert draw, {n:,} pool, avoidance", value=round(med_both, 2), unit="ms",
               baseline=round(med_plain, 2), baseline_name="plain random sample", target="verified, none conflicted",
               ok=verified.ok and clean, note=note, details=details),
        Figure(name="expert draw: the run alone", value=round(med_run, 2), unit="ms", baseline=round(med_plain, 2),
               baseline_name="plain random sample",
               note=f"request (snapshot queries, eligibility, freezing) {med_both - med_run:.0f} ms of the draw"),
    ]
