"""Progressive rollouts (`vmssroll rollout`): checkpoints, gates, bake and undo over Azure's rolling upgrade.

Pure: the rollout's record as the scale set's tags, the share of instances upgraded from Azure's progress
counts, which checkpoint a share reaches, the consecutive-failure rule of the gates, and one `step` that
decides what the rollout does next from what it observes. The command (cli/progressive.py) only moves data.

Why the record lives in tags: `resume`, `undo` and `status` must work from another terminal, machine or CI
job, and two operators must not both resume or undo. A tag write is a PATCH with If-Match, so of two writers
one gets 412 (exit 8). Azure treats any update of a Rolling scale set as a generic model update that restarts
a stopped rolling upgrade while instances are behind (FACTS.md: "send a generic (empty) model update"; whether
a tags-only PATCH counts is not verified: it is assumed to, as the emulator does). So the record is written
only while an upgrade runs (before a cancel), when nothing is behind (bake, done), or when a restart is the
point (resume, undo); a state Azure reached on its own (Faulted) is read from the upgrade, not written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from fractions import Fraction
from typing import Any

from vmssroll.domain.errors import ExitCode, InvalidInput, shown
from vmssroll.domain.upgrade import Progress, UpgradeStatus

TAG_PREFIX = "vmssroll."
TAG_VALUE_MAX = 256  # Azure's limit on a tag value
CHUNKED = (
    "previous",
    "target",
    "reason",
    "gates",
)  # values that may pass the limit: split over `name`, `name.2`, ...
MAX_CHUNKS = 8
# Read-only parts of an image reference that Azure returns but a PATCH must not send back.
READ_ONLY_IMAGE_KEYS = ("exactVersion",)


class Kind(StrEnum):
    """What the rollout rolls out, which says how it restarts after a pause."""

    IMAGE = "image"  # a model change: restarted by an update of the model (the record's own PATCH)
    OS = "os"  # an OS image upgrade: restarted by the OS upgrade action
    EXTENSIONS = "extensions"  # an extension upgrade: restarted by the extension upgrade action


class Phase(StrEnum):
    """Where a rollout stands, as written in its record."""

    ROLLING = "rolling"
    PAUSED = "paused"  # cancelled at a checkpoint, waiting for `resume`
    BAKING = "baking"  # Completed; the gates keep running for the bake time
    DONE = "done"
    STOPPED = "stopped"  # by a gate (written before the cancel)
    UNDOING = "undoing"  # the previous image reference put back; Azure rolls the instances back
    UNDONE = "undone"


@dataclass(frozen=True)
class Record:
    """A rollout as kept with the scale set: what it rolls out, where it stands, and what undo puts back."""

    id: str
    kind: Kind
    phase: Phase
    total: int  # instances in the rollout when it began
    checkpoints: tuple[int, ...] = ()  # percentages, ascending
    passed: tuple[int, ...] = ()  # checkpoints reached
    previous: Mapping[str, Any] | None = None  # the image reference before the rollout (undo restores it)
    target: Mapping[str, Any] | None = None  # the image reference it rolls out
    reason: str | None = None  # why it stopped
    gates: str | None = None  # the gates' latest results when the record was written (`Gates.summary`)
    write: str = ""  # a token new with every write: tells this writer's record from another's identical one

    @property
    def paused_at(self) -> int | None:
        return self.passed[-1] if self.phase is Phase.PAUSED and self.passed else None

    @property
    def can_undo(self) -> bool:
        return self.kind is Kind.IMAGE and bool(self.previous)

    def to_tags(self, existing: Mapping[str, str] | None = None) -> dict[str, str]:
        """The scale set's whole tag set with this record: other tags kept, stale chunks of ours blanked (a
        PATCH merges tags in some implementations, so a key left out would survive)."""
        ours: dict[str, str] = {
            "rollout": self.id,
            "kind": self.kind.value,
            "phase": self.phase.value,
            "total": str(self.total),
            "checkpoints": ",".join(str(c) for c in self.checkpoints),
            "passed": ",".join(str(c) for c in self.passed),
            "write": self.write,
        }
        for name in CHUNKED:
            value = getattr(self, name)
            if value is None:
                continue
            text = (
                value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), sort_keys=True)
            )
            if name in ("reason", "gates"):
                text = text[: TAG_VALUE_MAX * 2]
            for number, start in enumerate(range(0, len(text), TAG_VALUE_MAX), start=1):
                ours[name if number == 1 else f"{name}.{number}"] = text[start : start + TAG_VALUE_MAX]
        tags = {k: v for k, v in (existing or {}).items() if not k.startswith(TAG_PREFIX)}
        stale = {k: "" for k in (existing or {}) if k.startswith(TAG_PREFIX)}
        return tags | stale | {TAG_PREFIX + k: v for k, v in ours.items()}

    @classmethod
    def from_tags(cls, tags: Mapping[str, str]) -> Record | None:
        """The record in a scale set's tags; None when there is none. A record that does not read is an error
        naming the tag (a person may have edited it)."""
        ours = {k.removeprefix(TAG_PREFIX): v for k, v in tags.items() if k.startswith(TAG_PREFIX)}
        if not ours.get("rollout"):
            return None
        try:
            return cls(
                id=ours["rollout"],
                kind=Kind(ours.get("kind", "")),
                phase=Phase(ours.get("phase", "")),
                total=int(ours.get("total", "0")),
                checkpoints=_percentages(ours.get("checkpoints", "")),
                passed=_percentages(ours.get("passed", "")),
                previous=_json_or_none(_joined(ours, "previous")),
                target=_json_or_none(_joined(ours, "target")),
                reason=_joined(ours, "reason") or None,
                gates=_joined(ours, "gates") or None,
                write=ours.get("write", ""),
            )
        except (ValueError, KeyError) as err:
            raise InvalidInput(
                f"the scale set's rollout record (tags {TAG_PREFIX}*) cannot be read: {shown(str(err), 120)}"
            ) from None

    @classmethod
    def read_tags(cls, tags: Mapping[str, str]) -> tuple[Record | None, str | None]:
        """`from_tags` for a reader that goes on: the record (None: there is none), or why it cannot be
        read."""
        try:
            return cls.from_tags(tags), None
        except InvalidInput as err:
            return None, err.message

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "phase": self.phase.value,
            "total": self.total,
            "checkpoints": list(self.checkpoints),
            "passed": list(self.passed),
            "pausedAt": self.paused_at,
            "previous": None if self.previous is None else dict(self.previous),
            "target": None if self.target is None else dict(self.target),
            "reason": self.reason,
            "gates": self.gates,
        }


def _joined(ours: Mapping[str, str], name: str) -> str:
    parts = [ours.get(name, "")]
    for number in range(2, MAX_CHUNKS + 1):
        part = ours.get(f"{name}.{number}", "")
        if not part:
            break
        parts.append(part)
    return "".join(parts)


def _json_or_none(text: str) -> Mapping[str, Any] | None:
    if not text:
        return None
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"not an object: {text[:60]}")
    return value


def _percentages(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(",") if p.strip())


def writable_image(image: Mapping[str, Any]) -> dict[str, Any]:
    """An image reference as a PATCH may send it back (without what Azure computes)."""
    return {k: v for k, v in image.items() if k not in READ_ONLY_IMAGE_KEYS and v is not None}


# Input ------------------------------------------------------------------------------------------------------


def parse_checkpoints(values: Sequence[str]) -> tuple[int, ...]:
    """`--checkpoint 10%` (or `10`), repeated: whole percentages from 1 to 99, ascending, each once."""
    found: set[int] = set()
    for value in values:
        text = value.strip().removesuffix("%").strip()
        if not text.isdigit() or not 1 <= int(text) <= 99:
            raise InvalidInput(f"--checkpoint {shown(value)} is not a percentage from 1% to 99% (e.g. 10%)")
        found.add(int(text))
    return tuple(sorted(found))


# Progress and checkpoints -----------------------------------------------------------------------------------


def nothing_left(status: UpgradeStatus) -> bool:
    """The upgrade a pause cancelled had already upgraded every instance it covers: it completed before the
    cancel, or the cancel came during its last batch, which Azure lets finish before it ends the upgrade
    Cancelled with nothing pending. Nothing is left to pause (a resume would start no upgrade)."""
    code, progress = status.code.lower(), status.progress
    if code == "completed":
        return True
    return code == "cancelled" and progress.total > 0 and progress.successful == progress.total


def share_upgraded(total: int, progress: Progress) -> Fraction:
    """The share of the rollout's instances upgraded, from Azure's counts for the current upgrade.

    A model upgrade restarted after a pause counts only the instances still behind: those upgraded before
    count as done (`total - this upgrade's total`). An OS or extension upgrade restarted covers every
    instance again, and its share starts again from its own counts.
    """
    if total <= 0:
        return Fraction(1)
    before = max(0, total - progress.total)
    return min(Fraction(1), Fraction(before + progress.successful, total))


def crossed(checkpoints: Sequence[int], passed: Sequence[int], share: Fraction) -> tuple[int, ...]:
    """The checkpoints not yet passed that `share` has reached (several when one refresh jumps over them)."""
    last = max(passed, default=0)
    return tuple(c for c in checkpoints if c > last and share * 100 >= c)


def next_checkpoint(checkpoints: Sequence[int], passed: Sequence[int]) -> int | None:
    last = max(passed, default=0)
    return next((c for c in checkpoints if c > last), None)


# Gates ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateRun:
    """One run of one gate: a shell command, exit 0 = good."""

    command: str
    exit_code: int | None  # None: it did not finish within its time
    output: str
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "gate": self.command,
            "ok": self.ok,
            "exitCode": self.exit_code,
            "timedOut": self.exit_code is None,
            "output": self.output,
            "seconds": round(self.seconds, 3),
        }

    def line(self) -> str:
        how = (
            "passed"
            if self.ok
            else "timed out"
            if self.exit_code is None
            else f"failed (exit {self.exit_code})"
        )
        tail = self.output.strip().splitlines()[-1:] if self.output.strip() else []
        return f"gate `{self.command}` {how}" + (f": {tail[0][:200]}" if tail else "")


@dataclass(frozen=True)
class Gates:
    """Consecutive failures per gate: `limit` failures in a row of one gate stop the rollout; a pass resets
    the count."""

    commands: tuple[str, ...]
    limit: int = 3
    streaks: Mapping[str, int] = field(default_factory=dict)
    last: tuple[GateRun, ...] = ()

    def after(self, runs: Sequence[GateRun]) -> Gates:
        streaks = dict(self.streaks)
        for run in runs:
            streaks[run.command] = 0 if run.ok else streaks.get(run.command, 0) + 1
        return replace(self, streaks=streaks, last=tuple(runs))

    @property
    def tripped(self) -> GateRun | None:
        """The last run of the first gate that failed `limit` times in a row, if one did."""
        for run in self.last:
            if self.streaks.get(run.command, 0) >= self.limit:
                return run
        return None

    def summary(self) -> str | None:
        """The latest results in one line, for the record (`status` shows it); None with no gate or no run."""
        if not self.commands or not self.last:
            return None
        failing = [r for r in self.last if not r.ok]
        if not failing:
            return f"{len(self.last)} of {len(self.commands)} gate(s) passing"
        return "; ".join(f"{r.line()} ({self.streaks.get(r.command, 0)} in a row)" for r in failing)

    @property
    def passing(self) -> bool:
        """Every gate's latest run passed (vacuously true with no gates)."""
        return all(self.streaks.get(c, 0) == 0 for c in self.commands) and (
            not self.commands or len(self.last) == len(self.commands)
        )


