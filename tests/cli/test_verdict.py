"""watch and wait end at once: within one refresh of Azure first saying a terminal state (emulator clock)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.conftest import SimClock
from tests.helpers import RG, azure, patch, push_image, ref, set_rolling, target
from vmssroll.emulator import Emulator

LARGE = ("-g", "rg-large", "-n", "fleet")


def _kind(path: str) -> str:
    last = path.rsplit("/", 1)[-1]
    return {"latest": "latest", "virtualMachines": "page"}.get(last, "scale set")


def _push_large(emu: Emulator, version: str) -> None:
    image = emu.vmss("rg-large", "fleet")["properties"]["virtualMachineProfile"]["storageProfile"]
    body = {
        "properties": {
            "virtualMachineProfile": {
                "storageProfile": {"imageReference": {**image["imageReference"], "version": version}}
            }
        }
    }
    azure(emu).patch(
        ref(emu, "fleet", "rg-large"), body, None, applied=lambda _: False, wait=None, unconditional=True
    )
    emu.clear_requests()


def _ended(emu: Emulator, rg: str, name: str):
    """When the emulator's latest upgrade ended (its first terminal moment on the simulated clock)."""
    with emu.lock:
        up = emu.world.find(rg, name).latest()
    assert up is not None and up.end_time is not None
    return up.end_time


def _latency(emu: Emulator, rg: str, name: str, interval: float) -> float:
    """Seconds from the upgrade's end to the command's exit; checks that exactly one refresh saw the end."""
    end = _ended(emu, rg, name)
    reads = [r for r in emu.requests if _kind(r.path) == "latest"]
    after = [r for r in reads if r.sim_time >= end]
    assert len(after) == 1, [r.sim_time for r in after]  # the first terminal read is the last one
    assert emu.clock.now() == after[0].sim_time  # and nothing waited after it
    latency = (after[0].sim_time - end).total_seconds()
    assert latency <= interval
    return latency


@pytest.mark.parametrize("interval", [10, 30])
def test_wait_at_1000_instances_exits_within_one_interval_with_one_request_per_refresh(
    vmssroll, emu, interval
):
    emu.load_scenario("large")
    _push_large(emu, "2.0.0")
    result = vmssroll("wait", *LARGE, "--interval", f"{interval}s", "-o", "json")
    assert result.exit_code == 0, result.output
    assert result.json()["upgrade"]["properties"]["runningStatus"]["code"] == "Completed"
    kinds = Counter(_kind(r.path) for r in emu.requests)
    assert kinds == Counter({"scale set": 1, "latest": kinds["latest"]})  # no listing at all
    assert kinds["latest"] > 20  # a real upgrade, many refreshes long
    _latency(emu, "rg-large", "fleet", interval)


def test_watch_at_1000_instances_exits_within_one_interval_on_two_requests_per_refresh(vmssroll, emu):
    emu.load_scenario("large")
    _push_large(emu, "2.0.0")
    result = vmssroll("watch", *LARGE, "--interval", "10s", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[-1])["state"] == "Completed"
    kinds = Counter(_kind(r.path) for r in emu.requests)
    assert sum(kinds.values()) <= 2 * kinds["latest"]
    _latency(emu, "rg-large", "fleet", 10)


@pytest.mark.parametrize("command", ["watch", "wait"])
def test_a_fault_ends_the_command_within_one_interval(vmssroll, emu, command):
    emu.load_scenario("demo")
    set_rolling(emu)
    push_image(emu, "3.0.0-bad")
    emu.clear_requests()
    result = vmssroll(command, *target(), "--interval", "10s")
    assert result.exit_code == 5, result.output
    _latency(emu, RG, "web", 10)


def test_start_watch_ends_within_one_interval(vmssroll, emu):
    emu.load_scenario("demo")  # a platform image: an OS upgrade has somewhere to go
    set_rolling(emu)
    emu.clear_requests()
    result = vmssroll("start", "os", *target(), "--yes", "--watch", "--interval", "10s")
    assert result.exit_code == 0, result.output
    _latency(emu, RG, "web", 10)


def test_wait_in_manual_mode_with_instances_behind_says_nothing_rolls_them_exit_3(vmssroll, emu):
    emu.load_scenario("demo")
    push_image(emu, "2.0.0")  # Manual mode: the instances fall behind and no upgrade starts
    result = vmssroll("wait", *target())
    assert result.exit_code == 3, result.output
    assert "10 instance(s) are not on the latest model: nothing rolls them in Manual mode" in result.output
    assert f"vmssroll enable-rolling -g {RG} -n web" in result.output
    assert f"vmssroll restart -g {RG} -n web" in result.output


def test_wait_after_an_os_upgrade_in_manual_mode_does_not_report_its_success(vmssroll, emu):
    emu.load_scenario("demo")
    assert vmssroll("start", "os", *target(), "--yes", "--watch").exit_code == 0
    push_image(emu, "2.0.0")
    result = vmssroll("wait", *target(), "-o", "json")
    assert result.exit_code == 3, result.output
    assert "nothing rolls them in Manual mode" in result.json()["message"]


def _flip_to_rolling_quietly(emu: Emulator) -> None:
    """Rolling mode without the write that would start an upgrade: the moment between a model change and the
    upgrade Azure starts for it."""
    with emu.lock:
        ss = emu.world.find(RG, "web")
        ss.props.setdefault("upgradePolicy", {})["mode"] = "Rolling"


class StartingClock(SimClock):
    """Starts the pending upgrade (an empty PATCH in Rolling mode) after a few refreshes."""

    def __init__(self, emu: Emulator, after: int) -> None:
        super().__init__(emu)
        self.after = after

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if len(self.slept) == self.after:
            patch(self.emu, {})


def test_wait_in_rolling_mode_waits_for_the_new_upgrade_instead_of_the_previous_one(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    assert vmssroll("wait", *target()).exit_code == 0  # the first upgrade Completed
    set_rolling(emu)  # nothing behind: no new upgrade
    patch(emu, {"properties": {"upgradePolicy": {"mode": "Manual"}}})
    push_image(emu, "3.0.0")
    _flip_to_rolling_quietly(emu)
    emu.clear_requests()
    result = vmssroll("wait", *target(), "--interval", "10s", clock=StartingClock(emu, 3))
    assert result.exit_code == 0, result.output
    images = [vm["profile"]["storageProfile"]["imageReference"] for vm in emu.vms(RG, "web")]
    versions = {image.get("version") or image["id"].rsplit("/", 1)[-1] for image in images}
    assert versions == {"3.0.0"}  # it waited for the new upgrade to end, not the old one
    kinds = Counter(_kind(r.path) for r in emu.requests if r.method == "GET")
    assert kinds["page"] == 1  # one listing, on the first refresh, told it that instances were behind


def test_wait_in_rolling_mode_gives_up_on_an_upgrade_that_never_starts(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    assert vmssroll("wait", *target()).exit_code == 0
    patch(emu, {"properties": {"upgradePolicy": {"mode": "Manual"}}})
    push_image(emu, "3.0.0")
    _flip_to_rolling_quietly(emu)
    clock = SimClock(emu)
    result = vmssroll("wait", *target(), "--interval", "10s", clock=clock)
    assert result.exit_code == 3, result.output
    assert "no rolling upgrade started within 5m" in result.output
    assert 300 <= sum(clock.slept) <= 310
