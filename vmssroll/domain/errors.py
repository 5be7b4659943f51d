"""Exit codes and the named failures that map onto them, in one table."""

from __future__ import annotations

import re
from enum import IntEnum
from typing import Any

# C0 and C1 control characters, DEL, and the Unicode bidirectional overrides that reorder what a terminal
# shows.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
EXCERPT = 40


def shown(value: Any, limit: int = EXCERPT) -> str:
    """A value quoted for an error message: at most `limit` characters of it, every control character escaped
    (a hostile value may be megabytes long or carry terminal escape sequences)."""
    text = value if isinstance(value, str) else repr(value)
    cut = text[:limit]
    quoted = repr(cut) if isinstance(value, str) else cut
    quoted = CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)
    return quoted + (f" (… {len(text) - limit} more characters)" if len(text) > limit else "")


def has_control(value: str) -> bool:
    return CONTROL.search(value) is not None


class ExitCode(IntEnum):
    """The same exit codes for every command (documented in the README)."""

    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    NOT_READY = 3
    AZURE = 4
    FAULTED = 5
    CANCELLED = 6
    TIMEOUT = 7
    CONFLICT = 8
    AUTH = 9
    INTERRUPTED = 130

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]


_MEANINGS = {
    ExitCode.OK: "ok/Completed",
    ExitCode.UNEXPECTED: "unexpected",
    ExitCode.USAGE: "bad input (nothing sent)",
    ExitCode.NOT_READY: "not ready or refused",
    ExitCode.AZURE: "Azure failed the request",
    ExitCode.FAULTED: "Faulted",
    ExitCode.CANCELLED: "Cancelled",
    ExitCode.TIMEOUT: "timed out",
    ExitCode.CONFLICT: "conflict",
    ExitCode.AUTH: "authentication",
    ExitCode.INTERRUPTED: "interrupted",
}


def exit_codes_text() -> str:
    """Every exit code with its meaning, in one line of text (the app's help)."""
    return "Exit codes: " + ", ".join(f"{int(c)} {c.meaning}" for c in ExitCode) + "."


# HTTP statuses worth retrying later: timeout, throttling, server errors.
TRANSIENT_STATUSES = (408, 429, 500, 502, 503, 504)


class VmssrollError(Exception):
    """A failure with a name, an exit code and an optional hint, shown as one line."""

    exit_code: ExitCode = ExitCode.UNEXPECTED

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        hint: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code  # Azure's error code, where Azure gave one
        self.status = status  # the HTTP status, where there was an answer
        self.hint = hint
        self.request_id = request_id

    def to_json(self) -> dict[str, Any]:
        """The failure as a JSON document: Azure's error code when it gave one, else the failure's name."""
        name = "UnexpectedError" if type(self) is VmssrollError else type(self).__name__
        return {
            "error": {
                "code": self.code or name,
                "message": "; ".join(getattr(self, "problems_text", None) or [self.message]),
                "exitCode": int(self.exit_code),
                "hint": self.hint,
            }
        }


class Declined(VmssrollError):
    """The operator answered no to a question: not a failure, nothing was changed (exit 0, no `error:`)."""

    exit_code = ExitCode.OK


class InvalidInput(VmssrollError):
    """Bad input: nothing was sent."""

    exit_code = ExitCode.USAGE


class NotReady(VmssrollError):
    """Prerequisites not met, or refused for safety."""

    exit_code = ExitCode.NOT_READY


class AzureRequestFailed(VmssrollError):
    """Azure rejected or failed the request (code and message as Azure gave them)."""

    exit_code = ExitCode.AZURE
    retry_after: float | None = None  # seconds, when Azure said so (429/503)

    @property
    def transient(self) -> bool:
        """Worth retrying later: throttling, server errors, no answer at all (status None)."""
        return self.status is None or self.status in TRANSIENT_STATUSES


class Unreachable(AzureRequestFailed):
    """No HTTP answer: the name did not resolve, the connection was refused, timed out or dropped, or the
    server's certificate is not trusted. `retryable` is False for what will not change by itself in
    seconds."""

    def __init__(
        self, message: str, *, hint: str | None = None, host: str | None = None, retryable: bool
    ) -> None:
        super().__init__(message, hint=hint)
        self.host = host
        self.retryable = retryable

    @property
    def transient(self) -> bool:
        return self.retryable


class NotFound(AzureRequestFailed):
    """The scale set or its resource group does not exist."""


class Conflict(AzureRequestFailed):
    """The scale set changed under us, an upgrade is already running, or none is running."""

    exit_code = ExitCode.CONFLICT


class AuthFailed(VmssrollError):
    """No usable credential, or Azure refused the one we have (401), or the request (403)."""

    exit_code = ExitCode.AUTH


class TimedOut(VmssrollError):
    """A deadline passed."""

    exit_code = ExitCode.TIMEOUT


class WriteInterrupted(KeyboardInterrupt):
    """Ctrl-C while a write was in progress; the message says whether it was sent and how to check it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
