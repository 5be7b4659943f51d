"""The long-running operation a command started, read into a verdict when the upgrade status cannot be read.

`start --watch` follows `rollingUpgrades/latest`; when that cannot be read (404 before the first status
exists, or any failure), the operation Azure gave for the start decides: Azure keeps it InProgress while the
rolling upgrade runs and ends it Succeeded, Failed with the policy breach, or Canceled (FACTS.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from vmssroll.domain.errors import ExitCode
from vmssroll.domain.upgrade import Verdict


@dataclass(frozen=True)
class OperationStatus:
    status: str  # InProgress | Succeeded | Failed | Canceled (others kept as given)
    error_code: str | None = None
    error_message: str | None = None


def operation_verdict(op: OperationStatus) -> Verdict:
    """Succeeded → 0; Failed → 5 with Azure's code and message (a rolling upgrade's operation fails on a
    policy breach); Canceled → 6; anything else is still running."""
    state = op.status.lower()
    if state == "succeeded":
        return Verdict(True, ExitCode.OK, "Rolling upgrade operation Succeeded")
    if state == "failed":
        detail = f"{op.error_code or 'Failed'}: {op.error_message or ''}".rstrip(": ")
        return Verdict(True, ExitCode.FAULTED, f"Rolling upgrade operation Failed — {detail}")
    if state in ("canceled", "cancelled"):
        return Verdict(True, ExitCode.CANCELLED, "Rolling upgrade operation Canceled")
    return Verdict(False, ExitCode.OK, f"Rolling upgrade operation {op.status}")
