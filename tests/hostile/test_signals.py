"""Signals and pipes, in real processes: Ctrl-C during a write says whether the write was sent and how to
check it; a reader that goes away (`| head`) ends the command quietly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import sigint_default, target
from tests.hostile.server import Answer, Seen, hostile_server

VMSSROLL = [sys.executable, "-m", "vmssroll"]


def child_env(emu, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "VMSSROLL_ARM_ENDPOINT": emu.url,
        "VMSSROLL_CA_BUNDLE": emu.ca_path,
        "AZURE_SUBSCRIPTION_ID": emu.subscription_id,
        "NO_COLOR": "1",
        **extra,
    }


def test_ctrl_c_during_a_write_says_it_was_sent_and_how_to_check(emu):
    """Fails on the old code: it said only "interrupted; nothing was cancelled", not that the PATCH had gone
    out and may be in place."""
    with hostile_server(emu) as server:
        patched: list[Seen] = []

        def rule(seen: Seen, answer: Answer) -> bool:
            if seen.method != "PATCH":
                return False
            patched.append(seen)
            answer.hang()
            return True

        server.rule = rule
        proc = subprocess.Popen(
            [*VMSSROLL, "policy", "set", *target(), "--max-batch-instance-percent", "30", "--yes"],
            env=child_env(emu, **server.env()),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=sigint_default,
        )
        try:
            deadline = time.monotonic() + 60
            while not patched and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.05)
            assert patched, "the PATCH never arrived"
            proc.send_signal(signal.SIGINT)
            _out, err = proc.communicate(timeout=30)
        finally:
            proc.kill()
    assert proc.returncode == 130, err
    assert "was sent" in err and "may have applied it" in err
    assert f"vmssroll status {' '.join(target())}" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("output", ["json", "table"])
def test_a_closed_pipe_ends_quietly(emu, output):
    """Fails on the old code: `vmssroll status -o json | head -c0` printed "unexpected error:
    BrokenPipeError"."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written
    try:
        done = subprocess.run(
            [*VMSSROLL, "status", *target(), "-o", output],
            env=child_env(emu),
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write)
    assert done.stderr == ""
    assert done.returncode == 141
