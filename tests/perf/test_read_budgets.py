"""Only read budgets slow a watch down: a write counter at 0 (VmssQueuedVMOperations) is not a budget."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers import push_image, set_rolling, target
from vmssroll.emulator import Emulator

RESOURCE = "x-ms-ratelimit-remaining-resource"


def _resource_header(emu: Emulator, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    answer = emu.handle_arm

    def handle(req: Any, authorized: bool, *args: Any) -> Any:
        resp, drop = answer(req, authorized, *args)
        if resp.status < 400:
            resp.headers[RESOURCE] = value
        return resp, drop

    monkeypatch.setattr(emu, "handle_arm", handle)


def _paces(result) -> list[dict[str, Any]]:
    return [e for e in map(json.loads, result.stdout.splitlines()) if e["event"] == "pace"]


def test_queued_operations_at_zero_do_not_slow_the_watch(vmssroll, emu, monkeypatch):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    _resource_header(
        emu,
        monkeypatch,
        "Microsoft.Compute/VMScaleSetActions3Min;1,Microsoft.Compute/VmssQueuedVMOperations;0",
    )
    result = vmssroll("watch", *target(), "-o", "json", "--interval", "10s")
    assert result.exit_code == 0, result.output
    assert _paces(result) == []


def test_a_low_compute_read_budget_slows_the_watch(vmssroll, emu, monkeypatch):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    _resource_header(
        emu, monkeypatch, "Microsoft.Compute/GetVMScaleSet3Min;5,Microsoft.Compute/VmssQueuedVMOperations;0"
    )
    result = vmssroll("watch", *target(), "-o", "json", "--interval", "10s")
    assert result.exit_code == 0, result.output
    paces = _paces(result)
    assert paces and paces[0]["interval"] == 40
    assert set(paces[0]["rateLimitRemaining"]) == {
        "subscription-reads",
        "Microsoft.Compute/GetVMScaleSet3Min",
    }
