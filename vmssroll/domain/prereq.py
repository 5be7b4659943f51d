"""Prerequisites for rolling upgrades: one pure rule per row of `vmssroll check`, on plain data.

Every rule looks at `Facts` (the scale set, its instances, what the load balancer says of the probe, the state
of the MaxSurge feature, the policy in question) and returns a `Rule`: passed, failed or warning, with the
evidence and, for a failure, the exact fix. The command gathers the facts and renders the report.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from vmssroll.domain.health import HealthCounts, count_health, health_sources, parse_probe_id
from vmssroll.domain.model import HEALTH_EXTENSION_PUBLISHER, Extension, Health, Instance, ScaleSet
from vmssroll.domain.policy import effective

MAX_SURGE_FEATURE = ("Microsoft.Compute", "MaxSurgeRollingUpgrade")
GRACE_PERIOD_MAX = 7200  # seconds, rich health states only
PROTOCOLS = ("http", "https", "tcp")


class Purpose(StrEnum):
    """What the scale set is being checked for (`--for`)."""

    ROLLING = "rolling"
    MAX_SURGE = "max-surge"
    OS_UPGRADE = "os-upgrade"


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"


@dataclass(frozen=True)
class Rule:
    """One rule's verdict: what was found (message, evidence) and, when it failed, how to fix it."""

    name: str
    status: Status
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "message": self.message,
            "evidence": dict(self.evidence),
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Facts:
    """Everything the rules look at, read from Azure by the command."""

    scale_set: ScaleSet
    instances: Sequence[Instance] = ()
    lb_probes: Sequence[str] | None = None  # probe names on the probe's load balancer; None: no such LB
    feature_state: str | None = None  # Microsoft.Compute/MaxSurgeRollingUpgrade; None: not read / not found
    rolling: Mapping[str, Any] | None = None  # the rolling policy to check against; None: the stored one

    @property
    def policy(self) -> dict[str, Any]:
        stored = self.scale_set.upgrade_policy.rolling
        return effective(self.rolling if self.rolling is not None else stored)

    @property
    def members(self) -> list[Instance]:
        """Instances made from the model (attached Flexible VMs are not upgraded by it)."""
        return [i for i in self.instances if not i.attached]


@dataclass(frozen=True)
class Report:
    purpose: Purpose
    scale_set: str
    rules: tuple[Rule, ...]

    @property
    def ready(self) -> bool:
        return not self.failed

    @property
    def failed(self) -> list[Rule]:
        return [r for r in self.rules if r.status is Status.FAILED]

    @property
    def warnings(self) -> list[Rule]:
        return [r for r in self.rules if r.status is Status.WARNING]

    def to_json(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "for": self.purpose.value,
            "scaleSet": self.scale_set,
            "rules": [r.to_json() for r in self.rules],
        }


# Fix texts ------------------------------------------------------------------------------------------------


def _vmss(ss: ScaleSet) -> str:
    return f"--resource-group {ss.resource_group} --vmss-name {ss.name}"


def _args(ss: ScaleSet) -> str:
    return f"-g {ss.resource_group} -n {ss.name}"


def add_extension_fix(ss: ScaleSet) -> str:
    return (
        f"az vmss extension set {_vmss(ss)} --name ApplicationHealthLinux "
        f"--publisher {HEALTH_EXTENSION_PUBLISHER} --version 2.0 "
        """--settings '{"protocol": "http", "port": 80, "requestPath": "/health"}'"""
        " (ApplicationHealthWindows on Windows; use your application's port and path)"
    )


def set_probe_fix(ss: ScaleSet, probe_id: str = "<load balancer probe id>") -> str:
    return f"az vmss update {_args(ss)} --set virtualMachineProfile.networkProfile.healthProbe.id={probe_id}"


def probe_ids(lb_id: str, names: Sequence[str]) -> list[str]:
    return [f"{lb_id}/probes/{n}" for n in names]


# Rules ----------------------------------------------------------------------------------------------------


