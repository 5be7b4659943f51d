"""Rolling upgrades: batches, the health checks around them, MaxSurge, rollback, cancel.

Written from Azure's documented rules (FACTS.md, RollingUpgradePolicy); the choices Azure leaves open are
listed in scenarios/README.md:
- the batch size comes from the number of model instances when the upgrade starts ("20% of 10 instances =
  batches of two", at least one instance); the check before each batch may lower it (`before_batch`).
- a model change while an upgrade rolls: instances still behind once the queued ones are done join the same
  upgrade.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from fractions import Fraction

import isodate

from . import arm
from .engine import Engine
from .state import (
    ROLLING_DEFAULTS,
    Instance,
    Operation,
    RollingUpgrade,
    ScaleSet,
    effective_policy,
    image_key,
)

START_OP_AFTER_CANCEL = 1.0  # seconds: recorded "about a second after the cancel is accepted"


def batch_instances(capacity: int, max_batch_percent: int) -> int:
    """maxBatchInstancePercent as a count of instances: "20% of 10 instances = batches of two"; fractions of
    an instance are dropped and a batch always takes one instance at least (rounding not verified)."""
    share = Fraction(capacity * max_batch_percent, 100)
    return max(1, share.numerator // share.denominator)


def more_than(count: int, total: int, percent: int) -> bool:
    """Azure's thresholds: a limit is breached only when the share is *more than* it ("more than the threshold
    of 20%": 2 of 10 at 20% is allowed, 3 of 10 is a breach)."""
    return total > 0 and Fraction(count, total) > Fraction(percent, 100)


def before_batch(unhealthy: int, total: int, nominal: int, max_unhealthy_percent: int) -> int | None:
    """maxUnhealthyInstancePercent, "checked prior to starting any batch": None when Azure faults the upgrade
    here, else how many instances the batch takes.

    `unhealthy` counts instances that report vmHealth unhealthy or unknown (no signal at all is not counted).
    The batch is "a maximum": unhealthy instances "can cause the percentage of instances in a batch to
    decrease". Here it takes instances one by one while those down (unhealthy plus the batch) stay within the
    limit, and always one (not verified against Azure: how far it shrinks).
    """
    if more_than(unhealthy, total, max_unhealthy_percent):
        return None
    size = 1
    while size < nominal and not more_than(unhealthy + size + 1, total, max_unhealthy_percent):
        size += 1
    return size


def order_candidates(
    engine: Engine, ss: ScaleSet, candidates: list[Instance], policy: dict
) -> list[list[str]]:
    """Candidates in upgrade order, as queues a batch never spans: one per zone (zonal), or one in all.

    Each batch is cut from the head of the first queue just before it starts (see `before_batch`).
    """
    source = engine.health_source(ss)
    prio = bool(policy.get("prioritizeUnhealthyInstances"))

    def key(inst: Instance) -> tuple[int, int]:
        first = 0 if prio and engine.reports_unhealthy(ss, inst, source) else 1
        return (first, int(inst.instance_id))

    def queue(items: list[Instance]) -> list[str]:
        return [i.instance_id for i in sorted(items, key=key)]

    if policy.get("enableCrossZoneUpgrade") or not ss.zones:
        return [queue(candidates)] if candidates else []
    by_zone: dict[str, list[Instance]] = {}
    for inst in candidates:
        by_zone.setdefault(inst.zone or "", []).append(inst)
    zones = sorted(by_zone)
    if prio:
        zones.sort(key=lambda z: 0 if any(engine.reports_unhealthy(ss, i, source) for i in by_zone[z]) else 1)
    return [queue(by_zone[z]) for z in zones]


