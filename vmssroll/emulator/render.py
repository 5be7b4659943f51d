"""Rendering stored state as ARM response bodies."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from .arm import VMSS_TYPE, azure_time, iso, vmss_id
from .engine import Engine
from .state import (
    ROLLING_DEFAULTS,
    Instance,
    Operation,
    RollingUpgrade,
    ScaleSet,
    extensions_of,
    strip_secrets,
)

_PROV_DISPLAY = {"Succeeded": "Provisioning succeeded", "Updating": "Updating", "Creating": "Creating"}
_HEALTH_LEVEL = {"healthy": "Info", "initializing": "Info", "unhealthy": "Error", "unknown": "Warning"}
_HEALTH_DISPLAY = {
    "healthy": "The VM is healthy",
    "unhealthy": "The VM is unhealthy",
    "initializing": "The VM health is initializing",
    "unknown": "The VM health is unknown",
}


def etag(ss: ScaleSet) -> str:
    return f'"{ss.etag}"'


def vmss(ss: ScaleSet) -> dict[str, Any]:
    """GET body of a scale set: stored values, Azure's defaults for unset policy fields, no secrets."""
    model = copy.deepcopy(ss.model)
    props = model.pop("properties", {}) or {}
    props["virtualMachineProfile"] = strip_secrets(props.get("virtualMachineProfile") or {})
    up = props.get("upgradePolicy") or {}
    up.setdefault("mode", "Manual")
    up["rollingUpgradePolicy"] = {**ROLLING_DEFAULTS, **(up.get("rollingUpgradePolicy") or {})}
    props["upgradePolicy"] = up
    props.setdefault("orchestrationMode", "Uniform")
    if not ss.flexible:
        props.setdefault("overprovision", True)
        props.setdefault("singlePlacementGroup", True)
    running = any(i.phase != "idle" for i in ss.instances.values())
    writing = ss.write_op is not None and ss.write_op.status == "InProgress"  # a slow write (FACTS.md)
    props["provisioningState"] = (
        "Updating" if writing or (running and ss.mode == "Automatic") else "Succeeded"
    )
    props["uniqueId"] = ss.unique_id
    props["timeCreated"] = iso(ss.created)
    sku = dict(model.get("sku") or {})
    sku["capacity"] = len(ss.members())
    body: dict[str, Any] = {
        "id": vmss_id(ss.sub, ss.rg, ss.name),
        "name": ss.name,
        "type": VMSS_TYPE,
        "location": ss.location,
        "tags": model.get("tags") or {},
        "sku": sku,
        "etag": etag(ss),
        "properties": props,
    }
    if ss.zones:
        body["zones"] = ss.zones
    for key, value in model.items():
        body.setdefault(key, value)
    return body


def _status(code: str, display: str, level: str = "Info", time: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"code": code, "level": level, "displayStatus": display}
    if time:
        out["time"] = time
    return out


def _extensions(ss: ScaleSet, inst: Instance) -> list[dict[str, Any]]:
    exts = inst.extensions if inst.attached else extensions_of(inst.profile)
    base = vmss_id(ss.sub, ss.rg, ss.name) + f"/virtualMachines/{inst.instance_id}"
    out = []
    for ext in exts or []:
        props = {k: v for k, v in (ext.get("properties") or {}).items() if not k.startswith("protected")}
        props["provisioningState"] = "Succeeded"
        out.append(
            {
                "id": f"{base}/extensions/{ext.get('name')}",
                "name": ext.get("name"),
                "type": "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/extensions",
                "location": ss.location,
                "properties": props,
            }
        )
    return out


