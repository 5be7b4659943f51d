"""The prerequisite rules, one table per rule, on plain data."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from vmssroll.domain.health import count_health
from vmssroll.domain.model import Extension, Health, Instance, ScaleSet, UpgradePolicy
from vmssroll.domain.prereq import (
    Facts,
    Purpose,
    Status,
    all_healthy,
    attached_vms,
    automatic_os_upgrade,
    batch_size,
    evaluate,
    extension_settings,
    health_probe,
    health_source,
    instance_health,
    latest_model,
    max_surge_feature,
    os_image,
    os_upgrade_policy,
    overprovision,
    probe_load_balancer,
    purpose_for,
    share_arithmetic,
    single_source,
    surge_capacity,
    unhealthy_share,
    windows_updates,
)
from vmssroll.domain.prereq.report import Rule

LB = "/subscriptions/s/resourceGroups/rg-demo/providers/Microsoft.Network/loadBalancers/web-lb"
PROBE = f"{LB}/probes/http"
OS_DEFAULTS = {
    "enableAutomaticOSUpgrade": False,
    "useRollingUpgradePolicy": False,
    "disableAutomaticRollback": False,
    "osRollingUpgradeDeferral": False,
}
AGW = "/subscriptions/s/resourceGroups/rg-demo/providers/Microsoft.Network/applicationGateways/agw/probes/p"


def ext(
    settings: dict[str, Any] | None = None, version: str = "2.0", type_: str = "ApplicationHealthLinux"
) -> Extension:
    return Extension(
        "HealthExtension",
        "Microsoft.ManagedServices",
        type_,
        version,
        {"protocol": "http", "port": 80, "requestPath": "/health"} if settings is None else settings,
    )


def scale_set(**kw: Any) -> ScaleSet:
    base = ScaleSet(
        id="/subscriptions/s/resourceGroups/rg-demo/providers/Microsoft.Compute/virtualMachineScaleSets/web",
        name="web",
        resource_group="rg-demo",
        location="westeurope",
        orchestration_mode="Uniform",
        capacity=10,
        zones=(),
        overprovision=False,
        sku="Standard_D2s_v5",
        etag='"1"',
        upgrade_policy=UpgradePolicy("Manual"),
        health_probe_id=None,
        extensions=(),
        external_health=False,
        image={"publisher": "Canonical", "offer": "o", "sku": "s", "version": "latest"},
    )
    return replace(base, **kw)


def vm(iid: int | str, health: Health = Health.HEALTHY, *, latest: bool = True, **kw: Any) -> Instance:
    return Instance(str(iid), f"web_{iid}", None, latest, "Succeeded", health, **kw)


def fleet(n: int = 10, **states: list[int]) -> list[Instance]:
    """n instances, healthy unless listed: fleet(10, unhealthy=[1, 2])."""
    by_id = {i: Health(state) for state, ids in states.items() for i in ids}
    return [vm(i, by_id.get(i, Health.HEALTHY)) for i in range(n)]


# health-source ----------------------------------------------------------------------------------------------

HEALTH_SOURCE = [
    ("uniform probe found", scale_set(health_probe_id=PROBE), ["http"], Status.PASSED, "probe"),
    ("uniform probe missing", scale_set(health_probe_id=PROBE), ["tcp"], Status.FAILED, "does not exist"),
    ("uniform LB missing", scale_set(health_probe_id=PROBE), None, Status.FAILED, "does not exist"),
    ("uniform extension", scale_set(extensions=(ext(),)), None, Status.PASSED, "extension"),
    ("uniform nothing", scale_set(), None, Status.FAILED, "neither"),
    ("flexible extension", scale_set(orchestration_mode="Flexible", extensions=(ext(),)), None, Status.PASSED, ""),
    ("flexible probe only", scale_set(orchestration_mode="Flexible", health_probe_id=PROBE), ["http"],
     Status.FAILED, "only the extension"),
    ("flexible nothing", scale_set(orchestration_mode="Flexible"), None, Status.FAILED, "only the extension"),
    ("external", scale_set(external_health=True), None, Status.PASSED, "external"),
    ("app gateway probe", scale_set(health_probe_id=AGW), None, Status.FAILED, "no usable"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "ss", "probes", "status", "text"), HEALTH_SOURCE, ids=[c[0] for c in HEALTH_SOURCE]
)
def test_health_source(case: str, ss: ScaleSet, probes: list[str] | None, status: Status, text: str) -> None:
    rule = health_source(Facts(ss, lb_probes=probes))
    assert rule.status is status
    assert text in rule.message
    if status is Status.FAILED:
        assert rule.fix and "az vmss extension set --resource-group rg-demo --vmss-name web" in rule.fix
        assert "ApplicationHealthLinux" in rule.fix and "Microsoft.ManagedServices" in rule.fix
    else:
        assert rule.fix is None


def test_health_source_fix_offers_a_probe_only_on_uniform() -> None:
    uniform = health_source(Facts(scale_set()))
    flexible = health_source(Facts(scale_set(orchestration_mode="Flexible")))
    assert uniform.fix and "healthProbe.id" in uniform.fix
    assert flexible.fix and "healthProbe" not in flexible.fix


# health-probe -----------------------------------------------------------------------------------------------

HEALTH_PROBE = [
    ("no probe", scale_set(), None, None, ""),
    ("found", scale_set(health_probe_id=PROBE), ["HTTP", "tcp"], Status.PASSED, "exists"),
    ("missing probe", scale_set(health_probe_id=PROBE), ["tcp"], Status.FAILED, "probe http does not exist on load balancer web-lb (its probes: tcp)"),
    ("missing LB", scale_set(health_probe_id=PROBE), None, Status.FAILED, "load balancer web-lb does not exist"),
    ("application gateway", scale_set(health_probe_id=AGW), None, Status.FAILED, "not a load balancer probe"),
    ("flexible", scale_set(orchestration_mode="Flexible", health_probe_id=PROBE), ["http"], Status.WARNING, "Flexible"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "ss", "probes", "status", "text"), HEALTH_PROBE, ids=[c[0] for c in HEALTH_PROBE]
)
def test_health_probe(
    case: str, ss: ScaleSet, probes: list[str] | None, status: Status | None, text: str
) -> None:
    rule = health_probe(Facts(ss, lb_probes=probes))
    if status is None:
        assert rule is None
        return
    assert rule is not None and rule.status is status
    assert text in rule.message
    assert rule.evidence["probeId"] == ss.health_probe_id


def test_missing_probe_fix_names_the_command_and_an_existing_probe() -> None:
    rule = health_probe(Facts(scale_set(health_probe_id=PROBE), lb_probes=["tcp"]))
    assert rule is not None and rule.fix
    assert "az network lb probe create -g rg-demo --lb-name web-lb -n http" in rule.fix
    assert f"healthProbe.id={LB}/probes/tcp" in rule.fix
    assert rule.evidence["probesOnLoadBalancer"] == ["tcp"]


def test_probe_load_balancer_is_what_the_command_reads() -> None:
    assert probe_load_balancer(scale_set(health_probe_id=PROBE)) == LB
    assert probe_load_balancer(scale_set(health_probe_id=AGW)) is None
    assert probe_load_balancer(scale_set()) is None
    assert probe_load_balancer(scale_set(orchestration_mode="Flexible", health_probe_id=PROBE)) is None


# single-source ----------------------------------------------------------------------------------------------

SINGLE = [
    ("none", scale_set(), None, []),
    ("probe", scale_set(health_probe_id=PROBE), Status.PASSED, []),
    ("extension", scale_set(extensions=(ext(),)), Status.PASSED, []),
    ("probe and extension", scale_set(health_probe_id=PROBE, extensions=(ext(),)), Status.FAILED,
     ["--remove virtualMachineProfile.networkProfile.healthProbe", "az vmss extension delete --resource-group rg-demo --vmss-name web --name HealthExtension"]),
    ("extension and external", scale_set(extensions=(ext(),), external_health=True), Status.FAILED,
     ["externalHealthPolicy.enabled=false"]),
]  # fmt: skip


@pytest.mark.parametrize(("case", "ss", "status", "fixes"), SINGLE, ids=[c[0] for c in SINGLE])
def test_single_source(case: str, ss: ScaleSet, status: Status | None, fixes: list[str]) -> None:
    rule = single_source(Facts(ss))
    if status is None:
        assert rule is None
        return
    assert rule is not None and rule.status is status
    for fix in fixes:
        assert rule.fix and fix in rule.fix
    if status is Status.FAILED:
        assert "only one" in rule.message


# extension-settings -----------------------------------------------------------------------------------------

SETTINGS = [
    ("http ok", {"protocol": "http", "port": 80, "requestPath": "/health"}, "2.0", Status.PASSED, "rich states"),
    ("https ok", {"protocol": "https", "port": 443, "requestPath": "/h", "gracePeriod": 600}, "2.0", Status.PASSED, ""),
    ("tcp ok", {"protocol": "tcp", "port": 22}, "2.0", Status.PASSED, ""),
    ("binary noted", {"protocol": "tcp", "port": 22}, "1.0", Status.PASSED, "binary states"),
    ("bad protocol", {"protocol": "udp", "port": 53}, "2.0", Status.FAILED, "must be one of http, https, tcp"),
    ("no protocol", {"port": 80}, "2.0", Status.FAILED, "protocol None"),
    ("tcp without port", {"protocol": "tcp"}, "2.0", Status.FAILED, "port is required with tcp"),
    ("http without port", {"protocol": "http", "requestPath": "/"}, "2.0", Status.WARNING, "defaults to 80"),
    ("port out of range", {"protocol": "tcp", "port": 70000}, "2.0", Status.FAILED, "not a port number"),
    ("port not a number", {"protocol": "tcp", "port": "eighty"}, "2.0", Status.FAILED, "not a port number"),
    ("http without path", {"protocol": "http", "port": 80}, "2.0", Status.FAILED, "requestPath is required with http"),
    ("tcp with path", {"protocol": "tcp", "port": 80, "requestPath": "/"}, "2.0", Status.FAILED, "not allowed with tcp"),
    ("interval zero", {"protocol": "tcp", "port": 80, "intervalInSeconds": 0}, "2.0", Status.FAILED, "intervalInSeconds 0"),
    ("probes negative", {"protocol": "tcp", "port": 80, "numberOfProbes": -1}, "2.0", Status.FAILED, "numberOfProbes -1"),
    ("grace too long", {"protocol": "tcp", "port": 80, "gracePeriod": 7201}, "2.0", Status.FAILED, "gracePeriod 7201"),
    ("grace at max", {"protocol": "tcp", "port": 80, "gracePeriod": 7200}, "2.0", Status.PASSED, ""),
    ("grace with binary", {"protocol": "tcp", "port": 80, "gracePeriod": 60}, "1.0", Status.WARNING, "ignored with binary"),
    ("odd version", {"protocol": "tcp", "port": 80}, "3.1", Status.WARNING, "neither 1.x nor 2.x"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "settings", "version", "status", "text"), SETTINGS, ids=[c[0] for c in SETTINGS]
)
def test_extension_settings(
    case: str, settings: dict[str, Any], version: str, status: Status, text: str
) -> None:
    rule = extension_settings(Facts(scale_set(extensions=(ext(settings, version),))))
    assert rule is not None and rule.status is status, rule
    assert text in rule.message
    assert (rule.fix is not None) == (status is Status.FAILED)


def test_extension_settings_absent_without_extension() -> None:
    assert extension_settings(Facts(scale_set(health_probe_id=PROBE))) is None


# instance-health and latest-model ---------------------------------------------------------------------------

INSTANCES = [
    ("all healthy", fleet(4), Status.PASSED, "4 healthy of 4"),
    ("initializing", fleet(4, initializing=[2, 3]), Status.FAILED, "2 healthy, 2 initializing of 4"),
    ("silent", fleet(3, silent=[0]), Status.FAILED, "1 silent"),
    ("unhealthy counted, share decides", fleet(4, unhealthy=[1]), Status.WARNING, "1 unhealthy"),
    ("unknown", fleet(4, unknown=[1]), Status.WARNING, "1 unknown"),
    ("empty", [], Status.WARNING, "no instances"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "instances", "status", "text"), INSTANCES, ids=[c[0] for c in INSTANCES])
def test_instance_health(case: str, instances: list[Instance], status: Status, text: str) -> None:
    rule = instance_health(Facts(scale_set(health_probe_id=PROBE), instances, lb_probes=["http"]))
    assert rule.status is status
    assert text in rule.message
    assert (rule.fix is not None) == (status is Status.FAILED)


def test_instance_health_lists_ids_by_state_and_fixes_initializing_by_waiting() -> None:
    rule = instance_health(Facts(scale_set(extensions=(ext(),)), fleet(4, initializing=[2, 3])))
    assert rule.evidence["ids"] == {"healthy": ["0", "1"], "initializing": ["2", "3"]}
    assert rule.fix and "--wait-healthy" in rule.fix


def test_silent_instances_behind_the_model_get_update_instances() -> None:
    instances = [vm(0), vm(1, Health.SILENT, latest=False), vm(2, Health.SILENT, latest=False)]
    rule = instance_health(Facts(scale_set(extensions=(ext(),)), instances))
    assert rule.fix and "az vmss update-instances -g rg-demo -n web --instance-ids 1 2" in rule.fix


@pytest.mark.parametrize(
    "ss",
    [scale_set(orchestration_mode="Flexible"), scale_set(health_probe_id=PROBE)],
    ids=["none", "missing probe"],
)
def test_silent_without_a_usable_source_points_at_the_source(ss: ScaleSet) -> None:
    rule = instance_health(Facts(ss, fleet(2, silent=[0, 1]), lb_probes=["other"]))
    assert rule.status is Status.FAILED and rule.fix == "configure a health source first (see health-source)"


def test_attached_vms_are_not_counted_as_members() -> None:
    instances = [*fleet(2), vm("att1", Health.SILENT, attached=True)]
    ss = scale_set(orchestration_mode="Flexible", extensions=(ext(),))
    assert instance_health(Facts(ss, instances)).status is Status.PASSED
    assert all_healthy(instances)


def test_latest_model_lists_instances_behind() -> None:
    instances = [vm(0), vm(1, latest=False), vm(10, latest=False)]
    rule = latest_model(Facts(scale_set(), instances))
    assert rule.status is Status.WARNING
    assert rule.evidence["notOnLatestModel"] == ["1", "10"]
    assert "may start a rolling upgrade" in rule.message
    assert latest_model(Facts(scale_set(), fleet(3))).status is Status.PASSED


# unhealthy-share --------------------------------------------------------------------------------------------

BATCH = [(10, 20, 2), (10, 100, 10), (4, 20, 1), (2, 20, 1), (7, 50, 3), (0, 20, 1), (25, 5, 1)]


@pytest.mark.parametrize(("capacity", "percent", "size"), BATCH)
def test_batch_size(capacity: int, percent: int, size: int) -> None:
    assert batch_size(capacity, percent) == size


SHARE = [
    # instances, policy, (unhealthy, first batch size, percent), status
    ("healthy 10 at 20/20", fleet(10), {}, (0, 2, 0), Status.PASSED),
    ("3 of 10 unhealthy", fleet(10, unhealthy=[1, 4, 7]), {}, (3, 1, 30), Status.FAILED),
    ("2 of 10 is the limit itself, not more", fleet(10, unhealthy=[1, 4]), {}, (2, 1, 20), Status.WARNING),
    ("3 of 10 with room", fleet(10, unhealthy=[1, 4, 7]), {"maxUnhealthyInstancePercent": 50}, (3, 2, 30), Status.PASSED),
    ("unknown counts, no health signal does not", fleet(10, unknown=[0], silent=[1]), {"maxUnhealthyInstancePercent": 30}, (1, 2, 10), Status.PASSED),
    ("no health signal at all", fleet(4, silent=[0, 1, 2, 3]), {}, (0, 1, 0), Status.PASSED),
    ("initializing does not count", fleet(10, initializing=[0, 1]), {}, (0, 2, 0), Status.PASSED),
    ("1 of 10 shrinks the first batch", fleet(10, unhealthy=[0]), {"prioritizeUnhealthyInstances": True}, (1, 1, 10), Status.WARNING),
    ("small set at defaults", fleet(2), {}, (0, 1, 0), Status.PASSED),
    ("four at defaults", fleet(4), {}, (0, 1, 0), Status.PASSED),
    ("1 of 4 at defaults", fleet(4, unhealthy=[2]), {}, (1, 1, 25), Status.FAILED),
    ("small set with room", fleet(2), {"maxUnhealthyInstancePercent": 50}, (0, 1, 0), Status.PASSED),
    ("batches wider than the unhealthy limit", fleet(10), {"maxBatchInstancePercent": 30}, (0, 2, 0), Status.WARNING),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "instances", "policy", "numbers", "status"), SHARE, ids=[c[0] for c in SHARE]
)
def test_unhealthy_share(
    case: str,
    instances: list[Instance],
    policy: dict[str, Any],
    numbers: tuple[int, int, int],
    status: Status,
) -> None:
    rule = unhealthy_share(Facts(scale_set(), instances, rolling=policy))
    assert rule.status is status
    unhealthy, first_batch, percent = numbers
    assert (rule.evidence["unhealthy"], rule.evidence["firstBatchSize"]) == (unhealthy, first_batch)
    assert rule.evidence["percent"] == percent
    assert f"{unhealthy} unhealthy × 100 / {len(instances)} = {percent}%" in rule.message


def test_unhealthy_share_fix_names_ids_and_the_threshold_that_would_pass() -> None:
    rule = unhealthy_share(Facts(scale_set(extensions=(ext(),)), fleet(10, unhealthy=[1, 4, 7])))
    assert rule.message == (
        "Azure would fault the upgrade before its first batch: "
        "3 unhealthy × 100 / 10 = 30% > maxUnhealthyInstancePercent 20%: the limit is exceeded before any batch"
    )
    assert rule.fix and "1, 4, 7" in rule.fix and "--max-unhealthy-instance-percent to 30" in rule.fix
    assert "--max-batch-instance-percent" not in rule.fix  # a smaller batch would not help


def test_unhealthy_share_warns_when_the_first_batch_shrinks() -> None:
    rule = unhealthy_share(Facts(scale_set(extensions=(ext(),)), fleet(10, unhealthy=[3])))
    assert rule.status is Status.WARNING
    assert rule.message == (
        "1 unhealthy × 100 / 10 = 10% ≤ maxUnhealthyInstancePercent 20%: the first batch shrinks from 2 to 1 "
        "(room for 1 more unhealthy)"
    )
    assert (
        rule.fix
        and "(3)" in rule.fix
        and "--max-unhealthy-instance-percent to 30 for full batches" in rule.fix
    )
    healthy = unhealthy_share(Facts(scale_set(), fleet(10), rolling={"maxBatchInstancePercent": 30}))
    assert healthy.message.endswith("the first batch shrinks from 3 to 2 (room for 2 more unhealthy)")
    assert healthy.fix and "lower --max-batch-instance-percent" in healthy.fix and "repair" not in healthy.fix


def test_unhealthy_share_small_sets_pass_at_the_defaults() -> None:
    rule = unhealthy_share(Facts(scale_set(), fleet(2)))
    assert rule.status is Status.PASSED
    assert rule.message == (
        "0 unhealthy × 100 / 2 = 0% ≤ maxUnhealthyInstancePercent 20%: first batch of 1 "
        "(room for 0 more unhealthy; a batch is at least one instance)"
    )


def test_unhealthy_share_does_not_count_instances_without_a_health_signal() -> None:
    # Azure does not count them before a batch (FACTS.md); the health-source rule is the one that fails
    rule = unhealthy_share(
        Facts(scale_set(health_probe_id=PROBE), fleet(4, silent=[0, 1, 2, 3]), lb_probes=[])
    )
    assert rule.status is Status.PASSED
    assert rule.evidence["unhealthy"] == 0 and rule.evidence["unhealthyIds"] == []


def test_unhealthy_share_uses_the_stored_policy_unless_told() -> None:
    stored = scale_set(upgrade_policy=UpgradePolicy("Manual", {"maxUnhealthyInstancePercent": 60}))
    instances = fleet(10, unhealthy=[1, 4, 7])
    assert unhealthy_share(Facts(stored, instances)).status is Status.PASSED
    assert unhealthy_share(Facts(stored, instances, rolling={})).status is Status.FAILED


def test_share_arithmetic_direct() -> None:
    a = share_arithmetic(count_health(fleet(10, unhealthy=[0])), {"maxBatchInstancePercent": 30,
                                                                  "maxUnhealthyInstancePercent": 40})  # fmt: skip
    assert (a.batch, a.unhealthy, a.room, a.first_batch, a.percent, a.ok, a.shrinks) == (
        3,
        1,
        3,
        3,
        10.0,
        True,
        False,
    )
    at_limit = share_arithmetic(count_health(fleet(10, unhealthy=[0, 1])), {"maxBatchInstancePercent": 20,
                                                                            "maxUnhealthyInstancePercent": 20})  # fmt: skip
    assert (at_limit.refused, at_limit.room, at_limit.first_batch, at_limit.needed_threshold) == (
        False,
        0,
        1,
        20,
    )
    over = share_arithmetic(count_health(fleet(10, unhealthy=[0, 1, 2])), {"maxBatchInstancePercent": 20,
                                                                           "maxUnhealthyInstancePercent": 20})  # fmt: skip
    assert (over.refused, over.room, over.needed_threshold) == (True, -1, 30)


@pytest.mark.parametrize(
    ("unhealthy", "refused", "first_batch"),
    [(0, False, 2), (2, False, 1), (3, True, 1)],  # 0, the limit (20% of 10), the limit plus one instance
)
def test_share_arithmetic_boundaries(unhealthy: int, refused: bool, first_batch: int) -> None:
    a = share_arithmetic(count_health(fleet(10, unhealthy=list(range(unhealthy)))), {
        "maxBatchInstancePercent": 20, "maxUnhealthyInstancePercent": 20})  # fmt: skip
    assert (a.refused, a.first_batch) == (refused, first_batch)


# attached VMs (Flexible) ------------------------------------------------------------------------------------

ATTACHED = [
    ("uniform", "Uniform", {"ApplicationHealthLinux": "2.0"}, None),
    ("with extension", "Flexible", {"ApplicationHealthLinux": "2.0"}, Status.PASSED),
    ("windows extension", "Flexible", {"ApplicationHealthWindows": "1.0"}, Status.PASSED),
    ("named freely", "Flexible", {"HealthExtension": "2.0"}, Status.PASSED),
    ("without", "Flexible", {"CustomScript": "2.1"}, Status.WARNING),
]


@pytest.mark.parametrize(("case", "mode", "exts", "status"), ATTACHED, ids=[c[0] for c in ATTACHED])
def test_attached_vms(case: str, mode: str, exts: dict[str, str], status: Status | None) -> None:
    instances = [*fleet(2), Instance("5", "legacy-vm", None, None, "Succeeded", Health.SILENT, extensions=exts,
                                     attached=True)]  # fmt: skip
    rule = attached_vms(Facts(scale_set(orchestration_mode=mode, extensions=(ext(),)), instances))
    if status is None:
        assert rule is None
        return
    assert rule is not None and rule.status is status
    if status is Status.WARNING:
        assert rule.evidence["withoutExtension"] == ["legacy-vm"]
        assert rule.fix and "az vm extension set -g rg-demo --vm-name legacy-vm" in rule.fix


def test_no_attached_rule_without_attached_vms() -> None:
    assert attached_vms(Facts(scale_set(orchestration_mode="Flexible"), fleet(2))) is None


# MaxSurge ---------------------------------------------------------------------------------------------------

OVERPROVISION = [
    ("off", "Uniform", False, Status.PASSED, "overprovision is off"),
    ("on", "Uniform", True, Status.FAILED, "MaxSurge needs overprovision off; it is on"),
    (
        "unset uniform",
        "Uniform",
        None,
        Status.FAILED,
        "MaxSurge needs overprovision off; it is unset (on by default for Uniform)",
    ),
    ("unset flexible", "Flexible", None, Status.PASSED, "overprovision is off"),
    ("on flexible", "Flexible", True, Status.FAILED, "MaxSurge needs overprovision off; it is on"),
]


@pytest.mark.parametrize(
    ("case", "mode", "value", "status", "message"), OVERPROVISION, ids=[c[0] for c in OVERPROVISION]
)
def test_overprovision(case: str, mode: str, value: bool | None, status: Status, message: str) -> None:
    rule = overprovision(Facts(scale_set(orchestration_mode=mode, overprovision=value)))
    fix = "az vmss update -g rg-demo -n web --set overprovision=false" if status is Status.FAILED else None
    assert rule == Rule("overprovision", status, message, {"overprovision": value}, fix)


FEATURE = [("Registered", Status.PASSED), ("registered", Status.PASSED), ("NotRegistered", Status.FAILED),
           ("Registering", Status.FAILED), (None, Status.FAILED)]  # fmt: skip


@pytest.mark.parametrize(("state", "status"), FEATURE)
def test_max_surge_feature(state: str | None, status: Status) -> None:
    rule = max_surge_feature(Facts(scale_set(), feature_state=state))
    feature = "Microsoft.Compute/MaxSurgeRollingUpgrade"
    if status is Status.PASSED:
        expected = Rule(
            "max-surge-feature", status, f"{feature} is Registered", {"feature": feature, "state": state}
        )
    else:
        expected = Rule(
            "max-surge-feature",
            status,
            f"{feature} is {state or 'not found'}",
            {"feature": feature, "state": state},
            "az feature register --namespace Microsoft.Compute --name MaxSurgeRollingUpgrade; wait until "
            "`az feature show --namespace Microsoft.Compute --name MaxSurgeRollingUpgrade` says Registered; then "
            "az provider register -n Microsoft.Compute",
        )
    assert rule == expected


@pytest.mark.parametrize(
    ("instances", "percent", "sku", "extra", "capacity", "size"),
    [
        (10, 30, "Standard_D2s_v5", 3, 10, "Standard_D2s_v5"),
        (0, 30, "Standard_D2s_v5", 3, 10, "Standard_D2s_v5"),  # not listed: the capacity counts
        (4, 20, None, 1, 4, "the scale set's size"),  # at least one instance
    ],
)
def test_surge_capacity_counts_extra_instances_per_batch(
    instances: int, percent: int, sku: str | None, extra: int, capacity: int, size: str
) -> None:
    facts = Facts(scale_set(sku=sku), fleet(instances), rolling={"maxBatchInstancePercent": percent})
    assert surge_capacity(facts) == Rule(
        "surge-capacity",
        Status.WARNING,
        f"each batch first creates {extra} extra instance(s) of {size}: keep spare core quota for them, "
        f"{extra} free IP address(es) and room in the subnet; Azure checks quota before each batch and cancels "
        "the upgrade if it runs short",
        {"extraInstancesPerBatch": extra, "sku": sku, "capacity": capacity},
    )


# OS image ---------------------------------------------------------------------------------------------------

GALLERY = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i"
OS = [
    ("latest", {"publisher": "Canonical", "offer": "o", "sku": "s", "version": "latest"}, Status.PASSED),
    ("pinned", {"publisher": "Canonical", "offer": "o", "sku": "s", "version": "1.2.3"}, Status.FAILED),
    ("gallery", {"id": GALLERY}, Status.PASSED),
    ("gallery-version", {"id": GALLERY + "/versions/1.0.0"}, Status.FAILED),
    (
        "managed",
        {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/images/app"},
        Status.FAILED,
    ),
    ("shared", {"sharedGalleryImageId": "/SharedGalleries/x/Images/i"}, Status.PASSED),
    ("shared-version", {"sharedGalleryImageId": "/SharedGalleries/x/Images/i/Versions/2.0"}, Status.FAILED),
    ("nothing", {}, Status.FAILED),
]


@pytest.mark.parametrize(("case", "image", "status"), OS, ids=[c[0] for c in OS])
def test_os_image(case: str, image: dict[str, str], status: Status) -> None:
    rule = os_image(Facts(scale_set(image=image)))
    assert rule.status is status
    assert rule.evidence == {"imageReference": image}
    assert (rule.fix is not None) == (status is Status.FAILED)


def test_a_pinned_gallery_version_is_fixed_by_its_definition() -> None:
    rule = os_image(Facts(scale_set(image={"id": GALLERY + "/versions/1.0.0"})))
    assert "version 1.0.0" in rule.message
    assert rule.fix == f"vmssroll set-image -g rg-demo -n web --image-id {GALLERY}"
    pinned = os_image(
        Facts(scale_set(image={"publisher": "p", "offer": "o", "sku": "s", "version": "1.2.3"}))
    )
    assert pinned.fix == "vmssroll set-image -g rg-demo -n web --version latest"


WINDOWS = [
    ("linux", None, None, Status.PASSED),
    ("linux-said", "Linux", None, Status.PASSED),
    ("windows-off", "Windows", False, Status.PASSED),
    ("windows-on", "Windows", True, Status.FAILED),
    ("windows-unset", "Windows", None, Status.FAILED),
]


@pytest.mark.parametrize(("case", "os_type", "updates", "status"), WINDOWS, ids=[c[0] for c in WINDOWS])
def test_windows_updates(case: str, os_type: str | None, updates: bool | None, status: Status) -> None:
    rule = windows_updates(Facts(scale_set(os_type=os_type, windows_automatic_updates=updates)))
    assert rule.status is status
    assert rule.evidence == {"osType": os_type, "enableAutomaticUpdates": updates}
    if status is Status.FAILED:
        assert rule.fix and "enableAutomaticUpdates=false" in rule.fix


POLICY = [
    ("rolling", "Rolling", {}, Status.PASSED),
    ("manual", "Manual", {}, Status.FAILED),
    ("manual-use", "Manual", {"useRollingUpgradePolicy": True}, Status.PASSED),
    ("automatic", "Automatic", {"useRollingUpgradePolicy": False}, Status.FAILED),
    ("unset-mode", None, {}, Status.FAILED),
]


@pytest.mark.parametrize(("case", "mode", "auto", "status"), POLICY, ids=[c[0] for c in POLICY])
def test_os_upgrade_policy(case: str, mode: str | None, auto: dict[str, bool], status: Status) -> None:
    rule = os_upgrade_policy(Facts(scale_set(upgrade_policy=UpgradePolicy(mode, automatic_os=auto))))
    assert rule.status is status
    if status is Status.FAILED:
        assert rule.fix == "vmssroll policy set -g rg-demo -n web --use-rolling-policy-for-os-upgrade"
        assert f"{mode or 'Manual'} mode" in rule.message


def test_automatic_os_upgrade_says_whether_it_is_on_and_how() -> None:
    off = automatic_os_upgrade(Facts(scale_set()))
    assert off.status is Status.WARNING and off.fix and "--automatic-os-upgrade" in off.fix
    on = {
        "enableAutomaticOSUpgrade": True,
        "osRollingUpgradeDeferral": True,
        "disableAutomaticRollback": True,
    }
    rule = automatic_os_upgrade(Facts(scale_set(upgrade_policy=UpgradePolicy("Rolling", automatic_os=on))))
    assert rule.status is Status.PASSED
    assert "vmssroll approve" in rule.message and "no rollback" in rule.message
    assert rule.evidence["automaticOSUpgradePolicy"]["useRollingUpgradePolicy"] is False


# the report -------------------------------------------------------------------------------------------------


def names(report: Any) -> list[str]:
    return [r.name for r in report.rules]


def test_ready_uniform_probe_report() -> None:
    report = evaluate(Purpose.ROLLING, Facts(scale_set(health_probe_id=PROBE), fleet(10), lb_probes=["http"]))
    assert report.ready
    assert names(report) == ["health-source", "health-probe", "single-source", "instance-health",
                             "latest-model", "unhealthy-share"]  # fmt: skip
    doc = report.to_json()
    assert doc["ready"] is True and doc["for"] == "rolling"
    assert {r["status"] for r in doc["rules"]} == {"passed"}
    assert set(doc["rules"][0]) == {"name", "status", "message", "evidence", "fix"}


def test_max_surge_adds_its_rules() -> None:
    facts = Facts(scale_set(extensions=(ext(),)), fleet(10), feature_state="NotRegistered")
    report = evaluate(Purpose.MAX_SURGE, facts)
    assert names(report)[-3:] == ["overprovision", "max-surge-feature", "surge-capacity"]
    assert not report.ready
    assert [r.name for r in report.failed] == ["max-surge-feature"]


def test_os_upgrade_adds_its_rules() -> None:
    report = evaluate(Purpose.OS_UPGRADE, Facts(scale_set(extensions=(ext(),)), fleet(10)))
    assert names(report)[-4:] == ["os-image", "windows-updates", "os-upgrade-policy", "automatic-os-upgrade"]
    assert [r.name for r in report.failed] == ["os-upgrade-policy"]  # Manual, without useRollingUpgradePolicy
    rolling = scale_set(extensions=(ext(),), upgrade_policy=UpgradePolicy("Rolling"))
    assert evaluate(Purpose.OS_UPGRADE, Facts(rolling, fleet(10))).ready


def test_a_policy_with_max_surge_is_checked_as_max_surge() -> None:
    assert purpose_for(Purpose.ROLLING, {"maxSurge": True}) is Purpose.MAX_SURGE
    assert purpose_for(Purpose.ROLLING, {}) is Purpose.ROLLING
    assert purpose_for(Purpose.OS_UPGRADE, {"maxSurge": True}) is Purpose.OS_UPGRADE


def test_every_failure_carries_a_fix() -> None:
    facts = Facts(
        scale_set(health_probe_id=AGW, extensions=(ext({"protocol": "tcp"}),), overprovision=None),
        [*fleet(10, unhealthy=[0, 1, 2], initializing=[3])],
        feature_state=None,
    )
    report = evaluate(Purpose.MAX_SURGE, facts)
    assert len(report.failed) >= 5
    for rule in report.failed:
        assert rule.fix, rule.name


# extension_problems, exactly: (settings, version) → (errors, warnings)
PROBLEMS = [
    ({"protocol": "HTTP", "port": "8080", "requestPath": "/h"}, "2.0", [], []),
    ({"protocol": "udp", "port": 0}, "2.0",
     ["protocol 'udp' must be one of http, https, tcp", "port 0 is not a port number (1-65535)"], []),
    ({}, "2.0", ["protocol None must be one of http, https, tcp", "port is required"], []),
    ({"protocol": "tcp"}, "2.0", ["port is required with tcp"], []),
    ({"protocol": "https", "requestPath": "/h"}, "2.0", [], ["no port: https defaults to 443; set it"]),
    ({"protocol": "http", "requestPath": "/h"}, "2.0", [], ["no port: http defaults to 80; set it"]),
    ({"protocol": "tcp", "port": True}, "2.0", ["port True is not a port number (1-65535)"], []),
    ({"protocol": "tcp", "port": 65535}, "2.0", [], []),
    ({"protocol": "tcp", "port": 65536}, "2.0", ["port 65536 is not a port number (1-65535)"], []),
    ({"protocol": "tcp", "port": 1}, "2.0", [], []),
    ({"protocol": "tcp", "port": " 22 "}, "2.0", [], []),
    ({"protocol": "tcp", "port": "0"}, "2.0", ["port '0' is not a port number (1-65535)"], []),
    ({"protocol": "https", "port": 443}, "2.0", ["requestPath is required with https"], []),
    ({"protocol": "tcp", "port": 22, "requestPath": "/"}, "2.0", ["requestPath is not allowed with tcp"], []),
    ({"protocol": "tcp", "port": 22, "intervalInSeconds": "5", "numberOfProbes": 1}, "2.0", [], []),
    ({"protocol": "tcp", "port": 22, "intervalInSeconds": 1.5}, "2.0",
     ["intervalInSeconds 1.5 must be a positive whole number"], []),
    ({"protocol": "tcp", "port": 22, "numberOfProbes": "x"}, "2.0",
     ["numberOfProbes 'x' must be a positive whole number"], []),
    ({"protocol": "tcp", "port": 22, "gracePeriod": 1}, "2.0", [], []),
    ({"protocol": "tcp", "port": 22, "gracePeriod": 0}, "2.0", ["gracePeriod 0 must be 1-7200 seconds"], []),
    ({"protocol": "tcp", "port": 22, "gracePeriod": 9999}, "1.0", [],
     ["gracePeriod is ignored with binary states (typeHandlerVersion 1.x)"]),
    ({"protocol": "tcp", "port": 22, "gracePeriod": 60}, None, [],
     ["typeHandlerVersion None is neither 1.x nor 2.x"]),
    ({"protocol": "tcp", "port": 22}, " 2.1 ", [], []),
]  # fmt: skip


@pytest.mark.parametrize(("settings", "version", "errors", "warnings"), PROBLEMS)
def test_extension_problems_exactly(
    settings: dict[str, Any], version: str | None, errors: list[str], warnings: list[str]
) -> None:
    from vmssroll.domain.prereq.extension import extension_problems

    assert extension_problems(replace(ext(settings), type_handler_version=version)) == (errors, warnings)


def test_extension_settings_rule_exactly() -> None:
    good = {"protocol": "http", "port": 80, "requestPath": "/health"}
    rule = extension_settings(Facts(scale_set(extensions=(ext(good),))))
    assert rule == Rule(
        "extension-settings",
        Status.PASSED,
        "HealthExtension: http port 80 path /health, rich states (2.x)",
        {
            "extension": "HealthExtension",
            "type": "ApplicationHealthLinux",
            "typeHandlerVersion": "2.0",
            "states": "rich states (2.x)",
            "settings": good,
        },
    )
    tcp = extension_settings(Facts(scale_set(extensions=(ext({"protocol": "tcp"}, "1.0"),))))
    assert tcp is not None and tcp.message == "HealthExtension: port is required with tcp"
    assert tcp.evidence["states"] == "binary states (1.x)"
    assert tcp.fix == (
        "az vmss extension set --resource-group rg-demo --vmss-name web --name ApplicationHealthLinux "
        "--publisher Microsoft.ManagedServices --version 1.0 --settings "
        """'{"protocol": "http", "port": 80, "requestPath": "/health"}' (use your application's values; """
        "tcp takes a port and no requestPath)"
    )
    unversioned = ext({"protocol": "tcp", "port": 22}, "")
    warned = extension_settings(
        Facts(scale_set(extensions=(replace(unversioned, type_handler_version=None),)))
    )
    assert warned is not None and warned.status is Status.WARNING and warned.fix is None
    assert warned.message == "HealthExtension: typeHandlerVersion None is neither 1.x nor 2.x"
    assert warned.evidence["states"] == "unknown states"
    no_version = replace(ext({"protocol": "http", "requestPath": "/"}), type_handler_version=None)
    failed = extension_settings(
        Facts(scale_set(extensions=(replace(no_version, settings={"protocol": "x"}),)))
    )
    assert failed is not None and "--version 2.0 --settings" in (failed.fix or "")
    tcp_ok = extension_settings(Facts(scale_set(extensions=(ext({"protocol": "tcp", "port": 22}),))))
    assert tcp_ok is not None and tcp_ok.message == "HealthExtension: tcp port 22, rich states (2.x)"


