"""`vmssroll rollout | resume | undo`: progressive delivery on top of Azure's rolling upgrade.

The decisions are domain/progressive.py's; this module reads, writes and waits. The change is applied as
`set-image` and `start` apply theirs (one PATCH with If-Match; the OS or extension action), followed with the
watch's own `follow` (live view, lines or JSON events), and the rollout's record is kept in the scale set's
tags so `resume`, `undo` and `status` work from anywhere.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vmssroll.cli.common import (
    Invocation,
    YesOpt,
    command,
    confirm,
    refuse_while_rolling,
    typed_line,
)
from vmssroll.cli.rollout_record import emit, image_body, read_record, write_record
from vmssroll.cli.upgrades import IntervalOpt
from vmssroll.domain.errors import (
    Conflict,
    ExitCode,
    InvalidInput,
    NotReady,
    TimedOut,
    has_control,
    shown,
)
from vmssroll.domain.progressive import (
    Action,
    GateRun,
    Gates,
    Kind,
    Phase,
    Record,
    Step,
    nothing_left,
    parse_checkpoints,
    share_upgraded,
    step,
    writable_image,
)
from vmssroll.domain.rollout import NEW_UPGRADE_GRACE
from vmssroll.domain.upgrade import Verdict
from vmssroll.domain.watch import Deadlines

if TYPE_CHECKING:
    from vmssroll.adapter.client import Azure
    from vmssroll.cli.watching import Snapshot
    from vmssroll.domain.model import ScaleSet
    from vmssroll.domain.upgrade import UpgradeStatus

app = typer.Typer()

GATE_OUTPUT_MAX = 4000  # characters of a gate's output kept (the end of it)
RECORD_POLL = 10.0  # seconds between reads of the record while paused
PROMPT_POLL = 1.0  # seconds between looks at the terminal for an answer to the resume prompt
RESUME_PROMPT = "Resume now? Type y and Enter (or run vmssroll resume from anywhere): "


class OnFailure(StrEnum):
    stop = "stop"
    undo = "undo"


Duration = Annotated[str | None, typer.Option(metavar="DURATION")]
TimeoutOpt = Annotated[
    str | None, typer.Option("--timeout", metavar="DURATION", help="Give up after this long (exit 7).")
]


@dataclass
class Settings:
    """The rollout's options, all checked before any request."""

    kind: Kind
    version: str | None
    image_id: str | None
    checkpoints: tuple[int, ...]
    gates: tuple[str, ...]
    gate_interval: float
    gate_failures: int
    gate_timeout: float
    bake: float
    on_failure: OnFailure
    auto_resume_after: float | None
    interval: float
    timeout: float | None
    orchestrate: bool = False  # vmssroll upgrades the instances itself (Manual mode), see cli/orchestrate.py
    canary: int = 1  # with orchestrate: the instances of the first batch


def _seconds(value: str | None, what: str, *, default: float | None = None) -> float | None:
    from vmssroll.domain.durations import parse_duration

    return default if value is None else parse_duration(value, what=what).total_seconds()


