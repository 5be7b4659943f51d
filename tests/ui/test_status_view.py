"""The status view, rendered from typed values at a fixed width into a string."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from rich.console import Console

from vmssroll.domain.model import Health, Instance, ScaleSet, UpgradePolicy
from vmssroll.domain.results import status_result
from vmssroll.domain.unknown import Unknown
from vmssroll.domain.upgrade import Progress, UpgradeStatus
from vmssroll.ui.status import status_view

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ARGS = "-g rg -n web"


def scale_set(mode: str | None = "Rolling", version: str = "2.0.0") -> ScaleSet:
    return ScaleSet(
        id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web",
        name="web",
        resource_group="rg",
        location="westeurope",
        orchestration_mode="Uniform",
        capacity=4,
        zones=(),
        overprovision=False,
        sku="Standard_B1s",
        etag='"1"',
        upgrade_policy=UpgradePolicy(mode, {"maxBatchInstancePercent": 50}),
        health_probe_id=None,
        extensions=(),
        external_health=False,
        image={"version": version},
    )


def instance(
    n: int,
    version: str,
    health: Health = Health.HEALTHY,
    *,
    zone: str | None = None,
    state: str = "Succeeded",
) -> Instance:
    return Instance(str(n), f"web_{n}", zone, version == "2.0.0", state, health, {"version": version})


def upgrade(code: str, **kw) -> UpgradeStatus:
    return UpgradeStatus(
        code=code,
        last_action="Start",
        start_time=START,
        last_action_time=START + timedelta(minutes=3),
        progress=kw.pop("progress", Progress(successful=2, in_progress=1, pending=1)),
        policy={"maxBatchInstancePercent": 50, "pauseTimeBetweenBatches": "PT0S"},
        **kw,
    )


def render(result) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=100, color_system=None).print(status_view(result))
    return [line.rstrip() for line in out.getvalue().splitlines()]


FLEET = [
    instance(0, "2.0.0"),
    instance(1, "2.0.0", Health.UNHEALTHY),
    instance(2, "1.0.0"),
    instance(3, "1.0.0", Health.UNKNOWN),
]


def test_a_rolling_upgrade_with_instances_behind() -> None:
    lines = render(status_result(scale_set(), upgrade("RollingForward"), FLEET, ARGS))
    assert lines == [
        "scale set    web (Rolling mode, 4 instances)",
        "state        RollingForward",
        "kind         model change",
        "complete     50%",
        "started      2026-01-05T09:00:00Z",
        "last action  Start at 2026-01-05T09:03:00Z",
        "progress     2 succeeded · 0 failed · 1 in progress · 1 pending",
        "policy       batch 50% · max unhealthy 20% · max unhealthy upgraded 20% · pause PT0S · zonal",
        "",
        "instances       2 of 4 on the latest model",
        "health          2 healthy, 1 unhealthy, 1 unknown",
        "failed          1",
        "health unknown  3 (Azure counts them unhealthy)",
        "not on latest   2, 3",
        "",
        "rolling out              from (instances behind)   to (scale set model)",
        "───────────────────────────────────────────────────────────────────────",
        "imageReference.version   1.0.0                     2.0.0",
        "RollingForward 50%: 2 succeeded, 0 failed, 1 in progress, 1 pending",
    ]


def test_a_faulted_upgrade_shows_azures_error_instead_of_the_message() -> None:
    faulted = upgrade(
        "Faulted",
        progress=Progress(successful=1, failed=1, pending=2),
        error_code="MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade",
        error_message="Rolling Upgrade failed.",
    )
    lines = render(status_result(scale_set(), faulted, FLEET, ARGS))
    assert lines[1] == "state        Faulted"
    assert "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade: Rolling Upgrade failed." in lines
    assert not any(line.startswith("Rolling upgrade Faulted") for line in lines)


def test_no_upgrade_yet_and_every_instance_current() -> None:
    fleet = [instance(0, "2.0.0"), instance(1, "2.0.0")]
    lines = render(status_result(scale_set(mode=None), None, fleet, ARGS))
    assert lines == [
        "web: No upgrade has run yet.",
        "",
        "instances      2 of 2 on the latest model",
        "health         2 healthy",
        "failed         none",
        "not on latest  none",
        "No upgrade has run yet",
    ]


def test_unknown_times_show_as_a_dash() -> None:
    odd = UpgradeStatus("RollingForward", None, None, None, Progress())
    lines = render(status_result(scale_set(), odd, FLEET, ARGS))
    assert "started      -" in lines and "last action  - at -" in lines


def test_instances_that_could_not_be_listed_are_unknown_with_the_reason() -> None:
    listed = Unknown("instances", "listing refused: 403 AuthorizationFailed")
    result = status_result(scale_set(), upgrade("RollingForward"), listed, ARGS)
    lines = render(result)
    assert "kind         unknown (the instances could not be listed)" in lines
    assert lines[-2:] == [
        "instances: unknown (listing refused: 403 AuthorizationFailed)",
        "RollingForward 50%: 2 succeeded, 0 failed, 1 in progress, 1 pending",
    ]
    assert result.to_json()["unknown"] == {"instances": "listing refused: 403 AuthorizationFailed"}


ZONAL = [
    instance(0, "2.0.0", zone="1"),
    instance(1, "2.0.0", Health.UNHEALTHY, zone="1"),  # upgraded, then unhealthy: failed
    instance(2, "1.0.0", Health.UNHEALTHY, zone="1"),  # unhealthy before its upgrade: not failed
    instance(3, "2.0.0", Health.UNKNOWN, zone="2"),  # Azure counts it unhealthy; it did not fail
    instance(4, "2.0.0", Health.INITIALIZING, zone="2"),
    instance(5, "2.0.0", Health.SILENT, zone="2"),
    instance(6, "1.0.0", zone="3", state="Updating"),
    instance(7, "1.0.0", Health.HEALTHY, zone="3", state="Failed"),  # its operation failed
]


def test_failed_lists_only_failed_instances_and_every_other_standing_has_its_row() -> None:
    lines = render(status_result(scale_set(), upgrade("RollingForward"), ZONAL, ARGS))
    rows = lines[lines.index("") + 1 :]
    assert rows[:9] == [
        "instances         5 of 8 on the latest model",
        "health            3 healthy, 1 initializing, 1 no health signal, 2 unhealthy, 1 unknown",
        "failed            1, 7",
        "unhealthy         2 (not yet upgraded)",
        "health unknown    3 (Azure counts them unhealthy)",
        "initializing      4",
        "updating          6",
        "no health signal  5",
        "not on latest     2, 6, 7",
    ]
    # The zone table's columns say what they count: what runs the model, not what this upgrade upgraded.
    assert rows[10:15] == [
        "All instances by zone",
        "zone   on latest model   updating   initializing   failed   health unknown   no signal   behind",
        "─" * 95,
        "1      1                 0          0              1        0                0           1",
        "2      0                 0          1              0        1                1           0",
    ]
    assert (
        rows[15]
        == "3      0                 1          0              1        0                0           0"
    )


def test_an_instance_in_flight_when_no_upgrade_rolls_is_stalled() -> None:
    faulted = upgrade("Faulted", progress=Progress(successful=1, failed=1, pending=2))
    result = status_result(scale_set(), faulted, ZONAL, ARGS)
    lines = render(result)
    assert "stalled           6 (in flight, and no upgrade is rolling)" in lines
    assert not any(line.startswith("updating ") for line in lines)
    assert result.to_json()["instances"]["stalled"] == ["6"]
    running = status_result(scale_set(), upgrade("RollingForward"), ZONAL, ARGS)
    assert running.to_json()["instances"]["stalled"] == []
