"""`vmssroll rollout | resume | undo` end to end: the real SDK against the emulator on its simulated clock,
gates as tiny real shell commands, resume from a second process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SimClock
from tests.helpers import NAME, RG, azure, ref, set_rolling, target, writes
from tests.reliability.checks import diff_paths

IMAGE = "properties.virtualMachineProfile.storageProfile.imageReference"


def image_version(emu) -> str:
    return str(
        emu.vmss(RG, NAME)["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]["id"]
    ).rsplit("/", 1)[-1]


def tags(emu) -> dict[str, str]:
    return dict(emu.vmss(RG, NAME).get("tags") or {})


def second_process(emu, *args: str) -> subprocess.Popen[str]:
    env = dict(
        os.environ,
        VMSSROLL_ARM_ENDPOINT=emu.url,
        VMSSROLL_CA_BUNDLE=emu.ca_path,
        AZURE_SUBSCRIPTION_ID=emu.subscription_id,
    )
    return subprocess.Popen(
        [sys.executable, "-m", "vmssroll", *args, *target()],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class HookClock(SimClock):
    """The simulated clock, with a hook that runs once, before the first sleep at which `when` holds."""

    def __init__(self, emu, when: Callable[[], bool], then: Callable[[], None]) -> None:
        super().__init__(emu)
        self.when, self.then, self.fired = when, then, 0

    def sleep(self, seconds: float) -> None:
        if not self.fired and self.when():
            self.fired += 1
            self.then()
        super().sleep(seconds)


def events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_checkpoint_then_resume_from_a_second_process_then_completed_and_baked(vmssroll, emu):
    set_rolling(emu, maxBatchInstancePercent=10)
    before = emu.vmss(RG, NAME)
    resumed: list[tuple[int, str, str]] = []

    def paused() -> bool:
        latest = azure(emu).latest_upgrade(ref(emu))
        return tags(emu).get("vmssroll.phase") == "paused" and latest is not None and not latest.running

    def resume() -> None:
        proc = second_process(emu, "resume")
        out, err = proc.communicate(timeout=120)
        resumed.append((proc.returncode, out, err))

    clock = HookClock(emu, paused, resume)
    result = vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--checkpoint", "30%", "--gate", "true",
        "--gate-interval", "30s", "--bake", "10m", "--yes", "-o", "json", clock=clock,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert resumed and resumed[0][0] == 0, resumed
    assert "Resumed the rollout from 30%" in resumed[0][1]
    found = events(result.stdout)
    kinds = [e["event"] for e in found]
    assert kinds.index("started") < kinds.index("paused") < kinds.index("resumed") < kinds.index("bake")
    assert kinds[-1] == "done"
    pause = next(e for e in found if e["event"] == "paused")
    assert pause["checkpoint"] == 30 and 3 <= pause["upgraded"] < 10
    gates = [e for e in found if e["event"] == "gate"]
    assert gates and all(g["ok"] and g["gate"] == "true" for g in gates)
    # the bake ran the gates for 10 minutes after Completed, every 30 s
    bake_at = next(i for i, e in enumerate(found) if e["event"] == "bake")
    assert sum(1 for e in found[bake_at:] if e["event"] == "gate") >= 20
    assert image_version(emu) == "2.0.0"
    assert tags(emu)["vmssroll.phase"] == "done" and tags(emu)["env"] == "demo"
    assert tags(emu)["vmssroll.gates"] == "1 of 1 gate(s) passing"
    cancels = [p for m, p in writes(emu) if m == "POST" and p.endswith("/cancel")]
    assert len(cancels) == 1  # the checkpoint's cancel, and nothing else was cancelled
    after = emu.vmss(RG, NAME)
    assert diff_paths(before, after) <= {f"{IMAGE}.id", "etag"} | {f"tags.{k}" for k in tags(emu)}


def test_a_gate_failing_at_40_percent_cancels_and_undo_puts_the_previous_image_back(
    vmssroll, emu, tmp_path: Path
):
    set_rolling(emu, maxBatchInstancePercent=10)
    before = emu.vmss(RG, NAME)
    bad = tmp_path / "bad"
    gate = f"if test -e {bad}; then echo 'checkout errors: 37%'; exit 1; fi; echo ok"

    def at_40() -> bool:
        return sum(1 for vm in emu.vms(RG, NAME) if _on(vm, "2.0.0") and vm["phase"] == "idle") >= 4

    clock = HookClock(emu, at_40, bad.touch)
    result = vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--gate", gate, "--gate-interval", "10s",
        "--gate-failures", "2", "--on-failure", "undo", "--yes", "-o", "json", clock=clock,
    )  # fmt: skip
    assert result.exit_code == 5, result.output
    found = events(result.stdout)
    failing = [e for e in found if e["event"] == "gate" and not e["ok"]]
    assert len(failing) >= 2 and "checkout errors: 37%" in failing[0]["output"]
    stop = next(e for e in found if e["event"] == "stopped")
    assert "2 time(s) in a row" in stop["message"] and "undoing" in stop["message"]
    assert image_version(emu) == "1.0.0"
    assert tags(emu)["vmssroll.phase"] == "undone"
    after = emu.vmss(RG, NAME)
    changed = diff_paths(before, after)
    assert {p for p in changed if not p.startswith("tags.")} == {"etag"}  # the image is back as it was
    vms = emu.vms(RG, NAME)
    assert all(
        vm["latest_model_applied"] and _on(vm, "1.0.0") for vm in vms
    )  # all back on the previous image


def _on(vm: dict[str, Any], version: str) -> bool:
    image = (vm["profile"].get("storageProfile") or {}).get("imageReference") or {}
    return str(image.get("id", "")).endswith("/" + version)


def test_two_concurrent_resumes_one_wins_the_other_exits_8(vmssroll, emu):
    set_rolling(emu, maxBatchInstancePercent=20)
    results: list[tuple[int, str, str]] = []

    def paused() -> bool:
        latest = azure(emu).latest_upgrade(ref(emu))
        return tags(emu).get("vmssroll.phase") == "paused" and latest is not None and not latest.running

    def race() -> None:
        # Both PATCHes are held back 1 s before the emulator looks at them: both read the same etag first.
        emu.faults.add(kind="slow", delay=1.0, method="PATCH", count=2)
        procs = [second_process(emu, "resume"), second_process(emu, "resume")]
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            results.append((proc.returncode, out, err))

    result = vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--checkpoint", "50%", "--yes",
        clock=HookClock(emu, paused, race),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(code for code, _, _ in results) == [0, 8], results
    loser = next(err for code, _, err in results if code == 8)
    assert loser.startswith("error: ") and "Traceback" not in loser
    restarts = [r for r in emu.requests if r.method == "PATCH" and r.status == 200]
    assert len(restarts) >= 1
    assert "Paused at 50%" in result.stderr and "Resumed (by `vmssroll resume`)" in result.stderr
    assert image_version(emu) == "2.0.0" and tags(emu)["vmssroll.phase"] == "done"


def test_auto_resume_after_a_pause_with_the_gates_passing(vmssroll, emu):
    set_rolling(emu, maxBatchInstancePercent=10)
    result = vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--checkpoint", "20%", "--checkpoint", "60%",
        "--gate", "echo fine", "--auto-resume-after", "5m", "--yes",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Paused at 20%" in result.stderr and "Paused at 60%" in result.stderr
    assert result.stderr.count("Resumed after 5m00s with every gate passing") == 2
    assert "Rollout done: Completed" in result.stderr
    assert image_version(emu) == "2.0.0"
    cancels = [p for m, p in writes(emu) if m == "POST" and p.endswith("/cancel")]
    assert len(cancels) == 2


def test_stop_then_undo_from_another_command(vmssroll, emu):
    set_rolling(emu, maxBatchInstancePercent=10)
    emu.clear_requests()
    result = vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--gate", "exit 3", "--gate-failures", "1", "--yes",
        clock=HookClock(emu, lambda: False, lambda: None),
    )  # fmt: skip
    # the gate fails before anything changed: refused at preflight, nothing sent
    assert result.exit_code == 3, result.output
    assert "before anything changed; nothing was sent" in result.stderr
    assert writes(emu) == []
    flag = Path(emu.ca_path).parent / "rollout-gate-fails"
    flag.unlink(missing_ok=True)
    gate = f"! test -e {flag}"

    def at_30() -> bool:
        return sum(1 for vm in emu.vms(RG, NAME) if _on(vm, "2.0.0") and vm["phase"] == "idle") >= 3

    result = vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--gate", gate, "--gate-failures", "1", "--yes",
        clock=HookClock(emu, at_30, flag.touch),
    )  # fmt: skip
    flag.unlink(missing_ok=True)
    assert result.exit_code == 5, result.output
    assert f"Put the previous image back with: vmssroll undo {' '.join(target())}" in result.stderr
    assert tags(emu)["vmssroll.phase"] == "stopped" and image_version(emu) == "2.0.0"
    status = vmssroll("status", *target(), "-o", "json").json()
    assert status["rollout"]["record"]["phase"] == "stopped"
    assert status["rollout"]["standing"].startswith("stopped by a gate: gate `! test -e")
    assert status["rollout"]["record"]["gates"].startswith("gate `! test -e")  # the failing run, kept
    assert status["rollout"]["record"]["gates"].endswith("failed (exit 1) (1 in a row)")
    assert "undo restores  " in vmssroll("status", *target()).stdout
    undone = vmssroll("undo", *target(), "--yes")
    assert undone.exit_code == 0, undone.output
    assert image_version(emu) == "1.0.0" and tags(emu)["vmssroll.phase"] == "undone"
    assert all(vm["latest_model_applied"] and _on(vm, "1.0.0") for vm in emu.vms(RG, NAME))
    again = vmssroll("undo", *target(), "--yes")
    assert again.exit_code == 8 and "already undone" in again.stderr


def test_bad_input_is_refused_before_any_request(vmssroll, emu):
    for args, says in [
        ((), "give exactly one of --image-version, --image-id, --os or --extensions"),
        (("--os", "--extensions"), "give exactly one of"),
        (("--os", "--checkpoint", "100%"), "--checkpoint '100%' is not a percentage"),
        (("--os", "--on-failure", "undo"), "--on-failure undo needs an image rollout"),
        (("--image-version", "2.0.0", "--gate", "x\\x1b"), "x"),
        (("--os", "--gate-failures", "0"), "--gate-failures 0"),
        (("--os", "--bake", "soon"), "--bake"),
    ]:
        emu.clear_requests()
        args = tuple(a.replace("\\x1b", "\x1b") for a in args)
        result = vmssroll("rollout", *target(), *args, "--yes")
        assert result.exit_code == 2, (args, result.output)
        assert says in result.stderr, (args, result.stderr)
        assert emu.requests == [], args


def test_refused_at_preflight_in_manual_mode(vmssroll, emu):
    result = vmssroll("rollout", *target(), "--image-version", "2.0.0", "--yes")
    assert result.exit_code == 3
    assert "Manual mode: a model change rolls nothing there" in result.stderr
    assert writes(emu) == []


def test_a_gate_that_outlives_its_time_fails_and_is_killed_whole(vmssroll, emu):
    set_rolling(emu, maxBatchInstancePercent=50)
    emu.clear_requests()
    began = time.monotonic()
    result = vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--gate", "echo started; sleep 60 | cat",
        "--gate-timeout", "1s", "--yes", "-o", "json",
    )  # fmt: skip
    assert time.monotonic() - began < 30  # the pipe's two processes were killed, not waited for
    assert result.exit_code == 3, result.output
    assert "gate `echo started; sleep 60 | cat` timed out: started before anything changed" in result.stderr
    assert writes(emu) == []


def test_resume_by_answering_the_prompt_on_the_rollouts_own_terminal(vmssroll, emu):
    set_rolling(emu, maxBatchInstancePercent=10)
    result = vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--checkpoint", "30%", "--yes",
        stdin="y\n", stdin_tty=True,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Paused at 30%" in result.stderr
    assert "Resume now? Type y and Enter (or run vmssroll resume from anywhere): " in result.stderr
    assert "Resumed from this terminal" in result.stderr and "Rollout done: Completed" in result.stderr
    assert image_version(emu) == "2.0.0" and tags(emu)["vmssroll.phase"] == "done"
    assert len([p for m, p in writes(emu) if m == "POST" and p.endswith("/cancel")]) == 1


def test_another_answer_asks_again_and_a_closed_terminal_leaves_resume_to_others(vmssroll, emu):
    set_rolling(emu, maxBatchInstancePercent=10)
    result = vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--checkpoint", "30%", "--auto-resume-after", "2m",
        "--yes", stdin="no\n", stdin_tty=True,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stderr.count("Resume now? Type y and Enter") == 2  # asked, answered no, asked again
    assert "Resumed from this terminal" not in result.stderr
    assert "Resumed after 2m00s with every gate passing" in result.stderr


def test_off_a_terminal_the_pause_asks_nothing(vmssroll, emu):
    set_rolling(emu, maxBatchInstancePercent=10)
    result = vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--checkpoint", "30%", "--auto-resume-after", "1m",
        "--yes", stdin="y\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Resume now?" not in result.stderr and "Resumed after 1m00s" in result.stderr


def test_resume_watch_follows_the_restarted_upgrade_when_the_rollout_that_paused_is_gone(vmssroll, emu):
    set_rolling(emu, maxBatchInstancePercent=20)
    paused = vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--checkpoint", "40%", "--timeout", "15m", "--yes"
    )
    assert paused.exit_code == 7 and "Paused at 40%" in paused.stderr, paused.output
    assert tags(emu)["vmssroll.phase"] == "paused"
    result = vmssroll("resume", *target(), "--watch", "-o", "json")
    assert result.exit_code == 0, result.output
    found = events(result.stdout)
    assert found[0]["event"] == "resumed" and found[0]["message"] == "Resumed the rollout from 40%."
    assert found[-1]["state"] == "Completed"  # the watch's last event: the new upgrade, not the cancelled one
    assert all(vm["latest_model_applied"] and _on(vm, "2.0.0") for vm in emu.vms(RG, NAME))
    assert tags(emu)["vmssroll.phase"] == "rolling"  # nobody left to write done: the upgrade ran to its end


def test_undo_stopped_by_azures_health_limit_says_so_and_undo_again_finishes_it(vmssroll, emu):
    emu.load_scenario("demo")  # 3.0.0-bad turns instances unhealthy
    set_rolling(
        emu,
        maxBatchInstancePercent=50,
        maxUnhealthyInstancePercent=100,
        maxUnhealthyUpgradedInstancePercent=100,
    )
    bad = vmssroll("rollout", *target(), "--image-version", "3.0.0-bad", "--yes")
    assert bad.exit_code == 0, bad.output  # no gate, and a policy that lets every instance go unhealthy
    set_rolling(emu, maxUnhealthyInstancePercent=20)
    result = vmssroll("undo", *target(), "--yes")
    # Azure's check before the roll-back's first batch: 10 of 10 unhealthy, more than 20%
    assert result.exit_code == 5, result.output
    assert "Undo stopped: " in result.stderr and "MaxUnhealthyInstancePercentExceeded" in result.stderr
    assert "but 10 instance(s) still run the undone one" in result.stderr
    assert f"then run `vmssroll undo {' '.join(target())}` again" in result.stderr
    image = emu.vmss(RG, NAME)["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]
    assert image["version"] == "1.0.0" and tags(emu)["vmssroll.phase"] == "undoing"
    assert not any(vm["latest_model_applied"] for vm in emu.vms(RG, NAME))
    # the limit raised: in Rolling mode that update restarts the roll-back; undo refuses to race it
    set_rolling(emu, maxUnhealthyInstancePercent=100)
    racing = vmssroll("undo", *target(), "--yes")
    assert racing.exit_code == 8 and "already undoing" in racing.stderr, racing.output
    assert vmssroll("wait", *target()).exit_code == 0
    again = vmssroll("undo", *target(), "--yes")
    assert again.exit_code == 0, again.output
    assert "Undone: no instance runs the undone image" in again.stderr
    assert tags(emu)["vmssroll.phase"] == "undone"
    assert all(vm["latest_model_applied"] for vm in emu.vms(RG, NAME))


def test_events_file_gets_the_rollouts_events_and_the_watchs(vmssroll, emu, tmp_path: Path):
    set_rolling(emu, maxBatchInstancePercent=50)
    emu.clear_requests()
    refused = vmssroll("rollout", *target(), "--image-version", "2.0.0", "--events", str(tmp_path), "--yes")
    assert refused.exit_code == 2 and "--events" in refused.stderr and emu.requests == []
    path = tmp_path / "rollout.jsonl"
    result = vmssroll("rollout", *target(), "--image-version", "2.0.0", "--events", str(path), "--yes")
    assert result.exit_code == 0, result.output
    assert not result.stdout.startswith("{")  # the events went to the file, the text stayed on stderr
    found = [json.loads(line) for line in path.read_text().splitlines()]
    kinds = [e["event"] for e in found]
    assert kinds[0] == "started" and kinds[-1] == "done" and "status" in kinds  # the watch's own events too
    assert found[-1]["message"] == "Rollout done: Completed"


def test_resume_watch_waits_past_the_upgrade_before_the_resume_for_the_new_one_to_start(vmssroll, emu):
    """A record paused by hand after its rollout's upgrade had completed: the resume's PATCH starts nothing
    (no instance is behind), so the latest upgrade is still the one from before. The watch does not take its
    end for the resumed upgrade's: it says it waits for the new one, for the grace Azure gets to start it."""
    from tests.helpers import patch
    from vmssroll.domain.rollout import NEW_UPGRADE_GRACE

    set_rolling(emu, maxBatchInstancePercent=50)
    assert vmssroll("rollout", *target(), "--image-version", "2.0.0", "--yes").exit_code == 0
    patch(emu, {"tags": {"vmssroll.phase": "paused", "vmssroll.checkpoints": "50", "vmssroll.passed": "50"}})
    emu.clear_requests()
    result = vmssroll("resume", *target(), "--watch", "-o", "json")
    assert result.exit_code == 0, result.output
    found = events(result.stdout)
    assert [(e["event"], e["message"]) for e in found] == [
        ("resumed", "Resumed the rollout from 50%."),
        ("status", "waiting for the resumed upgrade to start"),
    ]
    assert found[1]["state"] == "Completed" and found[1]["done"] is False
    resumed = next(r.sim_time for r in emu.requests if r.method == "PATCH")
    reads = [r.sim_time for r in emu.requests if r.path.endswith("/rollingUpgrades/latest")]
    assert (reads[-1] - resumed).total_seconds() >= NEW_UPGRADE_GRACE  # it waited the grace out
    assert tags(emu)["vmssroll.phase"] == "rolling"
    patch(emu, {"tags": {"vmssroll.phase": "paused"}})
    lines = vmssroll("resume", *target(), "--watch")
    assert lines.exit_code == 0, lines.output
    assert lines.stdout.splitlines()[-1].endswith(" web: waiting for the resumed upgrade to start")


