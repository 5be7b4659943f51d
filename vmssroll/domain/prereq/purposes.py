"""Rules only some purposes add: MaxSurge (overprovisioning, the feature, spare capacity) and automatic OS
image upgrades (an image that follows `latest`)."""

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


def os_image(facts: Facts) -> Rule:
    """Automatic OS image upgrades follow platform images only when the version is `latest`."""
    image = dict(facts.scale_set.image)
    evidence = {"imageReference": image}
    if image.get("id") or image.get("sharedGalleryImageId") or image.get("communityGalleryImageId"):
        return Rule("os-image", Status.PASSED, "gallery image reference", evidence)
    version = str(image.get("version") or "")
    if version.lower() == "latest":
        return Rule("os-image", Status.PASSED, "platform image at version latest", evidence)
    ss = facts.scale_set
    return Rule(
        "os-image",
        Status.WARNING,
        f"platform image pinned to version {version or '(none)'}: OS image upgrades follow only `latest`",
        evidence,
        f"az vmss update {short_args(ss)} "
        "--set virtualMachineProfile.storageProfile.imageReference.version=latest",
    )
