"""Network latency as Azure Resource Manager has it: every answer delayed by real time (150ms, 150ms±50ms).

The emulator answers in about a millisecond; ARM in roughly 100–400 ms. A latency makes round trips visible to
the benchmark and to tests, which can then see whether reads overlap. It is real time, not simulated time: the
simulated clock is not moved by it (a manual clock stays where it is).
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field

_AMOUNT = r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|s)?"
_PATTERN = re.compile(rf"\s*{_AMOUNT}\s*(?:(?:±|\+-|\+/-)\s*{_AMOUNT}\s*)?", re.IGNORECASE)
MAX_LATENCY = 10.0  # seconds: far more than any real round trip; a typo should not hang every answer


@dataclass
class Latency:
    """A delay of `mean` seconds, spread uniformly by up to `jitter` either side (never below zero)."""

    mean: float = 0.0
    jitter: float = 0.0
    seed: int | None = None
    _random: random.Random = field(default_factory=random.Random, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not (0.0 <= self.mean <= MAX_LATENCY and 0.0 <= self.jitter <= MAX_LATENCY):
            raise ValueError(f"a latency is between 0 and {MAX_LATENCY:g} s")
        self._random = random.Random(self.seed)

    def __bool__(self) -> bool:
        return self.mean > 0 or self.jitter > 0

    def draw(self) -> float:
        """The delay of one answer, in seconds."""
        if not self.jitter:
            return self.mean
        with self._lock:  # answers are drawn from several server threads
            spread = self._random.uniform(-self.jitter, self.jitter)
        return max(0.0, self.mean + spread)

    def __str__(self) -> str:
        text = f"{self.mean * 1000:g}ms"
        return f"{text}±{self.jitter * 1000:g}ms" if self.jitter else text


def parse_latency(value: str | int | float | None) -> Latency:
    """`150ms`, `0.15s`, `150ms±50ms` (or `+-`), or a number of milliseconds; None or empty: no latency."""
    if value is None or value == "":
        return Latency()
    if isinstance(value, bool):
        raise ValueError(f"a latency is a duration such as 150ms or 150ms±50ms, not {value!r}")
    if isinstance(value, int | float):
        return Latency(float(value) / 1000)
    match = _PATTERN.fullmatch(value)
    if match is None:
        raise ValueError(f"a latency is a duration such as 150ms or 150ms±50ms, not {value[:40]!r}")
    mean, unit, jitter, jitter_unit = match.groups()
    return Latency(_seconds(mean, unit), _seconds(jitter, jitter_unit or unit) if jitter else 0.0)


def _seconds(number: str, unit: str | None) -> float:
    return float(number) if (unit or "ms").lower() == "s" else float(number) / 1000


class Gate:
    """Answers held until the requests expected together have all arrived (for at most `timeout` seconds),
    round after round, then open for good: `Gate(1, 2)` lets the first request through alone and holds the
    next two until both are in flight. How a test sees that requests were sent together whatever the load
    of the machine (a new TLS connection on a busy one can take longer than any small latency). Requests
    that were not sent together wait out the timeout once; the gate is then broken and holds nothing more.
    With `methods`, only requests of those methods are held and counted (`Gate(2, methods=("PATCH",))`: two
    writers' PATCHes land together, after both have read, however far apart the machine started them)."""

    def __init__(self, *parties: int, timeout: float = 5.0, methods: tuple[str, ...] = ()) -> None:
        self._rounds = list(parties)
        self._timeout = timeout
        self.methods = tuple(m.upper() for m in methods)
        self._barrier: threading.Barrier | None = None
        self._next()

    def _next(self) -> None:  # run by one of the parties before any is let go: later arrivals meet the next
        count = self._rounds.pop(0) if self._rounds else 0
        self._barrier = threading.Barrier(count, action=self._next, timeout=self._timeout) if count else None

    def holds(self, method: str) -> bool:
        return not self.methods or method.upper() in self.methods

    def wait(self) -> None:
        barrier = self._barrier
        if barrier is None:
            return
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return  # not all came within the timeout: answered anyway, and the log shows they did not overlap