def _probe_found(facts: Facts) -> bool:
    probe = facts.scale_set.health_probe_id
    parsed = parse_probe_id(probe) if probe else None
    if parsed is None or facts.lb_probes is None:
        return False
    return parsed[1].lower() in {p.lower() for p in facts.lb_probes}


def health_source(facts: Facts) -> Rule:
    """A health signal Azure accepts for this orchestration mode exists."""
    ss = facts.scale_set
    ext = ss.health_extension
    evidence: dict[str, Any] = {
        "orchestrationMode": ss.orchestration_mode,
        "sources": [s.to_json() for s in health_sources(ss)],
    }
    if ext is not None:
        return Rule("health-source", Status.PASSED, f"Application Health extension {ext.name}", evidence)
    if ss.external_health:
        return Rule(
            "health-source",
            Status.PASSED,
            "external health policy (properties.externalHealthPolicy); vmssroll cannot check what feeds it",
            evidence,
        )
    if ss.is_flexible:
        note = " (a load balancer probe does not count on Flexible)" if ss.health_probe_id else ""
        return Rule(
            "health-source",
            Status.FAILED,
            f"no Application Health extension; Flexible scale sets accept only the extension{note}",
            evidence,
            add_extension_fix(ss),
        )
    if ss.health_probe_id and _probe_found(facts):
        parsed = parse_probe_id(ss.health_probe_id)
        where = f"{parsed[1]} on {parsed[0].rsplit('/', 1)[-1]}" if parsed else ss.health_probe_id
        return Rule("health-source", Status.PASSED, f"load balancer probe {where}", evidence)
    found = (
        "the configured probe does not exist" if ss.health_probe_id else "neither a probe nor the extension"
    )
    return Rule(
        "health-source",
        Status.FAILED,
        f"no usable health signal: {found}",
        evidence,
        f"{set_probe_fix(ss)}, or {add_extension_fix(ss)}",
    )


def health_probe(facts: Facts) -> Rule | None:
    """The probe named in networkProfile.healthProbe really exists on its load balancer."""
    ss = facts.scale_set
    probe = ss.health_probe_id
    if not probe:
        return None
    parsed = parse_probe_id(probe)
    evidence: dict[str, Any] = {"probeId": probe}
    if ss.is_flexible:
        return Rule(
            "health-probe",
            Status.WARNING,
            "a load balancer probe is set but Flexible scale sets take health only from the extension",
            evidence,
        )
    if parsed is None:
        return Rule(
            "health-probe",
            Status.FAILED,
            "the health probe is not a load balancer probe (Application Gateway probes are not accepted)",
            evidence,
            set_probe_fix(ss),
        )
    lb_id, name = parsed
    evidence["loadBalancer"] = lb_id
    if facts.lb_probes is None:
        return Rule(
            "health-probe",
            Status.FAILED,
            f"load balancer {lb_id.rsplit('/', 1)[-1]} does not exist",
            evidence,
            set_probe_fix(ss),
        )
    evidence["probesOnLoadBalancer"] = list(facts.lb_probes)
    if _probe_found(facts):
        return Rule(
            "health-probe", Status.PASSED, f"probe {name} exists on {lb_id.rsplit('/', 1)[-1]}", evidence
        )
    lb_name = lb_id.rsplit("/", 1)[-1]
    lb_rg = lb_id.split("/")[4] if len(lb_id.split("/")) > 4 else ss.resource_group
    existing = probe_ids(lb_id, facts.lb_probes)
    fix = (
        f"az network lb probe create -g {lb_rg} --lb-name {lb_name} -n {name} --protocol tcp --port 80, "
        f"or point the scale set at an existing probe: {set_probe_fix(ss, existing[0] if existing else '<probe id>')}"
    )
    available = ", ".join(facts.lb_probes) or "none"
    return Rule(
        "health-probe",
        Status.FAILED,
        f"probe {name} does not exist on load balancer {lb_name} (its probes: {available})",
        evidence,
        fix,
    )


