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
from vmssroll.ui.tables import stamp

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
    parts.append(_rows(shown))
    if rest:
        left: dict[str, int] = {}
        for row in rest:
            left[row.state.value] = left.get(row.state.value, 0) + 1
        parts.append(Text(f"… and {len(rest)} more: " + ", ".join(f"{n} {s}" for s, n in left.items())))
    return Group(*parts)


COLUMNS = ("wave", "scale set", "resource group", "region", "state", "%", "batch")
# A longer value is cut (the JSON events and `fleet status` have it whole).
WIDEST = (16, 40, 32, 16, 10, 4, 7)


def _rows(rows: Sequence[SetRow]) -> Text:
    """The rows as fixed-width lines: a Table measures every cell of every row at each frame, several times
    the cost of these lines at 40 rows (the whole frame must stay well under 50 ms of CPU)."""
    cells = [
        (
            r.wave,
            r.name,
            r.resource_group,
            r.location,
            r.state.value,
            "" if r.percent is None else f"{r.percent}%",
            r.batch if r.batch and r.state in ACTIVE else "",
        )
        for r in rows
    ]
    widths = [
        min(most, max([len(title), *(len(c[i]) for c in cells)]))
        for i, (title, most) in enumerate(zip(COLUMNS, WIDEST, strict=True))
    ]
    out = Text()
    out.append(
        "  ".join(t.ljust(w) for t, w in zip(COLUMNS, widths, strict=True)) + "  detail\n", style="bold"
    )
    for row, values in zip(rows, cells, strict=True):
        detail = row.message[:80] if row.message != row.state.value else ""
        last = len(values) - 1 if not detail else len(values)
        for i, (value, width) in enumerate(zip(values, widths, strict=True)):
            text = value[:width].rjust(width) if i == 5 else value[:width].ljust(width)
            out.append(text.rstrip() if i == last else text, style=STYLE.get(row.state, "") if i == 4 else "")
            if i < last:
                out.append("  ")
        out.append(detail + "\n")
    out.rstrip()
    return out
