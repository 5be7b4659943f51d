"""Azure-like validation of a scale set model before a write is accepted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import isodate

from . import arm
from .engine import Engine
from .state import World, extensions_of, is_app_health, probe_id

MAX_SURGE_FEATURE = "Microsoft.Compute/MaxSurgeRollingUpgrade"
_RANGES = {
    "maxBatchInstancePercent": (5, 100),
    "maxUnhealthyInstancePercent": (5, 100),
    "maxUnhealthyUpgradedInstancePercent": (0, 100),
}
_BOOLS = (
    "enableCrossZoneUpgrade",
    "prioritizeUnhealthyInstances",
    "rollbackFailedInstancesOnPolicyBreach",
    "maxSurge",
)


def validate_model(engine: Engine, world: World, model: dict[str, Any], old: dict[str, Any] | None) -> None:
    """Raise ArmError (400) if Azure would refuse this model. Nothing is changed here."""
    props = model.get("properties") or {}
    if not isinstance(props, dict):
        raise arm.invalid_parameter("properties", "The 'properties' value must be an object.")
    up = props.get("upgradePolicy") or {}
    mode = str(up.get("mode", "Manual"))
    if mode.lower() not in ("automatic", "manual", "rolling"):
        raise arm.invalid_parameter(
            "upgradePolicy.mode", f"The value '{mode}' of parameter 'upgradePolicy.mode' is not valid."
        )
    rp = up.get("rollingUpgradePolicy") or {}
    for name, (lo, hi) in _RANGES.items():
        if name not in rp:
            continue
        value = rp[name]
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise arm.invalid_parameter(
                f"rollingUpgradePolicy.{name}",
                f"The value {value!r} of parameter 'rollingUpgradePolicy.{name}' is out of range. "
                f"The value must be between {lo} and {hi}, inclusive.",
            )
    if "pauseTimeBetweenBatches" in rp:
        pause = rp["pauseTimeBetweenBatches"]
        try:
            parsed = isodate.parse_duration(str(pause))
            ok = isinstance(parsed, timedelta) and parsed >= timedelta(0)
        except (isodate.ISO8601Error, ValueError):
            ok = False
        if not ok:
            raise arm.invalid_parameter(
                "rollingUpgradePolicy.pauseTimeBetweenBatches",
                f"The value '{pause}' of parameter 'rollingUpgradePolicy.pauseTimeBetweenBatches' is not a "
                "valid ISO 8601 duration.",
            )
    for name in _BOOLS:
        if name in rp and not isinstance(rp[name], bool):
            raise arm.invalid_parameter(
                f"rollingUpgradePolicy.{name}",
                f"The value of 'rollingUpgradePolicy.{name}' must be a boolean.",
            )
    flexible = str(props.get("orchestrationMode", "Uniform")).lower() == "flexible"
    overprovision = props.get("overprovision", not flexible)
    if rp.get("maxSurge") and overprovision:
        # not verified: wording (rule from FACTS: maxSurge only with overprovision false)
        raise arm.invalid_parameter(
            "rollingUpgradePolicy.maxSurge",
            "MaxSurge rolling upgrades are not supported when 'overprovision' is enabled on the Virtual Machine "
            "Scale Set. Set 'overprovision' to false.",
        )
    if rp.get("enableCrossZoneUpgrade") and not model.get("zones"):
        # not verified: wording
        raise arm.invalid_parameter(
            "rollingUpgradePolicy.enableCrossZoneUpgrade",
            "'enableCrossZoneUpgrade' can only be set on a zonal Virtual Machine Scale Set.",
        )
    old_rp = (((old or {}).get("properties") or {}).get("upgradePolicy") or {}).get(
        "rollingUpgradePolicy"
    ) or {}
    if (
        rp.get("maxSurge")
        and not old_rp.get("maxSurge")
        and world.feature_state(MAX_SURGE_FEATURE) != "Registered"
    ):
        # not verified: Azure may check the feature only when an upgrade starts.
        raise arm.feature_not_registered(world.subscription_id, MAX_SURGE_FEATURE)
    if mode.lower() == "rolling":
        profile = props.get("virtualMachineProfile") or {}
        has_ext = any(is_app_health(e) for e in extensions_of(profile))
        pid = probe_id(profile)
        if not has_ext and (flexible or not pid):
            raise arm.rolling_without_health()
        if not has_ext and pid and not engine.probe_exists(pid):
            # not verified: wording
            raise arm.invalid_parameter(
                "virtualMachineProfile.networkProfile.healthProbe.id",
                f"The health probe '{pid}' referenced by the Virtual Machine Scale Set was not found.",
            )