def test_attached_vms_exactly() -> None:
    flexible = scale_set(orchestration_mode="Flexible")
    carrying = vm("a1", attached=True, extensions={"appHealth": "2.0"})
    bare = [vm(n, attached=True) for n in ("a2", "a3")]
    passed = attached_vms(Facts(flexible, [vm(0), carrying]))
    assert passed == Rule(
        "attached-vms",
        Status.PASSED,
        "1 attached VMs carry the extension",
        {"attached": ["web_a1"], "withoutExtension": []},
    )
    warned = attached_vms(Facts(flexible, [vm(0), carrying, *bare]))
    assert warned is not None and warned.status is Status.WARNING and warned.name == "attached-vms"
    assert warned.message == "2 of 3 attached VMs lack the Application Health extension: web_a2, web_a3"
    fix = (
        "az vm extension set -g rg-demo --vm-name {} --name ApplicationHealthLinux --publisher "
        "Microsoft.ManagedServices --version 2.0 --settings '<same settings as the scale set>'"
    )
    assert warned.fix == f"{fix.format('web_a2')}; {fix.format('web_a3')}"
    assert attached_vms(Facts(scale_set(), [vm(0), *bare])) is None  # Uniform: none attached by definition


GALLERY_DEF = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/web"
MANAGED = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/images/golden"


