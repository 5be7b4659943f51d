"""What every write shares: read what the consequence needs, show it, and refuse the dangerous ones unless
--force."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from vmssroll.cli.common import UNREAD, Invocation
from vmssroll.domain.consequence import Consequence, Write, consequence
from vmssroll.domain.errors import NotReady
from vmssroll.domain.unknown import Unknown

if TYPE_CHECKING:
    from vmssroll.domain.model import Instance, ScaleSet
    from vmssroll.domain.upgrade import UpgradeStatus
    from vmssroll.domain.writing import WriteWait


def read_instances(inv: Invocation, azure: Any) -> Sequence[Instance] | Unknown:
    """The instances, or why they could not be read (a supplementary read: it never aborts the write)."""
    listed: Sequence[Instance] | Unknown = azure.instances_or_unknown(inv.target)
    if isinstance(listed, Unknown):
        inv.out.warn(f"{listed.line()}: what the write sets in motion is unsure")
    return listed


def judge(
    inv: Invocation,
    azure: Any,
    ss: ScaleSet,
    write: Write,
    *,
    instances: Sequence[Instance] | Unknown | None = None,
    latest: UpgradeStatus | None = UNREAD,
) -> Consequence:
    """The write's consequence; reads the latest upgrade and the instances unless the command has them (both
    at once when it has neither: they do not depend on each other, issue 19)."""
    from vmssroll.adapter.parallel import together

    if latest is UNREAD and instances is None:
        latest, instances = together(
            lambda: azure.latest_upgrade(inv.target), lambda: read_instances(inv, azure)
        )
    if latest is UNREAD:
        latest = azure.latest_upgrade(inv.target)
    if instances is None:
        instances = read_instances(inv, azure)
    return consequence(ss, instances, latest, write)


def read_for_write(
    inv: Invocation, azure: Any
) -> tuple[ScaleSet, UpgradeStatus | None, Sequence[Instance] | Unknown]:
    """The scale set, its latest upgrade and its instances: what a write that starts an upgrade checks and
    judges, read together (independent reads, issue 19). A failure is raised as the sequential reads would
    have raised it first; a failed listing is unknown, with its reason."""
    from vmssroll.adapter.parallel import together

    ss, latest, instances = together(
        lambda: azure.scale_set(inv.target),
        lambda: azure.latest_upgrade(inv.target),
        lambda: read_instances(inv, azure),
    )
    return ss, latest, instances


def show(inv: Invocation, result: Consequence) -> None:
    """The consequence on stderr, beside the diff and before the question (the JSON result carries it too)."""
    from vmssroll.ui.consequence import consequence_view

    inv.out.say(consequence_view(result.to_json()))


def preview(inv: Invocation, doc: dict[str, Any], result: Consequence, diff: Any, *, force: bool) -> int:
    """--dry-run: the diff and the consequence as the result; one that would be refused exits 3 all the
    same."""
    from vmssroll.domain.errors import ExitCode
    from vmssroll.ui.consequence import consequence_view

    if result.refusal is None or force:
        inv.out.result(doc, consequence_view(result.to_json(), above=diff))
    else:
        inv.out.say(diff)
        show(inv, result)
    guard(inv, result, force=force)
    return ExitCode.OK


def guard(inv: Invocation, result: Consequence, *, force: bool) -> None:
    """Refuse a dangerous write (exit 3, nothing sent) unless --force; with --force, say loudly what goes."""
    if result.refusal is None:
        return
    if not force:
        raise NotReady(f"refused: {result.refusal.message}; nothing was sent", hint=_hint(inv, result))
    inv.out.warn(f"--force: sending although {result.refusal.message}")


def next_step(inv: Invocation, status: UpgradeStatus | None, behind: int | None) -> str | None:
    """After a cancelled or faulted upgrade: the command that carries on, by the kind of upgrade it was (a
    note on stderr, and returned for the JSON result)."""
    from vmssroll.domain.consequence import NextStep, after_stop

    step = after_stop(status, behind)
    if step is None or status is None:
        return None
    command = step.command(inv.target.args())
    if step is NextStep.RESTART:
        why = f"a model change with {behind} instance(s) still behind: an empty model update rolls them again"
    else:
        why = "no instance is behind the model, so it was an OS image or extension upgrade: start it again"
    stopped = "was cancelled" if status.code.lower() == "cancelled" else "faulted"
    inv.out.note(f"The upgrade {stopped}; {why}: {command}")
    return command


def _hint(inv: Invocation, result: Consequence) -> str:
    from vmssroll.domain.consequence import Danger

    args = inv.target.args()
    assert result.refusal is not None
    match result.refusal.danger:
        case Danger.MANUAL_WHILE_ROLLING:
            first = f"to stop the upgrade: vmssroll cancel {args}; "
        case Danger.MODEL_CHANGE_WHILE_ROLLING:
            first = f"let it finish (vmssroll wait {args}) or cancel it first; "
        case Danger.AUTOMATIC_WITH_INSTANCES_BEHIND:
            first = f"to roll them in batches instead: vmssroll enable-rolling {args}; "
        case _:
            first = ""
    return first + "--force sends it anyway"


@contextmanager
def waiting(inv: Invocation, *, no_wait: bool) -> Iterator[WriteWait | None]:
    """How a write waits for Azure to finish it (None with --no-wait), shown on stderr while it does.

    On a terminal a Rich status line with the elapsed time; off one, a line when the wait starts and one when
    it ends. Nothing is said when Azure has finished at the first poll (Manual mode)."""
    from vmssroll.domain.writing import WriteProgress, WriteWait, finished_line, waiting_line

    if no_wait:
        yield None
        return
    status: Any = None
    said: list[bool] = []

    def progress(p: WriteProgress) -> None:
        nonlocal status
        if p.done:
            if status is not None:
                status.stop()
                status = None
            if said:
                inv.out.note(finished_line(p))
            return
        if inv.out.terminal:
            if status is None:
                status = inv.out.stderr.status(waiting_line(p))
                status.start()
            else:
                status.update(waiting_line(p))
        elif not said:
            inv.out.note(f"{waiting_line(p, elapsed=False)}; polling as often as Azure's Retry-After asks")
        said[:] = [True]

    try:
        yield WriteWait(inv.env.clock, progress, tick=1.0 if inv.out.terminal else None)
    finally:
        if status is not None:
            status.stop()


def accepted(inv: Invocation, doc: dict[str, Any], stored: ScaleSet, follow: str, renderable: Any) -> int:
    """--no-wait: the result says the change was accepted, not that it finished, and how to follow it."""
    from vmssroll.domain.errors import ExitCode
    from vmssroll.domain.writing import accepted_line

    doc.update(
        applied=False,
        accepted=True,
        finished=False,
        provisioningState=stored.provisioning_state,
        follow=follow,
    )
    inv.out.result(doc, renderable)
    if not inv.json:
        inv.out.note(accepted_line(stored.name, stored.provisioning_state, follow))
    return ExitCode.OK


def follow_write(inv: Invocation, *, rollout: bool = False) -> str:
    """The command that shows whether a write has finished (provisioningState), or the rollout it started."""
    return f"vmssroll {'watch' if rollout else 'policy show'} {inv.target.args()}"
