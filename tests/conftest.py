"""Shared fixtures: one emulator per test session (per xdist worker), the real SDK under every command."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

import pytest
from hypothesis import settings
from typer.testing import CliRunner

from vmssroll.cli.app import app
from vmssroll.cli.environment import Environment
from vmssroll.emulator import Emulator, ManualClock

# Hypothesis: in CI (which sets CI=true) the same examples on every run, so a red run reproduces with `CI=true
# python -m pytest ...`. Locally the "local" profile explores new examples each run. Neither has a timing
# deadline: speed lives in benchmarks/, and a pure test took 348 ms on a machine at load 16, failing as
# "unreliable timings". HYPOTHESIS_PROFILE=ci|local|default chooses explicitly.
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("local", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "local"))


class SimulatedTimeRanOut(BaseException):
    """A command slept longer on the simulated clock than any test needs: it would loop forever. A
    BaseException, so no error boundary turns it into an ordinary exit code."""


class SimClock:
    """The tool's clock in tests: sleeping advances the emulator's simulated clock, nothing waits for real.

    A command that sleeps more than `limit` simulated seconds in all fails the test at once (a wait that never
    ends, e.g. a terminal state read as "not done", would otherwise spin until the per-test timeout)."""

    LIMIT = 3 * 3600.0

    def __init__(self, emu: Emulator, limit: float = LIMIT) -> None:
        self.emu = emu
        self.limit = limit
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.emu.clock.now().timestamp()

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if sum(self.slept) > self.limit:
            raise SimulatedTimeRanOut(
                f"slept {sum(self.slept):.0f} s of simulated time (limit {self.limit:.0f} s)"
            )
        if seconds > 0:
            self.emu.clock.advance(seconds)

    def utcnow(self) -> datetime:
        return self.emu.clock.now()


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> Any:
        import json

        return json.loads(self.stdout)


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    emu = Emulator(clock=ManualClock(start=datetime(2026, 1, 5, 9, 0, tzinfo=UTC)), page_size=100)
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    """The session emulator with the default scenario loaded afresh (tests load another as they need)."""
    emulator.load_scenario("uniform-probe")
    return emulator


Run = Callable[..., Result]


def lro_pollers() -> set[threading.Thread]:
    """azure-core's LROPoller threads still alive. A command must never leave one behind: it would go on
    polling after the command returned (its GETs landing in the next test's request log)."""
    return {t for t in threading.enumerate() if t.name.startswith("LROPoller(") and t.is_alive()}


@pytest.fixture
def vmssroll(emu: Emulator) -> Run:
    """Run a vmssroll command in-process against the emulator: `vmssroll("status", "-g", "rg", ...)`."""

    def run(
        *args: str, stdin: str | IO[str] = "", tty: bool = False, env: dict[str, str] | None = None, **kw: Any
    ) -> Result:
        out, err = io.StringIO(), io.StringIO()
        environment = Environment(
            clock=kw.pop("clock", None) or SimClock(emu),
            stdout=out,
            stderr=err,
            stdin=io.StringIO(stdin) if isinstance(stdin, str) else stdin,  # a file: a terminal left open
            stdout_isatty=tty,
            stdin_isatty=kw.pop("stdin_tty", tty),
            width=kw.pop("width", 120),
            **kw,
        )
        variables = {
            "VMSSROLL_ARM_ENDPOINT": emu.url,
            "VMSSROLL_CA_BUNDLE": emu.ca_path,
            "AZURE_SUBSCRIPTION_ID": emu.subscription_id,
            "NO_COLOR": "1",
            **(env or {}),
        }
        before = lro_pollers()
        result = CliRunner().invoke(app, list(args), obj=environment, env=variables, catch_exceptions=False)
        left = lro_pollers() - before
        assert not left, f"`vmssroll {' '.join(args)}` returned with an SDK poller still running: {left}"
        return Result(result.exit_code, out.getvalue() + result.stdout, err.getvalue() + result.stderr)

    return run
