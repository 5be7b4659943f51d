"""Azure's recorded behaviours the emulator follows (FACTS.md): health signals, shapes of answers, actions."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.emu_helpers import Sim


def no_signal(sim: Sim, **changes: Any) -> Sim:
    """The demo set without the Application Health extension: nothing reports vmHealth."""
    spec = dict(sim.emu.scenario["scale_sets"][0])
    spec["extensions"] = [e for e in spec["extensions"] if e["name"] != "HealthExtension"]
    return sim.load({**sim.emu.scenario, "scale_sets": [{**spec, **changes}]})


def run_to_end(sim: Sim, seconds: int = 900) -> dict[str, Any]:
    for _ in range(seconds // 30):
        sim.advance(30)
        props = sim.latest()["properties"]
        if props["runningStatus"]["code"] != "RollingForward":
            return props
    return sim.latest()["properties"]


@pytest.mark.parametrize(
    ("outcome", "code", "operation"), [(None, "Faulted", "Failed"), ("passed", "Completed", "Succeeded")]
)
def test_no_health_signal_never_faults_before_a_batch_and_after_one_as_the_scenario_says(
    sim: Sim, outcome: str | None, code: str, operation: str
) -> None:
    no_signal(sim, **({"no_signal_after_batch": outcome} if outcome else {}))
    assert all(v["health"] is None for v in sim.vms().values())
    started = sim.call("POST", sim.base() + "/extensionRollingUpgrade")
    assert started.status == 202
    props = sim.latest()["properties"]
    assert props["runningStatus"]["code"] == "RollingForward"  # 10 of 10 without a signal: not unhealthy
    assert sim.busy() == ["0", "3"]
    props = run_to_end(sim)
    assert props["runningStatus"]["code"] == code
    op = sim.call("GET", started.headers["Azure-AsyncOperation"].split("https://x", 1)[1].split("?")[0])
    assert op.body["status"] == operation
    if code == "Faulted":  # one recorded run: "Instance found to be unhealthy or unreachable" after the batch
        assert props["error"]["code"] == "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade"
        assert "Instance found to be unhealthy or unreachable" in props["error"]["message"]
        assert props["progress"]["failedInstanceCount"] == 2
    else:  # the other: the upgrade ran to its end
        assert props["progress"]["successfulInstanceCount"] == 10
