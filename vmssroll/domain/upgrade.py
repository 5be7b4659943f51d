"""Reading a rolling upgrade's status document into a verdict (done? outcome? what to say?)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vmssroll.domain.errors import ExitCode

RUNNING_CODES = ("rollingforward", "rollingback")
TERMINAL = {"completed": ExitCode.OK, "faulted": ExitCode.FAULTED, "cancelled": ExitCode.CANCELLED}


@dataclass(frozen=True)
class Progress:
    successful: int = 0
    failed: int = 0
    in_progress: int = 0
    pending: int = 0

    @property
    def total(self) -> int:
        return self.successful + self.failed + self.in_progress + self.pending

    @property
    def percent(self) -> int:
        """Share of instances that are done (upgraded, well or not)."""
        return 100 if self.total == 0 else (self.successful + self.failed) * 100 // self.total


@dataclass(frozen=True)
class UpgradeStatus:
    """`rollingUpgrades/latest`, read tolerantly: unknown codes kept as given, missing fields empty."""

    code: str
    last_action: str | None
    start_time: datetime | None
    last_action_time: datetime | None
    progress: Progress
    error_code: str | None = None
    error_message: str | None = None
    policy: Mapping[str, Any] = field(default_factory=dict)
    document: Mapping[str, Any] = field(default_factory=dict)  # Azure's own document, REST shape

    @property
    def running(self) -> bool:
        return self.code.lower() in RUNNING_CODES

    @property
    def cancelling(self) -> bool:
        return self.running and (self.last_action or "").lower() == "cancel"


@dataclass(frozen=True)
class Verdict:
    done: bool
    exit_code: ExitCode
    message: str


def verdict(status: UpgradeStatus | None) -> Verdict:
    """kubectl-rollout-status style: one pure function turns a status into (done, outcome, message)."""
    if status is None:
        return Verdict(True, ExitCode.OK, "No upgrade has run yet")
    p = status.progress
    counts = f"{p.successful} succeeded, {p.failed} failed, {p.in_progress} in progress, {p.pending} pending"
    code = status.code.lower()
    if code in TERMINAL:
        message = f"Rolling upgrade {status.code}: {counts}"
        if status.error_code:
            message += f" — {status.error_code}: {status.error_message or ''}".rstrip()
        return Verdict(True, TERMINAL[code], message)
    if status.cancelling:
        return Verdict(
            False, ExitCode.OK, f"Cancelling: waiting for {p.in_progress} instance(s) in flight; {counts}"
        )
    if code in RUNNING_CODES:
        return Verdict(False, ExitCode.OK, f"{status.code} {p.percent}%: {counts}")
    return Verdict(False, ExitCode.OK, f"Unrecognised state {status.code!r}: {counts}")
