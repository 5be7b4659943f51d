"""Following an upgrade: lean fetching, and reporting each change as a live view, lines or JSON events."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from vmssroll.domain.errors import ExitCode, VmssrollError
from vmssroll.domain.model import Instance, ScaleSet
from vmssroll.domain.operation import OperationStatus, operation_verdict
from vmssroll.domain.rollout import (
    InstanceSummary,
    batch_estimate,
    eta_seconds,
    state_of,
    summarize,
    watch_verdict,
)
from vmssroll.domain.unknown import Unknown, is_supplementary_failure
from vmssroll.domain.upgrade import UpgradeStatus, Verdict
from vmssroll.domain.watch import Deadlines, Transient, WatchLoop

if TYPE_CHECKING:
    from vmssroll.adapter.client import Azure
    from vmssroll.cli.common import Invocation


@dataclass
class Snapshot:
    status: UpgradeStatus | None
    instances: list[Instance]
    summary: InstanceSummary | None
    fresh_instances: bool
    unknown: Unknown | None = None  # the instances could not be listed: why (the verdict goes on without)
    operation: OperationStatus | None = None  # the started operation, read when the status could not be


# ARM tells every caller how much of its read budget is left: `x-ms-ratelimit-remaining-subscription-reads`
# (the subscription's reads in the current window) and, from Compute, `x-ms-ratelimit-remaining-resource`
# counters such as `Microsoft.Compute/HighCostGet3Min;159`. Below these floors the watch slows down, so one long
# watch never starves everything else that reads the subscription.
LOW_READS = 100
LOW_RESOURCE_CALLS = 20
MAX_PACED_INTERVAL = 300.0
PERIODIC_LISTING = 10  # with nothing moving, the instances are still listed every 10 x (pages) refreshes


def paced_interval(interval: float, remaining: dict[str, int]) -> float:
    """The time a refresh should take given Azure's remaining budgets: the interval, stretched by how far the
    lowest budget is below its floor (half the floor left: twice the interval), capped at five minutes but
    never shorter than the interval the user set."""
    factor = 1.0
    for name, left in remaining.items():
        floor = LOW_READS if name == "subscription-reads" else LOW_RESOURCE_CALLS
        if left < floor:
            factor = max(factor, floor / max(left, 1))
    return max(interval, min(interval * factor, MAX_PACED_INTERVAL))


@dataclass
class Fetcher:
    """The latest-upgrade document every refresh; the instance list only when it is worth its pages.

    Every refresh earns one request of credit beyond its latest-upgrade GET; a listing spends one request per
    page and is made only when the credit covers it (the first one, which the view needs, is an advance). A
    watch therefore averages at most two requests per refresh over its life, whatever the scale set's size. It
    lists when the upgrade's counters moved since the last listing, when the upgrade ended (the verdict needs
    fresh instances), and now and then regardless; when Azure's read budget runs low it stretches its interval
    and lists only for the verdict.
    """

    azure: Azure
    inv: Invocation
    interval: float = 10.0
    give_up_at: float | None = None  # the clock's monotonic time of --timeout: pacing never sleeps past it
    on_pace: Callable[[float, dict[str, int]], None] = lambda seconds, remaining: None
    refreshes: int = 0
    requests: int = 0
    since_listing: int = 0
    instances: list[Instance] = field(default_factory=list)
    summary: InstanceSummary | None = None
    listed_counts: Any = None
    paced: float | None = None
    unknown: Unknown | None = None

    @property
    def credit(self) -> int:
        """Requests still spendable while averaging at most two per refresh."""
        return 2 * self.refreshes - self.requests

    def __call__(self) -> Snapshot:
        self._pace()
        self.refreshes += 1
        self.requests += 1
        status = self.azure.latest_upgrade(self.inv.target)
        self.since_listing += 1
        counts = None if status is None else (status.code, status.last_action, status.progress)
        pages = max(1, self.azure.last_listing_pages)
        terminal = status is None or not status.running
        moved = counts != self.listed_counts
        low = self.paced is not None
        wanted = terminal or (not low and (moved or self.since_listing >= PERIODIC_LISTING * pages))
        if (self.summary is None and self.unknown is None) or (wanted and self.credit >= pages):
            listed = self.azure.instances_or_unknown(self.inv.target, transient=False)
            self.requests += self.azure.last_listing_pages
            self.unknown = listed if isinstance(listed, Unknown) else None
            self.instances = [] if isinstance(listed, Unknown) else listed
            self.summary = None if isinstance(listed, Unknown) else summarize(listed)
            self.since_listing = 0
            self.listed_counts = counts
        return Snapshot(status, self.instances, self.summary, self.since_listing == 0, self.unknown)

    def _pace(self) -> None:
        """Before a request: wait longer than the interval while Azure says its read budget is low."""
        remaining = dict(getattr(self.azure, "rate_limits", None) or {})
        wanted = paced_interval(self.interval, remaining)
        paced = wanted if wanted > self.interval else None
        if (paced is None) != (self.paced is None):
            self.on_pace(wanted, remaining)  # said when slowing down starts and when it ends
        self.paced = paced
        if paced is not None and self.refreshes:
            extra = paced - self.interval  # the watch loop already waited the interval
            if self.give_up_at is not None:
                extra = min(extra, max(0.0, self.give_up_at - self.inv.env.clock.monotonic()))
            self.inv.env.clock.sleep(extra)


class Reporter:
    """Turns each change into output: a Rich Live view on a terminal, lines without one, JSON with -o json."""

    def __init__(
        self, inv: Invocation, scale_set: ScaleSet, events_file: Path | IO[str] | None, interval: float = 10.0
    ) -> None:
        self.inv = inv
        self.interval = interval
        self.scale_set = scale_set
        self.events = (
            events_file.open("a", encoding="utf-8") if isinstance(events_file, Path) else events_file
        )
        self.owns_events = isinstance(events_file, Path)
        self.live: Any = None
        self.notice: str | None = None
        self.pace_notice: str | None = None
        self.previous_states: dict[str, str] = {}
        self.recent: list[str] = []
        self.last: tuple[Snapshot, Verdict] | None = None
        self.unknown_said: Unknown | None = None

    def __enter__(self) -> Reporter:
        if self.inv.out.terminal and not self.inv.json:
            from rich.live import Live

            self.live = Live(console=self.inv.out.stdout, auto_refresh=False, transient=False)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)
        if self.events and self.owns_events:
            self.events.close()

    def _emit(self, doc: dict[str, Any]) -> None:
        from vmssroll.ui.console import json_default, redact

        if self.events and not (self.inv.json and self.events is self.inv.env.stdout):
            self.events.write(
                redact(json.dumps(doc, default=json_default, separators=(",", ":"), ensure_ascii=False))
                + "\n"
            )
            self.events.flush()
        if self.inv.json:
            self.inv.out.event(doc)

    def change(self, snap: Snapshot, verdict: Verdict) -> None:
        from vmssroll.ui.watch import event, one_line

        now = self.inv.env.clock.utcnow()
        if snap.fresh_instances:
            states = {i.instance_id: state_of(i) for i in snap.instances}
            moved = [k for k, v in states.items() if self.previous_states.get(k) not in (None, v)]
            self.recent = (moved + self.recent)[:8]
            self.previous_states = states
        self.notice = None if snap.unknown is None else snap.unknown.line()
        self.last = (snap, verdict)
        batch = batch_estimate(snap.status, self.scale_set.capacity) if snap.status else None
        kind = "done" if verdict.done else "status"
        missing = (
            None
            if snap.unknown is None
            else {"instances": None, "unknown": {"instances": snap.unknown.reason}}
        )
        self._emit(
            event(
                kind,
                now,
                status=snap.status,
                verdict=verdict,
                summary=snap.summary,
                batch=batch,
                extra=missing,
            )
        )
        if (
            snap.unknown is not None
            and snap.unknown != self.unknown_said
            and self.live is None
            and not self.inv.json
        ):
            self.inv.out.note(snap.unknown.line())
        self.unknown_said = snap.unknown
        if self.live is not None:
            self._redraw()
        elif not self.inv.json:
            self.inv.out.stdout.print(
                one_line(now, snap.status, verdict, batch, name=self.scale_set.name), markup=False
            )

    def transient(self, t: Transient) -> None:
        from vmssroll.ui.watch import event

        err = t.error
        what = f"{err.status} {err.code}" if err.status else "no answer"
        self.notice = f"Azure: {what}; retrying in {t.wait:.0f}s (attempt {t.attempt})"
        now = self.inv.env.clock.utcnow()
        self._emit(
            event("retry", now, extra={"error": err.code, "httpStatus": err.status, "retryIn": t.wait})
        )
        if self.live is not None:
            self._redraw()
        elif not self.inv.json:
            self.inv.out.note(f"{now.strftime('%Y-%m-%dT%H:%M:%SZ')} {self.notice}")

    def pace(self, seconds: float, remaining: dict[str, int]) -> None:
        """Azure's read budget ran low (or recovered): say how often the watch now refreshes."""
        from vmssroll.ui.watch import event

        lowest = min(remaining.items(), key=lambda kv: kv[1], default=None)
        slow = seconds > self.interval
        self.pace_notice = (
            f"Azure's read budget is low ({lowest[1]} {lowest[0]} left): refreshing every {seconds:.0f}s"
            if slow and lowest
            else None
        )
        now = self.inv.env.clock.utcnow()
        self._emit(event("pace", now, extra={"interval": seconds, "rateLimitRemaining": remaining}))
        if self.live is not None:
            self._redraw()
        elif not self.inv.json:
            text = self.pace_notice or f"Azure's read budget recovered: refreshing every {seconds:.0f}s"
            self.inv.out.note(f"{now.strftime('%Y-%m-%dT%H:%M:%SZ')} {text}")

    def _redraw(self) -> None:
        from vmssroll.ui.watch import view

        if self.last is None:
            return
        snap, verdict = self.last
        now = self.inv.env.clock.utcnow()
        status = snap.status
        self.live.update(
            view(
                name=self.scale_set.name,
                status=status,
                verdict=verdict,
                summary=snap.summary,
                instances=snap.instances,
                recent=self.recent,
                batch=batch_estimate(status, self.scale_set.capacity) if status else None,
                now=now,
                eta=eta_seconds(status, now) if status else None,
                notice=self.notice or self.pace_notice,
            ),
            refresh=True,
        )