def test_the_events_file_gets_the_roll_back_of_an_undo_on_failure_too(vmssroll, emu, tmp_path: Path):
    emu.load_scenario("demo")  # 3.0.0-bad turns instances unhealthy: Azure faults the upgrade
    set_rolling(emu, maxBatchInstancePercent=50)
    path = tmp_path / "rollout.jsonl"
    result = vmssroll(
        "rollout", *target(), "--image-version", "3.0.0-bad", "--on-failure", "undo", "--events", str(path),
        "--yes",
    )  # fmt: skip
    assert result.exit_code == 5, result.output  # undone, but the rollout failed
    found = [json.loads(line) for line in path.read_text().splitlines()]
    kinds = [e["event"] for e in found]
    assert kinds[0] == "started" and kinds[-1] == "undone", kinds
    stopped = kinds.index("stopped")
    said = found[stopped]["message"]
    assert said.startswith("Rollout stopped: ") and said.endswith("; undoing it (--on-failure undo)")
    undo = kinds.index("undo")
    assert stopped < undo
    # the roll-back's own watch events went to the file too, between the undo and its end
    rolled_back = [e for e in found[undo:] if e["event"] in ("status", "done")]
    assert rolled_back and rolled_back[-1]["state"] == "Completed", kinds
    assert tags(emu)["vmssroll.phase"] == "undone"
    assert all(vm["latest_model_applied"] for vm in emu.vms(RG, NAME))


