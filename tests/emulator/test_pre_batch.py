"""The check before each batch (maxUnhealthyInstancePercent): refuse at the limit, otherwise shrink the batch.

The demo set: 10 instances over zones 1, 2, 3 round-robin (zone 1 = 0, 3, 6, 9; zone 2 = 1, 4, 7;
zone 3 = 2, 5, 8), a cycle of 30 s (20 s updating, 10 s initializing).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.emu_helpers import Sim, rolling
from vmssroll.emulator.rolling import batch_instances, before_batch, more_than


@pytest.mark.parametrize(
    ("count", "total", "percent", "breach"),
    [
        (0, 10, 20, False),  # nothing unhealthy
        (2, 10, 20, False),  # exactly the limit: "more than" is not reached
        (3, 10, 20, True),  # the limit plus one instance
        (0, 0, 20, False),
        (1, 4, 20, True),  # 25% > 20%
        (1, 5, 20, False),  # 20%
        (0, 10, 0, False),  # a 0% limit: none unhealthy is within it
        (1, 10, 0, True),
        (10, 10, 100, False),
        (200, 1000, 20, False),
        (201, 1000, 20, True),
    ],
)
def test_more_than_the_threshold(count: int, total: int, percent: int, breach: bool) -> None:
    assert more_than(count, total, percent) is breach


@pytest.mark.parametrize(
    ("unhealthy", "total", "nominal", "limit", "size"),
    [
        (0, 10, 2, 20, 2),  # 0 unhealthy: a full batch
        (1, 10, 2, 20, 1),  # 1 + 1 down = 20%: the batch shrinks to one
        (2, 10, 2, 20, 1),  # 2 of 10 = 20%, the limit itself: no fault, a batch is at least one instance
        (3, 10, 2, 20, None),  # the limit plus one instance: 30% > 20%, Azure faults before the batch
        (0, 2, 1, 20, 1),  # 0% of 2: one instance
        (0, 4, 1, 20, 1),
        (1, 4, 1, 20, None),  # 25% > 20%
        (3, 10, 2, 50, 2),  # 3 + 2 = 50%
        (4, 10, 5, 50, 1),  # 4 + 1 = 50%
        (5, 10, 5, 50, 1),  # 50% = the limit
        (6, 10, 5, 50, None),
        (1, 10, 10, 100, 9),
        (0, 1000, 200, 20, 200),
        (199, 1000, 200, 20, 1),
        (200, 1000, 200, 20, 1),
        (201, 1000, 200, 20, None),
        (0, 0, 1, 20, 1),
    ],
)
def test_before_batch(unhealthy: int, total: int, nominal: int, limit: int, size: int | None) -> None:
    assert before_batch(unhealthy, total, nominal, limit) == size


@pytest.mark.parametrize(
    ("capacity", "percent", "size"),
    [(10, 20, 2), (2, 20, 1), (0, 20, 1), (9, 20, 1), (1000, 20, 200), (7, 57, 3), (10, 100, 10), (3, 5, 1)],
)
def test_batch_instances(capacity: int, percent: int, size: int) -> None:
    assert batch_instances(capacity, percent) == size


def demo(sim: Sim, **changes: Any) -> Sim:
    scenario = dict(sim.emu.scenario)
    return sim.load({**scenario, "scale_sets": [dict(scenario["scale_sets"][0], **changes)]})


def batches_seen(sim: Sim, limit: int = 40) -> list[list[str]]:
    seen: list[list[str]] = []
    for _ in range(limit):
        busy = sim.busy()
        if busy and busy not in seen:
            seen.append(busy)
        if sim.latest()["properties"]["runningStatus"]["code"] != "RollingForward":
            break
        sim.advance(30)
    return seen


def test_two_instances_at_the_default_policy_roll_one_by_one(sim: Sim) -> None:
    demo(sim, capacity=2, zones=[])
    sim.patch(rolling("2.0.0"))
    assert batches_seen(sim) == [["0"], ["1"]]
    assert sim.latest()["properties"]["runningStatus"]["code"] == "Completed"


def test_four_instances_at_the_default_policy_complete(sim: Sim) -> None:
    demo(sim, capacity=4, zones=[])
    sim.patch(rolling("2.0.0"))
    assert batches_seen(sim) == [["0"], ["1"], ["2"], ["3"]]
    assert sim.latest()["properties"]["runningStatus"]["code"] == "Completed"


def test_one_unhealthy_of_ten_shrinks_every_batch_to_one(sim: Sim) -> None:
    demo(sim, instances={"8": {"health": "unhealthy"}})
    sim.patch(rolling("2.0.0"))
    assert sim.latest()["properties"]["progress"]["pendingInstanceCount"] == 9
    # 1 of 10 = 10% < 20%: room for 1 more; 8 stays unhealthy until its own batch, the last one
    assert batches_seen(sim) == [[i] for i in ("0", "3", "6", "9", "1", "4", "7", "2", "5", "8")]
    assert sim.latest()["properties"]["runningStatus"]["code"] == "Completed"


def test_batches_grow_back_once_the_unhealthy_are_upgraded(sim: Sim) -> None:
    demo(sim, instances={"8": {"health": "unhealthy"}})
    sim.patch(rolling("2.0.0", prioritizeUnhealthyInstances=True, enableCrossZoneUpgrade=True))
    assert batches_seen(sim) == [["8"], ["0", "1"], ["2", "3"], ["4", "5"], ["6", "7"], ["9"]]
    assert sim.latest()["properties"]["runningStatus"]["code"] == "Completed"


def test_two_unhealthy_of_ten_at_twenty_percent_are_allowed(sim: Sim) -> None:
    demo(sim, instances={"4": {"health": "unhealthy"}, "8": {"health": "unknown"}})
    sim.patch(rolling("2.0.0"))
    props = sim.latest()["properties"]
    # 2 of 10 = 20%, not more than 20%: the upgrade starts, one instance at a time while 4 and 8 stay
    # unhealthy
    assert props["runningStatus"]["code"] == "RollingForward"
    assert "error" not in props
    assert sim.busy() == ["0"]
    assert props["progress"]["inProgressInstanceCount"] == 1


def test_three_unhealthy_of_ten_at_twenty_percent_are_refused_before_the_first_batch(sim: Sim) -> None:
    demo(
        sim,
        instances={"1": {"health": "unhealthy"}, "4": {"health": "unhealthy"}, "8": {"health": "unknown"}},
    )
    sim.patch(rolling("2.0.0"))
    props = sim.latest()["properties"]
    assert props["runningStatus"]["code"] == "Faulted"
    assert props["error"]["code"] == "MaxUnhealthyInstancePercentExceededInRollingUpgrade"
    assert (
        "30% of instances are in an unhealthy state - more than the threshold of 20%."
        in (props["error"]["message"])
    )
    assert props["progress"]["pendingInstanceCount"] == 10
    assert sim.busy() == []


def test_instances_without_health_signal_do_not_fault_before_a_batch(sim: Sim) -> None:
    # 4 of 10 report no vmHealth at all: not unhealthy, so batches stay full
    silent = {"health": "silent"}
    demo(sim, instances={"1": silent, "4": silent, "7": silent, "8": silent})
    assert [sim.vms()[i]["health"] for i in ("1", "4", "7", "8")] == [None] * 4
    sim.patch(rolling("2.0.0"))
    props = sim.latest()["properties"]
    assert props["runningStatus"]["code"] == "RollingForward"
    assert sim.busy() == ["0", "3"]


def test_initializing_does_not_count(sim: Sim) -> None:
    demo(
        sim,
        instances={"4": {"health": "initializing", "initializing_for": 600}, "8": {"health": "initializing"}},
    )
    sim.patch(rolling("2.0.0"))
    assert sim.vms()["4"]["health"] == sim.vms()["8"]["health"] == "initializing"
    assert sim.busy() == ["0", "3", "4", "8"]  # 0 and 3 upgrading, a full batch; 4 and 8 still starting


def test_health_lost_mid_run_refuses_the_next_batch(sim: Sim) -> None:
    sim.patch(rolling("2.0.0"))
    assert sim.busy() == ["0", "3"]
    sim.advance(15)
    sim.emu.set_health("rg-demo", "web", instance_id="9", health="unhealthy")
    sim.advance(15)  # batch 1 done: 1 of 10 unhealthy, the next batch shrinks
    assert sim.busy() == ["6"]
    sim.emu.set_health("rg-demo", "web", instance_id="1", health="unknown")
    sim.advance(30)  # batch 2 done: 2 of 10 = 20%, not more than 20%: one more instance
    assert sim.busy() == ["9"]
    sim.emu.set_health("rg-demo", "web", instance_id="9", health=None)  # 9's upgrade will bring it back
    sim.emu.set_health("rg-demo", "web", instance_id="4", health="unhealthy")
    sim.advance(30)  # batch 3 done, 9 upgraded and healthy: 1 and 4 = 20%, one more
    assert sim.busy() == ["1"]
    sim.emu.set_health("rg-demo", "web", instance_id="1", health=None)
    sim.emu.set_health("rg-demo", "web", instance_id="7", health="unhealthy")
    sim.emu.set_health("rg-demo", "web", instance_id="2", health="unhealthy")
    sim.advance(30)  # batch 4 done, 1 upgraded: 4, 7, 2 = 30% > 20%
    props = sim.latest()["properties"]
    assert props["runningStatus"]["code"] == "Faulted"
    assert props["error"]["code"] == "MaxUnhealthyInstancePercentExceededInRollingUpgrade"
    assert (
        "30% of instances are in an unhealthy state - more than the threshold of 20%."
        in (props["error"]["message"])
    )
    assert (
        props["progress"]["successfulInstanceCount"] == 5 and props["progress"]["pendingInstanceCount"] == 5
    )
