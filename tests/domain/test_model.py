"""The scale set and instance values: health codes, the health extension, instance order, and whether a
Flexible member runs the scale set's model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from vmssroll.domain.clock import SystemClock
from vmssroll.domain.errors import ExitCode
from vmssroll.domain.model import Extension, Health, Instance, ScaleSet, UpgradePolicy, runs_model
from vmssroll.domain.operation import OperationStatus, operation_verdict
from vmssroll.domain.upgrade import Verdict

IMAGE = {"publisher": "Canonical", "offer": "ubuntu", "sku": "server", "version": "1.0.0"}
HEALTH = Extension("health", "Microsoft.ManagedServices", "ApplicationHealthLinux", "2.0")
AGENT = Extension("agent", "Contoso", "Agent", None)


def scale_set(
    image: dict[str, Any] = IMAGE, extensions: tuple[Extension, ...] = (), mode: str = "Uniform"
) -> ScaleSet:
    return ScaleSet(
        id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web",
        name="web",
        resource_group="rg",
        location="westeurope",
        orchestration_mode=mode,
        capacity=2,
        zones=(),
        overprovision=None,
        sku=None,
        etag=None,
        upgrade_policy=UpgradePolicy(None),
        health_probe_id=None,
        extensions=extensions,
        external_health=False,
        image=image,
    )


@pytest.mark.parametrize(
    ("code", "health", "unhealthy"),
    [
        ("HealthState/healthy", Health.HEALTHY, False),
        ("HealthState/Unhealthy", Health.UNHEALTHY, True),
        ("HealthState/initializing", Health.INITIALIZING, False),
        ("HealthState/unknown", Health.UNKNOWN, True),
        ("healthy", Health.HEALTHY, False),
        ("HealthState/ healthy ", Health.HEALTHY, False),
        ("a/b/Unhealthy", Health.UNHEALTHY, True),
        ("HealthState/degraded", Health.UNKNOWN, True),  # anything unexpected counts as unknown
        ("HealthState/silent", Health.SILENT, False),
        ("", Health.SILENT, False),
        (None, Health.SILENT, False),  # nothing reports health: not counted as unhealthy
    ],
)
def test_health_from_azures_code(code: str | None, health: Health, unhealthy: bool) -> None:
    assert Health.from_code(code) is health
    assert health.counts_unhealthy is unhealthy


@pytest.mark.parametrize(
    ("publisher", "type_", "is_health"),
    [
        ("Microsoft.ManagedServices", "ApplicationHealthLinux", True),
        ("microsoft.managedservices", "applicationhealthwindows", True),
        ("MICROSOFT.MANAGEDSERVICES", "APPLICATIONHEALTHLINUX", True),
        ("Microsoft.ManagedServices", "ApplicationHealthMac", False),
        ("Contoso", "ApplicationHealthLinux", False),
        ("Microsoft.Azure.Extensions", "CustomScript", False),
    ],
)
def test_the_health_extension(publisher: str, type_: str, is_health: bool) -> None:
    ext = Extension("x", publisher, type_)
    assert ext.is_health_extension is is_health
    assert scale_set(extensions=(AGENT, ext)).health_extension == (ext if is_health else None)


def test_the_first_health_extension_is_the_one() -> None:
    other = Extension("health2", "Microsoft.ManagedServices", "ApplicationHealthWindows")
    assert scale_set(extensions=(AGENT, HEALTH, other)).health_extension is HEALTH
    assert scale_set().health_extension is None


@pytest.mark.parametrize(("mode", "flexible"), [("Flexible", True), ("flexible", True), ("Uniform", False)])
def test_flexible_orchestration(mode: str, flexible: bool) -> None:
    assert scale_set(mode=mode).is_flexible is flexible


def test_instances_sort_by_number_then_name() -> None:
    ids = ["10", "web_b", "2", "0", "web_a", "1"]
    ordered = sorted(
        (Instance(i, i, None, True, None, Health.HEALTHY) for i in ids), key=lambda i: i.sort_key
    )
    assert [i.instance_id for i in ordered] == ["0", "1", "2", "10", "web_a", "web_b"]
    assert Instance("7", "x", None, True, None, Health.HEALTHY).sort_key == (7, "")
    assert Instance("vm", "x", None, True, None, Health.HEALTHY).sort_key == (1 << 62, "vm")


@pytest.mark.parametrize(
    ("image", "extensions", "model_extensions", "runs"),
    [
        (IMAGE, {}, (), True),
        ({k: v.upper() for k, v in IMAGE.items()}, {}, (), True),  # case-insensitively
        ({**IMAGE, "version": "1.0.1"}, {}, (), False),
        ({**IMAGE, "sku": "other"}, {}, (), False),
        ({**IMAGE, "offer": "other"}, {}, (), False),
        ({**IMAGE, "publisher": "other"}, {}, (), False),
        ({k: v for k, v in IMAGE.items() if k != "version"}, {}, (), False),
        ({**IMAGE, "exactVersion": "9"}, {}, (), True),  # other fields do not count
        (IMAGE, {"health": "2.0", "agent": "7"}, (HEALTH, AGENT), True),  # agent: any version
        (IMAGE, {"health": "1.0", "agent": "7"}, (HEALTH, AGENT), False),
        (IMAGE, {"health": "2.0"}, (HEALTH, AGENT), False),  # an extension missing
        (IMAGE, {"health": None}, (HEALTH,), False),
        (IMAGE, {"agent": None, "extra": "1"}, (AGENT,), True),  # extensions beyond the model do not count
    ],
)
def test_a_flexible_member_runs_the_model(
    image: dict[str, Any],
    extensions: dict[str, str | None],
    model_extensions: tuple[Extension, ...],
    runs: bool,
) -> None:
    assert runs_model(image, extensions, scale_set(IMAGE, model_extensions)) is runs


def test_a_field_neither_the_model_nor_the_member_has_matches() -> None:
    no_version = {k: v for k, v in IMAGE.items() if k != "version"}
    assert runs_model(no_version, {}, scale_set(no_version)) is True
    assert runs_model({**no_version, "version": ""}, {}, scale_set(no_version)) is True


@pytest.mark.parametrize(
    ("image", "runs"),
    [
        ({"id": "/galleries/g/images/web/versions/1"}, True),
        ({"id": "/GALLERIES/G/IMAGES/WEB/VERSIONS/1", "version": "other"}, True),  # only the id counts
        ({"id": "/galleries/g/images/web/versions/2"}, False),
        (IMAGE, False),
    ],
)
def test_a_flexible_member_of_a_set_built_from_an_image_id(image: dict[str, Any], runs: bool) -> None:
    assert runs_model(image, {}, scale_set({"id": "/galleries/g/images/web/versions/1", **IMAGE})) is runs


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        (OperationStatus("Succeeded"), Verdict(True, ExitCode.OK, "Rolling upgrade operation Succeeded")),
        (
            OperationStatus("Failed", "RollingUpgradeFaulted", "3 of 10 instances unhealthy"),
            Verdict(
                True,
                ExitCode.FAULTED,
                "Rolling upgrade operation Failed — RollingUpgradeFaulted: 3 of 10 instances unhealthy",
            ),
        ),
        (
            OperationStatus("failed", "RollingUpgradeFaulted"),
            Verdict(True, ExitCode.FAULTED, "Rolling upgrade operation Failed — RollingUpgradeFaulted"),
        ),
        (
            OperationStatus("Failed"),
            Verdict(True, ExitCode.FAULTED, "Rolling upgrade operation Failed — Failed"),
        ),
        (
            OperationStatus("Failed", None, "no code"),
            Verdict(True, ExitCode.FAULTED, "Rolling upgrade operation Failed — Failed: no code"),
        ),
        (
            OperationStatus("Failed", "QuotaExceeded", "no room for size X"),
            Verdict(
                True, ExitCode.FAULTED, "Rolling upgrade operation Failed — QuotaExceeded: no room for size X"
            ),
        ),
        (
            OperationStatus("Canceled"),
            Verdict(True, ExitCode.CANCELLED, "Rolling upgrade operation Canceled"),
        ),
        (
            OperationStatus("CANCELLED"),
            Verdict(True, ExitCode.CANCELLED, "Rolling upgrade operation Canceled"),
        ),
        (OperationStatus("InProgress"), Verdict(False, ExitCode.OK, "Rolling upgrade operation InProgress")),
        (OperationStatus("Accepted"), Verdict(False, ExitCode.OK, "Rolling upgrade operation Accepted")),
    ],
)
def test_the_operation_a_start_returned_decides_when_the_status_cannot_be_read(
    op: OperationStatus, expected: Verdict
) -> None:
    assert operation_verdict(op) == expected


def test_the_system_clock() -> None:
    clock = SystemClock()
    now = clock.utcnow()
    assert now.tzinfo is UTC
    assert abs((datetime.now(UTC) - now).total_seconds()) < 60
    before = clock.monotonic()
    clock.sleep(0)  # nothing to wait for: returns at once
    clock.sleep(-5)  # a deadline already passed: no error, no wait
    assert 0 <= clock.monotonic() - before < 5
