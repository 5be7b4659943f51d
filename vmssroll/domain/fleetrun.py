"""Running a fleet (`vmssroll fleet rollout`), the pure part: where each scale set stands, read from its
rollout record and Azure's latest upgrade, and one `decide` that says what the fleet does next.

Each set keeps the fleet's progress in its own rollout record (domain/progressive.Record, id `fleet:<name>`),
so a second run, another machine or a concurrent runner reads it from Azure: a set this fleet finished is
never touched again; a set another rollout is changing is busy (reported, counted by the stop rule, never
touched). The command (cli/fleet_rollout.py) reads, writes and waits; it decides nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from vmssroll.domain.progressive import Phase, Record
from vmssroll.domain.rollout import batch_estimate
from vmssroll.domain.upgrade import UpgradeStatus
from vmssroll.domain.watch import MAX_PACED_INTERVAL, paced_interval


class SetState(StrEnum):
    """Where one scale set of the fleet stands."""

    PENDING = "pending"  # not started by this fleet
    BUSY = "busy"  # another rollout is in progress on it: not touched
    STARTING = "starting"  # the change is sent; Azure's upgrade has not started yet
    ROLLING = "rolling"
    COMPLETED = "completed"  # Azure's upgrade Completed; its wave's bake is still to pass
    DONE = "done"
    FAULTED = "faulted"  # Azure stopped its upgrade
    CANCELLED = "cancelled"  # its upgrade was cancelled outside this fleet
    STOPPED = "stopped"  # stopped by the fleet (a halt) or an earlier run's halt
    REFUSED = "refused"  # it could not be started (preflight); nothing was sent to it
    UNDOING = "undoing"  # the previous image put back; Azure rolls its instances back
    UNDONE = "undone"


ACTIVE = frozenset({SetState.STARTING, SetState.ROLLING, SetState.UNDOING})  # the only sets polled
PROBLEMS = frozenset(
    {SetState.BUSY, SetState.FAULTED, SetState.CANCELLED, SetState.STOPPED, SetState.REFUSED, SetState.UNDONE}
)
SETTLED = PROBLEMS | {SetState.DONE}  # nothing more happens to them in this run

_BY_PHASE = {
    Phase.ROLLING: SetState.ROLLING,
    Phase.BAKING: SetState.COMPLETED,
    Phase.DONE: SetState.DONE,
    Phase.STOPPED: SetState.STOPPED,
    Phase.PAUSED: SetState.STOPPED,  # a fleet never pauses a set: someone else's hand, so a problem
    Phase.UNDOING: SetState.UNDOING,
    Phase.UNDONE: SetState.UNDONE,
}
_IN_PROGRESS = frozenset({Phase.ROLLING, Phase.PAUSED, Phase.BAKING, Phase.UNDOING, Phase.STOPPED})


def from_record(record: Record | None, fleet_id: str) -> SetState:
    """Where a set stands from its record alone: this fleet's phase, or busy under another rollout in
    progress (stopped counts as in progress: its owner may still undo it), or pending."""
    if record is None:
        return SetState.PENDING
    if record.id != fleet_id:
        return SetState.BUSY if record.phase in _IN_PROGRESS else SetState.PENDING
    return _BY_PHASE[record.phase]


_FORWARD = (Phase.ROLLING, Phase.BAKING, Phase.DONE)
_PAST = {
    Phase.STOPPED: {Phase.BAKING, Phase.DONE, Phase.UNDOING, Phase.UNDONE},
    Phase.UNDOING: {Phase.UNDONE},
}


def written(current: Phase, wanted: Phase) -> bool:
    """The record already stands at `wanted` or past it (another runner wrote it): writing `wanted` now
    would move it back."""
    if current is wanted:
        return True
    if current in _FORWARD and wanted in _FORWARD:
        return _FORWARD.index(current) > _FORWARD.index(wanted)
    return current in _PAST.get(wanted, set())


@dataclass(frozen=True)
class Seen:
    """What one read of a set's latest upgrade says of an active set."""

    state: SetState
    message: str
    percent: int | None = None
    batch: str | None = None  # "2/5": batch N of M while it rolls, estimated as `watch` estimates it


def observe(
    state: SetState, status: UpgradeStatus | None, stale_start: datetime | None = None, capacity: int = 0
) -> Seen:
    """An active set's new state from its latest upgrade. `stale_start`: the start time of the upgrade that
    ran before this fleet's change (its end is not ours); `capacity`: its instances (for the batch)."""
    if state not in ACTIVE:
        return Seen(state, state.value)
    if status is None or (stale_start is not None and status.start_time == stale_start):
        return Seen(
            state if state is SetState.UNDOING else SetState.STARTING, "waiting for the upgrade to start"
        )
    percent = status.progress.percent
    code = status.code.lower()
    if code == "completed":
        return Seen(SetState.UNDONE if state is SetState.UNDOING else SetState.COMPLETED, "Completed", 100)
    if code == "faulted":
        error = f": {status.error_code}" if status.error_code else ""
        return Seen(SetState.FAULTED, f"Azure stopped the upgrade (Faulted{error})", percent)
    if code == "cancelled":
        return Seen(SetState.CANCELLED, "the upgrade was cancelled", percent)
    if status.cancelling:
        return Seen(state, "cancelling", percent)
    found = batch_estimate(status, capacity)
    batch = None if found is None else f"{found.current}/{found.total}"
    now = SetState.UNDOING if state is SetState.UNDOING else SetState.ROLLING
    return Seen(now, status.code, percent, batch)


