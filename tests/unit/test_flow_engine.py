"""The stage-machine engine (procedures/common/flow.py): lookup, the order of refusals (pair → role →
guard), the actions a role sees, malformed tables refused, and the registry of machines."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.timeline import T0
from trading.core.errors import Conflict, Forbidden, NotFound, RuleViolation
from trading.procedures.common.flow import Machine, Transition, Violation, machine_for, register, registered


def _late(facts, now):
    return None if now >= facts["at"] else Violation("toy.too_early", "未到", "Too early")


TOY = Machine("toy", "a", frozenset({"c"}), (
    Transition("a", "go", "b", frozenset({"owner"})),
    Transition("b", "finish", "c", frozenset({"system", "operator"}), _late),
    Transition("b", "back", "a", frozenset({"owner"})),
))


def test_find_returns_the_row_or_none():
    assert TOY.find("a", "go").target == "b"
    assert TOY.find("a", "finish") is None
    assert TOY.find("nowhere", "go") is None


def test_check_refuses_an_unlisted_pair_with_conflict():
    with pytest.raises(Conflict) as err:
        TOY.check("a", "finish", "system", {}, T0)
    assert err.value.code == "flow.not_allowed" and err.value.status == 409
    assert err.value.details == {"procedure": "toy", "state": "a", "action": "finish"}


def test_check_refuses_the_wrong_role_before_the_guard():
    with pytest.raises(Forbidden) as err:
        TOY.check("b", "finish", "owner", {}, T0)  # the guard would KeyError on {}: never reached
    assert err.value.code == "flow.role"


def test_guard_refusal_becomes_a_rule_violation_one_second_before_and_passes_at_the_instant():
    with pytest.raises(RuleViolation) as err:
        TOY.check("b", "finish", "system", {"at": T0}, T0 - timedelta(seconds=1))
    assert err.value.code == "toy.too_early" and err.value.message("en") == "Too early"
    assert TOY.check("b", "finish", "system", {"at": T0}, T0).target == "c"


def test_actions_from_lists_table_order_and_filters_by_role():
    assert TOY.actions_from("b") == ["finish", "back"]
    assert TOY.actions_from("b", "owner") == ["back"]
    assert TOY.actions_from("c") == []


def test_states_and_actions():
    assert TOY.states == {"a", "b", "c"}
    assert TOY.actions == {"go", "finish", "back"}


def test_a_table_with_two_rows_for_one_pair_is_refused():
    with pytest.raises(ValueError):
        Machine("bad", "a", frozenset(), (Transition("a", "go", "b", frozenset({"x"})),
                                          Transition("a", "go", "c", frozenset({"x"}))))


def test_a_table_leaving_a_terminal_state_is_refused():
    with pytest.raises(ValueError):
        Machine("bad", "a", frozenset({"b"}), (Transition("b", "go", "a", frozenset({"x"})),))


def test_register_and_machine_for():
    register(TOY)
    try:
        assert machine_for("toy") is TOY
        assert registered()["toy"] is TOY
    finally:
        from trading.procedures.common import flow
        flow._MACHINES.pop("toy", None)
    with pytest.raises(NotFound) as err:
        machine_for("toy")
    assert err.value.code == "flow.unknown_procedure"


def test_the_registry_registers_every_kind():
    import trading.procedures.registry  # noqa: F401
    assert {"selection", "inquiry", "negotiation"} <= set(registered())
