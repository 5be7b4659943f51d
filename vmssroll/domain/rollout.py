"""Joining the upgrade status with the instances: what is rolling out, where each instance stands."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vmssroll.domain.durations import human
from vmssroll.domain.errors import ExitCode
from vmssroll.domain.model import Health, Instance, ScaleSet
from vmssroll.domain.plan import batch_size, cut_batches, pre_check
from vmssroll.domain.policy import effective
from vmssroll.domain.upgrade import UpgradeStatus, Verdict, verdict

IN_FLIGHT_STATES = ("updating", "creating", "deleting")


def in_flight(instance: Instance) -> bool:
    return (instance.provisioning_state or "").lower() in IN_FLIGHT_STATES


def flat(doc: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flat(value, name + "."))
        else:
            out[name] = value
    return out


@dataclass(frozen=True)
class ModelChange:
    """One field where instances still behind differ from the scale set's model."""

    field: str
    current: tuple[Any, ...]  # the values found on instances still behind
    target: Any

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "from": list(self.current), "to": self.target}


def rolling_out(scale_set: ScaleSet, instances: Sequence[Instance]) -> list[ModelChange]:
    """What the upgrade brings: image reference and extension versions, model vs. the instances behind."""
    behind = [i for i in instances if i.latest_model_applied is False]
    if not behind:
        return []
    target = {f"imageReference.{k}": v for k, v in flat(scale_set.image).items()}
    target |= {f"extension {e.name}": e.type_handler_version for e in scale_set.extensions}
    changes: list[ModelChange] = []
    for name, wanted in target.items():
        seen: set[Any] = set()
        for inst in behind:
            if name.startswith("imageReference."):
                value = flat(inst.image).get(name.removeprefix("imageReference."))
            else:
                value = inst.extensions.get(name.removeprefix("extension "))
            if value is not None and value != wanted:
                seen.add(value)
        if seen:
            changes.append(ModelChange(name, tuple(sorted(seen, key=str)), wanted))
    return changes


@dataclass(frozen=True)
class InstanceSummary:
    """Where the instances stand. Each instance not in flight is in at most one of `failed`, `unhealthy`,
    `health_unknown`, `initializing` and `no_health_signal`; `by_zone` counts `state_of` per zone."""

    total: int
    on_latest: int
    behind: tuple[str, ...]
    health: Mapping[str, int]
    in_flight: tuple[str, ...]
    failed: tuple[str, ...]  # its last operation failed, or upgraded (on the latest model) and unhealthy
    by_zone: Mapping[str, Mapping[str, int]]
    unhealthy: tuple[str, ...] = ()  # unhealthy and not yet upgraded (Azure counts it before each batch)
    health_unknown: tuple[str, ...] = ()  # vmHealth Unknown: Azure treats it as unhealthy, it did not fail
    initializing: tuple[str, ...] = ()  # Azure waits for its first health signal
    no_health_signal: tuple[str, ...] = ()  # no vmHealth at all: not counted unhealthy (FACTS.md)

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "onLatestModel": self.on_latest,
            "notOnLatestModel": list(self.behind),
            "health": dict(self.health),
            "inFlight": list(self.in_flight),
            "failed": list(self.failed),
            "unhealthy": list(self.unhealthy),
            "healthUnknown": list(self.health_unknown),
            "initializing": list(self.initializing),
            "noHealthSignal": list(self.no_health_signal),
            "byZone": {z: dict(c) for z, c in self.by_zone.items()},
        }


# Where an instance stands, in the order the zone table shows it; the keys of `byZone` in JSON.
STATES = {
    "onLatestModel": "on latest model",
    "updating": "updating",
    "initializing": "initializing",
    "failed": "failed",
    "healthUnknown": "health unknown",
    "noHealthSignal": "no signal",
    "behind": "behind",
}


def state_of(instance: Instance) -> str:
    """One key of STATES for where an instance stands: in flight, failed, behind the model, or on it with the
    health it reports ("onLatestModel" when healthy: whatever upgrade put it there)."""
    if in_flight(instance):
        return "updating"
    if (instance.provisioning_state or "").lower() == "failed":
        return "failed"
    if instance.latest_model_applied is False:
        return "behind"
    return {
        Health.INITIALIZING: "initializing",
        Health.UNHEALTHY: "failed",
        Health.UNKNOWN: "healthUnknown",
        Health.SILENT: "noHealthSignal",
    }.get(instance.health, "onLatestModel")


def summarize(instances: Sequence[Instance]) -> InstanceSummary:
    ordered = sorted(instances, key=lambda i: i.sort_key)
    by_zone: dict[str, Counter[str]] = {}
    for inst in ordered:
        by_zone.setdefault(inst.zone or "-", Counter())[state_of(inst)] += 1
    settled = [i for i in ordered if not in_flight(i)]
    failed = [i for i in settled if state_of(i) == "failed"]

    def named(health: Health) -> tuple[str, ...]:
        return tuple(i.instance_id for i in settled if i.health is health and i not in failed)

    return InstanceSummary(
        total=len(ordered),
        on_latest=sum(1 for i in ordered if i.latest_model_applied is not False),
        behind=tuple(i.instance_id for i in ordered if i.latest_model_applied is False),
        health=dict(Counter(i.health.value for i in ordered)),
        in_flight=tuple(i.instance_id for i in ordered if in_flight(i)),
        failed=tuple(i.instance_id for i in failed),
        by_zone={z: dict(sorted(c.items())) for z, c in sorted(by_zone.items())},
        unhealthy=named(Health.UNHEALTHY),
        health_unknown=named(Health.UNKNOWN),
        initializing=named(Health.INITIALIZING),
        no_health_signal=named(Health.SILENT),
    )