def settings(
    *,
    image_version: str | None,
    image_id: str | None,
    os_: bool,
    extensions: bool,
    checkpoint: list[str] | None,
    gate: list[str] | None,
    gate_interval: str,
    gate_failures: int,
    gate_timeout: str,
    bake: str | None,
    on_failure: OnFailure,
    auto_resume_after: str | None,
    interval: str,
    timeout: str | None,
    orchestrate: bool = False,
    canary: int | None = None,
) -> Settings:
    from vmssroll.domain.image import check_image_args

    chosen = [image_version is not None or image_id is not None, os_, extensions]
    if sum(chosen) != 1:
        raise InvalidInput("give exactly one of --image-version, --image-id, --os or --extensions")
    kind = Kind.IMAGE if chosen[0] else Kind.OS if os_ else Kind.EXTENSIONS
    if kind is Kind.IMAGE:
        check_image_args(version=image_version, image_id=image_id, version_flag="--image-version")
    gates = tuple(gate or ())
    for command_line in gates:
        if not command_line.strip() or has_control(command_line):
            raise InvalidInput(f"--gate {shown(command_line)} is not a shell command line")
    if gate_failures < 1:
        raise InvalidInput(f"--gate-failures {gate_failures}: give 1 or more")
    if on_failure is OnFailure.undo and kind is not Kind.IMAGE:
        raise InvalidInput(
            "--on-failure undo needs an image rollout (--image-version or --image-id): an OS or extension "
            "upgrade leaves no previous model value to put back"
        )
    if orchestrate and kind is not Kind.IMAGE:
        raise InvalidInput(
            "--orchestrate needs an image rollout (--image-version or --image-id): vmssroll upgrades the "
            "instances to the new model itself"
        )
    if canary is not None and not orchestrate:
        raise InvalidInput("--canary goes with --orchestrate (in Rolling mode Azure chooses the batches)")
    if canary is not None and canary < 1:
        raise InvalidInput(f"--canary {canary}: give 1 or more instances")
    every = _seconds(interval, "--interval") or 1.0
    return Settings(
        kind=kind,
        version=image_version,
        image_id=image_id,
        checkpoints=parse_checkpoints(checkpoint or []),
        gates=gates,
        gate_interval=max(1.0, _seconds(gate_interval, "--gate-interval") or 1.0),
        gate_failures=gate_failures,
        gate_timeout=max(1.0, _seconds(gate_timeout, "--gate-timeout") or 1.0),
        bake=_seconds(bake, "--bake", default=0.0) or 0.0,
        on_failure=on_failure,
        auto_resume_after=_seconds(auto_resume_after, "--auto-resume-after"),
        interval=max(1.0, every),
        timeout=_seconds(timeout, "--timeout"),
        orchestrate=orchestrate,
        canary=canary or 1,
    )


# Gates --------------------------------------------------------------------------------------------


def run_gate(command_line: str, timeout: float) -> GateRun:
    """One gate: the command line run by the shell, stdout and stderr captured together (their end kept).

    It runs in its own process group, so a gate that outlives its time is killed whole (`curl ... | jq` has
    two processes; killing the shell alone would leave the pipe open), and so is one running on Ctrl-C."""
    began = time.monotonic()
    proc = subprocess.Popen(  # a gate is a shell command line by definition (--gate CMD)
        command_line,
        shell=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        output, _ = proc.communicate()
        return GateRun(command_line, None, _text(output or b""), time.monotonic() - began)
    except BaseException:
        _kill_group(proc)
        raise
    return GateRun(command_line, proc.returncode, _text(output or b""), time.monotonic() - began)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    import os
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):
        proc.kill()


def _text(output: bytes) -> str:
    return output.decode("utf-8", "replace")[-GATE_OUTPUT_MAX:]


# The rollout --------------------------------------------------------------------------------------


