"""The instances themselves: each reports health, runs the latest model, and (Flexible) attached VMs carry the
extension too."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vmssroll.domain.health import HealthCounts, count_health
from vmssroll.domain.model import Health, Instance
from vmssroll.domain.prereq.report import Facts, Rule, Status, short_args, vm_extension_fix
from vmssroll.domain.prereq.sources import health_source


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
                f"wait until they report Healthy "
                f"(`vmssroll enable-rolling {short_args(ss)} --wait-healthy 10m`)"
            )
        if silent:
            behind = [i for i in counts.behind if i in silent]
            if health_source(facts).status is Status.FAILED:
                fixes.append("configure a health source first (see health-source)")
            elif behind and not ss.is_flexible:
                fixes.append(
                    f"apply the latest model so the health source reaches them: "
                    f"az vmss update-instances {short_args(ss)} --instance-ids {' '.join(behind)}"
                )
            elif behind:
                add = vm_extension_fix(ss, "VM", "<the scale set's settings>")
                fixes.append(
                    "these VMs were made before the health source was added to the model: add the extension "
                    f"to each ({add})"
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
    """Instances behind the model: health shows only once it is applied; Rolling may upgrade them at once."""
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
        "; ".join(vm_extension_fix(ss, name, "<same settings as the scale set>") for name in missing),
    )


def _has_health_extension(vm: Instance) -> bool:
    """An instance lists its extensions by name only (name → typeHandlerVersion), so the name decides:
    ApplicationHealthLinux/Windows, or any name with "health" in it (HealthExtension, appHealth, ...)."""
    return any("health" in name.lower() for name in vm.extensions)


def all_healthy(instances: Sequence[Instance]) -> bool:
    """Every instance made from the model reports Healthy (what --wait-healthy waits for)."""
    return all(i.health is Health.HEALTHY for i in instances if not i.attached)
