"""Supervision alerts through the real services: raised by the after-commit hook at the event (once,
idempotent), held back by a lot's secrecy until its deadline and then announced by the sweep, the
sweep catching what the hook missed, the supervisor's workflow with its audit entries, bad input
refused with nothing changed, and who reads which alert."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories.accounts import actor_ctx, make_org, make_user
from tests.factories.custodians import ensure_custodians
from tests.factories.deposits import deposit_lot, statement_csv
from tests.factories.journeys import open_by_custodians, submit_price
from tests.factories.offers import bidder_with_key
from trading.audit.models import AuditEntry
from trading.audit.services import record
from trading.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from trading.core.events import LiveEvent
from trading.procedures.common.deposits import statements
from trading.procedures.common.deposits.models import DepositAccount
from trading.procedures.common.participation.services import register_for_lot
from trading.projects.models import Lot
from trading.supervision.alerts import evaluator
from trading.supervision.alerts import services as alerts
from trading.supervision.alerts.models import AlertCursor, SupervisionAlert
from trading.supervision.alerts.rules import Finding


@pytest.fixture
def hooked(app):
    app.config["ALERTS_ON_COMMIT"] = True
    return app


@pytest.fixture
def people(ctx, session, clock):
    sup = make_user(ctx, "supervisor")
    op = make_user(ctx, "operator")
    op2 = make_user(ctx, "operator")
    bidder = make_user(ctx, "bidder")
    session.commit()
    return {name: actor_ctx(session, clock, u) for name, u in
            (("sup", sup), ("op", op), ("op2", op2), ("bidder", bidder))}


def all_alerts(session) -> list[SupervisionAlert]:
    session.expire_all()
    return list(session.execute(select(SupervisionAlert).order_by(SupervisionAlert.id)).scalars())


def register_from(ctx, code: str, ips: list[str]):
    out = []
    for ip in ips:
        b = bidder_with_key(ctx)
        b.ctx.ip = ip
        register_for_lot(b.ctx, code)
        out.append(b)
    return out


def sweep(app, clock, limit: int = evaluator.BATCH):
    from trading.core.context import ServiceContext
    from trading.extensions import db
    return evaluator.sweep(lambda: ServiceContext(session=db.session, clock=clock, ip="cli"), limit=limit)


def test_same_ip_is_raised_at_registration_once_and_shown_from_the_deadline(hooked, ctx, session, clock, people):
    _, trade = deposit_lot(ctx, procedure="selection", deposit_yuan=None)
    session.commit()
    bidders = register_from(ctx, trade.lot_code, ["10.9.9.9", "10.9.9.9", "10.1.1.1"])
    session.commit()                                   # the hook evaluates right after this commit
    [alert] = all_alerts(session)
    assert (alert.rule, alert.severity, alert.status) == ("RF-04", "yellow", "open")
    assert alert.evidence["orgs"] == sorted(b.org.id for b in bidders[:2])
    assert alert.evidence["facts"] == {"ip": "10.9.9.9"} and len(alert.evidence["seqs"]) == 2
    assert alert.embargo_lot_id == trade.lot_id and alert.announced_at is None
    assert alert.raised_at == clock.now()              # raised at the event
    raised = session.execute(select(AuditEntry).where(AuditEntry.action == "alert.raised")).scalar_one()
    assert raised.embargo_lot_id == trade.lot_id       # the trail keeps it as secret as the alert

    # before the deadline nobody reads it, supervisors included (rules.md §2.4)
    assert alerts.list_alerts(people["sup"]) == []
    with pytest.raises(NotFound):
        alerts.get_alert(people["sup"], alert.id)

    # more acts, the hook again, a sweep: still one alert
    submit_price(bidders[0], trade.lot_code, 500_000_00)
    session.commit()
    assert sweep(hooked, clock)[1] == 0
    assert len(all_alerts(session)) == 1

    # after the deadline: visible, and the sweep announces it once on the live channel
    clock.set(trade.deadline_at + timedelta(minutes=1))
    assert [a.id for a in alerts.list_alerts(people["sup"])] == [alert.id]
    assert sweep(hooked, clock) == (0, 0, 1)
    assert sweep(hooked, clock) == (0, 0, 0)
    [event] = session.execute(select(LiveEvent).where(LiveEvent.channel == alerts.CHANNEL)).scalars().all()
    assert event.name == "alert:new" and event.data["id"] == alert.id and event.data["lot_code"] == trade.lot_code


def test_the_background_evaluator_raises_the_alert_after_the_commit(app, ctx, session, clock):
    """Production's mode: the commit wakes the process's evaluator thread; the alert follows."""
    app.config["ALERTS_ON_COMMIT"] = False
    _, trade = deposit_lot(ctx, procedure="selection", deposit_yuan=None)
    register_from(ctx, trade.lot_code, ["10.7.7.7"])
    late = bidder_with_key(ctx)
    session.commit()
    # switched on only now: the tests' in-memory SQLite is one connection, which the evaluator thread
    # may use only while this thread waits for it
    app.config["ALERTS_ON_COMMIT"] = "background"
    late.ctx.ip = "10.7.7.7"
    register_for_lot(late.ctx, trade.lot_code)
    session.commit()
    assert evaluator.BACKGROUND.drain(timeout=20)
    [alert] = all_alerts(session)
    assert (alert.rule, alert.evidence["facts"]) == ("RF-04", {"ip": "10.7.7.7"})
    registered = session.execute(select(func.max(AuditEntry.seq))
                                 .where(AuditEntry.action == "participation.registered")).scalar_one()
    assert session.get(AlertCursor, 1).next_seq > registered


def test_the_background_evaluator_folds_a_burst_of_commits_into_one_pass(app, monkeypatch):
    """A burst of offers to one lot must not cost one pass (every bidder act of the lot) per offer:
    the wake-ups of the debounce window share a pass; a later wake-up gets its own."""
    passes = []
    monkeypatch.setattr(evaluator, "evaluate_now", lambda bind, clock, **kw: passes.append(kw))
    app.config["ALERTS_DEBOUNCE_S"] = 1.0
    background = evaluator.BackgroundEvaluator()
    background.wake(app, None)
    time.sleep(0.1)  # without the wait the first pass would have run by now, and a second would follow
    for _ in range(4):
        background.wake(app, None)
    assert background.drain(timeout=10)
    assert len(passes) == 1
    background.wake(app, None)
    assert background.drain(timeout=10)
    assert len(passes) == 2


@pytest.mark.parametrize("value, testing, mode", [
    (None, False, "background"), (None, True, "off"), (True, True, "inline"), ("inline", False, "inline"),
    ("background", True, "background"), (False, False, "off"), (0, False, "off"), ("off", False, "off"),
])
def test_hook_modes(app, value, testing, mode):
    app.config.pop("ALERTS_ON_COMMIT", None)
    if value is not None:
        app.config["ALERTS_ON_COMMIT"] = value
    app.testing = testing
    assert evaluator.hook_mode(app) == mode


def test_an_unknown_hook_mode_is_refused(app):
    app.config["ALERTS_ON_COMMIT"] = "sometimes"
    with pytest.raises(ValueError, match="inline, background or off"):
        evaluator.hook_mode(app)


def test_the_sweep_catches_what_the_hook_missed(app, ctx, session, clock):
    app.config["ALERTS_ON_COMMIT"] = False             # as if the process died after the commit
    _, trade = deposit_lot(ctx, procedure="selection", deposit_yuan=None)
    register_from(ctx, trade.lot_code, ["10.2.2.2", "10.2.2.2"])
    session.commit()
    assert all_alerts(session) == []
    head = session.execute(select(func.max(AuditEntry.seq))).scalar_one()
    entries, raised, _ = sweep(app, clock)
    assert entries >= 2 and raised == 1
    assert [a.rule for a in all_alerts(session)] == ["RF-04"]
    assert session.get(AlertCursor, 1).next_seq > head
    assert sweep(app, clock)[:2] == (0, 0)             # idempotent
    assert len(all_alerts(session)) == 1


def test_deposits_from_one_account_and_a_shared_contact(hooked, ctx, session, clock, people):
    _, trade = deposit_lot(ctx, procedure="selection", deposit_yuan=10_000)
    session.commit()
    users = []
    for phone in ("0831-1234567", "08311234567", "13800000000"):
        org = make_org(ctx, "bidder")
        org.contact_phone = phone
        users.append(make_user(ctx, "bidder", org=org))
    accounts = []
    for i, u in enumerate(users):
        register_for_lot(actor_ctx(session, clock, u, ip=f"10.4.0.{i}"), trade.lot_code)   # three IPs
        accounts.append(session.execute(select(DepositAccount).where(DepositAccount.bidder_org_id == u.org_id))
                        .scalar_one())
    session.commit()
    data = statement_csv([(clock.now(), accounts[0].virtual_account, "甲公司", "6222000011112222", "10000.00", "B1"),
                          (clock.now(), accounts[1].virtual_account, "乙公司", "6222000011112222", "10000.00", "B2"),
                          (clock.now(), accounts[2].virtual_account, "丙公司", "6222000099990000", "10000.00", "B3")])
    statements.import_bank_statement(people["op"], "s.csv", data)
    session.commit()
    found = {(a.rule, a.severity): a for a in all_alerts(session)}
    assert set(found) == {("RF-06", "red"), ("RF-07", "red")}
    assert found[("RF-07", "red")].evidence["orgs"] == sorted(u.org_id for u in users[:2])
    assert found[("RF-06", "red")].evidence["facts"] == {"phone": "08311234567"}
    # the operator who imported the statement is not a subject of the alert (a data import)
    clock.set(trade.deadline_at + timedelta(minutes=1))
    assert {a.rule for a in alerts.list_alerts(people["op"])} == {"RF-06", "RF-07"}


def test_opened_prices_in_progression_just_under_the_ceiling(hooked, ctx, session, clock, people):
    ensure_custodians(ctx)
    _, trade = deposit_lot(ctx, procedure="selection", deposit_yuan=None)
    ceiling = session.get(Lot, trade.lot_id).budget_fen
    bidders = register_from(ctx, trade.lot_code, ["10.3.0.1", "10.3.0.2", "10.3.0.3"])
    for b, pct in zip(bidders, (97, 98, 99), strict=True):
        submit_price(b, trade.lot_code, ceiling * pct // 100)
    session.commit()
    assert all_alerts(session) == []
    clock.set(trade.deadline_at + timedelta(minutes=1))
    open_by_custodians(ctx, trade.lot_code)
    session.commit()
    found = {(a.rule, a.subject.rsplit(":", 1)[-1]): a for a in all_alerts(session)}
    assert set(found) == {("RF-05", "progression"), ("RF-05C", "cluster"), ("OCP-i171", "ceiling")}
    prog = found[("RF-05", "progression")]
    assert prog.severity == "red" and prog.embargo_lot_id is None and prog.announced_at == clock.now()
    opened_seq = session.execute(select(AuditEntry.seq).where(AuditEntry.action == "opening.opened")).scalar_one()
    assert prog.evidence["seqs"] == [opened_seq] and prog.trigger_seq == opened_seq
    assert found[("OCP-i171", "ceiling")].evidence["facts"]["prices_fen"] == [ceiling * 99 // 100]
    names = session.execute(select(LiveEvent.name).where(LiveEvent.channel == alerts.CHANNEL)).scalars().all()
    assert names == ["alert:new"] * 3


def _finding(subject: str, seqs=()) -> Finding:
    return Finding("RF-04", "yellow", subject, "测试", "test", tuple(seqs), (), (), {})


def test_workflow_transitions_are_audited_and_guarded(ctx, session, clock, people):
    alert = alerts.raise_finding(ctx, _finding("t:1"), project_id=None, lot_id=None, embargo_lot_id=None,
                                 trigger_seq=None)
    assert alerts.raise_finding(ctx, _finding("t:1"), project_id=None, lot_id=None, embargo_lot_id=None,
                                trigger_seq=None) is None          # unique per rule + subject
    sup = people["sup"]
    with pytest.raises(Conflict):
        alerts.close_alert(sup, alert.id, "unfounded", "无")         # open → closed is not a step
    with pytest.raises(Forbidden):
        alerts.acknowledge_alert(people["op"], alert.id)            # operators read, never work
    with pytest.raises(Forbidden):
        alerts.list_alerts(people["bidder"])
    alerts.acknowledge_alert(sup, alert.id)
    with pytest.raises(Conflict):
        alerts.acknowledge_alert(sup, alert.id)
    alerts.investigate_alert(sup, alert.id, "调取两家投标人的网络接入记录")
    seq_before = session.execute(select(func.max(AuditEntry.seq))).scalar_one()
    for outcome, finding, err in (("bogus", "结论", InvalidInput), ("confirmed", "  ", InvalidInput),
                                  ("confirmed", "长" * 2001, InvalidInput)):
        with pytest.raises(err):
            alerts.close_alert(sup, alert.id, outcome, finding)
    assert session.execute(select(func.max(AuditEntry.seq))).scalar_one() == seq_before   # nothing recorded
    assert alert.status == "investigating"
    alerts.close_alert(sup, alert.id, "unfounded", "同一写字楼共用出口IP，已核实两家为无关联企业")
    assert (alert.status, alert.outcome, alert.closed_by) == ("closed", "unfounded", sup.actor.user_id)
    assert alert.notes[0]["text"] == "调取两家投标人的网络接入记录"
    actions = session.execute(select(AuditEntry.action).where(AuditEntry.object_type == "supervision_alert")
                              .order_by(AuditEntry.seq)).scalars().all()
    assert actions == ["alert.raised", "alert.acknowledged", "alert.investigating", "alert.closed"]
    with pytest.raises(NotFound):
        alerts.acknowledge_alert(sup, 999_999)
    with pytest.raises(InvalidInput):
        alerts.list_alerts(sup, alerts.AlertFilters(severity="purple"))
    assert alerts.list_alerts(sup) == []                                    # closed: not open
    assert [a.id for a in alerts.list_alerts(sup, alerts.AlertFilters(status="closed"))] == [alert.id]


def test_operators_never_see_alerts_about_their_own_actions(ctx, session, people):
    op, op2, sup = people["op"], people["op2"], people["sup"]
    own = record(op, "lot.redated", "lot", 1, payload={"note": "an operator's own act"})
    other = record(op2, "lot.redated", "lot", 2, payload={"note": "another operator's act"})
    a = alerts.raise_finding(ctx, _finding("op:own", [own.seq]), project_id=None, lot_id=None, embargo_lot_id=None,
                             trigger_seq=own.seq)
    b = alerts.raise_finding(ctx, _finding("op:other", [other.seq]), project_id=None, lot_id=None,
                             embargo_lot_id=None, trigger_seq=other.seq)
    for alert in (a, b):                                    # closed by a supervisor
        alerts.acknowledge_alert(sup, alert.id)
        alerts.close_alert(sup, alert.id, "confirmed", "已查实")
    every = alerts.AlertFilters(status="all")
    assert [x.id for x in alerts.list_alerts(op, every)] == [b.id]
    assert [x.id for x in alerts.list_alerts(op2, every)] == [a.id]
    assert {x.id for x in alerts.list_alerts(sup, every)} == {a.id, b.id}
    with pytest.raises(NotFound):
        alerts.get_alert(op, a.id)                           # the same answer as a missing alert
    assert alerts.get_alert(op, b.id).finding == "已查实"


def test_one_group_rotating_wins_with_one_buyer(hooked, ctx, session, clock, people):
    """Four lots of one buyer, the same three bidders in each; A, B, A, A win. The fourth award
    makes A's third win with this buyer within 365 days (OCP i077); from the third award on, the
    group has bid together three times with two different winners (RF-11). Each raised once."""
    from tests.factories.accounts import make_user as new_user
    from trading.core.clock import beijing
    from trading.procedures.common.awards import result
    from trading.procedures.common.awards import services as award_services
    from trading.procedures.common.awards.rules import CandidateIn

    clock.set(beijing(2026, 6, 1, 9, 0))        # every period of the four lots ends within 2026's calendar
    owner = new_user(ctx, "owner")
    c_owner = actor_ctx(session, clock, owner)
    group = [new_user(ctx, "bidder") for _ in range(3)]
    trades = []
    for _ in range(4):
        _, trade = deposit_lot(ctx, owner=owner, procedure="selection", deposit_yuan=None)
        for i, b in enumerate(group):
            register_for_lot(actor_ctx(session, clock, b, ip=f"10.6.{len(trades)}.{i}"), trade.lot_code)
        trades.append(trade)
    session.commit()
    clock.set(max(t.deadline_at for t in trades) + timedelta(days=1))
    winners = [group[0], group[1], group[0], group[0]]
    for n, (trade, winner) in enumerate(zip(trades, winners, strict=True), start=1):
        trade.status, trade.status_changed_at = "reported", clock.now()   # opening and scoring: other tests
        others = [b for b in group if b is not winner]
        award_services.propose_candidates(c_owner, trade.lot_code, [
            CandidateIn(winner.org_id, 1, 900_000_00), CandidateIn(others[0].org_id, 2, 950_000_00),
            CandidateIn(others[1].org_id, 3, 980_000_00)], report_id=n)
        notice = award_services.publish_candidates(c_owner, trade.lot_code)
        clock.set(notice.publicity_until)
        result.award(c_owner, trade.lot_code, winner.org_id)
        session.commit()
        rules_raised = sorted(a.rule for a in all_alerts(session) if a.rule in ("OCP-i077", "RF-11"))
        assert rules_raised == {1: [], 2: [], 3: ["RF-11"], 4: ["OCP-i077", "RF-11"]}[n], n
    found = {a.rule: a for a in all_alerts(session)}
    repeat, rotation = found["OCP-i077"], found["RF-11"]
    assert repeat.evidence["facts"] == {"buyer_org_id": owner.org_id, "supplier_org_id": group[0].org_id, "wins": 3}
    assert repeat.evidence["lots"] == sorted(t.lot_id for t, w in zip(trades, winners, strict=True) if w is group[0])
    assert rotation.severity == "red" and rotation.evidence["orgs"] == sorted(b.org_id for b in group)
    assert rotation.evidence["facts"]["winners"] == sorted({group[0].org_id, group[1].org_id})
    award_seqs = session.execute(select(AuditEntry.seq).where(AuditEntry.action == "award.determined")
                                 .order_by(AuditEntry.seq)).scalars().all()
    assert rotation.evidence["seqs"] == award_seqs[:3] and repeat.trigger_seq == award_seqs[3]
    assert {a.rule for a in alerts.list_alerts(people["sup"])} >= {"OCP-i077", "RF-11"}


def test_final_report_with_the_lowest_offer_rejected_and_an_outlying_expert(hooked, ctx, session, clock, people):
    """The cheapest offer (700,000.00) is rejected by the committee while dearer ones stay valid
    (OCP R036), and one member's total for a bidder is far from the others' (RF-13, flagged by the
    evaluation summary): both raised when the report becomes final, with its audit entry as evidence."""
    from tests.factories.accounts import totp_code
    from tests.factories.evaluation import evaluation_lot, fill_and_submit
    from trading.evaluation.reports import services as reports

    ev = evaluation_lot(ctx, prices=(800_000_00, 900_000_00, 850_000_00, 700_000_00))
    b1, b2, b3, b4 = ev.bidders
    reject = {"decision": "reject", "reject_code": "R1", "reject_note": "资格证书缺失"}
    fill_and_submit(ev, {b1.id: {0: ("40", "20"), 1: ("40", "20"), 2: ("10", "5")}, b2.id: ("36", "18"),
                         b3.id: ("30", "10"), b4.id: {0: reject, 1: reject, 2: ("30", "10")}})
    session.commit()
    assert all_alerts(session) == []
    report = reports.generate_report(ev.members[0].ctx, ev.code)
    for m in ev.members:
        reports.sign_report(m.ctx, ev.code, "agree", code=totp_code(m.user, clock), report_sha256=report.sha256)
    session.commit()
    found = {a.rule: a for a in all_alerts(session)}
    assert set(found) == {"OCP-R036", "RF-13"}
    final_seq = session.execute(select(AuditEntry.seq).where(AuditEntry.action == "evaluation.report_final")).scalar_one()
    lowest = found["OCP-R036"]
    assert lowest.severity == "yellow" and lowest.evidence["orgs"] == [b4.id]
    assert lowest.evidence["facts"]["lowest_fen"] == 700_000_00 and lowest.evidence["seqs"] == [final_seq]
    outlier = found["RF-13"]
    assert b1.id in outlier.evidence["orgs"] and len(outlier.evidence["facts"]["members"]) == 1


def test_a_change_notice_that_brings_the_deadline_forward(hooked, ctx, session, clock, people):
    """A tender announced with 40 days; a change notice (still lawful: ≥ 15 days before the new
    deadline) moves the deadline 10 days earlier → RF-15S at the change's publication; the lawful
    periods raise no RF-15."""
    from tests.factories.notices import bj_at, make_notice, notice_project, published_notice
    from trading.procedures.common import services as notices

    owner = make_user(ctx, "owner")
    octx = actor_ctx(session, clock, owner)
    project = notice_project(ctx, owner, procedure="tender")
    far = bj_at(clock.now(), 40)
    original = published_notice(octx, project, deadline_at=far, opening_at=far)
    session.commit()
    assert all_alerts(session) == []
    clock.advance(timedelta(days=1))
    near = bj_at(clock.now(), 29)
    change = make_notice(octx, project, kind="change", previous_id=original.id, title="变更公告", body="投标截止时间调整",
                         deadline_at=near, opening_at=near)
    notices.publish_notice(octx, change.id)
    session.commit()
    [alert] = all_alerts(session)
    redated = session.execute(select(AuditEntry.seq).where(AuditEntry.action == "lot.redated")).scalar_one()
    assert (alert.rule, alert.severity, alert.evidence["seqs"]) == ("RF-15S", "yellow", [redated])
    assert alert.evidence["facts"]["notice_id"] == change.id and alert.embargo_lot_id is None
    assert [a.id for a in alerts.list_alerts(people["sup"])] == [alert.id]     # public facts: no embargo


def test_a_published_notice_whose_period_breaks_the_minimum(app, ctx, session, clock, people):
    """The publish service refuses a short period; a notice that reached the record with one anyway
    (here: its deadline edited behind the services before the sweep evaluated its publication) is
    raised by the sweep as RF-15, red, naming the rule and its source."""
    from tests.factories.notices import bj_at, notice_project, published_notice
    from trading.procedures.common.models import Notice

    app.config["ALERTS_ON_COMMIT"] = False
    owner = make_user(ctx, "owner")
    project = notice_project(ctx, owner, procedure="tender")
    notice = published_notice(actor_ctx(session, clock, owner), project)
    session.commit()
    short = bj_at(notice.published_at, 10)
    session.get(Notice, notice.id).deadline_at = short           # behind the services
    session.commit()
    assert sweep(app, clock)[1] >= 1
    found = [a for a in all_alerts(session) if a.rule == "RF-15"]
    assert found and all(a.severity == "red" for a in found)
    facts = {a.evidence["facts"]["rule"]: a.evidence["facts"] for a in found}
    assert any("第二十四条" in f["source"] and f["needed"] == 20 and f["actual"] == 10 for f in facts.values()), facts


def test_late_withdrawals_and_a_first_rank_waiver(hooked, ctx, session, clock, people):
    """Two bidders withdraw their offers three hours before the deadline (RF-10W, hidden until the
    deadline like every participation fact); on another lot the first-ranked candidate gives up the
    award (RF-10R, red, at once)."""
    from tests.factories.awards import propose, reported_lot
    from trading.procedures.common.awards import services as award_services
    from trading.procedures.common.participation.completion import withdraw_submission

    ensure_custodians(ctx)
    _, trade = deposit_lot(ctx, procedure="selection", deposit_yuan=None)
    bidders = register_from(ctx, trade.lot_code, ["10.5.0.1", "10.5.0.2", "10.5.0.3"])
    receipts = [submit_price(b, trade.lot_code, 500_000_00 + i * 37_000_00) for i, b in enumerate(bidders)]
    session.commit()
    clock.set(trade.deadline_at - timedelta(hours=3))
    for b, receipt in zip(bidders[:2], receipts[:2], strict=True):
        withdraw_submission(b.ctx, receipt.submission.submission_id)
    session.commit()
    [late] = [a for a in all_alerts(session) if a.rule == "RF-10W"]
    assert late.evidence["orgs"] == sorted(b.org.id for b in bidders[:2]) and late.embargo_lot_id == trade.lot_id
    assert alerts.list_alerts(people["sup"]) == []
    clock.set(trade.deadline_at + timedelta(minutes=1))
    assert [a.rule for a in alerts.list_alerts(people["sup"])] == ["RF-10W"]

    w = reported_lot(ctx, bidders=3, deposit_yuan=None)
    propose(w, [900_000_00, 950_000_00, 980_000_00])
    award_services.publish_candidates(w.c_owner, w.trade.lot_code)
    award_services.pass_candidate(w.c_owner, w.trade.lot_code, w.bidders[0].org_id, "waived", "第一名书面放弃中选")
    session.commit()
    [waiver] = [a for a in all_alerts(session) if a.rule == "RF-10R"]
    assert waiver.severity == "red" and waiver.evidence["orgs"] == [w.bidders[0].org_id]
    assert waiver.evidence["facts"] == {"reason": "waived"} and waiver.announced_at is not None


def test_a_check_that_fails_is_reported_and_does_not_stop_the_cursor(app, ctx, session, clock):
    """An entry whose facts make a check fail (here a lot.redated entry with a deadline that is not
    a date) raises an administrator's alert naming the check and the entry; the same batch's other
    checks still raise their alerts and the cursor moves past it."""
    from trading.reference.models import AdminAlert

    app.config["ALERTS_ON_COMMIT"] = False
    _, trade = deposit_lot(ctx, procedure="selection", deposit_yuan=None)
    bad = record(ctx, "lot.redated", "lot", trade.lot_id, project_id=trade.project_id,
                 payload={"old": {"deadline_at": "下周一"}, "new": {"deadline_at": "明天"}})
    register_from(ctx, trade.lot_code, ["10.8.0.1", "10.8.0.1"])
    session.commit()
    entries, raised, _ = sweep(app, clock)
    assert raised == 1 and [a.rule for a in all_alerts(session)] == ["RF-04"]
    [admin] = session.execute(select(AdminAlert)).scalars().all()
    assert admin.key == f"supervision.check_failed:redated:{trade.lot_id}" and f"#{bad.seq}" in admin.message
    assert session.get(AlertCursor, 1).next_seq > bad.seq
    assert sweep(app, clock)[:2] == (0, 0)


def test_the_hook_leaves_a_backlog_to_the_sweep(hooked, ctx, session, clock):
    """With more entries waiting than one batch (here a batch of 5), the after-commit hook does
    nothing (a request never pays for a backlog) and the sweep works through it in batches."""
    hooked.config["ALERTS_BATCH"] = 5
    _, trade = deposit_lot(ctx, procedure="selection", deposit_yuan=None)   # dozens of entries
    register_from(ctx, trade.lot_code, ["10.9.0.1", "10.9.0.1"])
    session.commit()
    assert all_alerts(session) == [] and session.get(AlertCursor, 1).next_seq == 0
    assert sweep(hooked, clock, limit=5)[1] == 1
    assert [a.rule for a in all_alerts(session)] == ["RF-04"]


def test_flask_alerts_sweep_command(app, ctx, session):
    app.config["ALERTS_ON_COMMIT"] = False
    _, trade = deposit_lot(ctx, procedure="selection", deposit_yuan=None)
    register_from(ctx, trade.lot_code, ["10.10.0.1", "10.10.0.1"])
    session.commit()
    result = app.test_cli_runner().invoke(args=["alerts", "sweep"])
    assert result.exit_code == 0, result.output
    assert "raised 1 alerts" in result.output
    assert [a.rule for a in all_alerts(session)] == ["RF-04"]
    again = app.test_cli_runner().invoke(args=["alerts", "sweep"])
    assert "evaluated 0 entries, raised 0 alerts" in again.output


def test_a_savepoint_inside_the_request_does_not_trigger_the_hook(hooked, ctx, session, clock):
    """Registration releases SAVEPOINTs (SQLAlchemy then fires after_commit); the evaluation must
    wait for the request's own commit: nothing is raised before it, the alert right after it."""
    _, trade = deposit_lot(ctx, procedure="selection", deposit_yuan=None)
    session.commit()
    with session.begin_nested():
        register_from(ctx, trade.lot_code, ["10.11.0.1", "10.11.0.1"])
    assert session.execute(select(func.count()).select_from(SupervisionAlert)).scalar_one() == 0
    session.commit()
    assert [a.rule for a in all_alerts(session)] == ["RF-04"]