@dataclass
class Rollout:
    """One rollout's run: the record, the gates' history, where the clock stands, what it told the user."""

    inv: Invocation
    azure: Azure
    opts: Settings
    record: Record
    stale: Any = None  # the start time of an upgrade that is not this rollout's current one
    gates: Gates = field(default_factory=lambda: Gates(()))
    next_gates: float = 0.0
    last: Step | None = None
    deadline: float | None = None
    waited_since: float | None = None  # when the watch first saw only an upgrade that is not ours
    said: dict[str, bool] = field(default_factory=dict)  # each gate's last result shown as text
    asking: bool = False  # the resume prompt is open on this terminal
    answered: bool = False  # the person at this terminal said to resume

    @property
    def clock(self) -> Any:
        return self.inv.env.clock

    def emit(self, kind: str, text: str, **fields: Any) -> None:
        emit(self.inv, kind, text, **fields)

    def write(self, ss: ScaleSet, record: Record) -> tuple[ScaleSet, Record]:
        """The rollout's record, with the gates' latest results (what `status` shows of them)."""
        return write_record(self.inv, self.azure, ss, record, gates=self.gates.summary())

    # gates
    def gates_due(self) -> None:
        """Run the gates when their interval has come (on the injected clock)."""
        if not self.opts.gates or self.clock.monotonic() < self.next_gates:
            return
        runs = [run_gate(c, self.opts.gate_timeout) for c in self.opts.gates]
        self.gates = self.gates.after(runs)
        self.next_gates = self.clock.monotonic() + self.opts.gate_interval
        for gate in runs:
            streak = self.gates.streaks.get(gate.command, 0)
            suffix = "" if gate.ok else f" ({streak} of {self.opts.gate_failures} in a row)"
            # every run is an event; as text, a failure, a recovery and each gate's first run
            said = self.said.get(gate.command)
            if self.inv.json or not gate.ok or said is not True:
                self.emit("gate", gate.line() + suffix, **gate.to_json(), failuresInARow=streak)
            self.said[gate.command] = gate.ok

    def limits(self) -> Deadlines:
        left = None if self.deadline is None else max(0.0, self.deadline - self.clock.monotonic())
        return Deadlines(interval=min(self.opts.interval, self.opts.gate_interval), timeout=left)

    def check_deadline(self) -> None:
        if self.deadline is not None and self.clock.monotonic() >= self.deadline:
            raise TimedOut(
                f"the rollout's --timeout ran out ({self.record.phase.value}); nothing was cancelled",
                hint=f"see where it stands: vmssroll status {self.inv.target.args()}",
            )

    # following
    def intervene(self, snap: Snapshot, verdict: Verdict) -> Verdict | None:
        self.gates_due()
        found = step(self.record, snap.status, self.gates, stale_start=self.stale)
        self.last = found
        if found.ends_following:
            return Verdict(True, found.exit_code, found.message)
        if verdict.done:  # the upgrade the watch sees ended, but it is not this rollout's: wait for ours
            waited = snap.status is not None and snap.status.start_time == self.stale
            if waited and self.waited_since is None:
                self.waited_since = self.clock.monotonic()
            if (
                self.waited_since is not None
                and self.clock.monotonic() - self.waited_since < NEW_UPGRADE_GRACE
            ):
                return Verdict(False, ExitCode.OK, "waiting for the rolling upgrade to start")
        return None

    def follow(self) -> tuple[Verdict, Step | None]:
        from vmssroll.cli.watching import follow

        self.last, self.waited_since = None, None
        verdict, _ = follow(self.inv, self.limits(), intervene=self.intervene, events_file=self.inv.events)
        return verdict, self.last

    def run(self) -> int:
        while True:
            verdict, found = self.follow()
            if found is None or not found.ends_following:
                return int(verdict.exit_code)  # the watch's own end (no upgrade started, ...)
            match found.action:
                case Action.PAUSE:
                    code = self.pause(found)
                    if code is not None:
                        return code
                case Action.STOP:
                    return self.stop(found.message, running=True)
                case Action.AZURE_STOPPED:
                    return self.failed(found.message, ExitCode.FAULTED)
                case Action.CANCELLED:
                    self.emit(
                        "stopped", f"Rollout stopped: {found.message}", exitCode=int(ExitCode.CANCELLED)
                    )
                    return int(ExitCode.CANCELLED)
                case _:
                    return self.bake()

    # checkpoints
    def pause(self, found: Step) -> int | None:
        """Record the pause while the upgrade still runs (a write after the cancel would restart it), cancel,
        wait for Cancelled, then wait for `resume` (or --auto-resume-after with the gates passing)."""
        ss, current = read_record(self.azure, self.inv)
        self.own(current)
        passed = tuple(sorted({*self.record.passed, *found.checkpoints}))
        _, self.record = self.write(ss, replace(self.record, phase=Phase.PAUSED, passed=passed))
        latest = self.cancel()
        if latest is not None and nothing_left(latest):
            return self.bake()  # the last batch ended before or under the cancel: nothing left to pause
        upgraded = self.upgraded(latest)
        self.stale = latest.start_time if latest else None
        self.emit(
            "paused",
            f"Paused at {passed[-1]}%: {upgraded} of {self.record.total} instance(s) upgraded (instances in "
            f"flight finished). Resume with: vmssroll resume {self.inv.target.args()}",
            checkpoint=passed[-1],
            upgraded=upgraded,
            total=self.record.total,
            record=self.record.to_json(),
        )
        return self.wait_for_resume()

    def upgraded(self, latest: UpgradeStatus | None) -> int:
        if latest is None:
            return 0
        return int(share_upgraded(self.record.total, latest.progress) * self.record.total)

    def cancel(self) -> UpgradeStatus | None:
        """Cancel the running upgrade; wait until Azure says it stopped (in-flight instances finish first)."""
        from vmssroll.cli.watching import follow

        with contextlib.suppress(Conflict):  # it ended before the cancel: its status below says how
            self.azure.cancel(self.inv.target)
        follow(self.inv, self.limits(), quiet=True)
        return self.azure.latest_upgrade(self.inv.target)

    def own(self, found: Record | None) -> None:
        """The record on the scale set is still this rollout's (someone may have undone or replaced it)."""
        if found is None or found.id != self.record.id:
            raise Conflict(
                "the scale set's rollout record changed under this rollout (another rollout started?); "
                "nothing more is done",
                hint=f"see it with: vmssroll status {self.inv.target.args()}",
            )

    def wait_for_resume(self) -> int | None:
        """Poll the record (one GET) and run the gates until someone resumes, or --auto-resume-after passes
        with the gates passing. A gate tripping here stops the rollout; the record is not written then (it
        would restart the upgrade), so it still says paused."""
        began = self.clock.monotonic()
        auto = self.opts.auto_resume_after
        self.ask()
        while True:
            self.check_deadline()
            self.gates_due()
            tripped = self.gates.tripped
            if tripped is not None:
                return self.stop(
                    f"{tripped.line()} {self.gates.limit} time(s) in a row while paused", running=False
                )
            ss, current = read_record(self.azure, self.inv)
            self.own(current)
            assert current is not None
            if current.phase is not Phase.PAUSED:
                self.close_prompt()
            if current.phase is Phase.ROLLING:
                self.record = current
                self.emit(
                    "resumed",
                    "Resumed (by `vmssroll resume`); following the upgrade again",
                    record=current.to_json(),
                )
                return None
            if current.phase is not Phase.PAUSED:
                self.emit(
                    "stopped",
                    f"The rollout is now {current.phase.value} (changed from elsewhere); stopping here",
                )
                return int(ExitCode.CANCELLED)
            if self.answered:
                self.asking = self.answered = False
                self.record = resume(self.inv, self.azure, ss, current)
                self.emit("resumed", "Resumed from this terminal", record=self.record.to_json())
                return None
            if auto is not None and self.clock.monotonic() - began >= auto and self.gates.passing:
                self.record = resume(self.inv, self.azure, ss, current)
                self.emit(
                    "resumed",
                    f"Resumed after {_human(auto)} with every gate passing",
                    record=self.record.to_json(),
                )
                return None
            wait = min(RECORD_POLL, self.opts.gate_interval)
            if auto is not None:
                wait = min(wait, max(0.0, began + auto - self.clock.monotonic()) or wait)
            self.sleep_or_answer(wait)

    def ask(self) -> None:
        """On a terminal, the pause asks whoever watches it whether to resume (resume from elsewhere works
        all the same)."""
        self.asking = self.inv.env.can_prompt()
        if self.asking:
            self.inv.env.stderr.write(RESUME_PROMPT)
            self.inv.env.stderr.flush()

    def close_prompt(self) -> None:
        """The question is moot (resumed or stopped from elsewhere): end its line and stop looking."""
        if self.asking:
            self.inv.env.stderr.write("\n")
        self.asking = False

    def sleep_or_answer(self, seconds: float) -> None:
        """Sleep, looking at the terminal every PROMPT_POLL seconds while the prompt is open; `y` ends the
        sleep with `answered` set, any other line asks again, a closed stdin closes the prompt."""
        ends = self.clock.monotonic() + seconds
        while self.asking and not self.answered:
            line = typed_line(self.inv)
            if line == "":
                self.asking = False
            elif line is not None and line.strip().lower() in ("y", "yes"):
                self.answered = True
            elif line is not None:
                self.ask()
            left = ends - self.clock.monotonic()
            if self.answered or left <= 0:
                return
            self.clock.sleep(min(PROMPT_POLL, left))
        left = ends - self.clock.monotonic()
        if left > 0 and not self.answered:
            self.clock.sleep(left)

    # failure
    def stop(self, reason: str, *, running: bool) -> int:
        """A gate tripped: record it (while the upgrade runs, before the cancel), cancel, stop or undo."""
        if running:
            ss, current = read_record(self.azure, self.inv)
            self.own(current)
            _, self.record = self.write(ss, replace(self.record, phase=Phase.STOPPED, reason=reason))
            latest = self.cancel()
            self.stale = latest.start_time if latest else None
        return self.failed(reason, ExitCode.FAULTED)

    def failed(self, reason: str, code: ExitCode) -> int:
        if self.opts.on_failure is OnFailure.undo:
            self.emit("stopped", f"Rollout stopped: {reason}; undoing it (--on-failure undo)", reason=reason)
            undone = undo(self.inv, self.azure, self.record, stale=self.stale, interval=self.opts.interval)
            if undone != ExitCode.OK:
                return undone
        else:
            self.emit(
                "stopped",
                f"Rollout stopped: {reason}. Put the previous image back with: vmssroll undo {self.inv.target.args()}"
                if self.record.can_undo
                else f"Rollout stopped: {reason}",
                reason=reason,
                exitCode=int(code),
            )
        return int(code)

    # bake
    def bake(self) -> int:
        """Completed: the gates keep running for --bake; a failure stops the rollout as while rolling."""
        ss, current = read_record(self.azure, self.inv)
        self.own(current)
        if self.opts.bake > 0:
            ss, self.record = self.write(ss, replace(self.record, phase=Phase.BAKING))
            self.emit("bake", f"Completed; baking for {_human(self.opts.bake)} with the gates running")
            ends = self.clock.monotonic() + self.opts.bake
            while True:
                self.gates_due()
                left = ends - self.clock.monotonic()
                found = step(self.record, None, self.gates, baking=True, bake_left=left)
                if found.action is Action.STOP:
                    ss, self.record = self.write(
                        self.azure.scale_set(self.inv.target),
                        replace(self.record, phase=Phase.STOPPED, reason=found.message),
                    )
                    return self.failed(found.message, ExitCode.FAULTED)
                if found.action is Action.DONE:
                    break
                self.check_deadline()
                self.clock.sleep(min(left, self.opts.gate_interval) if self.opts.gates else left)
            ss = self.azure.scale_set(self.inv.target)
        _, self.record = self.write(ss, replace(self.record, phase=Phase.DONE))
        message = "Rollout done: Completed" + (
            f" and baked {_human(self.opts.bake)} with every gate passing" if self.opts.bake else ""
        )
        self.emit("done", message, exitCode=0, record=self.record.to_json())
        return int(ExitCode.OK)


