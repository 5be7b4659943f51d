"""Soak: a 1,000-instance upgrade watched to the end while about 5% of requests fail transiently, on the
simulated clock; the right outcome, every failure ridden out and visible, and flat memory."""

from __future__ import annotations

import gc
import json
import tracemalloc
from typing import Any

import pytest

from tests.conftest import SimClock
from tests.helpers import azure, ref

RG, NAME = "rg-large", "fleet"


class MeasuringClock(SimClock):
    """The simulated clock, noting the traced memory at every sleep (one sample per refresh of the watch)."""

    def __init__(self, emu: Any) -> None:
        super().__init__(emu)
        self.samples: list[int] = []

    def sleep(self, seconds: float) -> None:
        gc.collect()  # what the watch holds, not garbage in cycles (an exception's frames) awaiting collection
        self.samples.append(tracemalloc.get_traced_memory()[0])
        super().sleep(seconds)


# About two minutes on a loaded 2-core machine: more than the suite-wide per-test limit.
@pytest.mark.timeout(900)
def test_a_thousand_instances_watched_to_the_end_through_five_percent_failures(vmssroll, emu, tmp_path):
    emu.load_scenario("large")
    conn = azure(emu)
    image = emu.vmss(RG, NAME)["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]
    conn.patch(
        ref(emu, NAME, RG),
        {
            "properties": {
                "virtualMachineProfile": {"storageProfile": {"imageReference": {**image, "version": "2.0.0"}}}
            }
        },
        None,
        applied=lambda _: False,
        wait=None,
        unconditional=True,
    )
    emu.clear_requests()
    for status in (429, 500, 503):
        emu.faults.add(
            kind="status", status=status, retry_after=0, method="GET", probability=0.0125, seed=status
        )
    emu.faults.add(kind="drop", method="GET", probability=0.0125, seed=7)

    clock = MeasuringClock(emu)
    events = tmp_path / "events.jsonl"
    tracemalloc.start()
    try:
        result = vmssroll("watch", "-g", RG, "-n", NAME, "-o", "json", "--events", str(events), clock=clock)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert result.exit_code == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    final = lines[-1]
    assert final["event"] == "done" and final["state"] == "Completed" and final["exitCode"] == 0
    assert final["upgrade"]["properties"]["progress"]["successfulInstanceCount"] == 1000
    assert all(vm["latest_model_applied"] for vm in emu.vms(RG, NAME))

    requests = emu.requests
    failed = [r for r in requests if r.status in (0, 429, 500, 503)]
    retries = [e for e in lines if e["event"] == "retry"]
    assert len(requests) > 200 and 0.02 < len(failed) / len(requests) < 0.10
    assert retries  # every failed refresh was said, none ended the watch
    assert all(r.method == "GET" for r in requests)  # a watch never writes

    # Flat memory: the second half of the watch holds no more than the first half did (plus a little slack).
    samples = clock.samples
    half = len(samples) // 2
    assert len(samples) > 20
    first, second = max(samples[:half]), max(samples[half:])
    assert second <= first * 1.25 + 512 * 1024, (first, second)
    assert peak < 64 * 1024 * 1024
    print(
        f"requests={len(requests)} failed={len(failed)} retries={len(retries)} refreshes={len(samples)} "
        f"first-half={first / 1e6:.1f}MB second-half={second / 1e6:.1f}MB peak={peak / 1e6:.1f}MB"
    )
