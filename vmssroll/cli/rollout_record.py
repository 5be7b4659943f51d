"""A rollout's record on its scale set (tags, written with If-Match) and its events: what `rollout`,
`resume`, `undo` and `rollout --orchestrate` share (cli/progressive.py, resuming.py and orchestrate.py)."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from vmssroll.domain.progressive import Record

if TYPE_CHECKING:
    from vmssroll.adapter.client import Azure
    from vmssroll.cli.common import Invocation
    from vmssroll.domain.model import ScaleSet


def read_record(azure: Azure, inv: Invocation) -> tuple[ScaleSet, Record | None]:
    ss = azure.scale_set(inv.target)
    return ss, Record.from_tags(ss.tags)


def write_record(
    inv: Invocation,
    azure: Azure,
    ss: ScaleSet,
    record: Record,
    extra: dict[str, Any] | None = None,
    gates: str | None = None,
) -> tuple[ScaleSet, Record]:
    """The record (and `extra` properties) in one PATCH with If-Match on the etag read: of two writers, one
    gets 412 (exit 8). The write token tells this write from another writer's identical record."""
    new = replace(record, write=secrets.token_hex(4), gates=gates if gates is not None else record.gates)
    body: dict[str, Any] = {"tags": new.to_tags(ss.tags)}
    if extra:
        body["properties"] = extra

    def applied(now: Any) -> bool:
        found = Record.from_tags(getattr(now, "tags", {}) or {})
        return found is not None and found.write == new.write

    if not extra:  # the tags alone: stored once Azure accepts the PATCH, nothing in the model to wait for
        return azure.patch(inv.target, body, ss.etag, applied=applied, wait=None), new
    from vmssroll.cli.writes import waiting

    with waiting(
        inv, no_wait=False
    ) as wait:  # a model change: Azure takes minutes to finish it in Rolling mode
        stored = azure.patch(inv.target, body, ss.etag, applied=applied, wait=wait)
    return stored, new


def emit(inv: Invocation, kind: str, text: str, **fields: Any) -> None:
    """One rollout event: a JSON line with -o json (beside the watch's own events), else a line on stderr;
    and a JSON line in the --events file (not twice when that is stdout with -o json)."""
    doc = {"time": inv.env.clock.utcnow(), "event": kind, "message": text, **fields}
    if inv.json:
        inv.out.event(doc)
    else:
        inv.out.note(text)
    if inv.events is not None and not (inv.json and inv.events is inv.env.stdout):
        from vmssroll.cli.watching import FileSink

        FileSink(inv.events).write(doc)


def image_body(image: dict[str, Any]) -> dict[str, Any]:
    return {"virtualMachineProfile": {"storageProfile": {"imageReference": image}}}
