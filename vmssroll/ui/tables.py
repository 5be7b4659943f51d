"""Small renderables shared by several views."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text


def table(*columns: str, title: str | None = None) -> Table:
    t = Table(
        *columns, box=box.SIMPLE_HEAD, title=title, title_justify="left", pad_edge=False, show_edge=False
    )
    return t


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(fmt(v) for v in value) or "-"
    return str(value)


def stamp(at: datetime | None) -> str:
    """A moment as the views show it: UTC to the second, or "-" when unknown."""
    if at is None:
        return "-"
    return (at.astimezone(UTC) if at.tzinfo else at).strftime("%Y-%m-%dT%H:%M:%SZ")


def key_values(rows: Iterable[tuple[str, Any]], title: str | None = None) -> Table:
    t = Table(box=None, show_header=False, title=title, title_justify="left", pad_edge=False)
    t.add_column(style="bold")
    t.add_column()
    for key, value in rows:
        t.add_row(key, value if isinstance(value, Text) else fmt(value))
    return t


def diff_table(changes: Sequence[Any]) -> Table:
    t = table("field", "before", "after")
    for change in changes:
        t.add_row(change.field, Text(fmt(change.before), style="red"), Text(fmt(change.after), style="green"))
    return t