def test_a_rollout_azure_faults_ends_with_a_stopped_event_that_says_how_to_undo(vmssroll, emu):
    emu.load_scenario("demo")  # 3.0.0-bad turns instances unhealthy: Azure faults the upgrade
    set_rolling(emu, maxBatchInstancePercent=50)
    result = vmssroll("rollout", *target(), "--image-version", "3.0.0-bad", "--yes", "-o", "json")
    assert result.exit_code == 5, result.output
    last = events(result.stdout)[-1]
    reason = (
        "Azure stopped the upgrade (Faulted: "
        + "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade)"
    )
    assert last["event"] == "stopped" and last["exitCode"] == 5 and last["reason"] == reason
    undo = "vmssroll undo " + " ".join(target())
    assert last["message"] == f"Rollout stopped: {reason}. Put the previous image back with: {undo}"


def upgrade_running(emu) -> bool:
    latest = azure(emu).latest_upgrade(ref(emu))
    return latest is not None and latest.running


def test_an_upgrade_cancelled_outside_the_rollout_stops_it_with_exit_6(vmssroll, emu):
    set_rolling(emu, maxBatchInstancePercent=20)

    def rolling() -> bool:
        return tags(emu).get("vmssroll.phase") == "rolling" and upgrade_running(emu)

    clock = HookClock(emu, rolling, lambda: azure(emu).cancel(ref(emu)))
    result = vmssroll("rollout", *target(), "--image-version", "2.0.0", "--yes", "-o", "json", clock=clock)
    assert result.exit_code == 6, result.output
    found = events(result.stdout)
    assert found[-2]["event"] == "done" and found[-2]["state"] == "Cancelled"
    assert {k: found[-1][k] for k in ("event", "message", "exitCode")} == {
        "event": "stopped",
        "message": "Rollout stopped: the upgrade was cancelled outside this rollout",
        "exitCode": 6,
    }


