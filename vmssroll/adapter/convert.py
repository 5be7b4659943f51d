"""Azure's REST documents (what SDK models hold; `as_dict()`) → vmssroll's domain values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from vmssroll.domain.history import OsUpgrade
from vmssroll.domain.model import Extension, Health, Instance, ScaleSet, UpgradePolicy, runs_model
from vmssroll.domain.policy import canonical_mode
from vmssroll.domain.upgrade import Progress, UpgradeStatus

Doc = Mapping[str, Any]


def _get(doc: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(doc, Mapping):
            return None
        doc = doc.get(key)
    return doc


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _obj(value: Any) -> Mapping[str, Any]:
    """A nested object, or an empty one when Azure sent something else (null, a string, a list)."""
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _resource_group(resource_id: str) -> str:
    parts = resource_id.split("/")
    lowered = [p.lower() for p in parts]
    return parts[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered else ""


def extension_from_rest(doc: Doc) -> Extension:
    props = _obj(doc.get("properties"))
    return Extension(
        name=str(doc.get("name") or ""),
        publisher=str(props.get("publisher") or ""),
        type=str(props.get("type") or ""),
        type_handler_version=props.get("typeHandlerVersion"),
        settings=_obj(props.get("settings")),
        automatic_upgrade=_bool(props.get("enableAutomaticUpgrade")),
        auto_upgrade_minor_version=_bool(props.get("autoUpgradeMinorVersion")),
    )


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _os_type(profile: Mapping[str, Any]) -> str | None:
    """Windows or Linux, as the model says (windowsConfiguration or linuxConfiguration, or osDisk.osType)."""
    os_profile = _obj(profile.get("osProfile"))
    if os_profile.get("windowsConfiguration") is not None:
        return "Windows"
    if os_profile.get("linuxConfiguration") is not None:
        return "Linux"
    return _str(_get(profile, "storageProfile", "osDisk", "osType"))


def scale_set_from_rest(doc: Doc) -> ScaleSet:
    props = _obj(doc.get("properties"))
    profile = _obj(props.get("virtualMachineProfile"))
    policy = _obj(props.get("upgradePolicy"))
    extensions = _list(_get(profile, "extensionProfile", "extensions"))
    resource_id = str(doc.get("id") or "")
    return ScaleSet(
        id=resource_id,
        name=str(doc.get("name") or ""),
        resource_group=_resource_group(resource_id),
        location=str(doc.get("location") or ""),
        orchestration_mode=str(props.get("orchestrationMode") or "Uniform"),
        capacity=_int(_get(doc, "sku", "capacity")),
        zones=tuple(str(z) for z in _list(doc.get("zones"))),
        overprovision=props.get("overprovision"),
        sku=_get(doc, "sku", "name"),
        etag=_str(doc.get("etag")),
        upgrade_policy=UpgradePolicy(
            mode=canonical_mode(_str(policy.get("mode"))),
            rolling={k: v for k, v in _obj(policy.get("rollingUpgradePolicy")).items() if v is not None},
            automatic_os=_obj(policy.get("automaticOSUpgradePolicy")),
        ),
        health_probe_id=_get(profile, "networkProfile", "healthProbe", "id"),
        extensions=tuple(extension_from_rest(e) for e in extensions if isinstance(e, Mapping)),
        external_health=bool(props.get("externalHealthPolicy")),
        image=_obj(_get(profile, "storageProfile", "imageReference")),
        provisioning_state=_str(props.get("provisioningState")),
        tags=_obj(doc.get("tags")),
        os_type=_os_type(profile),
        windows_automatic_updates=_bool(
            _get(profile, "osProfile", "windowsConfiguration", "enableAutomaticUpdates")
        ),
    )


def instance_from_rest(doc: Doc) -> Instance:
    props = _obj(doc.get("properties"))
    zones = _list(doc.get("zones"))
    resources = _list(doc.get("resources"))
    return Instance(
        instance_id=str(doc.get("instanceId") or str(doc.get("name") or "").rsplit("_", 1)[-1]),
        name=str(doc.get("name") or ""),
        zone=str(zones[0]) if zones else None,
        latest_model_applied=props.get("latestModelApplied"),
        provisioning_state=props.get("provisioningState"),
        health=Health.from_code(_get(props, "instanceView", "vmHealth", "status", "code")),
        image=_obj(_get(props, "storageProfile", "imageReference")),
        extensions={
            str(r.get("name")): _get(r, "properties", "typeHandlerVersion")
            for r in resources
            if isinstance(r, Mapping)
        },
        attached=bool(props.get("attached")),
    )


def member_from_rest(doc: Doc, scale_set: ScaleSet) -> Instance:
    """A Flexible member, listed as a plain VM: named by its VM name; whether it runs the latest model as
    Azure says when it does (`latestModelApplied`), else by comparing its image reference and extensions with
    the scale set's model (`latest_model_from` says which)."""
    props = _obj(doc.get("properties"))
    zones = _list(doc.get("zones"))
    name = str(doc.get("name") or "")
    image = _obj(_get(props, "storageProfile", "imageReference"))
    extensions = {
        str(r.get("name")): _get(r, "properties", "typeHandlerVersion")
        for r in _list(doc.get("resources"))
        if isinstance(r, Mapping)
    }
    attached = bool(props.get("attached"))
    said = props.get("latestModelApplied")
    if isinstance(said, bool):
        latest, source = said, "azure"
    elif attached:
        latest, source = None, "azure"  # not made from the model: nothing to compare
    else:
        latest, source = runs_model(image, extensions, scale_set), "compared"
    return Instance(
        instance_id=name,
        name=name,
        zone=str(zones[0]) if zones else None,
        latest_model_applied=latest,
        provisioning_state=_str(props.get("provisioningState")),
        health=Health.from_code(_get(props, "instanceView", "vmHealth", "status", "code")),
        image=image,
        extensions=extensions,
        attached=attached,
        latest_model_from=source,
    )


