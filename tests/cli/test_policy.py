"""`policy show | validate | set | export` end to end: the real SDK against the emulator, asserting on output,
exit codes, the emulator's request log and the whole stored model."""

from __future__ import annotations

import copy
import json
import re
import string
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import NAME, RG, patch, set_rolling, target, writes
from vmssroll.adapter.client import Azure
from vmssroll.domain.policy import FIELDS, OS_FIELDS
from vmssroll.emulator.scenarios import SCENARIO_DIR

REST = [f.rest for f in FIELDS]
DEFAULTS = {f.rest: f.default for f in FIELDS}
CLI = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def scenario(name: str = "uniform-probe", **changes: Any) -> dict[str, Any]:
    data = yaml.safe_load((SCENARIO_DIR / f"{name}.yaml").read_text())
    data["scale_sets"][0].update(changes)
    return data


def stored_policy(emu) -> dict[str, Any]:
    return emu.vmss(RG, NAME)["properties"]["upgradePolicy"]


def patches(emu) -> list[Any]:
    return [r for r in emu.requests if r.method == "PATCH"]


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


# --- show ---------------------------------------------------------------------------------------------------


def test_show_table_lists_every_field_mode_zones_capacity_and_health(vmssroll, emu):
    result = vmssroll("policy", "show", *target())
    assert result.exit_code == 0, result.output
    for name in REST:
        assert name in result.stdout
    for text in (
        "upgrade mode   Manual",
        "Uniform",
        "1, 2, 3",
        "10",
        "lb-web",
        "http-health",
        "Azure default",
    ):
        assert text in result.stdout, text
    assert result.stdout.count("Azure default") == len(REST)


def test_show_marks_only_the_fields_left_at_azure_defaults(vmssroll, emu):
    set_rolling(emu, maxBatchInstancePercent=50, pauseTimeBetweenBatches="PT30S")
    doc = vmssroll("policy", "show", *target(), "-o", "json").json()
    assert doc["mode"] == "Rolling" and doc["modeIsDefault"] is False
    assert doc["rollingUpgradePolicy"]["maxBatchInstancePercent"] == 50
    assert doc["rollingUpgradePolicy"]["pauseTimeBetweenBatches"] == "PT30S"
    assert set(doc["defaults"]) == set(REST) - {"maxBatchInstancePercent", "pauseTimeBetweenBatches"}
    table = vmssroll("policy", "show", *target()).stdout
    assert table.count("Azure default") == len(REST) - 2
    line = next(ln for ln in table.splitlines() if "maxBatchInstancePercent" in ln)
    assert "50" in line and "Azure default" not in line


