"""What every command shares: the target and connection options, the environment, the error boundary."""

from __future__ import annotations

import functools
import inspect
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import IO, TYPE_CHECKING, Annotated, Any, TypeVar, get_type_hints

import typer

from vmssroll.cli.environment import Environment
from vmssroll.domain.errors import Declined, ExitCode, InvalidInput, VmssrollError
from vmssroll.domain.target import ScaleSetRef, check_subscription, resolve_target

if TYPE_CHECKING:
    from vmssroll.adapter.client import Azure
    from vmssroll.adapter.connection import Connection
    from vmssroll.domain.upgrade import UpgradeStatus
    from vmssroll.ui.console import Out


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


CONNECTION_PANEL = "Scale set and connection"

ResourceGroupOpt = Annotated[
    str | None,
    typer.Option(
        "--resource-group", "-g", metavar="GROUP", help="Resource group.", rich_help_panel=CONNECTION_PANEL
    ),
]
NameOpt = Annotated[
    str | None,
    typer.Option("--name", "-n", metavar="NAME", help="Scale set name.", rich_help_panel=CONNECTION_PANEL),
]
IdsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--ids",
        "--id",
        metavar="ID",
        help="Full resource id of the scale set; as in az, several ids (after one --ids, or repeated) run the "
        "command for each and exit with the highest code.",
        rich_help_panel=CONNECTION_PANEL,
    ),
]
SubscriptionOpt = Annotated[
    str | None,
    typer.Option(
        "--subscription",
        "-s",
        metavar="ID",
        envvar="AZURE_SUBSCRIPTION_ID",
        help="Subscription id.",
        rich_help_panel=CONNECTION_PANEL,
    ),
]
CloudOpt = Annotated[
    str,
    typer.Option(
        "--cloud",
        metavar="CLOUD",
        envvar="VMSSROLL_CLOUD",
        help="AzureCloud, AzureUSGovernment or AzureChinaCloud.",
        rich_help_panel=CONNECTION_PANEL,
    ),
]
EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--endpoint",
        metavar="URL",
        envvar="VMSSROLL_ARM_ENDPOINT",
        help="Any ARM-compatible endpoint, such as the emulator.",
        rich_help_panel=CONNECTION_PANEL,
    ),
]
CaBundleOpt = Annotated[
    str | None,
    typer.Option(
        "--ca-bundle",
        metavar="FILE",
        envvar="VMSSROLL_CA_BUNDLE",
        help="PEM file of CAs to trust.",
        rich_help_panel=CONNECTION_PANEL,
    ),
]
OutputOpt = Annotated[
    OutputFormat, typer.Option("--output", "-o", help="table for people, json for scripts.")
]
VerboseOpt = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="Say more on stderr: every request (method, path, status, time, request ids), what each write sent.",
    ),
]
DebugOpt = Annotated[
    bool,
    typer.Option(
        "--debug", help="As --verbose, plus each request's headers (secrets redacted), bodies and tracebacks."
    ),
]
# The options of every command that writes.
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show the change and send nothing.")]
ForceOpt = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Send a write refused for safety (failed checks, or a dangerous consequence); Azure may still refuse it.",
    ),
]

NoWaitOpt = Annotated[
    bool,
    typer.Option(
        "--no-wait",
        help="Return once Azure accepted the change, without waiting for it to finish (says how to follow it).",
    ),
]


@dataclass
class Invocation:
    """One run of a command: its shared options and its environment."""

    env: Environment
    resource_group: str | None
    name: str | None
    id: str | None
    subscription: str | None
    cloud: str
    endpoint: str | None
    ca_bundle: str | None
    output: OutputFormat
    verbose: bool
    debug: bool
    events: IO[str] | None = None  # --events of a command that has it (rollout): JSON Lines, opened early

    @property
    def json(self) -> bool:
        return self.output is OutputFormat.json

    @functools.cached_property
    def out(self) -> Out:
        from vmssroll.ui.console import Out

        return Out(self.env, json=self.json)

    @functools.cached_property
    def effective_subscription(self) -> str | None:
        """--subscription or AZURE_SUBSCRIPTION_ID; else, as az, Terraform and Bicep do, the Azure CLI's
        current subscription (said with -v). A resource id carries its own."""
        if self.subscription or self.id:
            return self.subscription
        from vmssroll.adapter.azcli import current_subscription

        found = current_subscription(self.env.environ)
        if found is not None and (self.verbose or self.debug):
            named = f" ({found.name})" if found.name else ""
            self.out.note(f"subscription {found.id}{named}: the Azure CLI's current one, from {found.source}")
        return found.id if found else None

    @functools.cached_property
    def target(self) -> ScaleSetRef:
        return resolve_target(
            resource_group=self.resource_group,
            name=self.name,
            resource_id=self.id,
            subscription=self.effective_subscription,
        )

    @property
    def has_target(self) -> bool:
        return any((self.resource_group, self.name, self.id))

    def connection(self) -> Connection:
        from vmssroll.adapter.connection import resolve_connection

        subscription = (
            self.target.subscription if self.has_target else check_subscription(self.effective_subscription)
        )
        return resolve_connection(
            cloud=self.cloud,
            endpoint=self.endpoint,
            ca_bundle=self.ca_bundle,
            subscription=subscription,
            debug=self.debug,
        )

    def azure(self, *, retries: bool = True) -> Azure:
        """The adapter; validates target and connection first, so bad input never reaches the network."""
        _ = self.target
        return self.env.azure(self.connection(), retries)