@pytest.mark.parametrize(
    ("image", "status", "message", "fix"),
    [
        ({"communityGalleryImageId": "/CommunityGalleries/c/Images/web"}, Status.PASSED,
         "gallery image definition, no version pinned", None),
        ({"communityGalleryImageId": "/CommunityGalleries/c/Images/web/Versions/1.0.0"}, Status.FAILED,
         "gallery image pinned to version 1.0.0: automatic OS upgrades follow only an image definition "
         "referenced without a version", "vmssroll set-image -g rg-demo -n web --image-id "
         "/CommunityGalleries/c/Images/web"),
        ({"id": MANAGED}, Status.FAILED,
         "a managed image is never upgraded automatically: only platform images and Azure Compute Gallery "
         "images are",
         "publish the image to an Azure Compute Gallery and reference its image definition (no version)"),
        ({"publisher": "Canonical", "offer": "o"}, Status.FAILED,
         "no platform image reference (publisher, offer, sku) and no gallery image",
         "reference a platform image at version latest or a gallery image definition"),
        ({"publisher": "C", "offer": "o", "sku": "s"}, Status.FAILED,
         "platform image pinned to version (none): automatic OS upgrades follow only `latest`",
         "vmssroll set-image -g rg-demo -n web --version latest"),
        ({"publisher": "C", "offer": "o", "sku": "s", "version": "LATEST"}, Status.PASSED,
         "platform image at version latest", None),
    ],
)  # fmt: skip
def test_os_image_exactly(image: dict[str, Any], status: Status, message: str, fix: str | None) -> None:
    rule = os_image(Facts(scale_set(image=image)))
    assert rule == Rule("os-image", status, message, {"imageReference": image}, fix)


