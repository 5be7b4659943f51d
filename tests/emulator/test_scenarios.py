"""Scenario files: built-ins load, invalid ones are refused with a message naming the field."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.emulator.emu_helpers import Sim
from vmssroll.emulator import Emulator, ScenarioError, builtin_names

BUILTINS = {
    "uniform-probe", "uniform-extension", "uniform-missing-probe", "uniform-probe-and-extension",
    "uniform-initializing", "uniform-unhealthy", "flexible-no-extension", "flexible-extension", "large", "demo",
}  # fmt: skip


def test_builtin_names_are_the_contract() -> None:
    assert set(builtin_names()) >= BUILTINS


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_every_builtin_loads_and_sets_the_max_surge_feature(name: str) -> None:
    emu = Emulator(scenario=name)
    assert emu.scenario["features"]["Microsoft.Compute/MaxSurgeRollingUpgrade"] in (
        "Registered",
        "NotRegistered",
    )


def test_health_sources_per_scenario() -> None:
    assert Sim("uniform-missing-probe").vms()["0"]["health"] is None  # a dangling probe reports nothing
    assert Sim("uniform-probe-and-extension").vms()["0"]["health"] == "healthy"
    flex = Sim("flexible-no-extension")
    assert {v["health"] for v in flex.vms("rg-flex", "flex").values()} == {None}
    assert [v["attached"] for v in flex.vms("rg-flex", "flex").values()].count(True) == 1
    unhealthy = Sim("uniform-unhealthy").vms()
    assert sorted(i for i, v in unhealthy.items() if v["health"] == "unhealthy") == ["2", "5", "7"]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda s: s["scale_sets"][0].pop("resource_group"), "scale_sets[0].resource_group"),
        (lambda s: s["scale_sets"][0].update(capacity=-1), "scale_sets[0].capacity"),
        (lambda s: s["scale_sets"][0].update(initial_health="sick"), "scale_sets[0].initial_health"),
        (lambda s: s["scale_sets"][0].update(colour="red"), "scale_sets[0].colour"),
        (
            lambda s: s["scale_sets"][0].update(health_rules=[{"health": "unhealthy"}]),
            "scale_sets[0].health_rules[0]",
        ),
        (lambda s: s.update(features={"X/Y": "Maybe"}), "features.X/Y"),
    ],
)
def test_invalid_scenarios_name_the_field(mutate, field: str) -> None:
    data = Emulator(scenario="demo").scenario
    data = json.loads(json.dumps(data))
    mutate(data)
    with pytest.raises(ScenarioError) as info:
        Emulator(scenario=data)
    assert str(info.value).startswith(field)


def _one_set(**fields: Any) -> dict[str, Any]:
    return {"scale_sets": [{"name": "web", "resource_group": "rg", **fields}]}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"scale_sets": [{"name": None, "resource_group": "rg"}]}, "scale_sets[0].name"),
        ({"scale_sets": [{"name": "web", "resource_group": None}]}, "scale_sets[0].resource_group"),
        (_one_set(capacity="ten"), "scale_sets[0].capacity"),
        (_one_set(capacity=True), "scale_sets[0].capacity"),
        (_one_set(zones="1"), "scale_sets[0].zones"),
        ({**_one_set(), "load_balancers": True}, "load_balancers"),
        (_one_set(tags=[1]), "scale_sets[0].tags"),
        (_one_set(tags={"env": 1}), "scale_sets[0].tags.env"),
        (_one_set(sku=None), "scale_sets[0].sku"),
        (_one_set(timings={"updating": "5"}), "scale_sets[0].timings.updating"),
        (_one_set(instances={"1": None}), "scale_sets[0].instances.1"),
        (_one_set(extensions=[{"name": "e", "settings": []}]), "scale_sets[0].extensions[0].settings"),
        (_one_set(profile={"osProfile": {1: "x"}}), "scale_sets[0].profile.osProfile.1"),
        (_one_set(os_profile={"at": date(2026, 1, 5)}), "scale_sets[0].os_profile.at"),  # a YAML date
        ({**_one_set(), "features": []}, "features"),
        ({"scale_sets": 7}, "scale_sets"),
        ([], "scenario"),
    ],
)
def test_malformed_scenarios_raise_one_scenario_error_naming_the_field(data: Any, field: str) -> None:
    with pytest.raises(ScenarioError) as info:
        Emulator(scenario=data)
    assert str(info.value).startswith((f"{field}: must be", f"{field}: the key"))


def test_what_yaml_reads_loosely_still_loads() -> None:
    data = _one_set(
        capacity=3, zones=[1, 2], instances={2: {"image_version": 0.9}}, extensions=None, tags=None
    )
    vms = Emulator(scenario=data).vms("rg", "web")
    assert [v["zone"] for v in vms] == ["1", "2", "1"]
    assert [v["latest_model_applied"] for v in vms] == [True, True, False]


def test_scenario_files_in_json_and_yaml(tmp_path: Path) -> None:
    data = {"subscription": "sub-1", "scale_sets": [{"name": "s", "resource_group": "rg", "capacity": 3}]}
    (tmp_path / "s.json").write_text(json.dumps(data))
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    for name in ("s.json", "s.yaml"):
        emu = Emulator(scenario=tmp_path / name)
        assert emu.subscription_id == "sub-1" and len(emu.vms("rg", "s")) == 3
    (tmp_path / "bad.yaml").write_text("scale_sets: [")
    with pytest.raises(ScenarioError, match=r"bad\.yaml"):
        Emulator(scenario=str(tmp_path / "bad.yaml"))
    with pytest.raises(ScenarioError, match="unknown scenario"):
        Emulator(scenario="no-such-scenario")


def test_python_m_prints_how_to_connect() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "vmssroll.emulator", "--scenario", "uniform-probe", "--speed", "60"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(7)]
    finally:
        proc.terminate()
        proc.wait(timeout=5)
    text = "".join(lines)
    assert "export VMSSROLL_ARM_ENDPOINT=https://127.0.0.1:" in text
    assert "export VMSSROLL_CA_BUNDLE=" in text
    assert "export AZURE_SUBSCRIPTION_ID=6f1c9b2e-0d3a-4c7e-9a51-2b8f4e7d1a01" in text
    assert "WARNING" not in text