_COMMON: list[tuple[str, Any, Any]] = [
    ("resource_group", ResourceGroupOpt, None),
    ("name", NameOpt, None),
    ("ids", IdsOpt, None),
    ("subscription", SubscriptionOpt, None),
    ("cloud", CloudOpt, "AzureCloud"),
    ("endpoint", EndpointOpt, None),
    ("ca_bundle", CaBundleOpt, None),
    ("output", OutputOpt, OutputFormat.table),
    ("verbose", VerboseOpt, False),
    ("debug", DebugOpt, False),
]
_COMMON_NAMES = [name for name, _, _ in _COMMON if name != "ids"]

F = TypeVar("F", bound=Callable[..., Any])


def _policy_params() -> list[tuple[str, Any, Any]]:
    from vmssroll.cli import policy_options as po

    return [*((name, option, None) for name, option in po.OPTIONS.items()), ("file", po.FileOpt, None)]


_POLICY = _policy_params()


def command(
    app: typer.Typer, name: str | None = None, *, policy_flags: bool = False, **options: Any
) -> Callable[[F], F]:
    """Register `fn(inv, **own_options)` as a command that also takes every shared option.

    The shared options are appended to the function's own signature, so Typer shows and parses them after the
    command's name; the function receives them as one `Invocation`, inside the error boundary. With
    `policy_flags`, the rolling policy flags are added too and arrive as `policy: PolicyFlags`.
    """
    from vmssroll.cli import policy_options as po

    extra = _POLICY if policy_flags else []

    def decorate(fn: F) -> F:
        hints = get_type_hints(fn, include_extras=True)
        own = [
            p.replace(annotation=hints.get(p.name, p.annotation))
            for p in inspect.signature(fn).parameters.values()
        ]
        own = [p for p in own[1:] if p.name != "policy"]  # `inv` and `policy` are supplied, not parsed
        added = [*_COMMON, *extra]
        shared = [
            inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=d, annotation=a) for n, a, d in added
        ]
        ctx_param = inspect.Parameter(
            "ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context
        )

        def wrapper(ctx: typer.Context, **kwargs: Any) -> None:
            shared_values = {n: kwargs.pop(n) for n in _COMMON_NAMES}
            ids = scale_set_ids(kwargs.pop("ids"), list(ctx.args))
            if policy_flags:
                kwargs["policy"] = po.PolicyFlags(
                    **{n: kwargs.pop(n) for n, _, _ in extra}, mode=kwargs.get("mode")
                )
            env = ctx.obj if isinstance(ctx.obj, Environment) else Environment()
            codes: list[int] = []
            targets: list[str | None] = [*ids] or [None]
            if len(targets) > 1:  # every id checked before the first request: bad input sends nothing
                for resource_id in targets:
                    probe = Invocation(env=env, id=resource_id, **shared_values)
                    refused = run(probe, functools.partial(_check_target, probe))
                    if refused:
                        raise typer.Exit(refused)
            for resource_id in targets:
                inv = Invocation(env=env, id=resource_id, **shared_values)
                if len(ids) > 1:
                    inv.out.note(f"scale set {len(codes) + 1} of {len(ids)}: {resource_id}")
                codes.append(run(inv, functools.partial(fn, inv, **kwargs)))
                if codes[-1] == ExitCode.INTERRUPTED:
                    break
            code = max(codes)  # the worst: every failure code is above 0, and 130 (interrupted) above all
            if code:
                raise typer.Exit(int(code))

        wrapper.__name__ = fn.__name__
        wrapper.__doc__ = fn.__doc__
        wrapper.__signature__ = inspect.Signature([ctx_param, *own, *shared])  # type: ignore[attr-defined]
        wrapper.__annotations__ = {"ctx": typer.Context, **{p.name: p.annotation for p in own}} | {
            n: a for n, a, _ in added
        }
        # Extra arguments are allowed only to take az's `--ids ID1 ID2 ...` (see scale_set_ids).
        options.setdefault("context_settings", {"allow_extra_args": True})
        app.command(name, **options)(wrapper)
        return fn

    return decorate


