"""Assertions shared by the reliability tests."""

from __future__ import annotations

from typing import Any

from tests.helpers import NAME, RG


def vmss_path(emu: Any, name: str = NAME, rg: str = RG) -> str:
    return (
        f"/subscriptions/{emu.subscription_id}/resourceGroups/{rg}"
        f"/providers/Microsoft.Compute/virtualMachineScaleSets/{name}"
    )


def one_clear_line(result: Any, *, starts: str = "error: ") -> str:
    """The failure is exactly one line on stderr, no traceback anywhere; returns that line."""
    assert "Traceback" not in result.output, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(starts), lines[0]
    return lines[0]


def diff_paths(before: Any, after: Any, path: str = "") -> set[str]:
    """Every leaf path where two JSON documents differ (a missing key counts as a difference)."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: set[str] = set()
        for key in set(before) | set(after):
            sub = f"{path}.{key}" if path else str(key)
            if key not in before or key not in after:
                present = after.get(key) if key in after else before.get(key)
                out |= _leaves(present, sub)
            else:
                out |= diff_paths(before[key], after[key], sub)
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        out = set()
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            out |= diff_paths(b, a, f"{path}[{i}]")
        return out
    return set() if before == after else {path}


def _leaves(doc: Any, path: str) -> set[str]:
    if isinstance(doc, dict) and doc:
        return set().union(*(_leaves(v, f"{path}.{k}") for k, v in doc.items()))
    return {path}
