"""The rollout plan against batches computed by hand.

The set used throughout: 10 instances, ids 0..9, over zones 1, 2, 3 round-robin, so
zone 1 = 0, 3, 6, 9; zone 2 = 1, 4, 7; zone 3 = 2, 5, 8.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from vmssroll.domain.model import Health, Instance
from vmssroll.domain.plan import ASSUMPTIONS, PRE_CHECK_ERROR, batch_size, mode_note, plan_rollout, pre_check
from vmssroll.domain.policy import effective

ZONES = ("1", "2", "3")
FIVE_MINUTES = timedelta(minutes=5)


def fleet(
    n: int = 10,
    *,
    zones: tuple[str, ...] = ZONES,
    health: dict[int, Health] | None = None,
    behind: set[int] | None = None,
) -> list[Instance]:
    health = health or {}
    return [
        Instance(
            instance_id=str(i),
            name=f"web_{i}",
            zone=zones[i % len(zones)] if zones else None,
            latest_model_applied=behind is not None and i not in behind,
            provisioning_state="Succeeded",
            health=health.get(i, Health.HEALTHY),
        )
        for i in range(n)
    ]


def unhealthy(*ids: int) -> dict[int, Health]:
    return dict.fromkeys(ids, Health.UNHEALTHY)


def plan(instances: list[Instance], zones: tuple[str, ...] = ZONES, **policy: Any) -> Any:
    return plan_rollout(instances, zones, effective(policy), batch_time=FIVE_MINUTES)


def ids(p: Any) -> list[list[int]]:
    return [[int(i) for i in b.instance_ids] for b in p.batches]


# Every instance behind unless `behind` is given (`behind=set()` would mean: none behind).
ALL = None


@pytest.mark.parametrize(
    ("case", "instances", "zones", "policy", "expected"),
    [
        (
            "zonal: zone by zone, a batch never spans zones",
            fleet(behind=ALL),
            ZONES,
            {},
            [[0, 3], [6, 9], [1, 4], [7], [2, 5], [8]],
        ),
        (
            "cross-zone: instance id order",
            fleet(),
            ZONES,
            {"enableCrossZoneUpgrade": True},
            [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]],
        ),
        (
            "no zones: instance id order even without cross-zone",
            fleet(zones=()),
            (),
            {},
            [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]],
        ),
        (
            # at 50%: room 5 - 3 = 2, then 5 - 2 = 3 and more: no batch shrinks below 2
            "zonal, prioritized: zones with unhealthy first (2 then 3), unhealthy first within a zone",
            fleet(health=unhealthy(2, 5, 7)),
            ZONES,
            {"prioritizeUnhealthyInstances": True, "maxUnhealthyInstancePercent": 50},
            [[7, 1], [4], [2, 5], [8], [0, 3], [6, 9]],
        ),
        (
            # 1 of 10 unhealthy at 20%: room 2 - 1 = 1, so 8 goes alone; then batches of 2 again
            "zonal, prioritized, unhealthy only in zone 3: zone 3 first, then 1 and 2 in name order",
            fleet(health=unhealthy(8)),
            ZONES,
            {"prioritizeUnhealthyInstances": True},
            [[8], [2, 5], [0, 3], [6, 9], [1, 4], [7]],
        ),
        (
            # at 50%: room 2, then 5 - 1 = 4 (capped at 2), then 5
            "cross-zone, prioritized: unhealthy ids first, then by id",
            fleet(health=unhealthy(2, 5, 7)),
            ZONES,
            {
                "prioritizeUnhealthyInstances": True,
                "enableCrossZoneUpgrade": True,
                "maxUnhealthyInstancePercent": 50,
            },
            [[2, 5], [7, 0], [1, 3], [4, 6], [8, 9]],
        ),
        (
            # at 50%: 3, 3, 2, 1, 0 unhealthy before each batch: room 2, 2, 3, 4, 5
            "not prioritized: unhealthy instances keep their place",
            fleet(health=unhealthy(2, 5, 7)),
            ZONES,
            {"enableCrossZoneUpgrade": True, "maxUnhealthyInstancePercent": 50},
            [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]],
        ),
        (
            # at 50%: 1 unhealthy, room 4 (capped at 2)
            "unknown counts as unhealthy when prioritized; no health signal and initializing do not",
            fleet(health={9: Health.UNKNOWN, 6: Health.SILENT, 4: Health.INITIALIZING}),
            ZONES,
            {
                "prioritizeUnhealthyInstances": True,
                "enableCrossZoneUpgrade": True,
                "maxUnhealthyInstancePercent": 50,
            },
            [[9, 0], [1, 2], [3, 4], [5, 6], [7, 8]],
        ),
        (
            # 1 of 10 unhealthy at 20%: room 1 until 8, last of zone 3, is upgraded
            "one unhealthy instance, not prioritized: every batch shrinks to one",
            fleet(health=unhealthy(8)),
            ZONES,
            {},
            [[0], [3], [6], [9], [1], [4], [7], [2], [5], [8]],
        ),
        (
            "two instances at the default 20/20: 0% ≤ 20%, room 0, still one instance at a time",
            fleet(2, zones=()),
            (),
            {},
            [[0], [1]],
        ),
        (
            "four instances at the default 20/20: one at a time",
            fleet(4, zones=()),
            (),
            {},
            [[0], [1], [2], [3]],
        ),
        (
            "only the instances behind the model; batch size still from the whole set",
            fleet(behind={0, 1, 4, 7, 8}),
            ZONES,
            {},
            [[0], [1, 4], [7], [8]],
        ),
        (
            "30% of 10 = 3 (room 3 at 30%): zone 1 splits 3 + 1",
            fleet(),
            ZONES,
            {"maxBatchInstancePercent": 30, "maxUnhealthyInstancePercent": 30},
            [[0, 3, 6], [9], [1, 4, 7], [2, 5, 8]],
        ),
        (
            "30% batches under a 20% unhealthy limit: room 2 caps every batch at 2",
            fleet(),
            ZONES,
            {"maxBatchInstancePercent": 30},
            [[0, 3], [6, 9], [1, 4], [7], [2, 5], [8]],
        ),
        (
            "100% (room 10 at 100%): one batch per zone",
            fleet(),
            ZONES,
            {"maxBatchInstancePercent": 100, "maxUnhealthyInstancePercent": 100},
            [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]],
        ),
        (
            "5% of 10 rounds down to 0: one instance per batch",
            fleet(),
            ZONES,
            {"maxBatchInstancePercent": 5, "enableCrossZoneUpgrade": True},
            [[i] for i in range(10)],
        ),
    ],
)
def test_batches(
    case: str,
    instances: list[Instance],
    zones: tuple[str, ...],
    policy: dict[str, Any],
    expected: list[list[int]],
) -> None:
    assert ids(plan(instances, zones, **policy)) == expected, case


def test_zones_of_each_batch() -> None:
    p = plan(fleet())
    assert [b.zones for b in p.batches] == [("1",), ("1",), ("2",), ("2",), ("3",), ("3",)]
    assert p.zonal
    cross = plan(fleet(), enableCrossZoneUpgrade=True)
    assert [b.zones for b in cross.batches][:2] == [("1", "2"), ("1", "3")]
    assert not cross.zonal


@pytest.mark.parametrize(
    ("capacity", "percent", "size"),
    [
        (1000, 20, 200),
        (3, 20, 1),
        (10, 20, 2),
        (10, 25, 2),
        (7, 50, 3),
        (1000, 5, 50),
        (19, 5, 1),
        (1, 100, 1),
        (0, 20, 1),
    ],
)
def test_batch_size_rounds_down_to_at_least_one(capacity: int, percent: int, size: int) -> None:
    assert batch_size(capacity, percent) == size


def test_large_set_batch_size() -> None:
    p = plan(fleet(1000), enableCrossZoneUpgrade=True)
    assert p.batch_size == 200
    assert [b.size for b in p.batches] == [200] * 5
    three = plan(fleet(3))
    assert three.batch_size == 1
    assert ids(three) == [[0], [1], [2]]


# --- the health check before each batch ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unhealthy", "total", "limit", "refused", "allowed"),
    [
        (0, 10, 20, False, 2),  # none unhealthy: a full batch
        (2, 10, 20, False, 1),  # the limit itself, 20%: Azure's limits are "more than", so it starts
        (3, 10, 20, True, 1),  # the limit plus one instance: 30% > 20%
        (0, 4, 20, False, 1),
        (1, 4, 20, True, 1),  # 25% > 20%
        (0, 1000, 20, False, 2),
        (200, 1000, 20, False, 1),
        (201, 1000, 20, True, 1),
        (5, 10, 50, False, 1),
        (6, 10, 50, True, 1),
        (10, 10, 100, False, 1),
    ],
)
def test_pre_check_boundaries(unhealthy: int, total: int, limit: int, refused: bool, allowed: int) -> None:
    pre = pre_check(1, unhealthy, total, 2, limit, 4)
    assert (pre.refused, pre.allowed) == (refused, allowed)
    assert pre.arithmetic().startswith(f"{unhealthy} unhealthy of {total} = ")
    assert (f"> limit {limit}%" in pre.arithmetic()) is refused


def test_refusal_arithmetic_of_the_first_batch() -> None:
    # 3 of 10 unhealthy = 30%: more than the 20% limit, Azure faults before the first batch
    p = plan(fleet(health=unhealthy(4, 7, 8)))
    assert len(p.batches) == 1  # the plan ends with the refused batch
    first = p.batches[0]
    assert [int(i) for i in first.instance_ids] == [0]  # the smallest batch, one instance, is refused too
    pre = first.pre
    assert (pre.unhealthy, pre.total, pre.percent, pre.room, pre.nominal, pre.available, pre.size) == (
        3, 10, 30, -1, 2, 4, 1
    )  # fmt: skip
    assert pre.refused and not pre.shrunk
    assert p.refused_at == 1
    assert p.verdict() == (
        f"3 unhealthy of 10 = 30% > limit 20%: Azure would fault the upgrade before batch 1 ({PRE_CHECK_ERROR})"
    )
    assert not first.reached
    assert first.surge == 0
    assert p.duration_seconds == 0


@pytest.mark.parametrize(
    ("health", "policy", "pre", "refused_at"),
    [
        # healthy set, default 20%: 0 of 10, room 2, full batches
        ({}, {}, [(0, 2), (0, 2), (0, 2), (0, 1), (0, 2), (0, 1)], None),
        # one unhealthy instance, 8, upgraded last: 10% ≤ 20%, room 1, every batch one instance
        (unhealthy(8), {}, [(1, 1)] * 10, None),
        # the same at 30%: room 3 - 1 = 2, full batches; 8 counts until its own batch
        (
            unhealthy(8),
            {"maxUnhealthyInstancePercent": 30},
            [(1, 2), (1, 2), (1, 2), (1, 1), (1, 2), (1, 1)],
            None,
        ),
        # prioritized at 50%: [7, 1] room 2; then upgraded ones are assumed healthy: 2, 2, 0, 0, 0 unhealthy
        (
            unhealthy(2, 5, 7),
            {"prioritizeUnhealthyInstances": True, "maxUnhealthyInstancePercent": 50},
            [(3, 2), (2, 1), (2, 2), (0, 1), (0, 2), (0, 2)],
            None,
        ),
        # the same at the default 20%: 3 of 10 = 30% > 20%, refused before batch 1
        (unhealthy(2, 5, 7), {"prioritizeUnhealthyInstances": True}, [(3, 1)], 1),
        # exactly at the limit: 2 of 10 = 20% is not more than 20%: one instance per batch until 4 and 8 are
        # done
        (unhealthy(4, 8), {}, [(2, 1)] * 6 + [(1, 1)] * 4, None),
        # the limit plus one instance: 3 of 10 = 30% > 20%, refused before batch 1
        (unhealthy(4, 7, 8), {}, [(3, 1)], 1),
        # initializing is not unhealthy
        ({0: Health.INITIALIZING}, {}, [(0, 2), (0, 2), (0, 2), (0, 1), (0, 2), (0, 1)], None),
        # unknown counts as unhealthy: 1 of 10, room 1, until 1 (zone 2's first) is upgraded
        ({1: Health.UNKNOWN}, {}, [(1, 1)] * 5 + [(0, 2), (0, 2), (0, 1)], None),
    ],
)
def test_pre_check_before_each_batch(
    health: dict[int, Health], policy: dict[str, Any], pre: list[tuple[int, int]], refused_at: int | None
) -> None:
    p = plan(fleet(health=health), **policy)
    assert [(b.pre.unhealthy, b.size) for b in p.batches] == pre
    assert p.refused_at == refused_at


def test_shrinking_batches_say_so() -> None:
    # behind 0, 1, 4, 7; 9 unhealthy and not behind: it stays unhealthy, so every batch has room for one;
    # [0] and [7] are alone in their zone anyway, [1] and [4] are cut from a zone holding three
    p = plan(fleet(health=unhealthy(9), behind={0, 1, 4, 7}))
    assert ids(p) == [[0], [1], [4], [7]]
    head = "1 unhealthy of 10 = 10% ≤ 20%: "
    assert [b.pre.arithmetic() for b in p.batches] == [
        head + "batch of 1 (room for 1 more unhealthy)",
        head + "batch shrinks to 1 (room for 1 more unhealthy)",
        head + "batch shrinks to 1 (room for 1 more unhealthy)",
        head + "batch of 1 (room for 1 more unhealthy)",
    ]
    assert [b.pre.shrunk for b in p.batches] == [False, True, True, False]
    assert all(b.reached for b in p.batches)
    assert p.refused_at is None
    assert (
        p.verdict()
        == "4 batches (2 shrunk by unhealthy instances) would pass the health check before each batch."
    )


def test_full_batch_text() -> None:
    p = plan(fleet())
    assert (
        p.batches[0].pre.arithmetic()
        == "0 unhealthy of 10 = 0% ≤ 20%: batch of 2 (room for 2 more unhealthy)"
    )
    assert not p.batches[0].pre.shrunk
    two = plan(fleet(2, zones=()))
    assert two.batches[0].pre.arithmetic() == (
        "0 unhealthy of 2 = 0% ≤ 20%: batch of 1 (room for 0 more unhealthy; a batch is at least one instance)"
    )
    assert two.verdict() == "2 batches would pass the health check before each batch."


def test_prediction_never_refuses_a_later_batch() -> None:
    # upgraded instances are assumed to turn healthy, so the unhealthy count only falls: a plan that starts
    # is never refused later (the emulator, which watches real health, can be)
    for sick in [(), (8,), (0,), (9,), (2, 5), (1, 2, 3)]:
        policies: list[dict[str, Any]] = [
            {},
            {"prioritizeUnhealthyInstances": True},
            {"maxUnhealthyInstancePercent": 30},
        ]
        for policy in policies:
            p = plan(fleet(health=unhealthy(*sick)), **policy)
            assert p.refused_at in (None, 1), (sick, policy)
            counts = [b.pre.unhealthy for b in p.batches]
            assert counts == sorted(counts, reverse=True)


def test_fractional_percent() -> None:
    p = plan(fleet(3, zones=(), health=unhealthy(2)), maxBatchInstancePercent=50)
    first = p.batches[0]
    assert first.pre.arithmetic() == (
        f"1 unhealthy of 3 = 33.3% > limit 20%: Azure would fault the upgrade before batch 1 ({PRE_CHECK_ERROR})"
    )
    assert first.pre.refused


# --- the check after each batch ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "tolerated"),
    [(20, [0, 0, 1, 1, 1, 2]), (0, [0] * 6), (50, [1, 2, 3, 3, 4, 5]), (100, [2, 4, 6, 7, 9, 10])],
)
def test_post_check_tolerance(limit: int, tolerated: list[int]) -> None:
    p = plan(fleet(), maxUnhealthyUpgradedInstancePercent=limit)
    assert [b.post.upgraded for b in p.batches] == [2, 4, 6, 7, 9, 10]
    assert [b.post.tolerated for b in p.batches] == tolerated


def test_post_check_text() -> None:
    p = plan(fleet())
    assert p.batches[0].post.tolerance() == "up to 0 of 2 upgraded may be unhealthy (limit 20%)"
    assert p.batches[-1].post.tolerance() == "up to 2 of 10 upgraded may be unhealthy (limit 20%)"


# --- MaxSurge ---------------------------------------------------------------------------------------------


def test_max_surge_cross_zone() -> None:
    p = plan(fleet(), maxSurge=True, enableCrossZoneUpgrade=True)
    assert [b.surge for b in p.batches] == [2, 2, 2, 2, 2]
    assert p.peak_instances == 12


def test_max_surge_zonal_follows_each_batch() -> None:
    p = plan(fleet(), maxSurge=True)
    assert [b.surge for b in p.batches] == [2, 2, 2, 1, 2, 1]
    assert p.peak_instances == 12


def test_max_surge_large() -> None:
    p = plan(fleet(1000), maxSurge=True, maxBatchInstancePercent=10)
    assert p.batch_size == 100
    assert p.peak_instances == 1100


def test_without_surge() -> None:
    p = plan(fleet())
    assert {b.surge for b in p.batches} == {0}
    assert p.peak_instances == 10


# --- duration, scope, document ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "seconds", "text"),
    [
        ({}, 6 * 300, "at least 30m00s = 6 × 5m00s per batch + 5 × 0s pause"),
        (
            {"pauseTimeBetweenBatches": "PT30S"},
            6 * 300 + 5 * 30,
            "at least 32m30s = 6 × 5m00s per batch + 5 × 30s pause",
        ),
        ({"enableCrossZoneUpgrade": True, "pauseTimeBetweenBatches": "PT1M"}, 5 * 300 + 4 * 60, None),
    ],
)
def test_duration(policy: dict[str, Any], seconds: int, text: str | None) -> None:
    p = plan(fleet(), **policy)
    assert p.duration_seconds == seconds
    if text:
        assert p.duration_text() == text


def test_batch_time_is_a_parameter() -> None:
    p = plan_rollout(fleet(), ZONES, effective({}), batch_time=timedelta(seconds=90))
    assert p.duration_seconds == 6 * 90


def test_nothing_behind() -> None:
    p = plan(fleet(behind=set()))
    assert p.batches == ()
    assert p.duration_seconds == 0
    assert p.refused_at is None
    assert p.verdict().startswith("Nothing to upgrade")


def test_everything_plans_every_instance() -> None:
    p = plan_rollout(fleet(behind=set()), ZONES, effective({}), batch_time=FIVE_MINUTES, everything=True)
    assert ids(p) == [[0, 3], [6, 9], [1, 4], [7], [2, 5], [8]]
    assert p.scope == "all"


def test_document() -> None:
    p = plan(fleet(health=unhealthy(8)), maxSurge=True)
    doc = p.to_json()
    assert doc["batches"][0] == {
        "number": 1,
        "instanceIds": ["0"],
        "zones": ["1"],
        "size": 1,
        "unhealthyInstanceIds": [],
        "surgeInstances": 1,
        "reached": True,
        "before": {
            "unhealthy": 1,
            "total": 10,
            "percent": 10.0,
            "limit": 20,
            "room": 1,
            "nominalSize": 2,
            "available": 4,
            "allowedSize": 1,
            "fullSize": 2,
            "size": 1,
            "shrunk": True,
            "refused": False,
            "text": "1 unhealthy of 10 = 10% ≤ 20%: batch shrinks to 1 (room for 1 more unhealthy)",
        },
        "after": {
            "upgraded": 1,
            "tolerated": 0,
            "limit": 20,
            "text": "up to 0 of 1 upgraded may be unhealthy (limit 20%)",
        },
    }
    assert doc["batchSize"] == 2
    assert doc["refused"] is False
    assert doc["refusedAtBatch"] is None
    assert doc["durationSeconds"] == 10 * 300
    assert doc["peakInstances"] == 11
    assert len(doc["assumptions"]) == len(ASSUMPTIONS)
    assert "Each batch takes 5m00s (an assumed time per batch)" in doc["assumptions"][-1]
    assert doc["unhealthyInstanceIds"] == ["8"]


def test_document_of_a_refused_plan() -> None:
    doc = plan(fleet(health=unhealthy(2, 5, 7)), maxSurge=True).to_json()
    assert [b["instanceIds"] for b in doc["batches"]] == [["0"]]
    assert doc["batches"][0]["reached"] is False and doc["batches"][0]["surgeInstances"] == 0
    before = doc["batches"][0]["before"]
    assert (before["unhealthy"], before["percent"], before["room"], before["refused"]) == (3, 30.0, -1, True)
    assert doc["refused"] is True and doc["refusedAtBatch"] == 1
    assert doc["durationSeconds"] == 0 and doc["peakInstances"] == 10
    assert doc["verdict"] == before["text"]


def test_assumptions_are_data() -> None:
    assert all(isinstance(a, str) and a for a in ASSUMPTIONS)
    assert any("upgraded instances turn healthy" in a.lower() for a in ASSUMPTIONS)


def test_mode_note() -> None:
    assert mode_note("Rolling") is None
    assert mode_note("Manual") == (
        "mode is Manual: a model change starts no upgrade by itself; these are the batches an OS or extension "
        "rolling upgrade would use"
    )
    assert mode_note("Automatic") == (
        "mode is Automatic: a model change updates every instance at once; these are the batches an OS or "
        "extension rolling upgrade would use"
    )
