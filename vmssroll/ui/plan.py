"""The view of a rollout plan: policy in effect, batches with their health checks, duration, assumptions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from vmssroll.ui.tables import fmt, key_values, table

_SHOWN_IDS = 6  # a batch of a large set lists its first ids (runs as ranges) and a count of the rest


def plan_view(doc: Mapping[str, Any]) -> RenderableType:
    """`plan`: takes the document the command writes with `-o json`, so both outputs say the same."""
    policy = doc["policy"]
    head = key_values(
        [
            ("scale set", f"{doc['scaleSet']['name']} ({doc['scaleSet']['resourceGroup']})"),
            ("policy", _policy_line(doc, policy)),
            ("instances", _instances_line(doc)),
            (
                "batch size",
                f"up to {doc['batchSize']} ({policy['maxBatchInstancePercent']}% of {doc['capacity']})",
            ),
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
    parts += [Text(""), batch_table(doc)]
    if doc["policy"].get("maxSurge"):
        parts.append(Text(f"MaxSurge: at most {doc['peakInstances']} instances exist at once."))
    style = "bold red" if doc["refused"] else "green"
    parts.append(Text(doc["verdict"], style=style))
    if not doc["refused"]:  # refused before a batch: the upgrade faults with nothing more upgraded
        parts.append(Text(f"Duration: {doc['duration']}."))
    parts += [
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


def batch_table(plan: Mapping[str, Any]) -> RenderableType:
    """The batches in order, with the health checks before and after each (also under a write's
    consequence)."""
    policy = plan["policy"]
    t = table(
        "#",
        "zone",
        "instances",
        "size",
        "surge",
        "unhealthy before",
        "may fail after",
    )
    for b in plan["batches"]:
        pre, post = b["before"], b["after"]
        refused = bool(pre["refused"])
        before = Text(
            f"{pre['unhealthy']} of {pre['total']} = {_pct(pre['percent'])}", style="red" if refused else ""
        )
        if refused:
            before.append(" refused", style="bold red")
        elif pre["shrunk"]:
            before.append(f" shrinks {pre['fullSize']}→{pre['size']}", style="yellow")
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
            f"up to {post['tolerated']} of {post['upgraded']}" if b["reached"] else "-",
        )
    legend = Text(
        "unhealthy before: the set's unhealthy instances, of all instances; more than "
        f"maxUnhealthyInstancePercent {policy['maxUnhealthyInstancePercent']}% and Azure refuses the batch, up to "
        "it the batch shrinks to the room left (at least one instance). "
        "may fail after: how many of the instances upgraded so far may be unhealthy (rounded down) "
        f"within maxUnhealthyUpgradedInstancePercent {policy['maxUnhealthyUpgradedInstancePercent']}%.",
        style="dim",
    )
    return Group(t, legend)


def _pct(value: float) -> str:
    return f"{value:.0f}%" if value == int(value) else f"{value:.1f}%"


def _ids(ids: list[str]) -> str:
    """`0, 3, 6`; runs of three or more consecutive ids as `0-199`; past _SHOWN_IDS items, `… (+N)`."""
    items: list[str] = []
    n = 0
    while n < len(ids):
        end = n
        while (
            end + 1 < len(ids)
            and ids[end + 1].isdigit()
            and ids[end].isdigit()
            and int(ids[end + 1]) == int(ids[end]) + 1
        ):
            end += 1
        if end - n >= 2:
            items.append(f"{ids[n]}-{ids[end]}")
            n = end + 1
        else:
            items.append(ids[n])
            n += 1
    if len(items) <= _SHOWN_IDS:
        return ", ".join(items)
    rest = len(ids) - sum(_count(i) for i in items[:_SHOWN_IDS])
    return ", ".join(items[:_SHOWN_IDS]) + f" … (+{rest})"


def _count(item: str) -> int:
    low, _, high = item.partition("-")
    return int(high) - int(low) + 1 if high else 1
