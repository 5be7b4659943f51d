"""`vmssroll fleet plan | status`: one change through many scale sets, in waves, across subscriptions.

The fleet file is read and validated before any request (every problem at once, exit 2); the targets are
resolved through ARM (`list_all` per subscription, one client each, listed together); each set's progress is
read from its rollout record (its tags), so `status` needs no other state. `fleet_command` and `FleetRun` are
what every `fleet` command shares (the runner, `fleet rollout`, registers on this sub-app too).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, get_type_hints

import typer

from vmssroll.cli.common import (
    CaBundleOpt,
    CloudOpt,
    DebugOpt,
    EndpointOpt,
    Invocation,
    OutputFormat,
    OutputOpt,
    VerboseOpt,
    run,
)
from vmssroll.cli.environment import Environment
from vmssroll.domain.errors import ExitCode, InvalidInput, NotReady, VmssrollError

if TYPE_CHECKING:
    from vmssroll.adapter.client import Azure
    from vmssroll.adapter.fleet import Resolved
    from vmssroll.domain.fleet import Fleet, Member, WavePlan

app = typer.Typer(
    help="Fleets: one change through many scale sets, in waves, across subscriptions (a fleet file).",
    invoke_without_command=True,
)

FileArg = Annotated[
    str,
    typer.Argument(
        metavar="FLEET_FILE", help="The fleet file, YAML (.yaml/.yml) or JSON.", show_default=False
    ),
]
READS_AT_ONCE = 8  # scale sets read together (each read may itself send two or three requests at once)
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

_SHARED: list[tuple[str, Any, Any]] = [
    ("cloud", CloudOpt, "AzureCloud"),
    ("endpoint", EndpointOpt, None),
    ("ca_bundle", CaBundleOpt, None),
    ("output", OutputOpt, OutputFormat.table),
    ("verbose", VerboseOpt, False),
    ("debug", DebugOpt, False),
]


@dataclass
class FleetRun:
    """One run of a `fleet` command: its options, the fleet file read, and a client per subscription."""

    inv: Invocation  # no scale set of its own: the fleet names them
    path: str

    @functools.cached_property
    def fleet(self) -> Fleet:
        """The fleet file, parsed and validated (InvalidInput with every problem; nothing sent)."""
        from vmssroll.documents import DocumentError, excerpt, load_file
        from vmssroll.domain.fleet import parse_fleet

        try:
            document = load_file(self.path)
        except DocumentError as exc:
            raise InvalidInput(f"fleet file {excerpt(self.path)}: {exc}") from None
        return parse_fleet(document)

    @functools.cached_property
    def clients(self) -> dict[str, Azure]:
        """One client per subscription of the fleet, all presenting one token (one `az` run); every connection
        is validated before the first client is made."""
        from vmssroll.adapter.connection import resolve_connection

        connections = {
            sub: resolve_connection(
                cloud=self.inv.cloud,
                endpoint=self.inv.endpoint,
                ca_bundle=self.inv.ca_bundle,
                subscription=sub,
                debug=self.inv.debug,
            )
            for sub in self.fleet.targets.subscriptions
        }
        env = self.inv.env
        clients: dict[str, Azure] = {}
        for sub, conn in connections.items():
            shared = next(iter(clients.values()), None)
            if shared is None or env.azure_factory is not None:
                clients[sub] = env.azure(conn, True)
            else:  # one token for every subscription: the credential does not depend on the subscription
                from vmssroll.adapter.client import Azure

                clients[sub] = Azure(conn, retries=True, credential=shared.credential)
        return clients

    def resolve(self) -> Resolved:
        from vmssroll.adapter.fleet import resolve

        return resolve(self.fleet, self.clients)

    def for_member(self, member: Member) -> Invocation:
        """An invocation of a single-set command for one member (its target is the member's id)."""
        inv = self.inv
        return Invocation(
            env=inv.env, resource_group=None, name=None, id=member.id, subscription=None, cloud=inv.cloud,
            endpoint=inv.endpoint, ca_bundle=inv.ca_bundle, output=inv.output, verbose=inv.verbose,
            debug=inv.debug,
        )  # fmt: skip


def fleet_command(group: typer.Typer, name: str, **options: Any) -> Callable[[F], F]:
    """Register `fn(run: FleetRun, **own_options)` as `vmssroll fleet NAME FLEET_FILE [own options]`, with the
    connection and output options every command has (no scale set options: the file names the sets and
    their subscriptions), inside the error boundary."""

    def decorate(fn: F) -> F:
        hints = get_type_hints(fn, include_extras=True)
        own = [
            p.replace(annotation=hints.get(p.name, p.annotation))
            for p in list(inspect.signature(fn).parameters.values())[1:]
        ]
        file_param = inspect.Parameter("file", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=FileArg)
        shared = [
            inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=d, annotation=a)
            for n, a, d in _SHARED
        ]
        ctx_param = inspect.Parameter(
            "ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context
        )

        def wrapper(ctx: typer.Context, file: str, **kwargs: Any) -> None:
            values = {n: kwargs.pop(n) for n, _, _ in _SHARED}
            env = ctx.obj if isinstance(ctx.obj, Environment) else Environment()
            inv = Invocation(env=env, resource_group=None, name=None, id=None, subscription=None, **values)
            code = run(inv, functools.partial(fn, FleetRun(inv, file), **kwargs))
            if code:
                raise typer.Exit(int(code))

        wrapper.__name__ = fn.__name__
        wrapper.__doc__ = fn.__doc__
        wrapper.__signature__ = inspect.Signature([ctx_param, file_param, *own, *shared])  # type: ignore[attr-defined]
        wrapper.__annotations__ = {
            "ctx": typer.Context,
            "file": FileArg,
            **{p.name: p.annotation for p in own},
        }
        wrapper.__annotations__ |= {n: a for n, a, _ in _SHARED}
        group.command(name, **options)(wrapper)
        return fn

    return decorate


