"""Reading the OS image upgrade history (`osUpgradeHistory`): who started each upgrade, from which image to
which, how it ended, what was rolled back. Pure: it takes the entries the adapter read and orders them.

Azure's items name only the image an upgrade went to (`targetImageReference`); the image it came from is read
here as the target of the upgrade before it that completed (the instances ran that one), and is unknown when
no older completed upgrade is in the history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from vmssroll.domain.upgrade import Progress


@dataclass(frozen=True)
class OsUpgrade:
    """One item of the history, read tolerantly: unknown codes kept as given, missing fields empty."""

    code: str
    start_time: datetime | None
    end_time: datetime | None
    started_by: str  # User | Platform | Unknown (Azure's UpgradeOperationInvoker), as given
    target: Mapping[str, Any]  # targetImageReference
    progress: Progress
    error_code: str | None = None
    error_message: str | None = None
    rolled_back: int | None = None  # rollbackInfo.successfullyRolledbackInstanceCount
    rollback_failed: int | None = None  # rollbackInfo.failedRolledbackInstanceCount
    rollback_error: str | None = None
    source: Mapping[str, Any] | None = None  # the image it came from (see the module's docstring)
    document: Mapping[str, Any] = field(default_factory=dict)  # Azure's own item, REST shape

    @property
    def by_platform(self) -> bool:
        return self.started_by.lower() == "platform"

    def to_json(self) -> dict[str, Any]:
        p = self.progress
        return {
            "state": self.code,
            "startTime": _iso(self.start_time),
            "endTime": _iso(self.end_time),
            "startedBy": self.started_by,
            "from": None if self.source is None else dict(self.source),
            "to": dict(self.target),
            "fromText": None if self.source is None else image_text(self.source),
            "toText": image_text(self.target),
            "progress": {
                "successful": p.successful,
                "failed": p.failed,
                "inProgress": p.in_progress,
                "pending": p.pending,
            },
            "error": None
            if not self.error_code
            else {"code": self.error_code, "message": self.error_message},
            "rollback": {
                "succeeded": self.rolled_back,
                "failed": self.rollback_failed,
                "error": self.rollback_error,
            },
            "upgrade": dict(self.document),
        }


def read_history(entries: Sequence[OsUpgrade]) -> list[OsUpgrade]:
    """Newest first (by start time; entries without one last, in Azure's order), each with the image it came
    from: the target of the nearest older upgrade that completed."""
    oldest = datetime.min.replace(tzinfo=UTC)
    ordered = sorted(
        enumerate(entries), key=lambda e: (e[1].start_time is not None, e[1].start_time or oldest, -e[0])
    )
    out: list[OsUpgrade] = []
    came_from: Mapping[str, Any] | None = None
    for _, entry in ordered:  # oldest first, to carry the image forward
        out.append(replace(entry, source=came_from))
        if entry.code.lower() == "completed" and entry.target:
            came_from = entry.target
    return out[::-1]


def image_text(ref: Mapping[str, Any]) -> str:
    """An image reference as one short string: `publisher:offer:sku:version` (az's URN), or the gallery id's
    `images/NAME[/versions/V]`, or `-` when empty."""
    if not ref:
        return "-"
    for key in ("id", "sharedGalleryImageId", "communityGalleryImageId"):
        if ref.get(key):
            parts = str(ref[key]).rstrip("/").split("/")
            lowered = [p.lower() for p in parts]
            start = lowered.index("images") if "images" in lowered else max(0, len(parts) - 2)
            return "/".join(parts[start:])
    version = ref.get("exactVersion") or ref.get("version") or "?"
    return ":".join(str(ref.get(k) or "?") for k in ("publisher", "offer", "sku")) + f":{version}"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
