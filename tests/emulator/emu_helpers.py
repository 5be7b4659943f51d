"""Helpers for the emulator tests: an in-process caller and the real SDK client."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from vmssroll.emulator import Emulator, ManualClock
from vmssroll.emulator.arm import Response
from vmssroll.emulator.handlers import Request

START = datetime(2026, 1, 1, tzinfo=UTC)


class Sim:
    """Calls the emulator's ARM layer in-process, without HTTP."""

    def __init__(self, scenario: str | dict[str, Any] = "demo") -> None:
        self.emu = Emulator(clock=ManualClock(start=START), scenario=scenario, page_size=100)

    def load(self, scenario: Any) -> Sim:
        self.emu.load_scenario(scenario)
        return self

    def base(self, rg: str = "rg-demo", name: str = "web") -> str:
        sub = self.emu.subscription_id
        return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}"

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, **query: str
    ) -> Response:
        query.setdefault("api-version", "2026-04-01")
        req = Request(
            method, path, query, {k.lower(): v for k, v in (headers or {}).items()}, body, "https://x"
        )
        resp, _ = self.emu.handle_arm(req, True)
        return resp

    def patch(self, body: dict[str, Any], **kw: Any) -> Response:
        return self.call("PATCH", self.base(**kw), body)

    def latest(self, **kw: Any) -> dict[str, Any]:
        resp = self.call("GET", self.base(**kw) + "/rollingUpgrades/latest")
        assert resp.status == 200, resp.body
        return resp.body

    def advance(self, seconds: float) -> None:
        self.emu.clock.advance(seconds)

    def vms(self, rg: str = "rg-demo", name: str = "web") -> dict[str, dict[str, Any]]:
        return {v["instance_id"]: v for v in self.emu.vms(rg, name)}

    def busy(self, **kw: Any) -> list[str]:
        return sorted((i for i, v in self.vms(**kw).items() if v["phase"] != "idle"), key=int)


def rolling(version: str, **policy: Any) -> dict[str, Any]:
    """A PATCH body switching to Rolling with a new image version."""
    return {
        "properties": {
            "upgradePolicy": {"mode": "Rolling", "rollingUpgradePolicy": policy},
            "virtualMachineProfile": {"storageProfile": {"imageReference": {"version": version}}},
        }
    }


class Credential:
    """A trivial credential for the real SDK."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken("t", 4_102_444_800)


def make_client(emu: Emulator, **kw: Any) -> Any:
    from azure.mgmt.compute import ComputeManagementClient

    kw.setdefault("retry_total", 0)
    return ComputeManagementClient(
        Credential(),
        emu.subscription_id,
        base_url=emu.url,
        connection_verify=emu.ca_path,
        polling_interval=0.01,
        **kw,
    )