def in_groups(calls: Iterable[Callable[[], T]], size: int = READS_AT_ONCE) -> list[T]:
    """Run the calls `size` at a time (reads sent together, adapter/parallel.py), results in order."""
    from vmssroll.adapter.parallel import together

    pending, results = list(calls), []
    for start in range(0, len(pending), size):
        results += together(*pending[start : start + size])
    return results


# fleet plan -------------------------------------------------------------------------------------------------


def readiness(run: FleetRun, member: Member) -> dict[str, Any]:
    """Whether one set is ready for the fleet's change, as `rollout` would judge it (`check` for Rolling, and
    Rolling mode for an image change); a read that fails leaves it unknown, with the reason."""
    from vmssroll.cli.policy_change import preflight
    from vmssroll.domain.prereq import Purpose
    from vmssroll.domain.progressive import Kind
    from vmssroll.domain.unknown import Unknown, is_supplementary_failure

    try:
        _, report = preflight(run.for_member(member), run.clients[member.subscription], Purpose.ROLLING)
    except VmssrollError as err:
        if not is_supplementary_failure(err):
            raise
        return {"ready": None, "problems": [], "unknown": Unknown.of("readiness", "reading", err).reason}
    problems = [f"{r.name}: {r.message}" for r in report.failed]
    if run.fleet.change.kind is Kind.IMAGE and (member.mode or "Manual").lower() != "rolling":
        problems.append(f"mode: {member.mode or 'Manual'} mode: a model change rolls nothing there")
    unknown = "; ".join(u.line() for u in report.unknown) or None
    return {"ready": not problems, "problems": problems, "unknown": unknown}


@fleet_command(app, "plan")
def plan(run: FleetRun) -> int:
    """Resolve the fleet's targets and show its waves in order: each scale set (subscription, resource group,
    region, instances, mode, readiness as `check` judges it, where it stands in this fleet), the total, and
    what each wave will do. Reads only.

    Exit 0 when every target is in a wave and ready; 3 when a set is not ready or busy with another rollout;
    2 for a bad fleet file, a target in no wave, an id that names no scale set, or no target at all.
    """
    from vmssroll.domain.fleet import assign, missing_ids, unassigned
    from vmssroll.ui.fleet import plan_view

    fleet = run.fleet
    _ = run.clients  # every connection checked before the first request
    resolved = run.resolve()
    plans = assign(fleet, resolved.members)
    left, missing = unassigned(fleet, resolved.members), missing_ids(fleet, resolved.members)
    members = [m for p in plans for m in p.members]
    found = in_groups(functools.partial(readiness, run, m) for m in members)
    ready = dict(zip((m.id for m in members), found, strict=True))
    doc = _document(fleet, plans, resolved, left=left, missing=missing, extra=ready)
    run.inv.out.result(doc, plan_view(doc))
    problems = [f"{m.id}: a target in no wave" for m in left] + [f"{i}: no such scale set" for i in missing]
    if problems or not resolved.members:
        hint = "add a wave without select to take every target left" if left else None
        raise _Invalid(problems or ["the fleet's targets match no scale set"], hint=hint)
    if any(s["ready"] is False or s["state"] == "busy" for w in doc["waves"] for s in w["sets"]):
        raise NotReady("some scale sets are not ready or busy (shown above); nothing was sent")
    return ExitCode.OK


class _Invalid(InvalidInput):
    """Problems found once the targets were listed, one `error:` line each."""

    def __init__(self, problems: list[str], *, hint: str | None = None) -> None:
        super().__init__("; ".join(problems), hint=hint)
        self.problems_text = [f"fleet plan: {p}" for p in problems]


