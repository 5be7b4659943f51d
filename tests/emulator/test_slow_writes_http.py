"""Writes that take minutes (FACTS.md), at the HTTP level: a PATCH of a Rolling scale set stays Updating, its
operation InProgress with Retry-After, for the scenario's `timings.write`; in Manual mode it ends at once."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.emulator.test_http import request, vmss_path
from vmssroll.emulator import Emulator, ScaledClock, scenarios
from vmssroll.emulator.scenario_format import ScenarioError

ROLLING = {"properties": {"upgradePolicy": {"mode": "Rolling"}}}


def scenario(**timings: Any) -> dict[str, Any]:
    """uniform-probe (Manual mode, `web` in `rg-demo`) with these timings."""
    data = scenarios.load("uniform-probe")
    if timings:
        data["scale_sets"][0]["timings"] = timings
    return data


def poll(emu: Emulator, url: str) -> tuple[int, dict[str, str], Any]:
    parts = urlsplit(url)
    return request(emu, "GET", f"{parts.path}?{parts.query}")


def provisioning(emu: Emulator) -> str:
    status, _, body = request(emu, "GET", vmss_path(emu))
    assert status == 200, body
    return str(body["properties"]["provisioningState"])


def test_a_rolling_write_stays_updating_for_two_minutes_with_retry_after(live: Emulator) -> None:
    live.load_scenario(scenario())  # default timings: write 120 s, Retry-After at most 97 s
    status, headers, body = request(live, "PATCH", vmss_path(live), ROLLING)
    assert status == 200 and body["properties"]["provisioningState"] == "Updating"
    assert "retry-after" not in headers  # the SDK would resend a PATCH whose answer asks for a retry
    url = headers["azure-asyncoperation"]
    seen = []
    for step in (97, 23):
        status, op_headers, op = poll(live, url)
        assert status == 200 and op["status"] == "InProgress"
        seen.append(op_headers["retry-after"])
        assert provisioning(live) == "Updating"
        live.clock.advance(step)
    assert seen == ["97", "23"]  # at most 97 s, never past the write's end
    status, op_headers, op = poll(live, url)
    assert op["status"] == "Succeeded" and "endTime" in op and "retry-after" not in op_headers
    assert provisioning(live) == "Succeeded"


def test_a_manual_write_ends_at_the_first_poll(live: Emulator) -> None:
    live.load_scenario(scenario())
    status, headers, body = request(live, "PATCH", vmss_path(live), {"tags": {"a": "b"}})
    assert status == 200 and body["properties"]["provisioningState"] == "Succeeded"
    status, op_headers, op = poll(live, headers["azure-asyncoperation"])
    assert op["status"] == "Succeeded" and "retry-after" not in op_headers


@pytest.mark.parametrize(
    "start, body", [("Manual", ROLLING), ("Rolling", {"properties": {"upgradePolicy": {"mode": "Manual"}}})]
)
def test_switching_to_or_from_rolling_takes_the_write_time(live: Emulator, start: str, body: Any) -> None:
    data = scenario(write=30, write_retry_after=20)
    data["scale_sets"][0]["upgrade_policy"] = {"mode": start}
    live.load_scenario(data)
    _, headers, _ = request(live, "PATCH", vmss_path(live), body)
    _, op_headers, op = poll(live, headers["azure-asyncoperation"])
    assert op["status"] == "InProgress" and op_headers["retry-after"] == "20"
    live.clock.advance(30)
    assert poll(live, headers["azure-asyncoperation"])[2]["status"] == "Succeeded"


def test_a_write_time_of_zero_is_a_quick_write(live: Emulator) -> None:
    live.load_scenario(scenario(write=0))
    _, headers, body = request(live, "PATCH", vmss_path(live), ROLLING)
    assert body["properties"]["provisioningState"] == "Succeeded"
    assert poll(live, headers["azure-asyncoperation"])[2]["status"] == "Succeeded"


def test_retry_after_is_in_real_seconds_on_a_faster_clock() -> None:
    with Emulator(clock=ScaledClock(10), scenario=scenario(write=600, write_retry_after=50)) as emu:
        _, headers, _ = request(emu, "PATCH", vmss_path(emu), ROLLING)
        _, op_headers, op = poll(emu, headers["azure-asyncoperation"])
        assert op["status"] == "InProgress" and op_headers["retry-after"] == "5"  # 50 simulated seconds


def test_the_write_timings_are_checked() -> None:
    data = scenario()
    data["scale_sets"][0]["timings"] = {"write": "soon"}
    with pytest.raises(ScenarioError, match=r"timings\.write"):
        Emulator(scenario=data)
