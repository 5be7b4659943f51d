"""`check`, `enable-rolling`, `disable-rolling` (and `policy set --mode Rolling`) through the real SDK."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tests.helpers import push_image, set_rolling, target, writes
from vmssroll.emulator.scenarios import SCENARIO_DIR

FLEX = ("-g", "rg-flex", "-n", "flex")


def rules_of(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in doc["rules"]}


def statuses(doc: dict[str, Any]) -> dict[str, str]:
    return {r["name"]: r["status"] for r in doc["rules"]}


def scenario(name: str = "uniform-probe", **changes: Any) -> dict[str, Any]:
    data = yaml.safe_load((SCENARIO_DIR / f"{name}.yaml").read_text())
    data["scale_sets"][0].update(changes)
    return data


def stored_mode(emu: Any, rg: str = "rg-demo", name: str = "web") -> str:
    return str(emu.vmss(rg, name)["properties"]["upgradePolicy"].get("mode"))


# check ------------------------------------------------------------------------------------------------------

READY = [("uniform-probe", target()), ("uniform-extension", target())]


@pytest.mark.parametrize(("scenario", "args"), READY, ids=[s for s, _ in READY])
def test_check_ready(vmssroll, emu, scenario, args):
    emu.load_scenario(scenario)
    result = vmssroll("check", *args, "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert doc["ready"] is True and doc["for"] == "rolling"
    assert set(statuses(doc).values()) == {"passed"}
    assert writes(emu) == []


NOT_READY = [
    (
        "uniform-missing-probe",
        target(),
        {"health-source", "health-probe", "instance-health"},  # no signal is not unhealthy: the share passes
    ),
    ("flexible-no-extension", FLEX, {"health-source", "instance-health"}),
    ("uniform-probe-and-extension", target(), {"single-source"}),
    ("uniform-initializing", target(), {"instance-health"}),
    ("uniform-unhealthy", target(), {"unhealthy-share"}),
]


@pytest.mark.parametrize(("scenario", "args", "failed"), NOT_READY, ids=[s for s, _, _ in NOT_READY])
def test_check_not_ready_names_each_failure_with_a_fix(vmssroll, emu, scenario, args, failed):
    emu.load_scenario(scenario)
    result = vmssroll("check", *args, "-o", "json")
    assert result.exit_code == 3, result.output
    doc = result.json()
    assert doc["ready"] is False
    assert {n for n, s in statuses(doc).items() if s == "failed"} == failed
    assert all(r["fix"] for r in doc["rules"] if r["status"] == "failed")
    assert writes(emu) == []


def test_check_missing_probe_shows_the_load_balancer_and_the_fix(vmssroll, emu):
    emu.load_scenario("uniform-missing-probe")
    result = vmssroll("check", *target())
    assert result.exit_code == 3
    assert "NOT ready for rolling" in result.stdout
    assert (
        "probe missing-probe does not exist on load balancer lb-web (its probes: http-health)"
        in result.stdout
    )
    assert "az network lb probe create -g rg-demo --lb-name lb-web -n missing-probe" in result.stdout
    assert "lb-web/probes/http-health" in result.stdout  # the existing probe, as the alternative


def test_check_flexible_without_extension_gives_the_extension_and_flags_attached_vms(vmssroll, emu):
    emu.load_scenario("flexible-no-extension")
    doc = vmssroll("check", *FLEX, "-o", "json").json()
    rules = rules_of(doc)
    assert "only the extension" in rules["health-source"]["message"]
    fix = rules["health-source"]["fix"]
    assert (
        "az vmss extension set --resource-group rg-flex --vmss-name flex --name ApplicationHealthLinux" in fix
    )
    assert "--publisher Microsoft.ManagedServices" in fix and "healthProbe" not in fix
    assert rules["attached-vms"]["status"] == "warning"
    assert rules["attached-vms"]["evidence"]["withoutExtension"] == ["vm-attached-1"]
    assert rules["instance-health"]["evidence"]["silent"] == 4  # attached VMs are not counted as members


def test_check_flexible_with_extension_flags_only_the_attached_vm_without_it(vmssroll, emu):
    emu.load_scenario("flexible-extension")
    result = vmssroll("check", *FLEX, "-o", "json")
    rules = rules_of(result.json())
    assert rules["health-source"]["status"] == "passed"
    assert rules["attached-vms"]["evidence"]["withoutExtension"] == ["vm-attached-1"]
    # 4 healthy instances at the default 20/20: 0% ≤ 20%, a first batch of one (20% of 4 rounds to one)
    share = rules["unhealthy-share"]
    assert share["status"] == "passed", share
    assert share["message"] == (
        "0 unhealthy × 100 / 4 = 0% ≤ maxUnhealthyInstancePercent 20%: first batch of 1 "
        "(room for 0 more unhealthy; a batch is at least one instance)"
    )
    assert {n for n, r in rules.items() if r["status"] == "failed"} == set()
    assert result.exit_code == 0, result.output


def test_check_probe_and_extension_says_one_source_only(vmssroll, emu):
    emu.load_scenario("uniform-probe-and-extension")
    rule = rules_of(vmssroll("check", *target(), "-o", "json").json())["single-source"]
    assert [s["kind"] for s in rule["evidence"]["sources"]] == ["probe", "extension"]
    assert "--remove virtualMachineProfile.networkProfile.healthProbe" in rule["fix"]
    assert (
        "az vmss extension delete --resource-group rg-demo --vmss-name web --name HealthExtension"
        in rule["fix"]
    )


def test_check_one_unhealthy_of_ten_warns_that_batches_shrink(vmssroll, emu):
    emu.load_scenario("uniform-probe")
    emu.set_health("rg-demo", "web", instance_id="8", health="unhealthy")
    result = vmssroll("check", *target(), "-o", "json")
    assert result.exit_code == 0, result.output
    rule = rules_of(result.json())["unhealthy-share"]
    assert rule["status"] == "warning"
    assert rule["message"] == (
        "1 unhealthy × 100 / 10 = 10% ≤ maxUnhealthyInstancePercent 20%: the first batch shrinks from 2 to 1 "
        "(room for 1 more unhealthy)"
    )
    assert "(8)" in rule["fix"] and "--max-unhealthy-instance-percent to 30 for full batches" in rule["fix"]


def test_check_unhealthy_shows_the_arithmetic(vmssroll, emu):
    emu.load_scenario("uniform-unhealthy")
    result = vmssroll("check", *target(), "-o", "json")
    rule = rules_of(result.json())["unhealthy-share"]
    assert rule["message"].endswith(
        "3 unhealthy × 100 / 10 = 30% > maxUnhealthyInstancePercent 20%: the limit is exceeded before any batch"
    )
    assert rule["evidence"]["unhealthyIds"] == ["2", "5", "7"]
    assert (rule["evidence"]["room"], rule["evidence"]["firstBatchSize"]) == (-1, 1)
    assert "--max-unhealthy-instance-percent to 30" in rule["fix"]
    health = rules_of(result.json())["instance-health"]
    assert (health["status"], health["evidence"]["unhealthy"], health["evidence"]["healthy"]) == (
        "warning",
        3,
        7,
    )


def test_check_initializing_turns_ready_once_instances_report_healthy(vmssroll, emu):
    emu.load_scenario("uniform-initializing")
    first = vmssroll("check", *target(), "-o", "json")
    assert first.exit_code == 3
    assert rules_of(first.json())["instance-health"]["evidence"]["initializing"] == 10
    emu.clock.advance(120)
    assert vmssroll("check", *target(), "-o", "json").exit_code == 0


def test_check_max_surge_with_feature_unregistered(vmssroll, emu):
    emu.load_scenario("uniform-extension")
    result = vmssroll("check", *target(), "--for", "max-surge", "-o", "json")
    assert result.exit_code == 3
    doc = result.json()
    assert doc["for"] == "max-surge"
    assert statuses(doc)["overprovision"] == "passed"
    feature = rules_of(doc)["max-surge-feature"]
    assert feature["status"] == "failed" and feature["evidence"]["state"] == "NotRegistered"
    assert "az feature register --namespace Microsoft.Compute --name MaxSurgeRollingUpgrade" in feature["fix"]
    assert any("features/MaxSurgeRollingUpgrade" in r.path for r in emu.requests)


def test_check_max_surge_ready_reminds_of_capacity(vmssroll, emu):
    result = vmssroll("check", *target(), "--for", "max-surge", "-o", "json")  # uniform-probe: Registered
    assert result.exit_code == 0, result.output
    surge = rules_of(result.json())["surge-capacity"]
    assert surge["status"] == "warning" and surge["evidence"]["extraInstancesPerBatch"] == 2


def test_check_for_os_upgrade_names_what_automatic_os_upgrades_need(vmssroll, emu):
    result = vmssroll("check", *target(), "--for", "os-upgrade", "-o", "json")
    assert result.exit_code == 3, result.output
    doc = result.json()
    found = statuses(doc)
    assert found["os-image"] == "failed"  # uniform-probe: a gallery image pinned to 1.0.0
    assert found["windows-updates"] == "passed" and found["os-upgrade-policy"] == "failed"
    assert found["automatic-os-upgrade"] == "warning" and found["health-source"] == "passed"
    image = rules_of(doc)["os-image"]
    assert image["evidence"]["imageReference"]["id"].endswith("/images/web/versions/1.0.0")
    assert image["fix"].startswith("vmssroll set-image -g rg-demo -n web --image-id /subscriptions/")
    assert not image["fix"].endswith("/versions/1.0.0")
    assert rules_of(doc)["os-upgrade-policy"]["fix"] == (
        "vmssroll policy set -g rg-demo -n web --use-rolling-policy-for-os-upgrade"
    )
    assert writes(emu) == []
    table = vmssroll("check", *target(), "--for", "os-upgrade", width=200).stdout
    assert "windows-updates" in table and "--use-rolling-policy-for-os-upgrade" in table


def test_check_for_os_upgrade_ready_with_latest_rolling_and_windows_updates_off(vmssroll, emu):
    data = scenario(
        image={"publisher": "MicrosoftWindowsServer", "offer": "WindowsServer", "sku": "2022-datacenter",
               "version": "latest"},
        os_profile={"windowsConfiguration": {"enableAutomaticUpdates": True}},
        upgrade_policy={"mode": "Rolling"},
    )  # fmt: skip
    emu.load_scenario(data)
    doc = vmssroll("check", *target(), "--for", "os-upgrade", "-o", "json").json()
    assert doc["ready"] is False and [r["name"] for r in doc["rules"] if r["status"] == "failed"] == [
        "windows-updates"
    ]
    assert rules_of(doc)["windows-updates"]["evidence"] == {
        "osType": "Windows",
        "enableAutomaticUpdates": True,
    }
    data["scale_sets"][0]["os_profile"] = {"windowsConfiguration": {"enableAutomaticUpdates": False}}
    emu.load_scenario(data)
    result = vmssroll("check", *target(), "--for", "os-upgrade", "-o", "json")
    assert result.exit_code == 0, result.output
    assert statuses(result.json())["os-image"] == "passed"


def test_check_rejects_an_unknown_purpose(vmssroll, emu):
    result = vmssroll("check", *target(), "--for", "sideways")
    assert result.exit_code == 2
    assert emu.requests == []


# enable-rolling ---------------------------------------------------------------------------------------------


def test_enable_rolling_switches_with_one_patch_and_confirms(vmssroll, emu):
    result = vmssroll("enable-rolling", *target(), "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert doc["applied"] is True
    assert doc["upgradePolicy"]["mode"] == "Rolling"
    assert [c["field"] for c in doc["changes"]] == ["mode"]
    patches = [r for r in emu.requests if r.method == "PATCH"]
    assert len(patches) == 1 and patches[0].status == 200
    assert [m for m, _ in writes(emu)] == ["PATCH"]
    assert stored_mode(emu) == "Rolling"
    assert "ready for rolling" in result.stderr


def test_enable_rolling_with_policy_flags_checks_the_asked_policy(vmssroll, emu):
    emu.load_scenario("uniform-unhealthy")
    result = vmssroll(
        "enable-rolling", *target(), "--max-unhealthy-instance-percent", "50", "--yes", "-o", "json"
    )
    assert result.exit_code == 0, result.output
    policy = emu.vmss("rg-demo", "web")["properties"]["upgradePolicy"]
    assert policy["mode"] == "Rolling"
    assert policy["rollingUpgradePolicy"]["maxUnhealthyInstancePercent"] == 50


REFUSED = [
    ("uniform-missing-probe", target(), []),
    ("flexible-no-extension", FLEX, []),
    ("uniform-probe-and-extension", target(), []),
    ("uniform-initializing", target(), []),
    ("uniform-unhealthy", target(), []),
    ("uniform-extension", target(), ["--max-surge"]),
]


@pytest.mark.parametrize(("scenario", "args", "extra"), REFUSED, ids=[s for s, _, _ in REFUSED])
def test_enable_rolling_refuses_while_a_check_fails_and_sends_nothing(vmssroll, emu, scenario, args, extra):
    emu.load_scenario(scenario)
    result = vmssroll("enable-rolling", *args, *extra, "--yes", "-o", "json")
    assert result.exit_code == 3, result.output
    assert result.json()["ready"] is False
    assert "nothing was sent" in result.stderr
    assert writes(emu) == []


def test_enable_rolling_refusal_lists_the_fixes(vmssroll, emu):
    emu.load_scenario("flexible-no-extension")
    result = vmssroll("enable-rolling", *FLEX, "--yes")
    assert result.exit_code == 3
    assert "To fix:" in result.stdout and "az vmss extension set" in result.stdout
    assert "flex is not ready for rolling (health-source, instance-health)" in result.stderr


def test_enable_rolling_max_surge_names_the_unregistered_feature(vmssroll, emu):
    emu.load_scenario("uniform-extension")
    result = vmssroll("enable-rolling", *target(), "--max-surge", "--yes", "-o", "json")
    doc = result.json()
    assert doc["for"] == "max-surge"
    assert statuses(doc)["max-surge-feature"] == "failed"


def test_enable_rolling_waits_until_healthy_on_the_simulated_clock(vmssroll, emu):
    emu.load_scenario("uniform-initializing")
    from tests.conftest import SimClock

    clock = SimClock(emu)
    result = vmssroll("enable-rolling", *target(), "--wait-healthy", "5m", "--yes", clock=clock)
    assert result.exit_code == 0, result.output
    health, write = (
        clock.slept[:-2],
        clock.slept[-2:],
    )  # then the switch to Rolling: 120 s, Retry-After 97 + 23
    assert 120 <= sum(health) <= 130
    assert all(s <= 10 for s in health)
    assert write == [97, 23]
    assert "waiting for every instance to report Healthy: 10 initializing of 10" in result.stderr
    assert "every instance reports Healthy: 10 healthy of 10" in result.stderr
    assert [m for m, _ in writes(emu)] == ["PATCH"]
    assert stored_mode(emu) == "Rolling"


def test_enable_rolling_wait_runs_out(vmssroll, emu):
    emu.load_scenario("uniform-initializing")
    result = vmssroll("enable-rolling", *target(), "--wait-healthy", "60s", "--yes")
    assert result.exit_code == 7, result.output
    assert "--wait-healthy ran out after 1m00s: 10 initializing of 10" in result.stderr
    assert writes(emu) == []


def test_enable_rolling_does_not_wait_when_waiting_cannot_help(vmssroll, emu):
    emu.load_scenario("flexible-no-extension")
    from tests.conftest import SimClock

    clock = SimClock(emu)
    result = vmssroll("enable-rolling", *FLEX, "--wait-healthy", "10m", "--yes", clock=clock)
    assert result.exit_code == 3
    assert clock.slept == []


def test_enable_rolling_forced_without_health_signal_gets_azures_400(vmssroll, emu):
    emu.load_scenario("flexible-no-extension")
    result = vmssroll("enable-rolling", *FLEX, "--force", "--yes")
    assert result.exit_code == 4, result.output
    assert "warning: --force: sending the change although 2 check(s) failed" in result.stderr
    assert (
        "BadRequest: Rolling Upgrade mode is not supported for this Virtual Machine Scale Set because a "
        in result.stderr
    )
    assert [(r.method, r.status) for r in emu.requests if r.method == "PATCH"] == [("PATCH", 400)]
    assert stored_mode(emu, "rg-flex", "flex") == "Manual"


def test_enable_rolling_dry_run_sends_nothing(vmssroll, emu):
    result = vmssroll("enable-rolling", *target(), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Would change (dry run: nothing sent)" in result.stdout
    assert "Rolling" in result.stdout
    assert writes(emu) == []


@pytest.mark.parametrize("yes", [(), ("--yes",)])
def test_enable_rolling_dry_run_still_checks_the_prerequisites(vmssroll, emu, yes):
    emu.load_scenario("uniform-missing-probe")  # not ready: the health probe it names does not exist
    result = vmssroll("enable-rolling", *target(), "--dry-run", *yes)
    assert result.exit_code == 3, result.output
    assert "web is not ready for rolling (" in result.stderr and "nothing was sent" in result.stderr
    assert "health-probe" in result.stderr  # the probe it names is missing
    assert "Would change" not in result.output
    assert writes(emu) == [] and stored_mode(emu) == "Manual"


# Each command that writes, with --dry-run and --yes together: --yes answers a question that is never asked.
DRY_RUN_WITH_YES = [
    ("policy", "set", "--max-surge"),
    ("enable-rolling",),
    ("disable-rolling",),
    ("set-image", "--version", "2.0.0"),
]


@pytest.mark.parametrize("command", DRY_RUN_WITH_YES, ids=lambda c: " ".join(c))
def test_dry_run_with_yes_sends_nothing(vmssroll, emu, command):
    if command[0] == "disable-rolling":
        set_rolling(emu)
    before = emu.vmss("rg-demo", "web")
    emu.clear_requests()
    result = vmssroll(*command, *target(), "--dry-run", "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert doc["dryRun"] is True and doc["applied"] is False and doc["changes"], doc
    assert emu.requests and writes(emu) == []
    assert emu.vmss("rg-demo", "web") == before


def test_enable_rolling_warns_about_instances_behind_the_model(vmssroll, emu):
    push_image(emu, "2.0.0")
    emu.clear_requests()
    result = vmssroll("enable-rolling", *target(), "--dry-run", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["consequence"]["text"].startswith("starts a rolling upgrade of 10 instances")
    assert (
        "not verified: Azure may start it at once or with the next model change" in doc["consequence"]["text"]
    )
    assert doc["dryRun"] is True and doc["consequence"]["plan"]["candidates"] == [str(i) for i in range(10)]
    assert writes(emu) == []


@pytest.mark.parametrize("command", ["enable-rolling", "disable-rolling"])
def test_without_a_terminal_yes_is_needed_before_any_request(vmssroll, emu, command):
    result = vmssroll(command, *target(), *(["--wait-healthy", "10m"] if command == "enable-rolling" else []))
    assert result.exit_code == 2, result.output
    assert "pass --yes" in result.stderr
    assert emu.requests == []


def test_enable_rolling_asks_on_a_terminal(vmssroll, emu):
    declined = vmssroll("enable-rolling", *target(), tty=True, stdin="n\n")
    assert declined.exit_code == 0 and writes(emu) == [], declined.output
    assert "nothing changed" in declined.stderr and "error:" not in declined.stderr
    accepted = vmssroll("enable-rolling", *target(), tty=True, stdin="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert stored_mode(emu) == "Rolling"


def test_enable_rolling_refuses_a_file_asking_for_another_mode(vmssroll, emu, tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"mode": "Manual"}))
    result = vmssroll("enable-rolling", *target(), "--file", str(path), "--yes")
    assert result.exit_code == 2
    assert emu.requests == []


# disable-rolling --------------------------------------------------------------------------------------------


def test_disable_rolling_goes_back_to_manual(vmssroll, emu):
    set_rolling(emu)
    emu.clear_requests()
    result = vmssroll("disable-rolling", *target(), "--yes")
    assert result.exit_code == 0, result.output
    assert stored_mode(emu) == "Manual"
    assert [m for m, _ in writes(emu)] == ["PATCH"]
    assert "vmssroll cancel -g rg-demo -n web" in result.stderr


def test_disable_rolling_dry_run_sends_nothing(vmssroll, emu):
    set_rolling(emu)
    emu.clear_requests()
    result = vmssroll("disable-rolling", *target(), "--dry-run")
    assert result.exit_code == 0
    assert writes(emu) == [] and stored_mode(emu) == "Rolling"


def test_disable_rolling_says_a_running_upgrade_goes_on(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")  # Rolling: a model change starts an upgrade
    emu.clear_requests()
    result = vmssroll("disable-rolling", *target(), "--yes", "--force")  # refused without --force
    assert result.exit_code == 0, result.output
    assert (
        "the running upgrade (RollingForward) goes on: switching to Manual does not stop it" in result.stderr
    )
    assert not any(r.path.endswith("/cancel") for r in emu.requests)


# policy set --mode Rolling runs the same checks -------------------------------------------------------------


def test_policy_set_mode_rolling_refuses_when_not_ready(vmssroll, emu):
    emu.load_scenario("uniform-missing-probe")
    result = vmssroll("policy", "set", *target(), "--mode", "Rolling", "--yes")
    assert result.exit_code == 3
    assert writes(emu) == []


def test_policy_set_mode_rolling_applies_when_ready(vmssroll, emu):
    result = vmssroll("policy", "set", *target(), "--mode", "Rolling", "--yes")
    assert result.exit_code == 0, result.output
    assert stored_mode(emu) == "Rolling"


# what the switch reads, says and answers, field by field ---------------------------------------------------


def listings(emu: Any) -> list[int]:
    """The status of each listing of the instances the emulator answered."""
    return [r.status for r in emu.requests if r.method == "GET" and r.path.endswith("/virtualMachines")]


@pytest.mark.parametrize("command", [("enable-rolling",), ("policy", "set", "--mode", "Rolling")])
def test_switching_to_rolling_lists_the_instances_once_for_the_checks_and_the_consequence(
    vmssroll, emu, command
):
    emu.clear_requests()
    result = vmssroll(*command, *target(), "--yes")
    assert result.exit_code == 0, result.output
    assert listings(emu) == [200]
    assert "What this sets in motion: starts no upgrade now (every instance is on the latest model)" in (
        result.stderr
    )
    assert stored_mode(emu) == "Rolling"


@pytest.mark.parametrize("command", [("enable-rolling",), ("policy", "set", "--mode", "Rolling")])
def test_switching_with_the_listing_refused_tries_it_once_and_says_what_is_unsure(vmssroll, emu, command):
    emu.faults.add(kind="status", status=403, method="GET", path_regex=r"/virtualMachines$")
    emu.clear_requests()
    result = vmssroll(*command, *target(), "--yes")
    assert result.exit_code == 0, result.output
    assert listings(emu) == [403]
    why = "instances: unknown (listing refused: 403 AuthorizationFailed)"
    assert f"unknown   instance-health   not verified: {why}" in result.stderr
    assert "Not sure: the instances could not be read (listing refused: 403 AuthorizationFailed)." in (
        result.stderr
    )
    assert "--wait-healthy" not in result.output
    assert stored_mode(emu) == "Rolling"


def test_wait_healthy_with_the_listing_refused_sends_nothing_and_says_why(vmssroll, emu):
    emu.faults.add(kind="status", status=403, method="GET", path_regex=r"/virtualMachines$")
    emu.clear_requests()
    result = vmssroll("enable-rolling", *target(), "--wait-healthy", "5m", "--yes")
    assert result.exit_code == 4, result.output
    assert result.stderr.splitlines() == [
        "error: --wait-healthy needs the instances, and they could not be listed: instances: unknown (listing "
        "refused: 403 AuthorizationFailed); nothing was sent; re-run once the instances can be listed (a 403 "
        "means the identity lacks read access to the scale set's VMs)"
    ]
    assert writes(emu) == [] and listings(emu) == [403]


def test_enable_rolling_json_carries_the_checks_it_passed(vmssroll, emu):
    check = vmssroll("check", *target(), "-o", "json").json()
    result = vmssroll("enable-rolling", *target(), "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert doc["check"] == check and doc["check"]["ready"] is True
    assert set(doc) >= {"scaleSet", "dryRun", "changes", "applied", "warnings", "check", "consequence"}
    assert (doc["applied"], doc["dryRun"], doc["warnings"]) == (True, False, [])


def test_enable_rolling_refusal_hint_names_the_fixes_and_force(vmssroll, emu):
    emu.load_scenario("flexible-no-extension")
    result = vmssroll("enable-rolling", *FLEX, "--yes")
    assert result.exit_code == 3, result.output
    assert result.stderr.splitlines() == [
        "error: flex is not ready for rolling (health-source, instance-health); nothing was sent (apply the "
        "fixes shown and re-run; enable-rolling --force sends the change anyway)"
    ]
    assert writes(emu) == []


def test_disable_rolling_says_what_manual_stops_and_what_it_never_does(vmssroll, emu):
    set_rolling(emu)
    result = vmssroll("disable-rolling", *target(), "--yes")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == (
        "switching to Manual stops new automatic rollouts; it never cancels a running upgrade "
        "(`vmssroll cancel -g rg-demo -n web` does)"
    )


@pytest.mark.parametrize("command", [("enable-rolling",), ("policy", "set", "--mode", "Rolling")])
def test_switching_to_rolling_under_a_running_os_upgrade_says_it_keeps_its_policy(vmssroll, emu, command):
    emu.load_scenario("demo")  # Manual mode, a platform image: an OS upgrade can run
    assert vmssroll("start", "os", *target(), "--yes").exit_code == 0
    emu.clear_requests()
    result = vmssroll(*command, *target(), "--yes", "--force", "-o", "json")  # instances initializing
    assert result.exit_code == 0, result.output
    consequence = result.json()["consequence"]
    assert (consequence["effect"], consequence["text"]) == (
        "next-upgrade",
        "applies to the next upgrade; the running one keeps the policy it started with",
    )
    assert consequence["notes"] == [
        "the running one keeps the policy it started with: not verified against Azure"
    ]
    latest = [
        r.status for r in emu.requests if r.method == "GET" and r.path.endswith("/rollingUpgrades/latest")
    ]
    assert latest == [200] and listings(emu) == [200]
    assert stored_mode(emu) == "Rolling"


def test_policy_set_with_nothing_to_set_is_refused_before_any_request(vmssroll, emu):
    result = vmssroll("policy", "set", *target(), "--yes")
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == ["error: nothing to set: give policy flags, --file or --mode"]
    assert emu.requests == []


def test_enable_rolling_names_the_mode_a_policy_file_asks_for(vmssroll, emu, tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"mode": "Automatic"}))
    result = vmssroll("enable-rolling", *target(), "--file", str(path), "--yes")
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        "error: enable-rolling sets mode Rolling, but the policy file asks for Automatic"
    ]
    assert emu.requests == []


def test_wait_healthy_running_out_says_where_to_look(vmssroll, emu):
    emu.load_scenario("uniform-initializing")
    result = vmssroll("enable-rolling", *target(), "--wait-healthy", "60s", "--yes")
    assert result.exit_code == 7, result.output
    assert result.stderr.splitlines()[-1] == (
        "error: --wait-healthy ran out after 1m00s: 10 initializing of 10; nothing was sent (see `vmssroll check "
        "-g rg-demo -n web` for the instances and their fixes)"
    )


def test_enable_rolling_forced_past_a_failed_check_says_so_and_sends(vmssroll, emu):
    emu.load_scenario("uniform-initializing")
    emu.clear_requests()
    result = vmssroll("enable-rolling", *target(), "--force", "--yes")
    assert result.exit_code == 0, result.output
    assert (
        "warning: --force: sending the change although 1 check(s) failed (instance-health); Azure may refuse "
        "it, or start an upgrade that faults"
    ) in result.stderr.splitlines()
    assert [m for m, _ in writes(emu)] == ["PATCH"]
    assert stored_mode(emu) == "Rolling"
