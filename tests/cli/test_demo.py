"""`vmssroll demo` plays its whole story without a terminal (as CI runs it) and exits 0."""

from __future__ import annotations

import subprocess
import sys


def test_demo_plays_out_as_designed_without_a_terminal():
    result = subprocess.run(
        [sys.executable, "-m", "vmssroll", "demo", "--speed", "300"],
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    out = result.stdout
    for command in (
        "vmssroll check",
        "vmssroll enable-rolling",
        "vmssroll set-image",
        "vmssroll watch",
        "vmssroll restart",
        "vmssroll rollout",
    ):
        assert f"$ {command} -g rg-demo -n web" in out
    assert "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade" in out
    # the bad release faults for a reason that holds under Azure's "more than": 2 of 2 upgraded = 100% > 20%
    assert (
        "100% of instances are in an unhealthy state after being upgraded - more than the threshold of 20%"
        in out
    )
    assert out.count("→ exit code 5 (as expected)") == 2  # the bad release, and the rollout its gate stopped
    # the gate caught the release the health probe passed (the application said so); undo put 3.0.0 back
    assert "which the configuration service rejects" in out and "undoing it (--on-failure undo)" in out
    assert "Undone: " in out and "undo restores  Canonical:ubuntu-24_04-lts:server:3.0.0" in out
    assert out.count("Rolling upgrade Completed") >= 2
    assert "EXPECTED" not in out
    assert "The story played out as designed." in out
    assert "\x1b[" not in out
