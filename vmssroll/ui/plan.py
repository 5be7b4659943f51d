"""The view of a rollout plan: the policy in effect, the batches with their health checks, duration, assumptions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from vmssroll.ui.tables import fmt, key_values, table

_SHOWN_IDS = 12  # a batch of a large set lists its first ids and a count of the rest


def plan_view(doc: Mapping[str, Any]) -> RenderableType:
    """`plan`: takes the document the command writes with `-o json`, so both outputs say the same."""
    policy = doc["policy"]
    head = key_values(
        [
            ("scale set", f"{doc['scaleSet']['name']} ({doc['scaleSet']['resourceGroup']})"),
            ("policy", _policy_line(doc, policy)),
            ("instances", _instances_line(doc)),
            ("batch size", f"{doc['batchSize']} ({policy['maxBatchInstancePercent']}% of {doc['capacity']})"),
            ("batching", "zone by zone" if doc["zonal"] else "across zones, by instance id"),
        ]
    )
    parts: list[RenderableType] = [head]
    parts += [Text(f"note: {n}", style="yellow") for n in doc.get("notes", [])]
    if not doc["batches"]:
        parts.append(Text(doc["verdict"], style="green"))
        if doc["scope"] == "behind":
            parts.append(
                Text("(--all plans a re-image of every instance, as an OS or extension upgrade would)")
            )
        return Group(*parts)
    parts += [Text(""), _batch_table(doc)]
    if doc["policy"].get("maxSurge"):
        parts.append(Text(f"MaxSurge: at most {doc['peakInstances']} instances exist at once."))
    style = "bold red" if doc["refused"] else "green"
    parts += [
        Text(doc["verdict"], style=style),
        Text(f"Duration: {doc['duration']}."),
        Text(""),
        Text("Assumptions:", style="bold"),
        *(Text(f"- {a}", style="dim") for a in doc["assumptions"]),
    ]
    return Group(*parts)


def _policy_line(doc: Mapping[str, Any], policy: Mapping[str, Any]) -> str:
    source = "proposed" if doc.get("proposed") else "stored"
    flags = [
        name
        for name, key in (
            ("cross-zone", "enableCrossZoneUpgrade"),
            ("prioritize unhealthy", "prioritizeUnhealthyInstances"),
            ("MaxSurge", "maxSurge"),
        )
        if policy.get(key)
    ]
    return (
        f"{source}, mode {doc['mode']}: batch {policy['maxBatchInstancePercent']}%, "
        f"unhealthy {policy['maxUnhealthyInstancePercent']}%, "
        f"unhealthy upgraded {policy['maxUnhealthyUpgradedInstancePercent']}%, "
        f"pause {policy['pauseTimeBetweenBatches']}" + "".join(f", {f}" for f in flags)
    )


def _instances_line(plan: Mapping[str, Any]) -> str:
    what = "to re-image (--all)" if plan["scope"] == "all" else "behind the latest model"
    unhealthy = plan["unhealthyInstanceIds"]
    sick = f"; {len(unhealthy)} unhealthy: {_ids(unhealthy)}" if unhealthy else "; none unhealthy"
    return f"{len(plan['candidates'])} of {plan['capacity']} {what}{sick}"


def _batch_table(plan: Mapping[str, Any]) -> RenderableType:
    t = table("#", "zone", "instances", "size", "surge", "before the batch", "after the batch")
    for b in plan["batches"]:
        before = Text(b["before"]["text"], style="red" if b["before"]["refused"] else "")
        if b["before"]["refused"]:
            before.append(": refused", style="bold red")
        instances = Text(_ids(b["instanceIds"]))
        if b["unhealthyInstanceIds"]:
            instances.append(f" (unhealthy: {_ids(b['unhealthyInstanceIds'])})", style="yellow")
        t.add_row(
            str(b["number"]),
            fmt(b["zones"]),
            instances,
            str(b["size"]),
            f"+{b['surgeInstances']}" if b["surgeInstances"] else "-",
            before,
            b["after"]["text"],
            style="" if b["reached"] or b["before"]["refused"] else "dim",
        )
    return t


def _ids(ids: list[str]) -> str:
    if len(ids) <= _SHOWN_IDS:
        return ", ".join(ids)
    return ", ".join(ids[:_SHOWN_IDS]) + f" … (+{len(ids) - _SHOWN_IDS})"
