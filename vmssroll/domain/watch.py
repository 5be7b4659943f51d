"""The generic watch loop: fetch, judge, report changes, sleep; it knows nothing of what it watches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from vmssroll.domain.clock import Clock
from vmssroll.domain.errors import AzureRequestFailed, ExitCode, TimedOut
from vmssroll.domain.upgrade import Verdict

S = TypeVar("S")

MAX_BACKOFF = 120.0


@dataclass(frozen=True)
class Deadlines:
    interval: float
    timeout: float | None = None
    progress_deadline: float | None = None


@dataclass(frozen=True)
class Transient:
    """A failed refresh that the watch rides out."""

    error: AzureRequestFailed
    attempt: int
    wait: float


class WatchLoop(Generic[S]):
    """Calls `fetch` until `judge` says done, reporting each change and each transient failure.

    `key` says what counts as a change (and as progress for the progress deadline). Waits never drop below
    the interval; Retry-After and back-off stretch them.
    """

    def __init__(
        self,
        clock: Clock,
        deadlines: Deadlines,
        *,
        fetch: Callable[[], S],
        judge: Callable[[S], Verdict],
        key: Callable[[S], object],
        on_change: Callable[[S, Verdict], None],
        on_transient: Callable[[Transient], None],
        max_failures: int = 30,
        on_deadline: Callable[[float | None], None] = lambda at: None,
    ) -> None:
        self.clock = clock
        self.deadlines = deadlines
        self.fetch = fetch
        self.judge = judge
        self.key = key
        self.on_change = on_change
        self.on_transient = on_transient
        self.max_failures = max_failures
        self.on_deadline = on_deadline  # told the nearest absolute deadline before each fetch

    def run(self) -> Verdict:
        start = last_progress = self.clock.monotonic()
        last_key: object = object()
        failures = 0
        while True:
            wait = self.deadlines.interval
            self.on_deadline(self._nearest(start, last_progress))
            try:
                snapshot = self.fetch()
            except AzureRequestFailed as err:
                if not err.transient or failures >= self.max_failures:
                    raise
                failures += 1
                backoff = min(MAX_BACKOFF, self.deadlines.interval * 2 ** min(failures, 6))
                wait = max(wait, err.retry_after if err.retry_after is not None else backoff)
                self.on_transient(Transient(err, failures, wait))
            else:
                failures = 0
                verdict = self.judge(snapshot)
                key = self.key(snapshot)
                now = self.clock.monotonic()
                if key != last_key:
                    last_key, last_progress = key, now
                    self.on_change(snapshot, verdict)
                if verdict.done:
                    return verdict
            self._check(start, last_progress)
            nearest = self._nearest(start, last_progress)
            if nearest is not None and self.clock.monotonic() + wait >= nearest:
                # A long Retry-After or back-off never carries the watch past its deadline.
                self.clock.sleep(max(0.0, nearest - self.clock.monotonic()))
                self._check(start, last_progress, at=nearest)
            self.clock.sleep(wait)

    def _nearest(self, start: float, last_progress: float) -> float | None:
        d = self.deadlines
        found = [
            at
            for at in (
                None if d.timeout is None else start + d.timeout,
                None if d.progress_deadline is None else last_progress + d.progress_deadline,
            )
            if at is not None
        ]
        return min(found, default=None)

    def _check(self, start: float, last_progress: float, at: float | None = None) -> None:
        now = max(self.clock.monotonic(), at or 0.0)
        deadlines = self.deadlines
        if deadlines.timeout is not None and now - start >= deadlines.timeout:
            raise TimedOut(f"timed out after {_secs(deadlines.timeout)}; the upgrade goes on")
        if deadlines.progress_deadline is not None and now - last_progress >= deadlines.progress_deadline:
            raise TimedOut(f"no progress within {_secs(deadlines.progress_deadline)}; the upgrade goes on")


def _secs(seconds: float) -> str:
    from vmssroll.domain.durations import human

    return human(seconds)


__all__ = ["Deadlines", "ExitCode", "Transient", "WatchLoop"]
