"""Every write says what it sets in motion; the dangerous ones are refused without --force (exit 3, nothing
sent) and sent with it. Through the real SDK against the emulator, checked in its request log."""

from __future__ import annotations

import pytest

from tests.helpers import NAME, RG, patch, push_image, set_rolling, target, writes


def stored_mode(emu) -> str:
    return emu.vmss(RG, NAME)["properties"]["upgradePolicy"]["mode"]


def running(vmssroll) -> bool:
    return vmssroll("status", *target(), "-o", "json").json()["running"]


# a switch to Automatic with instances behind ---------------------------------------------------------------


def test_switch_to_automatic_with_instances_behind_is_refused(vmssroll, emu):
    push_image(emu, "2.0.0")  # Manual: all 10 fall behind, nothing starts
    emu.clear_requests()
    result = vmssroll("policy", "set", *target(), "--mode", "Automatic", "--yes")
    assert result.exit_code == 3, result.output
    assert "refused: switching to Automatic while 10 instances are behind the model" in result.stderr
    assert "upgrades all 10 instances at once (Automatic mode: no batches, no health checks)" in result.stderr
    assert "nothing was sent" in result.stderr and "--force" in result.stderr
    assert writes(emu) == []
    assert stored_mode(emu) == "Manual"


def test_switch_to_automatic_with_force_is_sent_and_says_what_follows(vmssroll, emu):
    push_image(emu, "2.0.0")
    emu.clear_requests()
    result = vmssroll("policy", "set", *target(), "--mode", "Automatic", "--yes", "--force", "-o", "json")
    assert result.exit_code == 0, result.output
    assert [m for m, _ in writes(emu)] == ["PATCH"]
    assert stored_mode(emu) == "Automatic"
    consequence = result.json()["consequence"]
    assert consequence["effect"] == "all-at-once" and consequence["instances"] == 10
    assert consequence["refusal"]["code"] == "automatic-with-instances-behind"
    assert "warning: --force: sending although switching to Automatic" in result.stderr
    assert (
        len(vmssroll("status", *target(), "-o", "json").json()["instances"]["inFlight"]) == 10
    )  # all at once
    emu.clock.advance(600)
    assert vmssroll("status", *target(), "-o", "json").json()["instances"]["notOnLatestModel"] == []


def test_switch_to_automatic_with_nobody_behind_is_not_refused(vmssroll, emu):
    result = vmssroll("policy", "set", *target(), "--mode", "Automatic", "--yes")
    assert result.exit_code == 0, result.output
    assert "changes nothing now; the next model change updates every instance at once" in result.stderr


def test_switch_to_automatic_with_instances_unknown_is_refused_and_says_why(vmssroll, emu):
    emu.faults.add(kind="status", status=400, method="GET", path_regex=r"/virtualMachines$")
    try:
        emu.clear_requests()
        result = vmssroll(
            "policy", "set", *target(), "--mode", "Automatic", "--yes", "--dry-run", "-o", "json"
        )
    finally:
        emu.faults.clear()
    assert result.exit_code == 3, result.output
    assert "the instances could not be read" in result.stderr
    assert writes(emu) == []


# a model change while a rolling upgrade runs ----------------------------------------------------------------