def vm_instance_view(engine: Engine, ss: ScaleSet, inst: Instance, source: str | None) -> dict[str, Any]:
    prov = inst.provisioning
    statuses = [
        _status(f"ProvisioningState/{prov.lower()}", _PROV_DISPLAY.get(prov, prov), time=iso(engine.now)),
        _status("PowerState/running", "VM running"),
    ]
    view: dict[str, Any] = {
        "platformUpdateDomain": int(inst.instance_id) % 5 if inst.instance_id.isdigit() else 0,
        "platformFaultDomain": int(inst.instance_id) % 2 if inst.instance_id.isdigit() else 0,
        "computerName": f"{ss.name}{int(inst.instance_id):06x}" if inst.instance_id.isdigit() else inst.name,
        "statuses": statuses,
    }
    health = engine.reported(ss, inst, source)
    if health is not None:
        status = _status(f"HealthState/{health}", _HEALTH_DISPLAY[health], _HEALTH_LEVEL[health])
        status["time"] = iso(inst.health_time or ss.created)
        view["vmHealth"] = {"status": status}
    return view


def vm(engine: Engine, ss: ScaleSet, inst: Instance, expand: bool, source: str | None, key: str) -> dict:
    """A scale-set VM (Uniform instance, Flexible member, or attached Flexible VM)."""
    vid = vmss_id(ss.sub, ss.rg, ss.name) + f"/virtualMachines/{inst.instance_id}"
    profile = inst.profile
    props: dict[str, Any] = {
        "latestModelApplied": inst.attached or inst.profile_key == key,
        "vmId": inst.vm_id,
        "provisioningState": inst.provisioning,
        "storageProfile": {
            "imageReference": copy.deepcopy((profile.get("storageProfile") or {}).get("imageReference") or {})
        },
    }
    if inst.os_version and not inst.attached:  # the platform image version the OS disk was made from
        props["storageProfile"]["imageReference"]["exactVersion"] = inst.os_version
    if inst.attached:
        props["attached"] = True
    if expand:
        props["instanceView"] = vm_instance_view(engine, ss, inst, source)
    body: dict[str, Any] = {
        "id": vid,
        "name": inst.name or f"{ss.name}_{inst.instance_id}",
        "type": "Microsoft.Compute/virtualMachineScaleSets/virtualMachines",
        "location": ss.location,
        "instanceId": inst.instance_id,
        "sku": {k: v for k, v in (ss.model.get("sku") or {}).items() if k != "capacity"},
        "properties": props,
        "resources": _extensions(ss, inst),
    }
    if inst.zone:
        body["zones"] = [inst.zone]
    return body


def flexible_vm(engine: Engine, ss: ScaleSet, inst: Instance, expand: bool, source: str | None) -> dict:
    """A Flexible member as Azure lists it: a plain `Microsoft.Compute/virtualMachines` resource that names
    its scale set, with its own image reference (and the exact version it runs), without `latestModelApplied`.
    """
    vid = f"/subscriptions/{ss.sub}/resourceGroups/{ss.rg}/providers/Microsoft.Compute/virtualMachines/{inst.name}"
    image = copy.deepcopy((inst.profile.get("storageProfile") or {}).get("imageReference") or {})
    version = inst.os_version or image.get("version") or str(image.get("id") or "").rsplit("/", 1)[-1]
    if version and str(version).lower() != "latest":
        image["exactVersion"] = version
    props: dict[str, Any] = {
        "virtualMachineScaleSet": {"id": vmss_id(ss.sub, ss.rg, ss.name)},
        "vmId": inst.vm_id,
        "provisioningState": inst.provisioning,
        "storageProfile": {"imageReference": image},
    }
    if inst.attached:
        props["attached"] = (
            True  # an emulator marker (not Azure's): the VM was attached, not made from the model
        )
    if expand:
        props["instanceView"] = vm_instance_view(engine, ss, inst, source)
    exts = inst.extensions if inst.attached else extensions_of(inst.profile)
    body: dict[str, Any] = {
        "id": vid,
        "name": inst.name,
        "type": "Microsoft.Compute/virtualMachines",
        "location": ss.location,
        "properties": props,
        "resources": [
            {
                "id": f"{vid}/extensions/{e.get('name')}",
                "name": e.get("name"),
                "type": "Microsoft.Compute/virtualMachines/extensions",
                "location": ss.location,
                "properties": {
                    **{k: v for k, v in (e.get("properties") or {}).items() if not k.startswith("protected")},
                    "provisioningState": "Succeeded",
                },
            }
            for e in exts or []
        ],
    }
    if inst.zone:
        body["zones"] = [inst.zone]
    return body