def test_show_json_field_by_field(vmssroll, emu):
    patch(
        emu,
        {"properties": {"upgradePolicy": {"automaticOSUpgradePolicy": {"enableAutomaticOSUpgrade": True}}}},
    )
    emu.clear_requests()
    result = vmssroll("policy", "show", *target(), "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    stored = emu.vmss(RG, NAME)
    ss = doc["scaleSet"]
    assert ss["name"] == NAME and ss["resourceGroup"] == RG and ss["location"] == "westeurope"
    assert ss["id"].lower() == stored["id"].lower()
    assert ss["orchestrationMode"] == "Uniform"
    assert ss["capacity"] == 10
    assert ss["zones"] == ["1", "2", "3"]
    assert ss["overprovision"] is False
    assert f'"{ss["etag"].strip(chr(34))}"' == stored["etag"]
    assert doc["mode"] == "Manual" and doc["modeIsDefault"] is False  # stored explicitly as Manual
    assert doc["rollingUpgradePolicy"] == DEFAULTS
    assert sorted(doc["defaults"]) == sorted(REST)
    assert doc["automaticOSUpgradePolicy"] == {
        f.rest: f.rest == "enableAutomaticOSUpgrade" for f in OS_FIELDS
    }
    assert doc["automaticOSUpgradeDefaults"] == [f.rest for f in OS_FIELDS[1:]]
    assert [e["name"] for e in doc["extensions"]] == ["configure-app"]
    [source] = doc["healthSources"]
    assert source["kind"] == "probe" and "http-health" in source["detail"]
    assert set(doc) == {
        "scaleSet", "mode", "modeIsDefault", "rollingUpgradePolicy", "defaults",
        "automaticOSUpgradePolicy", "automaticOSUpgradeDefaults", "extensions", "healthSources",
    }  # fmt: skip
    assert [r.method for r in emu.requests] == ["GET"]  # one read, nothing written
    table = vmssroll("policy", "show", *target()).stdout
    assert "automatic OS upgrade policy" in table and "enableAutomaticOSUpgrade" in table


# --- validate -----------------------------------------------------------------------------------------------


def test_validate_offline_sends_nothing(vmssroll, emu):
    result = vmssroll(
        "policy", "validate", "--max-batch-instance-percent", "10", "--pause-time-between-batches", "2m"
    )
    assert result.exit_code == 0, result.output
    assert "Policy is valid" in result.stdout
    assert emu.requests == []
    doc = vmssroll("policy", "validate", "--pause-time-between-batches", "1h30m", "-o", "json").json()
    assert doc["valid"] is True and doc["findings"] == [] and doc["scaleSet"] is None
    assert doc["policy"] == {**DEFAULTS, "pauseTimeBetweenBatches": "PT1H30M"}


def test_validate_batch_above_max_unhealthy_is_a_warning_exit_0(vmssroll, emu):
    args = ("--max-batch-instance-percent", "50", "--max-unhealthy-instance-percent", "20")
    result = vmssroll("policy", "validate", *args, width=300)
    assert result.exit_code == 0, result.output
    assert "warning" in result.stdout and "maxBatchInstancePercent" in result.stdout
    assert "--max-unhealthy-instance-percent" in result.stdout  # what to change
    doc = vmssroll("policy", "validate", *args, "-o", "json").json()
    assert doc["valid"] is True
    [finding] = doc["findings"]
    assert finding["severity"] == "warning" and finding["field"] == "maxBatchInstancePercent"
    assert "50%" in finding["message"] and "20%" in finding["message"]
    assert finding["fix"]


def test_validate_against_the_scale_set_zones_and_overprovision(vmssroll, emu):
    ok = vmssroll("policy", "validate", *target(), "--cross-zone", "--max-surge", "-o", "json")
    assert ok.exit_code == 0, ok.output
    assert ok.json()["valid"] is True and ok.json()["scaleSet"].endswith("/web")
    emu.load_scenario(scenario(zones=[], overprovision=True))
    result = vmssroll("policy", "validate", *target(), "--cross-zone", "--max-surge", width=300)
    assert result.exit_code == 2, result.output
    assert "cross-zone upgrade needs a zonal scale set" in result.stdout
    assert "--no-cross-zone" in result.stdout
    assert "MaxSurge needs overprovision off" in result.stdout
    assert "overprovision" in result.stdout
    doc = vmssroll("policy", "validate", *target(), "--cross-zone", "--max-surge", "-o", "json").json()
    assert doc["valid"] is False
    assert {(f["severity"], f["field"]) for f in doc["findings"]} == {
        ("error", "enableCrossZoneUpgrade"),
        ("error", "maxSurge"),
    }
    assert all(f["fix"] for f in doc["findings"])
    assert writes(emu) == []


def test_validate_checks_the_stored_policy_merged_with_the_flags(vmssroll, emu):
    stored = {"mode": "Manual", "rollingUpgradePolicy": {"enableCrossZoneUpgrade": True}}
    emu.load_scenario(
        scenario(zones=[], overprovision=True, upgrade_policy=stored)
    )  # as if the set lost its zones
    result = vmssroll("policy", "validate", *target(), width=300)
    assert result.exit_code == 2 and "cross-zone" in result.stdout
    assert vmssroll("policy", "validate", *target(), "--no-cross-zone").exit_code == 0


def test_validate_invalid_flags_with_a_target_send_nothing_one_line_per_problem(vmssroll, emu):
    result = vmssroll(
        "policy", "validate", *target(),
        "--max-batch-instance-percent", "3",
        "--max-unhealthy-instance-percent", "abc",
        "--max-unhealthy-upgraded-instance-percent", "101",
        "--pause-time-between-batches", "soon",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert emu.requests == []
    lines = error_lines(result)
    assert len(lines) == 4, lines
    assert all(line.startswith("error: ") for line in lines)
    assert "--max-batch-instance-percent: 3 is out of range; it must be between 5 and 100" in lines[0]
    assert "--max-unhealthy-instance-percent" in lines[1] and "whole number" in lines[1]
    assert "--max-unhealthy-upgraded-instance-percent: 101" in lines[2] and "0 and 100" in lines[2]
    assert "--pause-time-between-batches" in lines[3] and "30s, 2m, 1h30m" in lines[3]
    assert "Traceback" not in result.output


def test_validate_invalid_json_output_is_one_document(vmssroll, emu):
    result = vmssroll("policy", "validate", *target(), "--max-batch-instance-percent", "200", "-o", "json")
    assert result.exit_code == 2
    doc = result.json()
    assert doc["valid"] is False
    [finding] = doc["findings"]
    assert finding["field"] == "--max-batch-instance-percent"
    assert finding["fix"] == "give a whole number from 5 to 100"
    assert emu.requests == []


def test_contradictory_flags_are_refused_before_any_request(vmssroll, emu):
    for args in (
        ("--cross-zone", "--no-cross-zone"),
        ("--no-max-surge", "--max-surge"),
        ("--max-batch-instance-percent", "10", "--max-batch-instance-percent", "20"),
        ("--pause-time-between-batches", "30s", "--pause-time-between-batches", "PT1M"),
    ):
        for command in (("policy", "validate"), ("policy", "set", "--yes")):
            emu.clear_requests()
            result = vmssroll(*command, *target(), *args)
            assert result.exit_code == 2, (args, result.output)
            assert "contradictory" in result.stderr
            assert emu.requests == []
    same = vmssroll(
        "policy", "validate", "--pause-time-between-batches", "30s", "--pause-time-between-batches", "PT30S"
    )
    assert same.exit_code == 0, same.output


def test_validate_file_unknown_key_suggests_the_nearest_name(vmssroll, emu, tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"mode": "Manual", "rollingUpgradePolicy": {"maxBatchInstancePercnt": 10}}))
    result = vmssroll("policy", "validate", "--file", str(path), *target())
    assert result.exit_code == 2
    assert "unknown key 'rollingUpgradePolicy.maxBatchInstancePercnt'" in result.stderr
    assert "did you mean 'rollingUpgradePolicy.maxBatchInstancePercent'" in result.stderr
    assert emu.requests == []
    path.write_text(json.dumps({"maxSurge": True, "mdoe": "Manual"}))
    result = vmssroll("policy", "validate", "--file", str(path))
    assert result.exit_code == 2
    lines = error_lines(result)
    assert len(lines) == 2
    assert "did you mean 'rollingUpgradePolicy.maxSurge'" in lines[0]
    assert "did you mean 'mode'" in lines[1]


