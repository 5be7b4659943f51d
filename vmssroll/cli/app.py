"""The `vmssroll` command: a Typer app whose commands import the Azure SDK only when they run."""

from __future__ import annotations

from typing import NoReturn

import typer

from vmssroll import __version__
from vmssroll.cli import (
    automatic,
    demo,
    emulator_cmd,
    fleet,
    fleet_rollout,
    image,
    policy,
    prereq,
    progressive,
    rollout_command,
    upgrades,
)
from vmssroll.cli.plan import register as register_plan
from vmssroll.domain.errors import exit_codes_text

app = typer.Typer(
    name="vmssroll",
    help="Safe rolling upgrades for Azure Virtual Machine Scale Sets.",
    invoke_without_command=True,
    # Help wraps at the terminal's width (click stops at 80 columns otherwise); its subcommands inherit it.
    context_settings={"max_content_width": 1000},
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
# In the order an operator meets them: get ready, plan, roll out, follow, recover, rehearse.
app.add_typer(prereq.app)
app.add_typer(policy.app, name="policy")
register_plan(app)
app.add_typer(image.app)
app.add_typer(upgrades.app)
app.add_typer(rollout_command.app)
app.add_typer(progressive.app)
app.add_typer(automatic.app)
fleet_rollout.register(fleet.app)  # fleet rollout, beside fleet plan and fleet status
app.add_typer(fleet.app, name="fleet")
app.add_typer(demo.app)
app.add_typer(emulator_cmd.app, name="emulator")


def _help_when_bare(ctx: typer.Context) -> None:
    """A group named without a subcommand prints its help and exits 0: asking what is there is no error."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


def _full_summaries(group: typer.Typer) -> None:
    """Command lists show each command's whole first paragraph, not the first 45 characters cut with '...'."""
    for info in group.registered_commands:
        doc = info.help or (info.callback.__doc__ if info.callback else None) or ""
        if info.short_help is None and doc:
            info.short_help = " ".join(doc.strip().split("\n\n")[0].split())
    for sub in group.registered_groups:
        instance = sub.typer_instance
        if instance is None:
            continue
        group_doc = sub.help or instance.info.help
        if sub.short_help is None and isinstance(group_doc, str):
            sub.short_help = instance.info.short_help = " ".join(group_doc.strip().split("\n\n")[0].split())
        if instance.registered_callback is None and instance.info.invoke_without_command:
            instance.callback()(_help_when_bare)
        _full_summaries(instance)


_full_summaries(app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vmssroll {__version__}")
        raise typer.Exit()


@app.callback(help=f"Safe rolling upgrades for Azure Virtual Machine Scale Sets.\n\n{exit_codes_text()}")
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """The root: only --version of its own."""
    _help_when_bare(ctx)


def main() -> None:
    """The console script: like `app()`, but a usage error is one `error:` line, as every error is."""
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        typer.echo("error: aborted; nothing was sent", err=True)
        leave(1)
    except Exception as err:
        # click's UsageError and BadParameter, seen by their public shape (typer does not re-export them).
        exit_code = getattr(err, "exit_code", None)
        if not (hasattr(err, "format_message") and isinstance(exit_code, int)):
            raise
        ctx = getattr(err, "ctx", None)
        where = f"; see `{ctx.command_path} --help`" if ctx is not None else ""
        typer.echo(f"error: {err.format_message()}{where}", err=True)
        leave(exit_code)
    leave(code if isinstance(code, int) else 0)


def leave(code: int) -> NoReturn:
    """End the process once the command is over, without Python's teardown of its modules.

    Tearing down the Azure SDK's modules (thousands of classes) takes about 0.2 s of CPU after the last
    answer, and a finished command needs none of it: its output is flushed here, and the exit handlers
    (logging's flush, temporary files' removal) run as they would. Every thread left is a daemon (a read
    nobody waits for). Output the reader no longer takes (`| head`) ends quietly with 141, as elsewhere."""
    import atexit
    import contextlib
    import os
    import sys

    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = code or 141
    except (OSError, ValueError):  # stdout closed by the command, or a stream that cannot flush
        pass
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    atexit._run_exitfuncs()
    os._exit(code)
