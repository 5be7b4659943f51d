"""`policy show | set` for automatic OS image upgrades (automaticOSUpgradePolicy) and extensions' automatic
upgrade: the real SDK against the emulator, asserting on output, exit codes, the request log and the stored
model."""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml

from tests.helpers import NAME, RG, target, writes
from vmssroll.domain.policy import OS_FIELDS
from vmssroll.emulator.scenarios import SCENARIO_DIR

OS = "automaticOSUpgradePolicy"


def stored(emu) -> dict[str, Any]:
    return emu.vmss(RG, NAME)


def test_set_turns_on_automatic_os_upgrades_with_deferral_in_one_patch(vmssroll, emu):
    before = stored(emu)
    result = vmssroll(
        "policy", "set", *target(), "--automatic-os-upgrade", "--os-upgrade-deferral", "--no-automatic-rollback",
        "--use-rolling-policy-for-os-upgrade", "--yes", "-o", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = result.json()
    wanted = {
        "enableAutomaticOSUpgrade": True,
        "useRollingUpgradePolicy": True,
        "disableAutomaticRollback": True,
        "osRollingUpgradeDeferral": True,
    }
    assert doc["changes"] == [{"field": f"{OS}.{k}", "before": False, "after": v} for k, v in wanted.items()]
    assert doc["applied"] is True and doc["upgradePolicy"][OS] == wanted
    [sent] = [r for r in emu.requests if r.method == "PATCH"]
    assert sent.if_match == before["etag"]
    assert sent.body == {"properties": {"upgradePolicy": {OS: wanted}}}  # only the fields that change
    after = stored(emu)
    assert after["properties"]["upgradePolicy"][OS] == wanted
    expected = copy.deepcopy(before)
    expected["properties"]["upgradePolicy"][OS] = wanted
    expected["etag"] = after["etag"]
    assert after == expected  # nothing else changed, secrets included
    notes = " ".join(doc["consequence"]["notes"])
    assert "newer version of the image is published" in notes and "vmssroll approve" in notes
    assert "no automatic rollback" in notes


def test_set_shows_the_diff_and_the_consequence_and_dry_run_sends_nothing(vmssroll, emu):
    result = vmssroll(
        "policy", "set", *target(), "--automatic-os-upgrade", "--os-upgrade-deferral", "--dry-run"
    )
    assert result.exit_code == 0, result.output
    assert (
        f"{OS}.enableAutomaticOSUpgrade" in result.output
        and f"{OS}.osRollingUpgradeDeferral" in result.output
    )
    assert "vmssroll approve" in result.output
    assert writes(emu) == []
    assert OS not in stored(emu)["properties"]["upgradePolicy"]


def test_set_back_off_patches_only_what_changes(vmssroll, emu):
    assert vmssroll("policy", "set", *target(), "--automatic-os-upgrade", "--yes").exit_code == 0
    emu.clear_requests()
    result = vmssroll(
        "policy", "set", *target(), "--no-automatic-os-upgrade", "--automatic-rollback", "--yes"
    )
    assert result.exit_code == 0, result.output
    [sent] = [r for r in emu.requests if r.method == "PATCH"]
    assert sent.body == {"properties": {"upgradePolicy": {OS: {"enableAutomaticOSUpgrade": False}}}}
    assert "no more automatic OS upgrades" in result.output


def test_bad_os_flags_and_files_are_refused_before_any_request(vmssroll, emu, tmp_path):
    both = vmssroll("policy", "set", *target(), "--os-upgrade-deferral", "--no-os-upgrade-deferral", "--yes")
    assert both.exit_code == 2 and "contradictory" in both.stderr
    path = tmp_path / "policy.yaml"
    path.write_text(
        yaml.safe_dump({OS: {"osRollingUpgradeDeferral": "yes", "enableAutomaticOSUpgrad": True}})
    )
    bad = vmssroll("policy", "set", *target(), "--file", str(path), "--yes")
    assert bad.exit_code == 2
    assert f"policy file {OS}.osRollingUpgradeDeferral" in bad.stderr
    assert "did you mean 'automaticOSUpgradePolicy.enableAutomaticOSUpgrade'" in bad.stderr
    misplaced = tmp_path / "misplaced.json"
    misplaced.write_text(json.dumps({"osRollingUpgradeDeferral": True}))
    wrong = vmssroll("policy", "set", *target(), "--file", str(misplaced), "--yes")
    assert wrong.exit_code == 2 and f"{OS}.osRollingUpgradeDeferral" in wrong.stderr
    no_tty = vmssroll("policy", "set", *target(), "--automatic-os-upgrade")
    assert no_tty.exit_code == 2 and "--yes" in no_tty.stderr
    assert emu.requests == []


def test_a_policy_file_in_rest_shape_sets_the_os_fields(vmssroll, emu, tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"upgradePolicy": {OS: {"enableAutomaticOSUpgrade": True}}}))
    result = vmssroll("policy", "set", *target(), "--file", str(path), "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    assert result.json()["changes"] == [
        {"field": f"{OS}.enableAutomaticOSUpgrade", "before": False, "after": True}
    ]
    exported = vmssroll("policy", "export", *target()).stdout
    assert json.loads(exported)[OS]["enableAutomaticOSUpgrade"] is True
    (tmp_path / "exported.json").write_text(exported)
    again = vmssroll("policy", "set", *target(), "--file", str(tmp_path / "exported.json"), "--yes")
    assert again.exit_code == 0 and "No change" in again.stdout


def test_deferral_without_automatic_upgrades_is_a_warning(vmssroll, emu):
    result = vmssroll("policy", "set", *target(), "--os-upgrade-deferral", "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    assert any("no effect while enableAutomaticOSUpgrade is false" in w for w in result.json()["warnings"])


def test_show_lists_the_os_policy_and_each_extensions_automatic_upgrade(vmssroll, emu):
    data = yaml.safe_load((SCENARIO_DIR / "uniform-extension.yaml").read_text())
    data["scale_sets"][0]["extensions"][1]["enableAutomaticUpgrade"] = True
    data["scale_sets"][0]["upgrade_policy"] = {"mode": "Manual", OS: {"osRollingUpgradeDeferral": True}}
    emu.load_scenario(data)
    doc = vmssroll("policy", "show", *target(), "-o", "json").json()
    assert doc[OS] == {f.rest: f.rest == "osRollingUpgradeDeferral" for f in OS_FIELDS}
    assert doc["automaticOSUpgradeDefaults"] == [
        f.rest for f in OS_FIELDS if f.rest != "osRollingUpgradeDeferral"
    ]
    by_name = {e["name"]: e for e in doc["extensions"]}
    assert by_name["HealthExtension"]["enableAutomaticUpgrade"] is True
    assert by_name["configure-app"]["enableAutomaticUpgrade"] is None
    assert by_name["configure-app"]["autoUpgradeMinorVersion"] is True
    table = vmssroll("policy", "show", *target(), width=160).stdout
    line = next(ln for ln in table.splitlines() if "osRollingUpgradeDeferral" in ln)
    assert "true" in line and "set" in line
    line = next(ln for ln in table.splitlines() if "enableAutomaticOSUpgrade" in ln)
    assert "false" in line and "not set" in line
    line = next(ln for ln in table.splitlines() if ln.startswith("HealthExtension"))
    assert "ApplicationHealthLinux" in line and "true" in line
    line = next(ln for ln in table.splitlines() if ln.startswith("configure-app"))
    assert "not set" in line
