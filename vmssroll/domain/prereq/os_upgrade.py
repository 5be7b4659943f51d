"""Rules automatic OS image upgrades add (`check --for os-upgrade`), from Azure's documented requirements:

- the image follows new versions: a platform image at version `latest`, or an Azure Compute Gallery image
  definition referenced without a version (a pinned version, or a managed image, is never upgraded);
- on Windows, Windows Update's own automatic updates are off (`enableAutomaticUpdates: false`; Azure refuses
  automatic OS upgrades otherwise since API 2019-03-01);
- the upgrades run with the rolling upgrade policy: Rolling mode, or `useRollingUpgradePolicy` (else Azure
  falls back to its default policy, not the thresholds `vmssroll policy` set);
- and, for information, whether automatic OS upgrades, deferral and rollback are on.

The health signal they also need is judged by the common rules (`health-source` and the rest).
"""

from __future__ import annotations

import re

from vmssroll.domain.policy import OS_KEY, effective_os
from vmssroll.domain.prereq.report import Facts, Rule, Status, short_args

_GALLERY_VERSION = re.compile(r"/images/[^/]+/versions/([^/]+)/?$", re.IGNORECASE)
_MANAGED_IMAGE = re.compile(r"/providers/Microsoft\.Compute/images/[^/]+/?$", re.IGNORECASE)


def os_image(facts: Facts) -> Rule:
    """The image reference follows new versions: platform `latest`, or a gallery image definition."""
    ss = facts.scale_set
    image = dict(ss.image)
    evidence = {"imageReference": image}
    gallery = image.get("id") or image.get("sharedGalleryImageId") or image.get("communityGalleryImageId")
    if gallery:
        ref = str(gallery)
        if _MANAGED_IMAGE.search(ref):
            return Rule(
                "os-image",
                Status.FAILED,
                "a managed image is never upgraded automatically: only platform images and Azure Compute "
                "Gallery images are",
                evidence,
                "publish the image to an Azure Compute Gallery and reference its image definition (no version)",
            )
        pinned = _GALLERY_VERSION.search(ref)
        if pinned:
            definition = ref[: pinned.start(1) - len("/versions/")]
            return Rule(
                "os-image",
                Status.FAILED,
                f"gallery image pinned to version {pinned[1]}: automatic OS upgrades follow only an image "
                "definition referenced without a version",
                evidence,
                f"vmssroll set-image {short_args(ss)} --image-id {definition}",
            )
        return Rule("os-image", Status.PASSED, "gallery image definition, no version pinned", evidence)
    if not all(image.get(k) for k in ("publisher", "offer", "sku")):
        return Rule(
            "os-image",
            Status.FAILED,
            "no platform image reference (publisher, offer, sku) and no gallery image",
            evidence,
            "reference a platform image at version latest or a gallery image definition",
        )
    version = str(image.get("version") or "")
    if version.lower() == "latest":
        return Rule("os-image", Status.PASSED, "platform image at version latest", evidence)
    return Rule(
        "os-image",
        Status.FAILED,
        f"platform image pinned to version {version or '(none)'}: automatic OS upgrades follow only `latest`",
        evidence,
        f"vmssroll set-image {short_args(ss)} --version latest",
    )


def windows_updates(facts: Facts) -> Rule:
    """On Windows, `osProfile.windowsConfiguration.enableAutomaticUpdates` must be false."""
    ss = facts.scale_set
    evidence = {"osType": ss.os_type, "enableAutomaticUpdates": ss.windows_automatic_updates}
    if (ss.os_type or "").lower() != "windows":
        return Rule(
            "windows-updates", Status.PASSED, f"not a Windows image ({ss.os_type or 'no Windows settings'})",
            evidence,
        )  # fmt: skip
    if ss.windows_automatic_updates is False:
        return Rule("windows-updates", Status.PASSED, "Windows automatic updates are off", evidence)
    state = "on" if ss.windows_automatic_updates else "not set (on by default)"
    return Rule(
        "windows-updates",
        Status.FAILED,
        f"Windows automatic updates are {state}: Azure needs them off for automatic OS image upgrades",
        evidence,
        f"az vmss update {short_args(ss)} "
        "--set virtualMachineProfile.osProfile.windowsConfiguration.enableAutomaticUpdates=false",
    )


def os_upgrade_policy(facts: Facts) -> Rule:
    """The upgrades use the rolling upgrade policy: Rolling mode, or useRollingUpgradePolicy."""
    ss = facts.scale_set
    mode = ss.upgrade_policy.mode or "Manual"
    use = effective_os(ss.upgrade_policy.automatic_os)["useRollingUpgradePolicy"]
    evidence = {"mode": mode, f"{OS_KEY}.useRollingUpgradePolicy": use}
    if mode.lower() == "rolling":
        return Rule(
            "os-upgrade-policy", Status.PASSED, "Rolling mode: the rolling upgrade policy is used", evidence
        )
    if use:
        return Rule(
            "os-upgrade-policy", Status.PASSED,
            f"{mode} mode, and useRollingUpgradePolicy: the rolling upgrade policy is used", evidence,
        )  # fmt: skip
    return Rule(
        "os-upgrade-policy",
        Status.FAILED,
        f"{mode} mode without useRollingUpgradePolicy: automatic OS upgrades would use Azure's default policy, "
        "not this scale set's rolling upgrade policy",
        evidence,
        f"vmssroll policy set {short_args(ss)} --use-rolling-policy-for-os-upgrade",
    )


def automatic_os_upgrade(facts: Facts) -> Rule:
    """Whether automatic OS upgrades are on, with deferral and rollback (information: a warning when off)."""
    ss = facts.scale_set
    policy = effective_os(ss.upgrade_policy.automatic_os)
    evidence = {OS_KEY: policy}
    if not policy["enableAutomaticOSUpgrade"]:
        return Rule(
            "automatic-os-upgrade",
            Status.WARNING,
            "automatic OS upgrades are off: new image versions are applied only when you start an upgrade",
            evidence,
            f"vmssroll policy set {short_args(ss)} --automatic-os-upgrade",
        )
    said = [
        "each waits for `vmssroll approve`" if policy["osRollingUpgradeDeferral"] else "they start at once",
        "no rollback" if policy["disableAutomaticRollback"] else "failed instances are rolled back",
    ]
    return Rule(
        "automatic-os-upgrade", Status.PASSED, f"automatic OS upgrades are on: {'; '.join(said)}", evidence
    )
