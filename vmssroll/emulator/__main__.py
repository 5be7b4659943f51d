"""`python -m vmssroll.emulator --scenario NAME|FILE [--port N] [--speed X] [--host H] [--latency 150ms]`."""

from __future__ import annotations

import argparse

from .foreground import serve
from .latency import parse_latency
from .scenarios import ScenarioError, builtin_names


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m vmssroll.emulator", description=__doc__)
    parser.add_argument(
        "--scenario", default="demo", help=f"built-in ({', '.join(builtin_names())}) or a file"
    )
    parser.add_argument("--host", default="127.0.0.1", help="listen address (loopback by default)")
    parser.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    parser.add_argument("--speed", type=float, default=None, help="simulated seconds per real second")
    parser.add_argument("--latency", default=None, help="real time added to every answer: 150ms, 150ms±50ms")
    args = parser.parse_args(argv)
    try:
        latency = parse_latency(args.latency) if args.latency is not None else None
    except ValueError as err:
        parser.exit(2, f"error: --latency: {err}\n")
    try:
        serve(args.scenario, args.host, args.port, args.speed, latency=latency)
    except ScenarioError as err:  # a bad scenario file is one line, not a traceback
        parser.exit(2, f"error: {err}\n")


if __name__ == "__main__":
    main()
