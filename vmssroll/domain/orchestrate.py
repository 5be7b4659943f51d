"""`rollout --orchestrate`: vmssroll, not Azure, chooses the batches of a Manual-mode Uniform scale set.

Pure: the batches (a canary of exactly N instances first, then the plan's batches without them), and the
judgement of a batch from the instances read: still settling, healthy, or past the limits Azure's own rolling
upgrade applies (maxUnhealthyInstancePercent before a batch; maxUnhealthyUpgradedInstancePercent after one,
over every instance upgraded so far; both "more than", FACTS.md). The command (cli/orchestrate.py) sends one
`manualupgrade` per batch and reads the instances until the batch settles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from vmssroll.domain.model import Health, Instance
from vmssroll.domain.plan import Plan, pre_check


@dataclass(frozen=True)
class Leg:
    """One batch vmssroll upgrades itself with `manualupgrade`."""

    number: int
    instance_ids: tuple[str, ...]
    canary: bool = False

    def name(self, of: int) -> str:
        what = "canary" if self.canary else f"batch {self.number} of {of}"
        return f"{what} (instance{'s' if len(self.instance_ids) != 1 else ''} {', '.join(self.instance_ids)})"


def legs(plan: Plan, canary: int) -> tuple[Leg, ...]:
    """The canary (the first `canary` instances in the plan's order), then the plan's batches without them
    (a batch left empty is dropped; a batch never spans zones, as in the plan)."""
    order = [i for b in plan.batches if b.reached for i in b.instance_ids]
    first = tuple(order[:canary])
    taken = set(first)
    rest = [tuple(i for i in b.instance_ids if i not in taken) for b in plan.batches if b.reached]
    found = [Leg(1, first, canary=True)] if first else []
    for ids in rest:
        if ids:
            found.append(Leg(len(found) + 1, ids))
    return tuple(found)


class State(StrEnum):
    SETTLING = "settling"  # an instance of the batch is still updating or initializing
    HEALTHY = "healthy"  # every instance of the batch runs the new model; the upgraded are within the limit
    BREACHED = "breached"  # more unhealthy upgraded instances than the limit allows: stop, as Azure would


@dataclass(frozen=True)
class Judgement:
    state: State
    message: str
    unhealthy: tuple[str, ...] = ()


def sick(instance: Instance | None) -> bool:
    """Unhealthy after its upgrade: vmHealth unhealthy or unknown, no health signal at all (Azure: "Instance
    found to be unhealthy or unreachable"), its update failed, or gone from the set."""
    if instance is None or (instance.provisioning_state or "").lower() == "failed":
        return True
    return instance.health.counts_unhealthy or instance.health is Health.SILENT


def settled(instance: Instance | None) -> bool:
    """Done with its upgrade: on the latest model, not updating, not initializing (a gone instance counts as
    settled, and sick, and so does one whose update failed)."""
    if instance is None or (instance.provisioning_state or "").lower() == "failed":
        return True
    busy = (instance.provisioning_state or "").lower() in ("updating", "creating")
    return bool(instance.latest_model_applied) and not busy and instance.health is not Health.INITIALIZING


def judge(instances: Sequence[Instance], leg: Leg, upgraded: Sequence[str], limit: int) -> Judgement:
    """A batch after its `manualupgrade`: `upgraded` is every instance upgraded so far, this batch included;
    `limit` is maxUnhealthyUpgradedInstancePercent."""
    by_id: Mapping[str, Instance] = {i.instance_id: i for i in instances}
    waiting = [i for i in leg.instance_ids if not settled(by_id.get(i))]
    if waiting:
        return Judgement(State.SETTLING, f"waiting for instance(s) {', '.join(waiting)} to settle")
    bad = tuple(i for i in upgraded if sick(by_id.get(i)))
    count = f"{len(bad)} of {len(upgraded)} upgraded instance(s) unhealthy"
    if len(bad) * 100 > limit * len(upgraded):
        return Judgement(
            State.BREACHED,
            f"{count} ({', '.join(bad)}), more than maxUnhealthyUpgradedInstancePercent {limit}%",
            bad,
        )
    return Judgement(State.HEALTHY, f"{count} (limit {limit}%)", bad)


def refused_before(instances: Sequence[Instance], leg: Leg, limit: int) -> str | None:
    """The check before a batch (maxUnhealthyInstancePercent over the whole set), as Azure's rolling upgrade
    makes it: the reason to stop, or None."""
    unhealthy = sum(1 for i in instances if i.health.counts_unhealthy)
    check = pre_check(
        leg.number, unhealthy, len(instances), len(leg.instance_ids), limit, len(leg.instance_ids)
    )
    return check.arithmetic().replace("Azure would fault", "vmssroll stops") if check.refused else None
