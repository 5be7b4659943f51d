"""The `vmssroll` command: a Typer app whose commands import the Azure SDK only when they run."""

from __future__ import annotations

import typer

from vmssroll import __version__
from vmssroll.cli import demo, emulator_cmd, image, policy, prereq, upgrades
from vmssroll.cli.plan import register as register_plan

app = typer.Typer(
    name="vmssroll",
    help="Safe rolling upgrades for Azure Virtual Machine Scale Sets.",
    no_args_is_help=True,
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
app.add_typer(demo.app)
app.add_typer(emulator_cmd.app, name="emulator")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vmssroll {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """Safe rolling upgrades for Azure Virtual Machine Scale Sets.

    Exit codes: 0 ok/Completed, 1 unexpected, 2 bad input (nothing sent), 3 not ready or refused, 4 Azure failed
    the request, 5 Faulted, 6 Cancelled, 7 timed out, 8 conflict, 9 authentication, 130 interrupted.
    """


def main() -> None:
    app()
