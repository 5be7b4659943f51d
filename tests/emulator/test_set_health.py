"""Health rules changed while the emulator runs (a dependency fails, then recovers)."""

from __future__ import annotations

import pytest

from vmssroll.emulator import Emulator, ManualClock


def health(emu: Emulator) -> dict[str, str | None]:
    return {vm["instance_id"]: vm["health"] for vm in emu.vms("rg-demo", "web")}


def test_a_rule_applies_at_once_to_settled_instances_and_can_be_lifted():
    emu = Emulator(clock=ManualClock(), scenario="demo")
    assert set(health(emu).values()) == {"healthy"}
    emu.set_health("rg-demo", "web", image_version="1.0.0", health="unhealthy")
    assert set(health(emu).values()) == {"unhealthy"}
    emu.set_health("rg-demo", "web", image_version="1.0.0", health=None)
    assert set(health(emu).values()) == {"healthy"}
    emu.set_health("rg-demo", "web", instance_id="3", health="unknown")
    assert health(emu)["3"] == "unknown" and health(emu)["4"] == "healthy"


def test_bad_arguments_are_refused():
    emu = Emulator(clock=ManualClock(), scenario="demo")
    with pytest.raises(ValueError):
        emu.set_health("rg-demo", "web", health="healthy")
    with pytest.raises(ValueError):
        emu.set_health("rg-demo", "web", instance_id="1", health="purple")
    with pytest.raises(KeyError):
        emu.set_health("rg-demo", "nope", instance_id="1", health="healthy")
