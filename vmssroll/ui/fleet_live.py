"""The live view of a fleet rollout: each wave's progress, then one row per scale set, the sets that matter
first (rolling, in trouble, completed), the rest counted so that 200 sets stay readable on one screen."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from vmssroll.domain.fleetrun import ACTIVE, PROBLEMS, SetRow, SetState, by_interest
from vmssroll.ui.tables import stamp, table

STYLE = {
    **{s: "cyan" for s in ACTIVE},
    **{s: "red" for s in PROBLEMS},
    SetState.COMPLETED: "green",
    SetState.DONE: "green",
    SetState.PENDING: "dim",
}


def view(
    *,
    title: str,
    waves: Sequence[Mapping[str, object]],
    rows: Sequence[SetRow],
    current: str | None,
    now: datetime,
    height: int = 40,
    notice: str | None = None,
) -> RenderableType:
    """`waves`: domain/fleetrun.summary's rows; `height`: the lines the view may take (a terminal's)."""
    parts: list[RenderableType] = [Text(f"{title} · {stamp(now)}", style="bold")]
    grid = Table.grid(padding=(0, 1))
    for wave in waves:
        size = int(str(wave["sets"])) or 1
        done = int(str(wave["done"]))
        states = wave["states"]
        words = ", ".join(f"{n} {s}" for s, n in states.items()) if isinstance(states, dict) else ""
        marker = "▶" if wave["wave"] == current else " "
        grid.add_row(
            f"{marker} {wave['wave']}",
            ProgressBar(total=size, completed=done, width=20),
            f"{done}/{size}",
            words,
        )
    parts.append(grid)
    if notice:
        parts.append(Text(notice, style="yellow"))
    ordered = by_interest(rows, [str(w["wave"]) for w in waves])
    room = max(3, height - len(waves) - 6)
    shown, rest = ordered[:room], ordered[room:]
    sets = table("wave", "scale set", "resource group", "region", "state", "%", "detail")
    for row in shown:
        sets.add_row(
            row.wave,
            row.name,
            row.resource_group,
            row.location,
            Text(row.state.value, style=STYLE.get(row.state, "")),
            "" if row.percent is None else f"{row.percent}%",
            row.message[:80] if row.message != row.state.value else "",
        )
    parts.append(sets)
    if rest:
        left: dict[str, int] = {}
        for row in rest:
            left[row.state.value] = left.get(row.state.value, 0) + 1
        parts.append(Text(f"… and {len(rest)} more: " + ", ".join(f"{n} {s}" for s, n in left.items())))
    return Group(*parts)