def resume(inv: Invocation, azure: Azure, ss: ScaleSet, record: Record) -> Record:
    """Restart a paused rollout: the record's PATCH (If-Match) claims it, and for a model change is the empty
    model update that restarts Azure's upgrade; an OS or extension rollout then starts its action again."""
    if record.phase is Phase.ROLLING:
        raise Conflict(
            "the rollout was already resumed (its record says rolling)",
            hint=f"follow it: vmssroll watch {inv.target.args()}",
        )
    if record.phase is not Phase.PAUSED:
        raise NotReady(f"nothing to resume: the rollout is {record.phase.value}")
    refuse_while_rolling(inv, azure)
    _, new = write_record(inv, azure, ss, replace(record, phase=Phase.ROLLING))
    if record.kind is not Kind.IMAGE:
        azure.start(inv.target, "os" if record.kind is Kind.OS else "extension")
    return new


def undo(inv: Invocation, azure: Azure, record: Record, *, stale: Any = None, interval: float = 10.0) -> int:
    """Put the previous image reference back with one PATCH (If-Match) that also records `undoing`; Azure
    rolls the upgraded instances back; follow that upgrade, then record `undone`."""

    if not record.can_undo or record.previous is None:
        what = {Kind.OS: "an OS image", Kind.EXTENSIONS: "an extension"}.get(record.kind, "this")
        raise NotReady(f"nothing to undo: {what} rollout keeps no previous model value")
    ss, current = read_record(azure, inv)
    if current is None or current.id != record.id:
        raise Conflict("the scale set's rollout record changed since it was read; nothing was sent")
    latest = azure.latest_upgrade(inv.target)
    running = latest is not None and latest.running
    # undoing with nothing running: the roll-back stopped (Azure's health limits): undo again restarts it
    if current.phase is Phase.UNDONE or (current.phase is Phase.UNDOING and running):
        raise Conflict(
            f"the rollout is already {current.phase.value}",
            hint=f"follow it: vmssroll watch {inv.target.args()}",
        )
    if latest is not None and running:
        raise Conflict(
            f"an upgrade is {latest.code}: cancel it first (vmssroll cancel {inv.target.args()})",
        )
    before = latest.start_time if latest else stale
    previous = writable_image(record.previous)
    ss, current = write_record(inv, azure, ss, replace(current, phase=Phase.UNDOING), image_body(previous))
    emit(
        inv,
        "undo",
        f"Undo: the image reference is back to {previous}; Azure rolls the upgraded instances back",
    )
    from vmssroll.cli.writes import read_instances
    from vmssroll.domain.rollout import summarize
    from vmssroll.domain.unknown import Unknown

    listed = read_instances(inv, azure)
    if not isinstance(listed, Unknown) and not summarize(listed).behind:
        # nothing runs the image undone (Azure's rollback on breach may have put them back already)
        return _undone(inv, azure, current, "no instance runs the undone image: nothing to roll back")
    if (ss.upgrade_policy.mode or "Manual").lower() == "manual":  # nothing rolls by itself: vmssroll does it
        from vmssroll.cli.resuming import roll_back

        return _undone(inv, azure, current, roll_back(inv, azure, interval))
    from vmssroll.cli.resuming import follow_new

    verdict = follow_new(inv, Deadlines(interval=interval), before, "the roll-back upgrade")
    if verdict.exit_code != ExitCode.OK:
        from vmssroll.cli.resuming import roll_back_stopped

        return roll_back_stopped(inv, azure, verdict)
    return _undone(inv, azure, current, "every instance is back on the previous image")


