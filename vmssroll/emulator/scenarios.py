"""Scenario files: a compact description of a subscription, validated and built into a World.

The format is documented in scenarios/README.md and checked by scenario_format.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from .scenario_format import DEFAULT_SUBSCRIPTION, SCALE_SET, SCENARIO, ScenarioError, check
from .state import Instance, ScaleSet, Timings, World, canonical, canonical_enums

SCENARIO_DIR = Path(__file__).parent / "scenarios"
_TOP = set(SCENARIO.fields)  # the fields a scenario may have
_SET = set(SCALE_SET.fields)  # the fields a scale set may have
Pending = list[tuple[ScaleSet, Instance, float]]
Release = tuple[float, str, str, str, str]  # seconds after the start, publisher, offer, sku, version


def releases(data: dict[str, Any]) -> list[Release]:
    """The platform image versions a scenario publishes later on the emulator's clock (`after` > 0)."""
    return [
        (float(i["after"]), i["publisher"], i["offer"], i["sku"], str(i["version"]))
        for i in data.get("platform_images") or []
        if i.get("after", 0) > 0
    ]


def builtin_names() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def load(source: str | Path | dict[str, Any], *, paths: bool = True) -> dict[str, Any]:
    """Read a scenario from a built-in name, a .json/.yaml path (only with `paths`: the command line may name
    a file, the HTTP control API may not), or a dict; validate it. Files are read bounded and parsed
    strictly."""
    from vmssroll.documents import DocumentError, excerpt, load_file

    if not isinstance(source, str | Path):
        data: Any = source  # a dict, or anything else `check` refuses
    else:
        text = str(source)
        if text in builtin_names():
            path = SCENARIO_DIR / f"{text}.yaml"
        elif not paths:
            raise ScenarioError(
                f"unknown scenario {excerpt(text)}: the control API loads built-in scenarios only "
                f"({', '.join(builtin_names())}); a file can be named on the command line"
            )
        else:
            path = Path(text)
            if not path.exists():
                raise ScenarioError(
                    f"unknown scenario {excerpt(text)}: not a built-in ({', '.join(builtin_names())}) nor a file"
                )
        try:
            data = load_file(path, yaml_if=path.suffix.lower() != ".json")
        except DocumentError as exc:
            raise ScenarioError(f"{excerpt(path.name)}: cannot be read: {exc}") from None
    check(data)
    return data


def _extension(ext: dict[str, Any]) -> dict[str, Any]:
    if "properties" in ext:
        return dict(ext)
    props = {k: v for k, v in ext.items() if k != "name"}
    props.setdefault("autoUpgradeMinorVersion", True)
    return {"name": ext.get("name") or props.get("type"), "properties": props}


def _profile(sub: str, rg: str, ss: dict[str, Any]) -> dict[str, Any]:
    name = ss["name"]
    image = ss.get("image") or {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server",
                                "version": "1.0.0"}  # fmt: skip
    net = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network"
    nic: dict[str, Any] = {
        "name": f"{name}-nic",
        "properties": {"primary": True, "ipConfigurations": [
            {"name": "ipconfig1", "properties": {"subnet": {"id": f"{net}/virtualNetworks/vnet/subnets/default"}}}
        ]},
    }  # fmt: skip
    network: dict[str, Any] = {"networkInterfaceConfigurations": [nic]}
    probe = ss.get("health_probe")
    if isinstance(probe, str):
        network["healthProbe"] = {"id": probe}
    elif isinstance(probe, dict):
        lb_rg = probe.get("resource_group", rg)
        pid = f"/subscriptions/{sub}/resourceGroups/{lb_rg}/providers/Microsoft.Network/loadBalancers/"
        network["healthProbe"] = {"id": pid + f"{probe['load_balancer']}/probes/{probe['probe']}"}
    if ss.get("orchestration_mode") == "Flexible":
        network["networkApiVersion"] = "2020-11-01"
    os_profile = {"computerNamePrefix": name, "adminUsername": "azureuser", **(ss.get("os_profile") or {})}
    profile: dict[str, Any] = {
        "storageProfile": {
            "imageReference": dict(image),
            "osDisk": {"createOption": "FromImage", "caching": "ReadWrite",
                       "managedDisk": {"storageAccountType": "Premium_LRS"}},
        },
        "osProfile": os_profile,
        "networkProfile": network,
    }  # fmt: skip
    if ss.get("extensions"):
        profile["extensionProfile"] = {"extensions": [_extension(e) for e in ss["extensions"]]}
    profile.update(ss.get("profile") or {})
    return profile