def _check_target(inv: Invocation) -> int:
    _ = inv.target  # raises InvalidInput for an id that is not a scale set's
    return 0


def scale_set_ids(given: list[str] | None, extra: list[str]) -> list[str]:
    """The ids from --ids/--id (each may hold several separated by spaces) and the arguments that follow
    `--ids` as in az (`--ids $(az vmss list --query [].id -o tsv)`); any other extra argument is bad input.
    Only spaces separate: any other white space or control character stays in the id, which validation then
    refuses."""
    ids = [part for value in given or [] for part in value.split(" ") if part]
    for arg in extra:
        if not (ids and arg.lower().startswith("/subscriptions/")):
            raise typer.BadParameter(f"unexpected argument {arg!r}")
        ids.append(arg)
    return ids


def run(inv: Invocation, body: Callable[[], int | None]) -> int:
    """The error boundary: every named failure becomes one line on stderr and its exit code.

    With --debug the traceback follows, redacted like every other line (exception messages can carry what a
    server echoed back, Authorization header included)."""
    from vmssroll.ui.console import configure_logging, escape_controls, redact

    configure_logging(inv.env.stderr, verbose=inv.verbose, debug=inv.debug)
    try:
        return int(body() or 0)
    except Declined as declined:
        inv.out.note(declined.message)
        return int(declined.exit_code)
    except VmssrollError as err:
        inv.out.error(err, verbose=inv.verbose or inv.debug)
        if inv.debug:
            inv.env.stderr.write(escape_controls(redact(traceback.format_exc())))
        return int(err.exit_code)
    except KeyboardInterrupt as interrupt:
        if not getattr(interrupt, "vmssroll_said", False):  # a watch said it already, with how to resume
            inv.out.note(getattr(interrupt, "message", None) or "interrupted; nothing was cancelled")
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (`| head`): end quietly, as a process ended by SIGPIPE would (128 + 13).
        _silence_stdout()
        return 141
    except typer.Exit:
        raise
    except Exception as err:  # the last line of defence: one line, a traceback only with --debug
        logging.getLogger("vmssroll").debug("unexpected error", exc_info=True)
        inv.out.error(VmssrollError(f"unexpected error: {type(err).__name__}: {err}"), verbose=False)
        if inv.debug:
            inv.env.stderr.write(escape_controls(redact(traceback.format_exc())))
        else:
            inv.env.stderr.write("re-run with --debug for the traceback\n")
        return int(ExitCode.UNEXPECTED)


# Without a terminal a question could never be answered: both guards below say so in these words.
NO_TERMINAL = "stdin is not a terminal, so pass --yes to confirm"


def need_answer(inv: Invocation, *, yes: bool, dry_run: bool | None = None) -> None:
    """Without a terminal the confirmation could never be answered: say so before any request (or wait).
    `dry_run` is None for a command without --dry-run."""
    if not (dry_run or yes or inv.env.can_prompt()):
        look = "" if dry_run is None else " (or --dry-run to only look)"
        raise InvalidInput(f"{NO_TERMINAL}{look}")


# A read not made yet, where None is an answer (no upgrade has run).
UNREAD: Any = object()


def refuse_while_rolling(
    inv: Invocation, azure: Azure, latest: UpgradeStatus | None = UNREAD
) -> UpgradeStatus | None:
    """The latest upgrade (read now unless given); a second one is refused while it rolls (exit 8), pointing
    at the running one."""
    if latest is UNREAD:
        latest = azure.latest_upgrade(inv.target)
    if latest is not None and latest.running:
        from vmssroll.domain.errors import Conflict

        raise Conflict(
            f"an upgrade is already {latest.code} on {inv.target.name}",
            hint=f"follow it: vmssroll watch {inv.target.args()}",
        )
    return latest


def confirm(inv: Invocation, question: str, *, yes: bool) -> None:
    """Ask on a terminal; without one, demand --yes instead of hanging on input."""
    if yes:
        return
    if not inv.env.can_prompt():
        raise InvalidInput(f"{question.rstrip('?')}: {NO_TERMINAL}")
    inv.env.stderr.write(f"{question} [y/N] ")
    inv.env.stderr.flush()
    answer = inv.env.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        raise Declined("not confirmed: nothing changed, nothing was sent")


def typed_line(inv: Invocation) -> str | None:
    """A line typed on the terminal, if one is waiting; never blocks. None: nothing typed yet; "": stdin is
    closed (nobody can answer any more). An in-memory stdin (tests) gives what it holds."""
    import io
    import select

    stream = inv.env.stdin
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return stream.readline()
    ready, _, _ = select.select([fd], [], [], 0)
    return stream.readline() if ready else None


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's last flush does not complain of the broken pipe."""
    import os
    import sys

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (tests): nothing will be flushed to a pipe