def upgrade_from_rest(doc: Doc) -> UpgradeStatus:
    props = _obj(doc.get("properties"))
    running = _obj(props.get("runningStatus"))
    progress = _obj(props.get("progress"))
    error = props.get("error")
    error = error if isinstance(error, Mapping) else {"message": str(error)} if error else {}
    return UpgradeStatus(
        code=str(running.get("code") or "Unknown"),
        last_action=_str(running.get("lastAction")),
        start_time=_time(running.get("startTime")),
        last_action_time=_time(running.get("lastActionTime")),
        progress=_progress(progress),
        error_code=_str(error.get("code")) or ("Unknown" if error else None),
        error_message=_str(error.get("message")),
        policy=_obj(props.get("policy")),
        document=doc,
    )


def _progress(progress: Doc) -> Progress:
    """A rolling upgrade's instance counters (RollingUpgradeProgressInfo)."""
    return Progress(
        successful=_int(progress.get("successfulInstanceCount")),
        failed=_int(progress.get("failedInstanceCount")),
        in_progress=_int(progress.get("inProgressInstanceCount")),
        pending=_int(progress.get("pendingInstanceCount")),
    )


def os_upgrade_from_rest(doc: Doc) -> OsUpgrade:
    """One `osUpgradeHistory` item (UpgradeOperationHistoricalStatusInfo). The end time is `endTime` as the
    SDK names it, or `completedTime` as FACTS.md has it."""
    props = _obj(doc.get("properties"))
    running = _obj(props.get("runningStatus"))
    progress = _obj(props.get("progress"))
    error = _obj(props.get("error"))
    rollback = _obj(props.get("rollbackInfo"))
    rollback_error = _obj(rollback.get("rollbackError"))
    return OsUpgrade(
        code=str(running.get("code") or "Unknown"),
        start_time=_time(running.get("startTime")),
        end_time=_time(running.get("endTime") or running.get("completedTime")),
        started_by=str(props.get("startedBy") or "Unknown"),
        target=_obj(props.get("targetImageReference")),
        progress=_progress(progress),
        error_code=_str(error.get("code")),
        error_message=_str(error.get("message")),
        rolled_back=_count(rollback.get("successfullyRolledbackInstanceCount")),
        rollback_failed=_count(rollback.get("failedRolledbackInstanceCount")),
        rollback_error=_str(rollback_error.get("message")) or _str(rollback_error.get("code")),
        document=doc,
    )


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