WIN_FIX = (
    "az vmss update -g rg-demo -n web --set virtualMachineProfile.osProfile.windowsConfiguration."
    "enableAutomaticUpdates=false"
)


@pytest.mark.parametrize(
    ("os_type", "updates", "status", "message", "fix"),
    [
        (None, None, Status.PASSED, "not a Windows image (no Windows settings)", None),
        ("Linux", None, Status.PASSED, "not a Windows image (Linux)", None),
        ("Windows", False, Status.PASSED, "Windows automatic updates are off", None),
        ("windows", True, Status.FAILED,
         "Windows automatic updates are on: Azure needs them off for automatic OS image upgrades", WIN_FIX),
        ("Windows", None, Status.FAILED, "Windows automatic updates are not set (on by default): Azure needs them "
         "off for automatic OS image upgrades", WIN_FIX),
    ],
)  # fmt: skip
def test_windows_updates_exactly(
    os_type: str | None, updates: bool | None, status: Status, message: str, fix: str | None
) -> None:
    rule = windows_updates(Facts(scale_set(os_type=os_type, windows_automatic_updates=updates)))
    evidence = {"osType": os_type, "enableAutomaticUpdates": updates}
    assert rule == Rule("windows-updates", status, message, evidence, fix)


@pytest.mark.parametrize(
    ("mode", "use", "status", "message", "fix"),
    [
        ("Rolling", False, Status.PASSED, "Rolling mode: the rolling upgrade policy is used", None),
        ("Automatic", True, Status.PASSED,
         "Automatic mode, and useRollingUpgradePolicy: the rolling upgrade policy is used", None),
        (None, False, Status.FAILED,
         "Manual mode without useRollingUpgradePolicy: automatic OS upgrades would use Azure's default policy, "
         "not this scale set's rolling upgrade policy",
         "vmssroll policy set -g rg-demo -n web --use-rolling-policy-for-os-upgrade"),
    ],
)  # fmt: skip
def test_os_upgrade_policy_exactly(
    mode: str | None, use: bool, status: Status, message: str, fix: str | None
) -> None:
    policy = UpgradePolicy(mode, {}, {"useRollingUpgradePolicy": use})
    rule = os_upgrade_policy(Facts(scale_set(upgrade_policy=policy)))
    evidence = {"mode": mode or "Manual", "automaticOSUpgradePolicy.useRollingUpgradePolicy": use}
    assert rule == Rule("os-upgrade-policy", status, message, evidence, fix)


