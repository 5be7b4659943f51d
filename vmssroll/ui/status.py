"""`vmssroll status`: the latest upgrade, the instances, and what is rolling out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from vmssroll.domain.results import StatusResult
from vmssroll.ui.tables import fmt, key_values, stamp, table
from vmssroll.ui.watch import STATE_STYLE, policy_line, zones_table

# No vmHealth at all is not a failure (FACTS.md): say what it is.
HEALTH_LABELS = {"silent": "no health signal"}
# What each row of instances means, where its name alone does not say it.
_NOTES = {
    "unhealthy": " (not yet upgraded)",
    "health unknown": " (Azure counts them unhealthy)",
    "stalled": " (in flight, and no upgrade is rolling)",
}


def status_view(result: StatusResult) -> RenderableType:
    """The upgrade (Azure's status), the instances (or why they are unknown), what rolls out, the rollout."""
    status = result.upgrade
    parts = _upgrade(result) + _instances(result)
    if result.rolling_out:
        t = table("rolling out", "from (instances behind)", "to (scale set model)")
        for change in result.rolling_out:
            t.add_row(change.field, fmt(change.current), fmt(change.target))
        parts += [Text(""), t]
    if result.rollout:
        parts += [Text(""), rollout_view(result.rollout)]
    if status is None or not status.error_code:
        parts.append(Text(result.verdict.message, style="dim"))
    return Group(*parts)


def _upgrade(result: StatusResult) -> list[RenderableType]:
    ss, status = result.scale_set, result.upgrade
    if status is None:
        return [Text(f"{ss.name}: No upgrade has run yet.", style="bold")]
    p = status.progress
    counts = (
        f"{p.successful} succeeded · {p.failed} failed · {p.in_progress} in progress · {p.pending} pending"
    )
    parts: list[RenderableType] = [
        key_values(
            [
                (
                    "scale set",
                    f"{ss.name} ({ss.upgrade_policy.mode or 'Manual'} mode, {ss.capacity} instances)",
                ),
                ("state", Text(status.code, style=STATE_STYLE.get(status.code, ""))),
                ("kind", _kind(result)),
                ("complete", f"{p.percent}%"),
                ("started", stamp(status.start_time)),
                ("last action", f"{fmt(status.last_action)} at {stamp(status.last_action_time)}"),
                ("progress", counts),
                ("policy", policy_line(status.policy)),
            ]
        )
    ]
    if status.error_code:
        parts.append(Text(f"{status.error_code}: {status.error_message}", style="red"))
    return parts


def _instances(result: StatusResult) -> list[RenderableType]:
    """Where the instances stand: one row per standing that has any (failed always), the zone table."""
    inst = result.instances
    if inst is None:
        reason = next((u.reason for u in result.unknown if u.part == "instances"), "not read")
        return [Text(""), Text(f"instances: unknown ({reason})", style="yellow")]
    health = ", ".join(f"{n} {HEALTH_LABELS.get(h, h)}" for h, n in sorted(inst.health.items())) or "-"
    rows: list[tuple[str, str]] = [
        ("instances", f"{inst.on_latest} of {inst.total} on the latest model"),
        ("health", health),
        ("failed", _ids(inst.failed)),
    ]
    stalled = result.stalled
    for label, ids in (
        ("unhealthy", inst.unhealthy),
        ("health unknown", inst.health_unknown),
        ("initializing", inst.initializing),
        ("updating", () if stalled else inst.in_flight),
        ("stalled", stalled),
        ("no health signal", inst.no_health_signal),
    ):
        if ids:
            rows.append((label, _ids(ids) + _NOTES.get(label, "")))
    rows.append(("not on latest", _ids(inst.behind)))
    parts: list[RenderableType] = [Text(""), key_values(rows)]
    if len(inst.by_zone) > 1:
        parts += [Text(""), zones_table(inst)]
    if result.latest_model_from == "compared":
        parts.append(
            Text(
                "latest model: judged by comparing each VM's image reference and extensions with the scale "
                "set's model (Azure does not report it for Flexible members)",
                style="dim",
            )
        )
    return parts


def rollout_view(found: Mapping[str, Any]) -> RenderableType:
    """The rollout recorded on the scale set (vmssroll rollout): where it stands, its checkpoints, undo."""
    record = found.get("record") or {}
    checkpoints = ", ".join(
        f"{c}%" + (" (passed)" if c in record.get("passed", []) else "")
        for c in record.get("checkpoints", [])
    )
    return key_values(
        [
            ("rollout", f"{record.get('id', '?')} ({record.get('kind', '?')}): {found['standing']}"),
            ("checkpoints", checkpoints or "none"),
            ("gates", record.get("gates") or "none run"),
            ("undo restores", _image(found.get("undoRestores"))),
        ]
    )


def _image(image: Mapping[str, Any] | None) -> str:
    """An image reference as az shows a URN (publisher:offer:sku:version), or its resource id."""
    if not image:
        return "nothing"
    if image.get("id"):
        return str(image["id"])
    return ":".join(str(image.get(k, "?")) for k in ("publisher", "offer", "sku", "version"))


def _kind(result: StatusResult) -> str:
    if result.kind == "model":
        return "model change"
    return (
        "unknown (the instances could not be listed)" if result.instances is None else "not reported by Azure"
    )


def _ids(ids: tuple[str, ...]) -> str:
    if not ids:
        return "none"
    return ", ".join(ids[:20]) + (f" … and {len(ids) - 20} more" if len(ids) > 20 else "")
