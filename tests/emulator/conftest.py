"""Fixtures for the emulator tests: an in-process emulator (no HTTP) and a served one for the real SDK."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.emulator.emu_helpers import START, Sim, make_client
from vmssroll.emulator import Emulator, ManualClock


@pytest.fixture
def sim() -> Sim:
    return Sim()


@pytest.fixture(scope="module")
def served() -> Iterator[Emulator]:
    emu = Emulator(clock=ManualClock(start=START), page_size=3)
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def live(served: Emulator) -> Emulator:
    """The module's served emulator with the demo scenario loaded afresh."""
    served.load_scenario("demo")
    return served


@pytest.fixture
def client(live: Emulator) -> Any:
    return make_client(live)
