"""Two vmssroll processes change the same scale set at once: exactly one wins, the other ends with exit 8, and
the stored model holds the winner's change and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.helpers import NAME, RG, target
from tests.reliability.checks import diff_paths
from vmssroll.emulator.latency import Gate

FIELD = "properties.upgradePolicy.rollingUpgradePolicy.maxBatchInstancePercent"


def _start(emu, *args: str) -> subprocess.Popen[str]:
    env = dict(
        os.environ,
        VMSSROLL_ARM_ENDPOINT=emu.url,
        VMSSROLL_CA_BUNDLE=emu.ca_path,
        AZURE_SUBSCRIPTION_ID=emu.subscription_id,
    )
    return subprocess.Popen(
        [sys.executable, "-m", "vmssroll", "policy", "set", *target(), *args, "--yes", "-o", "json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _race(emu, first: str, second: str) -> list[tuple[str, int, str, str]]:
    # Both PATCHes are held until both have arrived, so both processes have read the same etag before either
    # write lands, however far apart a loaded machine starts them.
    emu.gate = Gate(2, methods=("PATCH",), timeout=60)
    procs = [(value, _start(emu, "--max-batch-instance-percent", value)) for value in (first, second)]
    out = []
    try:
        for value, proc in procs:
            stdout, stderr = proc.communicate(timeout=60)
            out.append((value, proc.returncode, stdout, stderr))
    finally:
        # A child still running after a timeout would go on polling the session emulator, and its requests
        # would land in the next test's request log.
        for _, proc in procs:
            proc.kill()
            proc.wait()
    return out


def test_two_processes_one_wins_the_other_exits_8(emu):
    before = emu.vmss(RG, NAME)
    results = _race(emu, "30", "40")
    codes = sorted(code for _, code, _, _ in results)
    assert codes == [0, 8], results
    winner = next(value for value, code, _, _ in results if code == 0)
    loser_err = next(stderr for _, code, _, stderr in results if code == 8)
    assert "changed since it was read" in loser_err and "Traceback" not in loser_err
    after = emu.vmss(RG, NAME)
    assert diff_paths(before, after) == {FIELD, "etag"}
    assert after["properties"]["upgradePolicy"]["rollingUpgradePolicy"]["maxBatchInstancePercent"] == int(
        winner
    )
    patches = [r for r in emu.requests if r.method == "PATCH"]
    assert sorted(r.status for r in patches) == [200, 412]
    assert {r.if_match for r in patches} == {before["etag"]}  # both planned on the same state


def test_two_processes_asking_for_the_same_change_both_succeed_with_one_write(emu):
    before = emu.vmss(RG, NAME)
    results = _race(emu, "35", "35")
    assert [code for _, code, _, _ in results] == [0, 0], results
    after = emu.vmss(RG, NAME)
    assert diff_paths(before, after) == {FIELD, "etag"}
    assert sorted(r.status for r in emu.requests if r.method == "PATCH") == [200, 412]
