"""Simulated clocks: a manual one for tests and a scaled one for demos."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)


class Clock(Protocol):
    """Anything that tells the simulated time."""

    def now(self) -> datetime: ...

    def advance(self, seconds: float) -> None: ...


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or DEFAULT_START
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time does not run backwards")
        with self._lock:
            self._now += timedelta(seconds=seconds)

    def set(self, dt: datetime) -> None:
        if dt.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        with self._lock:
            if dt < self._now:
                raise ValueError("time does not run backwards")
            self._now = dt


class ScaledClock:
    """Simulated time running at `speed` times real time (plus explicit advances)."""

    def __init__(self, speed: float = 60.0, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._start = start or datetime.now(UTC).replace(microsecond=0)
        self._t0 = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            elapsed = (time.monotonic() - self._t0) * self.speed + self._offset
        return self._start + timedelta(seconds=elapsed)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time does not run backwards")
        with self._lock:
            self._offset += seconds