@pytest.mark.parametrize(
    ("automatic_os", "status", "message"),
    [
        ({}, Status.WARNING,
         "automatic OS upgrades are off: new image versions are applied only when you start an upgrade"),
        ({"enableAutomaticOSUpgrade": True}, Status.PASSED,
         "automatic OS upgrades are on: they start at once; failed instances are rolled back"),
        ({"enableAutomaticOSUpgrade": True, "osRollingUpgradeDeferral": True, "disableAutomaticRollback": True},
         Status.PASSED, "automatic OS upgrades are on: each waits for `vmssroll approve`; no rollback"),
    ],
)  # fmt: skip
def test_automatic_os_upgrade_exactly(automatic_os: dict[str, Any], status: Status, message: str) -> None:
    rule = automatic_os_upgrade(Facts(scale_set(upgrade_policy=UpgradePolicy("Manual", {}, automatic_os))))
    assert (rule.name, rule.status, rule.message) == ("automatic-os-upgrade", status, message)
    assert rule.fix == (
        "vmssroll policy set -g rg-demo -n web --automatic-os-upgrade" if status is Status.WARNING else None
    )
    assert rule.evidence == {"automaticOSUpgradePolicy": {**OS_DEFAULTS, **automatic_os}}


EXT_FIX = (
    "az vmss extension set --resource-group rg-demo --vmss-name web --name ApplicationHealthLinux --publisher "
    """Microsoft.ManagedServices --version 2.0 --settings '{"protocol": "http", "port": 80, "requestPath": """
    """"/health"}' (ApplicationHealthWindows on Windows; use your application's port and path)"""
)
SET_PROBE = "az vmss update -g rg-demo -n web --set virtualMachineProfile.networkProfile.healthProbe.id="


