"""The stored world: scale sets, instances, rolling upgrades, operations, plus model helpers."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

APP_HEALTH_PUBLISHER = "microsoft.managedservices"
APP_HEALTH_TYPES = {"applicationhealthlinux", "applicationhealthwindows"}
ROLLING_DEFAULTS: dict[str, Any] = {
    "maxBatchInstancePercent": 20,
    "maxUnhealthyInstancePercent": 20,
    "maxUnhealthyUpgradedInstancePercent": 20,
    "pauseTimeBetweenBatches": "PT0S",
    "enableCrossZoneUpgrade": False,
    "prioritizeUnhealthyInstances": False,
    "rollbackFailedInstancesOnPolicyBreach": False,
    "maxSurge": False,
}
HEALTH_STATES = ("healthy", "unhealthy", "initializing", "unknown", "silent")


@dataclass
class Timings:
    """Seconds an instance spends updating, then initializing, after a model change."""

    updating: float = 60.0
    initializing: float = 30.0
    # A PUT/PATCH of a scale set in Rolling mode: its operation stays InProgress (provisioningState Updating)
    # this long, polls told to come back after at most `write_retry_after` (FACTS.md: 1.5-3 min, up to ~97 s).
    write: float = 120.0
    write_retry_after: float = 97.0
    # After a write in Rolling mode, how long until its rolling upgrade shows in `rollingUpgrades/latest`
    # (until then latest still shows the upgrade before, if any); 0 starts it at once.
    upgrade_start: float = 0.0


@dataclass
class Instance:
    """One VM of a scale set (or a VM attached to a Flexible set)."""

    instance_id: str
    zone: str | None
    profile: dict[str, Any]  # applied virtualMachineProfile (shared between instances; never mutated)
    profile_key: str
    health: str = "healthy"  # settled health: healthy|unhealthy|unknown|silent
    phase: str = "idle"  # idle|updating|initializing
    provisioning: str = "Succeeded"  # Succeeded|Updating|Creating
    silent_now: bool = False  # initializing forever without reporting
    vm_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    name: str | None = None
    attached: bool = False
    extensions: list[dict[str, Any]] | None = None  # attached VMs only
    prev_profile: dict[str, Any] | None = None
    target: dict[str, Any] | None = None
    gen: int = 0
    owner: Any = None  # callback(instance) when the current cycle settles
    health_time: datetime | None = None
    # the platform image version the OS disk was made from (None: not known, the image is no platform image
    # of the scenario's catalogue); the one before the current cycle; the one the current cycle goes to
    os_version: str | None = None
    prev_os_version: str | None = None
    target_os: str | None = None


@dataclass
class Operation:
    """An asynchronous operation as seen through .../locations/{loc}/operations/{id}."""

    op_id: str
    name: str
    location: str
    start: datetime
    status: str = "InProgress"
    end: datetime | None = None
    error: dict[str, Any] | None = None
    due: datetime | None = None  # when it ends by itself (a slow write), for its polls' Retry-After
    retry_after: float | None = None  # the most its polls ask a client to wait (simulated seconds)

    def finish(self, now: datetime, status: str = "Succeeded", error: dict[str, Any] | None = None) -> None:
        if self.status == "InProgress":
            self.status, self.end, self.error = status, now, error


@dataclass
class RollingUpgrade:
    """One rolling upgrade run (model, OS or extension)."""

    kind: str  # Model|OS|Extension
    policy: dict[str, Any]
    start_time: datetime
    capacity: int
    batch_size: int  # the nominal size (maxBatchInstancePercent); the check before a batch may shrink it
    queues: list[list[str]]  # instance ids still to upgrade: one queue per zone, or one (order_candidates)
    code: str = "RollingForward"
    last_action: str = "Start"
    last_action_time: datetime | None = None
    end_time: datetime | None = None
    error: dict[str, Any] | None = None
    current: list[str] = field(default_factory=list)
    surge_old: dict[str, str] = field(default_factory=dict)  # new id -> old id
    upgraded: list[str] = field(default_factory=list)
    cancel_requested: bool = False
    ops: list[Operation] = field(default_factory=list)
    cancel_ops: list[Operation] = field(default_factory=list)
    next_batch_at: datetime | None = None
    started_by: str = "User"  # User | Platform (an automatic OS image upgrade)
    target_image: dict[str, Any] | None = None  # OS upgrades: the image version the instances move to
    auto_rollback: bool = False  # automatic OS upgrades: failed instances go back to their previous image
    rolled_back: int = 0
    rollback_failed: int = 0
    breached_by: list[str] = field(default_factory=list)  # the failed instances that breached the policy

    @property
    def active(self) -> bool:
        return self.code in ("RollingForward", "RollingBack")


@dataclass
class ScaleSet:
    """A stored scale set: the client's model plus server-side state."""

    sub: str
    rg: str
    name: str
    model: dict[str, Any]  # location, tags, sku, zones, properties, ... as the client set them
    created: datetime
    etag: int = 1
    unique_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    instances: dict[str, Instance] = field(default_factory=dict)
    next_id: int = 0
    timings: Timings = field(default_factory=Timings)
    rules_version: dict[str, str] = field(default_factory=dict)  # image version -> health
    rules_instance: dict[str, str] = field(default_factory=dict)  # instance id -> health
    upgrades: list[RollingUpgrade] = field(default_factory=list)
    no_signal_passes: bool = False  # after a batch, an upgraded instance without vmHealth counts as healthy
    write_op: Operation | None = None  # the latest PUT/PATCH's operation (Updating while it is InProgress)
    # image versions that break the application (its "configuration service") while the VMs' own health probe
    # still passes: what a rollout's gate catches and Azure's health signal does not
    app_broken_by: set[str] = field(default_factory=set)
    key_cache: tuple[int, str] = (-1, "")
    pending_os: PendingOS | None = None  # a deferred automatic OS upgrade waiting for approveRollingUpgrade
    auto_os_tried: set[str] = field(default_factory=set)  # versions an automatic OS upgrade went to
    writes: int = (
        0  # writes in Rolling mode: a delayed upgrade start (timings.upgrade_start) is the last one's
    )

    @property
    def automatic_os(self) -> dict[str, Any]:
        up = self.props.get("upgradePolicy") or {}
        policy = up.get("automaticOSUpgradePolicy") if isinstance(up, dict) else None
        return policy if isinstance(policy, dict) else {}

    @property
    def location(self) -> str:
        return str(self.model.get("location", ""))

    @property
    def props(self) -> dict[str, Any]:
        p = self.model.setdefault("properties", {})
        assert isinstance(p, dict)
        return p

    @property
    def profile(self) -> dict[str, Any]:
        p = self.props.setdefault("virtualMachineProfile", {})
        assert isinstance(p, dict)
        return p

    @property
    def flexible(self) -> bool:
        return str(self.props.get("orchestrationMode", "Uniform")).lower() == "flexible"

    @property
    def mode(self) -> str:
        """Automatic | Manual | Rolling, whatever the case stored."""
        up = self.props.get("upgradePolicy") or {}
        return str(up.get("mode") or "Manual").capitalize()

    @property
    def zones(self) -> list[str]:
        return [str(z) for z in self.model.get("zones") or []]

    def profile_key(self) -> str:
        """Canonical key of the current model (cached per etag)."""
        if self.key_cache[0] != self.etag:
            self.key_cache = (self.etag, canonical(self.profile))
        return self.key_cache[1]

    def members(self) -> list[Instance]:
        """Instances that belong to the model (not attached VMs)."""
        return [i for i in self.instances.values() if not i.attached]

    def behind(self) -> list[Instance]:
        key = self.profile_key()
        return [i for i in self.members() if i.profile_key != key]

    def latest(self) -> RollingUpgrade | None:
        return self.upgrades[-1] if self.upgrades else None

    def new_instance_id(self) -> str:
        iid = str(self.next_id)
        self.next_id += 1
        return iid


