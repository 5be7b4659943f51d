"""Waiting for a write (PATCH of a scale set) to finish: what the wait is given, what it reports, what it
says.

Azure answers a PATCH at once and finishes it later: in Rolling mode its operation stays InProgress (and the
scale set's provisioningState Updating) for 1.5-3 minutes, its polls carrying Retry-After (FACTS.md). The
adapter polls the operation on the command's clock; this module holds the values and the words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from vmssroll.domain.clock import Clock
from vmssroll.domain.durations import human

WRITE_WAIT_LIMIT = 20 * 60.0  # the longest a command waits for Azure to finish a write (Azure: 1.5-3 min)


@dataclass(frozen=True)
class WriteProgress:
    """Where a write's wait stands: the scale set, what Azure says of it, the time since it was accepted."""

    scale_set: str
    state: (
        str  # the scale set's provisioningState while the operation runs (Updating), or the operation's end
    )
    elapsed: float
    done: bool = False


@dataclass
class WriteWait:
    """How a write waits: on `clock`, at most `limit` seconds after Azure accepted it (an absolute deadline),
    reporting to `progress` at each poll, and every `tick` seconds in between when given (a status line's
    elapsed time)."""

    clock: Clock
    progress: Callable[[WriteProgress], None] = field(default=lambda _: None)
    limit: float = WRITE_WAIT_LIMIT
    tick: float | None = None


def waiting_line(p: WriteProgress, *, elapsed: bool = True) -> str:
    """'Waiting for Azure to finish updating web (provisioningState Updating) · 1m12s'."""
    line = f"Waiting for Azure to finish updating {p.scale_set} (provisioningState {p.state})"
    return f"{line} · {human(p.elapsed)}" if elapsed else line


def finished_line(p: WriteProgress) -> str:
    return f"Azure finished updating {p.scale_set} after {human(p.elapsed)}"


def accepted_line(scale_set: str, state: str | None, follow: str) -> str:
    """--no-wait: what Azure accepted, and the command that shows when it has finished."""
    now = f" (provisioningState {state})" if state else ""
    return f"Azure accepted the change to {scale_set}{now}; not waiting for it to finish. Follow it with: {follow}"
