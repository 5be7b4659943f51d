"""The upgrade status joined with the instances: what rolls out, where each instance stands, batch N of M, the
time left, and the verdict of a watch that began after an upgrade had ended with instances behind."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from vmssroll.domain.errors import ExitCode
from vmssroll.domain.model import Extension, Health, Instance, ScaleSet, UpgradePolicy
from vmssroll.domain.rollout import (
    NEW_UPGRADE_GRACE,
    BatchEstimate,
    InstanceSummary,
    ModelChange,
    Outset,
    batch_estimate,
    eta_seconds,
    flat,
    in_flight,
    outset,
    rolling_out,
    state_of,
    summarize,
    upgrade_kind,
    watch_verdict,
    zone_sizes,
)
from vmssroll.domain.upgrade import Progress, UpgradeStatus, Verdict

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
IMAGE = {"publisher": "Canonical", "offer": "ubuntu", "sku": "server", "version": "2.0.0"}


def instance(
    instance_id: str = "0",
    *,
    zone: str | None = None,
    latest: bool | None = True,
    state: str | None = "Succeeded",
    health: Health = Health.HEALTHY,
    image: dict[str, Any] | None = None,
    extensions: dict[str, str | None] | None = None,
) -> Instance:
    return Instance(
        instance_id, f"web_{instance_id}", zone, latest, state, health, image or {}, extensions or {}
    )


def scale_set(image: dict[str, Any], extensions: tuple[Extension, ...] = ()) -> ScaleSet:
    return ScaleSet(
        id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web",
        name="web",
        resource_group="rg",
        location="westeurope",
        orchestration_mode="Uniform",
        capacity=3,
        zones=(),
        overprovision=False,
        sku="Standard_D2s_v5",
        etag='"1"',
        upgrade_policy=UpgradePolicy("Rolling"),
        health_probe_id=None,
        extensions=extensions,
        external_health=False,
        image=image,
    )


def status(
    code: str = "RollingForward",
    *,
    successful: int = 0,
    failed: int = 0,
    in_progress: int = 0,
    pending: int = 0,
    start: datetime | None = T0,
    policy: dict[str, Any] | None = None,
) -> UpgradeStatus:
    return UpgradeStatus(
        code=code,
        last_action="Start",
        start_time=start,
        last_action_time=start,
        progress=Progress(successful, failed, in_progress, pending),
        policy=policy or {},
    )


@pytest.mark.parametrize(
    ("state", "moving"),
    [
        ("Updating", True),
        ("creating", True),
        ("DELETING", True),
        ("Succeeded", False),
        ("Failed", False),
        (None, False),
        ("", False),
    ],
)
def test_an_instance_in_flight(state: str | None, moving: bool) -> None:
    assert in_flight(instance(state=state)) is moving


def test_flat_names_nested_fields_with_dots() -> None:
    assert flat({"a": 1, "b": {"c": 2, "d": {"e": None}}, "f": [1]}) == {
        "a": 1,
        "b.c": 2,
        "b.d.e": None,
        "f": [1],
    }
    assert flat({"x": {"y": 1}}, "p.") == {"p.x.y": 1}
    assert flat({}) == {}


def test_rolling_out_names_the_image_and_extension_fields_that_change() -> None:
    model = scale_set(
        IMAGE,
        (
            Extension("health", "Microsoft.ManagedServices", "ApplicationHealthLinux", "2.0"),
            Extension("agent", "Contoso", "Agent", "1.5"),
        ),
    )
    instances = [
        instance(
            "0",
            latest=False,
            image={**IMAGE, "version": "1.0.0"},
            extensions={"health": "1.0", "agent": "1.5"},
        ),
        instance("1", latest=False, image={**IMAGE, "version": "1.1.0"}, extensions={"health": "1.0"}),
        # on the latest model: its older image is not what rolls out
        instance("2", latest=True, image={**IMAGE, "version": "0.9.0"}, extensions={"health": "0.1"}),
        # latestModelApplied unknown: not counted as behind
        instance("3", latest=None, image={**IMAGE, "version": "0.8.0"}),
    ]
    changes = rolling_out(model, instances)
    assert changes == [
        ModelChange("imageReference.version", ("1.0.0", "1.1.0"), "2.0.0"),
        ModelChange("extension health", ("1.0",), "2.0"),
    ]
    assert [c.to_json() for c in changes] == [
        {"field": "imageReference.version", "from": ["1.0.0", "1.1.0"], "to": "2.0.0"},
        {"field": "extension health", "from": ["1.0"], "to": "2.0"},
    ]


def test_rolling_out_reads_nested_image_fields() -> None:
    model = scale_set({"id": "/gal/images/web/versions/2", "extra": {"tier": "b"}})
    behind = instance("0", latest=False, image={"id": "/gal/images/web/versions/1", "extra": {"tier": "a"}})
    assert [c.to_json() for c in rolling_out(model, [behind])] == [
        {
            "field": "imageReference.id",
            "from": ["/gal/images/web/versions/1"],
            "to": "/gal/images/web/versions/2",
        },
        {"field": "imageReference.extra.tier", "from": ["a"], "to": "b"},
    ]


def test_nothing_rolls_out_when_nobody_is_behind_or_nothing_differs() -> None:
    model = scale_set(IMAGE)
    assert rolling_out(model, [instance("0", latest=True, image={**IMAGE, "version": "1"})]) == []
    assert rolling_out(model, [instance("0", latest=None, image={**IMAGE, "version": "1"})]) == []
    # behind, but the instance view says nothing of the image (or the same): no field to name
    assert rolling_out(model, [instance("0", latest=False), instance("1", latest=False, image=IMAGE)]) == []
    assert rolling_out(model, []) == []


@pytest.mark.parametrize(
    ("inst", "state"),
    [
        (instance(state="Updating", latest=False, health=Health.UNHEALTHY), "updating"),
        (instance(latest=False, health=Health.UNHEALTHY), "behind"),
        (instance(health=Health.INITIALIZING), "initializing"),
        (instance(latest=None, health=Health.INITIALIZING), "initializing"),
        (instance(health=Health.UNHEALTHY), "failed"),
        (instance(latest=False, state="Failed"), "failed"),
        (instance(health=Health.UNKNOWN), "healthUnknown"),
        (instance(health=Health.HEALTHY), "onLatestModel"),
        (instance(health=Health.SILENT), "noHealthSignal"),
        (instance(latest=None), "onLatestModel"),
    ],
)
def test_where_an_instance_stands(inst: Instance, state: str) -> None:
    assert state_of(inst) == state


def test_the_summary_counts_and_names_instances_in_numeric_order() -> None:
    instances = [
        instance("10", zone="2", latest=False),
        instance("2", zone="1", health=Health.UNHEALTHY),
        instance("1", zone="1", state="Updating", health=Health.UNKNOWN),
        instance("3", zone="2", health=Health.INITIALIZING),
        instance("4", zone=None, latest=None, health=Health.SILENT),
        instance("5", zone="1", latest=False, health=Health.UNHEALTHY),
        instance("6", zone="2", health=Health.UNKNOWN),
        instance("7", zone="2", latest=False, state="Failed", health=Health.UNHEALTHY),
    ]
    summary = summarize(instances)
    assert summary == InstanceSummary(
        total=8,
        on_latest=5,
        behind=("5", "7", "10"),
        health={"unknown": 2, "unhealthy": 3, "initializing": 1, "silent": 1, "healthy": 1},
        in_flight=("1",),
        failed=("2", "7"),  # upgraded and unhealthy, or its operation failed; never Unknown health
        by_zone={
            "-": {"noHealthSignal": 1},
            "1": {"behind": 1, "failed": 1, "updating": 1},
            "2": {"behind": 1, "failed": 1, "healthUnknown": 1, "initializing": 1},
        },
        unhealthy=("5",),  # not yet upgraded
        health_unknown=("6",),  # not 1: in flight
        initializing=("3",),
        no_health_signal=("4",),
    )
    assert list(summary.by_zone) == ["-", "1", "2"]
    assert list(summary.by_zone["1"]) == ["behind", "failed", "updating"]
    assert summary.to_json() == {
        "total": 8,
        "onLatestModel": 5,
        "notOnLatestModel": ["5", "7", "10"],
        "health": {"unknown": 2, "unhealthy": 3, "initializing": 1, "silent": 1, "healthy": 1},
        "inFlight": ["1"],
        "failed": ["2", "7"],
        "unhealthy": ["5"],
        "healthUnknown": ["6"],
        "initializing": ["3"],
        "noHealthSignal": ["4"],
        "byZone": {
            "-": {"noHealthSignal": 1},
            "1": {"behind": 1, "failed": 1, "updating": 1},
            "2": {"behind": 1, "failed": 1, "healthUnknown": 1, "initializing": 1},
        },
    }


def test_an_empty_summary() -> None:
    assert summarize([]).to_json() == {
        "total": 0,
        "onLatestModel": 0,
        "notOnLatestModel": [],
        "health": {},
        "inFlight": [],
        "failed": [],
        "unhealthy": [],
        "healthUnknown": [],
        "initializing": [],
        "noHealthSignal": [],
        "byZone": {},
    }


@pytest.mark.parametrize(
    ("progress", "capacity", "zones", "estimate"),
    [
        # 10 instances at Azure's default 20%: 5 batches of 2
        ({"pending": 10}, 10, None, BatchEstimate(2, 1, 5)),
        ({"in_progress": 2, "pending": 8}, 10, None, BatchEstimate(2, 1, 5)),
        ({"successful": 2, "pending": 8}, 10, None, BatchEstimate(2, 1, 5)),
        ({"successful": 2, "in_progress": 1, "pending": 7}, 10, None, BatchEstimate(2, 2, 5)),
        ({"successful": 3, "failed": 1, "in_progress": 1, "pending": 5}, 10, None, BatchEstimate(2, 3, 5)),
        ({"successful": 10}, 10, None, BatchEstimate(2, 5, 5)),
        # the set is larger than the upgrade: batches are sized on the set
        ({"pending": 4}, 20, None, BatchEstimate(4, 1, 1)),
        # the upgrade counts more than the capacity says: batches are sized on the upgrade
        ({"pending": 10}, 5, None, BatchEstimate(2, 1, 5)),
        # zonal: 4, 3, 3 in batches of 2 within zones
        ({"successful": 4, "in_progress": 1, "pending": 5}, 10, [4, 3, 3], BatchEstimate(2, 3, 6)),
        ({"successful": 6, "in_progress": 1, "pending": 3}, 10, [4, 3, 3], BatchEstimate(2, 4, 6)),
        # zone sizes that do not add up to Azure's count are ignored
        ({"pending": 10}, 10, [4, 3], BatchEstimate(2, 1, 5)),
        ({"pending": 10}, 10, [], BatchEstimate(2, 1, 5)),
    ],
)
def test_batch_n_of_m(
    progress: dict[str, int], capacity: int, zones: list[int] | None, estimate: BatchEstimate
) -> None:
    assert batch_estimate(replace(status(), progress=Progress(**progress)), capacity, zones) == estimate


def test_batch_estimate_follows_the_upgrades_policy() -> None:
    # 50% batches of 10 = 5, but the 20% unhealthy limit leaves room for 2 (plan sizes them the same way)
    policy = {"maxBatchInstancePercent": 50, "maxUnhealthyInstancePercent": 20}
    assert batch_estimate(status(pending=10, policy=policy), 10) == BatchEstimate(2, 1, 5)
    policy = {"maxBatchInstancePercent": 50, "maxUnhealthyInstancePercent": 50}
    assert batch_estimate(status(successful=5, in_progress=1, pending=4, policy=policy), 10) == BatchEstimate(
        5, 2, 2
    )


def test_no_batches_without_instances_in_the_upgrade() -> None:
    assert batch_estimate(status(), 10) is None


@pytest.mark.parametrize(
    ("instances", "total", "cross_zone", "sizes"),
    [
        # every instance adds up to Azure's count: the zones' sizes, in zone order
        ([("2", False), ("1", True), ("1", False), ("3", True)], 4, False, [2, 1, 1]),
        # only those behind add up: their zones
        ([("2", False), ("1", True), ("1", False), ("3", True), ("2", False)], 3, False, [1, 2]),
        # nothing adds up: unknown
        ([("1", False), ("2", True)], 5, False, None),
        # batches may cross zones: no zone sizes
        ([("1", False), ("2", False)], 2, True, None),
    ],
)
def test_zone_sizes(
    instances: list[tuple[str, bool]], total: int, cross_zone: bool, sizes: list[int] | None
) -> None:
    fleet = [instance(str(i), zone=z, latest=latest) for i, (z, latest) in enumerate(instances)]
    upgrade = status(pending=total, policy={"enableCrossZoneUpgrade": cross_zone})
    assert zone_sizes(upgrade, ("1", "2", "3"), fleet) == sizes


def test_a_regional_set_has_no_zone_sizes() -> None:
    assert zone_sizes(status(pending=1), (), [instance("0", latest=False)]) is None


def test_instances_without_a_zone_count_in_one_of_their_own() -> None:
    fleet = [instance("0", zone=None), instance("1", zone="1"), instance("2", zone=None)]
    assert zone_sizes(status(pending=3), ("1",), fleet) == [2, 1]
    # the same when only those behind add up to Azure's count: the zone-less first
    fleet += [instance("3", zone="1", latest=False), instance("4", zone=None, latest=False)]
    fleet += [instance("5", zone=None, latest=False)]
    assert zone_sizes(status(pending=3), ("1",), fleet) == [2, 1]


@pytest.mark.parametrize(
    ("upgrade", "elapsed", "eta"),
    [
        # 2 of 10 done in 10 minutes: 40 minutes left
        (status(successful=1, failed=1, in_progress=2, pending=6), 600, 2400.0),
        (status(successful=5, pending=5), 100, 100.0),
        # every instance done while still reported as running: nothing left
        (status(successful=10), 100, 0.0),
        # nothing done yet, no start time, or no longer running: no estimate
        (status(in_progress=2, pending=8), 600, None),
        (status(successful=2, pending=8, start=None), 600, None),
        (status("Completed", successful=10), 600, None),
        (status("Faulted", successful=2, failed=1, pending=7), 600, None),
    ],
)
def test_time_left_at_the_pace_so_far(upgrade: UpgradeStatus, elapsed: float, eta: float | None) -> None:
    assert eta_seconds(upgrade, T0 + timedelta(seconds=elapsed)) == eta


def test_time_left_never_negative() -> None:
    # a clock behind the start time (skew) would make the pace negative
    assert eta_seconds(status(successful=2, pending=8), T0 - timedelta(seconds=60)) == 0.0


def behind(n: int) -> InstanceSummary:
    return summarize([instance(str(i), latest=i >= n) for i in range(n + 1)])


@pytest.mark.parametrize(
    ("upgrade", "summary", "mode", "expected"),
    [
        (
            status("Completed", successful=3),
            behind(2),
            "Rolling",
            Outset(status("Completed", successful=3), 2, "Rolling", "-g rg -n web"),
        ),
        (
            status("completed", successful=3),
            behind(1),
            None,
            Outset(status("completed", successful=3), 1, "Manual", "-g rg -n web"),
        ),
        (None, behind(3), "Automatic", Outset(None, 3, "Automatic", "-g rg -n web")),
        # a Faulted or Cancelled upgrade explains the instances left behind; a running one decides by itself
        (status("Faulted", failed=1), behind(2), "Rolling", None),
        (status("Cancelled"), behind(2), "Rolling", None),
        (status("RollingForward", pending=2), behind(2), "Rolling", None),
        # nobody behind, or the instances unknown
        (status("Completed", successful=3), behind(0), "Rolling", None),
        (None, None, "Rolling", None),
        (status("Completed", successful=3), None, "Rolling", None),
    ],
)
def test_a_watch_begins_after_the_latest_upgrade_ended_with_instances_behind(
    upgrade: UpgradeStatus | None, summary: InstanceSummary | None, mode: str | None, expected: Outset | None
) -> None:
    assert outset(upgrade, summary, mode, "-g rg -n web") == expected


def test_the_outset_is_the_same_upgrade_until_a_new_one_appears() -> None:
    ended = status("Completed", successful=3)
    start = Outset(ended, 2, "Rolling", "")
    assert start.same(ended)
    assert start.same(status("Completed", successful=3, pending=1))  # re-read: the same start time
    assert not start.same(status("RollingForward", pending=2))  # same start time, but running again
    assert not start.same(status("Completed", start=T0 + timedelta(seconds=1)))  # a newer upgrade
    assert not start.same(None)
    nothing = Outset(None, 2, "Rolling", "")
    assert nothing.same(None)
    assert not nothing.same(ended)


ARGS = "-g rg -n web"


@pytest.mark.parametrize(
    ("mode", "waited", "expected"),
    [
        (
            "Manual",
            0.0,
            Verdict(
                True,
                ExitCode.NOT_READY,
                "No upgrade is running and 2 instance(s) are not on the latest model: nothing rolls them in "
                f"Manual mode. Switch to Rolling with `vmssroll enable-rolling {ARGS}`, then roll them with "
                f"`vmssroll restart {ARGS}`",
            ),
        ),
        (
            "Automatic",
            1000.0,
            Verdict(
                True,
                ExitCode.NOT_READY,
                "No upgrade is running and 2 instance(s) are not on the latest model: nothing rolls them in "
                f"Automatic mode. Switch to Rolling with `vmssroll enable-rolling {ARGS}`, then roll them with "
                f"`vmssroll restart {ARGS}`",
            ),
        ),
        ("Rolling", 0.0, Verdict(False, ExitCode.OK, "Waiting for the upgrade of 2 instance(s) to start")),
        (
            "rolling",
            NEW_UPGRADE_GRACE - 1,
            Verdict(False, ExitCode.OK, "Waiting for the upgrade of 2 instance(s) to start"),
        ),
        (
            "Rolling",
            NEW_UPGRADE_GRACE,
            Verdict(
                True,
                ExitCode.NOT_READY,
                "2 instance(s) are not on the latest model and no rolling upgrade started within 5m00s: "
                f"roll them with `vmssroll restart {ARGS}`",
            ),
        ),
    ],
)
def test_the_verdict_of_a_watch_that_began_after_the_upgrade_ended(
    mode: str, waited: float, expected: Verdict
) -> None:
    ended = status("Completed", successful=3)
    assert watch_verdict(ended, Outset(ended, 2, mode, ARGS), waited) == expected


def test_a_new_upgrade_or_no_outset_is_judged_by_azures_status() -> None:
    ended = status("Completed", successful=3)
    start = Outset(ended, 2, "Manual", ARGS)
    new = status("RollingForward", successful=1, pending=1, start=T0 + timedelta(seconds=30))
    assert watch_verdict(new, start) == Verdict(
        False, ExitCode.OK, "RollingForward 50%: 1 succeeded, 0 failed, 0 in progress, 1 pending"
    )
    assert watch_verdict(ended, None) == Verdict(
        True, ExitCode.OK, "Rolling upgrade Completed: 3 succeeded, 0 failed, 0 in progress, 0 pending"
    )
    assert watch_verdict(None, None) == Verdict(True, ExitCode.OK, "No upgrade has run yet")


def test_what_the_upgrade_rolls_out() -> None:
    assert upgrade_kind(status(), behind(2)) == "model"
    assert upgrade_kind(status(), behind(0)) is None
    assert upgrade_kind(None, behind(2)) is None
