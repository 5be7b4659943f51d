"""The OS image upgrade history (`vmssroll history`): one row per upgrade, newest first."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from vmssroll.ui.tables import stamp, table

_STYLE = {"completed": "green", "faulted": "red", "cancelled": "yellow", "rollingforward": "cyan"}


def history_view(doc: Mapping[str, Any]) -> RenderableType:
    """Started, by whom, from which image to which, the outcome and counts, rollbacks, Azure's error."""
    upgrades = doc["upgrades"]
    recorded = _recorded(doc)
    if not upgrades:
        empty = Text(f"No OS image upgrade has run on {doc['scaleSet']['name']}.")
        return Group(empty, *recorded)
    images = {_base(u["toText"]) for u in upgrades} | {
        _base(u["fromText"]) for u in upgrades if u["fromText"]
    }
    common = images.pop() if len(images) == 1 else None  # one image: its versions are what changes
    t = table("started", "ended", "by", "from", "to", "state", "done", "failed", "rolled back", "error")
    for u in upgrades:
        p, rollback = u["progress"], u["rollback"]
        state = Text(u["state"], style=_STYLE.get(u["state"].lower(), ""))
        t.add_row(
            _when(u["startTime"]),
            _when(u["endTime"]),
            u["startedBy"],
            _image(u["fromText"], common) if u["fromText"] else Text("unknown", style="dim"),
            _image(u["toText"], common),
            state,
            f"{p['successful']}/{p['successful'] + p['failed'] + p['inProgress'] + p['pending']}",
            str(p["failed"]),
            _rolled_back(rollback),
            (u["error"] or {}).get("code") or "",
        )
    parts: list[RenderableType] = [Text(f"image {common} (versions below)"), t] if common else [t]
    errors = [u for u in upgrades if u["error"] and u["error"].get("message")]
    if errors:
        latest = errors[0]
        parts.append(Text(f"{_when(latest['startTime'])}: {latest['error']['message']}", style="dim"))
    return Group(*parts, *recorded)


def _recorded(doc: Mapping[str, Any]) -> list[RenderableType]:
    """The rollout vmssroll recorded on the scale set (as `status` shows it), or why it could not be read."""
    from vmssroll.ui.status import rollout_view

    if doc.get("rollout"):
        return [Text(""), rollout_view(doc["rollout"])]
    if doc.get("unknown", {}).get("rollout"):
        return [Text(f"recorded rollout: unknown ({doc['unknown']['rollout']})", style="dim")]
    return []


def _base(text: str) -> str:
    """`publisher:offer:sku:version` without its version (a gallery path without its /versions/V)."""
    if ":" in text:
        return text.rsplit(":", 1)[0]
    return text.split("/versions/", 1)[0]


def _image(text: str, common: str | None) -> str:
    if common is None:
        return text
    return text[len(common) :].lstrip(":").removeprefix("/versions/") or text


def _when(value: str | None) -> str:
    return stamp(datetime.fromisoformat(value)) if value else "-"


def _rolled_back(rollback: Mapping[str, Any]) -> str:
    done, failed = rollback.get("succeeded"), rollback.get("failed")
    if done is None and failed is None:
        return "-"
    text = str(done or 0)
    if failed:
        text += f" ({failed} failed)"
    if rollback.get("error"):
        text += f": {rollback['error']}"
    return text