def _undone(inv: Invocation, azure: Azure, record: Record, why: str) -> int:
    _, record = write_record(inv, azure, azure.scale_set(inv.target), replace(record, phase=Phase.UNDONE))
    emit(inv, "undone", f"Undone: {why}", record=record.to_json())
    return int(ExitCode.OK)


def _human(seconds: float) -> str:
    from vmssroll.domain.durations import human

    return human(seconds)


# Commands -----------------------------------------------------------------------------------------


def what_rolls(opts: Settings) -> str:
    if opts.kind is Kind.IMAGE:
        return f"image version {opts.version}" if opts.version else f"image {opts.image_id}"
    return "the latest OS image" if opts.kind is Kind.OS else "the model's extensions"


def preflight(
    inv: Invocation, azure: Azure, opts: Settings
) -> tuple[ScaleSet, UpgradeStatus | None, Rollout]:
    """`check` for Rolling, the plan, the gates once, nothing running: a refusal is exit 3, nothing sent."""
    from vmssroll.cli.policy_change import preflight as check
    from vmssroll.cli.policy_change import refuse
    from vmssroll.domain.image import os_upgrade_refusal
    from vmssroll.domain.plan import plan_rollout
    from vmssroll.domain.policy import effective
    from vmssroll.domain.prereq import Purpose
    from vmssroll.domain.rollout import summarize

    facts, report = check(inv, azure, Purpose.ROLLING)
    ss = facts.scale_set
    if not report.ready:
        raise refuse(inv, report)
    latest = refuse_while_rolling(inv, azure)
    refuse_paused(inv, ss)
    if opts.kind is Kind.IMAGE and (ss.upgrade_policy.mode or "Manual").lower() != "rolling":
        raise NotReady(
            f"{ss.name} is in {ss.upgrade_policy.mode or 'Manual'} mode: a model change rolls nothing there",
            hint=f"switch first: vmssroll enable-rolling {inv.target.args()}",
        )
    if opts.kind is Kind.OS and (refusal := os_upgrade_refusal(ss.name, ss.image)):
        raise NotReady(f"{refusal}; nothing was sent")
    if opts.kind is not Kind.IMAGE and summarize(facts.instances).behind:
        raise NotReady(
            f"{len(summarize(facts.instances).behind)} instance(s) are behind the model: roll that change out "
            "first (an update of the record would start it)",
            hint=f"vmssroll restart {inv.target.args()}",
        )
    from datetime import timedelta

    plan = plan_rollout(
        facts.instances,
        ss.zones,
        effective(ss.upgrade_policy.rolling),
        batch_time=timedelta(minutes=5),
        everything=True,
    )
    if plan.refused_at is not None:
        raise NotReady(
            f"the plan says Azure would fault the upgrade before batch {plan.refused_at}: {plan.verdict()}; nothing was sent"
        )
    inv.out.note(f"Plan: {plan.verdict()} {plan.duration_text()}")
    record = Record(
        id=inv.env.clock.utcnow().strftime("%Y%m%dT%H%M%SZ"),
        kind=opts.kind,
        phase=Phase.ROLLING,
        total=len(facts.instances) or ss.capacity,
        checkpoints=opts.checkpoints,
        previous=writable_image(ss.image) if opts.kind is Kind.IMAGE else None,
    )
    runner = Rollout(inv, azure, opts, record, gates=Gates(opts.gates, opts.gate_failures))
    first_gates(runner)
    return ss, latest, runner


