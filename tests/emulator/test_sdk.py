"""Contract tests: the real azure-mgmt-compute client against the served emulator."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceResponseError,
)

from tests.emulator.emu_helpers import make_client, rolling
from vmssroll.emulator import Emulator

RG, NAME = "rg-demo", "web"


def odata(err: HttpResponseError) -> Any:
    """The ARM error body the SDK parsed (code, message), which every refusal here carries."""
    assert err.error is not None, err
    return err.error


def test_get_returns_model_without_secrets_and_with_policy_defaults(client: Any, live: Emulator) -> None:
    vmss = client.virtual_machine_scale_sets.get(RG, NAME)
    body = vmss.as_dict()
    assert vmss.etag == '"1"'
    assert body["tags"] == {"env": "demo", "owner": "platform-team"}
    assert body["zones"] == ["1", "2", "3"] and body["sku"]["capacity"] == 10
    assert body["properties"]["upgradePolicy"]["rollingUpgradePolicy"]["maxBatchInstancePercent"] == 20
    assert body["properties"]["upgradePolicy"]["mode"] == "Manual"
    profile = body["properties"]["virtualMachineProfile"]
    assert "adminPassword" not in profile["osProfile"]
    assert all("protectedSettings" not in e["properties"] for e in profile["extensionProfile"]["extensions"])
    stored = live.vmss(RG, NAME)["properties"]["virtualMachineProfile"]
    assert stored["extensionProfile"]["extensions"][0]["properties"]["protectedSettings"]
    assert stored["osProfile"]["adminPassword"]


def test_patch_with_etag_and_stale_etag(client: Any, live: Emulator) -> None:
    etag = client.virtual_machine_scale_sets.get(RG, NAME).etag
    body = {"properties": {"upgradePolicy": {"rollingUpgradePolicy": {"maxBatchInstancePercent": 50}}}}
    result = client.virtual_machine_scale_sets.begin_update(
        RG, NAME, body, etag=etag, match_condition=MatchConditions.IfNotModified
    ).result()
    assert result.etag == '"2"'
    assert result.properties.upgrade_policy.rolling_upgrade_policy.max_batch_instance_percent == 50
    patch = next(r for r in live.requests if r.method == "PATCH")
    assert patch.if_match == etag and patch.status == 200
    with pytest.raises(ResourceModifiedError):
        client.virtual_machine_scale_sets.begin_update(
            RG, NAME, {"tags": {"x": "y"}}, etag=etag, match_condition=MatchConditions.IfNotModified
        )
    assert live.vmss(RG, NAME)["etag"] == '"2"' and live.vmss(RG, NAME)["tags"] != {"x": "y"}
    # protectedSettings survive a PATCH of the extensions list that omits them
    exts = client.virtual_machine_scale_sets.get(RG, NAME).as_dict()["properties"]["virtualMachineProfile"]
    ext_body = {"properties": {"virtualMachineProfile": {"extensionProfile": exts["extensionProfile"]}}}
    client.virtual_machine_scale_sets.begin_update(RG, NAME, ext_body).result()
    stored = live.vmss(RG, NAME)["properties"]["virtualMachineProfile"]["extensionProfile"]["extensions"][0]
    assert stored["properties"]["protectedSettings"] == {"storageAccountKey": "c2VjcmV0LXN0b3JhZ2Uta2V5"}


def test_put_of_a_get_body_destroys_protected_settings(client: Any, live: Emulator) -> None:
    vmss = client.virtual_machine_scale_sets.get(RG, NAME)
    client.virtual_machine_scale_sets.begin_create_or_update(RG, NAME, vmss).result()
    stored = live.vmss(RG, NAME)["properties"]["virtualMachineProfile"]
    assert "protectedSettings" not in stored["extensionProfile"]["extensions"][0]["properties"]
    assert "adminPassword" not in stored["osProfile"]


def test_put_creates_a_scale_set(client: Any, live: Emulator) -> None:
    body = {"location": "westeurope", "sku": {"name": "Standard_D2s_v5", "capacity": 2},
            "properties": {"upgradePolicy": {"mode": "Manual"}, "virtualMachineProfile": {
                "storageProfile": {"imageReference": {"publisher": "p", "offer": "o", "sku": "s", "version": "1"}}}}}  # fmt: skip
    created = client.virtual_machine_scale_sets.begin_create_or_update(RG, "new", body).result()
    assert created.name == "new"
    assert [r.status for r in live.requests if r.method == "PUT"] == [201]
    live.clock.advance(60)
    assert len(list(client.virtual_machine_scale_set_vms.list(RG, "new"))) == 2


def test_validation_errors_change_nothing(client: Any, live: Emulator) -> None:
    cases = [
        ({"properties": {"upgradePolicy": {"rollingUpgradePolicy": {"maxBatchInstancePercent": 3}}}},
         "InvalidParameter", "maxBatchInstancePercent"),
        ({"properties": {"upgradePolicy": {"rollingUpgradePolicy": {"pauseTimeBetweenBatches": "5 min"}}}},
         "InvalidParameter", "pauseTimeBetweenBatches"),
        ({"properties": {"overprovision": True, "upgradePolicy": {"rollingUpgradePolicy": {"maxSurge": True}}}},
         "InvalidParameter", "overprovision"),
    ]  # fmt: skip
    for body, code, word in cases:
        with pytest.raises(HttpResponseError) as info:
            client.virtual_machine_scale_sets.begin_update(RG, NAME, body)
        assert info.value.status_code == 400 and odata(info.value).code == code and word in info.value.message
    live.load_scenario("flexible-no-extension")
    with pytest.raises(HttpResponseError) as info:
        client.virtual_machine_scale_sets.begin_update("rg-flex", "flex", rolling("2.0.0"))
    assert odata(info.value).code == "BadRequest"
    assert "a health probe or health extension was not provided" in odata(info.value).message
    assert live.vmss("rg-flex", "flex")["etag"] == '"1"'


def test_vm_list_pages_and_instance_view(client: Any, live: Emulator) -> None:
    vms = list(client.virtual_machine_scale_set_vms.list(RG, NAME, expand="instanceView"))
    assert [v.instance_id for v in vms] == [str(i) for i in range(10)]
    lists = [r for r in live.requests if r.path.endswith("/virtualMachines")]
    assert len(lists) == 4 and lists[1].query["$skiptoken"] == "3"  # page size 3
    first = vms[0]
    assert first.name == "web_0" and first.zones == ["1"] and first.latest_model_applied
    assert first.instance_view.vm_health.status.code == "HealthState/healthy"
    assert first.storage_profile.image_reference.version == "1.0.0"
    vm = client.virtual_machine_scale_set_vms.get(RG, NAME, "4", expand="instanceView")
    assert vm.instance_view.statuses[1].code == "PowerState/running"
    view = client.virtual_machine_scale_set_vms.get_instance_view(RG, NAME, "4")
    assert view.vm_health.status.code == "HealthState/healthy"
    assert (
        client.virtual_machine_scale_sets.get_instance_view(RG, NAME)
        .virtual_machine.statuses_summary[0]
        .count
        == 10
    )


def test_flexible_vms_and_manual_upgrade_refused(client: Any, live: Emulator) -> None:
    live.load_scenario("flexible-extension")
    with pytest.raises(HttpResponseError) as refused:  # Flexible has no scale-set VM API
        list(client.virtual_machine_scale_set_vms.list("rg-flex", "flex"))
    assert refused.value.status_code == 400
    ss_id = client.virtual_machine_scale_sets.get("rg-flex", "flex").id
    members = client.virtual_machines.list("rg-flex", filter=f"'virtualMachineScaleSet/id' eq '{ss_id}'")
    vms = {v["name"]: v for v in (x.as_dict() for x in members)}
    assert vms["vm-attached-1"]["properties"]["attached"] is True
    assert vms["vm-attached-1"].get("resources", []) == []
    assert vms["vm-attached-2"]["resources"][0]["properties"]["type"] == "ApplicationHealthLinux"
    with pytest.raises(ResourceExistsError) as info:
        client.virtual_machine_scale_sets.begin_update_instances("rg-flex", "flex", {"instanceIds": ["0"]})
    assert odata(info.value).code == "OperationNotAllowed"
    assert "VirtualMachineScaleSets.ManualUpgrade.POST" in odata(info.value).message


def test_update_instances_poller_finishes(client: Any, live: Emulator) -> None:
    client.virtual_machine_scale_sets.begin_update(RG, NAME, {"properties": {"virtualMachineProfile": {
        "storageProfile": {"imageReference": {"version": "2.0.0"}}}}}).result()  # fmt: skip
    poller = client.virtual_machine_scale_sets.begin_update_instances(RG, NAME, {"instanceIds": ["0", "1"]})
    assert not poller.done()
    live.clock.advance(30)
    poller.result(timeout=10)
    assert [v["latest_model_applied"] for v in live.vms(RG, NAME)][:3] == [True, True, False]


def test_rolling_upgrade_operations(client: Any, live: Emulator) -> None:
    ru = client.virtual_machine_scale_set_rolling_upgrades
    with pytest.raises(ResourceNotFoundError):
        ru.get_latest(RG, NAME)
    with pytest.raises(ResourceExistsError) as info:
        ru.begin_cancel(RG, NAME)
    assert odata(info.value).code == "OperationNotAllowed"
    assert odata(info.value).message == "There is no ongoing Rolling Upgrade to cancel."
    poller = ru.begin_start_os_upgrade(RG, NAME)
    latest = ru.get_latest(RG, NAME)
    assert latest.running_status.code == "RollingForward" and latest.progress.in_progress_instance_count == 2
    cancel = ru.begin_cancel(RG, NAME)
    assert ru.get_latest(RG, NAME).running_status.last_action == "Cancel"
    live.clock.advance(30)
    cancel.result(timeout=10)
    assert ru.get_latest(RG, NAME).running_status.code == "Cancelled"
    assert poller.result(timeout=10) is None  # recorded: the start's operation ends Succeeded after a cancel
    poller = ru.begin_start_extension_upgrade(RG, NAME)
    live.clock.advance(3600)
    assert poller.result(timeout=10) is None
    assert ru.get_latest(RG, NAME).running_status.code == "Completed"


def test_failed_upgrade_operation_raises_with_the_breach_error(client: Any, live: Emulator) -> None:
    client.virtual_machine_scale_sets.begin_update(RG, NAME, {"properties": {"virtualMachineProfile": {
        "storageProfile": {"imageReference": {"version": "3.0.0-bad"}}}}}).result()  # fmt: skip
    poller = client.virtual_machine_scale_set_rolling_upgrades.begin_start_os_upgrade(RG, NAME)
    live.clock.advance(30)
    with pytest.raises(HttpResponseError) as info:
        poller.result(timeout=10)
    assert "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade" in str(info.value)


def test_patch_poller_uses_azure_async_operation(client: Any, live: Emulator) -> None:
    # Manual mode: the write ends at the first poll (in Rolling mode it takes minutes: test_slow_writes_http)
    client.virtual_machine_scale_sets.begin_update(RG, NAME, {"tags": {"a": "b"}}).result()
    methods = [(r.method, r.path.rsplit("/", 2)[-2]) for r in live.requests]
    assert methods == [
        ("PATCH", "virtualMachineScaleSets"),
        ("GET", "operations"),
        ("GET", "virtualMachineScaleSets"),
    ]


def test_not_found_errors(client: Any, live: Emulator) -> None:
    with pytest.raises(ResourceNotFoundError) as info:
        client.virtual_machine_scale_sets.get("rg-nope", NAME)
    assert odata(info.value).code == "ResourceGroupNotFound"
    assert odata(info.value).message == "Resource group 'rg-nope' could not be found."
    with pytest.raises(ResourceNotFoundError) as info:
        client.virtual_machine_scale_sets.get(RG, "nope")
    assert odata(info.value).code == "ResourceNotFound"
    assert (
        "'Microsoft.Compute/virtualMachineScaleSets/nope' under resource group 'rg-demo'"
        in info.value.message
    )


@pytest.mark.parametrize("status", [429, 503])
def test_transient_errors_are_retried_by_the_sdk(live: Emulator, status: int) -> None:
    client = make_client(live, retry_total=3, retry_backoff_factor=0.001)
    live.faults.add(
        kind="status", status=status, retry_after=0.001, method="GET", path_regex=r"/web$", count=2
    )
    assert client.virtual_machine_scale_sets.get(RG, NAME).name == NAME
    assert [r.status for r in live.requests] == [status, status, 200]


def test_dropped_connection_after_commit_applies_the_write(live: Emulator) -> None:
    client = make_client(live, retry_total=1, retry_backoff_factor=0.001)
    live.faults.add(kind="drop", method="PATCH", after_commit=True, count=1)
    body = {"tags": {"changed": "yes"}}
    with pytest.raises(ServiceResponseError):  # the SDK does not retry a PATCH whose answer was lost
        client.virtual_machine_scale_sets.begin_update(RG, NAME, body)
    assert live.vmss(RG, NAME)["tags"]["changed"] == "yes"
    assert next(r.status for r in live.requests if r.method == "PATCH") == 0
