"""The preflight report of `vmssroll check` and `enable-rolling`: one row per rule, then the fixes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from vmssroll.ui.tables import table

_MARK = {
    "passed": ("ok", "green"),
    "failed": ("FAILED", "bold red"),
    "warning": ("warning", "yellow"),
    "unknown": ("unknown", "yellow"),
}


def report_view(doc: Mapping[str, Any], *, fixes: bool = True) -> RenderableType:
    """Takes the document `-o json` writes ({"ready", "for", "scaleSet", "rules"}), so both outputs agree."""
    rules = doc["rules"]
    failed = [r for r in rules if r["status"] == "failed"]
    warned = [r for r in rules if r["status"] == "warning"]
    unknown = [r for r in rules if r["status"] == "unknown"]
    counts = (
        f"{len(failed)} failed, {len(warned)} warning{'s' if len(warned) != 1 else ''}, "
        + (f"{len(unknown)} not verified, " if unknown else "")
        + f"{len(rules)} rules"
    )
    if doc["ready"]:
        head = Text(f"{doc['scaleSet']}: ready for {doc['for']} ({counts})", style="bold green")
    else:
        head = Text(f"{doc['scaleSet']}: NOT ready for {doc['for']} ({counts})", style="bold red")
    t = table("status", "rule", "finding")
    for rule in rules:
        label, style = _MARK.get(rule["status"], (rule["status"], ""))
        t.add_row(Text(label, style=style), rule["name"], Text(rule["message"]))
    parts: list[RenderableType] = [head, t]
    for part, reason in (doc.get("unknown") or {}).items():
        parts.append(Text(f"Not verified: {part}: unknown ({reason})", style="yellow"))
    with_fix = [r for r in rules if r.get("fix")]
    if fixes and with_fix:
        parts.append(Text("To fix:", style="bold"))
        for rule in with_fix:
            line = Text("  ")
            line.append(f"{rule['name']}: ", style="bold red" if rule["status"] == "failed" else "yellow")
            line.append(rule["fix"])
            parts.append(line)
    return Group(*parts)
