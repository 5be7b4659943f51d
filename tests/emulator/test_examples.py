"""Bodies and headers compared with Azure's official examples (copied into data/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.emulator.emu_helpers import Sim, rolling

DATA = Path(__file__).parent / "data"


def example(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


def same_shape(ours: Any, theirs: Any, where: str = "") -> None:
    """Every key we send exists in the example with the same JSON type."""
    assert type(ours) is type(theirs), f"{where}: {type(ours).__name__} vs {type(theirs).__name__}"
    if isinstance(ours, dict) and not where.endswith(".tags"):
        for key, value in ours.items():
            assert key in theirs, f"{where}.{key} is not in the example"
            same_shape(value, theirs[key], f"{where}.{key}")


def test_get_latest_matches_the_maximum_set_example() -> None:
    theirs = example("VirtualMachineScaleSetRollingUpgrade_GetLatest_MaximumSet_Gen.json")["responses"][
        "200"
    ]["body"]
    sim = Sim()
    sim.patch(rolling("3.0.0-bad"))
    running = sim.latest()
    same_shape(running, theirs)
    for part in ("policy", "runningStatus", "progress"):
        assert set(running["properties"][part]) == set(theirs["properties"][part])
    sim.advance(30)
    faulted = sim.latest()
    same_shape(faulted, theirs)
    assert set(faulted["properties"]) == set(theirs["properties"])
    # the example has id, name and tags; real answers carry only these three (FACTS.md)
    assert set(faulted) == {"type", "location", "properties"} < set(theirs)


def test_post_actions_answer_202_with_a_location_like_the_examples() -> None:
    for name, path in [
        ("VirtualMachineScaleSetExtension_RollingUpgrade.json", "/extensionRollingUpgrade"),
        ("VirtualMachineScaleSetRollingUpgrade_StartOSUpgrade_MaximumSet_Gen.json", "/osRollingUpgrade"),
        ("VirtualMachineScaleSetRollingUpgrade_Cancel_MaximumSet_Gen.json", "/rollingUpgrades/cancel"),
    ]:
        sim = Sim()
        if path.endswith("cancel"):
            sim.patch(rolling("2.0.0"))
        resp = sim.call("POST", sim.base() + path)
        expected = {k.lower() for k in example(name)["responses"]["202"]["headers"]}
        assert resp.status == 202 and resp.body is None
        assert expected <= {k.lower() for k in resp.headers}
    location = resp.headers["Location"]
    assert (
        "/providers/Microsoft.Compute/locations/westeurope/operations/" in location
        and "monitor=true" in location
    )


def test_vm_instance_view_matches_the_example() -> None:
    theirs = example("VirtualMachineScaleSetVM_Get_InstanceViewAutoPlacedOnDedicatedHostGroup.json")
    body = theirs["responses"]["200"]["body"]
    sim = Sim()
    view = sim.call("GET", sim.base() + "/virtualMachines/0/instanceView").body
    assert view["statuses"][0]["code"].startswith("ProvisioningState/")
    assert [s["code"] for s in view["statuses"]][1] == body["statuses"][1]["code"] == "PowerState/running"
    for key in ("platformUpdateDomain", "platformFaultDomain", "statuses"):
        assert type(view[key]) is type(body[key])
    assert view["vmHealth"]["status"]["code"] == "HealthState/healthy"
