"""The foreground `serve` entry point: run the emulator until Ctrl-C and say how to point the tool at it."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable
from typing import Any

from .app import Emulator
from .clock import ManualClock, ScaledClock


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
) -> None:
    """Run the emulator in the foreground until Ctrl-C, printing how to point the tool at it."""
    clock = ScaledClock(speed) if speed else ManualClock()
    emu = Emulator(clock=clock, host=host, port=port, scenario=scenario).start()
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
        out(f"export VMSSROLL_ARM_ENDPOINT={emu.url}")
        out(f"export VMSSROLL_CA_BUNDLE={emu.ca_path}")
        out(f"export AZURE_SUBSCRIPTION_ID={emu.subscription_id}")
        out("Press Ctrl-C to stop.")
        threading.Event().wait()
    except KeyboardInterrupt:
        out("Stopped.")
    finally:
        emu.stop()
