"""Prerequisites for rolling upgrades: one pure rule per row of `vmssroll check`, on plain data.

Every rule looks at `Facts` (the scale set, its instances, what the load balancer says of the probe, the state
of the MaxSurge feature, the policy in question) and returns a `Rule`: passed, failed or warning, with the
evidence and, for a failure, the exact fix. The command gathers the facts and renders the report.

`report` holds those types; the rules live by what they look at (`sources`, `extension`, `instances`, `share`,
`purposes` for those only MaxSurge adds, `os_upgrade` for those of OS upgrades); this module lists which rules
run for which purpose and assembles the report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from vmssroll.domain.plan import batch_size
from vmssroll.domain.policy import effective
from vmssroll.domain.prereq.extension import (
    GRACE_PERIOD_MAX,
    PROTOCOLS,
    extension_problems,
    extension_settings,
)
from vmssroll.domain.prereq.instances import (
    all_healthy,
    attached_vms,
    describe_counts,
    instance_health,
    latest_model,
)
from vmssroll.domain.prereq.os_upgrade import (
    automatic_os_upgrade,
    os_image,
    os_upgrade_policy,
    windows_updates,
)
from vmssroll.domain.prereq.purposes import (
    MAX_SURGE_FEATURE,
    max_surge_feature,
    overprovision,
    surge_capacity,
)
from vmssroll.domain.prereq.report import Facts, Purpose, Report, Rule, Status
from vmssroll.domain.prereq.share import ShareArithmetic, share_arithmetic, unhealthy_share
from vmssroll.domain.prereq.sources import (
    add_extension_fix,
    health_probe,
    health_source,
    probe_ids,
    probe_load_balancer,
    set_probe_fix,
    single_source,
)
from vmssroll.domain.unknown import Unknown

__all__ = [
    "COMMON",
    "EXTRA",
    "GRACE_PERIOD_MAX",
    "MAX_SURGE_FEATURE",
    "PROTOCOLS",
    "Facts",
    "Purpose",
    "Report",
    "Rule",
    "RuleFn",
    "ShareArithmetic",
    "Status",
    "add_extension_fix",
    "all_healthy",
    "attached_vms",
    "automatic_os_upgrade",
    "batch_size",
    "describe_counts",
    "evaluate",
    "extension_problems",
    "extension_settings",
    "health_probe",
    "health_source",
    "instance_health",
    "latest_model",
    "max_surge_feature",
    "os_image",
    "os_upgrade_policy",
    "overprovision",
    "probe_ids",
    "probe_load_balancer",
    "purpose_for",
    "set_probe_fix",
    "share_arithmetic",
    "single_source",
    "surge_capacity",
    "unhealthy_share",
    "windows_updates",
]

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
    Purpose.OS_UPGRADE: (os_image, windows_updates, os_upgrade_policy, automatic_os_upgrade),
}


def purpose_for(purpose: Purpose, rolling: Mapping[str, Any]) -> Purpose:
    """A rolling policy with maxSurge on is checked as max-surge."""
    if purpose is Purpose.ROLLING and effective(rolling)["maxSurge"]:
        return Purpose.MAX_SURGE
    return purpose


# The rules that judge the instances themselves: `unknown` when they could not be listed.
NEEDS_INSTANCES: Mapping[RuleFn, str] = {
    instance_health: "instance-health",
    latest_model: "latest-model",
    unhealthy_share: "unhealthy-share",
    attached_vms: "attached-vms",
}


def evaluate(purpose: Purpose, facts: Facts) -> Report:
    missing = facts.instances_unknown
    results = [
        _not_verified(NEEDS_INSTANCES[fn], missing, facts)
        if missing is not None and fn in NEEDS_INSTANCES
        else fn(facts)
        for fn in (*COMMON, *EXTRA[purpose])
    ]
    return Report(
        purpose,
        facts.scale_set.name,
        tuple(r for r in results if r is not None),
        () if missing is None else (missing,),
    )


def _not_verified(name: str, missing: Unknown, facts: Facts) -> Rule | None:
    if name == "attached-vms" and not facts.scale_set.is_flexible:
        return None
    return Rule(name, Status.UNKNOWN, f"not verified: {missing.line()}", {"unknown": missing.reason})
