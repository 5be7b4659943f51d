"""Views of the upgrade policy: show, diff, findings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from vmssroll.domain.results import PolicyShow
from vmssroll.ui.tables import diff_table, fmt, key_values, table

_PROBE = re.compile(r"/loadBalancers/([^/]+)/probes/([^/]+)/?$", re.IGNORECASE)


def policy_view(shown: PolicyShow) -> RenderableType:
    """`policy show`: the scale set, the mode, every rolling field (defaults marked), OS upgrades, health."""
    ss = shown.scale_set
    head = key_values(
        [
            ("scale set", f"{ss.name} ({ss.resource_group}, {ss.location})"),
            ("orchestration", ss.orchestration_mode),
            ("capacity", ss.capacity),
            ("zones", list(ss.zones) or "none"),
            ("overprovision", ss.overprovision),
            ("provisioning", ss.provisioning_state or "unknown"),
            ("upgrade mode", shown.mode + ("  (default)" if shown.mode_is_default else "")),
            ("health source", "; ".join(f"{s.kind}: {_short(s.detail)}" for s in shown.sources) or "none"),
        ]
    )
    rolling = table("rolling upgrade policy", "value", "source")
    defaults = shown.defaults
    for name, value in shown.rolling.items():
        rolling.add_row(name, fmt(value), Text("Azure default", style="dim") if name in defaults else "set")
    automatic = table("automatic OS upgrade policy", "value", "source")
    os_defaults = shown.os_defaults
    for name, value in shown.automatic_os.items():
        unset = name in os_defaults
        automatic.add_row(name, fmt(value), Text("not set: false", style="dim") if unset else "set")
    parts: list[RenderableType] = [head, Text(""), rolling, Text(""), automatic]
    if ss.extensions:
        extensions = table(
            "extension", "type", "version", "enableAutomaticUpgrade", "autoUpgradeMinorVersion"
        )
        for e in ss.extensions:
            extensions.add_row(
                e.name,
                f"{e.publisher}/{e.type}",
                fmt(e.type_handler_version),
                _unset(e.automatic_upgrade),
                _unset(e.auto_upgrade_minor_version),
            )
        parts += [Text(""), extensions]
    return Group(*parts)


def _unset(value: Any) -> RenderableType:
    return Text("not set", style="dim") if value is None else fmt(value)


def _short(detail: str) -> str:
    """A probe's resource id as `load balancer LB, probe P` (the full id is too wide for a table cell)."""
    match = _PROBE.search(detail)
    return f"load balancer {match[1]}, probe {match[2]}" if match else detail


def changes_view(
    changes: Sequence[Any],
    *,
    title: str,
    unchanged: str = "No change: the scale set already has this policy.",
) -> RenderableType:
    if not changes:
        return Text(unchanged)
    return Group(Text(title, style="bold"), diff_table(changes))


def findings_view(findings: Sequence[Any]) -> RenderableType:
    if not findings:
        return Text("Policy is valid.", style="green")
    t = table("severity", "field", "finding", "what to change")
    for f in findings:
        mark = Text("error", style="red") if f.severity == "error" else Text("warning", style="yellow")
        t.add_row(mark, f.field, f.message, f.fix)
    return t
