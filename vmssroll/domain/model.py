"""What vmssroll knows of a scale set and its instances, as plain frozen data read from Azure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

HEALTH_EXTENSION_PUBLISHER = "Microsoft.ManagedServices"
HEALTH_EXTENSION_TYPES = ("ApplicationHealthLinux", "ApplicationHealthWindows")


class Health(StrEnum):
    """An instance's health as the rolling upgrade sees it (`instanceView.vmHealth`)."""

    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    INITIALIZING = "initializing"
    UNKNOWN = "unknown"
    SILENT = "silent"  # no vmHealth at all: nothing reports health for this instance

    @classmethod
    def from_code(cls, code: str | None) -> Health:
        """`HealthState/healthy` → HEALTHY; no code → SILENT; anything unexpected → UNKNOWN."""
        if not code:
            return cls.SILENT
        state = code.rsplit("/", 1)[-1].strip().lower()
        try:
            return cls(state)
        except ValueError:
            return cls.UNKNOWN

    @property
    def counts_unhealthy(self) -> bool:
        """Rolling upgrades treat Unknown as unhealthy and wait on Initializing; an instance with no health
        signal at all is not counted as unhealthy (FACTS.md: recorded runs on such scale sets)."""
        return self in (Health.UNHEALTHY, Health.UNKNOWN)


@dataclass(frozen=True)
class Extension:
    name: str
    publisher: str
    type: str
    type_handler_version: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    automatic_upgrade: bool | None = None  # enableAutomaticUpgrade: Azure upgrades it to new versions itself
    auto_upgrade_minor_version: bool | None = None  # autoUpgradeMinorVersion

    @property
    def is_health_extension(self) -> bool:
        return self.publisher.lower() == HEALTH_EXTENSION_PUBLISHER.lower() and self.type.lower() in {
            t.lower() for t in HEALTH_EXTENSION_TYPES
        }


@dataclass(frozen=True)
class UpgradePolicy:
    """`properties.upgradePolicy` as stored: rolling fields are REST names → value, absent when unset."""

    mode: str | None
    rolling: Mapping[str, Any] = field(default_factory=dict)
    automatic_os: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScaleSet:
    id: str
    name: str
    resource_group: str
    location: str
    orchestration_mode: str  # Uniform | Flexible
    capacity: int
    zones: tuple[str, ...]
    overprovision: bool | None
    sku: str | None
    etag: str | None
    upgrade_policy: UpgradePolicy
    health_probe_id: str | None
    extensions: tuple[Extension, ...]
    external_health: bool
    image: Mapping[str, Any]
    provisioning_state: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    os_type: str | None = None  # "Windows" or "Linux" when the model says (osProfile or osDisk.osType)
    windows_automatic_updates: bool | None = None  # osProfile.windowsConfiguration.enableAutomaticUpdates

    @property
    def is_flexible(self) -> bool:
        return self.orchestration_mode.lower() == "flexible"

    @property
    def health_extension(self) -> Extension | None:
        return next((e for e in self.extensions if e.is_health_extension), None)


@dataclass(frozen=True)
class Instance:
    instance_id: str
    name: str
    zone: str | None
    latest_model_applied: bool | None
    provisioning_state: str | None
    health: Health
    image: Mapping[str, Any] = field(default_factory=dict)
    extensions: Mapping[str, str | None] = field(default_factory=dict)  # name → typeHandlerVersion
    attached: bool = False  # a Flexible VM attached to the set rather than made from its model
    # where `latest_model_applied` comes from: "azure" (it said so) or "compared" (a Flexible member, whose
    # image reference and extensions were compared with the scale set's model because Azure says nothing)
    latest_model_from: str = "azure"

    @property
    def sort_key(self) -> tuple[int, str]:
        return (int(self.instance_id), "") if self.instance_id.isdigit() else (1 << 62, self.instance_id)


def runs_model(image: Mapping[str, Any], extensions: Mapping[str, str | None], scale_set: ScaleSet) -> bool:
    """Whether a VM's own image reference and extensions match the scale set's model (for Flexible members,
    where Azure does not report `latestModelApplied`): the same image (resource id, or publisher, offer, sku
    and version, case-insensitively; `latest` matches `latest`), and every model extension at its version."""
    model = scale_set.image

    def same(key: str) -> bool:
        return str(model.get(key) or "").lower() == str(image.get(key) or "").lower()

    keys = ("id",) if model.get("id") else ("publisher", "offer", "sku", "version")
    if not all(same(k) for k in keys):
        return False
    for ext in scale_set.extensions:
        if ext.name not in extensions:
            return False
        wanted = ext.type_handler_version
        if wanted is not None and extensions[ext.name] != wanted:
            return False
    return True