def vmss_instance_view(engine: Engine, ss: ScaleSet) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for inst in ss.instances.values():
        code = f"ProvisioningState/{inst.provisioning.lower()}"
        counts[code] = counts.get(code, 0) + 1
    summary = [{"code": c, "count": n} for c, n in sorted(counts.items())]
    busy = any(i.phase != "idle" for i in ss.instances.values())
    prov = "updating" if busy else "succeeded"
    return {
        "virtualMachine": {"statusesSummary": summary},
        "extensions": [
            {"name": e.get("name"), "statusesSummary": [{"code": "ProvisioningState/succeeded", "count": n}]}
            for e in extensions_of(ss.profile)
            for n in [len(ss.members())]
        ],
        "statuses": [
            _status(f"ProvisioningState/{prov}", _PROV_DISPLAY[prov.capitalize()], time=iso(engine.now))
        ],
    }


def progress(engine: Engine, ss: ScaleSet, up: RollingUpgrade) -> dict[str, int]:
    source = engine.health_source(ss)
    upgraded = [ss.instances[i] for i in up.upgraded if i in ss.instances]
    failed = sum(
        1 for i in upgraded if i.instance_id in up.breached_by or engine.failed_after_batch(ss, i, source)
    )
    return {
        "successfulInstanceCount": len(upgraded) - failed,
        "failedInstanceCount": failed,
        "inProgressInstanceCount": len(up.current),
        "pendingInstanceCount": sum(len(q) for q in up.queues),
    }


# Recorded: the Start action's time "may be a few tens of milliseconds before startTime" (FACTS.md).
_START_ACTION_LEAD = timedelta(milliseconds=30)


def rolling_status(engine: Engine, ss: ScaleSet, up: RollingUpgrade) -> dict[str, Any]:
    """`rollingUpgrades/latest` as Azure answers it: only type, location and properties at the top (no id,
    name or tags), times with 7-digit fractions and an offset."""
    action_time = up.last_action_time
    if action_time is not None and up.last_action == "Start":
        action_time -= _START_ACTION_LEAD
    props: dict[str, Any] = {
        "policy": dict(up.policy),
        "runningStatus": {
            "code": up.code,
            "startTime": azure_time(up.start_time),
            "lastAction": up.last_action,
            "lastActionTime": azure_time(action_time),
        },
        "progress": progress(engine, ss, up),
    }
    if up.error:
        props["error"] = dict(up.error)
    return {
        "type": "Microsoft.Compute/virtualMachineScaleSets/rollingUpgrades",
        "location": ss.location,
        "properties": props,
    }


def os_history_entry(engine: Engine, ss: ScaleSet, up: RollingUpgrade) -> dict[str, Any]:
    """One item of `osUpgradeHistory` (UpgradeOperationHistoricalStatusInfo): running status with start and
    end time, progress, who started it, the image it went to, and what was rolled back."""
    running: dict[str, Any] = {"code": up.code, "startTime": iso(up.start_time)}
    if up.end_time:
        running["endTime"] = iso(up.end_time)
    target = up.target_image or (ss.profile.get("storageProfile") or {}).get("imageReference")
    props: dict[str, Any] = {
        "runningStatus": running,
        "progress": progress(engine, ss, up),
        "startedBy": up.started_by,
        "targetImageReference": copy.deepcopy(target),
        "rollbackInfo": {
            "successfullyRolledbackInstanceCount": up.rolled_back,
            "failedRolledbackInstanceCount": up.rollback_failed,
        },
    }
    if up.error:
        props["error"] = dict(up.error)
    return {
        "properties": props,
        "type": "Microsoft.Compute/virtualMachineScaleSets/rollingUpgrades",
        "location": ss.location,
    }


def operation(op: Operation) -> dict[str, Any]:
    body: dict[str, Any] = {"name": op.op_id, "startTime": iso(op.start), "status": op.status}
    if op.end:
        body["endTime"] = iso(op.end)
    if op.error:
        body["error"] = dict(op.error)
    return body
