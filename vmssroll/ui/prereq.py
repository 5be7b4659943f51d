"""The preflight report of `vmssroll check` and `enable-rolling`: one row per rule, then the fixes."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from vmssroll.domain.prereq import Report, Status
from vmssroll.ui.tables import table

_MARK = {
    "passed": ("ok", "green"),
    "failed": ("FAILED", "bold red"),
    "warning": ("warning", "yellow"),
    "unknown": ("unknown", "yellow"),
}


def report_view(report: Report, *, fixes: bool = True) -> RenderableType:
    """The report as a table, one row per rule, and the fixes under it."""
    rules = report.rules
    failed, warned = report.failed, report.warnings
    unknown = [r for r in rules if r.status is Status.UNKNOWN]
    counts = (
        f"{len(failed)} failed, {len(warned)} warning{'s' if len(warned) != 1 else ''}, "
        + (f"{len(unknown)} not verified, " if unknown else "")
        + f"{len(rules)} rules"
    )
    purpose = report.purpose.value
    if report.ready:
        head = Text(f"{report.scale_set}: ready for {purpose} ({counts})", style="bold green")
    else:
        head = Text(f"{report.scale_set}: NOT ready for {purpose} ({counts})", style="bold red")
    t = table("status", "rule", "finding")
    for rule in rules:
        label, style = _MARK.get(rule.status.value, (rule.status.value, ""))
        t.add_row(Text(label, style=style), rule.name, Text(rule.message))
    parts: list[RenderableType] = [head, t]
    for u in report.unknown:
        parts.append(Text(f"Not verified: {u.part}: unknown ({u.reason})", style="yellow"))
    with_fix = [r for r in rules if r.fix]
    if fixes and with_fix:
        parts.append(Text("To fix:", style="bold"))
        for rule in with_fix:
            line = Text("  ")
            line.append(f"{rule.name}: ", style="bold red" if rule.status is Status.FAILED else "yellow")
            line.append(rule.fix or "")
            parts.append(line)
    return Group(*parts)
