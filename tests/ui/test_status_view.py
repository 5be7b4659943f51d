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


def instance(n: int, version: str, health: Health = Health.HEALTHY) -> Instance:
    return Instance(str(n), f"web_{n}", None, version == "2.0.0", "Succeeded", health, {"version": version})


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
        "instances      2 of 4 on the latest model",
        "health         2 healthy, 1 unhealthy, 1 unknown",
        "failed         1",
        "not on latest  2, 3",
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
