"""Writes that take minutes: every write waits for Azure to finish on the command's (simulated) clock,
polling its operation as Retry-After asks, says that it waits and on what; --no-wait returns once accepted."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

from tests.conftest import SimClock
from tests.helpers import NAME, RG, push_image, set_rolling, target
from vmssroll.emulator import Emulator, scenarios

WAITING = "Waiting for Azure to finish updating web (provisioningState Updating)"


def load(emu: Emulator, name: str = "uniform-probe", mode: str = "Manual", **timings: Any) -> None:
    """A built-in scenario with these write timings, in this mode (its write already over)."""
    data = scenarios.load(name)
    spec = data["scale_sets"][0]
    spec["timings"] = {**(spec.get("timings") or {}), **timings}
    spec["upgrade_policy"] = {**(spec.get("upgrade_policy") or {}), "mode": mode}
    emu.load_scenario(data)


def operation_polls(emu: Emulator) -> list[datetime]:
    return [r.sim_time for r in emu.requests if r.method == "GET" and "/operations/" in r.path]


def patched_at(emu: Emulator) -> datetime:
    return next(r.sim_time for r in emu.requests if r.method == "PATCH")


def test_a_rolling_write_waits_its_time_polling_as_retry_after_says(vmssroll, emu):
    load(emu, mode="Rolling", write=150, write_retry_after=40)
    clock = SimClock(emu)
    result = vmssroll("policy", "set", *target(), "--max-batch-instance-percent", "30", "--yes", clock=clock)
    assert result.exit_code == 0, result.output
    sent = patched_at(emu)
    assert [(t - sent).total_seconds() for t in operation_polls(emu)] == [0, 40, 80, 120, 150]
    assert clock.slept == [
        40,
        40,
        40,
        30,
    ]  # on the simulated clock, as Azure asked: nothing more, nothing less
    last = emu.requests[-1]  # then the scale set read back to confirm
    assert last.method == "GET" and last.path.endswith(f"/virtualMachineScaleSets/{NAME}")
    assert result.stderr.count(WAITING) == 1, result.stderr  # one line when it starts, off a terminal
    assert "Azure finished updating web after 2m30s" in result.stderr
    assert "Applied and confirmed" in result.stdout


def test_a_manual_write_ends_at_the_first_poll_and_says_nothing_of_waiting(vmssroll, emu):
    clock = SimClock(emu)
    result = vmssroll("policy", "set", *target(), "--max-batch-instance-percent", "30", "--yes", clock=clock)
    assert result.exit_code == 0, result.output
    assert operation_polls(emu) == [patched_at(emu)] and clock.slept == []
    assert "Waiting" not in result.output


def test_with_json_the_waiting_lines_stay_off_stdout(vmssroll, emu):
    load(emu, mode="Rolling")
    result = vmssroll("policy", "set", *target(), "--max-batch-instance-percent", "30", "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()  # stdout is the one document
    assert (
        doc["applied"] is True
        and doc["upgradePolicy"]["rollingUpgradePolicy"]["maxBatchInstancePercent"] == 30
    )
    assert WAITING in result.stderr and "Azure finished updating web after 2m00s" in result.stderr


def test_on_a_terminal_a_status_line_shows_the_elapsed_time(vmssroll, emu):
    load(emu, mode="Rolling", write=90, write_retry_after=60)
    clock = SimClock(emu)
    result = vmssroll(
        "policy", "set", *target(), "--max-batch-instance-percent", "30", "--yes", tty=True, clock=clock
    )
    assert result.exit_code == 0, result.output
    assert f"{WAITING} · 1m" in result.stderr  # the status line, redrawn with the time
    assert all(s <= 1 for s in clock.slept) and sum(clock.slept) == 90  # woken every second to redraw it
    assert [(t - patched_at(emu)).total_seconds() for t in operation_polls(emu)] == [0, 60, 90]


@pytest.mark.parametrize(
    "command",
    [
        ("policy", "set", "--max-batch-instance-percent", "30"),
        ("enable-rolling",),
        ("disable-rolling",),
        ("set-image", "--version", "2.0.0"),
    ],
)
def test_every_write_waits_and_says_so(vmssroll, emu, command):
    mode = "Manual" if command[0] == "enable-rolling" else "Rolling"
    load(emu, mode=mode, write=100, write_retry_after=50)
    clock = SimClock(emu)
    result = vmssroll(*command, *target(), "--yes", clock=clock)
    assert result.exit_code == 0, result.output
    assert WAITING in result.stderr and "Azure finished updating web after 1m40s" in result.stderr
    assert clock.slept[-2:] == [50, 50]


def test_restart_waits_for_its_empty_update(vmssroll, emu):
    stopped_midway(emu)
    clock = SimClock(emu)
    result = vmssroll("restart", *target(), "--yes", clock=clock)
    assert result.exit_code == 0, result.output
    assert WAITING in result.stderr and "Azure finished updating web after 2m00s" in result.stderr
    assert clock.slept == [97, 23]


def stopped_midway(emu: Emulator) -> None:
    """A model upgrade cancelled halfway: instances behind, nothing running (what `restart` is for)."""
    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.clock.advance(200)  # both writes over (120 s), batch 1 done, batch 2 in flight
    from tests.helpers import azure, ref

    azure(emu).cancel(ref(emu))
    emu.clock.advance(600)
    emu.clear_requests()


@pytest.mark.parametrize(
    "command, follow",
    [
        (("policy", "set", "--max-batch-instance-percent", "30"), "vmssroll policy show"),
        (("disable-rolling",), "vmssroll policy show"),
        (("set-image", "--version", "2.0.0"), "vmssroll watch"),
    ],
)
def test_no_wait_returns_once_accepted_and_says_how_to_follow(vmssroll, emu, command, follow):
    load(emu, mode="Rolling")
    clock = SimClock(emu)
    result = vmssroll(*command, *target(), "--yes", "--no-wait", clock=clock)
    assert result.exit_code == 0, result.output
    assert operation_polls(emu) == [] and clock.slept == []
    assert [r.method for r in emu.requests].count("PATCH") == 1
    assert "Azure accepted the change to web (provisioningState Updating)" in result.stderr
    assert f"Follow it with: {follow} -g {RG} -n {NAME}" in result.stderr
    assert "Applied and confirmed" not in result.output
    load(emu, mode="Rolling")  # afresh: the same change again would be no change
    doc = vmssroll(*command, *target(), "--yes", "--no-wait", "-o", "json").json()
    assert doc["accepted"] is True and doc["finished"] is False and doc["applied"] is False
    assert doc["provisioningState"] == "Updating" and doc["follow"] == f"{follow} -g {RG} -n {NAME}"


def test_no_wait_on_enable_rolling_and_restart(vmssroll, emu):
    result = vmssroll("enable-rolling", *target(), "--yes", "--no-wait", "-o", "json")
    assert result.exit_code == 0, result.output
    assert result.json()["accepted"] is True and operation_polls(emu) == []
    stopped_midway(emu)
    result = vmssroll("restart", *target(), "--yes", "--no-wait", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert doc["restarted"] is True and doc["accepted"] is True and doc["finished"] is False
    assert doc["follow"] == f"vmssroll watch -g {RG} -n {NAME}" and operation_polls(emu) == []


def test_policy_show_says_whether_the_last_write_has_finished(vmssroll, emu):
    load(emu, mode="Rolling")
    assert vmssroll("policy", "set", *target(), "--max-batch-instance-percent", "30", "--yes", "--no-wait")
    shown = vmssroll("policy", "show", *target(), "-o", "json").json()
    assert shown["scaleSet"]["provisioningState"] == "Updating"
    emu.clock.advance(120)
    assert re.search(r"provisioning +Succeeded", vmssroll("policy", "show", *target()).stdout)


def test_the_wait_gives_up_at_its_deadline_even_when_retry_after_is_longer(vmssroll, emu):
    load(emu, mode="Rolling", write=7200, write_retry_after=97)
    clock = SimClock(emu)
    result = vmssroll("policy", "set", *target(), "--max-batch-instance-percent", "30", "--yes", clock=clock)
    assert result.exit_code == 7, result.output
    assert sum(clock.slept) == 20 * 60  # not one second past the 20 minutes, though Azure asked for 97 s more
    assert clock.slept[-1] == 20 * 60 - 12 * 97
    assert all((t - patched_at(emu)).total_seconds() < 20 * 60 for t in operation_polls(emu))
    assert "had not finished it after 20m00s (provisioningState Updating); it may still land" in result.stderr
    assert f"vmssroll policy show -g {RG} -n {NAME}" in result.stderr


class CtrlCDuringTheWait(SimClock):
    """Ctrl-C pressed while the write is being waited for (the first sleep after the first poll)."""

    def sleep(self, seconds: float) -> None:
        raise KeyboardInterrupt


def test_ctrl_c_during_the_wait_says_the_change_was_sent_and_how_to_check(vmssroll, emu):
    load(emu, mode="Rolling")
    result = vmssroll(
        "policy",
        "set",
        *target(),
        "--max-batch-instance-percent",
        "30",
        "--yes",
        clock=CtrlCDuringTheWait(emu),
    )
    assert result.exit_code == 130, result.output
    assert "interrupted after the update of web was sent: Azure may have applied it" in result.stderr
    assert f"vmssroll status -g {RG} -n {NAME}" in result.stderr and "nothing was cancelled" in result.stderr
    assert len(operation_polls(emu)) == 1


def test_no_wait_and_watch_together_are_refused_before_any_request(vmssroll, emu):
    result = vmssroll("restart", *target(), "--yes", "--no-wait", "--watch")
    assert result.exit_code == 2 and "--no-wait and --watch" in result.stderr
    assert emu.requests == []


def test_a_lost_answer_in_rolling_mode_waits_on_the_scale_sets_provisioning_state(vmssroll, emu):
    load(emu, mode="Rolling")  # writes take 120 s
    emu.faults.add(kind="drop", method="PATCH", after_commit=True, count=1)
    clock = SimClock(emu)
    result = vmssroll(
        "policy", "set", *target(), "--max-batch-instance-percent", "30", "--yes", "-o", "json", clock=clock
    )
    assert result.exit_code == 0, result.output
    assert [r.status for r in emu.requests if r.method == "PATCH"] == [0]  # sent once, its answer lost
    assert operation_polls(emu) == []  # its operation is unknown: the scale set itself is read instead
    after = emu.requests[[r.method for r in emu.requests].index("PATCH") + 1 :]
    reads = [r.sim_time for r in after if r.method == "GET" and r.path.endswith(f"/{NAME}")]
    sent = patched_at(emu)
    assert [(t - sent).total_seconds() for t in reads] == [0, *range(10, 130, 10)]  # the last one confirms
    assert WAITING in result.stderr and "Azure finished updating web after 2m00s" in result.stderr
    assert result.json()["applied"] is True