@pytest.mark.parametrize(
    ("ss", "probes", "status", "message", "fix"),
    [
        (scale_set(extensions=(ext(),)), None, Status.PASSED, "Application Health extension HealthExtension",
         None),
        (scale_set(external_health=True), None, Status.PASSED,
         "external health policy (properties.externalHealthPolicy); vmssroll cannot check what feeds it", None),
        (scale_set(orchestration_mode="Flexible", health_probe_id=PROBE), ["http"], Status.FAILED,
         "no Application Health extension; Flexible scale sets accept only the extension (a load balancer "
         "probe does not count on Flexible)", EXT_FIX),
        (scale_set(orchestration_mode="Flexible"), None, Status.FAILED,
         "no Application Health extension; Flexible scale sets accept only the extension", EXT_FIX),
        (scale_set(health_probe_id=PROBE), ["HTTP"], Status.PASSED, "load balancer probe http on web-lb", None),
        (scale_set(health_probe_id=PROBE), ["tcp"], Status.FAILED,
         "no usable health signal: the configured probe does not exist",
         f"{SET_PROBE}<load balancer probe id>, or {EXT_FIX}"),
        (scale_set(), None, Status.FAILED, "no usable health signal: neither a probe nor the extension",
         f"{SET_PROBE}<load balancer probe id>, or {EXT_FIX}"),
    ],
)  # fmt: skip
def test_health_source_exactly(
    ss: ScaleSet, probes: list[str] | None, status: Status, message: str, fix: str | None
) -> None:
    rule = health_source(Facts(ss, lb_probes=probes))
    assert (rule.name, rule.status, rule.message, rule.fix) == ("health-source", status, message, fix)
    assert rule.evidence["orchestrationMode"] == ss.orchestration_mode


