"""`vmssroll status | watch | wait | cancel | restart | start`: follow rolling upgrades and control them."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from vmssroll.cli.common import Invocation, YesOpt, command, confirm, refuse_while_rolling
from vmssroll.cli.common import NoWaitOpt as WriteNoWaitOpt
from vmssroll.domain.durations import parse_duration
from vmssroll.domain.errors import ExitCode, InvalidInput, NotReady, VmssrollError, shown
from vmssroll.domain.rollout import summarize
from vmssroll.domain.unknown import Unknown, is_supplementary_failure
from vmssroll.domain.watch import Deadlines

TimeoutOpt = Annotated[
    str | None,
    typer.Option("--timeout", metavar="DURATION", help="Give up after this long (exit 7), e.g. 30m."),
]
DeadlineOpt = Annotated[
    str | None,
    typer.Option(
        "--progress-deadline", metavar="DURATION", help="Exit 7 when nothing moves for this long, e.g. 15m."
    ),
]
IntervalOpt = Annotated[
    str,
    typer.Option(
        "--interval",
        metavar="DURATION",
        envvar="VMSSROLL_WATCH_INTERVAL",
        help="Time between refreshes (never faster), e.g. 10s.",
    ),
]
EventsOpt = Annotated[
    Path | None,
    typer.Option(
        "--events", metavar="FILE", help="Append every event to this file as JSON Lines (- for stdout)."
    ),
]
WatchOpt = Annotated[bool, typer.Option("--watch", help="Follow the upgrade live afterwards.")]
InstancesOpt = Annotated[
    bool,
    typer.Option(
        "--instances", help="Also list the instances (on a budget of pages) and report them at the end."
    ),
]
NoWaitOpt = Annotated[bool, typer.Option("--no-wait", help="Return once Azure accepted the cancel.")]


app = typer.Typer()


class Kind(StrEnum):
    os = "os"
    extension = "extension"


def deadlines(interval: str, timeout: str | None, progress_deadline: str | None) -> Deadlines:
    """Parse the watch durations; all checked before any request."""
    every = parse_duration(interval, what="--interval").total_seconds()
    if every < 1:
        every = 1.0
    return Deadlines(
        interval=every,
        timeout=parse_duration(timeout, what="--timeout").total_seconds() if timeout else None,
        progress_deadline=(
            parse_duration(progress_deadline, what="--progress-deadline").total_seconds()
            if progress_deadline
            else None
        ),
    )


def open_events(inv: Invocation, path: Path | None) -> IO[str] | None:
    """--events, checked before any request: `-` (stdout) or a regular file we can append to.

    Opened without blocking, so a FIFO with no reader is refused instead of hanging the watch, and checked
    with fstat on the open descriptor, so a directory, device or socket is refused too."""
    import os
    import stat

    if path is None:
        return None
    if str(path) == "-":
        return inv.env.stdout
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        raise InvalidInput(
            f"--events {shown(str(path), 200)}: {exc.strerror or 'cannot be opened'}"
        ) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise InvalidInput(
            f"--events {shown(str(path), 200)}: not a regular file (give a file, or - for stdout)"
        )
    os.set_blocking(fd, True)
    return os.fdopen(fd, "a", encoding="utf-8")


@command(app, "status")
def status(inv: Invocation) -> int:
    """The latest rolling upgrade joined with the instances, and what is being rolled out."""
    from vmssroll.adapter.parallel import together
    from vmssroll.domain.results import status_result
    from vmssroll.ui.status import status_view

    azure = inv.azure()
    # One scale-set GET, one latest-upgrade GET and one instance listing (which may fail: unknown), joined;
    # independent, so sent together (issue 19).
    ss, latest, listed = together(
        lambda: azure.scale_set(inv.target),
        lambda: azure.latest_upgrade(inv.target),
        lambda: azure.instances_or_unknown(inv.target),
    )
    result = status_result(ss, latest, listed, inv.target.args())
    inv.out.result(result.to_json(), status_view(result))
    return ExitCode.OK


@command(app, "watch")
def watch(
    inv: Invocation,
    timeout: TimeoutOpt = None,
    progress_deadline: DeadlineOpt = None,
    interval: IntervalOpt = "10s",
    events: EventsOpt = None,
) -> int:
    """Follow the latest upgrade live; exit 0 Completed, 5 Faulted, 6 Cancelled, 7 timeout. Ctrl-C never
    cancels."""
    from vmssroll.cli.watching import follow

    inv.out.streaming = inv.json  # JSON Lines, a failure included
    limits = deadlines(interval, timeout, progress_deadline)
    _ = inv.target  # validated before the events file is created
    sink = open_events(inv, events)
    try:
        verdict, snap = follow(inv, limits, events_file=sink)
    finally:
        if sink is not None and sink is not inv.env.stdout:
            sink.close()
    if inv.out.terminal and not inv.json and snap is not None and snap.status is not None:
        inv.out.note(verdict.message)  # the live view ends on the instances; with no upgrade it said it all
    if not inv.json:
        _next_step(inv, None, snap, listing=False)
    return int(verdict.exit_code)


@command(app, "wait")
def wait(
    inv: Invocation,
    timeout: TimeoutOpt = None,
    progress_deadline: DeadlineOpt = None,
    interval: IntervalOpt = "10s",
    instances: InstancesOpt = False,
) -> int:
    """Wait for the latest upgrade to end, with no live view: the same exit codes as watch.

    One request per refresh (the latest upgrade) unless --instances."""
    from vmssroll.cli.watching import follow

    limits = deadlines(interval, timeout, progress_deadline)
    verdict, snap = follow(inv, limits, quiet=True, instances=instances)
    missing = snap.unknown if snap else None
    doc: dict[str, Any] = {
        "message": verdict.message,
        "exitCode": int(verdict.exit_code),
        "upgrade": snap.status.document if snap and snap.status else None,
        "unknown": {missing.part: missing.reason} if missing else {},
        "nextStep": _next_step(inv, None, snap, listing=False),
    }
    if missing and not inv.json:
        inv.out.note(missing.line())
    if instances:
        doc["instances"] = snap.summary.to_json() if snap and snap.summary else None
        doc["instancesAsOf"] = snap.listing.at if snap and snap.listing else None
    inv.out.result(doc, verdict.message)
    return int(verdict.exit_code)


@command(app, "cancel")
def cancel(
    inv: Invocation, yes: YesOpt = False, no_wait: NoWaitOpt = False, interval: IntervalOpt = "10s"
) -> int:
    """Cancel the running upgrade: instances in flight finish first. Nothing running: exit 8."""
    from vmssroll.cli.watching import follow

    limits = deadlines(interval, None, None)
    azure = inv.azure()
    confirm(inv, f"Cancel the rolling upgrade of {inv.target.name}?", yes=yes)
    azure.cancel(inv.target)
    inv.out.note("Cancel accepted; instances in flight finish first.")
    if no_wait:
        inv.out.result({"cancelRequested": True}, "Cancel requested.")
        return ExitCode.OK
    verdict, snap = follow(inv, limits, quiet=True)
    doc = {
        "cancelRequested": True,
        "message": verdict.message,
        "upgrade": snap.status.document if snap and snap.status else None,
        "nextStep": _next_step(inv, azure, snap, listing=True),
    }
    inv.out.result(doc, verdict.message)
    return ExitCode.OK if verdict.exit_code in (ExitCode.CANCELLED, ExitCode.OK) else int(verdict.exit_code)


@command(app, "restart")
def restart(
    inv: Invocation,
    yes: YesOpt = False,
    watch_: WatchOpt = False,
    interval: IntervalOpt = "10s",
    no_wait: WriteNoWaitOpt = False,
) -> int:
    """Restart after a cancel or a fault with an empty model update (PATCH with If-Match, touching nothing).

    With no instance behind the model the stopped upgrade was an OS image or extension upgrade: it says so and
    names `start` (exit 3, nothing sent)."""
    from vmssroll.cli.writes import accepted, follow_write, judge, read_for_write, show, waiting
    from vmssroll.domain.consequence import Effect, Write, WriteKind

    inv.out.streaming = inv.json and watch_  # JSON Lines, a failure included
    if no_wait and watch_:
        raise InvalidInput("--no-wait and --watch contradict each other: give one")
    limits = deadlines(interval, None, None)
    azure = inv.azure()
    ss, latest, instances = read_for_write(inv, azure)
    refuse_while_rolling(inv, azure, latest)
    result = judge(inv, azure, ss, Write(WriteKind.RESTART), instances=instances, latest=latest)
    if result.effect is Effect.NOTHING_TO_DO:
        if result.next_step is not None:
            raise NotReady(
                f"nothing to restart on {ss.name}: {result.text}",
                hint=f"start it again: {result.next_step.command(inv.target.args())}",
            )
        message = "Nothing to do: every instance is on the latest model."
        inv.out.result({"restarted": False, "message": message, "consequence": result.to_json()}, message)
        return ExitCode.OK
    if (ss.upgrade_policy.mode or "Manual") != "Rolling":
        raise NotReady(
            f"{ss.name} is in {ss.upgrade_policy.mode or 'Manual'} mode: an empty model update starts no rolling upgrade",
            hint=f"switch with `vmssroll enable-rolling {inv.target.args()}`",
        )
    behind = None if isinstance(instances, Unknown) else summarize(instances).behind
    if behind:
        inv.out.note(
            f"{len(behind)} instance(s) not on the latest model: {', '.join(behind[:20])}{' …' if len(behind) > 20 else ''}"
        )
    if not yes:  # with --yes it comes with the result, so a failure stays one line on stderr
        show(inv, result)
    confirm(inv, f"Restart the rolling upgrade of {ss.name}?", yes=yes)
    # An empty PATCH changes nothing but the etag: a new etag after a lost answer means it landed.
    with waiting(inv, no_wait=no_wait) as wait:
        stored = azure.patch(inv.target, {}, ss.etag, applied=lambda now: now.etag != ss.etag, wait=wait)
    doc: dict[str, Any] = {"restarted": True, "behind": None if behind is None else list(behind)}
    if wait is None:
        doc["consequence"] = result.to_json()
        return accepted(inv, doc, stored, follow_write(inv, rollout=True), "Restart accepted.")
    return after_start(inv, limits, watch_, doc | {"consequence": result.to_json()})


@command(app, "start")
def start(
    inv: Invocation,
    kind: Annotated[Kind, typer.Argument(help="os: OS image upgrade; extension: extension upgrade.")],
    yes: YesOpt = False,
    watch_: WatchOpt = False,
    interval: IntervalOpt = "10s",
) -> int:
    """Start an OS-image or extension rolling upgrade of every instance (refused while one is running)."""
    from vmssroll.cli.writes import judge, read_for_write, show
    from vmssroll.domain.consequence import Write, WriteKind

    inv.out.streaming = inv.json and watch_  # JSON Lines, a failure included
    limits = deadlines(interval, None, None)
    azure = inv.azure()
    ss, latest, instances = read_for_write(inv, azure)
    if kind is Kind.os:
        _check_os_upgrade(inv, ss)
    refuse_while_rolling(inv, azure, latest)
    write = Write(WriteKind.START_OS if kind is Kind.os else WriteKind.START_EXTENSION)
    result = judge(inv, azure, ss, write, latest=latest, instances=instances)
    if not yes:  # with --yes it comes with the result, so a failure stays one line on stderr
        show(inv, result)
    confirm(inv, f"Start an {kind.value} rolling upgrade of {inv.target.name}?", yes=yes)
    operation = azure.start(inv.target, kind.value)
    doc = {"started": kind.value, "operation": operation, "consequence": result.to_json()}
    return after_start(inv, limits, watch_, doc, azure, operation=operation)


def _next_step(inv: Invocation, azure: Any, snap: Any, *, listing: bool) -> str | None:
    """The next step after a stop, from the instances the watch saw (or, with `listing`, read now)."""
    from vmssroll.cli.writes import next_step, read_instances

    status = snap.status if snap else None
    if status is None or status.code.lower() not in ("cancelled", "faulted"):
        return None
    if listing:
        instances = read_instances(inv, azure)
        behind = None if isinstance(instances, Unknown) else len(summarize(instances).behind)
    else:
        behind = len(snap.summary.behind) if snap.summary is not None else None
    return next_step(inv, status, behind)


def _check_os_upgrade(inv: Invocation, ss: Any) -> None:
    """Refuse an OS upgrade Azure would refuse (not a platform image), before sending it; note a pinned
    one."""
    from vmssroll.domain.image import os_upgrade_note, os_upgrade_refusal

    refusal = os_upgrade_refusal(ss.name, ss.image)
    if refusal:
        raise NotReady(
            f"{refusal}; nothing was sent",
            hint=f"roll out a new image version instead: vmssroll set-image {inv.target.args()} --version ...",
        )
    note = os_upgrade_note(ss.image)
    if note:
        inv.out.note(note)


def after_start(
    inv: Invocation,
    limits: Deadlines,
    watch_: bool,
    doc: dict[str, Any],
    azure: Any = None,
    *,
    operation: str | None = None,
) -> int:
    what = f" It {doc['consequence']['text']}." if doc.get("consequence") else ""
    if not watch_:
        # The status the upgrade reached, read once (a failed read is unknown, not fatal).
        if azure is not None:
            try:
                latest = azure.latest_upgrade(inv.target)
            except VmssrollError as err:  # a 403 too: the upgrade started all the same
                if not is_supplementary_failure(err):
                    raise
                doc |= {"state": None, "upgrade": None, "unknown": err.message}
                if not inv.json:
                    inv.out.note(f"the state it reached is unknown: {err.message}")
            else:
                doc |= {
                    "state": latest.code if latest else None,
                    "upgrade": latest.document if latest else None,
                }
        state = f" ({doc['state']})" if doc.get("state") else ""
        inv.out.result(doc, f"Started{state}.{what} Follow it with: vmssroll watch {inv.target.args()}")
        return ExitCode.OK
    if what and not inv.json:
        inv.out.note(f"Started.{what}")
    from vmssroll.cli.watching import follow

    verdict, _ = follow(inv, limits, operation=operation)
    if inv.out.terminal and not inv.json:
        inv.out.note(verdict.message)
    return int(verdict.exit_code)