def _lb(sub: str, location: str, lb: dict[str, Any]) -> dict[str, Any]:
    lid = f"/subscriptions/{sub}/resourceGroups/{lb['resource_group']}/providers/Microsoft.Network/loadBalancers/{lb['name']}"
    probes = []
    for pr in lb.get("probes") or []:
        props = {"protocol": pr.get("protocol", "Http"), "port": pr.get("port", 80),
                 "intervalInSeconds": pr.get("interval", 5), "numberOfProbes": pr.get("count", 2),
                 "provisioningState": "Succeeded"}  # fmt: skip
        if props["protocol"] != "Tcp":
            props["requestPath"] = pr.get("request_path", "/")
        probes.append({"id": f"{lid}/probes/{pr['name']}", "name": pr["name"], "properties": props})
    return {
        "id": lid, "name": lb["name"], "type": "Microsoft.Network/loadBalancers", "location": location,
        "sku": {"name": "Standard"},
        "properties": {"provisioningState": "Succeeded", "frontendIPConfigurations": [],
                       "backendAddressPools": [{"id": f"{lid}/backendAddressPools/pool", "name": "pool"}],
                       "probes": probes},
    }  # fmt: skip


def build(data: dict[str, Any], now: datetime) -> tuple[World, Pending]:
    """A World from a validated scenario, plus the initial 'initializing' instances to settle later."""
    subs = [str(s) for s in data.get("subscriptions") or [data.get("subscription") or DEFAULT_SUBSCRIPTION]]
    world = World(subs[0], subscriptions=subs,
                  features={k.lower(): v for k, v in (data.get("features") or {}).items()})  # fmt: skip
    for rg in data.get("resource_groups") or []:
        world.resource_groups[_rg_key(world, rg, "name")] = {
            "name": rg["name"], "location": rg.get("location", "westeurope"), "tags": rg.get("tags") or {}
        }  # fmt: skip
    for ss in data["scale_sets"]:  # resource groups implied by scale sets
        world.resource_groups.setdefault(_rg_key(world, ss, "resource_group"), {"name": ss["resource_group"],
                                         "location": ss.get("location", "westeurope"), "tags": {}})  # fmt: skip
    for image in data.get("platform_images") or []:  # published before the start: the catalogue so far
        if not image.get("after", 0) > 0:
            key = (image["publisher"].lower(), image["offer"].lower(), image["sku"].lower())
            world.images.setdefault(key, []).append(str(image["version"]))
    for lb in data.get("load_balancers") or []:
        sub, rg_key = _rg_key(world, lb, "resource_group")
        loc = world.resource_groups.get((sub, rg_key), {}).get("location", "westeurope")
        world.load_balancers[(sub, rg_key, lb["name"].lower())] = _lb(world.subscription(sub), loc, lb)
    pending: Pending = []
    for spec in data["scale_sets"]:
        pending += _build_set(world, spec, now)
    return world, pending


def _rg_key(world: World, item: dict[str, Any], field: str) -> tuple[str, str]:
    """(subscription, resource group) in lower case, for an item of a scenario naming a resource group."""
    return world.subscription(item.get("subscription")).lower(), str(item[field]).lower()


