"""The live view of a rolling upgrade, its one-line form, and its JSON events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from vmssroll.domain.durations import human
from vmssroll.domain.model import Instance
from vmssroll.domain.policy import effective
from vmssroll.domain.rollout import STATES, BatchEstimate, InstanceSummary, state_of
from vmssroll.domain.upgrade import UpgradeStatus, Verdict
from vmssroll.ui.tables import stamp, table

STATE_STYLE = {
    "RollingForward": "cyan",
    "RollingBack": "magenta",
    "Completed": "green",
    "Faulted": "red",
    "Cancelled": "yellow",
}
ROW_LIMIT = 12


def policy_line(policy: Mapping[str, Any]) -> str:
    p = effective(policy)
    flags = [
        "cross-zone" if p["enableCrossZoneUpgrade"] else "zonal",
        "unhealthy first" if p["prioritizeUnhealthyInstances"] else None,
        "MaxSurge" if p["maxSurge"] else None,
        "rollback on breach" if p["rollbackFailedInstancesOnPolicyBreach"] else None,
    ]
    return (
        f"batch {p['maxBatchInstancePercent']}% · max unhealthy {p['maxUnhealthyInstancePercent']}% · "
        f"max unhealthy upgraded {p['maxUnhealthyUpgradedInstancePercent']}% · pause {p['pauseTimeBetweenBatches']}"
        + "".join(f" · {f}" for f in flags if f)
    )


def one_line(
    at: datetime, status: UpgradeStatus | None, verdict: Verdict, batch: BatchEstimate | None, *, name: str
) -> str:
    """`2026-01-05T09:02:00Z web RollingForward 40% batch 2/5: 4 succeeded, ...` for logs and pipes."""
    where = f" batch {batch.current}/{batch.total}" if batch and status and status.running else ""
    return f"{stamp(at)} {name}{where}: {verdict.message}"


def view(
    *,
    name: str,
    status: UpgradeStatus | None,
    verdict: Verdict,
    summary: InstanceSummary | None,
    instances: Sequence[Instance],
    recent: Sequence[str],
    batch: BatchEstimate | None,
    now: datetime,
    eta: float | None,
    notice: str | None,
    age: float | None = None,
    stale: bool = False,
) -> RenderableType:
    """Header (Azure's status), progress bar, the instances that matter now, and the rest summarised by zone.

    The tables come from a listing `age` seconds old, and say so; `stale` marks a listing made before the
    upgrade ended, so its counts are not read beside the final header as if they were current.
    """
    parts: list[RenderableType] = []
    head = Text()
    head.append(name, style="bold")
    if status is None:
        head.append(f"  {verdict.message}")
        return head
    head.append("  ")
    head.append(status.code, style=STATE_STYLE.get(status.code, "white"))
    if status.cancelling:
        head.append(" (cancel requested)", style="yellow")
    p = status.progress
    head.append(f"  {p.percent}%")
    if batch:
        head.append(f"  batch {batch.current} of {batch.total} (~{batch.batch_size} per batch)")
    if status.start_time:
        head.append(f"  elapsed {human((now - status.start_time).total_seconds())}")
    if eta is not None:
        head.append(f"  ~{human(eta)} left")
    parts += [head, Text(policy_line(status.policy), style="dim")]
    done = p.successful + p.failed
    bar = Table.grid(padding=(0, 1))
    bar.add_row(
        ProgressBar(total=max(1, p.total), completed=done, width=40),
        Text(f"{p.successful} ok · {p.failed} failed · {p.in_progress} in progress · {p.pending} pending"),
    )
    parts.append(bar)
    if status.error_code:
        parts.append(Text(f"{status.error_code}: {status.error_message or ''}", style="red"))
    if notice:
        parts.append(Text(notice, style="yellow"))
    if summary is not None:
        parts.append(_as_of(age, stale))
    if instances:
        parts.append(_instances_table(instances, summary, recent))
    if summary is not None:
        parts.append(zones_table(summary))
    return Group(*parts)


def _as_of(age: float | None, stale: bool) -> Text:
    when = "just now" if not age else f"{human(age)} ago"
    if stale:
        return Text(
            f"Instances as of {when}, before the upgrade ended: stale, not re-listed (its counts are above)",
            style="yellow",
        )
    return Text(f"Instances as of {when}", style="dim")


def _instances_table(
    instances: Sequence[Instance], summary: InstanceSummary | None, recent: Sequence[str]
) -> Table:
    failed = set(summary.failed) if summary else set()
    recent_set = set(recent)
    interesting = [
        i for i in instances if state_of(i) in ("updating", "initializing") or i.instance_id in failed
    ]
    interesting += [i for i in instances if i.instance_id in recent_set and i not in interesting]
    t = table("instance", "zone", "state", "health", "image", title="Instances that matter now")
    for inst in interesting[:ROW_LIMIT]:
        state = state_of(inst)
        t.add_row(
            inst.instance_id,
            inst.zone or "-",
            Text(STATES[state], style=_STYLES.get(state, "")),
            inst.health.value,
            str(inst.image.get("version") or inst.image.get("id", "-")).rsplit("/", 1)[-1],
        )
    if len(interesting) > ROW_LIMIT:
        t.add_row(f"… {len(interesting) - ROW_LIMIT} more", "", "", "", "")
    if not interesting:
        t.add_row("-", "", "nothing in flight", "", "")
    return t


_STYLES = {
    "failed": "red",
    "healthUnknown": "red",
    "updating": "cyan",
    "initializing": "yellow",
    "onLatestModel": "green",
}


def zones_table(summary: InstanceSummary) -> Table:
    """Every instance counted by zone and where it stands. "on latest model" counts what runs the model,
    whatever put it there (Azure does not say which instances this upgrade upgraded)."""
    t = table("zone", *STATES.values(), title="All instances by zone")
    for zone, counts in summary.by_zone.items():
        t.add_row(zone, *(str(counts.get(s, 0)) for s in STATES))
    return t


def event(
    kind: str,
    at: datetime,
    *,
    status: UpgradeStatus | None = None,
    verdict: Verdict | None = None,
    summary: InstanceSummary | None = None,
    batch: BatchEstimate | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One JSON Lines event; carries Azure's own status document in its REST shape."""
    doc: dict[str, Any] = {"time": at, "event": kind}
    if status is not None:
        doc |= {
            "state": status.code,
            "lastAction": status.last_action,
            "percent": status.progress.percent,
            "upgrade": status.document,
        }
    if verdict is not None:
        doc |= {"message": verdict.message, "done": verdict.done}
        if verdict.done:
            doc["exitCode"] = int(verdict.exit_code)
    if batch is not None:
        doc["batch"] = {"current": batch.current, "total": batch.total, "size": batch.batch_size}
    if summary is not None:
        doc["instances"] = summary.to_json()
    if extra:
        doc |= extra
    return doc