def single_source(facts: Facts) -> Rule | None:
    """At most one health source: probe, extension or external health policy."""
    ss = facts.scale_set
    sources = health_sources(ss)
    if not sources:
        return None
    evidence = {"sources": [s.to_json() for s in sources]}
    kinds = [s.kind for s in sources]
    if len(sources) == 1:
        return Rule("single-source", Status.PASSED, f"one health source: {kinds[0]}", evidence)
    fixes = []
    if "probe" in kinds:
        fixes.append(f"az vmss update {_args(ss)} --remove virtualMachineProfile.networkProfile.healthProbe")
    ext = ss.health_extension
    if ext is not None:
        fixes.append(f"az vmss extension delete {_vmss(ss)} --name {ext.name}")
    if "external" in kinds:
        fixes.append(f"az vmss update {_args(ss)} --set externalHealthPolicy.enabled=false")
    return Rule(
        "single-source",
        Status.FAILED,
        f"{len(sources)} health sources configured ({', '.join(kinds)}); Azure accepts only one",
        evidence,
        "keep one and remove the others: " + "; or ".join(fixes),
    )


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.strip().isdigit() and int(value) > 0:
        return int(value)
    return None


def _rich(ext: Extension) -> bool | None:
    """True for typeHandlerVersion 2.x (rich states), False for 1.x (binary), None when unknown."""
    major = (ext.type_handler_version or "").strip().split(".", 1)[0]
    return {"2": True, "1": False}.get(major)


def extension_problems(ext: Extension) -> tuple[list[str], list[str]]:
    """(errors, warnings) in the extension's public settings."""
    s = {str(k): v for k, v in ext.settings.items()}
    errors: list[str] = []
    warnings: list[str] = []
    protocol = str(s.get("protocol") or "").lower()
    if protocol not in PROTOCOLS:
        errors.append(f"protocol {s.get('protocol')!r} must be one of http, https, tcp")
    port = s.get("port")
    if port is None:
        if protocol == "tcp":
            errors.append("port is required with tcp")
        elif protocol in ("http", "https"):
            warnings.append(f"no port: {protocol} defaults to {80 if protocol == 'http' else 443}; set it")
        else:
            errors.append("port is required")
    elif not 1 <= (_positive_int(port) or 0) <= 65535:
        errors.append(f"port {port!r} is not a port number (1-65535)")
    path = s.get("requestPath")
    if protocol in ("http", "https") and not path:
        errors.append(f"requestPath is required with {protocol}")
    if protocol == "tcp" and path:
        errors.append("requestPath is not allowed with tcp")
    for key in ("intervalInSeconds", "numberOfProbes"):
        if key in s and _positive_int(s[key]) is None:
            errors.append(f"{key} {s[key]!r} must be a positive whole number")
    rich = _rich(ext)
    if rich is None:
        warnings.append(f"typeHandlerVersion {ext.type_handler_version!r} is neither 1.x nor 2.x")
    if "gracePeriod" in s:
        grace = _positive_int(s["gracePeriod"])
        if rich is False:
            warnings.append("gracePeriod is ignored with binary states (typeHandlerVersion 1.x)")
        elif grace is None or grace > GRACE_PERIOD_MAX:
            errors.append(f"gracePeriod {s['gracePeriod']!r} must be 1-{GRACE_PERIOD_MAX} seconds")
    return errors, warnings


