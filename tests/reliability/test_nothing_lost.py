"""Nothing lost: every write command changes only what it means to change; the whole stored model (secrets
included, as the emulator keeps them) is compared before and after."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.helpers import NAME, RG, push_image, set_rolling, target
from tests.reliability.checks import diff_paths

POLICY = "properties.upgradePolicy"
ROLLING = f"{POLICY}.rollingUpgradePolicy"
SECRETS = (
    ("properties", "virtualMachineProfile", "osProfile", "adminPassword"),
    (
        "properties",
        "virtualMachineProfile",
        "extensionProfile",
        "extensions",
        0,
        "properties",
        "protectedSettings",
    ),
)


def _secret(model: dict[str, Any], path: tuple[Any, ...]) -> Any:
    for key in path:
        model = model[key]
    return model


def _rolling_running(emu: Any) -> None:
    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.clock.advance(60)


def _cancelled(emu: Any) -> None:
    _rolling_running(emu)
    from tests.helpers import azure, ref

    azure(emu).cancel(ref(emu))
    emu.clock.advance(3600)


CASES: list[tuple[str, str, Callable[[Any], None], tuple[str, ...], set[str]]] = [
    (
        "policy-set",
        "uniform-extension",
        lambda emu: None,
        ("policy", "set", "--max-batch-instance-percent", "30", "--pause-time-between-batches", "PT10S"),
        {f"{ROLLING}.maxBatchInstancePercent", f"{ROLLING}.pauseTimeBetweenBatches"},
    ),
    (
        "policy-set-mode",
        "uniform-extension",
        lambda emu: None,
        ("policy", "set", "--mode", "Automatic", "--prioritize-unhealthy"),
        {f"{POLICY}.mode", f"{ROLLING}.prioritizeUnhealthyInstances"},
    ),
    (
        "enable-rolling",
        "uniform-extension",
        lambda emu: None,
        ("enable-rolling", "--max-unhealthy-instance-percent", "50"),
        {f"{POLICY}.mode", f"{ROLLING}.maxUnhealthyInstancePercent"},
    ),
    ("disable-rolling", "uniform-extension", set_rolling, ("disable-rolling",), {f"{POLICY}.mode"}),
    ("restart", "uniform-probe", _cancelled, ("restart",), set()),
    ("cancel", "uniform-probe", _rolling_running, ("cancel", "--no-wait"), set()),
    ("start-os", "demo", set_rolling, ("start", "os"), set()),
    ("start-extension", "uniform-extension", set_rolling, ("start", "extension"), set()),
]


@pytest.mark.parametrize(
    ("scenario", "setup", "args", "intended"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_a_write_changes_only_what_it_means_to(vmssroll, emu, scenario, setup, args, intended):
    emu.load_scenario(scenario)
    setup(emu)
    before = emu.vmss(RG, NAME)
    result = vmssroll(*args, *target(), "--yes")
    assert result.exit_code == 0, result.output
    after = emu.vmss(RG, NAME)
    changed = diff_paths(before, after)
    assert changed - {"etag"} == intended, changed
    for path in SECRETS:
        if path[-1] == "protectedSettings" and scenario != "uniform-extension":
            continue
        assert _secret(after, path) == _secret(before, path)  # never destroyed by a write-back
    assert all(r.method != "PUT" for r in emu.requests)  # PATCH only, never a full PUT


def test_every_write_command_is_covered(vmssroll):
    """The write commands all exist and all appear in CASES (a new one must join it)."""
    from typer.main import get_command

    from vmssroll.cli.app import app

    names = set(get_command(app).commands)  # type: ignore[attr-defined]
    writers = {"policy", "enable-rolling", "disable-rolling", "restart", "cancel", "start"}
    covered = {c[3][0] for c in CASES}
    assert writers <= names
    assert writers == covered