@dataclass(frozen=True)
class BatchEstimate:
    batch_size: int
    current: int
    total: int


def batch_estimate(
    status: UpgradeStatus, capacity: int, zone_sizes: Sequence[int] | None = None
) -> BatchEstimate | None:
    """Batch N of M (Azure does not report batches), cut as `plan` cuts them: batches of the policy's batch %
    of the set, within one zone when the upgrade is zonal (`zone_sizes`: its instances per zone, in zone
    order)."""
    p = status.progress
    if p.total == 0:
        return None
    policy = effective(status.policy)
    total = max(capacity, p.total)
    size = batch_size(total, int(policy["maxBatchInstancePercent"]))
    limit = int(policy["maxUnhealthyInstancePercent"])
    # Sized as plan sizes a healthy set's batches (the health of each batch's moment is not known here).
    size = pre_check(1, 0, total, size, limit, size).size
    zones = zone_sizes if zone_sizes and sum(zone_sizes) == p.total else [p.total]
    sizes = [len(b) for b in cut_batches([[None] * n for n in zones], lambda number, available: size)]
    started = p.successful + p.failed + p.in_progress
    current, reached = 1, 0
    for number, n in enumerate(sizes, start=1):
        current, reached = number, reached + n
        if reached >= started:
            break
    return BatchEstimate(size, current, len(sizes))


def zone_sizes(
    status: UpgradeStatus, zones: Sequence[str], instances: Sequence[Instance]
) -> list[int] | None:
    """The upgrade's instances per zone, in zone order, when its batches stay within zones (a zonal set
    without cross-zone upgrade): every instance, or those behind the model, whichever adds up to Azure's
    count."""
    if not zones or effective(status.policy)["enableCrossZoneUpgrade"]:
        return None
    everyone = Counter(i.zone or "" for i in instances)
    behind = Counter(i.zone or "" for i in instances if i.latest_model_applied is False)
    for counts in (everyone, behind):
        if sum(counts.values()) == status.progress.total:
            return [counts[z] for z in sorted(counts)]
    return None


def eta_seconds(status: UpgradeStatus, now: datetime) -> float | None:
    """Time left if the pace so far holds."""
    p = status.progress
    done = p.successful + p.failed
    if status.start_time is None or done == 0 or not status.running:
        return None
    elapsed = (now - status.start_time).total_seconds()
    return max(0.0, elapsed / done * (p.total - done))


NEW_UPGRADE_GRACE = 300.0  # how long Rolling mode gets to start the upgrade of a model change


@dataclass(frozen=True)
class Outset:
    """What a watch found when it began: the latest upgrade had Completed (or none had run) while instances
    were behind the model. That upgrade's success says nothing about them."""

    ended: UpgradeStatus | None  # the latest upgrade as first read
    behind: int  # instances not on the latest model
    mode: str  # the scale set's upgrade mode
    args: str  # the target's options, for the commands to suggest

    def same(self, status: UpgradeStatus | None) -> bool:
        """Whether `status` is still that ended upgrade (no new one has appeared)."""
        if status is None or self.ended is None:
            return status is None and self.ended is None
        return not status.running and status.start_time == self.ended.start_time


def outset(
    status: UpgradeStatus | None, summary: InstanceSummary | None, mode: str | None, args: str
) -> Outset | None:
    """An Outset when the latest upgrade Completed (or none has run) while instances are behind the model;
    None otherwise (a Faulted or Cancelled upgrade explains instances left behind: its outcome stands)."""
    if status is not None and status.code.lower() != "completed":
        return None
    if summary is None or not summary.behind:
        return None
    return Outset(status, len(summary.behind), mode or "Manual", args)


def watch_verdict(status: UpgradeStatus | None, start: Outset | None, waited: float = 0.0) -> Verdict:
    """The verdict of a watch that began at `start`, `waited` seconds ago: Azure's status decides, unless the
    latest upgrade had already ended while instances were behind the model and is still the latest.

    Then in Manual or Automatic mode nothing will roll those instances: done, exit 3, saying what to run. In
    Rolling mode a model change starts an upgrade soon: wait for it (up to NEW_UPGRADE_GRACE) rather than
    report the previous upgrade's outcome.
    """
    if start is None or not start.same(status):
        return verdict(status)
    n, mode, args = start.behind, start.mode, start.args
    if mode.lower() != "rolling":
        return Verdict(
            True,
            ExitCode.NOT_READY,
            f"No upgrade is running and {n} instance(s) are not on the latest model: nothing rolls them in "
            f"{mode} mode. Switch to Rolling with `vmssroll enable-rolling {args}`, then roll them with "
            f"`vmssroll restart {args}`",
        )
    if waited >= NEW_UPGRADE_GRACE:
        return Verdict(
            True,
            ExitCode.NOT_READY,
            f"{n} instance(s) are not on the latest model and no rolling upgrade started within "
            f"{human(NEW_UPGRADE_GRACE)}: roll them with `vmssroll restart {args}`",
        )
    return Verdict(False, ExitCode.OK, f"Waiting for the upgrade of {n} instance(s) to start")


def upgrade_kind(status: UpgradeStatus | None, summary: InstanceSummary) -> str | None:
    """What the latest upgrade rolls out, as far as it can be told: Azure's status document does not say.

    Instances behind the model mean a model change (image, extensions, sku); otherwise it is unknown (an OS
    image or extension upgrade re-applies the model, and a finished model upgrade leaves nobody behind).
    """
    if status is None:
        return None
    return "model" if summary.behind else None