def extension_settings(facts: Facts) -> Rule | None:
    """The Application Health extension's settings are ones it accepts."""
    ss = facts.scale_set
    ext = ss.health_extension
    if ext is None:
        return None
    rich = _rich(ext)
    states = {True: "rich states (2.x)", False: "binary states (1.x)", None: "unknown states"}[rich]
    evidence = {
        "extension": ext.name,
        "type": ext.type,
        "typeHandlerVersion": ext.type_handler_version,
        "states": states,
        "settings": dict(ext.settings),
    }
    errors, warnings = extension_problems(ext)
    if errors:
        return Rule(
            "extension-settings",
            Status.FAILED,
            f"{ext.name}: " + "; ".join(errors + warnings),
            evidence,
            f"az vmss extension set {_vmss(ss)} --name {ext.type} --publisher {ext.publisher} "
            f"--version {ext.type_handler_version or '2.0'} --settings "
            """'{"protocol": "http", "port": 80, "requestPath": "/health"}' (use your application's values; """
            """tcp takes a port and no requestPath)""",
        )
    if warnings:
        return Rule("extension-settings", Status.WARNING, f"{ext.name}: " + "; ".join(warnings), evidence)
    return Rule(
        "extension-settings",
        Status.PASSED,
        f"{ext.name}: {_describe_settings(ext)}, {states}",
        evidence,
    )


def _describe_settings(ext: Extension) -> str:
    s = ext.settings
    return f"{s.get('protocol')} port {s.get('port', 'default')}" + (
        f" path {s['requestPath']}" if s.get("requestPath") else ""
    )


def _ids(instances: Sequence[Instance], state: Health) -> list[str]:
    return [i.instance_id for i in sorted(instances, key=lambda i: i.sort_key) if i.health is state]


def instance_health(facts: Facts) -> Rule:
    """Every instance made from the model reports health, and how."""
    ss = facts.scale_set
    members = facts.members
    counts = count_health(members)
    by = {h.value: _ids(members, h) for h in Health if counts.by_state.get(h)}
    evidence: dict[str, Any] = {**counts.to_json(), "ids": by}
    summary = describe_counts(counts)
    if not members:
        return Rule("instance-health", Status.WARNING, "no instances: health cannot be confirmed", evidence)
    silent, init = by.get("silent", []), by.get("initializing", [])
    if silent or init:
        fixes = []
        if init:
            fixes.append(
                f"wait until they report Healthy (`vmssroll enable-rolling {_args(ss)} --wait-healthy 10m`)"
            )
        if silent:
            behind = [i for i in counts.behind if i in silent]
            if health_source(facts).status is Status.FAILED:
                fixes.append("configure a health source first (see health-source)")
            elif behind and not ss.is_flexible:
                fixes.append(
                    f"apply the latest model so the health source reaches them: "
                    f"az vmss update-instances {_args(ss)} --instance-ids {' '.join(behind)}"
                )
            elif behind:
                fixes.append(
                    "these VMs were made before the health source was added to the model: add the extension "
                    f"to each (az vm extension set -g {ss.resource_group} --vm-name VM --name ApplicationHealthLinux "
                    f"--publisher {HEALTH_EXTENSION_PUBLISHER} --version 2.0 --settings '<the scale set's settings>')"
                )
            else:
                fixes.append(
                    f"check that the application answers the health probe on instances {', '.join(silent)}"
                )
        return Rule(
            "instance-health",
            Status.FAILED,
            f"not every instance reports health: {summary}",
            evidence,
            "; ".join(fixes),
        )
    if counts.healthy < counts.total:
        return Rule("instance-health", Status.WARNING, summary, evidence)
    return Rule("instance-health", Status.PASSED, summary, evidence)


def describe_counts(counts: HealthCounts) -> str:
    parts = [f"{counts.by_state.get(h, 0)} {h.value}" for h in Health if counts.by_state.get(h)]
    return f"{', '.join(parts) or 'none'} of {counts.total}"


def latest_model(facts: Facts) -> Rule:
    """Instances behind the model: health shows only once it is applied, and Rolling may upgrade them at once."""
    counts = count_health(facts.members)
    evidence = {"notOnLatestModel": list(counts.behind), "total": counts.total}
    if not counts.behind:
        return Rule(
            "latest-model", Status.PASSED, f"all {counts.total} instances run the latest model", evidence
        )
    return Rule(
        "latest-model",
        Status.WARNING,
        f"{len(counts.behind)} of {counts.total} instances are not on the latest model "
        f"({', '.join(counts.behind)}): their health shows only after the model is applied, and switching to "
        "Rolling may start a rolling upgrade for them at once",
        evidence,
    )


