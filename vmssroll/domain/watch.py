"""The generic watch loop and its pacing: fetch, judge, report changes, wait; it knows nothing of what it
watches."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Generic, TypeVar

from vmssroll.domain.clock import Clock
from vmssroll.domain.errors import AzureRequestFailed, ExitCode, TimedOut
from vmssroll.domain.upgrade import Verdict

S = TypeVar("S")
T = TypeVar("T", covariant=True)

MAX_BACKOFF = 120.0
# ARM tells every caller how much of its read budget is left: `x-ms-ratelimit-remaining-subscription-reads`
# (the subscription's reads in the current window) and, from Compute, `x-ms-ratelimit-remaining-resource`
# counters such as `Microsoft.Compute/HighCostGet3Min;159`. Below these floors the watch slows down, so one
# long watch never starves everything else that reads the subscription.
LOW_READS = 100
LOW_RESOURCE_CALLS = 20
MAX_PACED_INTERVAL = 300.0
REQUESTS_PER_REFRESH = 2  # the average a watch may spend, listings included


@dataclass(frozen=True)
class Reading(Generic[T]):
    """What one read brought back: the value, and what Azure said about the answer itself."""

    value: T
    pages: int = 1  # requests it took
    rate_limits: Mapping[str, int] = field(default_factory=dict)  # remaining budgets, by counter name
    server_time: datetime | None = None  # Azure's clock when it answered (the `Date` header)


def server_time(date_header: str | None) -> datetime | None:
    """An HTTP `Date` header (`Tue, 05 Jan 2026 09:00:00 GMT`) as an aware datetime; None if absent/bad."""
    if not date_header:
        return None
    try:
        parsed = parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else None


def paced_interval(interval: float, remaining: Mapping[str, int]) -> float:
    """The time a refresh should take given Azure's remaining budgets: the interval, stretched by how far the
    lowest budget is below its floor (half the floor left: twice the interval), capped at five minutes but
    never shorter than the interval the user set."""
    factor = 1.0
    for name, left in remaining.items():
        floor = LOW_READS if name == "subscription-reads" else LOW_RESOURCE_CALLS
        if left < floor:
            factor = max(factor, floor / max(left, 1))
    return max(interval, min(interval * factor, MAX_PACED_INTERVAL))


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


@dataclass
class Pacer:
    """Every wait of a watch, decided in one place.

    Between refreshes: the interval, stretched while Azure's read budgets run low (`paced_interval`); after a
    transient failure: Azure's Retry-After, or capped exponential back-off, never less than the interval. The
    request budget: every refresh earns `REQUESTS_PER_REFRESH` requests and spends what it sends, so optional
    reads (an instance listing of many pages) wait until the refreshes have paid for them; a watch then
    averages at most that many requests per refresh over its life, whatever the scale set's size.
    """

    interval: float
    refreshes: int = 0
    requests: int = 0
    failures: int = 0
    remaining: Mapping[str, int] = field(default_factory=dict)
    held: float = 0.0

    def refreshed(self, reading: Reading[object]) -> None:
        """One refresh's primary read came back."""
        self.refreshes += 1
        self.spent(reading)

    def spent(self, reading: Reading[object]) -> None:
        """Requests sent, and the budgets the answer reported."""
        self.requests += reading.pages
        if reading.rate_limits:
            self.remaining = dict(reading.rate_limits)

    @property
    def credit(self) -> int:
        """Requests still spendable while averaging at most `REQUESTS_PER_REFRESH` per refresh."""
        return REQUESTS_PER_REFRESH * self.refreshes - self.requests

    def affords(self, requests: int) -> bool:
        return self.credit >= requests

    @property
    def paced(self) -> float:
        """The time between refreshes now: the interval, or longer while Azure's read budget is low."""
        return paced_interval(self.interval, self.remaining)

    @property
    def slowed(self) -> bool:
        return self.paced > self.interval

    def hold(self, seconds: float) -> None:
        """Azure asked for `seconds` of quiet (Retry-After on a supplementary read): wait that long next."""
        self.held = max(self.held, seconds)

    def after_success(self) -> float:
        self.failures = 0
        wait, self.held = max(self.paced, self.held), 0.0
        return wait

    def after_failure(self, err: AzureRequestFailed, max_failures: int) -> float | None:
        """The wait before retrying a failed refresh, or None when the watch should give up."""
        if not err.transient or self.failures >= max_failures:
            return None
        self.failures += 1
        backoff = min(MAX_BACKOFF, self.interval * 2 ** min(self.failures, 6))
        wait, self.held = (
            max(self.paced, self.held, err.retry_after if err.retry_after is not None else backoff),
            0.0,
        )
        return wait


class WatchLoop(Generic[S]):
    """Calls `fetch` until `judge` says done, reporting each change and each transient failure.

    `key` says what counts as a change (and as progress for the progress deadline); a refresh without one goes
    to `on_refresh`. `on_stall` builds the error for a missed progress deadline. The pacer decides every
    wait; a wait is cut short at the timeout, so the last look comes at the deadline, never after it.
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
        on_refresh: Callable[[S, Verdict], None] | None = None,
        pacer: Pacer | None = None,
        on_stall: Callable[[float], TimedOut] | None = None,
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
        self.on_refresh = on_refresh
        self.pacer = pacer or Pacer(deadlines.interval)
        self.on_stall = on_stall
        self.max_failures = max_failures
        self.on_deadline = on_deadline  # told the nearest absolute deadline before each fetch

    def run(self) -> Verdict:
        start = last_progress = self.clock.monotonic()
        last_key: object = object()
        while True:
            self.on_deadline(self._nearest(start, last_progress))
            try:
                snapshot = self.fetch()
            except AzureRequestFailed as err:
                wait = self.pacer.after_failure(err, self.max_failures)
                if wait is None:
                    raise
                self.on_transient(Transient(err, self.pacer.failures, wait))
            else:
                wait = self.pacer.after_success()
                verdict = self.judge(snapshot)
                key = self.key(snapshot)
                if key != last_key:
                    last_key, last_progress = key, self.clock.monotonic()
                    self.on_change(snapshot, verdict)
                elif self.on_refresh is not None:
                    self.on_refresh(snapshot, verdict)
                if verdict.done:
                    return verdict
            self._check(start, last_progress)
            nearest = self._nearest(start, last_progress)
            if nearest is not None and self.clock.monotonic() + wait >= nearest:
                # A long Retry-After, back-off or slowed pace never carries the watch past its deadline.
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
            if self.on_stall is not None:
                raise self.on_stall(now - last_progress)
            raise TimedOut(f"no progress within {_secs(deadlines.progress_deadline)}; the upgrade goes on")


def _secs(seconds: float) -> str:
    from vmssroll.domain.durations import human

    return human(seconds)


__all__ = [
    "Deadlines",
    "ExitCode",
    "Pacer",
    "Reading",
    "Transient",
    "WatchLoop",
    "paced_interval",
    "server_time",
]
