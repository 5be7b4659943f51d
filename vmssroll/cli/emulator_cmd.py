"""`vmssroll emulator serve`: the Azure Resource Manager emulator, for rehearsing runbooks."""

from __future__ import annotations

from typing import Annotated

import typer

from vmssroll.domain.errors import ExitCode

app = typer.Typer(
    help="Run the Azure Resource Manager emulator (HTTPS on loopback).", invoke_without_command=True
)


@app.command("serve")
def serve(
    scenario: Annotated[
        str,
        typer.Option("--scenario", metavar="SCENARIO", help="A built-in scenario name or a JSON/YAML file."),
    ] = "demo",
    port: Annotated[
        int, typer.Option("--port", metavar="PORT", min=0, max=65535, help="Port (0: any free port).")
    ] = 0,
    host: Annotated[
        str,
        typer.Option("--host", metavar="ADDRESS", help="Listen address; loopback unless you say otherwise."),
    ] = "127.0.0.1",
    speed: Annotated[
        float, typer.Option("--speed", metavar="FACTOR", min=0.001, help="Simulated seconds per real second.")
    ] = 10.0,
    manual_clock: Annotated[
        bool, typer.Option("--manual-clock", help="Time moves only by POST /_emulator/clock/advance.")
    ] = False,
    latency: Annotated[
        str | None,
        typer.Option(
            "--latency",
            metavar="DURATION",
            help="Delay every answer by this much real time, as ARM's round trips: 150ms, or 150ms±50ms "
            "(+- also accepted). Default: none (or the scenario's).",
        ),
    ] = None,
) -> None:
    """Serve the emulator until Ctrl-C; prints its URL, CA file and the variables to export."""
    from vmssroll.emulator import ScenarioError
    from vmssroll.emulator.foreground import serve as run
    from vmssroll.emulator.latency import parse_latency

    try:
        delay = parse_latency(latency) if latency is not None else None
    except ValueError as err:
        typer.echo(f"error: --latency: {err}", err=True)
        raise typer.Exit(ExitCode.USAGE) from None
    try:
        run(
            scenario,
            host,
            port,
            None if manual_clock else speed,
            out=lambda line: typer.echo(line),
            latency=delay,
        )
    except ScenarioError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(ExitCode.USAGE) from None


@app.command("scenarios")
def scenarios() -> None:
    """List the built-in scenarios, each with what it holds."""
    from vmssroll.emulator import builtin_names
    from vmssroll.emulator.scenarios import load

    names = builtin_names()
    width = max(map(len, names))
    for name in names:
        description = " ".join(str(load(name).get("description") or "").split())
        typer.echo(f"{name.ljust(width)}  {description}".rstrip())
