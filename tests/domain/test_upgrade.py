"""The upgrade status document read into a verdict: every state Azure reports, as a table."""

from __future__ import annotations

import pytest

from vmssroll.domain.errors import ExitCode
from vmssroll.domain.upgrade import Progress, UpgradeStatus, Verdict, verdict

COUNTS = Progress(successful=3, failed=1, in_progress=2, pending=4)


def status(
    code: str,
    last_action: str | None = "Start",
    error_code: str | None = None,
    error_message: str | None = None,
) -> UpgradeStatus:
    return UpgradeStatus(code, last_action, None, None, COUNTS, error_code, error_message)


# code, lastAction, running, cancelling, done, exit code, message
STATES = [
    ("RollingForward", "Start", True, False, False, ExitCode.OK, "RollingForward 40%: 3 succeeded, 1 failed, 2 in progress, 4 pending"),
    ("rollingforward", "Start", True, False, False, ExitCode.OK, "rollingforward 40%: 3 succeeded, 1 failed, 2 in progress, 4 pending"),
    ("RollingBack", "Start", True, False, False, ExitCode.OK, "RollingBack 40%: 3 succeeded, 1 failed, 2 in progress, 4 pending"),
    ("ROLLINGBACK", None, True, False, False, ExitCode.OK, "ROLLINGBACK 40%: 3 succeeded, 1 failed, 2 in progress, 4 pending"),
    ("RollingForward", "Cancel", True, True, False, ExitCode.OK, "Cancelling: waiting for 2 instance(s) in flight; 3 succeeded, 1 failed, 2 in progress, 4 pending"),
    ("RollingBack", "cancel", True, True, False, ExitCode.OK, "Cancelling: waiting for 2 instance(s) in flight; 3 succeeded, 1 failed, 2 in progress, 4 pending"),
    ("Completed", "Start", False, False, True, ExitCode.OK, "Rolling upgrade Completed: 3 succeeded, 1 failed, 2 in progress, 4 pending"),
    ("completed", "Cancel", False, False, True, ExitCode.OK, "Rolling upgrade completed: 3 succeeded, 1 failed, 2 in progress, 4 pending"),
    ("Faulted", "Start", False, False, True, ExitCode.FAULTED, "Rolling upgrade Faulted: 3 succeeded, 1 failed, 2 in progress, 4 pending"),
    ("Cancelled", "Cancel", False, False, True, ExitCode.CANCELLED, "Rolling upgrade Cancelled: 3 succeeded, 1 failed, 2 in progress, 4 pending"),
    ("CANCELLED", "Cancel", False, False, True, ExitCode.CANCELLED, "Rolling upgrade CANCELLED: 3 succeeded, 1 failed, 2 in progress, 4 pending"),
    ("Paused", "Start", False, False, False, ExitCode.OK, "Unrecognised state 'Paused': 3 succeeded, 1 failed, 2 in progress, 4 pending"),
    ("", "Cancel", False, False, False, ExitCode.OK, "Unrecognised state '': 3 succeeded, 1 failed, 2 in progress, 4 pending"),
]  # fmt: skip


@pytest.mark.parametrize(("code", "action", "running", "cancelling", "done", "exit_code", "message"), STATES)
def test_every_state(code, action, running, cancelling, done, exit_code, message) -> None:
    s = status(code, action)
    assert (s.running, s.cancelling) == (running, cancelling)
    v = verdict(s)
    assert (v.done, v.exit_code, v.message) == (done, exit_code, message)


def test_no_upgrade_yet_is_done_and_says_so() -> None:
    assert verdict(None) == Verdict(True, ExitCode.OK, "No upgrade has run yet")


def test_a_terminal_state_names_azures_error() -> None:
    v = verdict(status("Faulted", error_code="MaxUnhealthy", error_message="too many"))
    assert v.message == (
        "Rolling upgrade Faulted: 3 succeeded, 1 failed, 2 in progress, 4 pending — MaxUnhealthy: too many"
    )
    assert verdict(status("Faulted", error_code="Code")).message.endswith(" — Code:")


@pytest.mark.parametrize(
    ("progress", "percent", "total"),
    [
        (Progress(), 100, 0),
        (Progress(pending=4), 0, 4),
        (Progress(successful=1, failed=1, in_progress=1, pending=1), 50, 4),
        (Progress(successful=2, pending=1), 66, 3),
        (Progress(failed=3), 100, 3),
        (Progress(in_progress=3), 0, 3),
    ],
)
def test_percent_counts_instances_done_well_or_not(progress: Progress, percent: int, total: int) -> None:
    assert (progress.percent, progress.total) == (percent, total)
