"""Table tests of the 比选 and 询价 stage machines: every (state, action) pair over every lot state
and every canonical action — the listed pairs move to the listed state for each role allowed and are
Forbidden (flow.role) for every other role; every other pair is Conflict flow.not_allowed. The
expected tables are written out here, independently of the code."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.timeline import T0
from trading.core.errors import Conflict, Forbidden
from trading.procedures.common.flow import machine_for
from trading.procedures.common.lots import LotStatus
from trading.procedures.inquiry import rules as inquiry  # noqa: F401  (registers)
from trading.procedures.selection import rules as selection  # noqa: F401  (registers)
from trading.reference.services import builtin_days
from trading.reference.workdays import from_days

ACTIONS = ("close", "start_opening", "open", "fail", "start_negotiation", "close_round", "call_final_offers",
           "close_final_offers", "start_evaluation", "submit_report", "publicize", "confirm", "award",
           "sign_contract", "archive", "reannounce", "switch_method", "cancel", "terminate", "reprocure")
ROLES = ("owner", "agency", "operator", "bidder", "expert", "supervisor", "admin", "system")

RUNNERS = {"owner", "agency", "operator", "system"}
HOST = {"operator", "system"}
SYSTEM = {"system"}
DECIDERS = {"owner", "agency", "operator"}
EVALUATORS = RUNNERS | {"expert"}

_COMMON = {
    ("accepting", "close"): ("closed", HOST),
    ("closed", "start_opening"): ("opening", HOST),
    ("closed", "fail"): ("failed", HOST),
    ("opening", "open"): ("opened", SYSTEM),
    ("opening", "fail"): ("failed", SYSTEM),
    ("accepting", "terminate"): ("terminated", RUNNERS),
    ("closed", "terminate"): ("terminated", RUNNERS),
    ("opening", "terminate"): ("terminated", RUNNERS),
    ("opened", "start_evaluation"): ("evaluating", RUNNERS),
    ("evaluating", "submit_report"): ("reported", EVALUATORS),
    ("evaluating", "fail"): ("failed", EVALUATORS),
    ("awarded", "sign_contract"): ("contracted", RUNNERS),
    ("awarded", "reprocure"): ("failed", {"owner", "agency"}),
    ("contracted", "archive"): ("archived", HOST),
    ("failed", "reannounce"): ("reannounced", RUNNERS),
    ("failed", "switch_method"): ("terminated", DECIDERS),
    ("failed", "cancel"): ("terminated", DECIDERS),
    ("opened", "cancel"): ("terminated", DECIDERS),
    ("evaluating", "cancel"): ("terminated", DECIDERS),
    ("reported", "cancel"): ("terminated", DECIDERS),
}
EXPECTED = {
    "selection": {**_COMMON,
                  ("reported", "publicize"): ("publicity", RUNNERS),
                  ("publicity", "award"): ("awarded", RUNNERS),
                  ("publicity", "cancel"): ("terminated", DECIDERS)},
    "inquiry": {**_COMMON,
                ("reported", "confirm"): ("confirming", {"owner", "agency", "system"}),
                ("confirming", "award"): ("awarded", RUNNERS),
                ("confirming", "cancel"): ("terminated", DECIDERS)},
}
CAL = from_days([2026], [(d, w) for d, w, _ in builtin_days(2026)])


def happy_facts(state: str, action: str, role: str) -> dict:
    """Facts that let the guarded step pass at T0."""
    facts = {"role": role, "calendar": CAL, "settings": {}, "min_valid_offers": 3, "deadline_at": T0,
             "panel_size": 5, "panel_experts": 4, "reason": "预算取消", "approval_ref": "县财采〔2026〕15号",
             "publicity_until": T0, "open_objections": 0, "applicants": 3, "valid_offers": 3, "qualified": 3}
    if action == "fail":
        facts.update(applicants=2, valid_offers=2, qualified=2)
    if action == "publicize":
        facts["publicity_until"] = T0 + timedelta(days=10)
    if action == "confirm":
        facts["status_changed_at"] = T0 - timedelta(days=30 if role == "system" else 1)
    return facts


def _pairs():
    for procedure in EXPECTED:
        for state in LotStatus:
            for action in ACTIONS:
                yield pytest.param(procedure, state.value, action, id=f"{procedure}-{state.value}-{action}")


@pytest.mark.parametrize("procedure, state, action", list(_pairs()))
def test_every_state_action_pair(procedure, state, action):
    machine = machine_for(procedure)
    expected = EXPECTED[procedure].get((state, action))
    if expected is None:
        for role in ROLES:
            with pytest.raises(Conflict) as err:
                machine.check(state, action, role, happy_facts(state, action, role), T0)
            assert err.value.code == "flow.not_allowed"
        assert action not in machine.actions_from(state)
        return
    target, roles = expected
    for role in ROLES:
        facts = happy_facts(state, action, role)
        if role in roles:
            assert machine.check(state, action, role, facts, T0).target == target
        else:
            with pytest.raises(Forbidden) as err:
                machine.check(state, action, role, facts, T0)
            assert err.value.code == "flow.role"


@pytest.mark.parametrize("procedure", sorted(EXPECTED))
def test_the_table_has_no_pair_outside_the_expected_one(procedure):
    machine = machine_for(procedure)
    assert {(t.source, t.action) for t in machine.transitions} == set(EXPECTED[procedure])
    assert machine.states <= {s.value for s in LotStatus}
    assert machine.actions <= set(ACTIONS)
    assert machine.initial == "accepting"
    assert machine.terminal == {"archived", "terminated", "reannounced"}


@pytest.mark.parametrize("procedure", sorted(EXPECTED))
def test_every_state_reaches_a_terminal_state(procedure):
    machine = machine_for(procedure)
    for state in machine.states - machine.terminal:
        seen, todo = {state}, [state]
        while todo:
            s = todo.pop()
            for t in machine.transitions:
                if t.source == s and t.target not in seen:
                    seen.add(t.target)
                    todo.append(t.target)
        assert seen & machine.terminal, state


def test_the_happy_paths_follow_interfaces_md():
    paths = {"selection": ["close", "start_opening", "open", "start_evaluation", "submit_report", "publicize",
                           "award", "sign_contract", "archive"],
             "inquiry": ["close", "start_opening", "open", "start_evaluation", "submit_report", "confirm", "award",
                         "sign_contract", "archive"]}
    states = {"selection": "closed opening opened evaluating reported publicity awarded contracted archived",
              "inquiry": "closed opening opened evaluating reported confirming awarded contracted archived"}
    for procedure, actions in paths.items():
        machine, state, visited = machine_for(procedure), "accepting", []
        for action in actions:
            state = machine.find(state, action).target
            visited.append(state)
        assert visited == states[procedure].split()


def test_every_machine_lists_the_steps_the_opening_code_takes_itself():
    """The opening (issue 3) moves a lot closed → opening (first share), opening → opened | failed
    (open_lot) and accepting/closed/opening → terminated (a termination notice) without advance; each
    registered machine lists those steps for the system."""
    import trading.procedures.registry  # noqa: F401  (every kind)
    from trading.procedures.common.flow import registered
    from trading.procedures.common.lots import SEALED_PROCEDURES

    for procedure, machine in registered().items():
        if procedure == "toy":
            continue
        sealed = procedure in SEALED_PROCEDURES  # auctions have no opening: their lots go on to bidding
        for state, action, target in [("closed", "start_opening", "opening"), ("opening", "open", "opened"),
                                      ("opening", "fail", "failed")] if sealed else []:
            t = machine.find(state, action)
            assert t is not None and t.target == target and "system" in t.roles, (procedure, state, action)
        for state in ("accepting", "closed", "opening" if sealed else "bidding"):
            assert any(t.source == state and t.target == "terminated" for t in machine.transitions), (procedure, state)


@pytest.mark.parametrize("status", [s.value for s in LotStatus])
def test_a_bidder_is_never_offered_to_replace_an_offer_after_the_deadline(status):
    """Every lot state a machine can reach maps to a bidder's stage: after the opening it is the
    result (never "replace" or "submit"); a re-announced attempt shows as failed."""
    from trading.procedures.common.participation.rules import STAGE_LABELS, lot_stage

    stage = lot_stage(lot_status=status, deadline_at=T0, opening_at=T0, accepted_parts=frozenset({"price"}),
                      now=T0 + timedelta(days=1))
    assert stage.code in STAGE_LABELS
    if status not in ("accepting",):
        assert stage.next_step not in ("replace", "submit"), (status, stage)
    if status == "reannounced":
        assert stage.code == "failed"
