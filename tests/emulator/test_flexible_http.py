"""Flexible scale sets at the HTTP level: the scale-set VM API is refused as Azure refuses it, and members are
listed as plain VMs filtered by their scale set, paged by nextLink."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from tests.emulator.emu_helpers import make_client
from tests.emulator.test_http import request
from vmssroll.emulator import Emulator

RG, NAME = "rg-flex", "flex"


def flex(served: Emulator) -> Emulator:
    served.load_scenario("flexible-extension")  # 4 members + 2 attached VMs; the module's pages hold 3
    return served


def ss_id(emu: Emulator) -> str:
    return f"/subscriptions/{emu.subscription_id}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/{NAME}"


def vm_list(emu: Emulator, scope: str, filter_: str | None) -> str:
    q = "api-version=2026-04-01&$expand=instanceView"
    if filter_ is not None:
        q += "&$filter=" + quote(filter_, safe="")
    return f"{scope}/providers/Microsoft.Compute/virtualMachines?{q}"


def all_pages(emu: Emulator, path: str) -> tuple[list[dict[str, Any]], int]:
    found, pages = [], 0
    while path:
        status, _, body = request(emu, "GET", path)
        assert status == 200, body
        pages += 1
        found += body["value"]
        link = body.get("nextLink")
        path = (urlsplit(link).path + "?" + urlsplit(link).query) if link else ""
    return found, pages


def test_the_scale_set_vm_api_is_refused_on_flexible(served):
    emu = flex(served)
    status, _, body = request(emu, "GET", ss_id(emu) + "/virtualMachines?api-version=2026-04-01")
    assert status == 400
    assert body["error"]["code"] == "BadRequest"
    assert body["error"]["message"] == (
        "Operation 'VirtualMachineScaleSets.virtualMachines.GET' is not allowed on Virtual Machine Scale Set "
        "'flex'."
    )


def test_members_are_listed_as_vms_filtered_by_scale_set_with_paging(served):
    emu = flex(served)
    scope = f"/subscriptions/{emu.subscription_id}/resourceGroups/{RG}"
    vms, pages = all_pages(emu, vm_list(emu, scope, f"'virtualMachineScaleSet/id' eq '{ss_id(emu)}'"))
    assert pages == 2 and len(vms) == 6
    names = {vm["name"] for vm in vms}
    assert {"vm-attached-1", "vm-attached-2"} <= names
    for vm in vms:
        assert vm["type"] == "Microsoft.Compute/virtualMachines"
        assert vm["id"].endswith(f"/providers/Microsoft.Compute/virtualMachines/{vm['name']}")
        props = vm["properties"]
        assert props["virtualMachineScaleSet"]["id"] == ss_id(emu)
        assert "latestModelApplied" not in props  # Azure's VM resource does not carry it
        assert props["storageProfile"]["imageReference"]["exactVersion"] == "1.0.0"
        if vm["name"] != "vm-attached-1":  # the one VM without the extension reports no health
            assert props["instanceView"]["vmHealth"]["status"]["code"].startswith("HealthState/")


def test_the_subscription_wide_list_takes_the_same_filter(served):
    emu = flex(served)
    scope = f"/subscriptions/{emu.subscription_id}"
    vms, _ = all_pages(emu, vm_list(emu, scope, f"'virtualMachineScaleSet/id' eq '{ss_id(emu)}'"))
    assert len(vms) == 6
    other = ss_id(emu).replace("/flex", "/other")
    none, _ = all_pages(emu, vm_list(emu, scope, f"'virtualMachineScaleSet/id' eq '{other}'"))
    assert none == []


def test_the_real_sdk_lists_members_with_filter_and_expand(served):
    emu = flex(served)
    client = make_client(emu)
    vms = list(
        client.virtual_machines.list(
            RG, filter=f"'virtualMachineScaleSet/id' eq '{ss_id(emu)}'", expand="instanceView"
        )
    )
    assert len(vms) == 6
    assert all(vm.virtual_machine_scale_set.id == ss_id(emu) for vm in vms)
    members = [vm for vm in vms if vm.name.startswith("flex_")]
    assert len(members) == 4
    assert all(vm.instance_view.vm_health.status.code == "HealthState/healthy" for vm in members)
    assert all(vm.storage_profile.image_reference.exact_version == "1.0.0" for vm in members)