def refuse_paused(inv: Invocation, ss: ScaleSet) -> None:
    """A new rollout is refused while one is paused on the scale set (exit 3)."""
    found = Record.from_tags(ss.tags)
    if found is not None and found.phase is Phase.PAUSED:
        raise NotReady(
            f"a rollout is paused at {found.paused_at}% on {ss.name}",
            hint=f"resume it (vmssroll resume {inv.target.args()}) or undo it (vmssroll undo {inv.target.args()})",
        )


def first_gates(runner: Rollout) -> None:
    """Every gate once before anything changes: a failure is a refusal (exit 3, nothing sent)."""
    if runner.opts.gates:
        runner.gates_due()
        failing = [g for g in runner.gates.last if not g.ok]
        if failing:
            raise NotReady(f"{failing[0].line()} before anything changed; nothing was sent")


def start(inv: Invocation, azure: Azure, ss: ScaleSet, runner: Rollout) -> None:
    """Apply the change as set-image and start do: one PATCH of the image and the record (If-Match), or the
    record then the OS or extension action."""
    from vmssroll.domain.image import new_image_reference

    opts, record = runner.opts, runner.record
    if opts.kind is Kind.IMAGE:
        wanted = new_image_reference(ss.image, version=opts.version, image_id=opts.image_id)
        if all(ss.image.get(k) == v for k, v in wanted.items()):
            raise NotReady(f"nothing to roll out: {ss.name} already has image {wanted}")
        _, runner.record = write_record(
            inv, azure, ss, replace(record, target=wanted), image_body(wanted), gates=runner.gates.summary()
        )
    else:
        _, runner.record = write_record(inv, azure, ss, record, gates=runner.gates.summary())
        azure.start(inv.target, "os" if opts.kind is Kind.OS else "extension")
    runner.emit("started", f"Rolling out {what_rolls(opts)} to {ss.name}", record=runner.record.to_json())


