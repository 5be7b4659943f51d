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
    azure_factory: Callable[[Connection, bool], Azure] | None = None  # tests' own clients
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    # The credential of each connection this command has a client for: a second client (the watch reads
    # with one that does not retry) presents the same token instead of fetching its own (`az` again).
    _credentials: dict[Connection, Any] = field(default_factory=dict, repr=False)

    def azure(self, conn: Connection, retries: bool) -> Azure:
        if self.azure_factory is not None:
            return self.azure_factory(conn, retries)
        from vmssroll.adapter.client import Azure

        client = Azure(conn, retries=retries, credential=self._credentials.get(conn))
        self._credentials.setdefault(conn, client.credential)
        return client

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
