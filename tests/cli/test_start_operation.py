"""`start --watch` follows the operation it started when `rollingUpgrades/latest` cannot be read."""

from __future__ import annotations

import pytest

from tests.helpers import set_rolling, target
from vmssroll.domain.errors import ExitCode
from vmssroll.domain.operation import OperationStatus, operation_verdict

LATEST = r"/rollingUpgrades/latest$"


@pytest.mark.parametrize(
    ("op", "done", "code"),
    [
        (OperationStatus("InProgress"), False, ExitCode.OK),
        (OperationStatus("Succeeded"), True, ExitCode.OK),
        (
            OperationStatus("Failed", "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade", "m"),
            True,
            5,
        ),
        (OperationStatus("Canceled"), True, ExitCode.CANCELLED),
    ],
)
def test_operation_verdict(op, done, code):
    v = operation_verdict(op)
    assert (v.done, v.exit_code) == (done, code)


def test_a_latest_that_404s_is_judged_by_the_operation_succeeded(vmssroll, emu):
    set_rolling(emu)
    emu.faults.add(kind="status", status=404, method="GET", path_regex=LATEST, code="NotFound")
    result = vmssroll("start", "extension", *target(), "--yes", "--watch")
    assert result.exit_code == 0, result.output
    assert "operation Succeeded" in result.output
    ops = [r for r in emu.requests if "/operations/" in r.path]
    assert ops, "the operation was read"


def test_an_unreadable_latest_is_judged_by_the_operation_failed_with_the_breach(vmssroll, emu):
    set_rolling(emu)
    emu.set_health("rg-demo", "web", instance_id="0", health="unhealthy")
    emu.set_health("rg-demo", "web", instance_id="1", health="unhealthy")
    emu.set_health("rg-demo", "web", instance_id="2", health="unhealthy")
    emu.faults.add(kind="status", status=404, method="GET", path_regex=LATEST, message="gone")
    result = vmssroll("start", "extension", *target(), "--yes", "--watch")
    assert result.exit_code == 5, result.output
    assert "ExceededInRollingUpgrade" in result.output
