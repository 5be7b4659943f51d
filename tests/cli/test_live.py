"""The real program in a pseudo-terminal and in subprocesses, against `vmssroll emulator serve`."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pexpect
import pytest

from tests.helpers import RG, push_image, set_rolling, sigint_default

VMSSROLL = [sys.executable, "-m", "vmssroll"]


class Served:
    """`vmssroll emulator serve` in a subprocess, and what it told us to export."""

    def __init__(self, scenario: str, speed: float | None) -> None:
        clock = ["--speed", str(speed)] if speed else ["--manual-clock"]
        self.proc = subprocess.Popen(
            [*VMSSROLL, "emulator", "serve", "--scenario", scenario, *clock],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.env: dict[str, str] = {}
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            match = re.match(r"export (\w+)=(.+)", line.strip())
            if match:
                self.env[match[1]] = match[2]
            if line.startswith("Press Ctrl-C"):
                break
        self.url = self.env["VMSSROLL_ARM_ENDPOINT"]
        self.ca_path = self.env["VMSSROLL_CA_BUNDLE"]
        self.subscription_id = self.env["AZURE_SUBSCRIPTION_ID"]

    def vmss(self, rg: str, name: str) -> dict:
        import json
        import ssl
        import urllib.request

        ctx = ssl.create_default_context(cafile=self.ca_path)
        with urllib.request.urlopen(f"{self.url}/_emulator/state/{rg}/{name}", context=ctx) as answer:
            return json.load(answer)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def served() -> Iterator[Served]:
    # 30x: a 15-minute upgrade in about 30 s, slow enough that a child started on a busy machine sees it run
    server = Served("demo", speed=30)
    yield server
    server.stop()


@pytest.fixture
def still() -> Iterator[Served]:
    """The upgrade never moves on by itself (a manual clock): a test that must act while it runs does not race
    a real-time clock that a loaded machine lets run out before the child has even started."""
    server = Served("demo", speed=None)
    yield server
    server.stop()


def child_env(served: Served) -> dict[str, str]:
    return {**os.environ, **served.env, "COLUMNS": "110", "LINES": "50", "TERM": "xterm-256color"}


def test_serve_prints_how_to_connect_and_a_command_uses_it(served):
    result = subprocess.run(
        [*VMSSROLL, "policy", "show", "-g", RG, "-n", "web", "-o", "json"],
        env={**os.environ, **served.env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert '"mode": "Manual"' in result.stdout
    assert served.url.startswith("https://127.0.0.1:")


def test_live_view_in_a_terminal_updates_in_place_to_completed(served):
    import io

    set_rolling(served)
    push_image(served, "2.0.0")
    screen = io.StringIO()
    child = pexpect.spawn(
        VMSSROLL[0], [*VMSSROLL[1:], "watch", "-g", RG, "-n", "web", "--interval", "1s"],
        env=child_env(served), encoding="utf-8", timeout=60, dimensions=(50, 110),
    )  # fmt: skip
    child.logfile_read = screen
    child.expect("RollingForward")
    child.expect("batch")
    child.expect("Instances that matter now")
    child.expect("All instances by zone")
    child.expect("Completed")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    # Updated in place: the view moves the cursor up to redraw instead of scrolling new copies.
    assert re.search(r"\x1b\[\d*A", screen.getvalue())


def test_ctrl_c_in_a_terminal_exits_130_and_cancels_nothing(still):
    set_rolling(still)
    push_image(still, "2.0.0")
    child = pexpect.spawn(
        VMSSROLL[0], [*VMSSROLL[1:], "watch", "-g", RG, "-n", "web", "--interval", "1s"],
        env=child_env(still), encoding="utf-8", timeout=60, dimensions=(50, 110), preexec_fn=sigint_default,
    )  # fmt: skip
    child.expect("RollingForward")
    child.sendintr()
    child.expect("nothing was cancelled")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    import json
    import ssl
    import urllib.request

    ctx = ssl.create_default_context(cafile=still.ca_path)
    with urllib.request.urlopen(f"{still.url}/_emulator/requests", context=ctx) as answer:
        log = json.load(answer)
    assert not [r for r in log if r["path"].endswith("/cancel")]


def test_without_a_terminal_one_timestamped_line_per_change(served):
    set_rolling(served)
    push_image(served, "2.0.0")
    result = subprocess.run(
        [*VMSSROLL, "watch", "-g", RG, "-n", "web", "--interval", "1s"],
        env={**os.environ, **served.env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ web", line) for line in lines), lines
    assert "Completed" in lines[-1]
    assert "\x1b[" not in result.stdout


@pytest.mark.parametrize("term", ["dumb", "unknown"])
def test_a_terminal_rich_cannot_drive_gets_one_line_per_change(served, term):
    """TERM=dumb on a real terminal: no live view (it would draw nothing useful), the lines a pipe gets."""
    import io

    set_rolling(served)
    push_image(served, "2.0.0")
    screen = io.StringIO()
    child = pexpect.spawn(
        VMSSROLL[0], [*VMSSROLL[1:], "watch", "-g", RG, "-n", "web", "--interval", "1s"],
        env={**child_env(served), "TERM": term}, encoding="utf-8", timeout=60, dimensions=(50, 110),
    )  # fmt: skip
    child.logfile_read = screen
    child.expect("Completed")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    shown = screen.getvalue()
    assert "\x1b[" not in shown  # no cursor movement, no colours: nothing a dumb terminal cannot show
    # The pseudo-terminal carries stderr too: the verdict's summary line follows the change lines.
    *lines, verdict = [line for line in shown.replace("\r", "").splitlines() if line]
    assert verdict.startswith("Rolling upgrade Completed"), verdict
    assert len(lines) >= 3, lines  # a line per change while it rolls, not one final screen
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ web", line) for line in lines), lines
    assert "RollingForward" in lines[0] and "Completed" in lines[-1]
    assert len(set(lines)) == len(lines)  # one line per change: a refresh that changes nothing prints nothing


def test_a_resized_terminal_is_redrawn_before_the_next_refresh(still):
    """The live view follows the terminal's size: a resize is redrawn within a second, not at the next refresh
    (20 s away here)."""
    import time

    set_rolling(still)
    push_image(still, "2.0.0")
    env = {k: v for k, v in child_env(still).items() if k != "COLUMNS"}  # the size comes from the terminal
    child = pexpect.spawn(
        VMSSROLL[0], [*VMSSROLL[1:], "watch", "-g", RG, "-n", "web", "--interval", "20s"],
        env=env, encoding="utf-8", timeout=60, dimensions=(50, 110),
    )  # fmt: skip
    child.expect("RollingForward")
    child.expect("All instances by zone")
    time.sleep(1.0)  # let the first frame finish
    with contextlib.suppress(pexpect.TIMEOUT):
        child.read_nonblocking(1_000_000, timeout=0.5)
    child.setwinsize(50, 80)
    child.expect("RollingForward", timeout=3)  # a whole new frame, long before the next refresh
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
