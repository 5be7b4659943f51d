"""Azure's recorded behaviours the emulator follows (FACTS.md): health signals, shapes of answers, actions."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.emulator.emu_helpers import Sim, rolling
from tests.emulator.test_http import request, vmss_path
from vmssroll.emulator import Emulator


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


# --- over HTTP (the served emulator) ------------------------------------------------------------------------

AZURE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}[+-]\d\d:\d\d$")


def test_latest_carries_only_type_location_properties_and_azures_times(live: Emulator) -> None:
    request(live, "PATCH", vmss_path(live), rolling("2.0.0"))
    status, _, body = request(live, "GET", vmss_path(live, "/rollingUpgrades/latest"))
    assert status == 200
    assert set(body) == {"type", "location", "properties"}
    running = body["properties"]["runningStatus"]
    assert AZURE_TIME.match(running["startTime"]) and AZURE_TIME.match(running["lastActionTime"])
    assert running["lastActionTime"] < running["startTime"]  # recorded: tens of ms before


@pytest.mark.parametrize(
    "action", ["/osRollingUpgrade", "/extensionRollingUpgrade", "/rollingUpgrades/cancel"]
)
def test_post_actions_answer_202_with_both_operation_urls_and_no_retry_after(
    live: Emulator, action: str
) -> None:
    if action.endswith("cancel"):
        request(live, "PATCH", vmss_path(live), rolling("2.0.0"))
    status, headers, body = request(live, "POST", vmss_path(live, action))
    assert (status, body) == (202, None)
    assert "retry-after" not in headers
    operation, location = headers["azure-asyncoperation"], headers["location"]
    assert "/operations/" in operation and "monitor=true" not in operation
    assert location.startswith(operation.split("?")[0]) and "monitor=true" in location
    path = location.split(live.url, 1)[1]
    assert request(live, "GET", path)[0] == 202  # still running
    live.clock.advance(3600)
    status, _, body = request(live, "GET", path)
    assert (status, body) == (200, None)  # done: 200 with an empty body


def test_cancel_ends_the_start_operation_succeeded_a_second_later(live: Emulator) -> None:
    _, started, _ = request(live, "POST", vmss_path(live, "/osRollingUpgrade"))
    live.clock.advance(10)
    _, cancelled, _ = request(live, "POST", vmss_path(live, "/rollingUpgrades/cancel"))

    def op(headers: dict[str, str]) -> str:
        return str(request(live, "GET", headers["azure-asyncoperation"].split(live.url, 1)[1])[2]["status"])

    assert (op(started), op(cancelled)) == ("InProgress", "InProgress")
    live.clock.advance(1)
    assert (op(started), op(cancelled)) == ("Succeeded", "InProgress")
    live.clock.advance(20)  # the batch in flight is done
    assert op(cancelled) == "Succeeded"
    props = request(live, "GET", vmss_path(live, "/rollingUpgrades/latest"))[2]["properties"]
    assert (props["runningStatus"]["code"], props["runningStatus"]["lastAction"]) == ("Cancelled", "Cancel")
    assert (
        props["progress"]["pendingInstanceCount"] == 8 and props["progress"]["successfulInstanceCount"] == 2
    )


def test_manual_upgrade_accepts_a_star_on_uniform(live: Emulator) -> None:
    request(live, "PATCH", vmss_path(live), {"properties": {"virtualMachineProfile": {
        "storageProfile": {"imageReference": {"version": "2.0.0"}}}}})  # fmt: skip
    status, headers, _ = request(live, "POST", vmss_path(live, "/manualupgrade"), {"instanceIds": ["*"]})
    assert status == 202 and headers["azure-asyncoperation"]
    assert all(v["phase"] == "updating" for v in live.vms("rg-demo", "web"))


def test_a_mode_sent_in_lower_case_is_stored_and_returned_in_azures_spelling(live: Emulator) -> None:
    status, _, body = request(
        live, "PATCH", vmss_path(live), {"properties": {"upgradePolicy": {"mode": "rolling"}}}
    )
    assert status == 200 and body["properties"]["upgradePolicy"]["mode"] == "Rolling"
    assert request(live, "GET", vmss_path(live))[2]["properties"]["upgradePolicy"]["mode"] == "Rolling"
    live.load_scenario({**live.scenario, "scale_sets": [
        {**live.scenario["scale_sets"][0], "upgrade_policy": {"mode": "AUTOMATIC"}}]})  # fmt: skip
    assert request(live, "GET", vmss_path(live))[2]["properties"]["upgradePolicy"]["mode"] == "Automatic"


def test_os_upgrade_of_a_custom_image_is_refused_with_azures_message(live: Emulator) -> None:
    live.load_scenario("uniform-extension")  # a gallery image
    status, _, body = request(live, "POST", vmss_path(live, "/osRollingUpgrade"))
    assert status == 409 and body["error"]["code"] == "OperationNotAllowed"
    assert body["error"]["message"] == (
        "The OS Rolling Upgrade API cannot be used on a VM Scale Set unless the VM Scale Set is using a Platform "
        "Image select the OS by setting imageReference."
    )
    assert request(live, "GET", vmss_path(live, "/rollingUpgrades/latest"))[0] == 404  # nothing started
    assert request(live, "POST", vmss_path(live, "/extensionRollingUpgrade"))[0] == 202


def budgets(headers: dict[str, str]) -> dict[str, int]:
    pairs = (p.rpartition(";") for p in headers["x-ms-ratelimit-remaining-resource"].split(","))
    return {name: int(left) for name, _, left in pairs}


def test_every_compute_answer_carries_the_resource_budgets(live: Emulator) -> None:
    sub = live.subscription_id
    first = budgets(request(live, "GET", vmss_path(live))[1])
    assert list(first) == ["Microsoft.Compute/GetVMScaleSet3Min", "Microsoft.Compute/GetVMScaleSet30Min"]
    second = budgets(request(live, "GET", vmss_path(live, "/rollingUpgrades/latest"))[1])  # a 404 too
    assert [second[k] for k in first] == [first[k] - 1 for k in first]  # each call spends one
    listing = budgets(request(live, "GET", vmss_path(live, "/virtualMachines"))[1])
    assert set(listing) == {
        "Microsoft.Compute/HighCostGetVMScaleSet3Min",
        "Microsoft.Compute/HighCostGetVMScaleSet30Min",
    }
    write = budgets(request(live, "PATCH", vmss_path(live), {"tags": {"a": "b"}})[1])
    assert (
        write["Microsoft.Compute/VmssQueuedVMOperations"] == 0
        and "Microsoft.Compute/CreateVMScaleSet3Min" in write
    )
    action = budgets(request(live, "POST", vmss_path(live, "/extensionRollingUpgrade"))[1])
    assert (
        action["Microsoft.Compute/VmssQueuedVMOperations"] == 0
        and action["Microsoft.Compute/VMScaleSetActions3Min"] > 0
    )
    live.clock.advance(180)
    assert (
        budgets(request(live, "GET", vmss_path(live))[1])["Microsoft.Compute/GetVMScaleSet3Min"]
        == (first["Microsoft.Compute/GetVMScaleSet3Min"])
    )  # a new 3-minute window
    rg = request(live, "GET", f"/subscriptions/{sub}/resourceGroups/rg-demo?api-version=2021-04-01")
    assert rg[0] == 200 and "x-ms-ratelimit-remaining-resource" not in rg[1]  # not a Compute call
