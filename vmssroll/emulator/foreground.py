"""The foreground `serve` entry point: run the emulator until Ctrl-C and say how to point the tool at it."""

from __future__ import annotations

import ipaddress
import signal
import threading
from collections.abc import Callable
from typing import Any

from .app import Emulator
from .clock import ManualClock, ScaledClock
from .latency import Latency
from .scenarios import load


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    scenario: str = "demo",
    host: str = "127.0.0.1",
    port: int = 0,
    speed: float | None = None,
    out: Callable[[str], Any] = print,
    latency: Latency | None = None,
) -> None:
    """Run the emulator in the foreground until Ctrl-C, printing how to point the tool at it."""
    clock = ScaledClock(speed) if speed else ManualClock()
    emu = Emulator(clock=clock, host=host, port=port, scenario=scenario, latency=latency).start()
    # SIGTERM (kill, a CI job ending, systemd) ends it like Ctrl-C, so the CA's temporary folder goes too.
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        out(f"Azure emulator (scenario {scenario!r}) listening on {emu.url}")
        if not is_loopback(host):
            out(
                f"WARNING: listening on {host}, which is not a loopback address: other machines can reach it."
            )
        out(f"CA certificate: {emu.ca_path}")
        out(
            "Simulated time: "
            + (f"{speed:g}x real time" if speed else "manual (POST /_emulator/clock/advance)")
        )
        if emu.latency:
            out(f"Latency: {emu.latency} of real time added to every answer")
        out(f"export VMSSROLL_ARM_ENDPOINT={emu.url}")
        out(f"export VMSSROLL_CA_BUNDLE={emu.ca_path}")
        out(f"export AZURE_SUBSCRIPTION_ID={emu.subscription_id}")
        if len(emu.subscription_ids) > 1:
            out(
                f"Subscriptions: {', '.join(emu.subscription_ids)} (scale sets elsewhere than the first say -s SUB)"
            )
        for line in describe(load(scenario)):
            out(line)
        out("Press Ctrl-C to stop.")
        threading.Event().wait()
    except KeyboardInterrupt:
        out("Stopped.")
    finally:
        emu.stop()
        signal.signal(signal.SIGTERM, previous)


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def describe(data: dict[str, Any]) -> list[str]:
    """The resource groups and scale sets a scenario holds, as a user names them (-g RG -n NAME)."""
    lines = ["Scale sets (-g RESOURCE_GROUP -n NAME):"]
    for ss in data["scale_sets"]:
        policy = ss.get("upgrade_policy") or {}
        mode = policy.get("mode") or "Manual"
        details = [
            f"{ss.get('capacity', 0)} instances",
            str(ss.get("orchestration_mode") or "Uniform"),
            f"{mode} mode",
        ]
        sub = f" -s {ss['subscription']}" if ss.get("subscription") else ""
        lines.append(f"  -g {ss['resource_group']} -n {ss['name']}{sub}  ({', '.join(details)})")
    return lines
