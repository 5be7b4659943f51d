"""Clocks: manual moves only when told; scaled runs at a multiple of real time plus explicit advances."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vmssroll.emulator import Emulator, ManualClock, ScaledClock

START = datetime(2026, 1, 1, tzinfo=UTC)


def test_manual_clock() -> None:
    clock = ManualClock(start=START)
    clock.advance(1.5)
    assert clock.now() == START + timedelta(seconds=1.5)
    clock.set(START + timedelta(hours=1))
    assert clock.now() == START + timedelta(hours=1)
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_scaled_clock_and_emulator_speed() -> None:
    clock = ScaledClock(speed=1000.0, start=START)
    first = clock.now()
    clock.advance(3600)
    assert clock.now() - first >= timedelta(hours=1)
    assert isinstance(Emulator(speed=60.0).clock, ScaledClock)
    assert isinstance(Emulator().clock, ManualClock)