@dataclass(frozen=True)
class ShareArithmetic:
    """Azure's check before the first batch; built by `share_arithmetic`."""

    total: int  # instances in the set
    batch: int  # the nominal batch size (maxBatchInstancePercent)
    unhealthy: int
    threshold: int  # maxUnhealthyInstancePercent
    room: int  # floor(total * threshold / 100) - unhealthy: how many more may go unhealthy
    first_batch: int  # the size the check leaves the first batch (at least one)
    refused: bool  # Azure faults the upgrade before its first batch

    @property
    def percent(self) -> float:
        return self.unhealthy * 100 / self.total if self.total else 0.0

    @property
    def ok(self) -> bool:
        return not self.refused

    @property
    def shrinks(self) -> bool:
        return not self.refused and self.first_batch < self.batch

    @property
    def needed_threshold(self) -> int:
        """The smallest maxUnhealthyInstancePercent that lets the first batch start."""
        return self.unhealthy * 100 // self.total + 1 if self.total else 0

    @property
    def full_batch_threshold(self) -> int:
        """The smallest maxUnhealthyInstancePercent that leaves room for a full first batch."""
        return math.ceil((self.unhealthy + self.batch) * 100 / self.total) if self.total else 0

    def text(self) -> str:
        head = f"{self.unhealthy} unhealthy × 100 / {self.total} = {self.percent:.0f}%"
        if self.refused:
            return f"{head} ≥ maxUnhealthyInstancePercent {self.threshold}%: the limit is reached before any batch"
        room = f"room for {max(0, self.room)} more unhealthy"
        if self.room < 1:
            room += "; a batch is at least one instance"
        if self.shrinks:
            return (
                f"{head} < maxUnhealthyInstancePercent {self.threshold}%: the first batch shrinks from "
                f"{self.batch} to {self.first_batch} ({room})"
            )
        return f"{head} < maxUnhealthyInstancePercent {self.threshold}%: first batch of {self.batch} ({room})"


def batch_size(capacity: int, max_batch_percent: int) -> int:
    """Instances per batch: 20% of 10 is 2; a batch is at least one instance."""
    return max(1, math.floor(capacity * max_batch_percent / 100))


def share_arithmetic(counts: HealthCounts, policy: Mapping[str, Any]) -> ShareArithmetic:
    """Azure's check before the first batch: refused, or the size the first batch may have."""
    # not verified against Azure; derived from the RollingUpgradePolicy docs: maxUnhealthyInstancePercent caps
    # the instances "simultaneously unhealthy, either as a result of being upgraded, or by being found
    # unhealthy", checked before any batch; maxBatchInstancePercent "is a maximum" that unhealthy instances can
    # lower. With unhealthy * 100 / total already at the limit, any batch (at least one instance) exceeds it:
    # refused. Otherwise the batch shrinks to the room left, floor(total * limit / 100) - unhealthy, at least one.
    size = batch_size(counts.total, int(policy["maxBatchInstancePercent"]))
    threshold = int(policy["maxUnhealthyInstancePercent"])
    unhealthy = counts.unhealthy
    refused = counts.total > 0 and unhealthy * 100 >= threshold * counts.total
    room = counts.total * threshold // 100 - unhealthy
    first = min(size, max(1, room))
    return ShareArithmetic(counts.total, size, unhealthy, threshold, room, first, refused)


