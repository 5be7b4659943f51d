"""JSON answers carry what a script needs: the operation a start began and the state it reached, the checks
enable-rolling passed, and text as it is (no \\u escapes)."""

from __future__ import annotations

from tests.helpers import set_rolling, target


def test_start_json_has_the_operation_and_the_state_it_reached(vmssroll, emu):
    emu.load_scenario("demo")  # a platform image: OS upgrades need one
    set_rolling(emu)
    emu.clear_requests()
    result = vmssroll("start", "os", *target(), "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert doc["started"] == "os"
    posts = [r for r in emu.requests if r.method == "POST"]
    assert len(posts) == 1
    operation = doc["operation"]  # Azure-AsyncOperation, else Location, as the answer gave it
    assert "/operations/" in operation and operation.startswith(emu.url), operation
    after = emu.requests[emu.requests.index(posts[0]) + 1 :]
    assert any(r.method == "GET" and r.path.endswith("/rollingUpgrades/latest") for r in after)
    assert doc["state"] == doc["upgrade"]["properties"]["runningStatus"]["code"]
    assert doc["state"] in ("RollingForward", "Completed")


def test_enable_rolling_json_includes_the_check(vmssroll, emu):
    result = vmssroll("enable-rolling", *target(), "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert doc["applied"] is True
    check = doc["check"]
    assert check["ready"] is True and check["for"] == "rolling"
    assert {r["name"] for r in check["rules"]} >= {"instance-health", "unhealthy-share"}


def test_json_prints_non_ascii_as_is(vmssroll, emu):
    result = vmssroll("plan", *target(), "--max-batch-instance-percent", "20", "-o", "json")
    assert result.exit_code in (0, 3), result.output
    assert "×" in result.stdout and "\\u00d7" not in result.stdout


def test_durations_in_days_and_weeks(vmssroll, emu):
    set_rolling(emu)
    week = vmssroll("wait", *target(), "--timeout", "1w")
    assert week.exit_code == 0, week.output
    day = vmssroll("policy", "set", *target(), "--pause-time-between-batches", "1d", "--yes", "-o", "json")
    assert day.exit_code == 0, day.output
    assert day.json()["upgradePolicy"]["rollingUpgradePolicy"]["pauseTimeBetweenBatches"] == "P1D"
    too_long = vmssroll("wait", *target(), "--timeout", "2w")
    assert too_long.exit_code == 2 and "longer than 7 days" in too_long.stderr


def test_declining_a_prompt_is_exit_0_and_says_nothing_changed(vmssroll, emu):
    set_rolling(emu)
    emu.clear_requests()
    before = emu.vmss("rg-demo", "web")
    result = vmssroll("disable-rolling", *target(), tty=True, stdin="n\n")
    assert result.exit_code == 0, result.output
    assert "nothing changed" in result.stderr and "error:" not in result.stderr
    assert [r for r in emu.requests if r.method != "GET"] == []
    assert emu.vmss("rg-demo", "web") == before