@dataclass(frozen=True)
class WaveSpec:
    """A wave as the scheduler sees it: its sets (keys), in the order they start."""

    name: str
    keys: tuple[str, ...]
    max_parallel: int = 1
    bake: float = 0.0


class Next(StrEnum):
    ROLL = "roll"  # start `start`, keep following the active sets
    BAKE = "bake"  # every set of the wave completed: bake, then record them done
    HALT = "halt"  # the stop rule: stop what rolls, then undo the wave if the file says so
    DONE = "done"  # every wave is done


@dataclass(frozen=True)
class Decision:
    next: Next
    wave: int | None  # index of the current wave
    start: tuple[str, ...] = ()
    reason: str = ""


def problems(waves: Sequence[WaveSpec], states: Mapping[str, SetState], upto: int) -> tuple[str, ...]:
    """The sets of waves 0..upto that count against the stop rule."""
    return tuple(k for w in waves[: upto + 1] for k in w.keys if states[k] in PROBLEMS)


def current_wave(waves: Sequence[WaveSpec], states: Mapping[str, SetState]) -> int | None:
    """The first wave with a set not settled (done, or a problem the stop rule allowed)."""
    return next((i for i, w in enumerate(waves) if any(states[k] not in SETTLED for k in w.keys)), None)


def decide(
    waves: Sequence[WaveSpec],
    states: Mapping[str, SetState],
    *,
    max_faulted: int = 0,
    tripped: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> Decision:
    """What the fleet does next. Waves run in order; inside one, sets start in order while fewer than
    `max_parallel` are active; a wave whose sets all completed bakes. The stop rule halts the fleet when a
    gate tripped or more than `max_faulted` sets of the waves so far are faulted, stopped, cancelled, refused
    or busy."""
    at = current_wave(waves, states)
    upto = len(waves) - 1 if at is None else at
    bad = problems(waves, states, upto)
    if tripped:
        return Decision(Next.HALT, at, reason=tripped)
    if len(bad) > max_faulted:
        names = ", ".join(f"{(labels or {}).get(k, k)} ({states[k].value})" for k in bad[:5]) + (
            " ..." if len(bad) > 5 else ""
        )
        return Decision(
            Next.HALT, at, reason=f"{len(bad)} set(s) failed, more than the {max_faulted} allowed: {names}"
        )
    if at is None:
        return Decision(Next.DONE, None)
    wave = waves[at]
    active = sum(1 for k in wave.keys if states[k] in ACTIVE)
    pending = [k for k in wave.keys if states[k] is SetState.PENDING]
    if pending or active:
        slots = max(0, wave.max_parallel - active)
        return Decision(Next.ROLL, at, start=tuple(pending[:slots]))
    return Decision(Next.BAKE, at)


def summary(waves: Sequence[WaveSpec], states: Mapping[str, SetState]) -> list[dict[str, object]]:
    """Each wave's progress: how many of its sets stand where."""
    rows: list[dict[str, object]] = []
    for wave in waves:
        counts: dict[str, int] = {}
        for key in wave.keys:
            counts[states[key].value] = counts.get(states[key].value, 0) + 1
        done = counts.get("done", 0)
        rows.append({"wave": wave.name, "sets": len(wave.keys), "done": done, "states": counts})
    return rows


@dataclass(frozen=True)
class SetRow:
    """One set as the live view, the lines and the JSON events show it."""

    wave: str
    name: str
    resource_group: str
    subscription: str
    location: str
    state: SetState
    percent: int | None = None
    message: str = ""
    batch: str | None = None

    def line(self) -> str:
        percent = "" if self.percent is None else f" {self.percent}%"
        batch = f" batch {self.batch}" if self.batch and self.state in ACTIVE else ""
        detail = f": {self.message}" if self.message and self.message != self.state.value else ""
        return f"{self.wave}: {self.name} ({self.resource_group}) {self.state.value}{percent}{batch}{detail}"

    def to_json(self) -> dict[str, object]:
        return {
            "wave": self.wave,
            "scaleSet": self.name,
            "resourceGroup": self.resource_group,
            "subscription": self.subscription,
            "location": self.location,
            "state": self.state.value,
            "percent": self.percent,
            "batch": self.batch if self.state in ACTIVE else None,
            "detail": self.message,
        }


_INTEREST = {
    **{s: 0 for s in ACTIVE},
    **{s: 1 for s in PROBLEMS},
    SetState.COMPLETED: 2,
    SetState.PENDING: 3,
    SetState.DONE: 4,
}


def by_interest(rows: Sequence[SetRow], waves: Sequence[str]) -> list[SetRow]:
    """The rows a person needs first: sets rolling, then the ones in trouble, completed, pending, done; in
    wave order inside each."""
    order = {name: i for i, name in enumerate(waves)}
    return sorted(rows, key=lambda r: (_INTEREST[r.state], order.get(r.wave, 0), r.name.lower()))


_WINDOW = re.compile(r"(\d+)Min$")


def fleet_interval(interval: float, reads: int, remaining: Mapping[str, int]) -> float:
    """The time between two refreshes of one subscription's active sets, which share its read budgets: the
    interval, stretched as a watch's while a budget runs low (`paced_interval`), and long enough that `reads`
    requests per refresh spread what is left of each windowed Compute budget (`...3Min`, `...30Min`) over its
    window; at most MAX_PACED_INTERVAL."""
    wait = paced_interval(interval, remaining)
    for name, left in remaining.items():
        found = _WINDOW.search(name)
        if found and reads > 0:
            wait = max(wait, reads * int(found.group(1)) * 60 / max(left, 1))
    return max(interval, min(wait, MAX_PACED_INTERVAL))
