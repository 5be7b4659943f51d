"""Following an upgrade: lean fetching, and reporting each change as a live view, lines or JSON events."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vmssroll.domain.errors import ExitCode
from vmssroll.domain.model import Instance, ScaleSet
from vmssroll.domain.rollout import (
    InstanceSummary,
    batch_estimate,
    eta_seconds,
    state_of,
    summarize,
    watch_verdict,
)
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


@dataclass
class Fetcher:
    """The latest-upgrade document every refresh; the instance list only when it is worth its pages.

    A listing costs one request per page, so after a listing of P pages the next waits at least P refreshes:
    a watch then averages at most two requests per refresh, whatever the scale set's size.
    """

    azure: Azure
    inv: Invocation
    refreshes: int = 0
    since_listing: int = 0
    instances: list[Instance] = field(default_factory=list)
    summary: InstanceSummary | None = None
    last_counts: Any = None

    def __call__(self) -> Snapshot:
        status = self.azure.latest_upgrade(self.inv.target)
        self.refreshes += 1
        self.since_listing += 1
        counts = None if status is None else (status.code, status.last_action, status.progress)
        pages = self.azure.last_listing_pages
        moved = counts != self.last_counts
        terminal = status is None or not status.running
        due = self.summary is None or (self.since_listing >= pages and (moved or terminal))
        if due or self.since_listing >= 10 * pages:
            self.instances = self.azure.instances(self.inv.target)
            self.summary = summarize(self.instances)
            self.since_listing = 0
        self.last_counts = counts
        return Snapshot(status, self.instances, self.summary, self.since_listing == 0)


class Reporter:
    """Turns each change into output: a Rich Live view on a terminal, lines without one, JSON with -o json."""

    def __init__(self, inv: Invocation, scale_set: ScaleSet, events_file: Path | None) -> None:
        self.inv = inv
        self.scale_set = scale_set
        self.events = events_file.open("a", encoding="utf-8") if events_file else None
        self.live: Any = None
        self.notice: str | None = None
        self.previous_states: dict[str, str] = {}
        self.recent: list[str] = []
        self.last: tuple[Snapshot, Verdict] | None = None

    def __enter__(self) -> Reporter:
        if self.inv.out.terminal and not self.inv.json:
            from rich.live import Live

            self.live = Live(console=self.inv.out.stdout, auto_refresh=False, transient=False)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)
        if self.events:
            self.events.close()

    def _emit(self, doc: dict[str, Any]) -> None:
        from vmssroll.ui.console import _json_default

        if self.events:
            self.events.write(json.dumps(doc, default=_json_default, separators=(",", ":")) + "\n")
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
        self.notice = None
        self.last = (snap, verdict)
        batch = batch_estimate(snap.status, self.scale_set.capacity) if snap.status else None
        kind = "done" if verdict.done else "status"
        self._emit(event(kind, now, status=snap.status, verdict=verdict, summary=snap.summary, batch=batch))
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
                notice=self.notice,
            ),
            refresh=True,
        )


def follow(
    inv: Invocation, deadlines: Deadlines, *, events_file: Path | None = None, quiet: bool = False
) -> tuple[Verdict, Snapshot | None]:
    """Watch the latest upgrade to its end; Ctrl-C stops watching and never cancels anything."""
    reads = inv.azure(retries=False)
    scale_set = reads.scale_set(inv.target)
    fetch = Fetcher(reads, inv)
    mode = scale_set.upgrade_policy.mode
    last: list[Snapshot] = []

    def judge(snap: Snapshot) -> Verdict:
        last[:] = [snap]
        return watch_verdict(snap.status, snap.summary, mode)

    def key(snap: Snapshot) -> object:
        s = snap.status
        return (
            None
            if s is None
            else (s.code, s.last_action, s.progress, s.error_code, bool(snap.summary and snap.summary.behind))
        )

    try:
        with Reporter(inv, scale_set, events_file) as report:
            loop = WatchLoop(
                inv.env.clock,
                deadlines,
                fetch=fetch,
                judge=judge,
                key=key,
                on_change=(lambda s, v: None) if quiet else report.change,
                on_transient=(lambda t: None) if quiet else report.transient,
            )
            verdict = loop.run()
    except KeyboardInterrupt:
        inv.out.note(
            f"Stopped watching; nothing was cancelled and the upgrade goes on. "
            f"Resume with: vmssroll watch {inv.target.args()}"
        )
        raise
    return verdict, (last[0] if last else None)


__all__ = ["ExitCode", "Fetcher", "Reporter", "Snapshot", "follow"]
