"""`vmssroll fleet plan | status`: the waves in order, one row per scale set, from the commands' documents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from vmssroll.ui.tables import fmt, table

STATE_STYLE = {"done": "green", "active": "cyan", "stopped": "red", "busy": "yellow", "unknown": "yellow"}


def _short(subscription: str) -> str:
    """A subscription id shortened for a column (its first group: enough to tell a fleet's apart)."""
    return subscription.split("-", 1)[0] + "…" if "-" in subscription else subscription


def _header(doc: Mapping[str, Any]) -> list[RenderableType]:
    total = doc["total"]
    subs = len(doc["subscriptions"])
    line = (
        f"fleet {doc['fleet']}: {_change(doc['change'])} to {total['scaleSets']} scale set(s), "
        f"{total['instances']} instance(s), in {len(doc['waves'])} wave(s) across {subs} subscription(s)"
    )
    parts: list[RenderableType] = [Text(line, style="bold")]
    if doc.get("gates"):
        parts.append(Text(f"gates: {'; '.join(doc['gates'])}", style="dim"))
    stop = doc["stop"]
    parts.append(
        Text(
            f"stop: more than {stop['maxFaulted']} faulted or stopped set(s); undo: {stop['undo']}",
            style="dim",
        )
    )
    return parts


def _change(change: Mapping[str, Any]) -> str:
    if change["kind"] == "os":
        return "OS image upgrade"
    if change["kind"] == "extensions":
        return "extension upgrade"
    return (
        f"image version {change['imageVersion']}"
        if change.get("imageVersion")
        else f"image {change['imageId']}"
    )


def _wave_title(index: int, count: int, wave: Mapping[str, Any]) -> Text:
    return Text(f"wave {index} of {count}: {wave['name']}: {wave['does']}", style="bold")


def _ready(row: Mapping[str, Any]) -> Text:
    if row.get("ready") is None:
        return Text(f"unknown ({row.get('unknown') or 'not read'})", style="yellow")
    if row["ready"]:
        note = f" ({row['unknown']})" if row.get("unknown") else ""
        return Text("ready" + note, style="green" if not note else "yellow")
    return Text("not ready: " + "; ".join(row.get("problems") or []), style="red")


def plan_view(doc: Mapping[str, Any]) -> RenderableType:
    """The waves in order, each with what it will do and its sets; then the targets in no wave."""
    parts = _header(doc)
    count = len(doc["waves"])
    for index, wave in enumerate(doc["waves"], start=1):
        parts += [Text(""), _wave_title(index, count, wave)]
        if not wave["sets"]:
            continue
        t = table(
            "scale set", "subscription", "resource group", "region", "instances", "mode", "in fleet", "ready"
        )
        for row in wave["sets"]:
            t.add_row(
                row["name"], _short(row["subscription"]), row["resourceGroup"], row["region"],
                str(row["instances"]), fmt(row["mode"]), Text(row["state"], style=STATE_STYLE.get(row["state"], "")),
                _ready(row),
            )  # fmt: skip
        parts.append(t)
    parts += _leftovers(doc)
    return Group(*parts)


def status_view(doc: Mapping[str, Any]) -> RenderableType:
    """Where each wave stands (its sets by state), then one row per set: its state and where it stands."""
    parts = _header(doc)
    states = doc["total"]["states"]
    parts.append(Text("sets: " + (", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "none")))
    count = len(doc["waves"])
    for index, wave in enumerate(doc["waves"], start=1):
        counts: dict[str, int] = {}
        for row in wave["sets"]:
            counts[row["state"]] = counts.get(row["state"], 0) + 1
        done = counts.get("done", 0)
        summary = f"wave {index} of {count}: {wave['name']}: {done} of {len(wave['sets'])} done"
        others = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()) if s != "done")
        parts += [Text(""), Text(summary + (f" ({others})" if others else ""), style="bold")]
        if not wave["sets"]:
            continue
        t = table("scale set", "subscription", "resource group", "region", "state", "where it stands")
        for row in wave["sets"]:
            t.add_row(
                row["name"], _short(row["subscription"]), row["resourceGroup"], row["region"],
                Text(row["state"], style=STATE_STYLE.get(row["state"], "")), row["standing"],
            )  # fmt: skip
        parts.append(t)
    parts += _leftovers(doc)
    return Group(*parts)


def _leftovers(doc: Mapping[str, Any]) -> list[RenderableType]:
    parts: list[RenderableType] = []
    if doc["unassigned"]:
        parts += [Text(""), Text(f"{len(doc['unassigned'])} target(s) in no wave:", style="bold red")]
        parts += [Text(f"  {m['id']}") for m in doc["unassigned"]]
    if doc["missingIds"]:
        parts += [Text(""), Text(f"{len(doc['missingIds'])} id(s) name no scale set:", style="bold red")]
        parts += [Text(f"  {i}") for i in doc["missingIds"]]
    return parts
