"""Predicting a rolling upgrade: which instances it touches, in which batches, with which health checks.

Azure does not publish its exact batching. The rules below follow its documentation; where they go beyond it,
the guess is written down in ASSUMPTIONS (shown with every plan) so that it is easy to find and to change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from vmssroll.domain.durations import human, iso_seconds
from vmssroll.domain.model import Instance

T = TypeVar("T")

DEFAULT_BATCH_TIME = "5m"
PRE_CHECK_ERROR = "MaxUnhealthyInstancePercentExceededInRollingUpgrade"

ASSUMPTIONS: tuple[str, ...] = (
    "Azure does not publish its exact batching; this plan follows its documented rules.",
    "Batch size is at most maxBatchInstancePercent of the instances in the set, rounded down, at least one "
    "instance.",
    "Without cross-zone upgrade, a zonal set is upgraded zone by zone (zones in name order) and a batch never "
    "spans zones; with cross-zone upgrade, or without zones, batches follow instance id order.",
    "With prioritizeUnhealthyInstances, unhealthy instances (and, zonal, the zones holding them) come first.",
    "Unknown health counts as unhealthy; initializing and no health signal at all count as neither.",
    "Before each batch, with U of the set's T instances unhealthy: U × 100 / T more than "
    'maxUnhealthyInstancePercent faults the upgrade (Azure\'s limits are "more than": 2 of 10 at 20% is '
    "allowed); otherwise the batch shrinks to the room left, floor(T × maxUnhealthyInstancePercent / 100) − U, "
    "at least one instance (the shrinking is derived from the RollingUpgradePolicy docs, not verified).",
    "Upgraded instances turn healthy; instances unhealthy now stay unhealthy until their batch upgrades them.",
    "With MaxSurge, each batch first creates as many new instances (new ids) as it upgrades, then deletes the "
    "old ones.",
    "Each batch takes {batch_time} (an assumed time per batch); the pause between batches comes on top.",
)


@dataclass(frozen=True)
class PreCheck:
    """The check Azure makes before a batch starts (maxUnhealthyInstancePercent); built by `pre_check`."""

    number: int  # the batch about to start
    unhealthy: int  # unhealthy instances in the set when the batch is about to start
    total: int  # instances in the set
    limit: int  # maxUnhealthyInstancePercent
    nominal: int  # the batch size maxBatchInstancePercent gives
    available: int  # candidates left in the zone (or, cross-zone, in the set) the batch is cut from
    room: int  # how many more may go unhealthy before the limit: floor(total * limit / 100) - unhealthy
    allowed: int  # the batch size the check leaves (at least one; the size refused when `refused`)
    refused: bool  # Azure faults the upgrade before this batch

    @property
    def size(self) -> int:
        return min(self.allowed, self.available)

    @property
    def percent(self) -> float:
        return self.unhealthy * 100 / self.total if self.total else 0.0

    @property
    def full_size(self) -> int:
        """The size the batch would have with no unhealthy instance around."""
        return min(self.nominal, self.available)

    @property
    def shrunk(self) -> bool:
        return not self.refused and self.size < self.full_size

    def arithmetic(self) -> str:
        head = f"{self.unhealthy} unhealthy of {self.total} = {_pct(self.percent)}"
        if self.refused:
            return (
                f"{head} > limit {self.limit}%: Azure would fault the upgrade before batch {self.number} "
                f"({PRE_CHECK_ERROR})"
            )
        room = f"room for {max(0, self.room)} more unhealthy"
        if self.room < 1:
            room += "; a batch is at least one instance"
        what = f"batch shrinks to {self.size}" if self.shrunk else f"batch of {self.size}"
        return f"{head} ≤ {self.limit}%: {what} ({room})"

    def to_json(self) -> dict[str, Any]:
        return {
            "unhealthy": self.unhealthy,
            "total": self.total,
            "percent": round(self.percent, 2),
            "limit": self.limit,
            "room": self.room,
            "nominalSize": self.nominal,
            "available": self.available,
            "allowedSize": self.allowed,
            "fullSize": self.full_size,
            "size": self.size,
            "shrunk": self.shrunk,
            "refused": self.refused,
            "text": self.arithmetic(),
        }


def pre_check(number: int, unhealthy: int, total: int, nominal: int, limit: int, available: int) -> PreCheck:
    """The check before batch `number`: refused, or the size the batch may have."""
    # Refused: Azure faults when the unhealthy share is *more than* the limit (FACTS.md: 2 of 10 at 20%
    # passes, 3 of 10 faults). The shrinking is not verified against Azure; it reads the RollingUpgradePolicy
    # docs: maxBatchInstancePercent "is a maximum" that unhealthy instances can lower, so the batch takes the
    # room the limit leaves, floor(total * limit / 100) - unhealthy, and at least one instance.
    refused = total > 0 and unhealthy * 100 > limit * total
    room = total * limit // 100 - unhealthy
    allowed = min(nominal, max(1, room))
    return PreCheck(number, unhealthy, total, limit, nominal, available, room, allowed, refused)


@dataclass(frozen=True)
class PostCheck:
    """The check Azure makes after a batch (maxUnhealthyUpgradedInstancePercent), as a tolerance."""

    upgraded: int  # instances upgraded so far, this batch included
    limit: int

    @property
    def tolerated(self) -> int:
        return self.upgraded * self.limit // 100

    def tolerance(self) -> str:
        return f"up to {self.tolerated} of {self.upgraded} upgraded may be unhealthy (limit {self.limit}%)"

    def to_json(self) -> dict[str, Any]:
        return {
            "upgraded": self.upgraded,
            "tolerated": self.tolerated,
            "limit": self.limit,
            "text": self.tolerance(),
        }


@dataclass(frozen=True)
class Batch:
    number: int
    instance_ids: tuple[str, ...]
    zones: tuple[str, ...]
    unhealthy_ids: tuple[str, ...]
    surge: int  # new instances created before the batch (MaxSurge), 0 otherwise
    pre: PreCheck
    post: PostCheck
    reached: bool  # False for the batch Azure would refuse to start (the plan ends with it)

    @property
    def size(self) -> int:
        return len(self.instance_ids)

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "instanceIds": list(self.instance_ids),
            "zones": list(self.zones),
            "size": self.size,
            "unhealthyInstanceIds": list(self.unhealthy_ids),
            "surgeInstances": self.surge,
            "reached": self.reached,
            "before": self.pre.to_json(),
            "after": self.post.to_json(),
        }


@dataclass(frozen=True)
class Plan:
    capacity: int
    policy: Mapping[str, Any]  # the effective rolling policy the plan uses
    zonal: bool  # batches kept within one zone
    scope: str  # "behind" (instances not on the latest model) | "all"
    candidates: tuple[str, ...]
    unhealthy: tuple[str, ...]  # every instance of the set that counts as unhealthy now
    batch_size: int  # the nominal size (maxBatchInstancePercent); a batch may shrink, see PreCheck
    batches: tuple[Batch, ...]  # in order; when Azure would refuse one, it is the last
    batch_seconds: float
    pause_seconds: float
    assumptions: tuple[str, ...] = ASSUMPTIONS  # as shown: the placeholders filled in

    @property
    def refused_at(self) -> int | None:
        """The number of the first batch Azure would refuse to start, if any."""
        return next((b.number for b in self.batches if b.pre.refused), None)

    @property
    def peak_instances(self) -> int:
        """The most instances that exist at once (MaxSurge adds a batch before deleting one)."""
        return self.capacity + max((b.surge for b in self.batches if b.reached), default=0)

    @property
    def batches_run(self) -> int:
        """Batches that would run (not the one refused)."""
        return sum(1 for b in self.batches if b.reached)

    @property
    def duration_seconds(self) -> float:
        n = self.batches_run
        return n * self.batch_seconds + max(0, n - 1) * self.pause_seconds

    def verdict(self) -> str:
        if not self.batches:
            return "Nothing to upgrade: every instance runs the latest model."
        if self.refused_at is not None:
            return self.batches[self.refused_at - 1].pre.arithmetic()
        shrunk = sum(1 for b in self.batches if b.pre.shrunk)
        note = f" ({shrunk} shrunk by unhealthy instances)" if shrunk else ""
        return (
            f"{len(self.batches)} batch{'es' if len(self.batches) != 1 else ''}{note} "
            f"would pass the health check before each batch."
        )

    def duration_text(self) -> str:
        n = self.batches_run
        return (
            f"at least {human(self.duration_seconds)} = {n} × {human(self.batch_seconds)} per batch "
            f"+ {max(0, n - 1)} × {human(self.pause_seconds)} pause"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "capacity": self.capacity,
            "policy": dict(self.policy),
            "zonal": self.zonal,
            "scope": self.scope,
            "candidates": list(self.candidates),
            "unhealthyInstanceIds": list(self.unhealthy),
            "batchSize": self.batch_size,
            "batches": [b.to_json() for b in self.batches],
            "refusedAtBatch": self.refused_at,
            "refused": self.refused_at is not None,
            "peakInstances": self.peak_instances,
            "batchTimeSeconds": self.batch_seconds,
            "pauseSeconds": self.pause_seconds,
            "durationSeconds": self.duration_seconds,
            "duration": self.duration_text(),
            "verdict": self.verdict(),
            "assumptions": list(self.assumptions),
        }


def batch_size(capacity: int, percent: int) -> int:
    """maxBatchInstancePercent of the set, rounded down, at least one instance."""
    return max(1, capacity * percent // 100)


def cut_batches(queues: Sequence[Sequence[T]], size_of: Callable[[int, int], int]) -> Iterator[list[T]]:
    """The batches, cut one at a time from the head of the first queue (one queue per zone when zonal, so a
    batch never spans zones); `size_of(number, available)` sizes batch `number` from the `available`
    candidates left in its queue. Used by `plan` and by the watch's "batch N of M", so both count batches the
    same way."""
    left = [list(q) for q in queues if q]
    number = 0
    while left:
        number += 1
        size = max(1, min(size_of(number, len(left[0])), len(left[0])))
        chunk, left[0] = left[0][:size], left[0][size:]
        if not left[0]:
            left.pop(0)
        yield chunk


def plan_rollout(
    instances: Iterable[Instance],
    set_zones: Sequence[str],
    policy: Mapping[str, Any],
    *,
    batch_time: timedelta,
    everything: bool = False,
) -> Plan:
    """The rollout Azure would make with this effective rolling `policy` (see ASSUMPTIONS).

    `instances` is every instance of the set; the candidates are those not on the latest model, or all of them
    with `everything` (a full re-image, as an OS or extension upgrade would do).
    """
    members = sorted(instances, key=lambda i: i.sort_key)
    total = len(members)
    sick = {i.instance_id for i in members if i.health.counts_unhealthy}
    candidates = [i for i in members if everything or i.latest_model_applied is False]
    prioritize = bool(policy["prioritizeUnhealthyInstances"])
    size = batch_size(total, int(policy["maxBatchInstancePercent"]))

    def key(i: Instance) -> tuple[int, tuple[int, str]]:
        return (0 if prioritize and i.instance_id in sick else 1, i.sort_key)

    zonal = bool(set_zones) and not policy["enableCrossZoneUpgrade"]
    if zonal:
        by_zone: dict[str, list[Instance]] = {}
        for i in candidates:
            by_zone.setdefault(i.zone or "", []).append(i)
        zones = sorted(by_zone)
        if prioritize:
            zones.sort(key=lambda z: 0 if any(i.instance_id in sick for i in by_zone[z]) else 1)
        queues = [sorted(by_zone[z], key=key) for z in zones]
    else:
        queues = [sorted(candidates, key=key)] if candidates else []

    batches: list[Batch] = []
    unhealthy_now = set(sick)
    upgraded = 0
    checks: list[PreCheck] = []

    def sized(number: int, available: int) -> int:
        limit = int(policy["maxUnhealthyInstancePercent"])
        checks.append(pre_check(number, len(unhealthy_now), total, size, limit, available))
        return checks[-1].size

    for chunk in cut_batches(queues, sized):
        pre = checks[-1]
        ids = tuple(i.instance_id for i in chunk)
        upgraded += len(ids)
        batches.append(
            Batch(
                number=pre.number,
                instance_ids=ids,
                zones=tuple(sorted({i.zone for i in chunk if i.zone})),
                unhealthy_ids=tuple(i for i in ids if i in sick),
                surge=len(ids) if policy["maxSurge"] and not pre.refused else 0,
                pre=pre,
                post=PostCheck(upgraded=upgraded, limit=int(policy["maxUnhealthyUpgradedInstancePercent"])),
                reached=not pre.refused,
            )
        )
        if pre.refused:
            break  # Azure faults the upgrade here: no batch follows
        unhealthy_now -= set(ids)  # assumed: upgraded instances turn healthy

    return Plan(
        capacity=total,
        policy=dict(policy),
        zonal=zonal,
        scope="all" if everything else "behind",
        candidates=tuple(i.instance_id for i in candidates),
        unhealthy=tuple(i.instance_id for i in members if i.instance_id in sick),
        batch_size=size,
        batches=tuple(batches),
        batch_seconds=batch_time.total_seconds(),
        pause_seconds=iso_seconds(str(policy["pauseTimeBetweenBatches"])),
        assumptions=tuple(a.format(batch_time=human(batch_time.total_seconds())) for a in ASSUMPTIONS),
    )


def _pct(value: float) -> str:
    return f"{value:.0f}%" if value == int(value) else f"{value:.1f}%"


def mode_note(mode: str) -> str | None:
    """What the mode means for this plan (a model change rolls by itself only in Rolling mode)."""
    if mode == "Rolling":
        return None
    effect = "updates every instance at once" if mode == "Automatic" else "starts no upgrade by itself"
    return (
        f"mode is {mode}: a model change {effect}; these are the batches an OS or extension rolling upgrade "
        "would use"
    )