@dataclass
class PendingOS:
    """A deferred automatic OS upgrade: announced to each VM (IMDS `Platform.PendingOSUpgrade`), waiting until
    it is approved, for all or some of the instances."""

    version: str
    since: datetime
    instances: list[str]


ImageKey = tuple[str, str, str]  # publisher, offer, sku (lower case)


@dataclass
class World:
    """Everything the emulator stores for one scenario."""

    subscription_id: str  # the first subscription: where a scenario puts what names no subscription
    # every subscription, the first one first; resource groups, load balancers and scale sets are keyed by
    # subscription too (lower case), as in Azure, where two subscriptions may each hold a group `rg-web`
    subscriptions: list[str] = field(default_factory=list)
    resource_groups: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (sub, rg) -> rg
    load_balancers: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)  # (sub, rg, lb)
    features: dict[str, str] = field(default_factory=dict)  # lower "ns/feature" -> state (every subscription)
    scale_sets: dict[tuple[str, str, str], ScaleSet] = field(default_factory=dict)  # (sub, rg, name)
    operations: dict[str, Operation] = field(default_factory=dict)
    images: dict[ImageKey, list[str]] = field(default_factory=dict)  # published platform versions, in order

    def __post_init__(self) -> None:
        if not self.subscriptions:
            self.subscriptions = [self.subscription_id]

    def has_subscription(self, sub: str) -> bool:
        return sub.lower() in (s.lower() for s in self.subscriptions)

    def subscription(self, sub: str | None) -> str:
        """A subscription as stored (its own spelling); the first for None; KeyError for an unknown one."""
        if sub is None:
            return self.subscription_id
        for known in self.subscriptions:
            if known.lower() == sub.lower():
                return known
        raise KeyError(sub)

    def find(self, rg: str, name: str, sub: str | None = None) -> ScaleSet:
        """A scale set by resource group and name, in `sub` or, without one, in whichever subscription holds
        it (KeyError when none does, or more than one does)."""
        if sub is not None:
            return self.scale_sets[(sub.lower(), rg.lower(), name.lower())]
        found = [s for k, s in self.scale_sets.items() if k[1:] == (rg.lower(), name.lower())]
        if len(found) != 1:
            raise KeyError(f"{rg}/{name}")
        return found[0]

    def newest(self, key: ImageKey | None) -> str | None:
        """The platform image version published last (what `latest` means now), None when none is known."""
        versions = self.images.get(key) if key else None
        return versions[-1] if versions else None

    def os_version(self, profile: dict[str, Any]) -> str | None:
        """The platform image version a new OS disk of `profile` gets: `latest` resolved against the
        catalogue, a pinned version as it is; None for other images, or `latest` of an image the catalogue
        lacks."""
        ref = (profile.get("storageProfile") or {}).get("imageReference") or {}
        key = image_key(ref)
        if key is None:
            return None
        version = str(ref.get("version") or "")
        return self.newest(key) if version.lower() == "latest" else version or None

    def feature_state(self, name: str) -> str:
        return self.features.get(name.lower(), "NotRegistered")

    def new_operation(self, name: str, location: str, now: datetime) -> Operation:
        op = Operation(str(uuid.uuid4()), name, location, now)
        self.operations[op.op_id] = op
        return op


