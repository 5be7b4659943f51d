"""Automatic OS image upgrades: Azure starts an OS rolling upgrade by itself (startedBy Platform) when a newer
version of a scale set's platform image is published, for scale sets with
`automaticOSUpgradePolicy.enableAutomaticOSUpgrade` and an image at version `latest`; with
`osRollingUpgradeDeferral` it announces the upgrade and waits for `approveRollingUpgrade`.

Written from Azure's documentation (FACTS.md, AutomaticOSUpgradePolicy). Choices Azure leaves open, listed in
scenarios/README.md: the upgrade starts as soon as the version is published (Azure takes its time, region by
region) or automatic upgrades are turned on; a scale set busy with another upgrade is not upgraded for that
version until the next publish or policy change; a version an automatic upgrade already went to is not tried
again; gallery images are not followed.
"""

from __future__ import annotations

from . import arm
from .engine import Engine
from .rolling import Roller
from .state import Instance, Operation, PendingOS, ScaleSet, image_key


class AutomaticOS:
    """Publishes platform image versions and reacts to them."""

    def __init__(self, engine: Engine, roller: Roller) -> None:
        self.engine, self.roller = engine, roller

    def publish(self, publisher: str, offer: str, sku: str, version: str) -> None:
        """A new version of a platform image is out: every scale set that follows it may start upgrading."""
        key = (publisher.lower(), offer.lower(), sku.lower())
        versions = self.engine.world.images.setdefault(key, [])
        if version in versions:
            versions.remove(version)
        versions.append(version)
        for ss in self.engine.world.scale_sets.values():
            self.consider(ss)

    def behind(self, ss: ScaleSet) -> tuple[str | None, list[Instance]]:
        """The newest version the scale set's image follows, and the idle instances not on it."""
        ref = (ss.profile.get("storageProfile") or {}).get("imageReference") or {}
        if str(ref.get("version") or "").lower() != "latest":
            return None, []
        newest = self.engine.world.newest(image_key(ref))
        if newest is None:
            return None, []
        return newest, [i for i in ss.members() if i.os_version != newest and i.phase == "idle"]

    def consider(self, ss: ScaleSet) -> None:
        """Start (or, with deferral, announce) the automatic OS upgrade the scale set is due, if any."""
        policy = ss.automatic_os
        if not policy.get("enableAutomaticOSUpgrade"):
            ss.pending_os = None
            return
        newest, behind = self.behind(ss)
        if newest is None or not behind or newest in ss.auto_os_tried:
            return
        if policy.get("osRollingUpgradeDeferral"):
            if ss.pending_os is None or ss.pending_os.version != newest:
                ss.pending_os = PendingOS(newest, self.engine.now, [i.instance_id for i in behind])
            return
        latest = ss.latest()
        if latest is not None and latest.active:
            return
        ss.pending_os = None
        ss.auto_os_tried.add(newest)
        self.roller.start(ss, "OS", started_by="Platform", candidates=behind)

    def approve(self, ss: ScaleSet, ids: list[str] | None, op: Operation) -> None:
        """approveRollingUpgrade: let the deferred upgrade run, for all pending instances or the given
        ones."""
        if not ss.automatic_os.get("osRollingUpgradeDeferral"):
            raise arm.deferral_not_enabled(ss.name)
        if ids is not None:
            missing = [i for i in ids if i not in ss.instances]
            if missing:
                raise arm.invalid_parameter("instanceIds", f"Instance IDs not found: {', '.join(missing)}.")
        pending = ss.pending_os
        chosen = [] if pending is None else [i for i in pending.instances if ids is None or i in ids]
        if pending is None or not chosen:
            raise arm.nothing_to_approve(ss.name)
        latest = ss.latest()
        if latest is not None and latest.active:
            raise arm.upgrade_already_running(ss.name)
        pending.instances = [i for i in pending.instances if i not in chosen]
        if not pending.instances:
            ss.pending_os = None
            ss.auto_os_tried.add(pending.version)
        insts = [ss.instances[i] for i in chosen if i in ss.instances]
        self.roller.start(ss, "OS", op, started_by="Platform", candidates=insts)
