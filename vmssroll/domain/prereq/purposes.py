"""Rules only MaxSurge adds: overprovisioning, the feature, spare capacity (automatic OS image upgrades have
theirs in `os_upgrade`)."""

from __future__ import annotations

from vmssroll.domain.plan import batch_size
from vmssroll.domain.prereq.report import Facts, Rule, Status, short_args

MAX_SURGE_FEATURE = ("Microsoft.Compute", "MaxSurgeRollingUpgrade")


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
        f"az vmss update {short_args(ss)} --set overprovision=false",
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