def test_a_pause_resumed_from_elsewhere_says_where_it_paused_and_what_resumed_it(vmssroll, emu):
    from tests.helpers import patch

    set_rolling(emu, maxBatchInstancePercent=20)

    def paused() -> bool:
        return tags(emu).get("vmssroll.phase") == "paused" and not upgrade_running(emu)

    resume = lambda: patch(emu, {"tags": {"vmssroll.phase": "rolling"}})  # noqa: E731  # as `resume` writes
    result = vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--checkpoint", "40%", "--yes", "-o", "json",
        clock=HookClock(emu, paused, resume),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    found = {e["event"]: e for e in events(result.stdout) if e["event"] in ("paused", "resumed")}
    pause = found["paused"]
    assert (pause["checkpoint"], pause["upgraded"], pause["total"]) == (40, 6, 10)
    assert pause["message"] == (
        "Paused at 40%: 6 of 10 instance(s) upgraded (instances in flight finished). Resume with: vmssroll "
        "resume -g rg-demo -n web"
    )
    assert pause["record"]["phase"] == "paused" and pause["record"]["pausedAt"] == 40
    assert found["resumed"]["message"] == "Resumed (by `vmssroll resume`); following the upgrade again"
    assert found["resumed"]["record"]["phase"] == "rolling" and found["resumed"]["record"]["passed"] == [40]
    assert found["resumed"]["record"]["id"] == pause["record"]["id"]
    assert events(result.stdout)[-1]["event"] == "done" and tags(emu)["vmssroll.phase"] == "done"


