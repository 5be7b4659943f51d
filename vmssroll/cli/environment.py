"""Input, output and time for a command, injected (tests pass their own through `obj=`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from vmssroll.domain.clock import Clock, SystemClock

if TYPE_CHECKING:
    from vmssroll.adapter.client import Azure
    from vmssroll.adapter.connection import Connection


def _default_azure(conn: Connection, retries: bool) -> Azure:
    from vmssroll.adapter.client import Azure

    return Azure(conn, retries=retries)


@dataclass
class Environment:
    """What a command may touch of the world."""

    clock: Clock = field(default_factory=SystemClock)
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    stdout_isatty: bool | None = None
    stdin_isatty: bool | None = None
    width: int | None = None
    azure_factory: Callable[[Connection, bool], Azure] = _default_azure
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    def is_terminal(self) -> bool:
        if self.stdout_isatty is not None:
            return self.stdout_isatty
        return _isatty(self.stdout)

    def can_prompt(self) -> bool:
        if self.stdin_isatty is not None:
            return self.stdin_isatty
        return _isatty(self.stdin)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