def unhealthy_share(facts: Facts) -> Rule:
    """Azure faults the upgrade before its first batch when too many instances are unhealthy, and shrinks
    batches when fewer are."""
    ss = facts.scale_set
    counts = count_health(facts.members)
    if not counts.total:
        return Rule("unhealthy-share", Status.PASSED, "no instances", {"total": 0})
    a = share_arithmetic(counts, facts.policy)
    unhealthy_ids = [
        i.instance_id for i in sorted(facts.members, key=lambda i: i.sort_key) if i.health.counts_unhealthy
    ]
    evidence = {
        "total": a.total,
        "batchSize": a.batch,
        "firstBatchSize": a.first_batch,
        "unhealthy": a.unhealthy,
        "unhealthyIds": unhealthy_ids,
        "room": a.room,
        "percent": round(a.percent, 1),
        "maxUnhealthyInstancePercent": a.threshold,
        "maxBatchInstancePercent": int(facts.policy["maxBatchInstancePercent"]),
    }
    repair = (
        [f"repair or replace the unhealthy instances ({', '.join(unhealthy_ids)})"] if unhealthy_ids else []
    )
    if a.shrinks:
        fixes = list(repair)
        if a.full_batch_threshold <= 100:
            fixes.append(
                f"raise --max-unhealthy-instance-percent to {a.full_batch_threshold} for full batches"
            )
        if not unhealthy_ids:
            fixes.append("lower --max-batch-instance-percent to at most --max-unhealthy-instance-percent")
        return Rule(
            "unhealthy-share",
            Status.WARNING,
            a.text(),
            evidence,
            f"{'; or '.join(fixes)} (vmssroll policy set {_args(ss)} ...)",
        )
    if a.ok:
        return Rule("unhealthy-share", Status.PASSED, a.text(), evidence)
    if health_source(facts).status is Status.FAILED:
        return Rule(
            "unhealthy-share",
            Status.FAILED,
            f"Azure would fault the upgrade before its first batch: {a.text()}",
            evidence,
            "configure a health source first (see health-source): until instances report, they count as unhealthy",
        )
    fixes = list(repair)
    if a.needed_threshold <= 100:
        fixes.append(f"raise --max-unhealthy-instance-percent to {max(5, a.needed_threshold)}")
    return Rule(
        "unhealthy-share",
        Status.FAILED,
        f"Azure would fault the upgrade before its first batch: {a.text()}",
        evidence,
        f"{'; or '.join(fixes)} (vmssroll policy set {_args(ss)} ...)",
    )


def attached_vms(facts: Facts) -> Rule | None:
    """Flexible: VMs attached to the set should carry the Application Health extension too."""
    ss = facts.scale_set
    attached = [i for i in facts.instances if i.attached]
    if not ss.is_flexible or not attached:
        return None
    missing = [i.name for i in attached if not _has_health_extension(i)]
    evidence = {"attached": [i.name for i in attached], "withoutExtension": missing}
    if not missing:
        return Rule(
            "attached-vms", Status.PASSED, f"{len(attached)} attached VMs carry the extension", evidence
        )
    return Rule(
        "attached-vms",
        Status.WARNING,
        f"{len(missing)} of {len(attached)} attached VMs lack the Application Health extension: {', '.join(missing)}",
        evidence,
        "; ".join(
            f"az vm extension set -g {ss.resource_group} --vm-name {name} --name ApplicationHealthLinux "
            f"--publisher {HEALTH_EXTENSION_PUBLISHER} --version 2.0 --settings '<same settings as the scale set>'"
            for name in missing
        ),
    )


def _has_health_extension(vm: Instance) -> bool:
    """An instance lists its extensions by name only (name → typeHandlerVersion), so the name decides:
    ApplicationHealthLinux/Windows, or any name with "health" in it (HealthExtension, appHealth, ...)."""
    return any("health" in name.lower() for name in vm.extensions)


def overprovision(facts: Facts) -> Rule:
    """MaxSurge needs overprovisioning off."""
    ss = facts.scale_set
    value = ss.overprovision if ss.overprovision is not None else (False if ss.is_flexible else None)
    evidence = {"overprovision": ss.overprovision}
    if value is False:
        return Rule("overprovision", Status.PASSED, "overprovision is off", evidence)
    state = "on" if value else "unset (on by default for Uniform)"
    return Rule(
        "overprovision",
        Status.FAILED,
        f"MaxSurge needs overprovision off; it is {state}",
        evidence,
        f"az vmss update {_args(ss)} --set overprovision=false",
    )


