"""Batch N of M end to end: `plan` and `watch` on the same 10 instances in 3 zones count the same batches."""

from __future__ import annotations

import re

import pytest

from tests.helpers import push_image, set_rolling, target


@pytest.mark.parametrize(("cross_zone", "expected"), [(False, 6), (True, 5)])
def test_plan_and_watch_count_the_same_batches(vmssroll, emu, cross_zone, expected):
    set_rolling(emu, maxBatchInstancePercent=20, enableCrossZoneUpgrade=cross_zone)
    # --all: every instance, as the image change below will roll them
    planned = vmssroll("plan", *target(), "--all", "-o", "json").json()
    assert len(planned["batches"]) == expected
    push_image(emu, "2.0.0")  # Rolling mode: the model change starts the upgrade the plan described
    result = vmssroll("watch", *target(), "--interval", "10s")
    assert result.exit_code == 0, result.output
    shown = re.findall(r" batch (\d+)/(\d+):", result.stdout)
    assert shown, result.stdout
    assert {int(m) for _, m in shown} == {expected}, result.stdout
    numbers = [int(n) for n, _ in shown]
    assert numbers == sorted(numbers) and numbers[-1] == expected, result.stdout
