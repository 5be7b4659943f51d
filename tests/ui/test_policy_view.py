"""The policy views, rendered from typed values at a fixed width into a string."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from vmssroll.domain.model import Extension, ScaleSet, UpgradePolicy
from vmssroll.domain.policy import Difference, Finding
from vmssroll.domain.results import PolicyShow
from vmssroll.ui.policy import changes_view, findings_view, policy_view

PROBE = (
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/lb-web/probes/http-health"
)


AGENT = Extension("agent", "Contoso", "Agent", "1.0", automatic_upgrade=True)


def scale_set(policy: UpgradePolicy, extensions: tuple[Extension, ...] = ()) -> ScaleSet:
    return ScaleSet(
        id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web",
        name="web",
        resource_group="rg",
        location="westeurope",
        orchestration_mode="Uniform",
        capacity=10,
        zones=("1", "2", "3"),
        overprovision=False,
        sku="Standard_B1s",
        etag='"1"',
        upgrade_policy=policy,
        health_probe_id=PROBE,
        extensions=extensions,
        external_health=False,
        image={},
        provisioning_state="Updating",
    )


def render(renderable: Any) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=100, color_system=None).print(renderable)
    return [line.rstrip() for line in out.getvalue().splitlines()]


def test_policy_show_marks_defaults_and_shortens_the_probe() -> None:
    policy = UpgradePolicy(
        "Rolling",
        {"maxBatchInstancePercent": 10, "pauseTimeBetweenBatches": "PT10S", "maxSurge": True},
        {"enableAutomaticOSUpgrade": False},
    )
    assert render(policy_view(PolicyShow.of(scale_set(policy, (AGENT,))))) == EXPECTED


def test_policy_show_of_a_set_with_no_mode_stored() -> None:
    lines = render(policy_view(PolicyShow.of(scale_set(UpgradePolicy(None)))))
    assert "upgrade mode   Manual  (default)" in lines
    assert "enableAutomaticOSUpgrade      false   not set: false" in lines
    assert not any(line.startswith("extension") for line in lines)


def test_changes_and_findings() -> None:
    changes = [Difference("mode", "Manual", "Rolling"), Difference("maxBatchInstancePercent", 20, 10)]
    assert render(changes_view(changes, title="Changes to web's upgrade policy:")) == [
        "Changes to web's upgrade policy:",
        "field                     before   after",
        "──────────────────────────────────────────",
        "mode                      Manual   Rolling",
        "maxBatchInstancePercent   20       10",
    ]
    assert render(changes_view([], title="")) == ["No change: the scale set already has this policy."]
    finding = Finding("warning", "pauseTimeBetweenBatches", "no pause", "set a pause")
    assert render(findings_view([finding])) == [
        "severity   field                     finding    what to change",
        "──────────────────────────────────────────────────────────────",
        "warning    pauseTimeBetweenBatches   no pause   set a pause",
    ]
    assert render(findings_view([])) == ["Policy is valid."]


EXPECTED = [
    "scale set      web (rg, westeurope)",
    "orchestration  Uniform",
    "capacity       10",
    "zones          1, 2, 3",
    "overprovision  false",
    "provisioning   Updating",
    "upgrade mode   Rolling",
    "health source  probe: load balancer lb-web, probe http-health",
    "",
    "rolling upgrade policy                  value   source",
    "─────────────────────────────────────────────────────────────",
    "maxBatchInstancePercent                 10      set",
    "maxUnhealthyInstancePercent             20      Azure default",
    "maxUnhealthyUpgradedInstancePercent     20      Azure default",
    "pauseTimeBetweenBatches                 PT10S   set",
    "prioritizeUnhealthyInstances            false   Azure default",
    "enableCrossZoneUpgrade                  false   Azure default",
    "maxSurge                                true    set",
    "rollbackFailedInstancesOnPolicyBreach   false   Azure default",
    "",
    "automatic OS upgrade policy   value   source",
    "────────────────────────────────────────────────────",
    "enableAutomaticOSUpgrade      false   set",
    "useRollingUpgradePolicy       false   not set: false",
    "disableAutomaticRollback      false   not set: false",
    "osRollingUpgradeDeferral      false   not set: false",
    "",
    "extension   type            version   enableAutomaticUpgrade   autoUpgradeMinorVersion",
    "──────────────────────────────────────────────────────────────────────────────────────",
    "agent       Contoso/Agent   1.0       true                     not set",
]
