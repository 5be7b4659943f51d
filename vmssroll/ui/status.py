"""`vmssroll status`: the latest upgrade, the instances, and what is rolling out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from vmssroll.ui.tables import fmt, key_values, table
from vmssroll.ui.watch import STATE_STYLE, policy_line

# No vmHealth at all is not a failure (FACTS.md): say what it is.
HEALTH_LABELS = {"silent": "no health signal"}


def status_view(doc: Mapping[str, Any]) -> RenderableType:
    ss = doc["scaleSet"]
    inst = doc["instances"]
    upgrade = doc["upgrade"]
    parts: list[RenderableType] = []
    if upgrade is None:
        parts.append(Text(f"{ss['name']}: No upgrade has run yet.", style="bold"))
    else:
        props = upgrade.get("properties") or {}
        running = props.get("runningStatus") or {}
        progress = props.get("progress") or {}
        state = Text(str(doc["state"]), style=STATE_STYLE.get(str(doc["state"]), ""))
        parts.append(
            key_values(
                [
                    ("scale set", f"{ss['name']} ({ss['mode']} mode, {ss['capacity']} instances)"),
                    ("state", state),
                    ("kind", _kind(doc)),
                    ("complete", f"{doc['percentComplete']}%"),
                    ("started", running.get("startTime")),
                    (
                        "last action",
                        f"{fmt(running.get('lastAction'))} at {fmt(running.get('lastActionTime'))}",
                    ),
                    (
                        "progress",
                        f"{progress.get('successfulInstanceCount', 0)} succeeded · "
                        f"{progress.get('failedInstanceCount', 0)} failed · "
                        f"{progress.get('inProgressInstanceCount', 0)} in progress · "
                        f"{progress.get('pendingInstanceCount', 0)} pending",
                    ),
                    ("policy", policy_line(props.get("policy") or {})),
                ]
            )
        )
        if doc["error"]:
            parts.append(Text(f"{doc['error']['code']}: {doc['error']['message']}", style="red"))
    if inst is None:
        reason = (doc.get("unknown") or {}).get("instances", "not read")
        parts += [Text(""), Text(f"instances: unknown ({reason})", style="yellow")]
    else:
        health = ", ".join(f"{n} {HEALTH_LABELS.get(h, h)}" for h, n in sorted(inst["health"].items())) or "-"
        rows = [
            ("instances", f"{inst['onLatestModel']} of {inst['total']} on the latest model"),
            ("health", health),
            ("failed", inst["failed"] or "none"),
            ("not on latest", _ids(inst["notOnLatestModel"])),
        ]
        parts += [Text(""), key_values(rows)]
        if doc.get("latestModelFrom") == "compared":
            parts.append(
                Text(
                    "latest model: judged by comparing each VM's image reference and extensions with the scale "
                    "set's model (Azure does not report it for Flexible members)",
                    style="dim",
                )
            )
    if doc["rollingOut"]:
        t = table("rolling out", "from (instances behind)", "to (scale set model)")
        for change in doc["rollingOut"]:
            t.add_row(change["field"], fmt(change["from"]), fmt(change["to"]))
        parts += [Text(""), t]
    if not doc["error"]:
        parts.append(Text(doc["message"], style="dim"))
    return Group(*parts)


def _kind(doc: Mapping[str, Any]) -> str:
    if doc["kind"] == "model":
        return "model change"
    return (
        "unknown (the instances could not be listed)" if doc["instances"] is None else "not reported by Azure"
    )


def _ids(ids: list[str]) -> str:
    if not ids:
        return "none"
    return ", ".join(ids[:20]) + (f" … and {len(ids) - 20} more" if len(ids) > 20 else "")
