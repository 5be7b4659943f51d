"""Azure's REST documents → domain values, field by field, including the shapes a tolerant reader must survive
(nulls, strings where objects belong, booleans where numbers belong). Pure: the documents are what the SDK's
models hold (`as_dict()` in REST names); the commands' tests read the same documents through the SDK."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from vmssroll.adapter.convert import (
    extension_from_rest,
    instance_from_rest,
    member_from_rest,
    os_upgrade_from_rest,
    scale_set_from_rest,
    upgrade_from_rest,
)
from vmssroll.domain.model import Extension, Health, UpgradePolicy
from vmssroll.domain.upgrade import Progress

SET_ID = "/subscriptions/s/resourceGroups/RG-Web/providers/Microsoft.Compute/virtualMachineScaleSets/web"
PROBE = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/lb/probes/http"
IMAGE = {"publisher": "Canonical", "offer": "o", "sku": "s", "version": "1.0.0"}
HEALTH_EXT = {
    "name": "health",
    "properties": {
        "publisher": "Microsoft.ManagedServices",
        "type": "ApplicationHealthLinux",
        "typeHandlerVersion": "2.0",
        "settings": {"protocol": "tcp", "port": 22},
        "enableAutomaticUpgrade": True,
        "autoUpgradeMinorVersion": False,
    },
}


def full_set(**props: Any) -> dict[str, Any]:
    return {
        "id": SET_ID,
        "name": "web",
        "location": "westeurope",
        "etag": '"3"',
        "zones": ["1", 2],
        "tags": {"env": "demo"},
        "sku": {"name": "Standard_D2s_v5", "capacity": 4},
        "properties": {
            "orchestrationMode": "Uniform",
            "overprovision": False,
            "provisioningState": "Succeeded",
            "externalHealthPolicy": None,
            "upgradePolicy": {
                "mode": "rolling",
                "rollingUpgradePolicy": {"maxBatchInstancePercent": 50, "pauseTimeBetweenBatches": None},
                "automaticOSUpgradePolicy": {"enableAutomaticOSUpgrade": True},
            },
            "virtualMachineProfile": {
                "networkProfile": {"healthProbe": {"id": PROBE}},
                "extensionProfile": {"extensions": [HEALTH_EXT, "not an extension"]},
                "storageProfile": {"imageReference": IMAGE, "osDisk": {"osType": "Linux"}},
                "osProfile": {"windowsConfiguration": {"enableAutomaticUpdates": False}},
            },
            **props,
        },
    }


def test_a_scale_set_field_by_field() -> None:
    ss = scale_set_from_rest(full_set())
    assert (ss.id, ss.name, ss.resource_group, ss.location) == (SET_ID, "web", "RG-Web", "westeurope")
    assert (ss.orchestration_mode, ss.capacity, ss.zones, ss.overprovision) == (
        "Uniform",
        4,
        ("1", "2"),
        False,
    )
    assert (ss.sku, ss.etag, ss.provisioning_state, dict(ss.tags)) == (
        "Standard_D2s_v5",
        '"3"',
        "Succeeded",
        {"env": "demo"},
    )
    # the mode as Azure spells it; unset rolling fields (null) left out
    assert ss.upgrade_policy == UpgradePolicy(
        "Rolling", {"maxBatchInstancePercent": 50}, {"enableAutomaticOSUpgrade": True}
    )
    assert ss.health_probe_id == PROBE and ss.external_health is False
    assert ss.extensions == (
        Extension(
            "health",
            "Microsoft.ManagedServices",
            "ApplicationHealthLinux",
            "2.0",
            {"protocol": "tcp", "port": 22},
            True,
            False,
        ),
    )
    assert dict(ss.image) == IMAGE
    # windowsConfiguration says Windows, whatever osDisk.osType says
    assert (ss.os_type, ss.windows_automatic_updates) == ("Windows", False)


def test_a_scale_set_with_next_to_nothing() -> None:
    ss = scale_set_from_rest({"properties": None, "sku": "small", "zones": "1", "tags": ["x"], "etag": 3})
    assert (ss.id, ss.name, ss.resource_group, ss.location) == ("", "", "", "")
    assert (ss.orchestration_mode, ss.capacity, ss.zones, ss.sku, ss.etag) == ("Uniform", 0, (), None, None)
    assert ss.upgrade_policy == UpgradePolicy(None, {}, {})
    assert (ss.health_probe_id, ss.extensions, dict(ss.image), dict(ss.tags)) == (None, (), {}, {})
    assert (ss.provisioning_state, ss.os_type, ss.windows_automatic_updates, ss.external_health) == (
        None,
        None,
        None,
        False,
    )


@pytest.mark.parametrize(
    ("os_profile", "os_disk", "os_type"),
    [
        ({"linuxConfiguration": {}}, {"osType": "Windows"}, "Linux"),
        ({"windowsConfiguration": {}}, {}, "Windows"),
        ({}, {"osType": "Linux"}, "Linux"),
        ({}, {"osType": 3}, None),
        ({}, {}, None),
    ],
)
def test_os_type(os_profile: dict[str, Any], os_disk: dict[str, Any], os_type: str | None) -> None:
    doc = full_set()
    profile = doc["properties"]["virtualMachineProfile"]
    profile["osProfile"], profile["storageProfile"]["osDisk"] = os_profile, os_disk
    assert scale_set_from_rest(doc).os_type == os_type


def test_capacity_true_is_not_one_and_external_health_and_flexible() -> None:
    doc = full_set(orchestrationMode="Flexible", externalHealthPolicy={"enabled": True})
    doc["sku"]["capacity"] = True
    ss = scale_set_from_rest(doc)
    assert (ss.capacity, ss.orchestration_mode, ss.external_health) == (0, "Flexible", True)
    assert scale_set_from_rest({"id": "/subscriptions/s/resourcegroups/rg/x"}).resource_group == "rg"


def test_an_extension_with_odd_values() -> None:
    ext = extension_from_rest(
        {"name": None, "properties": {"settings": "x", "enableAutomaticUpgrade": "yes"}}
    )
    assert ext == Extension("", "", "", None, {}, None, None)


def test_an_instance_field_by_field() -> None:
    doc = {
        "instanceId": "7",
        "name": "web_7",
        "zones": ["2"],
        "resources": [{"name": "health", "properties": {"typeHandlerVersion": "2.0"}}, "junk"],
        "properties": {
            "latestModelApplied": False,
            "provisioningState": "Succeeded",
            "instanceView": {"vmHealth": {"status": {"code": "HealthState/unhealthy"}}},
            "storageProfile": {"imageReference": IMAGE},
            "attached": True,
        },
    }
    vm = instance_from_rest(doc)
    assert (vm.instance_id, vm.name, vm.zone, vm.latest_model_applied, vm.provisioning_state) == (
        "7",
        "web_7",
        "2",
        False,
        "Succeeded",
    )
    assert (vm.health, dict(vm.image), dict(vm.extensions), vm.attached) == (
        Health.UNHEALTHY,
        IMAGE,
        {"health": "2.0"},
        True,
    )
    bare = instance_from_rest({"name": "web_12", "properties": "x"})
    assert (bare.instance_id, bare.zone, bare.health, bare.attached, bare.latest_model_applied) == (
        "12",
        None,
        Health.SILENT,
        False,
        None,
    )


def test_a_flexible_member_compared_with_the_model_when_azure_does_not_say() -> None:
    ss = scale_set_from_rest(full_set(orchestrationMode="Flexible"))
    same: dict[str, Any] = {
        "name": "web_a1",
        "zones": [1],
        "resources": [{"name": "health", "properties": {"typeHandlerVersion": "2.0"}}],
        "properties": {"storageProfile": {"imageReference": IMAGE}, "provisioningState": "Succeeded"},
    }
    vm = member_from_rest(same, ss)
    assert (vm.instance_id, vm.name, vm.zone, vm.provisioning_state) == ("web_a1", "web_a1", "1", "Succeeded")
    assert (vm.latest_model_applied, vm.latest_model_from, vm.attached) == (True, "compared", False)
    assert dict(vm.extensions) == {"health": "2.0"} and vm.health is Health.SILENT
    older = {**same, "properties": {"storageProfile": {"imageReference": {**IMAGE, "version": "0.9"}}}}
    assert member_from_rest(older, ss).latest_model_applied is False
    said = {**same, "properties": {**same["properties"], "latestModelApplied": False}}
    assert (
        member_from_rest(said, ss).latest_model_applied,
        member_from_rest(said, ss).latest_model_from,
    ) == (
        False,
        "azure",
    )
    attached = {**same, "properties": {"attached": True, "provisioningState": 5}}
    vm = member_from_rest(attached, ss)
    assert (vm.latest_model_applied, vm.latest_model_from, vm.attached, vm.provisioning_state) == (
        None,
        "azure",
        True,
        None,
    )


T = "2026-01-05T09:00:00Z"


def test_an_upgrade_status_field_by_field() -> None:
    doc = {
        "properties": {
            "runningStatus": {
                "code": "Faulted",
                "lastAction": "Start",
                "startTime": T,
                "lastActionTime": "2026-01-05T09:10:00+00:00",
            },
            "progress": {
                "successfulInstanceCount": 3,
                "failedInstanceCount": 1,
                "inProgressInstanceCount": 2,
                "pendingInstanceCount": 4,
            },
            "error": {"code": "MaxUnhealthyInstancePercentExceededInRollingUpgrade", "message": "too many"},
            "policy": {"maxBatchInstancePercent": 20},
        }
    }
    up = upgrade_from_rest(doc)
    assert (up.code, up.last_action) == ("Faulted", "Start")
    assert up.start_time == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert up.last_action_time == datetime(2026, 1, 5, 9, 10, tzinfo=UTC)
    assert up.progress == Progress(3, 1, 2, 4)
    assert (up.error_code, up.error_message) == (
        "MaxUnhealthyInstancePercentExceededInRollingUpgrade",
        "too many",
    )
    assert dict(up.policy) == {"maxBatchInstancePercent": 20} and up.document == doc


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (None, None, None),
        ("it broke", "Unknown", "it broke"),
        ({"message": "no code"}, "Unknown", "no code"),
        ({"code": "X"}, "X", None),
        ({}, None, None),
    ],
)
def test_an_upgrades_error_in_any_shape(error: Any, code: str | None, message: str | None) -> None:
    up = upgrade_from_rest({"properties": {"error": error}})
    assert (up.error_code, up.error_message) == (code, message)


def test_an_upgrade_status_with_next_to_nothing() -> None:
    up = upgrade_from_rest({"properties": {"runningStatus": {"startTime": "yesterday"}, "progress": []}})
    assert (up.code, up.last_action, up.start_time, up.last_action_time) == ("Unknown", None, None, None)
    assert up.progress == Progress(0, 0, 0, 0) and dict(up.policy) == {}
    counts = {"successfulInstanceCount": True, "failedInstanceCount": "2"}
    assert upgrade_from_rest({"properties": {"progress": counts}}).progress == Progress(0, 0, 0, 0)
    assert upgrade_from_rest({"properties": {"runningStatus": {"startTime": ""}}}).start_time is None
    when = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # the SDK's models hold datetimes: kept as they are
    assert upgrade_from_rest({"properties": {"runningStatus": {"startTime": when}}}).start_time is when


def test_an_os_upgrade_history_item_field_by_field() -> None:
    doc = {
        "properties": {
            "runningStatus": {
                "code": "RollingForward",
                "startTime": T,
                "completedTime": "2026-01-05T10:00:00Z",
            },
            "progress": {"successfulInstanceCount": 5, "pendingInstanceCount": 5},
            "error": {"code": "E", "message": "m"},
            "startedBy": "Platform",
            "targetImageReference": IMAGE,
            "rollbackInfo": {
                "successfullyRolledbackInstanceCount": 2,
                "failedRolledbackInstanceCount": 1,
                "rollbackError": {"code": "RollbackFailed"},
            },
        }
    }
    item = os_upgrade_from_rest(doc)
    assert (item.code, item.started_by, dict(item.target)) == ("RollingForward", "Platform", IMAGE)
    assert item.start_time == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert item.end_time == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert item.progress == Progress(5, 0, 0, 5)
    assert (item.error_code, item.error_message) == ("E", "m")
    assert (item.rolled_back, item.rollback_failed, item.rollback_error) == (2, 1, "RollbackFailed")
    assert item.document == doc
    ended = {"properties": {"runningStatus": {"endTime": T, "completedTime": "2026-01-06T00:00:00Z"}}}
    assert os_upgrade_from_rest(ended).end_time == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # endTime first
    message = {"properties": {"rollbackInfo": {"rollbackError": {"code": "C", "message": "said why"}}}}
    assert os_upgrade_from_rest(message).rollback_error == "said why"
    bare = os_upgrade_from_rest(
        {"properties": {"rollbackInfo": {"successfullyRolledbackInstanceCount": True}}}
    )
    assert (bare.code, bare.started_by, bare.rolled_back, bare.rollback_failed, bare.rollback_error) == (
        "Unknown",
        "Unknown",
        None,
        None,
        None,
    )
    assert (bare.start_time, bare.end_time, bare.error_code, dict(bare.target)) == (None, None, None, {})


@pytest.mark.parametrize(
    ("view", "health"),
    [
        ({"vmHealth": {"status": {"code": "HealthState/healthy"}}}, Health.HEALTHY),
        ({"vmHealth": {"status": {"code": "HealthState/Unhealthy"}}}, Health.UNHEALTHY),
        ({"vmHealth": {"status": {"code": "HealthState/initializing"}}}, Health.INITIALIZING),
        ({"vmHealth": {"status": {"code": "HealthState/unknown"}}}, Health.UNKNOWN),
        ({"vmHealth": {"status": {"code": "HealthState/sideways"}}}, Health.UNKNOWN),
        ({"vmHealth": {"status": {}}}, Health.SILENT),
        ({"vmHealth": None}, Health.SILENT),
        ({}, Health.SILENT),
        ("not a view", Health.SILENT),
    ],
)
def test_health_from_the_instance_view_of_an_instance_and_of_a_flexible_member(
    view: Any, health: Health
) -> None:
    ss = scale_set_from_rest(full_set(orchestrationMode="Flexible"))
    props = {"instanceView": view, "latestModelApplied": True, "provisioningState": "Succeeded"}
    assert instance_from_rest({"instanceId": "3", "name": "web_3", "properties": props}).health is health
    member = member_from_rest({"name": "web_b2", "zones": ["3"], "properties": props}, ss)
    assert member.health is health
    assert (member.instance_id, member.zone, member.latest_model_applied, member.latest_model_from) == (
        "web_b2",
        "3",
        True,
        "azure",
    )
    assert member.provisioning_state == "Succeeded" and member.attached is False


def test_an_instance_and_a_member_with_nothing_at_all() -> None:
    for vm in (instance_from_rest({}), member_from_rest({}, scale_set_from_rest(full_set()))):
        assert (vm.instance_id, vm.name, vm.zone, vm.provisioning_state, vm.health, vm.attached) == (
            "",
            "",
            None,
            None,
            Health.SILENT,
            False,
        )
        assert (dict(vm.image), dict(vm.extensions)) == ({}, {})
    assert instance_from_rest({}).latest_model_applied is None
    named = instance_from_rest({"name": "web"})  # no underscore: the whole name is the id
    assert (named.instance_id, named.name) == ("web", "web")
    given = instance_from_rest({"instanceId": "4", "name": "web_9"})  # Azure's instanceId wins
    assert (given.instance_id, given.name) == ("4", "web_9")