def _build_set(world: World, spec: dict[str, Any], now: datetime) -> Pending:
    sub = world.subscription(spec.get("subscription"))
    rg = world.resource_groups[_rg_key(world, spec, "resource_group")]
    zones = [str(z) for z in spec.get("zones") or []]
    sku = spec.get("sku", "Standard_D2s_v5")
    sku = {"name": sku, "tier": "Standard"} if isinstance(sku, str) else dict(sku)
    sku["capacity"] = spec.get("capacity", 2)
    props: dict[str, Any] = {
        "orchestrationMode": spec.get("orchestration_mode", "Uniform"),
        "upgradePolicy": dict(spec.get("upgrade_policy") or {"mode": "Manual"}),
        "virtualMachineProfile": _profile(sub, rg["name"], spec),
    }
    for key, rest in (("overprovision", "overprovision"), ("single_placement_group", "singlePlacementGroup")):
        if key in spec:
            props[rest] = spec[key]
    if props["orchestrationMode"] == "Flexible":
        props.setdefault("platformFaultDomainCount", 1)
    model: dict[str, Any] = {"location": spec.get("location", rg["location"]), "tags": spec.get("tags") or {},
                             "sku": sku, "properties": props}  # fmt: skip
    if zones:
        model["zones"] = zones
    canonical_enums(model)
    ss = ScaleSet(sub, rg["name"], spec["name"], model, now)
    ss.timings = Timings(**{k: float(v) for k, v in (spec.get("timings") or {}).items()})
    ss.no_signal_passes = spec.get("no_signal_after_batch") == "passed"
    ss.app_broken_by = {str(v) for v in spec.get("app_broken_by") or []}
    for rule in spec.get("health_rules") or []:
        if "image_version" in rule:
            ss.rules_version[str(rule["image_version"])] = rule["health"]
        else:
            ss.rules_instance[str(rule["instance_id"])] = rule["health"]
    profile, key = ss.profile, ss.profile_key()
    overrides = {str(k): v for k, v in (spec.get("instances") or {}).items()}
    pending: Pending = []
    for n in range(sku["capacity"]):
        iid = ss.new_instance_id()
        inst = Instance(iid, zones[n % len(zones)] if zones else None, profile, key, name=f"{ss.name}_{iid}")
        over = overrides.get(iid, {})
        if "image_version" in over:
            inst.profile = _with_version(profile, str(over["image_version"]))
            inst.profile_key = canonical(inst.profile)
        inst.os_version = world.os_version(inst.profile)
        health = over.get("health") or ss.rules_instance.get(iid) or spec.get("initial_health") or ""
        health = health or _rule_for_version(ss, inst) or "healthy"
        inst.health, inst.health_time = health, now
        if health == "initializing":
            inst.health, inst.phase = "healthy", "initializing"
            pending.append((ss, inst, float(over.get("initializing_for", spec.get("initializing_for", 120)))))
        ss.instances[iid] = inst
    for vm in spec.get("attached_vms") or []:
        iid = ss.new_instance_id()
        exts = [_extension(e) for e in vm.get("extensions") or []]
        zone = str(vm["zone"]) if vm.get("zone") else None
        ss.instances[iid] = Instance(iid, zone, profile, key, name=vm["name"], attached=True, extensions=exts)
    world.scale_sets[(sub.lower(), ss.rg.lower(), ss.name.lower())] = ss
    return pending


def _with_version(profile: dict[str, Any], version: str) -> dict[str, Any]:
    out = json.loads(json.dumps(profile))
    ref = out["storageProfile"]["imageReference"]
    if "id" in ref and "/versions/" in ref["id"]:
        ref["id"] = ref["id"].rsplit("/", 1)[0] + "/" + version
    else:
        ref["version"] = version
    return out


def _rule_for_version(ss: ScaleSet, inst: Instance) -> str | None:
    from .state import image_version

    version = image_version(inst.profile)
    return ss.rules_version.get(version) if version else None
