"""restart, cancel and start: their refusals word for word, and the JSON each returns, field by field."""

from __future__ import annotations

import re

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
    # The write's wait, off a terminal: a line when it starts, one when it ends.
    assert result.stderr.splitlines()[1:] == [
        "Waiting for Azure to finish updating web (provisioningState Updating); polling as often as Azure's "
        "Retry-After asks",
        "Azure finished updating web after 2m00s",
    ]


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


def test_restart_no_wait_with_watch_is_refused_before_any_request(vmssroll, emu):
    emu.clear_requests()
    result = vmssroll("restart", *target(), "--no-wait", "--watch", "--yes")
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == ["error: --no-wait and --watch contradict each other: give one"]
    assert emu.requests == []


def test_cancel_on_a_terminal_asks_and_a_no_sends_nothing(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.clear_requests()
    declined = vmssroll("cancel", *target(), stdin="n\n", tty=True)
    assert declined.exit_code == 0, declined.output
    assert declined.stderr.splitlines() == [
        "Cancel the rolling upgrade of web? [y/N] not confirmed: nothing changed, nothing was sent"
    ]
    assert writes(emu) == []
    accepted = vmssroll("cancel", *target(), "--no-wait", stdin="y\n", tty=True)
    assert accepted.exit_code == 0, accepted.output
    assert [p.rsplit("/", 1)[-1] for _, p in writes(emu)] == ["cancel"]


def test_start_on_a_terminal_shows_what_it_sets_in_motion_then_asks(vmssroll, emu):
    emu.load_scenario("demo")
    set_rolling(emu)
    emu.clear_requests()
    declined = vmssroll("start", "extension", *target(), stdin="n\n", tty=True)
    assert declined.exit_code == 0, declined.output
    motion = "What this sets in motion: starts an extension rolling upgrade of 10 instances"
    question = (
        "Start an extension rolling upgrade of web? [y/N] not confirmed: nothing changed, nothing was sent"
    )
    lines = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", declined.stderr).splitlines()  # a terminal: Rich styles it
    assert lines[0].startswith(motion) and lines[-1] == question
    assert writes(emu) == []


def test_start_os_on_a_gallery_image_is_refused_and_names_set_image(vmssroll, emu):
    image = emu.vmss(RG, NAME)["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"][
        "id"
    ]
    emu.clear_requests()
    result = vmssroll("start", "os", *target(), "--yes")
    assert result.exit_code == 3, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: web is built from a gallery image ({image}): ")
    assert line.endswith(
        f"; nothing was sent (roll out a new image version instead: vmssroll set-image {ARGS} --version ...)"
    )
    assert writes(emu) == []


def test_cancel_of_an_os_upgrade_names_start_again(vmssroll, emu):
    emu.load_scenario("demo")
    set_rolling(emu)
    assert vmssroll("start", "os", *target(), "--yes").exit_code == 0
    emu.clock.advance(100)
    result = vmssroll("cancel", *target(), "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    again = f"vmssroll start os {ARGS} or vmssroll start extension {ARGS} (whichever it was)"
    assert result.json()["nextStep"] == again
    assert result.stderr.splitlines() == [
        "Cancel accepted; instances in flight finish first.",
        "The upgrade was cancelled; no instance is behind the model, so it was an OS image or extension "
        f"upgrade: start it again: {again}",
    ]


def test_switching_to_automatic_with_instances_behind_is_refused_with_a_hint_naming_enable_rolling(
    vmssroll, emu
):
    push_image(emu, "2.0.0")  # Manual: all 10 fall behind
    emu.clear_requests()
    result = vmssroll("policy", "set", *target(), "--mode", "Automatic", "--yes")
    assert result.exit_code == 3, result.output
    assert result.stderr.splitlines()[-1] == (
        "error: refused: switching to Automatic while 10 instances are behind the model updates them all at "
        "once, with no batches and no health checks; nothing was sent (to roll them in batches instead: "
        f"vmssroll enable-rolling {ARGS}; --force sends it anyway)"
    )
    assert writes(emu) == []


def test_disable_rolling_while_rolling_is_refused_with_a_hint_naming_cancel(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.clear_requests()
    result = vmssroll("disable-rolling", *target(), "--yes")
    assert result.exit_code == 3, result.output
    assert result.stderr.splitlines()[-1] == (
        "error: refused: a rolling upgrade is RollingForward: switching to Manual does not stop it, the upgrade "
        f"goes on; nothing was sent (to stop the upgrade: vmssroll cancel {ARGS}; --force sends it anyway)"
    )
    assert writes(emu) == []