def test_set_image_while_rolling_is_refused(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")  # Rolling: the upgrade starts
    emu.clear_requests()
    result = vmssroll("set-image", *target(), "--version", "3.0.0", "--yes")
    assert result.exit_code == 3, result.output
    assert "a model change now changes its target mid-flight" in result.stderr
    assert f"vmssroll wait -g {RG} -n {NAME}" in result.stderr
    assert writes(emu) == []


def test_set_image_while_rolling_with_force_is_sent(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.clear_requests()
    result = vmssroll("set-image", *target(), "--version", "3.0.0", "--yes", "--force", "-o", "json")
    assert result.exit_code == 0, result.output
    assert [m for m, _ in writes(emu)] == ["PATCH"]
    assert result.json()["consequence"]["effect"] == "retargets-running"
    assert "What this sets in motion: changes the target of the running upgrade" in result.stderr


def test_set_image_in_rolling_mode_shows_the_plan(vmssroll, emu):
    set_rolling(emu)
    emu.clear_requests()
    result = vmssroll("set-image", *target(), "--version", "2.0.0", "--dry-run", "-o", "json")
    assert result.exit_code == 0, result.output
    consequence = result.json()["consequence"]
    assert consequence["text"].startswith("starts a rolling upgrade of 10 instances in ")
    assert consequence["plan"]["batches"] and consequence["plan"]["candidates"] == [str(i) for i in range(10)]
    table = vmssroll("set-image", *target(), "--version", "2.0.0", "--dry-run")
    assert "What this sets in motion: starts a rolling upgrade of 10 instances" in table.stdout
    assert "unhealthy before" in table.stdout  # the plan's batch table
    assert writes(emu) == []


# disable-rolling while an upgrade runs ---------------------------------------------------------------------


def test_disable_rolling_while_rolling_is_refused_and_says_the_upgrade_goes_on(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.clear_requests()
    result = vmssroll("disable-rolling", *target(), "--yes")
    assert result.exit_code == 3, result.output
    assert "switching to Manual does not stop it, the upgrade goes on" in result.stderr
    assert f"vmssroll cancel -g {RG} -n {NAME}" in result.stderr
    assert writes(emu) == []
    assert stored_mode(emu) == "Rolling"


def test_disable_rolling_while_rolling_with_force_switches_and_the_upgrade_goes_on(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.clear_requests()
    result = vmssroll("disable-rolling", *target(), "--yes", "--force")
    assert result.exit_code == 0, result.output
    assert [m for m, _ in writes(emu)] == ["PATCH"]
    assert not any(p.endswith("/cancel") for _, p in writes(emu))
    assert "the running upgrade (RollingForward) goes on" in result.stderr
    assert stored_mode(emu) == "Manual" and running(vmssroll)


# a policy change that makes the running upgrade's next batch fault -----------------------------------------


def test_policy_change_that_makes_the_next_batch_fault_is_refused(vmssroll, emu):
    emu.load_scenario("uniform-unhealthy")  # 3 of 10 unhealthy
    set_rolling(emu, maxUnhealthyInstancePercent=50, enableCrossZoneUpgrade=True)
    push_image(emu, "2.0.0")
    emu.clear_requests()
    args = ("policy", "set", *target(), "--max-unhealthy-instance-percent", "10", "--yes")
    result = vmssroll(*args)
    assert result.exit_code == 3, result.output
    assert "the running upgrade's next batch faults if Azure applies the new policy" in result.stderr
    assert "3 unhealthy of 10" in result.stderr
    assert writes(emu) == []
    forced = vmssroll(*args, "--force", "-o", "json")
    assert forced.exit_code == 0, forced.output
    assert [m for m, _ in writes(emu)] == ["PATCH"]
    consequence = forced.json()["consequence"]
    assert consequence["effect"] == "next-upgrade"
    assert consequence["refusal"]["code"] == "next-batch-faults"


def test_policy_change_with_room_left_is_not_refused_while_rolling(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    result = vmssroll("policy", "set", *target(), "--pause-time-between-batches", "1m", "--yes")
    assert result.exit_code == 0, result.output
    assert "applies to the next upgrade; the running one keeps the policy it started with" in result.stderr


# --dry-run and -o json carry it -----------------------------------------------------------------------------


def test_enable_rolling_dry_run_plans_the_upgrade_the_switch_starts(vmssroll, emu):
    push_image(emu, "2.0.0")
    emu.clear_requests()
    result = vmssroll("enable-rolling", *target(), "--dry-run", "-o", "json")
    assert result.exit_code == 0, result.output
    consequence = result.json()["consequence"]
    assert consequence["effect"] == "rolling-upgrade" and consequence["instances"] == 10
    assert consequence["certain"] is True and consequence["plan"]["refused"] is False
    assert writes(emu) == []


def test_dry_run_of_a_refused_write_exits_3(vmssroll, emu):
    push_image(emu, "2.0.0")
    emu.clear_requests()
    result = vmssroll("policy", "set", *target(), "--mode", "Automatic", "--dry-run")
    assert result.exit_code == 3
    assert "What this sets in motion: upgrades all 10 instances at once" in result.stderr
    forced = vmssroll("policy", "set", *target(), "--mode", "Automatic", "--dry-run", "--force")
    assert forced.exit_code == 0 and "dry run" in forced.stdout
    assert writes(emu) == []


@pytest.mark.parametrize(
    ("args", "effect"),
    [
        (("policy", "set", "--max-batch-instance-percent", "50"), "nothing-now"),
        (("disable-rolling",), "nothing-now"),
        (("set-image", "--version", "2.0.0"), "nothing-now"),
        (("restart",), None),
        (("start", "os"), "rolling-upgrade"),
        (("start", "extension"), "rolling-upgrade"),
    ],
)
def test_every_write_carries_its_consequence_in_json(vmssroll, emu, args, effect):
    emu.load_scenario("demo")  # a platform image: an OS upgrade is possible
    if args[0] == "disable-rolling":
        set_rolling(emu)
    command, rest = args[:2] if args[0] in ("policy", "start") else args[:1], args[2:] if args[0] in (
        "policy", "start") else args[1:]  # fmt: skip
    result = vmssroll(*command, *target(), *rest, "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    consequence = result.json()["consequence"]
    if effect is None:  # restart with nobody behind
        assert consequence["effect"] == "nothing-to-do"
    else:
        assert consequence["effect"] == effect and consequence["text"]


# after a cancel: the right next step ----------------------------------------------------------------------


def test_restart_after_a_cancelled_os_upgrade_names_start(vmssroll, emu):
    emu.load_scenario("demo")  # a platform image: an OS upgrade is possible
    set_rolling(emu)
    assert vmssroll("start", "os", *target(), "--yes").exit_code == 0
    emu.clock.advance(100)
    assert vmssroll("cancel", *target(), "--yes").exit_code == 0
    emu.clear_requests()
    result = vmssroll("restart", *target(), "--yes")
    assert result.exit_code == 3, result.output
    assert "Nothing to do" not in result.output
    assert "was an OS image or extension upgrade, not a model change" in result.stderr
    assert f"vmssroll start os -g {RG} -n {NAME}" in result.stderr
    assert writes(emu) == []


def test_cancel_names_the_next_step_for_the_kind_of_upgrade(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.clock.advance(100)
    model = vmssroll("cancel", *target(), "--yes")
    assert model.exit_code == 0, model.output
    assert f"vmssroll restart -g {RG} -n {NAME}" in model.output
    assert vmssroll("restart", *target(), "--yes").exit_code == 0
    assert vmssroll("wait", *target()).exit_code == 0
    assert vmssroll("start", "extension", *target(), "--yes").exit_code == 0
    emu.clock.advance(100)
    extension = vmssroll("cancel", *target(), "--yes")
    assert f"vmssroll start os -g {RG} -n {NAME}" in extension.output
    assert "vmssroll restart" not in extension.output


def test_automatic_mode_model_change_says_all_at_once(vmssroll, emu):
    patch(emu, {"properties": {"upgradePolicy": {"mode": "Automatic"}}})
    result = vmssroll("set-image", *target(), "--version", "2.0.0", "--yes")
    assert result.exit_code == 0, result.output
    assert "upgrades all 10 instances at once (Automatic mode: no batches, no health checks)" in result.stderr