def test_a_paused_rollout_stopped_from_elsewhere_stops_here_with_exit_6(vmssroll, emu):
    from tests.helpers import patch

    set_rolling(emu, maxBatchInstancePercent=20)

    def paused() -> bool:
        return tags(emu).get("vmssroll.phase") == "paused" and not upgrade_running(emu)

    stop = lambda: patch(emu, {"tags": {"vmssroll.phase": "stopped"}})  # noqa: E731
    result = vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--checkpoint", "40%", "--yes", "-o", "json",
        clock=HookClock(emu, paused, stop),
    )  # fmt: skip
    assert result.exit_code == 6, result.output
    last = events(result.stdout)[-1]
    assert (last["event"], last["message"]) == (
        "stopped",
        "The rollout is now stopped (changed from elsewhere); stopping here",
    )
    assert tags(emu)["vmssroll.phase"] == "stopped"


def test_resume_from_the_terminal_emits_the_resumed_record(vmssroll, emu):
    set_rolling(emu, maxBatchInstancePercent=20)
    result = vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--checkpoint", "40%", "--gate", "true", "--yes",
        "-o", "json", stdin="y\n", stdin_tty=True,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    started = next(e for e in events(result.stdout) if e["event"] == "started")
    assert started["record"]["gates"] == "1 of 1 gate(s) passing"  # recorded with the image's PATCH
    resumed = next(e for e in events(result.stdout) if e["event"] == "resumed")
    assert resumed["message"] == "Resumed from this terminal"
    assert resumed["record"]["phase"] == "rolling" and resumed["record"]["passed"] == [40]