SHORT = "Microsoft.Network/loadBalancers/lb2/probes/p"


@pytest.mark.parametrize(
    ("ss", "probes", "status", "message", "fix", "evidence"),
    [
        (scale_set(orchestration_mode="Flexible", health_probe_id=PROBE), ["http"], Status.WARNING,
         "a load balancer probe is set but Flexible scale sets take health only from the extension", None,
         {"probeId": PROBE}),
        (scale_set(health_probe_id=AGW), None, Status.FAILED,
         "the health probe is not a load balancer probe (Application Gateway probes are not accepted)",
         f"{SET_PROBE}<load balancer probe id>", {"probeId": AGW}),
        (scale_set(health_probe_id=PROBE), None, Status.FAILED, "load balancer web-lb does not exist",
         f"{SET_PROBE}<load balancer probe id>", {"probeId": PROBE, "loadBalancer": LB}),
        (scale_set(health_probe_id=PROBE), ["tcp", "http"], Status.PASSED, "probe http exists on web-lb", None,
         {"probeId": PROBE, "loadBalancer": LB, "probesOnLoadBalancer": ["tcp", "http"]}),
        (scale_set(health_probe_id=PROBE), ["tcp", "ssh"], Status.FAILED,
         "probe http does not exist on load balancer web-lb (its probes: tcp, ssh)",
         "az network lb probe create -g rg-demo --lb-name web-lb -n http --protocol tcp --port 80, or point the "
         f"scale set at an existing probe: {SET_PROBE}{LB}/probes/tcp",
         {"probeId": PROBE, "loadBalancer": LB, "probesOnLoadBalancer": ["tcp", "ssh"]}),
        (scale_set(health_probe_id=SHORT), [], Status.FAILED,
         "probe p does not exist on load balancer lb2 (its probes: none)",
         "az network lb probe create -g rg-demo --lb-name lb2 -n p --protocol tcp --port 80, or point the "
         f"scale set at an existing probe: {SET_PROBE}<probe id>",
         {"probeId": SHORT, "loadBalancer": "/Microsoft.Network/loadBalancers/lb2", "probesOnLoadBalancer": []}),
    ],
)  # fmt: skip
def test_health_probe_exactly(
    ss: ScaleSet,
    probes: list[str] | None,
    status: Status,
    message: str,
    fix: str | None,
    evidence: dict[str, Any],
) -> None:
    assert health_probe(Facts(ss, lb_probes=probes)) == Rule("health-probe", status, message, evidence, fix)


def test_no_instances_at_all() -> None:
    from vmssroll.domain.prereq.instances import describe_counts

    assert describe_counts(count_health([])) == "none of 0"
    rule = instance_health(Facts(scale_set()))
    assert (rule.name, rule.status, rule.message) == (
        "instance-health",
        Status.WARNING,
        "no instances: health cannot be confirmed",
    )


def test_unhealthy_share_evidence_names_every_figure() -> None:
    rule = unhealthy_share(Facts(scale_set(), fleet(10, unhealthy=[1])))
    assert rule is not None
    assert set(rule.evidence) == {
        "total",
        "batchSize",
        "firstBatchSize",
        "unhealthy",
        "unhealthyIds",
        "room",
        "percent",
        "maxUnhealthyInstancePercent",
        "maxBatchInstancePercent",
    }
    assert (rule.evidence["maxUnhealthyInstancePercent"], rule.evidence["maxBatchInstancePercent"]) == (
        20,
        20,
    )
    assert rule.evidence["room"] == 1  # 20% of 10 is 2, one already unhealthy
