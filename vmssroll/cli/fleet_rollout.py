"""`vmssroll fleet rollout FILE`: one change through many scale sets, wave after wave.

domain/fleetrun.py decides; this module reads, writes and waits. Each set is changed as `rollout` changes one
(one PATCH of the image and the rollout record with If-Match, or the record then the OS or extension action)
and followed through its latest upgrade; the fleet's gates run between refreshes and through each wave's bake.
Each set's progress is its rollout record (id `fleet:<name>`), so a rerun continues where a run stopped, and
of two runners only one can claim a set (If-Match: the other gets 412 and follows what the first started).
Only active sets are polled, each subscription paced by its own remaining read budget.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer

from vmssroll.cli.common import Invocation, YesOpt
from vmssroll.cli.fleet import FleetRun, fleet_command
from vmssroll.cli.upgrades import IntervalOpt
from vmssroll.domain.durations import human
from vmssroll.domain.errors import AzureRequestFailed, Conflict, ExitCode, NotReady
from vmssroll.domain.fleetrun import (
    ACTIVE,
    Next,
    Seen,
    SetRow,
    SetState,
    WaveSpec,
    current_wave,
    decide,
    fleet_interval,
    from_record,
    observe,
    summary,
    written,
)
from vmssroll.domain.progressive import Gates, Kind, Phase, Record, writable_image

if TYPE_CHECKING:
    from vmssroll.adapter.client import Azure
    from vmssroll.domain.fleet import Fleet, Member, WavePlan
    from vmssroll.domain.model import ScaleSet
    from vmssroll.domain.target import ScaleSetRef

START_GRACE = 600.0  # a change's write (up to 3 min in Rolling mode) plus the time Azure takes to start it


@dataclass
class SetRun:
    """One scale set of the fleet, as this run knows it."""

    member: Member
    wave: int
    ref: ScaleSetRef
    state: SetState
    record: Record | None = None
    message: str = ""
    percent: int | None = None
    stale: datetime | None = None  # the start time of the upgrade before this fleet's change
    since: float = 0.0  # when it was started (for START_GRACE)
    cancelled: bool = False
    mine: bool = False  # this run sent its change
    adopted: bool = False  # a run before this one sent its change: its first Completed is checked
    batch: str | None = None
    unreadable: str | None = None  # why its rollout record cannot be read (a person edited its tags)

    @property
    def key(self) -> str:
        return self.member.id.lower()


@dataclass
class Budget:
    """One subscription's reads: when its active sets may next be read, paced by Azure's remaining budget."""

    due: float = 0.0
    remaining: dict[str, int] = field(default_factory=dict)
    reads: int = 0


@dataclass
class FleetRunner:
    inv: Invocation
    fleet: Fleet
    plans: tuple[WavePlan, ...]
    clients: dict[str, Azure]
    interval: float = 10.0
    sets: dict[str, SetRun] = field(default_factory=dict)
    waves: tuple[WaveSpec, ...] = ()
    gates: Gates = field(default_factory=lambda: Gates(()))
    next_gates: float = 0.0
    budgets: dict[str, Budget] = field(default_factory=dict)
    shown: dict[str, tuple[str, int | None, str, str | None]] = field(default_factory=dict)
    live: Any = None  # a Rich Live view on a terminal
    dirty: bool = False  # the live view is behind what the run knows

    def __post_init__(self) -> None:
        from vmssroll.domain.target import ScaleSetRef

        self.gates = Gates(self.fleet.gates, self.fleet.gate_failures)
        fleet_id = self.fleet.record_id
        waves: list[WaveSpec] = []
        for index, plan in enumerate(self.plans):
            keys: list[str] = []
            for member in plan.members:
                record, unreadable = Record.read_tags(member.tags or {})
                ref = ScaleSetRef(member.subscription, member.resource_group, member.name)
                run = SetRun(member, index, ref, from_record(record, fleet_id), record, unreadable=unreadable)
                self.sets[run.key] = run
                keys.append(run.key)
            waves.append(WaveSpec(plan.wave.name, tuple(keys), plan.wave.max_parallel, plan.wave.bake))
        self.waves = tuple(waves)
        self.budgets = {sub: Budget() for sub in self.clients}

    # plumbing
    @property
    def clock(self) -> Any:
        return self.inv.env.clock

    def azure(self, run: SetRun) -> Azure:
        return self.clients[run.member.subscription.lower()]

    def states(self) -> dict[str, SetState]:
        return {k: r.state for k, r in self.sets.items()}

    def row(self, run: SetRun) -> SetRow:
        m = run.member
        wave = self.waves[run.wave].name
        return SetRow(
            wave, m.name, m.resource_group, m.subscription, m.location, run.state, run.percent, run.message,
            run.batch,
        )  # fmt: skip

    def emit(self, kind: str, text: str, **fields: Any) -> None:
        """One fleet event: a JSON line with -o json; above the live view on a terminal; else a line."""
        if self.inv.json:
            self.inv.out.event({"time": self.clock.utcnow(), "event": kind, "message": text, **fields})
        elif self.live is not None:
            self.live.console.print(text, markup=False, highlight=False)
            self.dirty = True
        else:
            self.line(text)

    def line(self, text: str) -> None:
        from vmssroll.ui.tables import stamp

        stream = self.inv.out.stdout.file
        stream.write(f"{stamp(self.clock.utcnow())} {text}\n")
        stream.flush()

    def changed(self, run: SetRun) -> None:
        """One line (or JSON event, or a redraw) when a set's state, percent or detail changes."""
        now = (run.state.value, run.percent, run.message, run.batch)
        if self.shown.get(run.key) == now:
            return
        self.shown[run.key] = now
        row = self.row(run)
        if self.inv.json:
            self.inv.out.event(
                {"time": self.clock.utcnow(), "event": "set", "message": row.line(), **row.to_json()}
            )
        elif self.live is not None:
            self.dirty = True  # drawn once per pass (see `pause`), whatever changed
        else:
            self.line(row.line())

    def draw(self) -> None:
        from vmssroll.ui.fleet_live import view

        if self.live is None:
            return
        self.dirty = False
        at = current_wave(self.waves, self.states())
        self.live.update(
            view(
                title=f"Fleet {self.fleet.name}: {self.fleet.change.describe()}",
                waves=summary(self.waves, self.states()),
                rows=[self.row(r) for r in self.sets.values()],
                current=None if at is None else self.waves[at].name,
                now=self.clock.utcnow(),
                height=self.inv.out.stdout.size.height,
            ),
            refresh=True,
        )

    def set_state(self, run: SetRun, state: SetState, message: str = "", percent: int | None = None) -> None:
        run.state, run.message = state, message
        if percent is not None:
            run.percent = percent
        self.changed(run)

    # the loop
    def run(self) -> int:
        if self.inv.out.terminal and not self.inv.json:
            from rich.live import Live

            self.live = Live(console=self.inv.out.stdout, auto_refresh=False, transient=False)
            self.live.__enter__()
        try:
            return self.loop()
        finally:
            if self.live is not None:
                self.draw()
                self.live.__exit__(None, None, None)
                self.live = None

    def loop(self) -> int:
        for run in self.sets.values():
            if run.state is not SetState.PENDING:
                self.changed(run)
        self.adopt()
        started: set[int] = set()
        while True:
            self.refresh()
            self.gates_due()
            found = decide(
                self.waves,
                self.states(),
                max_faulted=self.fleet.stop.max_faulted,
                tripped=self.tripped(),
                labels={k: r.member.name for k, r in self.sets.items()},
            )
            if found.wave is not None and found.wave not in started and found.next is not Next.HALT:
                started.add(found.wave)
                wave = self.waves[found.wave]
                self.emit(
                    "wave",
                    f"Wave {found.wave + 1} of {len(self.waves)}: {wave.name}, {len(wave.keys)} set(s), "
                    f"up to {wave.max_parallel} at once",
                    wave=wave.name,
                    state="started",
                )
            match found.next:
                case Next.DONE:
                    return self.done()
                case Next.HALT:
                    return self.halt(found.reason, found.wave)
                case Next.BAKE:
                    assert found.wave is not None
                    code = self.bake(found.wave)
                    if code is not None:
                        return code
                    continue
                case _:
                    for key in found.start:
                        self.start(self.sets[key])
            self.pause(self.wait())

    def pause(self, seconds: float) -> None:
        """Between two passes: the live view drawn once with everything that changed, then the wait."""
        if self.dirty:
            self.draw()
        self.clock.sleep(seconds)

    def adopt(self) -> None:
        """Sets this fleet's record says are rolling (a run before this one started them): read their
        latest upgrade once to learn where they stand; a set that already completed is not polled again."""
        for run in self.sets.values():
            if run.state in ACTIVE:
                run.since, run.adopted = self.clock.monotonic() - START_GRACE / 2, True
                self.poll(run)

    def tripped(self) -> str | None:
        gate = self.gates.tripped
        return None if gate is None else f"{gate.line()} {self.gates.limit} time(s) in a row"

    def wait(self) -> float:
        now = self.clock.monotonic()
        due = [b.due for sub, b in self.budgets.items() if self._active_in(sub)]
        wait = min(due, default=now + self.interval) - now
        if self.fleet.gates:
            wait = min(wait, self.next_gates - now)
        return max(1.0, wait)

    def _active_in(self, sub: str) -> bool:
        return any(r.state in ACTIVE and r.member.subscription.lower() == sub for r in self.sets.values())

    # reads
    def refresh(self) -> None:
        """Read the latest upgrade of every active set whose subscription's turn has come; finished and
        pending sets are never read."""
        now = self.clock.monotonic()
        for sub, budget in self.budgets.items():
            if budget.due > now:
                continue
            polled = 0
            for run in self.sets.values():
                if run.state in ACTIVE and run.member.subscription.lower() == sub:
                    self.poll(run)
                    polled += 1
            if polled:
                budget.due = now + fleet_interval(self.interval, polled, budget.remaining)

    def poll(self, run: SetRun) -> None:
        azure = self.azure(run)
        budget = self.budgets[run.member.subscription.lower()]
        try:
            reading = azure.latest_reading(run.ref)
        except AzureRequestFailed as err:  # this set only: the stop rule decides what it means for the fleet
            if not err.transient:
                self.set_state(run, SetState.STOPPED, f"cannot be read: {err.message}")
                return
            run.message = f"read failed, retrying: {err.message}"
            self.changed(run)
            return
        budget.reads += 1
        if reading.rate_limits:
            budget.remaining = dict(reading.rate_limits)
        before = run.state
        seen = observe(run.state, reading.value, run.stale, run.member.capacity)
        run.batch = seen.batch
        if seen.state is SetState.STARTING and self.clock.monotonic() - run.since > START_GRACE:
            seen = replace(seen, state=SetState.STOPPED, message="no rolling upgrade started for the change")
        if run.adopted and seen.state in (SetState.COMPLETED, SetState.UNDONE):
            run.adopted = False
            seen = self.really_ended(run, seen, reading.value)
        if run.cancelled and seen.state is SetState.CANCELLED:
            seen = replace(seen, state=SetState.STOPPED, message="cancelled by the fleet's halt")
        self.set_state(run, seen.state, seen.message, seen.percent)
        if seen.state is SetState.COMPLETED and before is not SetState.COMPLETED:
            self.write(run, Phase.BAKING, why="completed")

    def really_ended(self, run: SetRun, seen: Seen, status: Any) -> Seen:
        """A set a run before this one changed, whose latest upgrade says Completed: that upgrade may be the
        one before the change (the run stopped between its PATCH and Azure starting the upgrade). Instances
        behind the model say the change's upgrade is still to come: wait for it."""
        from vmssroll.domain.rollout import summarize
        from vmssroll.domain.unknown import Unknown

        listed = self.azure(run).instances_or_unknown(run.ref)
        if isinstance(listed, Unknown) or not summarize(listed).behind:
            return seen
        run.stale = status.start_time if status is not None else None
        waiting = SetState.UNDOING if run.state is SetState.UNDOING else SetState.STARTING
        return Seen(waiting, f"{len(summarize(listed).behind)} instance(s) behind: waiting for the upgrade")

    def read(self, run: SetRun) -> ScaleSet:
        ss = self.azure(run).scale_set(run.ref)
        run.record, run.unreadable = Record.read_tags(ss.tags or {})
        return ss

    # writes
    def write(self, run: SetRun, phase: Phase, *, why: str, extra: dict[str, Any] | None = None) -> bool:
        """This fleet's record on the set, in the given phase, with If-Match on a fresh read: False when the
        record is no longer this fleet's or another writer got there first (412)."""
        ss = self.read(run)
        current = run.record
        if current is None or current.id != self.fleet.record_id:
            self.set_state(
                run, SetState.BUSY, run.unreadable or "its rollout record is no longer this fleet's"
            )
            return False
        if written(current.phase, phase):
            return True  # another runner wrote it (or more)
        new = replace(
            current,
            phase=phase,
            write=secrets.token_hex(4),
            reason=why if phase is Phase.STOPPED else current.reason,
        )
        body: dict[str, Any] = {"tags": new.to_tags(ss.tags)}
        if extra:
            body["properties"] = extra
        try:
            self.azure(run).patch(run.ref, body, ss.etag, applied=_wrote(new), wait=None)
        except Conflict:
            ss = self.read(run)
            return run.record is not None and run.record.phase is phase
        run.record = new
        return True

    def start(self, run: SetRun) -> None:
        """Claim the set and send the change: the image and the record in one PATCH with If-Match on what was
        just read (a second runner's PATCH then fails with 412), or the record then the OS or extension
        action. What stands in the way (another rollout, a running upgrade, Manual mode) refuses this set
        only; the stop rule decides what that means for the fleet."""
        from vmssroll.domain.image import new_image_reference, os_upgrade_refusal

        change, azure = self.fleet.change, self.azure(run)
        ss = self.read(run)
        # as `rollout` refuses it: whose record it was cannot be told, so it is not replaced
        if run.unreadable:
            self.set_state(run, SetState.REFUSED, f"{run.unreadable}; nothing was sent to it")
            return
        state = from_record(run.record, self.fleet.record_id)
        if state is not SetState.PENDING:  # another runner (or rollout) got there since the listing
            run.since = self.clock.monotonic()
            self.set_state(run, state, "changed by another runner" if state in ACTIVE else state.value)
            return
        if change.kind is Kind.IMAGE and (ss.upgrade_policy.mode or "Manual").lower() != "rolling":
            self.set_state(
                run,
                SetState.REFUSED,
                f"{ss.upgrade_policy.mode or 'Manual'} mode: a model change rolls nothing",
            )
            return
        if change.kind is Kind.OS and (refusal := os_upgrade_refusal(ss.name, ss.image)):
            self.set_state(run, SetState.REFUSED, refusal)
            return
        latest = azure.latest_upgrade(run.ref)
        if latest is not None and latest.running:  # another runner's, started since the read above?
            return self.lost(run, f"an upgrade is already {latest.code}")
        record = Record(
            id=self.fleet.record_id,
            kind=change.kind,
            phase=Phase.ROLLING,
            total=ss.capacity,
            previous=writable_image(ss.image) if change.kind is Kind.IMAGE else None,
            write=secrets.token_hex(4),
        )
        body: dict[str, Any] = {}
        if change.kind is Kind.IMAGE:
            wanted = new_image_reference(ss.image, version=change.image_version, image_id=change.image_id)
            if all(ss.image.get(k) == v for k, v in wanted.items()):
                self.set_state(run, SetState.DONE, f"already on {wanted}", 100)
                return
            record = replace(record, target=wanted)
            body["properties"] = {"virtualMachineProfile": {"storageProfile": {"imageReference": wanted}}}
        body["tags"] = record.to_tags(ss.tags)
        try:
            azure.patch(run.ref, body, ss.etag, applied=_wrote(record), wait=None)
        except Conflict:
            return self.lost(run, "claimed by another runner first (412): followed, not changed")
        except AzureRequestFailed as err:  # this set only: the stop rule decides what it means for the fleet
            self.set_state(run, SetState.REFUSED, err.message)
            return
        run.record, run.mine, run.since = record, True, self.clock.monotonic()
        run.stale = latest.start_time if latest else None
        if change.kind is not Kind.IMAGE:
            try:
                azure.start(run.ref, "os" if change.kind is Kind.OS else "extension")
            except Conflict:
                return self.lost(run, "an upgrade started before this fleet's")
            except AzureRequestFailed as err:
                self.set_state(run, SetState.REFUSED, err.message)
                return
        self.set_state(run, SetState.STARTING, f"{change.describe()} sent", 0)

    def lost(self, run: SetRun, why: str) -> None:
        """Another writer got to the set first (412, or an upgrade already running): read it again and
        follow what it started when the record is this fleet's (another runner); never send the change
        again. Anything else makes the set busy."""
        self.read(run)
        state = from_record(run.record, self.fleet.record_id)
        run.since = self.clock.monotonic()
        if state in (SetState.PENDING, SetState.BUSY):
            self.set_state(run, SetState.BUSY, why)
        else:
            self.set_state(run, state, f"{why}; this fleet's record: followed, not changed")

    # gates and bake
    def gates_due(self) -> None:
        from vmssroll.cli.progressive import run_gate

        if not self.fleet.gates or self.clock.monotonic() < self.next_gates:
            return
        runs = [run_gate(c, 30.0) for c in self.fleet.gates]
        self.gates = self.gates.after(runs)
        self.next_gates = self.clock.monotonic() + self.fleet.gate_interval
        for gate in runs:
            streak = self.gates.streaks.get(gate.command, 0)
            if self.inv.json or not gate.ok:
                suffix = "" if gate.ok else f" ({streak} of {self.fleet.gate_failures} in a row)"
                self.emit("gate", gate.line() + suffix, **gate.to_json(), failuresInARow=streak)

    def bake(self, index: int) -> int | None:
        """Every set of the wave completed: the gates keep running for the bake; then each is recorded
        done. A gate tripping halts the fleet."""
        wave = self.waves[index]
        if wave.bake > 0:
            self.emit("wave", f"{wave.name}: every set completed; baking {human(wave.bake)}",
                      wave=wave.name, state="baking")  # fmt: skip
            ends = self.clock.monotonic() + wave.bake
            while (left := ends - self.clock.monotonic()) > 0:
                self.gates_due()
                if (why := self.tripped()) is not None:
                    return self.halt(f"{why} during the bake of {wave.name}", index)
                self.pause(min(left, self.fleet.gate_interval) if self.fleet.gates else left)
        for key in wave.keys:
            run = self.sets[key]
            if run.state is SetState.COMPLETED and self.write(run, Phase.DONE, why="baked"):
                self.set_state(run, SetState.DONE, "done", 100)
        self.emit("wave", f"{wave.name}: done", wave=wave.name, state="done")
        return None

    # the end
    def done(self) -> int:
        counts = summary(self.waves, self.states())
        total = sum(int(str(c["sets"])) for c in counts)
        failed = [r for r in self.sets.values() if r.state is not SetState.DONE]
        within = (
            f"; {len(failed)} failed, within the {self.fleet.stop.max_faulted} the stop rule allows: "
            + ", ".join(f"{r.member.name} ({r.state.value})" for r in failed[:10])
            if failed
            else ""
        )
        self.emit("done", f"Fleet {self.fleet.name} done: {total} set(s) in {len(self.waves)} wave(s){within}",
                  exitCode=0, waves=counts, failed=[self.row(r).to_json() for r in failed])  # fmt: skip
        return int(ExitCode.OK)

    def halt(self, reason: str, wave: int | None) -> int:
        """The stop rule: record `stopped` on each set still rolling (before its cancel: a write after it
        would restart the upgrade), cancel it and wait for Azure to stop; then undo the wave if the file
        says so. Sets not started are not touched."""
        self.emit("halt", f"Fleet {self.fleet.name} halted: {reason}", reason=reason)
        while any(r.state in (SetState.STARTING, SetState.ROLLING) for r in self.sets.values()):
            for run in self.sets.values():
                if run.state is SetState.ROLLING and not run.cancelled:
                    self.write(run, Phase.STOPPED, why=f"fleet halted: {reason}")
                    run.cancelled = True
                    with contextlib.suppress(Conflict):  # it ended before the cancel
                        self.azure(run).cancel(run.ref)
            self.pause(self.interval)
            for run in self.sets.values():
                if run.state in (SetState.STARTING, SetState.ROLLING):
                    self.poll(run)
        if wave is not None and self.fleet.stop.undo == "wave":
            self.undo_wave(wave)
        self.emit("stopped", f"Fleet {self.fleet.name} stopped: {reason}", reason=reason,
                  exitCode=int(ExitCode.FAULTED), waves=summary(self.waves, self.states()))  # fmt: skip
        return int(ExitCode.FAULTED)

    def undo_wave(self, index: int) -> None:
        """Put the previous image back on every set of the wave this fleet changed (one PATCH with If-Match
        each, recording `undoing`), follow Azure rolling them back, then record `undone`."""
        from vmssroll.domain.rollout import summarize
        from vmssroll.domain.unknown import Unknown

        for key in self.waves[index].keys:
            run = self.sets[key]
            if run.state in (SetState.PENDING, SetState.BUSY, SetState.REFUSED, SetState.UNDONE):
                continue
            self.read(run)
            record = run.record
            if record is None or record.id != self.fleet.record_id or not record.can_undo:
                continue
            assert record.previous is not None
            latest = self.azure(run).latest_upgrade(run.ref)
            previous = writable_image(record.previous)
            image = {"virtualMachineProfile": {"storageProfile": {"imageReference": previous}}}
            if not self.write(run, Phase.UNDOING, why="undo", extra=image):
                continue
            run.stale, run.since = (latest.start_time if latest else None), self.clock.monotonic()
            self.set_state(run, SetState.UNDOING, f"undoing: back to {previous}")
            listed = self.azure(run).instances_or_unknown(run.ref)
            if not isinstance(listed, Unknown) and not summarize(listed).behind:
                self.finish_undo(run, "no instance ran the new image")
        while any(r.state is SetState.UNDOING for r in self.sets.values()):
            self.pause(self.interval)
            for run in self.sets.values():
                if run.state is SetState.UNDOING:
                    self.poll(run)
                    if run.state is SetState.UNDONE:
                        self.finish_undo(run, "every instance is back on the previous image")

    def finish_undo(self, run: SetRun, why: str) -> None:
        self.write(run, Phase.UNDONE, why=why)
        self.set_state(run, SetState.UNDONE, f"undone: {why}", run.percent)


