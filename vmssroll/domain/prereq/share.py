"""The share of unhealthy instances: Azure's check before the first batch, which refuses the upgrade or
shrinks the batch."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vmssroll.domain.health import HealthCounts, count_health
from vmssroll.domain.plan import batch_size, pre_check
from vmssroll.domain.prereq.report import Facts, Rule, Status, short_args


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
        """The smallest maxUnhealthyInstancePercent that lets the first batch start: the unhealthy share may
        not be more than the limit, so the share itself, rounded up."""
        return math.ceil(self.unhealthy * 100 / self.total) if self.total else 0

    @property
    def full_batch_threshold(self) -> int:
        """The smallest maxUnhealthyInstancePercent that leaves room for a full first batch."""
        return math.ceil((self.unhealthy + self.batch) * 100 / self.total) if self.total else 0

    def text(self) -> str:
        head = f"{self.unhealthy} unhealthy × 100 / {self.total} = {self.percent:.0f}%"
        if self.refused:
            return f"{head} > maxUnhealthyInstancePercent {self.threshold}%: the limit is exceeded before any batch"
        room = f"room for {max(0, self.room)} more unhealthy"
        if self.room < 1:
            room += "; a batch is at least one instance"
        if self.shrinks:
            return (
                f"{head} ≤ maxUnhealthyInstancePercent {self.threshold}%: the first batch shrinks from "
                f"{self.batch} to {self.first_batch} ({room})"
            )
        return f"{head} ≤ maxUnhealthyInstancePercent {self.threshold}%: first batch of {self.batch} ({room})"


def share_arithmetic(counts: HealthCounts, policy: Mapping[str, Any]) -> ShareArithmetic:
    """Azure's check before the first batch (the plan's `pre_check`): refused, or the size the first batch may
    have."""
    size = batch_size(counts.total, int(policy["maxBatchInstancePercent"]))
    pre = pre_check(1, counts.unhealthy, counts.total, size, int(policy["maxUnhealthyInstancePercent"]), size)
    return ShareArithmetic(counts.total, size, pre.unhealthy, pre.limit, pre.room, pre.allowed, pre.refused)


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
            f"{'; or '.join(fixes)} (vmssroll policy set {short_args(ss)} ...)",
        )
    if a.ok:
        return Rule("unhealthy-share", Status.PASSED, a.text(), evidence)
    fixes = list(repair)
    if a.needed_threshold <= 100:
        fixes.append(f"raise --max-unhealthy-instance-percent to {max(5, a.needed_threshold)}")
    return Rule(
        "unhealthy-share",
        Status.FAILED,
        f"Azure would fault the upgrade before its first batch: {a.text()}",
        evidence,
        f"{'; or '.join(fixes)} (vmssroll policy set {short_args(ss)} ...)",
    )