# --- model helpers ---


def strip_secrets(profile: dict[str, Any]) -> dict[str, Any]:
    """A copy of a virtualMachineProfile without protectedSettings or OS secrets."""
    out = copy.deepcopy(profile)
    for ext in (out.get("extensionProfile") or {}).get("extensions") or []:
        props = ext.get("properties") or {}
        props.pop("protectedSettings", None)
        props.pop("protectedSettingsFromKeyVault", None)
    osp = out.get("osProfile")
    if isinstance(osp, dict):
        osp.pop("adminPassword", None)
        osp.pop("customData", None)
    return out


def canonical(profile: dict[str, Any]) -> str:
    """Comparable key of a profile, ignoring secrets."""
    return json.dumps(strip_secrets(profile), sort_keys=True, separators=(",", ":"))


def image_version(profile: dict[str, Any]) -> str | None:
    ref = (profile.get("storageProfile") or {}).get("imageReference") or {}
    if ref.get("version"):
        return str(ref["version"])
    rid = str(ref.get("id") or "")
    parts = rid.split("/")
    if len(parts) >= 2 and parts[-2].lower() == "versions":
        return parts[-1]
    return None


def image_key(ref: dict[str, Any]) -> ImageKey | None:
    """A platform image's publisher, offer and sku (lower case); None for gallery or managed images."""
    if any(ref.get(k) for k in ("id", "sharedGalleryImageId", "communityGalleryImageId")):
        return None
    parts = tuple(str(ref.get(k) or "").lower() for k in ("publisher", "offer", "sku"))
    return (parts[0], parts[1], parts[2]) if all(parts) else None


def is_app_health(ext: dict[str, Any]) -> bool:
    props = ext.get("properties") or {}
    return (
        str(props.get("publisher", "")).lower() == APP_HEALTH_PUBLISHER
        and str(props.get("type", "")).lower() in APP_HEALTH_TYPES
    )


def extensions_of(profile: dict[str, Any]) -> list[dict[str, Any]]:
    return list((profile.get("extensionProfile") or {}).get("extensions") or [])


def probe_id(profile: dict[str, Any]) -> str | None:
    hp = (profile.get("networkProfile") or {}).get("healthProbe") or {}
    return str(hp["id"]) if hp.get("id") else None


def merge(base: Any, patch: Any) -> Any:
    """ARM PATCH merge: objects merged recursively, everything else (arrays too) replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            out[k] = merge(base.get(k), v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(patch)


def keep_protected_settings(old_profile: dict[str, Any], new_profile: dict[str, Any]) -> None:
    """PATCH: an extension named like a stored one keeps its stored protectedSettings if omitted."""
    stored = {str(e.get("name", "")).lower(): e for e in extensions_of(old_profile)}
    for ext in extensions_of(new_profile):
        old = stored.get(str(ext.get("name", "")).lower())
        if old is None:
            continue
        props = ext.setdefault("properties", {})
        for key in ("protectedSettings", "protectedSettingsFromKeyVault"):
            old_val = (old.get("properties") or {}).get(key)
            if old_val is not None and key not in props:
                props[key] = copy.deepcopy(old_val)


# Enum values Azure stores in its own spelling whatever the case they were sent in (FACTS.md: `mode` sent as
# `rolling` is stored and returned as `Rolling`): property path -> canonical values.
ENUMS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("properties", "upgradePolicy", "mode"): ("Automatic", "Manual", "Rolling"),
    ("properties", "orchestrationMode"): ("Uniform", "Flexible"),
}


def canonical_enums(model: dict[str, Any]) -> None:
    """Store enum values in Azure's spelling (compared case-insensitively); unknown values stay as sent."""
    for path, values in ENUMS.items():
        parent: Any = model
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if isinstance(parent, dict) and isinstance(parent.get(path[-1]), str):
            sent = parent[path[-1]]
            parent[path[-1]] = next((v for v in values if v.lower() == sent.lower()), sent)


def effective_policy(model: dict[str, Any]) -> dict[str, Any]:
    rp = ((model.get("properties") or {}).get("upgradePolicy") or {}).get("rollingUpgradePolicy") or {}
    return {**ROLLING_DEFAULTS, **rp}
