"""`vmssroll rollout`: the command; the rollout itself is cli/progressive.py's (Azure rolls the batches) or,
with --orchestrate, cli/orchestrate.py's (vmssroll sends them). Kept apart so that neither of those imports
the other."""

from __future__ import annotations

from typing import Annotated

import typer

from vmssroll.cli.common import Invocation, YesOpt, command, confirm, need_answer
from vmssroll.cli.progressive import (
    OnFailure,
    Rollout,
    Settings,
    TimeoutOpt,
    preflight,
    settings,
    start,
    what_rolls,
)
from vmssroll.cli.upgrades import EventsOpt, IntervalOpt, open_events

app = typer.Typer()


@command(app, "rollout")
def rollout(
    inv: Invocation,
    image_version: Annotated[
        str | None, typer.Option("--image-version", metavar="VERSION", help="Roll out this image version.")
    ] = None,
    image_id: Annotated[
        str | None, typer.Option("--image-id", metavar="ID", help="Roll out this image (resource id).")
    ] = None,
    os_: Annotated[bool, typer.Option("--os", help="Roll out the latest platform OS image.")] = False,
    extensions: Annotated[
        bool, typer.Option("--extensions", help="Roll out the model's extensions.")
    ] = False,
    checkpoint: Annotated[
        list[str] | None,
        typer.Option(
            "--checkpoint", metavar="PERCENT", help="Pause when this share is upgraded (repeatable)."
        ),
    ] = None,
    gate: Annotated[
        list[str] | None,
        typer.Option("--gate", metavar="CMD", help="Shell command that must exit 0 (repeatable)."),
    ] = None,
    gate_interval: Annotated[
        str, typer.Option("--gate-interval", metavar="DURATION", help="Time between gate runs.")
    ] = "30s",
    gate_failures: Annotated[
        int, typer.Option("--gate-failures", metavar="N", help="Consecutive failures of a gate that stop it.")
    ] = 3,
    gate_timeout: Annotated[
        str, typer.Option("--gate-timeout", metavar="DURATION", help="A gate running longer fails.")
    ] = "30s",
    bake: Annotated[
        str | None, typer.Option("--bake", metavar="DURATION", help="Keep the gates running after Completed.")
    ] = None,
    on_failure: Annotated[
        OnFailure,
        typer.Option("--on-failure", help="After a stop: leave it (stop) or put the image back (undo)."),
    ] = OnFailure.stop,
    auto_resume_after: Annotated[
        str | None,
        typer.Option(
            "--auto-resume-after", metavar="DURATION", help="Resume a checkpoint by itself, gates passing."
        ),
    ] = None,
    orchestrate: Annotated[
        bool,
        typer.Option(
            "--orchestrate",
            help="Manual mode: vmssroll upgrades the instances itself, in the plan's batches.",
        ),
    ] = False,
    canary: Annotated[
        int | None,
        typer.Option(
            "--canary", metavar="N", help="With --orchestrate: the first batch (default 1 instance)."
        ),
    ] = None,
    events: EventsOpt = None,
    yes: YesOpt = False,
    interval: IntervalOpt = "10s",
    timeout: TimeoutOpt = None,
) -> int:
    """Roll out a change progressively: checkpoints to pause at, gates that stop it, a bake, and undo.

    Exit 0 done and baked; 3 refused at preflight (nothing sent); 5 stopped by Azure or by a gate;
    6 cancelled by a person; 7 --timeout; 8 a concurrent change."""
    opts = settings(
        image_version=image_version, image_id=image_id, os_=os_, extensions=extensions, checkpoint=checkpoint,
        gate=gate, gate_interval=gate_interval, gate_failures=gate_failures, gate_timeout=gate_timeout,
        bake=bake, on_failure=on_failure, auto_resume_after=auto_resume_after, interval=interval,
        timeout=timeout, orchestrate=orchestrate, canary=canary,
    )  # fmt: skip
    need_answer(inv, yes=yes)
    inv.events = open_events(inv, events)
    try:
        return _rollout(inv, opts, yes)
    finally:
        if inv.events is not None and inv.events is not inv.env.stdout:
            inv.events.close()


def _rollout(inv: Invocation, opts: Settings, yes: bool) -> int:
    azure = inv.azure()
    began = inv.env.clock.monotonic()
    runner: Rollout
    if opts.orchestrate:  # Manual mode: vmssroll sends the batches itself
        from vmssroll.cli.orchestrate import preflight as orchestrated  # not loaded for other commands

        ss, runner = orchestrated(inv, azure, opts)
        latest = None
    else:
        ss, latest, runner = preflight(inv, azure, opts)
    confirm(inv, f"Roll out {what_rolls(opts)} to {ss.name}?", yes=yes)
    runner.deadline = None if opts.timeout is None else began + opts.timeout
    start(inv, azure, ss, runner)
    runner.stale = latest.start_time if latest else None
    return runner.run()
