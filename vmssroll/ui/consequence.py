"""What a write sets in motion: one sentence, how sure it is, and the batches when a rolling upgrade
starts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from vmssroll.ui.plan import batch_table


def consequence_view(doc: Mapping[str, Any], *, above: RenderableType | None = None) -> RenderableType:
    """Takes the `consequence` document that `-o json` carries, so both outputs say the same; `above` (the
    diff) comes first."""
    dangerous = doc["refusal"] is not None
    plan = doc["plan"]
    planned = bool(plan and plan["batches"])
    head = Text("What this sets in motion: ", style="bold")
    head.append(doc["text"] + (" (plan below)." if planned else "."), style="bold red" if dangerous else "")
    parts: list[RenderableType] = [above, head] if above is not None else [head]
    if doc["unknown"]:
        parts.append(Text(f"Not sure: {doc['unknown']}.", style="yellow"))
    parts += [Text(f"note: {n}", style="yellow") for n in doc["notes"]]
    if planned:
        parts.append(batch_table(plan))
        parts.append(Text(plan["verdict"], style="bold red" if plan["refused"] else "green"))
    return Group(*parts)
