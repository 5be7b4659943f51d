"""Following what a `resume` (or an `undo`) set in motion: `vmssroll resume --watch`.

In Rolling mode the record's PATCH (or the OS or extension action) restarts Azure's upgrade, followed as
`start --watch` follows one, once the upgrade that was cancelled at the checkpoint has been replaced by the
new one. In Manual mode (`rollout --orchestrate`) the `rollout` that paused sends the batches: the watch
follows its record and the instances on the new model until the rollout pauses again, ends or stops.
What an undo sets in motion too: the roll-back Azure runs (or, in Manual mode, the one `roll_back` sends).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vmssroll.domain.errors import Conflict, ExitCode, TimedOut
from vmssroll.domain.progressive import Phase, Record
from vmssroll.domain.rollout import NEW_UPGRADE_GRACE
from vmssroll.domain.upgrade import Verdict
from vmssroll.domain.watch import Deadlines

if TYPE_CHECKING:
    from vmssroll.adapter.client import Azure
    from vmssroll.cli.common import Invocation
    from vmssroll.cli.watching import Snapshot
    from vmssroll.domain.model import Instance


def follow_new(inv: Invocation, deadlines: Deadlines, before: Any, what: str) -> Verdict:
    """Follow the upgrade that replaces the one that started at `before` (its end is not the new one's):
    that old upgrade is waited past for NEW_UPGRADE_GRACE, as the new one may take a moment to appear."""
    from vmssroll.cli.watching import follow

    waited: list[float] = []

    def ours(snap: Snapshot, verdict: Verdict) -> Verdict | None:
        if verdict.done and snap.status is not None and snap.status.start_time == before:
            waited.append(inv.env.clock.monotonic())
            if waited[-1] - waited[0] < NEW_UPGRADE_GRACE:
                return Verdict(False, ExitCode.OK, f"waiting for {what} to start")
        return None

    verdict, _ = follow(inv, deadlines, intervene=ours, events_file=inv.events)
    return verdict


def watch_rolling(inv: Invocation, deadlines: Deadlines, before: Any) -> int:
    verdict = follow_new(inv, deadlines, before, "the resumed upgrade")
    if inv.out.terminal and not inv.json:
        inv.out.note(verdict.message)
    return int(verdict.exit_code)


ENDS = {
    Phase.DONE: ExitCode.OK,
    Phase.PAUSED: ExitCode.OK,
    Phase.STOPPED: ExitCode.FAULTED,
    Phase.UNDOING: ExitCode.CANCELLED,
    Phase.UNDONE: ExitCode.CANCELLED,
}


def watch_record(inv: Invocation, azure: Azure, record: Record, deadlines: Deadlines) -> int:
    """Manual mode: read the record and the instances every interval; say each change of phase and of the
    count on the new model; end when the rollout pauses again (0), is done (0), stopped (5) or undone (6)."""
    from vmssroll.cli.rollout_record import emit, read_record
    from vmssroll.domain.unknown import Unknown

    clock = inv.env.clock
    give_up = None if deadlines.timeout is None else clock.monotonic() + deadlines.timeout
    phase, count = record.phase, -1
    while True:
        _, current = read_record(azure, inv)
        if current is None or current.id != record.id:
            raise Conflict(
                "the scale set's rollout record changed (another rollout started?); stopped watching"
            )
        listed = azure.instances_or_unknown(inv.target)
        if (
            not isinstance(listed, Unknown)
            and (now := sum(1 for i in listed if i.latest_model_applied)) != count
        ):
            count = now
            emit(inv, "progress", f"{now} of {len(listed)} instance(s) on the new model", onNewModel=now)
        if current.phase is not phase:
            phase = current.phase
            emit(inv, "record", f"The rollout is {_phase_text(current)}", record=current.to_json())
        if phase in ENDS:
            return int(ENDS[phase])
        if give_up is not None and clock.monotonic() >= give_up:
            raise TimedOut(f"--timeout ran out while the rollout is {phase.value}; nothing was cancelled")
        clock.sleep(deadlines.interval)


def _phase_text(record: Record) -> str:
    if record.phase is Phase.PAUSED:
        return f"paused again at {record.paused_at}%"
    if record.phase is Phase.STOPPED:
        return f"stopped: {record.reason or 'no reason recorded'}"
    return record.phase.value


def roll_back_stopped(inv: Invocation, azure: Azure, verdict: Verdict) -> int:
    """Azure stopped the roll-back an undo started (its health limits: too many instances unhealthy before or
    after a batch), or a person cancelled it: the model has the previous image, some instances still run the
    undone one, and the record says undoing. Say so, and how to go on; the watch's exit code stands."""
    from vmssroll.cli.rollout_record import emit
    from vmssroll.domain.rollout import summarize
    from vmssroll.domain.unknown import Unknown

    listed = azure.instances_or_unknown(inv.target)
    left = "an unknown number of" if isinstance(listed, Unknown) else str(len(summarize(listed).behind))
    args = inv.target.args()
    emit(
        inv,
        "stopped",
        f"Undo stopped: {verdict.message}. The model has the previous image again, but {left} instance(s) "
        "still run the undone one. Fix the cause (e.g. raise maxUnhealthyInstancePercent with `vmssroll "
        f"policy set {args} --max-unhealthy-instance-percent N`: in Rolling mode that update restarts the "
        f"roll-back, follow it with `vmssroll watch {args}`), then run `vmssroll undo {args}` again",
        reason=verdict.message,
        exitCode=int(verdict.exit_code),
    )
    return int(verdict.exit_code)


def roll_back(inv: Invocation, azure: Azure, interval: float) -> str:
    """Undo in Manual mode: the previous image is back in the model, but nothing rolls by itself there, so
    every instance behind it is upgraded at once (`manualupgrade`) and read until all settle. Instances still
    updating or initializing (a batch in flight when a gate stopped the rollout) are waited for first: they
    end on the image undone, behind the model, and are rolled back with the others."""
    from vmssroll.cli.rollout_record import emit
    from vmssroll.domain.model import Health
    from vmssroll.domain.orchestrate import settled, sick
    from vmssroll.domain.rollout import in_flight

    clock = inv.env.clock
    listed = _listed(inv, azure)
    while any(in_flight(i) or i.health is Health.INITIALIZING for i in listed):
        clock.sleep(interval)
        listed = _listed(inv, azure)
    behind = [i.instance_id for i in listed if i.latest_model_applied is False]
    if not behind:
        return "no instance runs the undone image: nothing to roll back"
    azure.manual_upgrade(inv.target, behind)
    emit(inv, "undo", f"Rolling instance(s) {', '.join(behind)} back (manualupgrade)", instanceIds=behind)
    while True:
        by_id = {i.instance_id: i for i in _listed(inv, azure)}
        if all(settled(by_id.get(i)) for i in behind):
            bad = [i for i in behind if sick(by_id.get(i))]
            back = f"{len(behind)} instance(s) rolled back to the previous image"
            return back + (f"; still unhealthy: {', '.join(bad)}" if bad else "")
        clock.sleep(interval)


def _listed(inv: Invocation, azure: Azure) -> list[Instance]:
    from vmssroll.domain.unknown import Unknown

    while True:
        listed = azure.instances_or_unknown(inv.target)
        if not isinstance(listed, Unknown):
            return listed
        inv.env.clock.sleep(10.0)