def test_a_gate_failing_during_the_bake_stops_the_rollout_and_records_why(vmssroll, emu, tmp_path: Path):
    set_rolling(emu, maxBatchInstancePercent=50)
    flag = tmp_path / "broken"
    since: list[float] = []

    def a_minute_into_the_bake() -> bool:
        if not since and tags(emu).get("vmssroll.phase") == "baking":
            since.append(emu.clock.now().timestamp())
        return bool(since) and emu.clock.now().timestamp() - since[0] >= 60

    result = vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--bake", "10m", "--gate", f"! test -e {flag}",
        "--gate-interval", "10s", "--gate-failures", "2", "--yes",
        clock=HookClock(emu, a_minute_into_the_bake, flag.touch),
    )  # fmt: skip
    assert result.exit_code == 5, result.output
    assert "Completed; baking for 10m00s with the gates running" in result.stderr
    record = tags(emu)
    assert record["vmssroll.phase"] == "stopped"
    assert record["vmssroll.reason"].startswith(f"gate `! test -e {flag}` failed (exit 1)"), record
    assert f"Rollout stopped: {record['vmssroll.reason']}" in result.stderr
    assert "Put the previous image back with: vmssroll undo -g rg-demo -n web" in result.stderr


def test_an_extension_rollout_records_itself_then_starts_the_extension_upgrade(vmssroll, emu):
    set_rolling(emu, maxBatchInstancePercent=50)
    emu.clear_requests()
    result = vmssroll("rollout", *target(), "--extensions", "--gate", "true", "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    sent = [p.rsplit("/", 1)[-1] for m, p in writes(emu)]
    assert sent[:2] == ["web", "extensionRollingUpgrade"]  # the record's PATCH, then the action
    assert "osRollingUpgrade" not in sent
    started = next(e for e in events(result.stdout) if e["event"] == "started")
    assert started["message"] == "Rolling out the model's extensions to web"
    assert (
        started["record"]["kind"] == "extensions" and started["record"]["gates"] == "1 of 1 gate(s) passing"
    )
    assert started["record"]["previous"] is None  # an extension rollout keeps no previous model value
    assert tags(emu)["vmssroll.phase"] == "done" and tags(emu)["vmssroll.kind"] == "extensions"


def test_an_os_rollout_starts_the_os_upgrade_to_the_newest_platform_image(vmssroll, emu):
    emu.load_scenario("automatic-os")  # a platform image at `latest`; 1.1.0 is published after an hour
    emu.clock.advance(3601)
    set_rolling(emu, maxBatchInstancePercent=50)
    emu.clear_requests()
    result = vmssroll("rollout", *target(), "--os", "--gate", "true", "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    sent = [p.rsplit("/", 1)[-1] for m, p in writes(emu)]
    assert sent[:2] == ["web", "osRollingUpgrade"] and "extensionRollingUpgrade" not in sent
    started = next(e for e in events(result.stdout) if e["event"] == "started")
    assert started["message"] == "Rolling out the latest OS image to web"
    assert started["record"]["kind"] == "os" and started["record"]["gates"] == "1 of 1 gate(s) passing"
    assert tags(emu)["vmssroll.phase"] == "done"
    assert {vm.get("os_version") for vm in emu.vms(RG, NAME)} == {"1.1.0"}


def test_an_image_rollout_records_its_gates_and_says_each_failure_with_its_streak(
    vmssroll, emu, tmp_path: Path
):
    """As text: a gate's first run, then only its failures (with the streak) and recoveries."""
    set_rolling(emu, maxBatchInstancePercent=20)
    flag = tmp_path / "broken"
    result = vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--gate", "true", "--gate", f"! test -e {flag}",
        "--gate-interval", "10s", "--gate-failures", "2", "--yes",
        clock=HookClock(emu, lambda: tags(emu).get("vmssroll.phase") == "rolling" and upgrade_running(emu), flag.touch),
    )  # fmt: skip
    assert result.exit_code == 5, result.output
    lines = result.stderr.splitlines()
    assert [line for line in lines if line.startswith("gate `true`")] == ["gate `true` passed"]
    failing = [line for line in lines if line.startswith(f"gate `! test -e {flag}` failed")]
    assert [line[-len("(1 of 2 in a row)") :] for line in failing] == [
        "(1 of 2 in a row)",
        "(2 of 2 in a row)",
    ]
    assert tags(emu)["vmssroll.gates"].startswith(f"gate `! test -e {flag}` failed (exit 1)")
    assert tags(emu)["vmssroll.gates"].endswith("(2 in a row)")


def test_a_checkpoint_met_in_the_last_batch_does_not_pause_a_rollout_with_nothing_left(vmssroll, emu):
    """Batches of one: 90% is crossed while the last instance upgrades. The pause's cancel lets that batch
    finish and Azure ends the upgrade Cancelled with every instance upgraded: nothing is left to pause (a
    resume would start no upgrade), so the rollout goes on to its end as if it had completed."""
    set_rolling(emu, maxBatchInstancePercent=10)
    emu.clear_requests()
    result = vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--checkpoint", "90%", "--timeout", "60m", "--yes",
        "-o", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    kinds = [e["event"] for e in events(result.stdout)]
    assert "paused" not in kinds and kinds[-1] == "done", kinds
    assert events(result.stdout)[-1]["message"] == "Rollout done: Completed"
    assert tags(emu)["vmssroll.phase"] == "done"
    assert all(vm["latest_model_applied"] and _on(vm, "2.0.0") for vm in emu.vms(RG, NAME))
    assert len([p for m, p in writes(emu) if m == "POST" and p.endswith("/cancel")]) == 1


def test_a_prompt_nobody_answers_still_sees_a_resume_from_elsewhere(vmssroll, emu):
    """The pause asks on an open terminal where nobody types: the rollout keeps reading the record between
    looks at the terminal, and a `resume` from elsewhere carries it on; its question line is closed."""
    from tests.helpers import patch

    set_rolling(emu, maxBatchInstancePercent=20)
    read, write = os.pipe()  # a terminal left open, nothing typed
    since: list[float] = []

    def a_minute_after_the_pause() -> bool:
        if not since and tags(emu).get("vmssroll.phase") == "paused" and not upgrade_running(emu):
            since.append(emu.clock.now().timestamp())
        return bool(since) and emu.clock.now().timestamp() - since[0] >= 60

    resume = lambda: patch(emu, {"tags": {"vmssroll.phase": "rolling"}})  # noqa: E731  # as `resume` writes
    with os.fdopen(read) as terminal, os.fdopen(write, "w"):
        result = vmssroll(
            "rollout", *target(), "--image-version", "2.0.0", "--checkpoint", "40%", "--timeout", "60m",
            "--yes", stdin=terminal, stdin_tty=True, clock=HookClock(emu, a_minute_after_the_pause, resume),
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    asked = "Resume now? Type y and Enter (or run vmssroll resume from anywhere): "
    assert result.stderr.count(asked) == 1
    assert f"{asked}\nResumed (by `vmssroll resume`); following the upgrade again" in result.stderr
    assert "Rollout done: Completed" in result.stderr and tags(emu)["vmssroll.phase"] == "done"


def slow_to_start(emu, seconds: float) -> None:
    """The default scenario, where Azure shows a model change's rolling upgrade only `seconds` after the
    change, and after the change's own operation has ended (20 s): until then `rollingUpgrades/latest` still
    shows the upgrade before, if any."""
    from vmssroll.emulator import scenarios

    data = scenarios.load("uniform-probe")
    for spec in data["scale_sets"]:
        spec["timings"] = {**(spec.get("timings") or {}), "upgrade_start": seconds, "write": 20}
    emu.load_scenario(data)


def test_when_azure_is_slow_to_start_upgrades_the_undo_follows_the_roll_back_not_the_stopped_one(
    vmssroll, emu, tmp_path: Path
):
    """The undo after a failed gate puts the previous image back; for 90 s the latest upgrade is still the
    one the rollout stopped. Taking that one's end for the roll-back's would say undone while every upgraded
    instance still ran the undone image."""
    slow_to_start(emu, 90)
    set_rolling(emu, maxBatchInstancePercent=10)
    bad = tmp_path / "bad"
    gate = f"if test -e {bad}; then echo 'checkout errors: 37%'; exit 1; fi; echo ok"

    def at_40() -> bool:
        return sum(1 for vm in emu.vms(RG, NAME) if _on(vm, "2.0.0") and vm["phase"] == "idle") >= 4

    result = vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--gate", gate, "--gate-interval", "10s",
        "--gate-failures", "2", "--on-failure", "undo", "--yes", "-o", "json",
        clock=HookClock(emu, at_40, bad.touch),
    )  # fmt: skip
    assert result.exit_code == 5, result.output
    kinds = [e["event"] for e in events(result.stdout)]
    assert kinds.index("stopped") < kinds.index("undo") < kinds.index("undone") == len(kinds) - 1
    assert image_version(emu) == "1.0.0" and tags(emu)["vmssroll.phase"] == "undone"
    assert all(vm["latest_model_applied"] and _on(vm, "1.0.0") for vm in emu.vms(RG, NAME))


def test_when_azure_is_slow_to_start_a_rollouts_upgrade_it_waits_for_its_own(vmssroll, emu):
    """Azure starts a model change's upgrade 90 s after the PATCH. A first rollout (no upgrade before) and a
    second one (for 90 s the latest upgrade is still the first's, Completed) each wait for their own: taking
    the old one's end would bake and record done while no instance had moved."""
    slow_to_start(emu, 90)
    set_rolling(emu, maxBatchInstancePercent=50)
    for version in ("2.0.0", "3.0.0"):
        result = vmssroll("rollout", *target(), "--image-version", version, "--yes", "-o", "json")
        assert result.exit_code == 0, result.output
        assert [e["event"] for e in events(result.stdout)][-1] == "done"
        assert all(vm["latest_model_applied"] and _on(vm, version) for vm in emu.vms(RG, NAME)), version
        assert tags(emu)["vmssroll.phase"] == "done"


@pytest.mark.parametrize(("kind", "action", "other"), [
    ("--os", "osRollingUpgrade", "extensionRollingUpgrade"),
    ("--extensions", "extensionRollingUpgrade", "osRollingUpgrade"),
])  # fmt: skip
def test_resuming_an_os_or_extension_rollout_starts_its_own_action_again(vmssroll, emu, kind, action, other):
    from tests.helpers import patch

    emu.load_scenario("automatic-os")  # a platform image: an OS rollout has a newer one to go to
    emu.clock.advance(3601)
    set_rolling(emu, maxBatchInstancePercent=50)
    assert vmssroll("rollout", *target(), kind, "--yes").exit_code == 0
    patch(emu, {"tags": {"vmssroll.phase": "paused", "vmssroll.checkpoints": "50", "vmssroll.passed": "50"}})
    emu.clear_requests()
    result = vmssroll("resume", *target(), "-o", "json")
    assert result.exit_code == 0, result.output
    sent = [(m, p.rsplit("/", 1)[-1]) for m, p in writes(emu)]
    assert sent == [("PATCH", "web"), ("POST", action)]  # the record claims it, then the action, once
    assert other not in str(sent)
    found = json.loads(result.stdout)
    assert found["resumed"] is True and found["record"]["phase"] == "rolling"
    assert (
        found["message"]
        == f"Resumed the rollout from 50%. Follow it with: vmssroll watch {' '.join(target())}"
    )
    assert tags(emu)["vmssroll.phase"] == "rolling"


def test_an_undo_stopped_by_azure_when_the_instances_cannot_be_listed_says_how_many_is_unknown(vmssroll, emu):
    emu.load_scenario("demo")  # 3.0.0-bad turns instances unhealthy
    set_rolling(
        emu,
        maxBatchInstancePercent=50,
        maxUnhealthyInstancePercent=100,
        maxUnhealthyUpgradedInstancePercent=100,
    )
    assert vmssroll("rollout", *target(), "--image-version", "3.0.0-bad", "--yes").exit_code == 0
    set_rolling(emu, maxUnhealthyInstancePercent=20)
    emu.faults.add(kind="status", status=403, method="GET", path_regex=r"/virtualMachines$")  # the role's gap
    result = vmssroll("undo", *target(), "--yes", "-o", "json")
    assert result.exit_code == 5, result.output
    stopped = [e for e in events(result.stdout) if e["event"] == "stopped"]
    assert len(stopped) == 1 and stopped[0]["exitCode"] == 5
    reason = stopped[0]["reason"]
    assert "MaxUnhealthyInstancePercentExceeded" in reason
    args = " ".join(target())
    assert stopped[0]["message"] == (
        f"Undo stopped: {reason}. The model has the previous image again, but an unknown number of instance(s) "
        "still run the undone one. Fix the cause (e.g. raise maxUnhealthyInstancePercent with `vmssroll "
        f"policy set {args} --max-unhealthy-instance-percent N`: in Rolling mode that update restarts the "
        f"roll-back, follow it with `vmssroll watch {args}`), then run `vmssroll undo {args}` again"
    )
    assert tags(emu)["vmssroll.phase"] == "undoing"


def test_resume_and_undo_refuse_what_they_cannot_do_with_one_error_line_and_write_nothing(vmssroll, emu):
    from tests.helpers import patch

    set_rolling(emu, maxBatchInstancePercent=50)
    args = " ".join(target())

    def refused(command: tuple[str, ...], code: int, line: str) -> None:
        emu.clear_requests()
        result = vmssroll(*command, *target())
        assert (result.exit_code, result.stderr.splitlines()) == (code, [line]), (command, result.output)
        assert result.stdout == "" and writes(emu) == []

    refused(("resume",), 3, "error: no rollout is recorded on web")
    refused(("undo", "--yes"), 3, "error: no rollout is recorded on web")
    assert vmssroll("rollout", *target(), "--extensions", "--yes").exit_code == 0
    refused(("resume",), 3, "error: nothing to resume: the rollout is done")
    refused(
        ("undo", "--yes"), 3, "error: nothing to undo: an extension rollout keeps no previous model value"
    )
    patch(emu, {"tags": {"vmssroll.phase": "rolling"}})
    refused(
        ("resume",),
        8,
        "error: the rollout was already resumed (its record says rolling); follow it: vmssroll watch " + args,
    )
    assert tags(emu)["vmssroll.phase"] == "rolling"


def test_undo_while_an_upgrade_runs_is_refused_and_says_to_cancel_it_first(vmssroll, emu):
    from tests.helpers import patch

    set_rolling(emu, maxBatchInstancePercent=20)
    assert vmssroll("rollout", *target(), "--image-version", "2.0.0", "--yes").exit_code == 0
    image = emu.vmss(RG, NAME)["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]
    elsewhere = image["id"].rsplit("/", 1)[0] + "/1.0.0"  # someone else's model change: Azure rolls it
    patch(
        emu,
        {"properties": {"virtualMachineProfile": {"storageProfile": {"imageReference": {"id": elsewhere}}}}},
    )
    assert upgrade_running(emu)
    emu.clear_requests()
    result = vmssroll("undo", *target(), "--yes")
    assert result.exit_code == 8, result.output
    assert result.stderr.splitlines() == [
        f"error: an upgrade is RollingForward: cancel it first (vmssroll cancel {' '.join(target())})"
    ]
    assert writes(emu) == [] and tags(emu)["vmssroll.phase"] == "done"


def test_events_to_stdout_with_a_dash_are_json_lines_beside_the_text(vmssroll, emu):
    """`--events -` writes the rollout's events to stdout as JSON Lines, beside its text lines."""
    set_rolling(emu, maxBatchInstancePercent=50)
    result = vmssroll("rollout", *target(), "--image-version", "2.0.0", "--events", "-", "--yes")
    assert result.exit_code == 0, result.output
    found = events(result.stdout)
    assert found[0]["event"] == "started" and found[-1]["event"] == "done"
    assert found[0]["message"] == "Rolling out image version 2.0.0 to web"
    assert image_version(emu) == "2.0.0"