def follow(
    inv: Invocation,
    deadlines: Deadlines,
    *,
    events_file: Path | IO[str] | None = None,
    quiet: bool = False,
    operation: str | None = None,
) -> tuple[Verdict, Snapshot | None]:
    """Watch the latest upgrade to its end; Ctrl-C stops watching and never cancels anything.

    With `operation` (the URL of the operation a start got), the operation decides whenever the upgrade status
    cannot be read (404 before it exists, or any failure)."""
    reads = inv.azure(retries=False)
    clock = inv.env.clock
    give_up_at = None if deadlines.timeout is None else clock.monotonic() + deadlines.timeout
    first = inv.azure()
    first.set_deadline(clock, give_up_at)  # every request ends by the deadline, whatever the server does
    scale_set = first.scale_set(inv.target)  # once, before the loop: with the SDK's retries
    reads.scale_set_exists(inv.target, scale_set)
    # the scale-set GET counts in the request budget too
    fetch = Fetcher(reads, inv, interval=deadlines.interval, give_up_at=give_up_at, requests=1)
    mode = scale_set.upgrade_policy.mode
    last: list[Snapshot] = []

    def judge(snap: Snapshot) -> Verdict:
        last[:] = [snap]
        if snap.operation is not None:
            return operation_verdict(snap.operation)
        return watch_verdict(snap.status, snap.summary, mode)

    def fetch_or_operation() -> Snapshot:
        try:
            snap = fetch()
        except VmssrollError as err:
            if operation is None or not is_supplementary_failure(err):
                raise
            snap = Snapshot(None, [], None, False, Unknown.of("upgrade status", "reading", err))
        if operation is not None and snap.status is None:
            snap.operation = reads.operation_status(operation)
        return snap

    def key(snap: Snapshot) -> object:
        s = snap.status
        return (
            (None if snap.operation is None else snap.operation.status)
            if s is None
            else (s.code, s.last_action, s.progress, s.error_code, bool(snap.summary and snap.summary.behind))
        )

    try:
        with Reporter(inv, scale_set, events_file, deadlines.interval) as report:
            if not quiet:
                fetch.on_pace = report.pace
            loop = WatchLoop(
                inv.env.clock,
                deadlines,
                fetch=fetch if operation is None else fetch_or_operation,
                judge=judge,
                key=key,
                on_change=(lambda s, v: None) if quiet else report.change,
                on_transient=(lambda t: None) if quiet else report.transient,
                on_deadline=lambda at: reads.set_deadline(clock, at),
            )
            verdict = loop.run()
    except KeyboardInterrupt as interrupt:
        inv.out.note(
            f"Stopped watching; nothing was cancelled and the upgrade goes on. "
            f"Resume with: vmssroll watch {inv.target.args()}"
        )
        interrupt.vmssroll_said = True  # type: ignore[attr-defined]  # the boundary does not say it again
        raise
    return verdict, (last[0] if last else None)


__all__ = ["ExitCode", "Fetcher", "Reporter", "Snapshot", "follow"]
