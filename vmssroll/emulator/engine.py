"""Deterministic discrete-event simulation: instance update cycles and what reacts to model changes.

Nothing runs in the background: every request first calls `advance_to(now)`, which processes the
scheduled events in time order, so results never depend on how often anyone polls.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from datetime import datetime, timedelta

from .state import (
    Instance,
    Operation,
    ScaleSet,
    World,
    canonical,
    extensions_of,
    image_version,
    is_app_health,
    probe_id,
)

Settled = Callable[[Instance], None]


class Engine:
    """Event queue plus the instance life cycle (updating -> initializing -> settled health)."""

    def __init__(self, world: World, now: datetime) -> None:
        self.world = world
        self.now = now
        self._queue: list[tuple[datetime, int, Callable[[], None]]] = []
        self._seq = itertools.count()

    # --- time ---

    def schedule(self, at: datetime, fn: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (max(at, self.now), next(self._seq), fn))

    def after(self, seconds: float, fn: Callable[[], None]) -> None:
        self.schedule(self.now + timedelta(seconds=seconds), fn)

    def advance_to(self, now: datetime) -> None:
        while self._queue and self._queue[0][0] <= now:
            at, _, fn = heapq.heappop(self._queue)
            self.now = max(self.now, at)
            fn()
        self.now = max(self.now, now)

    # --- health ---

    def health_source(self, ss: ScaleSet) -> str | None:
        """'extension', 'probe' or None: where instance health would come from."""
        if any(is_app_health(e) for e in extensions_of(ss.profile)):
            return "extension"
        pid = probe_id(ss.profile)
        if pid and not ss.flexible and self.probe_exists(pid):
            return "probe"
        return None

    def probe_exists(self, pid: str) -> bool:
        parts = pid.strip("/").split("/")
        low = [p.lower() for p in parts]
        try:
            sub = parts[low.index("subscriptions") + 1]
            rg = parts[low.index("resourcegroups") + 1]
            lb = parts[low.index("loadbalancers") + 1]
            probe = parts[low.index("probes") + 1]
        except (ValueError, IndexError):
            return False
        body = self.world.load_balancers.get((sub.lower(), rg.lower(), lb.lower()))
        if body is None:
            return False
        probes = (body.get("properties") or {}).get("probes") or []
        return any(str(p.get("name", "")).lower() == probe.lower() for p in probes)

    def reported(self, ss: ScaleSet, inst: Instance, source: str | None = "?") -> str | None:
        """Health code suffix as Azure reports it (None: vmHealth absent)."""
        if inst.attached:
            has_ext = any(is_app_health(e) for e in inst.extensions or [])
            source = "extension" if has_ext else None
        elif source == "?":
            source = self.health_source(ss)
        if source is None:
            return None
        if inst.phase != "idle":
            return None if inst.silent_now else "initializing"
        return None if inst.health == "silent" else inst.health

    def reports_unhealthy(self, ss: ScaleSet, inst: Instance, source: str | None = "?") -> bool:
        """What the check before a batch counts: vmHealth unhealthy, or unknown ("Rolling upgrades ... treat
        Unknown as Unhealthy"). No vmHealth at all is no health signal, not unhealthy (FACTS.md)."""
        return self.reported(ss, inst, source) in ("unhealthy", "unknown")

    def failed_after_batch(self, ss: ScaleSet, inst: Instance, source: str | None = "?") -> bool:
        """What the check after a batch counts among the upgraded: unhealthy or unknown, and, unless the
        scenario says otherwise, no vmHealth at all ("Instance found to be unhealthy or unreachable": both
        outcomes were recorded on a scale set without a health signal; see scenarios/README.md)."""
        health = self.reported(ss, inst, source)
        return health in ("unhealthy", "unknown") or (health is None and not ss.no_signal_passes)

    def outcome(self, ss: ScaleSet, inst: Instance) -> str:
        """Health an instance settles on after a cycle, from the scenario's rules."""
        if inst.instance_id in ss.rules_instance:
            return ss.rules_instance[inst.instance_id]
        version = inst.os_version or image_version(inst.profile)
        if version is not None and version in ss.rules_version:
            return ss.rules_version[version]
        return "healthy"

    def set_health_rule(
        self, ss: ScaleSet, *, image_version: str | None, instance_id: str | None, health: str | None
    ) -> None:
        """Change what instances report from now on (an application recovering or failing);
        settled instances the rule covers take the new health at once. `health=None` lifts the rule."""
        rules, key = (
            (ss.rules_version, image_version)
            if image_version is not None
            else (ss.rules_instance, instance_id)
        )
        assert key is not None
        if health is None:
            rules.pop(key, None)
        else:
            rules[key] = health
        for inst in ss.instances.values():
            if inst.phase == "idle" and not inst.attached:
                inst.health = self.outcome(ss, inst)
                inst.health_time = self.now

    # --- instance cycles ---

    def start_cycle(
        self,
        ss: ScaleSet,
        inst: Instance,
        target: dict,
        *,
        creating: bool = False,
        owner: Settled | None = None,
        os_version: str | None = None,
    ) -> None:
        """Start updating (or creating) an instance towards `target` profile; its OS disk from `os_version`,
        or the version the profile resolves to now (`latest`: the newest published)."""
        inst.gen += 1
        gen = inst.gen
        if not creating:
            inst.prev_profile = inst.profile
            inst.prev_os_version = inst.os_version
        inst.target = target
        inst.target_os = os_version or self.world.os_version(target)
        inst.phase = "updating"
        inst.silent_now = False
        inst.provisioning = "Creating" if creating else "Updating"
        inst.owner = owner
        self.after(ss.timings.updating, lambda: self._updated(ss, inst, gen))

    def _updated(self, ss: ScaleSet, inst: Instance, gen: int) -> None:
        if inst.gen != gen or ss.instances.get(inst.instance_id) is not inst:
            return
        assert inst.target is not None
        inst.profile, inst.target = inst.target, None
        inst.os_version, inst.target_os = inst.target_os, None
        inst.profile_key = canonical(inst.profile)
        inst.provisioning = "Succeeded"
        inst.phase = "initializing"
        inst.health_time = self.now
        result = self.outcome(ss, inst)
        if result == "silent":
            inst.silent_now = True  # never reports: whoever waits for it waits forever
            return
        self.after(ss.timings.initializing, lambda: self.settle(ss, inst, gen, result))

    def settle(self, ss: ScaleSet, inst: Instance, gen: int, result: str) -> None:
        if inst.gen != gen or ss.instances.get(inst.instance_id) is not inst:
            return
        inst.phase = "idle"
        inst.health = result
        inst.health_time = self.now
        owner, inst.owner = inst.owner, None
        if owner is not None:
            owner(inst)

    def delete(self, ss: ScaleSet, iid: str) -> None:
        inst = ss.instances.pop(iid, None)
        if inst is not None:
            inst.gen += 1

    def add_instance(self, ss: ScaleSet, zone: str | None, *, owner: Settled | None = None) -> Instance:
        """Create a new instance on the latest model (it goes through a Creating cycle)."""
        iid = ss.new_instance_id()
        inst = Instance(iid, zone, {}, "", health="healthy", name=f"{ss.name}_{iid}")
        ss.instances[iid] = inst
        self.start_cycle(ss, inst, ss.profile, creating=True, owner=owner)
        return inst

    # --- group updates (manual upgrade, Automatic mode) ---

    def update_group(self, ss: ScaleSet, insts: list[Instance], op: Operation | None) -> None:
        """Update instances together; finish `op` once all have settled."""
        waiting = {i.instance_id for i in insts}
        if not waiting:
            if op:
                op.finish(self.now)
            return

        def done(inst: Instance) -> None:
            waiting.discard(inst.instance_id)
            if not waiting and op:
                op.finish(self.now)

        for inst in insts:
            self.start_cycle(ss, inst, ss.profile, owner=done)

    def scale_to(self, ss: ScaleSet, capacity: int) -> None:
        """Follow a sku.capacity change: add new instances or remove the highest ids."""
        members = ss.members()
        zones = ss.zones
        for n in range(len(members), capacity):
            self.add_instance(ss, zones[n % len(zones)] if zones else None)
        if capacity < len(members):
            for inst in sorted(members, key=lambda i: int(i.instance_id))[capacity:]:
                self.delete(ss, inst.instance_id)