# The state machine ------------------------------------------------------------------------------------------


class Action(StrEnum):
    CONTINUE = "continue"  # keep following
    PAUSE = "pause"  # a checkpoint is reached: cancel, then wait for resume
    STOP = "stop"  # a gate tripped: cancel (if running), then stop or undo
    BAKE = "bake"  # Completed: gates keep running for the bake time
    DONE = "done"  # Completed (and baked)
    AZURE_STOPPED = "azure-stopped"  # Faulted
    CANCELLED = "cancelled"  # Cancelled, not by this rollout


@dataclass(frozen=True)
class Step:
    action: Action
    message: str
    exit_code: ExitCode = ExitCode.OK
    checkpoints: tuple[int, ...] = ()  # for PAUSE: the checkpoints reached

    @property
    def ends_following(self) -> bool:
        return self.action is not Action.CONTINUE


def step(
    record: Record,
    status: UpgradeStatus | None,
    gates: Gates,
    *,
    baking: bool = False,
    bake_left: float = 0.0,
    stale_start: Any = None,
) -> Step:
    """What the rollout does next, from its record, Azure's latest upgrade and the gates.

    `stale_start`: the start time of an upgrade this rollout already left behind (the leg it paused, or the
    upgrade that ran before it): that upgrade's end is not this rollout's. A tripped gate wins over everything
    else; then Azure's outcome; then the checkpoints.
    """
    tripped = gates.tripped
    if tripped is not None:
        where = "during the bake" if baking else "while rolling"
        return Step(
            Action.STOP,
            f"{tripped.line()} {gates.limit} time(s) in a row {where}",
            ExitCode.FAULTED,
        )
    if baking:
        if bake_left <= 0:
            return Step(Action.DONE, "Rollout done: Completed and baked with every gate passing")
        return Step(Action.CONTINUE, "baking")
    if status is None or (stale_start is not None and status.start_time == stale_start):
        return Step(Action.CONTINUE, "waiting for the upgrade to start")
    code = status.code.lower()
    if code == "completed":
        return Step(Action.BAKE, "Completed")
    if code == "faulted":
        error = f": {status.error_code}" if status.error_code else ""
        return Step(Action.AZURE_STOPPED, f"Azure stopped the upgrade (Faulted{error})", ExitCode.FAULTED)
    if code == "cancelled":
        return Step(Action.CANCELLED, "the upgrade was cancelled outside this rollout", ExitCode.CANCELLED)
    if not status.running or status.cancelling:
        return Step(Action.CONTINUE, status.code)
    reached = crossed(record.checkpoints, record.passed, share_upgraded(record.total, status.progress))
    if reached:
        return Step(Action.PAUSE, f"checkpoint {reached[-1]}% reached", checkpoints=reached)
    return Step(Action.CONTINUE, status.code)


