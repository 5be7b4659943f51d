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
    paced_interval,
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


@pytest.mark.parametrize(
    ("interval", "remaining", "paced"),
    [
        (10, {}, 10),
        (10, {"subscription-reads": 100}, 10),  # at the floor: not yet slowed
        (10, {"subscription-reads": 50}, 20),  # half the floor left: twice the interval
        (10, {"Microsoft.Compute/HighCostGet3Min": 20}, 10),
        (10, {"Microsoft.Compute/HighCostGet3Min": 10}, 20),  # Compute's counters have a floor of 20
        (10, {"Microsoft.Compute/HighCostGet3Min": 10, "subscription-reads": 25}, 40),  # the lowest decides
        (1, {"subscription-reads": 1}, 100),
        (1, {"subscription-reads": 0}, 100),  # nothing left: as if one were
        (10, {"subscription-reads": 1}, 300),  # capped at five minutes
        (600, {"subscription-reads": 1}, 600),  # but never shorter than the interval the user set
    ],
)
def test_the_pace_follows_the_lowest_budget(interval, remaining, paced):
    assert paced_interval(interval, remaining) == paced


def test_a_hold_ends_with_the_wait_it_stretched():
    pacer = Pacer(0.5)
    pacer.hold(60)
    assert pacer.after_success() == 60
    assert pacer.after_success() == 0.5
    pacer.hold(60)
    assert pacer.after_failure(throttled(None, 503), 30) == 60  # a failed refresh waits out the hold too
    assert pacer.after_success() == 0.5


def test_back_off_stops_doubling_after_six_failures():
    pacer = Pacer(1)
    assert [pacer.after_failure(throttled(None, 503), 30) for _ in range(8)] == [2, 4, 8, 16, 32, 64, 64, 64]


class EarlyClock(ManualClock):
    """A clock that starts far from zero and wakes a little early from every sleep (as float time may)."""

    def __init__(self, start: float = 1000.0, early: float = 0.0) -> None:
        super().__init__()
        self.now = start
        self.early = early

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(0.0, seconds - self.early)


def watch(script, deadlines, clock, **kwargs):
    """The loop over `script`, every callback recorded: the verdict (or the exception raised) and the log."""
    items = iter(script)
    log: list[tuple[str, object]] = []

    def fetch():
        log.append(("fetch", clock.monotonic()))
        item = next(items)
        if isinstance(item, Exception):
            raise item
        return item

    loop = WatchLoop(
        clock,
        deadlines,
        fetch=fetch,
        judge=lambda s: Verdict(s == "end", ExitCode.OK, f"saw {s}"),
        key=lambda s: s,
        on_change=lambda s, v: log.append(("change", (s, v.message))),
        on_refresh=lambda s, v: log.append(("refresh", (s, v.message))),
        on_transient=lambda t: log.append(("transient", (t.error, t.attempt, t.wait))),
        on_deadline=lambda at: log.append(("deadline", at)),
        **kwargs,
    )
    try:
        return loop.run(), log
    except Exception as err:
        return err, log


def test_every_callback_gets_what_happened():
    clock = EarlyClock()
    busy = throttled(None, 503)
    verdict, log = watch([None, "a", "a", busy, "end"], Deadlines(interval=10, timeout=100), clock)
    assert verdict == Verdict(True, ExitCode.OK, "saw end")
    assert log == [
        ("deadline", 1100.0),
        ("fetch", 1000.0),
        ("change", (None, "saw None")),  # a first value of None is a change like any other
        ("deadline", 1100.0),
        ("fetch", 1010.0),
        ("change", ("a", "saw a")),
        ("deadline", 1100.0),
        ("fetch", 1020.0),
        ("refresh", ("a", "saw a")),
        ("deadline", 1100.0),
        ("fetch", 1030.0),
        ("transient", (busy, 1, 20)),
        ("deadline", 1100.0),
        ("fetch", 1050.0),
        ("change", ("end", "saw end")),
    ]


def test_the_nearest_deadline_is_the_progress_deadline_counted_from_the_last_change():
    clock = EarlyClock()
    err, log = watch(["a", "a", "b", "b", "b", "b"], Deadlines(interval=10, progress_deadline=25), clock)
    assert isinstance(err, TimedOut) and err.message == "no progress within 25s; the upgrade goes on"
    assert [at for what, at in log if what == "deadline"] == [1025.0, 1025.0, 1025.0, 1045.0, 1045.0]
    # a, a at 1010, b at 1020: the wait from 1040 is cut to 5 s, and it stops at 1045 without another look
    assert clock.slept == [10, 10, 10, 10, 5]
    assert [at for what, at in log if what == "fetch"] == [1000.0, 1010.0, 1020.0, 1030.0, 1040.0]


def test_a_wait_that_ends_exactly_at_the_deadline_is_the_last():
    clock = EarlyClock()
    err, log = watch(["a", "b", "c", "d"], Deadlines(interval=10, timeout=20), clock)
    assert isinstance(err, TimedOut) and err.message == "timed out after 20s; the upgrade goes on"
    assert [at for what, at in log if what == "fetch"] == [1000.0, 1010.0]
    assert clock.slept == [10, 10]


def test_a_wait_shorter_than_a_second_is_kept_short():
    clock = EarlyClock()
    err, _ = watch(["a", "b", "c", "d"], Deadlines(interval=10, timeout=20.5), clock)
    assert isinstance(err, TimedOut)
    assert clock.slept == [10, 10, 0.5]


def test_a_timeout_shorter_than_a_second_is_checked_after_the_first_look():
    clock = ManualClock()  # monotonic time starts at zero
    err, log = watch(["a", "b"], Deadlines(interval=10, timeout=0.5), clock)
    assert isinstance(err, TimedOut)
    assert clock.slept == [0.5]
    assert [what for what, _ in log].count("fetch") == 1


def test_a_clock_that_wakes_early_never_takes_another_look_after_the_deadline():
    clock = EarlyClock(early=0.001)
    err, log = watch(["a", "b", "c", "d"], Deadlines(interval=10, timeout=25), clock)
    assert isinstance(err, TimedOut) and err.message == "timed out after 25s; the upgrade goes on"
    assert [what for what, _ in log].count("fetch") == 3


def test_a_stall_is_reported_with_the_time_since_the_last_change():
    clock = EarlyClock()
    stalls: list[float] = []

    def on_stall(seconds: float) -> TimedOut:
        stalls.append(seconds)
        return TimedOut(f"stalled for {seconds:g}s")

    err, _ = watch(
        ["a", "b", "b", "b", "b"], Deadlines(interval=10, progress_deadline=30), clock, on_stall=on_stall
    )
    assert isinstance(err, TimedOut) and err.message == "stalled for 30s"
    assert stalls == [30.0]


def test_the_watch_gives_up_after_thirty_failures_by_default():
    clock = EarlyClock()
    err, log = watch([*(throttled(None, 503) for _ in range(31)), "end"], Deadlines(interval=1), clock)
    assert isinstance(err, AzureRequestFailed) and err.status == 503
    assert [what for what, _ in log].count("transient") == 30
