"""Every error is one `error: ...` line (usage errors too), parentheses never nest, nothing is said twice."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import SimClock
from tests.helpers import push_image, set_rolling, target


def console(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed entry point (`vmssroll.cli.app:main`), as a user runs it."""
    code = "import sys; from vmssroll.cli.app import main; sys.argv[0] = 'vmssroll'; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env={**os.environ, "COLUMNS": "120"},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["status", "--bogus"], "No such option: --bogus"),
        (["emulator", "serve", "--port", "99999"], "--port"),
        (["start", "sideways", "-g", "rg", "-n", "web"], "sideways"),
        (["nonsense"], "No such command 'nonsense'"),
    ],
    ids=["unknown-option", "out-of-range", "bad-choice", "unknown-command"],
)
def test_usage_errors_are_one_error_line_and_exit_2(args, says):
    proc = console(*args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and says in lines[0], lines[0]
    assert "Error:" not in proc.stderr and "Usage:" not in proc.stderr
    assert "--help`" in lines[0]


def test_help_and_success_still_exit_0_through_the_entry_point():
    assert console("policy", "--help").returncode == 0
    assert console("--version").stdout.startswith("vmssroll ")


def test_a_refusal_never_nests_parentheses(vmssroll, emu):
    emu.load_scenario("uniform-unhealthy")
    result = vmssroll("enable-rolling", *target(), "--yes")
    assert result.exit_code == 3, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert "))" not in errors[0] and "((" not in errors[0], errors[0]
    assert "--force sends the change anyway" in errors[0]


def test_with_yes_on_a_terminal_the_change_table_is_shown_once(vmssroll, emu):
    result = vmssroll("policy", "set", *target(), "--max-batch-instance-percent", "30", "--yes", tty=True)
    assert result.exit_code == 0, result.output
    assert len(re.findall(r"maxBatchInstancePercent\s+20\s+30", result.output)) == 1, result.output
    assert "Applied and confirmed" in result.output


def test_without_yes_the_table_to_confirm_comes_before_the_question(vmssroll, emu):
    result = vmssroll("policy", "set", *target(), "--max-batch-instance-percent", "30", stdin="y\n", tty=True)
    assert result.exit_code == 0, result.output
    assert result.stderr.index("maxBatchInstancePercent") < result.stderr.index("Apply these changes")


def test_no_upgrade_yet_is_said_once_on_a_terminal(vmssroll, emu):
    result = vmssroll("watch", *target(), tty=True)
    assert result.exit_code == 0, result.output
    screen = result.output.split("\x1b[2K")[-1]  # what stays on screen after the live view's last redraw
    assert screen.lower().count("no upgrade has run yet") == 1, result.output
    assert result.stderr == ""


class InterruptingClock(SimClock):
    """Ctrl-C pressed during the watch's first wait."""

    def sleep(self, seconds: float) -> None:
        raise KeyboardInterrupt


def test_ctrl_c_during_a_watch_is_reported_once(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    result = vmssroll("watch", *target(), clock=InterruptingClock(emu))
    assert result.exit_code == 130, result.output
    assert result.stderr.count("nothing was cancelled") == 1, result.stderr
    assert "Resume with: vmssroll watch" in result.stderr
