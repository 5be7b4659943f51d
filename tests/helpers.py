"""Setting the scene through the real SDK (the same adapter the commands use), and reading the request log."""

from __future__ import annotations

import copy
import signal
from typing import Any

from vmssroll.adapter.client import Azure
from vmssroll.adapter.connection import resolve_connection
from vmssroll.domain.target import ScaleSetRef
from vmssroll.emulator import Emulator

RG, NAME = "rg-demo", "web"
WRITES = ("PUT", "PATCH", "POST", "DELETE")


def azure(at: Any, **options: Any) -> Azure:
    """The adapter the commands use, pointed at the emulator or at a hostile server in front of it (`options`:
    Azure's own, e.g. `retries=False`)."""
    subscription = getattr(at, "subscription_id", None) or at.emu.subscription_id
    conn = resolve_connection(
        cloud="AzureCloud", endpoint=at.url, ca_bundle=at.ca_path, subscription=subscription
    )
    return Azure(conn, **{"lro_interval": 0, **options})


def ref(emu: Emulator, name: str = NAME, rg: str = RG) -> ScaleSetRef:
    return ScaleSetRef(emu.subscription_id, rg, name)


def patch(emu: Emulator, body: dict[str, Any], name: str = NAME) -> None:
    azure(emu).patch(ref(emu, name), body, None, applied=lambda _: False, wait=None, unconditional=True)


def quick_writes(scenario: str = "uniform-probe") -> dict[str, Any]:
    """A built-in scenario whose writes end at the first poll in Rolling mode too: for a tool in another
    process, on the real clock, while the emulator's clock stands still."""
    from vmssroll.emulator import scenarios

    data = scenarios.load(scenario)
    for spec in data["scale_sets"]:
        spec["timings"] = {**(spec.get("timings") or {}), "write": 0}
    return data


def set_rolling(emu: Emulator, name: str = NAME, **policy: Any) -> None:
    """Rolling mode with the given rolling policy fields (REST names)."""
    patch(emu, {"properties": {"upgradePolicy": {"mode": "Rolling", "rollingUpgradePolicy": policy}}}, name)


def push_image(emu: Emulator, version: str, name: str = NAME) -> None:
    """A model change: a new image version (marketplace version, or the gallery id's version segment)."""
    image = copy.deepcopy(
        emu.vmss(RG, name)["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]
    )
    if "id" in image:
        image["id"] = image["id"].rsplit("/", 1)[0] + "/" + version
    else:
        image["version"] = version
    patch(emu, {"properties": {"virtualMachineProfile": {"storageProfile": {"imageReference": image}}}}, name)


def writes(emu: Emulator) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in emu.requests if r.method in WRITES]


def target(name: str = NAME) -> tuple[str, ...]:
    return ("-g", RG, "-n", name)


def sigint_default() -> None:
    """A `preexec_fn` for a child a test sends Ctrl-C: SIGINT as in a foreground process, even when the suite
    itself runs with SIGINT ignored (started in the background by a non-interactive shell, whose children
    inherit the ignore, and Python then installs no KeyboardInterrupt handler)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
