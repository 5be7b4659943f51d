"""The watch loop and its pacer on a manual clock: timeout, progress deadline, back-off, Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vmssroll.domain.errors import AzureRequestFailed, ExitCode, TimedOut
from vmssroll.domain.upgrade import Verdict
from vmssroll.domain.watch import (
    MAX_BACKOFF,
    Deadlines,
    Pacer,
    Reading,
    Transient,
    WatchLoop,
    server_time,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def utcnow(self) -> datetime:
        return T0 + timedelta(seconds=self.now)


def throttled(retry_after: float | None = None, status: int = 429) -> AzureRequestFailed:
    err = AzureRequestFailed("busy", code="TooManyRequests", status=status)
    err.retry_after = retry_after
    return err


def run(script, deadlines, clock=None, pacer=None):
    """Run the loop over `script`: each item is a value (the state seen) or an exception to raise."""
    clock = clock or ManualClock()
    items = iter(script)
    changes: list[object] = []
    transients: list[Transient] = []

    def fetch():
        item = next(items)
        if isinstance(item, Exception):
            raise item
        return item

    loop = WatchLoop(
        clock,
        deadlines,
        fetch=fetch,
        judge=lambda s: Verdict(s == "end", ExitCode.OK, str(s)),
        key=lambda s: s,
        on_change=lambda s, v: changes.append(s),
        on_transient=transients.append,
        pacer=pacer,
    )
    return loop.run(), clock, changes, transients


def test_returns_on_the_refresh_that_reads_the_end_without_waiting_after_it():
    verdict, clock, changes, _ = run(["a", "b", "b", "end"], Deadlines(interval=10))
    assert verdict.done and changes == ["a", "b", "end"]
    assert clock.slept == [10, 10, 10]


def test_timeout_cuts_the_last_wait_short_and_raises():
    with pytest.raises(TimedOut, match="timed out after 25s"):
        run(["a", "b", "c", "d", "e"], Deadlines(interval=10, timeout=25))


def test_timeout_never_waits_past_the_deadline():
    clock = ManualClock()
    with pytest.raises(TimedOut):
        run(["a"] * 10, Deadlines(interval=10, timeout=25), clock=clock)
    assert clock.slept == [10, 10, 5]


def test_progress_deadline_counts_from_the_last_change():
    clock = ManualClock()
    with pytest.raises(TimedOut, match="no progress within 30s"):
        run(["a", "b", "b", "b", "b", "b", "b"], Deadlines(interval=10, progress_deadline=30), clock=clock)
    assert clock.now == 40  # b first seen at 10, stalled from then until 40


def test_back_off_doubles_from_the_interval_and_is_capped():
    errors = [throttled(None, 503) for _ in range(8)]
    _, clock, _, transients = run([*errors, "end"], Deadlines(interval=10))
    assert clock.slept == [20, 40, 80, MAX_BACKOFF, MAX_BACKOFF, MAX_BACKOFF, MAX_BACKOFF, MAX_BACKOFF]
    assert [t.attempt for t in transients] == list(range(1, 9))


def test_retry_after_is_honoured_but_never_shortens_the_interval():
    _, clock, _, transients = run([throttled(45), throttled(1), "end"], Deadlines(interval=10))
    assert clock.slept == [45, 10]
    assert transients[0].wait == 45


def test_a_success_resets_the_back_off():
    _, clock, _, _ = run([throttled(None, 503), "a", throttled(None, 503), "end"], Deadlines(interval=10))
    assert clock.slept == [20, 10, 20]


def test_gives_up_after_max_failures_and_at_once_on_a_permanent_error():
    with pytest.raises(AzureRequestFailed):
        run([AzureRequestFailed("no", code="AuthorizationFailed", status=403)], Deadlines(interval=10))
    clock = ManualClock()
    loop = WatchLoop(
        clock,
        Deadlines(interval=1),
        fetch=lambda: (_ for _ in ()).throw(throttled(None, 503)),
        judge=lambda s: Verdict(True, ExitCode.OK, ""),
        key=lambda s: s,
        on_change=lambda s, v: None,
        on_transient=lambda t: None,
        max_failures=3,
    )
    with pytest.raises(AzureRequestFailed):
        loop.run()
    assert len(clock.slept) == 3


def test_a_low_read_budget_stretches_the_wait_and_it_recovers():
    pacer = Pacer(10)
    pacer.refreshed(Reading(None, rate_limits={"subscription-reads": 40}))
    assert pacer.slowed and pacer.after_success() == 25
    pacer.refreshed(Reading(None, rate_limits={"subscription-reads": 11000}))
    assert not pacer.slowed and pacer.after_success() == 10
    pacer.refreshed(Reading(None))  # an answer without the header keeps the last reading
    assert pacer.after_success() == 10


def test_the_request_budget_pays_for_listings():
    pacer = Pacer(10)
    assert not pacer.affords(1)
    pacer.refreshed(Reading(None))  # earns two, spends one
    assert pacer.credit == 1 and pacer.affords(1) and not pacer.affords(10)
    pacer.spent(Reading([], pages=10))
    assert pacer.credit == -9
    for _ in range(19):
        pacer.refreshed(Reading(None))
    assert pacer.credit == 10 and pacer.affords(10)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Mon, 05 Jan 2026 09:00:00 GMT", T0),
        (None, None),
        ("", None),
        ("yesterday", None),
        ("Mon, 05 Jan 2026 09:00:00", None),  # no zone: not Azure's clock
    ],
)
def test_server_time_from_the_date_header(header, expected):
    assert server_time(header) == expected


def test_a_hold_from_a_supplementary_read_stretches_only_the_next_wait():
    pacer = Pacer(10)
    pacer.hold(60)
    assert pacer.after_success() == 60
    assert pacer.after_success() == 10