# fleet status -----------------------------------------------------------------------------------------------


def latest_line(run: FleetRun, member: Member, record: Any) -> str:
    """Where this fleet's rollout on one set stands, its record read beside Azure's latest upgrade (a
    supplementary read: unknown with its reason when it fails)."""
    from vmssroll.domain.progressive import standing
    from vmssroll.domain.target import ScaleSetRef
    from vmssroll.domain.unknown import Unknown, is_supplementary_failure

    ref = ScaleSetRef(member.subscription, member.resource_group, member.name)
    try:
        latest = run.clients[member.subscription].latest_upgrade(ref)
    except VmssrollError as err:
        if not is_supplementary_failure(err):
            raise
        return (
            f"{standing(record, None)}; latest upgrade: {Unknown.of('latest upgrade', 'reading', err).line()}"
        )
    return standing(record, latest)


@fleet_command(app, "status")
def status(run: FleetRun) -> int:
    """Where the fleet stands, read from the scale sets themselves: each target's wave and its state in this
    fleet (pending, active, done, stopped, or busy with another rollout), from the rollout record each set
    keeps in its tags; Azure's latest upgrade is read only for the sets this fleet has begun and not finished.
    Reads only; exit 0 (2 for a bad fleet file)."""
    from vmssroll.domain.fleet import SetState, assign, standing_from_tags, unassigned
    from vmssroll.ui.fleet import status_view

    fleet = run.fleet
    _ = run.clients
    resolved = run.resolve()
    plans = assign(fleet, resolved.members)
    members = [m for p in plans for m in p.members]
    states = {m.id: standing_from_tags(fleet.name, resolved.model(m).tags) for m in members}
    unfinished = [m for m in members if states[m.id][0] in (SetState.ACTIVE, SetState.STOPPED)]
    lines = dict(
        zip(
            (m.id for m in unfinished),
            in_groups(functools.partial(latest_line, run, m, states[m.id][1]) for m in unfinished),
            strict=True,
        )
    )
    extra = {m.id: _state_json(fleet.name, *states[m.id], lines.get(m.id)) for m in members}
    doc = _document(fleet, plans, resolved, left=unassigned(fleet, resolved.members), missing=(), extra=extra)
    run.inv.out.result(doc, status_view(doc))
    return ExitCode.OK


def _state_json(
    fleet_name: str, state: Any, record: Any, unreadable: str | None, line: str | None
) -> dict[str, Any]:
    """A set's place in the fleet for `status`: this fleet's record (phase, checkpoints passed, reason) and
    one line on where it stands."""
    from vmssroll.domain.fleet import SetState, record_id

    ours = record if record is not None and record.id == record_id(fleet_name) else None
    if line is None:
        line = {
            SetState.DONE: "done",
            SetState.BUSY: f"busy: rollout {record.id if record else '?'} is "
            f"{record.phase.value if record else '?'}; not touched",
            SetState.UNKNOWN: f"unknown: {unreadable}",
        }.get(state, "not started")
    return {
        "phase": ours.phase.value if ours else None,
        "passed": list(ours.passed) if ours else [],
        "reason": ours.reason if ours else None,
        "standing": line,
    }


# The document both commands show ----------------------------------------------------------------------------


def _document(
    fleet: Fleet,
    plans: tuple[WavePlan, ...],
    resolved: Resolved,
    *,
    left: Iterable[Member],
    missing: Iterable[str],
    extra: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    from vmssroll.domain.fleet import member_json, standing_from_tags, wave_does

    def row(member: Member) -> dict[str, Any]:
        state = standing_from_tags(fleet.name, resolved.model(member).tags)[0]
        return {**member_json(member), "state": state.value, **extra.get(member.id, {})}

    waves = [
        {**p.wave.to_json(), "does": wave_does(fleet, p), "sets": [row(m) for m in p.members]} for p in plans
    ]
    states: dict[str, int] = {}
    for wave in waves:
        for s in wave["sets"]:
            states[s["state"]] = states.get(s["state"], 0) + 1
    return {
        "fleet": fleet.name,
        "change": fleet.change.to_json(),
        "record": fleet.record_id,
        "subscriptions": list(fleet.targets.subscriptions),
        "listed": resolved.listed,
        "total": {
            "scaleSets": sum(len(p.members) for p in plans),
            "instances": sum(m.capacity for p in plans for m in p.members),
            "states": states,
        },
        "waves": waves,
        "gates": list(fleet.gates),
        "stop": {"maxFaulted": fleet.stop.max_faulted, "undo": fleet.stop.undo},
        "unassigned": [member_json(m) for m in left],
        "missingIds": list(missing),
    }
