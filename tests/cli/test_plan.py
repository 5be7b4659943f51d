"""`vmssroll plan` end to end: the real SDK against the emulator; hand-computed batches; never a write.

The emulator's sets place instance n in zone n % 3 + 1: zone 1 = 0, 3, 6, 9; zone 2 = 1, 4, 7; zone 3 = 2, 5,
8.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tests.helpers import WRITES, patch, push_image, set_rolling, target
from vmssroll.emulator.scenarios import SCENARIO_DIR

ZONAL = [["0", "3"], ["6", "9"], ["1", "4"], ["7"], ["2", "5"], ["8"]]


def scenario(name: str, **changes: Any) -> dict[str, Any]:
    data = yaml.safe_load((SCENARIO_DIR / f"{name}.yaml").read_text())
    data["scale_sets"][0].update(changes)
    return data


def batches(doc: dict[str, Any]) -> list[list[str]]:
    return [b["instanceIds"] for b in doc["batches"]]


def behind(emu: Any, version: str = "2.0.0", name: str = "web") -> None:
    """A new image version in the stored model (Manual mode: nothing starts), then a clean request log."""
    push_image(emu, version, name)
    emu.clear_requests()


def assert_read_only(emu: Any) -> None:
    assert emu.requests, "the plan read nothing?"
    assert [r for r in emu.requests if r.method in WRITES] == []


def test_zonal_plan_of_the_stored_policy(vmssroll, emu):
    behind(emu)
    result = vmssroll("plan", *target(), "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert doc["candidates"] == [str(i) for i in range(10)]
    assert batches(doc) == ZONAL
    assert [b["zones"] for b in doc["batches"]] == [["1"], ["1"], ["2"], ["2"], ["3"], ["3"]]
    assert doc["batchSize"] == 2 and doc["zonal"] is True and doc["proposed"] is False
    assert [b["before"]["text"] for b in doc["batches"]][:1] == [
        "0 unhealthy of 10 = 0% ≤ 20%: batch of 2 (room for 2 more unhealthy)"
    ]
    assert [b["after"]["tolerated"] for b in doc["batches"]] == [0, 0, 1, 1, 1, 2]
    assert doc["refused"] is False
    assert doc["durationSeconds"] == 6 * 300
    assert doc["assumptions"]
    assert any("mode is Manual" in n for n in doc["notes"])
    assert_read_only(emu)
    assert [r.method for r in emu.requests] == ["GET", "GET"]


def test_cross_zone_proposed_by_a_flag(vmssroll, emu):
    behind(emu)
    result = vmssroll("plan", *target(), "--cross-zone", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert doc["proposed"] is True and doc["policy"]["enableCrossZoneUpgrade"] is True
    assert batches(doc) == [["0", "1"], ["2", "3"], ["4", "5"], ["6", "7"], ["8", "9"]]
    assert doc["batches"][1]["zones"] == ["1", "3"]
    assert_read_only(emu)
    stored = emu.vmss("rg-demo", "web")["properties"]["upgradePolicy"]
    assert "enableCrossZoneUpgrade" not in (stored.get("rollingUpgradePolicy") or {})


def test_unhealthy_set_is_refused_before_the_first_batch_exit_3(vmssroll, emu):
    emu.load_scenario("uniform-unhealthy")  # 2, 5 and 7 unhealthy
    behind(emu)
    result = vmssroll("plan", *target(), "-o", "json")
    assert result.exit_code == 3, result.output
    doc = result.json()
    assert len(doc["batches"]) == 1  # the plan ends with the refused batch
    first = doc["batches"][0]
    assert first["instanceIds"] == ["0"]  # even one instance would be too many
    text = (
        "3 unhealthy of 10 = 30% > limit 20%: Azure would fault the upgrade before batch 1 "
        "(MaxUnhealthyInstancePercentExceededInRollingUpgrade)"
    )
    assert first["before"] == {
        "unhealthy": 3,
        "total": 10,
        "percent": 30.0,
        "limit": 20,
        "room": -1,  # floor(10 * 20 / 100) - 3
        "nominalSize": 2,
        "available": 4,  # zone 1: 0, 3, 6, 9
        "allowedSize": 1,
        "fullSize": 2,
        "size": 1,
        "shrunk": False,
        "refused": True,
        "text": text,
    }
    assert doc["refusedAtBatch"] == 1
    assert doc["verdict"] == text
    assert doc["unhealthyInstanceIds"] == ["2", "5", "7"]
    assert_read_only(emu)

    table = vmssroll("plan", *target())
    assert table.exit_code == 3
    assert "Azure would fault the upgrade before batch 1" in table.stdout
    assert "refused" in table.stdout


def test_prioritized_unhealthy_first_zone_by_zone(vmssroll, emu):
    emu.load_scenario("uniform-unhealthy")
    behind(emu)
    result = vmssroll(
        "plan", *target(), "--prioritize-unhealthy", "--max-unhealthy-instance-percent", "50", "-o", "json"
    )
    assert result.exit_code == 0, result.output
    doc = result.json()
    # zones 2 (7) and 3 (2, 5) hold unhealthy instances: they come first, unhealthy first within each
    assert batches(doc) == [["7", "1"], ["4"], ["2", "5"], ["8"], ["0", "3"], ["6", "9"]]
    # room floor(10 * 50 / 100) - unhealthy = 2, 3, 3, 5, 5, 5: no batch shrinks below 2
    assert [(b["before"]["unhealthy"], b["size"]) for b in doc["batches"]] == [
        (3, 2), (2, 1), (2, 2), (0, 1), (0, 2), (0, 2)
    ]  # fmt: skip
    assert doc["batches"][0]["before"]["text"] == (
        "3 unhealthy of 10 = 30% ≤ 50%: batch of 2 (room for 2 more unhealthy)"
    )
    assert_read_only(emu)


def test_prioritized_cross_zone(vmssroll, emu):
    emu.load_scenario("uniform-unhealthy")
    behind(emu)
    result = vmssroll(
        "plan", *target(), "--prioritize-unhealthy", "--cross-zone", "--max-unhealthy-instance-percent", "50",
        "-o", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert batches(result.json()) == [["2", "5"], ["7", "0"], ["1", "3"], ["4", "6"], ["8", "9"]]


def test_max_surge_counts_the_extra_instances(vmssroll, emu):
    behind(emu)
    result = vmssroll("plan", *target(), "--max-surge", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert batches(doc) == ZONAL
    assert [b["surgeInstances"] for b in doc["batches"]] == [2, 2, 2, 1, 2, 1]
    assert doc["peakInstances"] == 12
    table = vmssroll("plan", *target(), "--max-surge")
    assert "+2" in table.stdout and "at most 12 instances exist at once" in table.stdout
    assert_read_only(emu)


def test_max_surge_needs_overprovision_off(vmssroll, emu):
    emu.load_scenario(scenario("uniform-probe", overprovision=True))
    result = vmssroll("plan", *target(), "--max-surge")
    assert result.exit_code == 2
    assert "MaxSurge needs overprovision off" in result.stderr
    assert_read_only(emu)


def test_stored_policy_and_duration(vmssroll, emu):
    policy = {
        "maxBatchInstancePercent": 50,
        "maxUnhealthyInstancePercent": 50,
        "pauseTimeBetweenBatches": "PT30S",
    }
    patch(emu, {"properties": {"upgradePolicy": {"mode": "Manual", "rollingUpgradePolicy": policy}}})
    behind(emu)
    result = vmssroll("plan", *target(), "--batch-time", "2m", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert doc["batchSize"] == 5
    assert batches(doc) == [["0", "3", "6", "9"], ["1", "4", "7"], ["2", "5", "8"]]
    assert doc["durationSeconds"] == 3 * 120 + 2 * 30
    assert doc["batchTimeSeconds"] == 120
    assert_read_only(emu)


def test_nothing_behind(vmssroll, emu):
    result = vmssroll("plan", *target(), "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert doc["batches"] == [] and doc["candidates"] == [] and doc["durationSeconds"] == 0
    table = vmssroll("plan", *target())
    assert "Nothing to upgrade" in table.stdout
    assert_read_only(emu)


def test_all_plans_a_reimage_of_a_large_set(vmssroll, emu):
    emu.load_scenario("large")  # 1,000 instances, Rolling, 10% batches: nothing behind
    result = vmssroll("plan", "-g", "rg-large", "-n", "fleet", "--all", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert doc["scope"] == "all" and len(doc["candidates"]) == 1000
    assert doc["batchSize"] == 100
    # zone 1 holds 334 instances, zones 2 and 3 hold 333 each
    assert [b["size"] for b in doc["batches"]] == [100, 100, 100, 34, 100, 100, 100, 33, 100, 100, 100, 33]
    assert doc["batches"][0]["instanceIds"][:3] == ["0", "3", "6"]
    assert doc["notes"] == []  # Rolling mode
    assert_read_only(emu)

    wider = vmssroll("plan", "-g", "rg-large", "-n", "fleet", "--all", "--max-batch-instance-percent", "20",
                     "--cross-zone", "-o", "json")  # fmt: skip
    assert [b["size"] for b in wider.json()["batches"]] == [200] * 5


def test_bad_input_is_refused_before_any_request(vmssroll, emu, tmp_path):
    bad_file = tmp_path / "policy.json"
    bad_file.write_text(json.dumps({"rollingUpgradePolicy": {"maxBatchPercent": 10}}))
    for args, message in [
        (("--max-batch-instance-percent", "150"), "between 5 and 100"),
        (("--pause-time-between-batches", "soon"), "not a duration"),
        (("--batch-time", "abc"), "--batch-time"),
        (("--file", str(bad_file)), "maxBatchInstancePercent"),
    ]:
        emu.clear_requests()
        result = vmssroll("plan", *target(), *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert emu.requests == []


# --- the plan against the emulator's own rollout (it implements the documented rules independently) -------

FLAGS = {
    "enableCrossZoneUpgrade": "--cross-zone",
    "prioritizeUnhealthyInstances": "--prioritize-unhealthy",
    "maxSurge": "--max-surge",
    "maxUnhealthyInstancePercent": "--max-unhealthy-instance-percent",
    "maxUnhealthyUpgradedInstancePercent": "--max-unhealthy-upgraded-instance-percent",
}


def rollout(emu: Any, version: str) -> list[set[str]]:
    """Push a new image; the original instances each batch took (being updated, or deleted after a surge)."""
    originals = {v["instance_id"] for v in emu.vms("rg-demo", "web")}
    push_image(emu, version)
    taken: list[set[str]] = []
    done: set[str] = set()
    for _ in range(1000):
        vms = {v["instance_id"]: v for v in emu.vms("rg-demo", "web")}
        now = {i for i in originals if i not in vms or vms[i]["phase"] != "idle"} - done
        if now:
            taken.append(now)
            done |= now
        if done == originals:
            break
        emu.clock.advance(5)
    return taken


ONE_UNHEALTHY = scenario("uniform-probe", instances={"8": {"health": "unhealthy"}})


@pytest.mark.parametrize(
    ("scenario_name", "policy"),
    [
        ("uniform-probe", {}),
        # 1 of 10 unhealthy at 20%: every batch shrinks to one until 8, the last, is upgraded
        (ONE_UNHEALTHY, {}),
        # the same, prioritized and cross-zone: 8 alone, then batches of 2 again
        (ONE_UNHEALTHY, {"prioritizeUnhealthyInstances": True, "enableCrossZoneUpgrade": True}),
        # two instances at the default 20/20: one at a time
        (scenario("uniform-probe", capacity=2), {}),
        ("uniform-probe", {"enableCrossZoneUpgrade": True}),
        ("uniform-probe", {"maxSurge": True}),
        ("uniform-unhealthy", {"prioritizeUnhealthyInstances": True, "maxUnhealthyInstancePercent": 50,
                               "maxUnhealthyUpgradedInstancePercent": 100}),
        ("uniform-unhealthy", {"prioritizeUnhealthyInstances": True, "enableCrossZoneUpgrade": True,
                               "maxUnhealthyInstancePercent": 50, "maxUnhealthyUpgradedInstancePercent": 100}),
    ],
)  # fmt: skip
def test_the_emulator_rolls_out_as_planned(vmssroll, emu, scenario_name, policy):
    emu.load_scenario(scenario_name)
    flags = [a for k, v in policy.items() for a in ((FLAGS[k],) if v is True else (FLAGS[k], str(v)))]
    planned = vmssroll("plan", *target(), "--all", *flags, "-o", "json")
    assert planned.exit_code == 0, planned.output
    set_rolling(emu, **policy)
    assert rollout(emu, "2.0.0") == [set(b) for b in batches(planned.json())]


def test_the_small_set_plan_by_hand(vmssroll, emu):
    emu.load_scenario(scenario("uniform-probe", capacity=2))
    doc = vmssroll("plan", *target(), "--all", "-o", "json").json()
    assert batches(doc) == [["0"], ["1"]]  # 0 of 2 = 0% ≤ 20%: room floor(0.4) = 0, a batch is one instance
    assert doc["refused"] is False and doc["batchSize"] == 1


@pytest.mark.parametrize(
    ("scenario_name", "percent"),
    [
        ("uniform-unhealthy", 30),  # 3 of 10: the 20% limit plus one instance
        (
            scenario("uniform-probe", instances={str(i): {"health": "unhealthy"} for i in (0, 4, 6, 8)}),
            40,
        ),
    ],
)
def test_the_emulator_faults_where_the_plan_refuses(vmssroll, emu, scenario_name, percent):
    emu.load_scenario(scenario_name)
    planned = vmssroll("plan", *target(), "--all", "-o", "json")
    assert planned.exit_code == 3
    assert f" of 10 = {percent}% > limit 20%" in planned.json()["verdict"]
    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.clock.advance(60)
    result = vmssroll("status", *target(), "-o", "json")
    status = json.dumps(result.json())
    assert "MaxUnhealthyInstancePercentExceededInRollingUpgrade" in status
    assert f"{percent}% of instances are in an unhealthy state" in status
