"""restart, cancel and start: their refusals word for word, and the JSON each returns, field by field."""

from __future__ import annotations

import pytest

from tests.helpers import NAME, RG, push_image, set_rolling, target, writes

ARGS = f"-g {RG} -n {NAME}"


def test_restart_in_manual_mode_is_refused_and_names_enable_rolling(vmssroll, emu):
    push_image(emu, "2.0.0")  # Manual: every instance behind, nothing rolls
    emu.clear_requests()
    result = vmssroll("restart", *target(), "--yes")
    assert result.exit_code == 3, result.output
    assert "error: web is in Manual mode: an empty model update starts no rolling upgrade" in result.stderr
    assert f"switch with `vmssroll enable-rolling {ARGS}`" in result.stderr
    assert writes(emu) == []


def test_restart_after_a_cancelled_os_upgrade_names_start(vmssroll, emu):
    emu.load_scenario("demo")  # a platform image: an OS upgrade is possible
    set_rolling(emu)
    assert vmssroll("start", "os", *target(), "--yes").exit_code == 0
    assert vmssroll("cancel", *target(), "--yes").exit_code == 0
    emu.clear_requests()
    result = vmssroll("restart", *target(), "--yes")
    assert result.exit_code == 3, result.output
    assert "error: nothing to restart on web: " in result.stderr
    assert f"start it again: vmssroll start os {ARGS} or vmssroll start extension {ARGS}" in result.stderr
    assert writes(emu) == []


