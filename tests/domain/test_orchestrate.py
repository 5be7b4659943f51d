"""`rollout --orchestrate`'s pure part: the batches (a canary first) and the judgement of a batch, computed by
hand on the set of test_plan: zone 1 = 0, 3, 6, 9; zone 2 = 1, 4, 7; zone 3 = 2, 5, 8."""

from __future__ import annotations

from dataclasses import replace

from tests.domain.test_plan import FIVE_MINUTES, ZONES
from tests.domain.test_plan import fleet as behind_all
from vmssroll.domain.model import Health
from vmssroll.domain.orchestrate import Leg, State, judge, legs, refused_before
from vmssroll.domain.plan import plan_rollout
from vmssroll.domain.policy import effective


def fleet(**kw):
    """The set of test_plan, every instance on the latest model unless `behind` says otherwise."""
    return behind_all(**{"behind": set()} | kw)


def plan(**policy):
    return plan_rollout(fleet(), ZONES, effective(policy), batch_time=FIVE_MINUTES, everything=True)


def ids(found) -> list[tuple[str, ...]]:
    return [leg.instance_ids for leg in found]


def test_a_canary_of_one_then_the_plans_batches_without_it():
    found = legs(plan(), 1)
    assert ids(found) == [("0",), ("3",), ("6", "9"), ("1", "4"), ("7",), ("2", "5"), ("8",)]
    assert [leg.canary for leg in found] == [True] + [False] * 6
    assert [leg.number for leg in found] == list(range(1, 8))


def test_a_canary_may_span_zones_and_empties_batches():
    assert ids(legs(plan(), 5)) == [("0", "3", "6", "9", "1"), ("4",), ("7",), ("2", "5"), ("8",)]
    assert ids(legs(plan(enableCrossZoneUpgrade=True), 2)) == [
        ("0", "1"),
        ("2", "3"),
        ("4", "5"),
        ("6", "7"),
        ("8", "9"),
    ]


def test_a_canary_of_every_instance_is_the_only_batch():
    assert ids(legs(plan(), 10)) == [tuple(str(i) for i in (0, 3, 6, 9, 1, 4, 7, 2, 5, 8))]


def test_a_batch_settles_on_the_latest_model_healthy():
    leg = Leg(2, ("6", "9"))
    updating = [replace(i, provisioning_state="Updating") if i.instance_id == "9" else i for i in fleet()]
    assert judge(updating, leg, ["0", "6", "9"], 20).state is State.SETTLING
    starting = [replace(i, health=Health.INITIALIZING) if i.instance_id == "6" else i for i in fleet()]
    assert judge(starting, leg, ["0", "6", "9"], 20).state is State.SETTLING
    behind = fleet(behind={9})
    assert judge(behind, leg, ["0", "6", "9"], 20).state is State.SETTLING
    ok = judge(fleet(), leg, ["0", "6", "9"], 20)
    assert ok.state is State.HEALTHY and ok.message == "0 of 3 upgraded instance(s) unhealthy (limit 20%)"


def test_more_than_the_limit_of_upgraded_instances_unhealthy_is_a_breach():
    sick = fleet(health={9: Health.UNHEALTHY})
    upgraded = [str(i) for i in range(5)] + ["9"]  # 1 of 6 = 16.7%: within 20%
    assert judge(sick, Leg(3, ("9",)), upgraded, 20).state is State.HEALTHY
    found = judge(sick, Leg(3, ("9",)), ["0", "9"], 20)  # 1 of 2 = 50%
    assert found.state is State.BREACHED and found.unhealthy == ("9",)
    assert (
        found.message
        == "1 of 2 upgraded instance(s) unhealthy (9), more than maxUnhealthyUpgradedInstancePercent 20%"
    )
    silent = fleet(health={0: Health.SILENT})
    assert judge(silent, Leg(1, ("0",), canary=True), ["0"], 20).state is State.BREACHED
    failed = [
        replace(i, provisioning_state="Failed", latest_model_applied=False) if i.instance_id == "0" else i
        for i in fleet()
    ]
    assert judge(failed, Leg(1, ("0",), canary=True), ["0"], 100).state is State.HEALTHY
    assert judge(failed, Leg(1, ("0",), canary=True), ["0"], 99).state is State.BREACHED
    assert judge(fleet()[1:], Leg(1, ("0",)), ["0"], 20).state is State.BREACHED  # gone from the set


def test_the_check_before_a_batch_counts_the_whole_set():
    two = fleet(health={1: Health.UNHEALTHY, 2: Health.UNKNOWN})
    assert refused_before(two, Leg(2, ("3",)), 20) is None  # 2 of 10 = 20%: not more than 20%
    three = fleet(health={1: Health.UNHEALTHY, 2: Health.UNKNOWN, 4: Health.UNHEALTHY})
    reason = refused_before(three, Leg(2, ("3",)), 20)
    assert reason is not None and reason.startswith("3 unhealthy of 10 = 30% > limit 20%: vmssroll stops")
