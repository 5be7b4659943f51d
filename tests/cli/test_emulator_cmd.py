"""`vmssroll emulator serve` says which scale sets it holds and cleans up on SIGTERM too; `emulator scenarios`
says what each scenario is."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from vmssroll.cli.app import app
from vmssroll.emulator.scenarios import builtin_names, load


def test_scenarios_lists_each_with_its_description():
    result = CliRunner().invoke(app, ["emulator", "scenarios"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines] == builtin_names()
    demo = next(line for line in lines if line.startswith("demo "))
    assert demo.split(None, 1)[1] == " ".join(load("demo")["description"].split())
    assert all(line == line.rstrip() for line in lines)


def test_serve_lists_the_scale_sets_and_removes_its_folder_on_sigterm():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vmssroll",
            "emulator",
            "serve",
            "--scenario",
            "demo",
            "--speed",
            "60",
            "--latency",
            "20ms±5ms",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    told = []
    for line in proc.stdout:
        told.append(line.rstrip("\n"))
        if line.startswith("Press Ctrl-C"):
            break
    ca = Path(next(line.split("=", 1)[1] for line in told if line.startswith("export VMSSROLL_CA_BUNDLE=")))
    assert "Latency: 20ms±5ms of real time added to every answer" in told
    assert ca.exists()
    proc.send_signal(signal.SIGTERM)
    rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, rest
    assert "Stopped." in rest
    assert not ca.parent.exists()  # the temporary folder with the CA is gone, as after Ctrl-C
    assert any(
        re.fullmatch(r"  -g rg-demo -n web  \(10 instances, Uniform, Manual mode\)", t) for t in told
    ), told