def test_validate_file_values_are_checked_like_flags(vmssroll, emu, tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(
        "mode: Sometimes\nrollingUpgradePolicy:\n  maxSurge: 'yes'\n  maxBatchInstancePercent: 0\n"
        "  pauseTimeBetweenBatches: PT\n"
    )
    result = vmssroll("policy", "validate", "--file", str(path))
    assert result.exit_code == 2
    text = result.stderr
    assert len(error_lines(result)) == 4
    assert "policy file mode: 'Sometimes' is not one of Manual, Automatic, Rolling" in text
    assert "rollingUpgradePolicy.maxSurge: 'yes' is not true or false" in text
    assert "rollingUpgradePolicy.maxBatchInstancePercent: 0 is out of range" in text
    assert "rollingUpgradePolicy.pauseTimeBetweenBatches: 'PT' is not an ISO 8601 duration" in text


def test_unreadable_or_malformed_files_are_exit_2(vmssroll, emu, tmp_path):
    bad_json = tmp_path / "p.json"
    bad_json.write_text("{not json")
    bad_yaml = tmp_path / "p.yml"
    bad_yaml.write_text("a: [1\n")
    top = tmp_path / "list.json"
    top.write_text("[1, 2]")
    for path, text in (
        (bad_json, "not valid JSON"),
        (bad_yaml, "not valid YAML"),
        (top, "top level must be an object"),
        (tmp_path / "missing.json", "missing.json"),
    ):
        result = vmssroll("policy", "set", *target(), "--file", str(path), "--yes")
        assert result.exit_code == 2, result.output
        assert text in result.stderr
        assert emu.requests == []


# --- set ----------------------------------------------------------------------------------------------------


def test_set_sends_one_patch_of_only_the_given_field_with_if_match(vmssroll, emu):
    etag = emu.vmss(RG, NAME)["etag"]
    result = vmssroll("policy", "set", *target(), "--max-batch-instance-percent", "50", "--yes")
    assert result.exit_code == 0, result.output
    [sent] = patches(emu)
    assert sent.body == {
        "properties": {"upgradePolicy": {"rollingUpgradePolicy": {"maxBatchInstancePercent": 50}}}
    }
    assert sent.if_match == etag and sent.status == 200
    assert writes(emu) == [("PATCH", sent.path)]
    assert emu.requests[-1].method == "GET" and emu.requests[-1].path == sent.path  # read back
    assert stored_policy(emu) == {"mode": "Manual", "rollingUpgradePolicy": {"maxBatchInstancePercent": 50}}
    assert "Applied and confirmed" in result.stdout
    assert "maxBatchInstancePercent" in result.stdout and "50" in result.stdout


@pytest.mark.parametrize(
    ("given", "iso"),
    [("30s", "PT30S"), ("2m", "PT2M"), ("1h30m", "PT1H30M"), ("PT45S", "PT45S"), ("90", "PT1M30S")],
)
def test_set_pause_converts_friendly_durations_to_iso(vmssroll, emu, given, iso):
    result = vmssroll("policy", "set", *target(), "--pause-time-between-batches", given, "--yes")
    assert result.exit_code == 0, result.output
    assert patches(emu)[0].body["properties"]["upgradePolicy"]["rollingUpgradePolicy"] == {
        "pauseTimeBetweenBatches": iso
    }
    assert stored_policy(emu)["rollingUpgradePolicy"]["pauseTimeBetweenBatches"] == iso


def test_set_every_flag_at_once_json_field_by_field(vmssroll, emu):
    etag_before = emu.vmss(RG, NAME)["etag"]
    result = vmssroll(
        "policy", "set", *target(), "--yes", "-o", "json",
        "--max-batch-instance-percent", "10",
        "--max-unhealthy-instance-percent", "30",
        "--max-unhealthy-upgraded-instance-percent", "0",
        "--pause-time-between-batches", "1h30m",
        "--prioritize-unhealthy", "--cross-zone", "--max-surge", "--rollback-on-breach",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = result.json()
    wanted = {
        "maxBatchInstancePercent": 10,
        "maxUnhealthyInstancePercent": 30,
        "maxUnhealthyUpgradedInstancePercent": 0,
        "pauseTimeBetweenBatches": "PT1H30M",
        "prioritizeUnhealthyInstances": True,
        "enableCrossZoneUpgrade": True,
        "maxSurge": True,
        "rollbackFailedInstancesOnPolicyBreach": True,
    }
    assert doc["applied"] is True and doc["dryRun"] is False and doc["warnings"] == []
    assert doc["scaleSet"].endswith("/virtualMachineScaleSets/web")
    assert doc["changes"] == [{"field": k, "before": DEFAULTS[k], "after": v} for k, v in wanted.items()]
    assert doc["upgradePolicy"] == {
        "mode": "Manual",
        "rollingUpgradePolicy": wanted,
        "automaticOSUpgradePolicy": {f.rest: False for f in OS_FIELDS},
    }
    assert doc["etag"] != etag_before and f'"{doc["etag"].strip(chr(34))}"' == emu.vmss(RG, NAME)["etag"]
    assert stored_policy(emu)["rollingUpgradePolicy"] == wanted
    assert len(patches(emu)) == 1
    # and switching them off again touches only the booleans
    emu.clear_requests()
    off = vmssroll(
        "policy", "set", *target(), "--yes", "--no-prioritize-unhealthy", "--no-cross-zone", "--no-max-surge",
        "--no-rollback-on-breach",
    )  # fmt: skip
    assert off.exit_code == 0, off.output
    assert patches(emu)[0].body["properties"]["upgradePolicy"]["rollingUpgradePolicy"] == {
        "prioritizeUnhealthyInstances": False,
        "enableCrossZoneUpgrade": False,
        "maxSurge": False,
        "rollbackFailedInstancesOnPolicyBreach": False,
    }


def test_set_touches_nothing_but_the_upgrade_policy(vmssroll, emu):
    before = emu.vmss(RG, NAME)
    profile = before["properties"]["virtualMachineProfile"]
    # the scenario carries everything a careless full PUT would lose or change
    assert profile["extensionProfile"]["extensions"][0]["properties"]["protectedSettings"]
    assert before["tags"] == {"env": "demo", "owner": "platform-team"}
    assert profile["networkProfile"]["healthProbe"]["id"].endswith("/probes/http-health")
    assert "/galleries/" in profile["storageProfile"]["imageReference"]["id"]
    assert before["zones"] == ["1", "2", "3"]
    assert profile["osProfile"]["adminPassword"]
    result = vmssroll(
        "policy", "set", *target(), "--yes", "--max-batch-instance-percent", "25",
        "--pause-time-between-batches", "30s", "--mode", "Automatic",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    after = emu.vmss(RG, NAME)
    assert after["etag"] != before["etag"]
    assert after["properties"]["upgradePolicy"] == {
        "mode": "Automatic",
        "rollingUpgradePolicy": {"maxBatchInstancePercent": 25, "pauseTimeBetweenBatches": "PT30S"},
    }
    for doc in (before, after):
        del doc["etag"]
        del doc["properties"]["upgradePolicy"]
    assert after == before


def test_set_mode_only(vmssroll, emu):
    result = vmssroll("policy", "set", *target(), "--mode", "automatic", "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    assert result.json()["changes"] == [{"field": "mode", "before": "Manual", "after": "Automatic"}]
    assert patches(emu)[0].body == {"properties": {"upgradePolicy": {"mode": "Automatic"}}}
    assert stored_policy(emu)["mode"] == "Automatic"


@pytest.mark.parametrize("yes", [(), ("--yes",)])
def test_set_mode_rolling_never_skips_the_prerequisites_in_a_dry_run(vmssroll, emu, yes):
    emu.load_scenario("uniform-missing-probe")  # not ready: the health probe it names does not exist
    result = vmssroll("policy", "set", *target(), "--mode", "Rolling", "--dry-run", *yes)
    assert result.exit_code == 3, result.output
    assert "web is not ready for rolling (" in result.stderr and "nothing was sent" in result.stderr
    assert "health-probe" in result.stderr  # the probe it names is missing
    assert "Would change" not in result.output
    assert writes(emu) == []
    assert stored_policy(emu)["mode"] == "Manual"


def test_set_dry_run_shows_the_diff_and_sends_nothing(vmssroll, emu):
    before = emu.vmss(RG, NAME)
    result = vmssroll(
        "policy", "set", *target(), "--max-surge", "--pause-time-between-batches", "2m", "--dry-run"
    )
    assert result.exit_code == 0, result.output
    assert "dry run: nothing sent" in result.stdout
    assert "maxSurge" in result.stdout and "PT2M" in result.stdout and "PT0S" in result.stdout
    # the scale set, the latest upgrade and the instances (for what the change sets in motion), all reads
    assert writes(emu) == [] and [r.method for r in emu.requests] == ["GET"] * 3
    assert emu.vmss(RG, NAME) == before
    doc = vmssroll("policy", "set", *target(), "--max-surge", "--dry-run", "-o", "json").json()
    assert doc["dryRun"] is True and doc["applied"] is False
    assert doc["changes"] == [{"field": "maxSurge", "before": False, "after": True}]
    assert writes(emu) == []


def test_set_asks_on_a_terminal_and_applies_on_yes(vmssroll, emu):
    result = vmssroll(
        "policy", "set", *target(), "--max-batch-instance-percent", "40", stdin="y\n", stdin_tty=True
    )
    assert result.exit_code == 0, result.output
    assert "Apply these changes to web? [y/N]" in result.stderr
    assert "maxBatchInstancePercent" in result.stderr  # the diff is shown before the question
    assert len(patches(emu)) == 1
    assert stored_policy(emu)["rollingUpgradePolicy"] == {"maxBatchInstancePercent": 40}


@pytest.mark.parametrize("answer", ["n\n", "\n", ""])
def test_set_declined_sends_nothing(vmssroll, emu, answer):
    before = emu.vmss(RG, NAME)
    result = vmssroll(
        "policy", "set", *target(), "--max-batch-instance-percent", "40", stdin=answer, stdin_tty=True
    )
    assert result.exit_code == 0, result.output  # a no is an answer, not a failure
    assert "not confirmed: nothing changed, nothing was sent" in result.stderr
    assert "error:" not in result.stderr
    assert writes(emu) == []
    assert emu.vmss(RG, NAME) == before


def test_set_without_a_terminal_needs_yes_and_sends_nothing(vmssroll, emu):
    result = vmssroll("policy", "set", *target(), "--max-batch-instance-percent", "40", stdin="y\n")
    assert result.exit_code == 2, result.output
    assert "--yes" in result.stderr
    assert emu.requests == []
    assert stored_policy(emu) == {"mode": "Manual"}


def test_set_with_nothing_to_change_sends_no_patch(vmssroll, emu):
    result = vmssroll(
        "policy", "set", *target(), "--max-batch-instance-percent", "20", "--no-max-surge", "--yes"
    )
    assert result.exit_code == 0, result.output
    assert "No change" in result.stdout
    assert writes(emu) == []
    empty = vmssroll("policy", "set", *target(), "--yes")
    assert empty.exit_code == 2 and "nothing to set" in empty.stderr


def test_set_invalid_input_sends_nothing(vmssroll, emu):
    for args in (
        ("--max-batch-instance-percent", "4"),
        ("--max-unhealthy-instance-percent", "101"),
        ("--max-unhealthy-upgraded-instance-percent", "-1"),
        ("--pause-time-between-batches", "P1M"),
        ("--pause-time-between-batches", "8d"),
        ("--mode", "Sideways"),
    ):
        emu.clear_requests()
        result = vmssroll("policy", "set", *target(), *args, "--yes")
        assert result.exit_code == 2, (args, result.output)
        assert len(error_lines(result)) == 1, result.stderr
        assert emu.requests == []


def test_set_refuses_cross_zone_and_max_surge_the_scale_set_cannot_take(vmssroll, emu):
    emu.load_scenario(scenario(zones=[], overprovision=True))
    for flag, text in (("--cross-zone", "zonal scale set"), ("--max-surge", "overprovision")):
        emu.clear_requests()
        result = vmssroll("policy", "set", *target(), flag, "--yes")
        assert result.exit_code == 2, result.output
        assert text in result.stderr
        assert writes(emu) == []


def test_set_warns_when_batch_exceeds_max_unhealthy_but_applies(vmssroll, emu):
    result = vmssroll("policy", "set", *target(), "--max-batch-instance-percent", "60", "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert doc["applied"] is True
    assert len(doc["warnings"]) == 1 and "60%" in doc["warnings"][0]
    assert "warning" in result.stderr


def test_set_file_with_flags_over_it(vmssroll, emu, tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("rollingUpgradePolicy:\n  maxBatchInstancePercent: 10\n  pauseTimeBetweenBatches: 45s\n")
    result = vmssroll(
        "policy", "set", *target(), "--file", str(path), "--max-batch-instance-percent", "15", "--yes"
    )
    assert result.exit_code == 0, result.output
    assert patches(emu)[0].body["properties"]["upgradePolicy"] == {
        "rollingUpgradePolicy": {"maxBatchInstancePercent": 15, "pauseTimeBetweenBatches": "PT45S"}
    }


class RacingAzure(Azure):
    """Someone else changes the scale set right after the command read it."""

    def __init__(self, emu: Any, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.emu = emu
        self.raced = False

    def scale_set(self, ref):
        current = super().scale_set(ref)
        if not self.raced:
            self.raced = True
            patch(self.emu, {"tags": {"env": "demo", "owner": "someone-else"}})
        return current


def test_concurrent_change_is_exit_8_and_nothing_is_written(vmssroll, emu):
    before = emu.vmss(RG, NAME)
    result = vmssroll(
        "policy", "set", *target(), "--max-batch-instance-percent", "50", "--yes",
        azure_factory=lambda conn, retries: RacingAzure(emu, conn, retries=retries),
    )  # fmt: skip
    assert result.exit_code == 8, result.output
    assert "changed since it was read" in result.stderr
    assert "re-run" in result.stderr
    ours = [r for r in patches(emu) if r.if_match is not None]
    theirs = [r for r in patches(emu) if r.if_match is None]
    assert [r.status for r in ours] == [412] and [r.status for r in theirs] == [200]
    assert ours[0].if_match == before["etag"]
    after = emu.vmss(RG, NAME)
    assert after["properties"]["upgradePolicy"] == {"mode": "Manual"}
    assert after["tags"] == {"env": "demo", "owner": "someone-else"}
    for doc in (before, after):
        del doc["etag"]
        del doc["tags"]
    assert after == before


# --- export -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("output", ["table", "json"])
def test_export_writes_exactly_one_json_document(vmssroll, emu, output):
    set_rolling(emu, maxBatchInstancePercent=30, maxSurge=True)
    emu.clear_requests()
    result = vmssroll("policy", "export", *target(), "-o", output)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)  # fails on two documents or anything around the one
    assert doc == {
        "mode": "Rolling",
        "rollingUpgradePolicy": {**DEFAULTS, "maxBatchInstancePercent": 30, "maxSurge": True},
        "automaticOSUpgradePolicy": {f.rest: False for f in OS_FIELDS},
    }
    assert result.stdout.count('"mode"') == 1
    assert result.stderr == ""
    assert writes(emu) == []


def test_export_round_trips_through_validate_and_set(vmssroll, emu, tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(vmssroll("policy", "export", *target()).stdout)
    assert vmssroll("policy", "validate", "--file", str(path), *target()).exit_code == 0
    same = vmssroll("policy", "set", *target(), "--file", str(path), "--yes")
    assert same.exit_code == 0 and "No change" in same.stdout
    assert writes(emu) == []
    doc = json.loads(path.read_text())
    doc["rollingUpgradePolicy"]["maxUnhealthyUpgradedInstancePercent"] = 5
    doc["rollingUpgradePolicy"]["pauseTimeBetweenBatches"] = "PT10M"
    path.write_text(json.dumps(doc))
    changed = vmssroll("policy", "set", *target(), "--file", str(path), "--yes")
    assert changed.exit_code == 0, changed.output
    assert patches(emu)[0].body["properties"]["upgradePolicy"]["rollingUpgradePolicy"] == {
        "maxUnhealthyUpgradedInstancePercent": 5,
        "pauseTimeBetweenBatches": "PT10M",
    }
    again = tmp_path / "again.yaml"
    again.write_text(yaml.safe_dump(json.loads(vmssroll("policy", "export", *target()).stdout)))
    result = vmssroll("policy", "validate", "--file", str(again), "-o", "json")
    assert result.json()["policy"] == doc["rollingUpgradePolicy"]


# --- properties of the validator, through the command line --------------------------------------------------

PERCENTS = [f for f in FIELDS if f.kind == "percent"]


@CLI
@given(data=st.data())
def test_every_percent_in_range_is_accepted_and_outside_refused(vmssroll, emu, data):
    spec = data.draw(st.sampled_from(PERCENTS))
    value = data.draw(st.integers(-1000, 1000))
    emu.clear_requests()
    result = vmssroll("policy", "validate", *target(), spec.flag, str(value), "-o", "json")
    if spec.low <= value <= spec.high:
        assert result.exit_code == 0, result.output
        assert result.json()["policy"][spec.rest] == value
    else:
        assert result.exit_code == 2, result.output
        assert emu.requests == []
        assert f"between {spec.low} and {spec.high}" in result.stderr


@CLI
@given(
    seconds=st.integers(0, 7 * 86400 + 1000),
    form=st.sampled_from(["iso", "friendly", "bare"]),
)
def test_every_duration_up_to_7_days_is_accepted_in_any_form(vmssroll, emu, seconds, form):
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = {
        "iso": f"PT{hours}H{minutes}M{secs}S",
        "friendly": f"{hours}h{minutes}m{secs}s",
        "bare": str(seconds),
    }[form]
    result = vmssroll("policy", "validate", "--pause-time-between-batches", text, "-o", "json")
    if seconds <= 7 * 86400:
        assert result.exit_code == 0, result.output
        import isodate

        iso = result.json()["policy"]["pauseTimeBetweenBatches"]
        assert isodate.parse_duration(iso).total_seconds() == seconds
    else:
        assert result.exit_code == 2, result.output
        assert "longer than 7 days" in result.stderr


@CLI
@given(text=st.text(alphabet=string.ascii_letters + string.digits + " .-:", min_size=1, max_size=12))
def test_garbage_durations_are_refused_or_normalised_never_crash(vmssroll, emu, text):
    result = vmssroll("policy", "validate", "--pause-time-between-batches", text, "-o", "json")
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 0:
        assert result.json()["policy"]["pauseTimeBetweenBatches"].startswith("P")
    else:
        assert "--pause-time-between-batches" in result.stderr


JSON_NON_BOOL = st.one_of(
    st.none(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=5),
    st.lists(st.booleans(), max_size=2),
)


@CLI
@given(data=st.data())
def test_booleans_in_files_must_be_true_or_false(vmssroll, emu, tmp_path_factory, data):
    spec = data.draw(st.sampled_from([f for f in FIELDS if f.kind == "bool"]))
    value = data.draw(st.one_of(st.booleans(), JSON_NON_BOOL))
    path = tmp_path_factory.mktemp("bool") / "policy.json"
    path.write_text(json.dumps({"rollingUpgradePolicy": {spec.rest: value}}))
    result = vmssroll("policy", "validate", "--file", str(path), "-o", "json")
    if isinstance(value, bool):
        assert result.exit_code == 0, result.output
        assert result.json()["policy"][spec.rest] is value
    else:
        assert result.exit_code == 2, result.output
        # json.dumps writes an infinite float as Infinity, which is not JSON: refused when the file is read
        assert "is not true or false" in result.stderr or "Infinity is not a JSON number" in result.stderr


KEY = st.text(alphabet=string.ascii_letters + "_-.", min_size=1, max_size=20)


@CLI
@given(data=st.data())
def test_policy_files_with_extra_keys_are_always_refused(vmssroll, emu, tmp_path_factory, data):
    where = data.draw(st.sampled_from(["top", "rolling"]))
    known = set(REST) if where == "rolling" else {"mode", "rollingUpgradePolicy", "upgradePolicy"}
    extra = data.draw(
        st.dictionaries(KEY.filter(lambda k: k not in known), st.integers(0, 50), min_size=1, max_size=3)
    )
    doc: dict[str, Any] = {"mode": "Manual", "rollingUpgradePolicy": copy.deepcopy(DEFAULTS)}
    if where == "top":
        doc.update(extra)
    else:
        doc["rollingUpgradePolicy"].update(extra)
    path = tmp_path_factory.mktemp("extra") / "policy.json"
    path.write_text(json.dumps(doc))
    for command in (("policy", "validate", *target()), ("policy", "set", *target(), "--yes")):
        emu.clear_requests()
        result = vmssroll(*command, "--file", str(path))
        assert result.exit_code == 2, result.output
        assert emu.requests == []
        lines = error_lines(result)
        assert len(lines) == len(extra)
        assert all("unknown key" in line for line in lines)


def test_set_on_a_terminal_shows_the_changes_before_asking(vmssroll, emu):
    result = vmssroll("policy", "set", *target(), "--max-batch-instance-percent", "50", tty=True, stdin="n\n")
    assert result.exit_code == 0, result.output
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", result.stderr)  # a terminal: Rich styles it
    lines = [" ".join(line.split()) for line in plain.splitlines()]
    title = lines.index("Changes to web's upgrade policy:")
    assert lines[title + 1 : title + 4] == ["field before after", "─" * 40, "maxBatchInstancePercent 20 50"]
    assert "No change" not in result.output
    assert lines[-1] == "Apply these changes to web? [y/N] not confirmed: nothing changed, nothing was sent"
    assert writes(emu) == []
