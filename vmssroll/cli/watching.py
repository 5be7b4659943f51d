"""Following an upgrade: one latest-upgrade read per refresh, the instances on a budget, one sink per output
mode."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from vmssroll.domain.clock import Clock
from vmssroll.domain.errors import AzureRequestFailed, ExitCode, NotFound, TimedOut, VmssrollError
from vmssroll.domain.model import Health, Instance, ScaleSet
from vmssroll.domain.operation import OperationStatus, operation_verdict
from vmssroll.domain.rollout import (
    BatchEstimate,
    InstanceSummary,
    Outset,
    batch_estimate,
    eta_seconds,
    in_flight,
    outset,
    state_of,
    summarize,
    watch_verdict,
    zone_sizes,
)
from vmssroll.domain.target import ScaleSetRef
from vmssroll.domain.unknown import Unknown, is_supplementary_failure
from vmssroll.domain.upgrade import UpgradeStatus, Verdict
from vmssroll.domain.watch import Deadlines, Pacer, Reading, Transient, WatchLoop

if TYPE_CHECKING:
    from vmssroll.adapter.client import Azure
    from vmssroll.adapter.parallel import Outcome
    from vmssroll.cli.common import Invocation

STALL_LISTING_TIME = 30.0  # what the listing that names the stuck instances may take, past the deadline
PERIODIC_LISTING = 10  # with nothing moving, the instances are still listed every 10 x (pages) refreshes


@dataclass(frozen=True)
class Listing:
    """The instances as listed at `at` (Azure's clock), while the upgrade was `running` or not."""

    instances: tuple[Instance, ...]
    summary: InstanceSummary
    at: datetime
    running: bool
    pages: int
    waiting_since: Mapping[str, tuple[str, datetime]]  # instances not settled: (why, first seen so)


@dataclass(frozen=True)
class Snapshot:
    """One refresh: Azure's status (the verdict's only source) and the latest listing, however old."""

    status: UpgradeStatus | None
    at: datetime  # Azure's clock at this refresh (the local clock when Azure sent no `Date`)
    listing: Listing | None
    fresh: bool  # the listing was made in this refresh
    unknown: Unknown | None = None  # the last listing failed: why (the verdict goes on without it)
    operation: OperationStatus | None = None  # the started operation, read when the status could not be

    @property
    def age(self) -> float | None:
        """Seconds between the listing and this refresh."""
        return None if self.listing is None else max(0.0, (self.at - self.listing.at).total_seconds())

    @property
    def stale(self) -> bool:
        """The listing predates the end of the upgrade: its instance counts are from before it ended."""
        running = self.status is not None and self.status.running
        return self.listing is not None and self.listing.running and not running

    # for callers that only want the instances
    @property
    def instances(self) -> tuple[Instance, ...]:
        return () if self.listing is None else self.listing.instances

    @property
    def summary(self) -> InstanceSummary | None:
        return None if self.listing is None else self.listing.summary


@dataclass
class Fetcher:
    """The latest-upgrade document every refresh; the instance list only when it is worth its pages.

    The pacer's budget pays for listings: the first is an advance (the view needs it), the next wait until the
    refreshes since have earned their pages, so a watch averages at most two requests per refresh whatever the
    scale set's size. It lists when the upgrade's counters moved since the last listing, now and then
    regardless, and at the end only if already paid for: nothing about instances delays the verdict. Without
    `list_instances` (wait) it lists once, on the first refresh, and only when no upgrade is running then
    (whether instances are behind decides what that means).
    """

    azure: Azure
    ref: ScaleSetRef
    pacer: Pacer
    clock: Clock
    list_instances: bool = True
    listing: Listing | None = None
    listed_counts: Any = None
    since_listing: int = 0
    unknown: Unknown | None = None
    attempts: int = 0

    def __call__(self) -> Snapshot:
        from vmssroll.adapter.parallel import outcome, together

        listed: Outcome[Reading[list[Instance]]] | None = None
        self.attempts += 1
        if self._wanted_whatever_the_status():  # both reads at once (issue 19): the listing waits for nothing
            reading, listed = together(
                lambda: self.azure.latest_reading(self.ref),
                lambda: outcome(lambda: self.azure.instances_reading(self.ref)),
            )
        else:
            reading = self.azure.latest_reading(self.ref)
        self.pacer.refreshed(reading)
        status = reading.value
        at = reading.server_time or self.clock.utcnow()
        self.since_listing += 1
        counts = None if status is None else (status.code, status.last_action, status.progress)
        fresh = False
        if listed is not None or self._wanted(status, counts):
            self.listed_counts = counts
            fresh = self._try_listing(running=status is not None and status.running, at=at, listed=listed)
        return Snapshot(status, at, self.listing, fresh, self.unknown)

    def _wanted_whatever_the_status(self) -> bool:
        """The first refresh of a watch that lists: it lists whatever the status says, so its pages go with
        the status read instead of after it. Later listings depend on what the status says; and should the
        first status read fail, its retries list after it, so failures never cost a listing each."""
        return self.attempts == 1 and self.list_instances and self.listing is None and self.unknown is None

    def _try_listing(
        self, *, running: bool, at: datetime, listed: Outcome[Reading[list[Instance]]] | None = None
    ) -> bool:
        """A supplementary read: when it fails, the instances are unknown (and why) until the next listing."""
        try:
            self.list(running=running, at=at, listed=listed)
        except VmssrollError as err:
            if not is_supplementary_failure(err):
                raise
            self.pacer.spent(Reading(None))
            if isinstance(err, AzureRequestFailed) and err.retry_after:
                self.pacer.hold(err.retry_after)
            self.since_listing = 0
            self.unknown = Unknown.of("instances", "listing", err)
            return False
        self.unknown = None
        return True

    def _wanted(self, status: UpgradeStatus | None, counts: object) -> bool:
        running = status is not None and status.running
        if self.listing is None and self.unknown is None:
            return self.list_instances or (self.pacer.refreshes == 1 and not running)
        pages = self.listing.pages if self.listing else 1
        if not self.list_instances or not self.pacer.affords(pages):
            return False
        if not running:
            return True  # the end, already paid for
        if self.pacer.slowed:
            return False  # Azure's read budget is low: only the verdict's reads
        return counts != self.listed_counts or self.since_listing >= PERIODIC_LISTING * pages

    def list(
        self,
        *,
        running: bool,
        at: datetime | None = None,
        listed: Outcome[Reading[list[Instance]]] | None = None,
    ) -> Listing:
        """List the instances now, or take the listing already made alongside the status (`listed`)."""
        reading = listed.get() if listed is not None else self.azure.instances_reading(self.ref)
        self.pacer.spent(reading)
        when = reading.server_time or at or self.clock.utcnow()
        before = self.listing.waiting_since if self.listing else {}
        since = {}
        for inst in reading.value:
            why = unsettled(inst)
            if why is not None:
                seen = before.get(inst.instance_id)
                since[inst.instance_id] = seen if seen and seen[0] == why else (why, when)
        self.listing = Listing(
            tuple(reading.value), summarize(reading.value), when, running, reading.pages, since
        )
        self.since_listing = 0
        return self.listing


# Output -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """Everything a sink shows of one refresh."""

    name: str
    snap: Snapshot
    verdict: Verdict
    batch: BatchEstimate | None
    eta: float | None
    recent: tuple[str, ...]
    notice: str | None


class Sink(Protocol):
    """One output mode: a live view, lines, or JSON events."""

    def change(self, frame: Frame) -> None:
        """The upgrade moved (or ended)."""

    def refresh(self, frame: Frame) -> None:
        """Nothing moved; the tables' age (or the tables) changed."""

    def notice(self, kind: str, at: datetime, text: str, extra: dict[str, Any]) -> None:
        """A retry or a change of pace."""

    def failed(self, err: VmssrollError) -> None:
        """The watch ends on a failure (its `error:` line and JSON document come from the error boundary)."""

    def close(self) -> None: ...


class EventSink:
    """JSON Lines events: on stdout with -o json, and into the --events file."""

    def __init__(self, write: Any) -> None:
        self.write = write

    def change(self, frame: Frame) -> None:
        from vmssroll.ui.watch import event

        snap = frame.snap
        self.write(
            event(
                "done" if frame.verdict.done else "status",
                snap.at,
                status=snap.status,
                verdict=frame.verdict,
                summary=None if snap.unknown else snap.summary,
                batch=frame.batch,
                extra=_instances_extra(snap),
            )
        )

    def refresh(self, frame: Frame) -> None:
        pass

    def notice(self, kind: str, at: datetime, text: str, extra: dict[str, Any]) -> None:
        from vmssroll.ui.watch import event

        self.write(event(kind, at, extra=extra))

    def failed(self, err: VmssrollError) -> None:
        pass  # on stdout, the error boundary ends the stream with the error event

    def close(self) -> None:
        pass


def _instances_extra(snap: Snapshot) -> dict[str, Any] | None:
    if snap.unknown is not None:
        return {"instances": None, "unknown": {snap.unknown.part: snap.unknown.reason}}
    if snap.listing is None:
        return None
    return {"instancesAsOf": snap.listing.at, "instancesStale": snap.stale}


class FileSink(EventSink):
    """--events: a file this sink opened (and closes), or a stream the caller owns (`-`: stdout)."""

    def __init__(self, target: Path | IO[str]) -> None:
        self.owns = isinstance(target, Path)
        self.file: IO[str] = target.open("a", encoding="utf-8") if isinstance(target, Path) else target
        super().__init__(self._line)

    def failed(self, err: VmssrollError) -> None:
        self._line({"event": "error", **err.to_json()})  # the file's stream ends with it, as stdout's does

    def _line(self, doc: dict[str, Any]) -> None:
        from vmssroll.ui.console import json_default, redact

        line = json.dumps(doc, default=json_default, separators=(",", ":"), ensure_ascii=False)
        self.file.write(redact(line) + "\n")
        self.file.flush()

    def close(self) -> None:
        if self.owns:
            self.file.close()


class LineSink:
    """One timestamped line per change on stdout, notices on stderr: for pipes, logs and dumb terminals."""

    def __init__(self, inv: Invocation) -> None:
        self.out = inv.out
        self.unknown_said: Unknown | None = None

    def change(self, frame: Frame) -> None:
        from vmssroll.ui.watch import one_line

        snap = frame.snap
        if snap.unknown is not None and snap.unknown != self.unknown_said:
            self.out.note(snap.unknown.line())  # once, not every refresh
        self.unknown_said = snap.unknown
        line = one_line(snap.at, snap.status, frame.verdict, frame.batch, name=frame.name)
        self.out.stdout.print(line, markup=False, soft_wrap=True)

    def refresh(self, frame: Frame) -> None:
        pass

    def notice(self, kind: str, at: datetime, text: str, extra: dict[str, Any]) -> None:
        from vmssroll.ui.tables import stamp

        self.out.note(f"{stamp(at)} {text}")

    def failed(self, err: VmssrollError) -> None:
        pass

    def close(self) -> None:
        pass


class LiveSink:
    """A Rich Live view redrawn in place on every refresh."""

    def __init__(self, inv: Invocation, scale_set: ScaleSet) -> None:
        from rich.live import Live

        self.scale_set = scale_set
        # Rich redraws the last frame twice a second at the terminal's current size: a resized terminal gets a
        # view that fits it at once, not at the next refresh (which may be --interval away).
        self.live = Live(console=inv.out.stdout, auto_refresh=True, refresh_per_second=2, transient=False)
        self.live.__enter__()
        self.last: Frame | None = None
        self.note: str | None = None

    def change(self, frame: Frame) -> None:
        self.note = None
        self.refresh(frame)

    def refresh(self, frame: Frame) -> None:
        self.last = frame
        self._draw()

    def notice(self, kind: str, at: datetime, text: str, extra: dict[str, Any]) -> None:
        self.note = text if kind == "retry" else self.note
        self._draw()

    def _draw(self) -> None:
        from vmssroll.ui.watch import view

        frame = self.last
        if frame is None:
            return
        snap = frame.snap
        self.live.update(
            view(
                name=frame.name,
                status=snap.status,
                verdict=frame.verdict,
                summary=snap.summary,
                instances=snap.instances,
                recent=frame.recent,
                batch=frame.batch,
                now=snap.at,
                eta=frame.eta,
                notice=self.note or (snap.unknown.line() if snap.unknown else None) or frame.notice,
                age=snap.age,
                stale=snap.stale,
            ),
            refresh=True,
        )

    def failed(self, err: VmssrollError) -> None:
        pass

    def close(self) -> None:
        self.live.__exit__(None, None, None)


@dataclass
class Reporter:
    """Turns refreshes into frames and hands them to every sink."""

    scale_set: ScaleSet
    pacer: Pacer
    sinks: list[Sink] = field(default_factory=list)
    previous_states: dict[str, str] = field(default_factory=dict)
    recent: tuple[str, ...] = ()
    slowed: bool = False
    pace_notice: str | None = None

    def change(self, snap: Snapshot, verdict: Verdict) -> None:
        frame = self._frame(snap, verdict)
        for sink in self.sinks:
            sink.change(frame)

    def refresh(self, snap: Snapshot, verdict: Verdict) -> None:
        frame = self._frame(snap, verdict)
        for sink in self.sinks:
            sink.refresh(frame)

    def _frame(self, snap: Snapshot, verdict: Verdict) -> Frame:
        if snap.fresh and snap.listing is not None:
            states = {i.instance_id: state_of(i) for i in snap.listing.instances}
            moved = [k for k, v in states.items() if self.previous_states.get(k) not in (None, v)]
            self.recent = tuple([*moved, *self.recent][:8])
            self.previous_states = states
        self._pace(snap.at)
        status = snap.status
        return Frame(
            name=self.scale_set.name,
            snap=snap,
            verdict=verdict,
            batch=self._batch(status, snap),
            eta=eta_seconds(status, snap.at) if status else None,
            recent=self.recent,
            notice=self.pace_notice,
        )

    def _batch(self, status: UpgradeStatus | None, snap: Snapshot) -> BatchEstimate | None:
        """Batch N of M as `plan` cuts it: per zone when the set is zonal and the listing shows its zones."""
        if status is None:
            return None
        listed = snap.listing.instances if snap.listing is not None else ()
        zones = zone_sizes(status, self.scale_set.zones, listed) if listed else None
        return batch_estimate(status, self.scale_set.capacity, zones)

    def _pace(self, at: datetime) -> None:
        """Say when Azure's read budget runs low (the watch slows down) and when it recovers."""
        if self.pacer.slowed == self.slowed:
            return
        self.slowed = self.pacer.slowed
        seconds, remaining = self.pacer.paced, dict(self.pacer.remaining)
        lowest = min(remaining.items(), key=lambda kv: kv[1], default=None)
        if self.slowed and lowest:
            text = (
                f"Azure's read budget is low ({lowest[1]} {lowest[0]} left): refreshing every {seconds:.0f}s"
            )
            self.pace_notice = text
        else:
            text = f"Azure's read budget recovered: refreshing every {seconds:.0f}s"
            self.pace_notice = None
        for sink in self.sinks:
            sink.notice("pace", at, text, {"interval": seconds, "rateLimitRemaining": remaining})

    def transient(self, t: Transient, at: datetime) -> None:
        err = t.error
        what = f"{err.status} {err.code}" if err.status else "no answer"
        text = f"Azure: {what}; retrying in {t.wait:.0f}s (attempt {t.attempt})"
        extra = {"error": err.code, "httpStatus": err.status, "retryIn": t.wait}
        for sink in self.sinks:
            sink.notice("retry", at, text, extra)

    def failed(self, err: VmssrollError) -> None:
        for sink in self.sinks:
            sink.failed(err)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()


def sinks_for(
    inv: Invocation, scale_set: ScaleSet, events_file: Path | IO[str] | None, quiet: bool
) -> list[Sink]:
    """One sink per output mode: JSON events (-o json), a live view (a terminal Rich can drive), or lines;
    and the --events file (not a second copy when it is stdout and the events go there already)."""
    duplicate = inv.json and not quiet and events_file is inv.env.stdout
    sinks: list[Sink] = [FileSink(events_file)] if events_file and not duplicate else []
    if quiet:
        return sinks
    if inv.json:
        sinks.append(EventSink(inv.out.event))
    elif inv.out.terminal and not inv.out.stdout.is_dumb_terminal:
        sinks.append(LiveSink(inv, scale_set))
    else:
        sinks.append(LineSink(inv))
    return sinks


# The watch -------------------------------------------------------------------------------------------------


def follow(
    inv: Invocation,
    deadlines: Deadlines,
    *,
    events_file: Path | IO[str] | None = None,
    quiet: bool = False,
    instances: bool | None = None,
    operation: str | None = None,
    intervene: Callable[[Snapshot, Verdict], Verdict | None] | None = None,
) -> tuple[Verdict, Snapshot | None]:
    """Watch the latest upgrade to its end; Ctrl-C stops watching and never cancels anything.

    The verdict comes from Azure's status alone and is returned on the refresh that first reads a terminal
    state. `instances` lists the instances on a budget (default: unless `quiet`). With `operation` (the URL of
    the operation a start got), the operation decides whenever the upgrade status cannot be read (404 before
    it exists, or any failure). `intervene` sees every refresh with its verdict and may end the watch early
    with a verdict of its own (a rollout's checkpoints and gates).
    """
    inv.out.streaming = inv.json and not quiet  # a failure from here on ends the JSON Lines stream
    from vmssroll.adapter.parallel import outcome, together

    reads = inv.azure(retries=False)
    clock = inv.env.clock
    give_up_at = None if deadlines.timeout is None else clock.monotonic() + deadlines.timeout
    first = inv.azure()
    reads.shares_reads_with(first)  # the first refresh, sent with the scale-set read, waits for it if need be
    first.set_deadline(clock, give_up_at)  # every request ends by the deadline, whatever the server does
    reads.set_deadline(clock, _first_deadline(deadlines, clock.monotonic()))  # the loop's, as it will set it
    pacer = Pacer(deadlines.interval, requests=1)  # the scale-set GET counts in the request budget too
    listing = (not quiet) if instances is None else instances
    fetch = Fetcher(reads, inv.target, pacer, clock, list_instances=listing)
    start: list[Outset | None] = []
    last: list[Snapshot] = []

    def judge(snap: Snapshot) -> Verdict:
        if not start:  # the first refresh: did the latest upgrade end while instances are behind the model?
            start.append(outset(snap.status, snap.summary, mode, inv.target.args()))
        last[:] = [snap]
        if snap.operation is not None:
            found = operation_verdict(snap.operation)
        else:
            found = watch_verdict(snap.status, start[0], clock.monotonic() - began)
        return (intervene(snap, found) or found) if intervene is not None else found

    def fetch_or_operation() -> Snapshot:
        try:
            snap = fetch()
        except VmssrollError as err:
            if operation is None or not is_supplementary_failure(err):
                raise
            snap = Snapshot(
                None, clock.utcnow(), fetch.listing, False, Unknown.of("upgrade status", "reading", err)
            )
        if operation is not None and snap.status is None:
            snap = replace(snap, operation=reads.operation_status(operation))
        return snap

    # The scale set, once, with the SDK's retries, and the first refresh at the same time (issue 19); the
    # refresh's outcome, failure included, is the loop's first, unless its 404 needed to know the scale set.
    loop_fetch = fetch if operation is None else fetch_or_operation
    scale_set, early = together(lambda: first.scale_set(inv.target), lambda: outcome(loop_fetch))
    reads.scale_set_exists(inv.target, scale_set)
    pending = [] if isinstance(early.error, NotFound) else [early]
    mode = scale_set.upgrade_policy.mode
    began = clock.monotonic()

    def first_refresh_then_fetch() -> Snapshot:
        return pending.pop().get() if pending else loop_fetch()

    def key(snap: Snapshot) -> object:
        s = snap.status
        if s is None:
            return None if snap.operation is None else snap.operation.status
        return (s.code, s.start_time, s.last_action, s.progress, s.error_code)

    def stalled(_: float) -> TimedOut:
        limit = _human(deadlines.progress_deadline or 0)
        return TimedOut(f"no progress within {limit}; the upgrade goes on{_stuck(fetch, last)}")

    report = Reporter(scale_set, pacer, sinks_for(inv, scale_set, events_file, quiet))
    try:
        loop = WatchLoop(
            clock,
            deadlines,
            fetch=first_refresh_then_fetch,
            judge=judge,
            key=key,
            on_change=report.change,
            on_refresh=report.refresh,
            on_transient=lambda t: report.transient(t, clock.utcnow()),
            pacer=pacer,
            on_stall=stalled,
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
    except VmssrollError as err:
        report.failed(err)
        raise
    finally:
        report.close()
    if instances and last and (last[0].listing is None or last[0].stale):
        # asked for the instances: one listing after the verdict, so the report is not from before the end
        try:
            last[0] = replace(last[0], listing=fetch.list(running=False), fresh=True)
        except AzureRequestFailed as err:
            inv.out.warn(f"the instances could not be listed after the upgrade ended: {err.message}")
    return verdict, (last[0] if last else None)


def _first_deadline(deadlines: Deadlines, now: float) -> float | None:
    """The nearest deadline at the start of a watch, as the loop sets it before each refresh."""
    found = [d for d in (deadlines.timeout, deadlines.progress_deadline) if d is not None]
    return now + min(found) if found else None


def unsettled(inst: Instance) -> str | None:
    """Why an instance holds up its batch: being updated, or on the new model awaiting a health signal."""
    if in_flight(inst):
        return "updating"
    if inst.latest_model_applied is False:
        return None
    if inst.health is Health.INITIALIZING:
        return "initializing"
    return "no health signal" if inst.health in (Health.SILENT, Health.UNKNOWN) else None


def _stuck(fetch: Fetcher, last: list[Snapshot]) -> str:
    """`; not moving: 3 updating since 09:02:10Z or earlier, ...` from a listing made now."""
    running = bool(last and last[0].status and last[0].status.running)
    fetch.azure.set_deadline(fetch.clock, fetch.clock.monotonic() + STALL_LISTING_TIME)  # past the deadline
    try:
        listing = fetch.listing if last and last[0].fresh else fetch.list(running=running)
    except AzureRequestFailed as err:
        return f"; which instances are stuck is unknown ({err.message})"
    if listing is None or not listing.waiting_since:
        return "; no instance is in flight or waiting for its health"
    items = sorted(listing.waiting_since.items(), key=lambda kv: (kv[1][1], kv[0]))
    named = ", ".join(f"{i} {why} since {t.strftime('%H:%M:%SZ')} or earlier" for i, (why, t) in items[:10])
    more = f" and {len(items) - 10} more" if len(items) > 10 else ""
    return f"; not moving: {named}{more}"


def _human(seconds: float) -> str:
    from vmssroll.domain.durations import human

    return human(seconds)


__all__ = ["ExitCode", "Fetcher", "Reporter", "Snapshot", "follow"]