def max_surge_feature(facts: Facts) -> Rule:
    """The subscription is registered for Microsoft.Compute/MaxSurgeRollingUpgrade."""
    ns, name = MAX_SURGE_FEATURE
    state = facts.feature_state
    evidence = {"feature": f"{ns}/{name}", "state": state}
    if state is not None and state.lower() == "registered":
        return Rule("max-surge-feature", Status.PASSED, f"{ns}/{name} is Registered", evidence)
    fix = (
        f"az feature register --namespace {ns} --name {name}; wait until "
        f"`az feature show --namespace {ns} --name {name}` says Registered; then az provider register -n {ns}"
    )
    shown = state or "not found"
    return Rule("max-surge-feature", Status.FAILED, f"{ns}/{name} is {shown}", evidence, fix)


def surge_capacity(facts: Facts) -> Rule:
    """A reminder: surge instances need quota, IP addresses and subnet space that vmssroll cannot check."""
    total = len(facts.members) or facts.scale_set.capacity
    extra = batch_size(total, int(facts.policy["maxBatchInstancePercent"]))
    sku = facts.scale_set.sku or "the scale set's size"
    return Rule(
        "surge-capacity",
        Status.WARNING,
        f"each batch first creates {extra} extra instance(s) of {sku}: keep spare core quota for them, "
        f"{extra} free IP address(es) and room in the subnet; Azure checks quota before each batch and cancels "
        "the upgrade if it runs short",
        {"extraInstancesPerBatch": extra, "sku": facts.scale_set.sku, "capacity": total},
    )


def os_image(facts: Facts) -> Rule:
    """Automatic OS image upgrades follow platform images only when the version is `latest`."""
    image = dict(facts.scale_set.image)
    evidence = {"imageReference": image}
    if image.get("id") or image.get("sharedGalleryImageId") or image.get("communityGalleryImageId"):
        return Rule("os-image", Status.PASSED, "gallery image reference", evidence)
    version = str(image.get("version") or "")
    if version.lower() == "latest":
        return Rule("os-image", Status.PASSED, "platform image at version latest", evidence)
    ss = facts.scale_set
    return Rule(
        "os-image",
        Status.WARNING,
        f"platform image pinned to version {version or '(none)'}: OS image upgrades follow only `latest`",
        evidence,
        f"az vmss update {_args(ss)} --set virtualMachineProfile.storageProfile.imageReference.version=latest",
    )


RuleFn = Callable[[Facts], Rule | None]
COMMON: tuple[RuleFn, ...] = (
    health_source,
    health_probe,
    single_source,
    extension_settings,
    instance_health,
    latest_model,
    unhealthy_share,
    attached_vms,
)
EXTRA: Mapping[Purpose, tuple[RuleFn, ...]] = {
    Purpose.ROLLING: (),
    Purpose.MAX_SURGE: (overprovision, max_surge_feature, surge_capacity),
    Purpose.OS_UPGRADE: (os_image,),
}


def purpose_for(purpose: Purpose, rolling: Mapping[str, Any]) -> Purpose:
    """A rolling policy with maxSurge on is checked as max-surge."""
    if purpose is Purpose.ROLLING and effective(rolling)["maxSurge"]:
        return Purpose.MAX_SURGE
    return purpose


def evaluate(purpose: Purpose, facts: Facts) -> Report:
    results = [fn(facts) for fn in (*COMMON, *EXTRA[purpose])]
    return Report(purpose, facts.scale_set.name, tuple(r for r in results if r is not None))


def probe_load_balancer(scale_set: ScaleSet) -> str | None:
    """The load balancer to read for the probe check (None when there is nothing to look up)."""
    if not scale_set.health_probe_id or scale_set.is_flexible:
        return None
    parsed = parse_probe_id(scale_set.health_probe_id)
    return parsed[0] if parsed else None


def all_healthy(instances: Sequence[Instance]) -> bool:
    """Every instance made from the model reports Healthy (what --wait-healthy waits for)."""
    return all(i.health is Health.HEALTHY for i in instances if not i.attached)