@command(app, "resume")
def resume_cmd(
    inv: Invocation,
    watch_: Annotated[bool, typer.Option("--watch", help="Follow the resumed rollout afterwards.")] = False,
    interval: IntervalOpt = "10s",
    timeout: TimeoutOpt = None,
) -> int:
    """Resume a rollout paused at a checkpoint, from any terminal: its record's PATCH (If-Match) restarts the
    upgrade (an OS or extension rollout starts its action again). Two at once: one exits 8. The rollout that
    paused carries on with its gates. --watch follows the upgrade (exit codes as watch); for an orchestrated
    rollout (Manual mode), the record until it pauses again (0), ends (0), stops (5) or is undone (6)."""
    from vmssroll.cli.upgrades import deadlines

    limits = deadlines(interval, timeout, None)
    azure = inv.azure()
    ss, record = read_record(azure, inv)
    if record is None:
        raise NotReady(f"no rollout is recorded on {ss.name}")
    before = azure.latest_upgrade(inv.target) if watch_ else None
    new = resume(inv, azure, ss, record)
    manual = (ss.upgrade_policy.mode or "Manual").lower() == "manual"  # an orchestrated rollout
    message = f"Resumed the rollout from {record.paused_at}%.{_follow_it(inv, manual) if not watch_ else ''}"
    if not watch_:
        inv.out.result({"resumed": True, "record": new.to_json(), "message": message}, message)
        return int(ExitCode.OK)
    emit(inv, "resumed", message, record=new.to_json())
    from vmssroll.cli.resuming import watch_record, watch_rolling

    if manual:
        return watch_record(inv, azure, new, limits)
    return watch_rolling(inv, limits, before.start_time if before else None)


def _follow_it(inv: Invocation, manual: bool) -> str:
    args = inv.target.args()
    if manual:  # no rolling upgrade to watch: the `rollout --orchestrate` that paused sends the batches
        return (
            " The rollout --orchestrate that paused sends the next batches (if it is gone, nothing does: "
            f"undo it, or upgrade the rest yourself). See where it stands with: vmssroll status {args}"
        )
    return f" Follow it with: vmssroll watch {args}"


@command(app, "undo")
def undo_cmd(inv: Invocation, yes: YesOpt = False, interval: IntervalOpt = "10s") -> int:
    """Put back the image reference a rollout replaced (PATCH with If-Match), and follow Azure rolling the
    upgraded instances back. Refused while an upgrade runs (exit 8: cancel it first)."""
    every = max(1.0, _seconds(interval, "--interval") or 1.0)
    azure = inv.azure()
    ss, record = read_record(azure, inv)
    if record is None:
        raise NotReady(f"no rollout is recorded on {ss.name}")
    confirm(inv, f"Put the previous image of {ss.name} back ({record.previous})?", yes=yes)
    return undo(inv, azure, record, interval=every)