def _wrote(record: Record) -> Any:
    def applied(now: Any) -> bool:
        found, _ = Record.read_tags(getattr(now, "tags", {}) or {})
        return found is not None and found.write == record.write

    return applied


def refuse_unready(plans: tuple[WavePlan, ...], left: tuple[Member, ...]) -> None:
    if left:
        names = ", ".join(f"{m.resource_group}/{m.name}" for m in left[:10])
        raise NotReady(f"{len(left)} target(s) are in no wave: {names}; nothing was sent",
                       hint="add a wave without `select` to take every target left")  # fmt: skip
    if not any(plan.members for plan in plans):
        raise NotReady("no scale set matches the fleet's targets; nothing was sent")


# The command --------------------------------------------------------------------------------------


def fleet_rollout(run: FleetRun, *, yes: bool, interval: float) -> int:
    """Validate, resolve, run the gates once, ask, then run the waves."""
    from vmssroll.cli.common import confirm, need_answer
    from vmssroll.domain.fleet import assign, unassigned

    inv, fleet, file = run.inv, run.fleet, run.path
    need_answer(inv, yes=yes)
    clients = {sub.lower(): azure for sub, azure in run.clients.items()}
    members = list(run.resolve().members)
    plans = assign(fleet, members)
    refuse_unready(plans, unassigned(fleet, members))
    runner = FleetRunner(inv, fleet, plans, clients, interval=interval)
    if fleet.gates:
        runner.gates_due()
        failing = [g for g in runner.gates.last if not g.ok]
        if failing:
            raise NotReady(f"{failing[0].line()} before anything changed; nothing was sent")
    left = [r for r in runner.sets.values() if r.state is not SetState.DONE]
    sizes = ", ".join(f"{w.name} {len(w.keys)}" for w in runner.waves)
    inv.out.note(
        f"Fleet {fleet.name}: {fleet.change.describe()} to {len(runner.sets)} set(s) in {len(plans)} wave(s) "
        f"({sizes}); {len(runner.sets) - len(left)} already done"
    )
    confirm(inv, f"Roll out {fleet.change.describe()} to {len(left)} scale set(s)?", yes=yes)
    try:
        return runner.run()
    except KeyboardInterrupt as stop:
        said = getattr(stop, "message", None)
        stop.message = (  # type: ignore[attr-defined]
            (f"{said}; " if said else "interrupted; ")
            + "nothing was cancelled (the sets rolling go on in Azure); run it again to continue: "
            f"vmssroll fleet rollout {file}"
        )
        raise


def rollout_cmd(run: FleetRun, yes: YesOpt = False, interval: IntervalOpt = "10s") -> int:
    """Roll a change out through a fleet of scale sets, wave after wave: up to max_parallel sets at once, each
    as `rollout` does it; the gates between refreshes and through each wave's bake; the stop rule halts the
    fleet, cancels what rolls and may undo the wave. Run it again to continue after Ctrl-C or a crash:
    finished sets are never touched again.

    Exit 0 every wave done; 2 bad fleet file (nothing sent); 3 refused before any change; 5 halted by the stop
    rule; 130 interrupted (nothing is cancelled: run it again to continue)."""
    from vmssroll.domain.durations import parse_duration

    every = max(1.0, parse_duration(interval, what="--interval").total_seconds())
    return fleet_rollout(run, yes=yes, interval=every)


def register(group: typer.Typer) -> None:
    """`fleet rollout` on the `fleet` command group, with the file and options every fleet command takes."""
    fleet_command(group, "rollout")(rollout_cmd)