def _cancelled_model_change(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.clock.advance(100)  # a batch done, the next in flight
    return vmssroll("cancel", *target(), "--yes", "-o", "json")


def test_cancel_waits_and_names_the_next_step(vmssroll, emu):
    result = _cancelled_model_change(vmssroll, emu)
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert set(doc) == {"cancelRequested", "message", "upgrade", "nextStep"}
    assert doc["cancelRequested"] is True
    assert doc["upgrade"]["properties"]["runningStatus"]["code"] == "Cancelled"
    assert doc["nextStep"] == f"vmssroll restart {ARGS}"
    assert "Cancel accepted; instances in flight finish first." in result.stderr
    assert "a model change with " in result.stderr and f": vmssroll restart {ARGS}" in result.stderr


@pytest.mark.parametrize("json", [True, False])
def test_cancel_no_wait_returns_at_once(vmssroll, emu, json):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.clear_requests()
    result = vmssroll("cancel", *target(), "--yes", "--no-wait", *(("-o", "json") if json else ()))
    assert result.exit_code == 0, result.output
    if json:
        assert result.json() == {"cancelRequested": True}
    else:
        assert result.stdout.strip() == "Cancel requested."
    assert [m for m, _ in writes(emu)] == ["POST"]
    assert [r.method for r in emu.requests if r.path.endswith("/latest")] == []  # no wait: nothing read after


def test_restart_json_after_a_cancel(vmssroll, emu):
    assert _cancelled_model_change(vmssroll, emu).exit_code == 0
    behind = vmssroll("status", *target(), "-o", "json").json()["instances"]["notOnLatestModel"]
    result = vmssroll("restart", *target(), "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert doc["restarted"] is True and doc["behind"] == behind
    assert doc["consequence"]["effect"] == "rolling-upgrade"
    assert doc["consequence"]["instances"] == len(behind)
    assert "state" not in doc  # restart reads nothing after its write without --watch
    text = vmssroll("restart", *target(), "--yes")  # already running again: refused
    assert text.exit_code == 8


def test_restart_no_wait_json(vmssroll, emu):
    assert _cancelled_model_change(vmssroll, emu).exit_code == 0
    result = vmssroll("restart", *target(), "--yes", "--no-wait", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert (doc["restarted"], doc["accepted"], doc["finished"], doc["applied"]) == (True, True, False, False)
    assert doc["follow"] == f"vmssroll watch {ARGS}"
    assert doc["consequence"]["effect"] == "rolling-upgrade"


def test_restart_text_names_the_instances_behind_and_how_to_follow(vmssroll, emu):
    assert _cancelled_model_change(vmssroll, emu).exit_code == 0
    behind = vmssroll("status", *target(), "-o", "json").json()["instances"]["notOnLatestModel"]
    result = vmssroll("restart", *target(), "--yes")
    assert result.exit_code == 0, result.output
    assert f"{len(behind)} instance(s) not on the latest model: {', '.join(behind)}" in result.stderr
    assert f"Follow it with: vmssroll watch {ARGS}" in result.stdout
    assert "Started" in result.stdout


def test_start_json_without_watch(vmssroll, emu):
    emu.load_scenario("demo")
    set_rolling(emu)
    result = vmssroll("start", "extension", *target(), "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert doc["started"] == "extension"
    assert doc["consequence"]["text"].startswith("starts an extension rolling upgrade of 10 instances")
    assert doc["state"] == "RollingForward"
    assert doc["upgrade"]["properties"]["runningStatus"]["code"] == "RollingForward"
    text = vmssroll("start", "extension", *target(), "--yes")
    assert text.exit_code == 8  # one is running


def _behind(vmssroll) -> list[str]:
    return vmssroll("status", *target(), "-o", "json").json()["instances"]["notOnLatestModel"]


def test_restart_on_a_terminal_shows_what_it_sets_in_motion_before_asking(vmssroll, emu):
    assert _cancelled_model_change(vmssroll, emu).exit_code == 0
    behind = _behind(vmssroll)
    asked = vmssroll("restart", *target(), stdin="y\n", tty=True)
    assert asked.exit_code == 0, asked.output
    motion = f"What this sets in motion: starts a rolling upgrade of {len(behind)} instances"
    question = "Restart the rolling upgrade of web? [y/N]"
    assert motion in asked.stderr and question in asked.stderr
    assert asked.stderr.index(motion) < asked.stderr.index(question)


def test_restart_with_yes_says_what_it_set_in_motion_once_with_the_result(vmssroll, emu):
    assert _cancelled_model_change(vmssroll, emu).exit_code == 0
    behind = _behind(vmssroll)
    result = vmssroll("restart", *target(), "--yes")
    assert result.exit_code == 0, result.output
    assert "What this sets in motion" not in result.output
    assert result.stdout.startswith(f"Started. It starts a rolling upgrade of {len(behind)} instances in ")
    assert result.stdout.count("starts a rolling upgrade") == 1


def test_restart_names_twenty_instances_behind_and_marks_the_rest(vmssroll, emu):
    from tests.cli.test_upgrades import scenario

    emu.load_scenario(scenario("uniform-probe", capacity=30))
    set_rolling(emu)
    push_image(emu, "2.0.0")
    assert vmssroll("cancel", *target(), "--yes").exit_code == 0  # the first batch finishes, the rest stays
    behind = _behind(vmssroll)
    assert len(behind) > 20
    result = vmssroll("restart", *target(), "--yes")
    assert result.exit_code == 0, result.output
    line = f"{len(behind)} instance(s) not on the latest model: {', '.join(behind[:20])} …"
    assert line in result.stderr.splitlines()


def test_restart_no_wait_text_says_accepted_and_how_to_follow(vmssroll, emu):
    assert _cancelled_model_change(vmssroll, emu).exit_code == 0
    result = vmssroll("restart", *target(), "--yes", "--no-wait")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "Restart accepted."
    assert (
        "Azure accepted the change to web (provisioningState Updating); not waiting for it to finish. "
        f"Follow it with: vmssroll watch {ARGS}"
    ) in result.stderr


@pytest.mark.parametrize("json", [True, False])
def test_restart_with_nothing_behind_sends_nothing_and_says_so(vmssroll, emu, json):
    set_rolling(emu)
    emu.clear_requests()
    result = vmssroll("restart", *target(), "--yes", *(("-o", "json") if json else ()))
    assert result.exit_code == 0, result.output
    message = "Nothing to do: every instance is on the latest model."
    if json:
        doc = result.json()
        assert set(doc) == {"restarted", "message", "consequence"}
        assert (doc["restarted"], doc["message"]) == (False, message)
        assert doc["consequence"]["effect"] == "nothing-to-do" and doc["consequence"]["instances"] == 0
    else:
        assert result.stdout.strip() == message
    assert writes(emu) == []


def test_start_json_names_the_operation_azure_gave(vmssroll, emu):
    emu.load_scenario("demo")
    set_rolling(emu)
    result = vmssroll("start", "os", *target(), "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert set(doc) == {"started", "operation", "consequence", "state", "upgrade"}
    assert doc["started"] == "os"
    assert doc["operation"].startswith(f"{emu.url}/subscriptions/{emu.subscription_id}/providers/")
    assert "/operations/" in doc["operation"]
    assert doc["state"] == "RollingForward"


def _latest_refused_after_the_first_read(emu):
    # The rule's draws (seed 0) are 0.84, 0.76, ...: the first read of the latest upgrade (before the start)
    # passes, the one after it is refused.
    emu.faults.add(
        kind="status",
        status=403,
        method="GET",
        path_regex=r"/rollingUpgrades/latest$",
        probability=0.8,
        seed=0,
    )


@pytest.mark.parametrize("json", [True, False])
def test_a_start_whose_state_cannot_be_read_afterwards_still_succeeds_and_says_why(vmssroll, emu, json):
    emu.load_scenario("demo")
    set_rolling(emu)
    _latest_refused_after_the_first_read(emu)
    emu.clear_requests()
    result = vmssroll("start", "extension", *target(), "--yes", *(("-o", "json") if json else ()))
    assert result.exit_code == 0, result.output
    assert [(r.method, r.status) for r in emu.requests if r.path.endswith("/latest")] == [
        ("GET", 404),
        ("GET", 403),
    ]
    assert [m for m, _ in writes(emu)] == ["POST"]
    reason = "reading the latest rolling upgrade of web: not authorised"
    if json:
        doc = result.json()
        assert set(doc) == {"started", "operation", "consequence", "state", "upgrade", "unknown"}
        assert doc["started"] == "extension" and "/operations/" in doc["operation"]
        assert doc["consequence"]["text"].startswith("starts an extension rolling upgrade of 10 instances")
        assert (doc["state"], doc["upgrade"]) == (None, None)
        assert doc["unknown"].startswith(reason)
    else:
        assert result.stdout.startswith("Started. It starts an extension rolling upgrade of 10 instances")
        assert result.stdout.rstrip().endswith(f"Follow it with: vmssroll watch {ARGS}")
        assert f"the state it reached is unknown: {reason}" in result.stderr


@pytest.mark.parametrize("command", ["wait", "watch"])
def test_wait_and_watch_after_a_cancel_name_the_restart(vmssroll, emu, command):
    assert _cancelled_model_change(vmssroll, emu).exit_code == 0
    behind = _behind(vmssroll)
    step = (
        f"The upgrade was cancelled; a model change with {len(behind)} instance(s) still behind: an empty "
        f"model update rolls them again: vmssroll restart {ARGS}"
    )
    text = vmssroll(command, *target())
    assert text.exit_code == 6, text.output
    assert step in text.stderr.splitlines()
    if command == "wait":
        doc = vmssroll("wait", *target(), "-o", "json").json()
        assert (doc["exitCode"], doc["nextStep"]) == (6, f"vmssroll restart {ARGS}")
