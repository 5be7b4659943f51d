"""Where health comes from: one accepted source (extension, load balancer probe or external policy) and a
probe that really exists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vmssroll.domain.health import health_sources, parse_probe_id
from vmssroll.domain.model import HEALTH_EXTENSION_PUBLISHER, ScaleSet
from vmssroll.domain.prereq.report import Facts, Rule, Status, short_args, vmss_args


def add_extension_fix(ss: ScaleSet) -> str:
    return (
        f"az vmss extension set {vmss_args(ss)} --name ApplicationHealthLinux "
        f"--publisher {HEALTH_EXTENSION_PUBLISHER} --version 2.0 "
        """--settings '{"protocol": "http", "port": 80, "requestPath": "/health"}'"""
        " (ApplicationHealthWindows on Windows; use your application's port and path)"
    )


def set_probe_fix(ss: ScaleSet, probe_id: str = "<load balancer probe id>") -> str:
    return (
        f"az vmss update {short_args(ss)} "
        f"--set virtualMachineProfile.networkProfile.healthProbe.id={probe_id}"
    )


def probe_ids(lb_id: str, names: Sequence[str]) -> list[str]:
    return [f"{lb_id}/probes/{n}" for n in names]


def _probe_found(facts: Facts) -> bool:
    probe = facts.scale_set.health_probe_id
    parsed = parse_probe_id(probe) if probe else None
    if parsed is None or facts.lb_probes is None:
        return False
    return parsed[1].lower() in {p.lower() for p in facts.lb_probes}


def health_source(facts: Facts) -> Rule:
    """A health signal Azure accepts for this orchestration mode exists."""
    ss = facts.scale_set
    ext = ss.health_extension
    evidence: dict[str, Any] = {
        "orchestrationMode": ss.orchestration_mode,
        "sources": [s.to_json() for s in health_sources(ss)],
    }
    if ext is not None:
        return Rule("health-source", Status.PASSED, f"Application Health extension {ext.name}", evidence)
    if ss.external_health:
        return Rule(
            "health-source",
            Status.PASSED,
            "external health policy (properties.externalHealthPolicy); vmssroll cannot check what feeds it",
            evidence,
        )
    if ss.is_flexible:
        note = " (a load balancer probe does not count on Flexible)" if ss.health_probe_id else ""
        return Rule(
            "health-source",
            Status.FAILED,
            f"no Application Health extension; Flexible scale sets accept only the extension{note}",
            evidence,
            add_extension_fix(ss),
        )
    if ss.health_probe_id and _probe_found(facts):
        parsed = parse_probe_id(ss.health_probe_id)
        where = f"{parsed[1]} on {parsed[0].rsplit('/', 1)[-1]}" if parsed else ss.health_probe_id
        return Rule("health-source", Status.PASSED, f"load balancer probe {where}", evidence)
    found = (
        "the configured probe does not exist" if ss.health_probe_id else "neither a probe nor the extension"
    )
    return Rule(
        "health-source",
        Status.FAILED,
        f"no usable health signal: {found}",
        evidence,
        f"{set_probe_fix(ss)}, or {add_extension_fix(ss)}",
    )


def health_probe(facts: Facts) -> Rule | None:
    """The probe named in networkProfile.healthProbe really exists on its load balancer."""
    ss = facts.scale_set
    probe = ss.health_probe_id
    if not probe:
        return None
    parsed = parse_probe_id(probe)
    evidence: dict[str, Any] = {"probeId": probe}
    if ss.is_flexible:
        return Rule(
            "health-probe",
            Status.WARNING,
            "a load balancer probe is set but Flexible scale sets take health only from the extension",
            evidence,
        )
    if parsed is None:
        return Rule(
            "health-probe",
            Status.FAILED,
            "the health probe is not a load balancer probe (Application Gateway probes are not accepted)",
            evidence,
            set_probe_fix(ss),
        )
    lb_id, name = parsed
    evidence["loadBalancer"] = lb_id
    if facts.lb_probes is None:
        return Rule(
            "health-probe",
            Status.FAILED,
            f"load balancer {lb_id.rsplit('/', 1)[-1]} does not exist",
            evidence,
            set_probe_fix(ss),
        )
    evidence["probesOnLoadBalancer"] = list(facts.lb_probes)
    if _probe_found(facts):
        return Rule(
            "health-probe", Status.PASSED, f"probe {name} exists on {lb_id.rsplit('/', 1)[-1]}", evidence
        )
    lb_name = lb_id.rsplit("/", 1)[-1]
    lb_rg = lb_id.split("/")[4] if len(lb_id.split("/")) > 4 else ss.resource_group
    existing = probe_ids(lb_id, facts.lb_probes)
    fix = (
        f"az network lb probe create -g {lb_rg} --lb-name {lb_name} -n {name} --protocol tcp --port 80, "
        f"or point the scale set at an existing probe: {set_probe_fix(ss, existing[0] if existing else '<probe id>')}"
    )
    available = ", ".join(facts.lb_probes) or "none"
    return Rule(
        "health-probe",
        Status.FAILED,
        f"probe {name} does not exist on load balancer {lb_name} (its probes: {available})",
        evidence,
        fix,
    )


def single_source(facts: Facts) -> Rule | None:
    """At most one health source: probe, extension or external health policy."""
    ss = facts.scale_set
    sources = health_sources(ss)
    if not sources:
        return None
    evidence = {"sources": [s.to_json() for s in sources]}
    kinds = [s.kind for s in sources]
    if len(sources) == 1:
        return Rule("single-source", Status.PASSED, f"one health source: {kinds[0]}", evidence)
    fixes = []
    if "probe" in kinds:
        fixes.append(
            f"az vmss update {short_args(ss)} --remove virtualMachineProfile.networkProfile.healthProbe"
        )
    ext = ss.health_extension
    if ext is not None:
        fixes.append(f"az vmss extension delete {vmss_args(ss)} --name {ext.name}")
    if "external" in kinds:
        fixes.append(f"az vmss update {short_args(ss)} --set externalHealthPolicy.enabled=false")
    return Rule(
        "single-source",
        Status.FAILED,
        f"{len(sources)} health sources configured ({', '.join(kinds)}); Azure accepts only one",
        evidence,
        "keep one and remove the others: " + "; or ".join(fixes),
    )


def probe_load_balancer(scale_set: ScaleSet) -> str | None:
    """The load balancer to read for the probe check (None when there is nothing to look up)."""
    if not scale_set.health_probe_id or scale_set.is_flexible:
        return None
    parsed = parse_probe_id(scale_set.health_probe_id)
    return parsed[0] if parsed else None
