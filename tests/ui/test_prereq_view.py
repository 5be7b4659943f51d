"""The preflight report, rendered at a fixed width into a string."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from vmssroll.domain.prereq import Purpose, Report, Rule, Status
from vmssroll.ui.prereq import report_view


def render(shown: Report, **kw: Any) -> str:
    out = io.StringIO()
    Console(file=out, width=100, color_system=None).print(report_view(shown, **kw))
    return out.getvalue()


def report(*rules: Rule) -> Report:
    return Report(Purpose.ROLLING, "web", rules)


OK = Rule("health-source", Status.PASSED, "load balancer probe http-health on lb-web")
BAD = Rule(
    "single-source",
    Status.FAILED,
    "2 health sources configured (probe, extension)",
    fix="az vmss extension delete ...",
)
WARN = Rule("latest-model", Status.WARNING, "2 of 10 instances are not on the latest model (3, 4)")


def test_ready_report_has_one_row_per_rule_and_no_fixes() -> None:
    text = render(report(OK, WARN))
    assert text.splitlines()[0] == "web: ready for rolling (0 failed, 1 warning, 2 rules)"
    assert any(line.startswith("ok") and "health-source" in line for line in text.splitlines())
    assert "warning" in text and "latest-model" in text
    assert "To fix:" not in text


def test_not_ready_report_lists_each_fix_under_the_table() -> None:
    text = render(report(OK, BAD, WARN))
    lines = text.splitlines()
    assert lines[0] == "web: NOT ready for rolling (1 failed, 1 warning, 3 rules)"
    assert any(line.startswith("FAILED") and "single-source" in line for line in lines)
    assert lines[-2:] == ["To fix:", "  single-source: az vmss extension delete ..."]


def test_fixes_can_be_left_out() -> None:
    assert "To fix:" not in render(report(BAD), fixes=False)