def standing(record: Record | None, status: UpgradeStatus | None) -> str:
    """One line on where a recorded rollout stands, the record read beside Azure's latest upgrade (a state
    Azure reached on its own, such as Faulted, is never written to the record)."""
    if record is None:
        return "no rollout recorded"
    code = status.code if status is not None else "none"
    running = status is not None and status.running
    match record.phase:
        case Phase.PAUSED:
            return f"paused at {record.paused_at}%; resume with `vmssroll resume`" + (
                "" if not running else f" (an upgrade is {code})"
            )
        case Phase.ROLLING if not running and code.lower() == "faulted":
            return "stopped by Azure: the upgrade Faulted"
        case Phase.ROLLING if not running and code.lower() == "cancelled":
            return "stopped: the upgrade was cancelled"
        case Phase.STOPPED:
            return f"stopped by a gate: {record.reason or 'no reason recorded'}"
    return f"{record.phase.value} (latest upgrade: {code})"


def rollout_document(tags: Mapping[str, str], status: UpgradeStatus | None) -> dict[str, Any] | None:
    """The rollout recorded on a scale set, for `status`: the record, where it stands, what undo restores.
    None when none is recorded; an unreadable record is shown as such, never fatal (a supplementary read)."""
    try:
        record = Record.from_tags(tags)
    except InvalidInput as err:
        return {"record": None, "standing": f"unknown: {err.message}", "undoRestores": None}
    if record is None:
        return None
    return {
        "record": record.to_json(),
        "standing": standing(record, status),
        "undoRestores": dict(record.previous) if record.can_undo and record.previous else None,
    }