class Roller:
    """Drives rolling upgrades on top of the engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(
        self,
        ss: ScaleSet,
        kind: str,
        op: Operation | None = None,
        *,
        started_by: str = "User",
        candidates: list[Instance] | None = None,
    ) -> RollingUpgrade | None:
        """Start a rolling upgrade; Model upgrades only start when instances are behind. An OS upgrade moves
        the instances not on the newest platform image version ("instances already on it are not affected";
        all of them when the version is not known); `candidates` narrows it (approved instances)."""
        eng = self.engine
        members = ss.members()
        ref = (ss.profile.get("storageProfile") or {}).get("imageReference") or {}
        newest = eng.world.newest(image_key(ref)) if kind == "OS" else None
        if kind == "Model":
            candidates = [i for i in ss.behind() if i.phase == "idle"]
            if not candidates:
                return None
        elif candidates is None:
            candidates = [i for i in members if newest is None or i.os_version != newest]
        policy = effective_policy(ss.model)
        automatic = ss.automatic_os
        if started_by == "Platform" and ss.mode != "Rolling" and not automatic.get("useRollingUpgradePolicy"):
            # "Auto OS Upgrade will fallback to the default policy": Azure's defaults, not the stored one
            policy = dict(ROLLING_DEFAULTS)
        capacity = len(members)
        size = batch_instances(capacity, int(policy["maxBatchInstancePercent"]))
        up = RollingUpgrade(
            kind, policy, eng.now, capacity, size, order_candidates(eng, ss, candidates, policy)
        )
        up.last_action_time = eng.now
        up.started_by = started_by
        if kind == "OS":
            up.target_image = {**{k: ref.get(k) for k in ("publisher", "offer", "sku")}, "version": newest}
            if newest is None:
                up.target_image["version"] = ref.get("version")
        up.auto_rollback = started_by == "Platform" and not automatic.get("disableAutomaticRollback")
        if op:
            up.ops.append(op)
        ss.upgrades.append(up)
        self._next_batch(ss, up)
        return up

    def cancel(self, ss: ScaleSet, op: Operation) -> None:
        up = ss.latest()
        if up is None or up.code != "RollingForward":
            raise arm.no_upgrade_to_cancel()
        up.cancel_requested = True
        up.last_action = "Cancel"
        up.last_action_time = self.engine.now
        up.cancel_ops.append(op)
        # Recorded: the start's operation ends Succeeded about a second after the cancel is accepted; the
        # upgrade turns Cancelled once the batch in flight is done (its instances not reached stay pending),
        # and the cancel's own operation ends then.
        self.engine.after(START_OP_AFTER_CANCEL, lambda: self._finish_start_ops(up))
        if not up.current:
            self._end(up, "Cancelled")

    def _finish_start_ops(self, up: RollingUpgrade) -> None:
        for op in up.ops:
            op.finish(self.engine.now)

    def _end(self, up: RollingUpgrade, code: str) -> None:
        now = self.engine.now
        up.code, up.end_time, up.current = code, now, []
        for op in up.ops:
            if code == "Completed":
                op.finish(now)
            elif code == "Cancelled":
                pass  # the start's operation ends Succeeded a second after the cancel (`cancel`)
            else:
                op.finish(now, "Failed", up.error)
        for op in up.cancel_ops:
            op.finish(now)

    def _next_batch(self, ss: ScaleSet, up: RollingUpgrade) -> None:
        eng = self.engine
        up.next_batch_at = None
        if up.code != "RollingForward":
            return
        if up.cancel_requested:
            self._end(up, "Cancelled")
            return
        # Drop instances deleted meanwhile; pick up instances left behind by a newer model.
        up.queues = [[i for i in q if i in ss.instances] for q in up.queues]
        up.queues = [q for q in up.queues if q]
        if not up.queues and up.kind == "Model":
            late = [i for i in ss.behind() if i.phase == "idle"]
            up.queues = order_candidates(eng, ss, late, up.policy)
        if not up.queues:
            self._end(up, "Completed")
            return
        members = ss.members()
        source = eng.health_source(ss)
        unhealthy = sum(1 for i in members if eng.reports_unhealthy(ss, i, source))
        threshold = int(up.policy["maxUnhealthyInstancePercent"])
        size = before_batch(unhealthy, len(members), up.batch_size, threshold)
        if size is None:
            up.error = arm.max_unhealthy_error(round(unhealthy * 100 / len(members)), threshold)
            self._end(up, "Faulted")
            return
        batch, up.queues[0] = up.queues[0][:size], up.queues[0][size:]
        if not up.queues[0]:
            up.queues.pop(0)
        up.current = []
        done = self._batch_watcher(ss, up)
        if up.policy.get("maxSurge"):
            for old_id in batch:
                old = ss.instances[old_id]
                new = eng.add_instance(ss, old.zone, owner=done)
                up.surge_old[new.instance_id] = old_id
                up.current.append(new.instance_id)
        else:
            for iid in batch:
                up.current.append(iid)
                eng.start_cycle(ss, ss.instances[iid], ss.profile, owner=done)

    def _batch_watcher(self, ss: ScaleSet, up: RollingUpgrade) -> Callable[[Instance], None]:
        def done(inst: Instance) -> None:
            if inst.instance_id in up.current:
                up.current.remove(inst.instance_id)
                if inst.instance_id not in up.upgraded:
                    up.upgraded.append(inst.instance_id)
            if not up.current and up.code == "RollingForward":
                self._batch_done(ss, up)

        return done

    def _batch_done(self, ss: ScaleSet, up: RollingUpgrade) -> None:
        eng = self.engine
        source = eng.health_source(ss)
        for new_id, old_id in list(up.surge_old.items()):
            new = ss.instances.get(new_id)
            if new is not None and new.phase == "idle" and not eng.failed_after_batch(ss, new, source):
                eng.delete(ss, old_id)
                del up.surge_old[new_id]
        upgraded = [ss.instances[i] for i in up.upgraded if i in ss.instances]
        failed = [i for i in upgraded if eng.failed_after_batch(ss, i, source)]
        threshold = int(up.policy["maxUnhealthyUpgradedInstancePercent"])
        if more_than(len(failed), len(upgraded), threshold):
            pct = round(len(failed) * 100 / len(upgraded))
            up.error = arm.max_unhealthy_upgraded_error(pct, threshold, failed[0].instance_id)
            up.breached_by = [i.instance_id for i in failed]  # failed in this upgrade, rolled back or not
            if up.policy.get("rollbackFailedInstancesOnPolicyBreach") or up.auto_rollback:
                self._rollback(ss, up, failed)
            else:
                self._end(up, "Faulted")
            return
        if up.cancel_requested:
            self._end(up, "Cancelled")
            return
        pause = isodate.parse_duration(str(up.policy.get("pauseTimeBetweenBatches") or "PT0S"))
        seconds = pause.total_seconds() if isinstance(pause, timedelta) else 0.0
        more = bool(up.queues) or (up.kind == "Model" and any(i.phase == "idle" for i in ss.behind()))
        if seconds > 0 and more:
            up.next_batch_at = eng.now + timedelta(seconds=seconds)
            eng.after(seconds, lambda: self._next_batch(ss, up))
        else:
            self._next_batch(ss, up)

    def _rollback(self, ss: ScaleSet, up: RollingUpgrade, failed: list[Instance]) -> None:
        eng = self.engine
        up.code = "RollingBack"
        waiting: set[str] = set()

        def done(inst: Instance) -> None:
            waiting.discard(inst.instance_id)
            if eng.failed_after_batch(ss, inst):
                up.rollback_failed += 1
            else:
                up.rolled_back += 1
            if not waiting:
                self._end(up, "Faulted")

        for inst in failed:
            if inst.instance_id in up.surge_old:  # a surge instance: remove it, its old one stays
                del up.surge_old[inst.instance_id]
                eng.delete(ss, inst.instance_id)
                up.rolled_back += 1
            elif inst.prev_profile is not None:
                waiting.add(inst.instance_id)
                eng.start_cycle(ss, inst, inst.prev_profile, owner=done, os_version=inst.prev_os_version)
        if not waiting:
            self._end(up, "Faulted")
