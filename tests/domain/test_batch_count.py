"""Batch N of M: `plan` and the watch's estimate cut batches with the same function, so they always agree."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from vmssroll.domain.model import Health, Instance
from vmssroll.domain.plan import plan_rollout
from vmssroll.domain.policy import effective
from vmssroll.domain.rollout import batch_estimate, zone_sizes
from vmssroll.domain.upgrade import Progress, UpgradeStatus


def fleet(n: int, zones: tuple[str, ...]) -> list[Instance]:
    return [
        Instance(
            instance_id=str(i),
            name=f"web_{i}",
            zone=zones[i % len(zones)] if zones else None,
            latest_model_applied=False,
            provisioning_state="Succeeded",
            health=Health.HEALTHY,
        )
        for i in range(n)
    ]


def running(n: int, started: int, policy: dict[str, Any]) -> UpgradeStatus:
    return UpgradeStatus(
        code="RollingForward",
        last_action="Start",
        start_time=None,
        last_action_time=None,
        progress=Progress(successful=started, pending=n - started),
        policy=policy,
    )


@pytest.mark.parametrize(
    ("n", "zones", "percent", "unhealthy_limit", "cross_zone", "batches"),
    [
        (10, ("1", "2", "3"), 20, 20, False, 6),  # the case: zones of 4, 3, 3 in batches of 2
        (10, ("1", "2", "3"), 20, 20, True, 5),  # across zones: 10 / 2
        (10, (), 20, 20, False, 5),  # a regional set has no zones to respect
        (10, ("1", "2", "3"), 30, 50, False, 4),  # 4, 3, 3 in batches of 3: 2 + 1 + 1
        (10, ("1", "2", "3"), 30, 20, False, 6),  # batches of 3 shrink to the 2 the 20% limit leaves
        (7, ("1", "2", "3"), 50, 50, False, 3),  # one batch per zone
        (12, ("1", "2"), 25, 50, False, 4),  # 6, 6 in batches of 3
        (1000, ("1", "2", "3"), 20, 20, False, 6),  # 334, 333, 333 in batches of 200
        (10, ("1", "2", "3"), 5, 20, False, 10),  # one instance per batch
    ],
)
def test_plan_and_watch_count_the_same_batches(
    n: int, zones: tuple[str, ...], percent: int, unhealthy_limit: int, cross_zone: bool, batches: int
) -> None:
    policy = {
        "maxBatchInstancePercent": percent,
        "maxUnhealthyInstancePercent": unhealthy_limit,
        "enableCrossZoneUpgrade": cross_zone,
    }
    instances = fleet(n, zones)
    planned = plan_rollout(instances, zones, effective(policy), batch_time=timedelta(minutes=5)).batches
    status = running(n, 0, policy)
    estimate = batch_estimate(status, n, zone_sizes(status, zones, instances))
    assert estimate is not None
    assert (len(planned), estimate.total) == (batches, batches)

    # As instances start, "batch N" is the planned batch holding the latest instance started.
    boundaries = [sum(len(b.instance_ids) for b in planned[: k + 1]) for k in range(len(planned))]
    for started in range(1, n + 1, max(1, n // 50)):
        moving = batch_estimate(running(n, started, policy), n, zone_sizes(status, zones, instances))
        assert moving is not None
        expected = next(k + 1 for k, end in enumerate(boundaries) if started <= end)
        assert (started, moving.current, moving.total) == (started, expected, batches)


def test_without_the_zones_the_estimate_is_regional() -> None:
    """No listing yet (or a count that does not add up): the watch falls back to batches across the set."""
    policy = {"maxBatchInstancePercent": 20, "enableCrossZoneUpgrade": False}
    status = running(10, 0, policy)
    assert (batch_estimate(status, 10) or pytest.fail("no estimate")).total == 5
    assert (batch_estimate(status, 10, [4, 3]) or pytest.fail("no estimate")).total == 5
