"""A local clock far off Azure's: elapsed time, time left and timestamps still come from Azure's clock (the
`Date` header of each answer and the times in the status document), never from the machine's."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest

from tests.conftest import SimClock
from tests.helpers import push_image, set_rolling, target

SKEW = timedelta(hours=2)


class SkewedClock(SimClock):
    """The tool's wall clock runs `SKEW` ahead of (or behind) the emulator's; sleeping still moves both."""

    def __init__(self, emu, skew: timedelta) -> None:
        super().__init__(emu)
        self.skew = skew

    def utcnow(self) -> datetime:
        return super().utcnow() + self.skew


def seconds(text: str) -> float:
    """`1h02m03s`, `4m05s`, `30s` as seconds."""
    parts = dict((unit, int(n)) for n, unit in re.findall(r"(\d+)([dhms])", text))
    return parts.get("d", 0) * 86400 + parts.get("h", 0) * 3600 + parts.get("m", 0) * 60 + parts.get("s", 0)


@pytest.mark.parametrize("skew", [SKEW, -SKEW], ids=["ahead", "behind"])
def test_the_live_view_counts_elapsed_and_time_left_on_azures_clock(vmssroll, emu, skew):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    started = emu.clock.now()
    result = vmssroll("watch", *target(), "--interval", "30s", tty=True, clock=SkewedClock(emu, skew))
    assert result.exit_code == 0, result.output
    took = (emu.clock.now() - started).total_seconds()
    elapsed = [seconds(m) for m in re.findall(r"elapsed (\w+)", result.stdout)]
    left = [seconds(m) for m in re.findall(r"~(\w+) left", result.stdout)]
    assert elapsed and left, result.stdout
    # the whole upgrade took `took` seconds of Azure's time: no frame may count the two hours of skew
    assert all(0 <= e <= took + 60 for e in elapsed), (elapsed, took)
    assert all(0 <= t <= took + 60 for t in left), (left, took)
    assert elapsed == sorted(elapsed)  # time moves forward on Azure's clock, frame after frame


def test_events_and_lines_are_stamped_with_azures_time(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    began = emu.clock.now()
    events = vmssroll("watch", *target(), "-o", "json", clock=SkewedClock(emu, SKEW))
    assert events.exit_code == 0, events.output
    ended = emu.clock.now()
    times = [datetime.fromisoformat(json.loads(line)["time"]) for line in events.stdout.splitlines()]
    assert times and all(began <= t <= ended for t in times), (began, times, ended)
    push_image(emu, "3.0.0")
    began = emu.clock.now()
    lines = vmssroll("watch", *target(), clock=SkewedClock(emu, SKEW))
    assert lines.exit_code == 0, lines.output
    stamps = re.findall(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) ", lines.stdout, re.M)
    assert stamps, lines.stdout
    assert all(began - timedelta(seconds=1) <= datetime.fromisoformat(s) <= emu.clock.now() for s in stamps)


def test_status_shows_the_upgrades_own_times(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.clock.advance(60)
    doc = vmssroll("status", *target(), "-o", "json", clock=SkewedClock(emu, SKEW)).json()
    start = doc["upgrade"]["properties"]["runningStatus"]["startTime"]
    table = vmssroll("status", *target(), clock=SkewedClock(emu, SKEW))
    shown = datetime.fromisoformat(start).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f"started      {shown}" in table.stdout, table.stdout
