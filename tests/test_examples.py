"""Every file in examples/ runs against the emulator here, so none of them can rot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vmssroll.emulator import Emulator, ScaledClock

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BIN = str(Path(sys.executable).parent)


def shell_env(emu: Emulator | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "VMSSROLL_WATCH_INTERVAL": "1s",
    }
    if emu is not None:
        env |= {
            "VMSSROLL_ARM_ENDPOINT": emu.url,
            "VMSSROLL_CA_BUNDLE": emu.ca_path,
            "AZURE_SUBSCRIPTION_ID": emu.subscription_id,
        }
    return env


def test_every_example_is_covered_here():
    covered = {
        "safe-rollout.sh",
        "progressive-rollout.sh",
        "approve-os-upgrade.sh",
        "policies/conservative.json",
        "policies/conservative.yaml",
        "policies/fast.yaml",
        "policies/maxsurge.yaml",
        "scenarios/bad-image.yaml",
        "scenarios/stuck-instance.yaml",
        "ci/github-actions.yml",
        "fleets/web-3.1.yaml",
    }
    present = {str(p.relative_to(EXAMPLES)) for p in EXAMPLES.rglob("*") if p.is_file()}
    assert present == covered


def test_the_fleet_example_plans_on_the_fleet_scenario(vmssroll, emu):
    """Its waves resolve on the `fleet` scenario (tests/cli/test_fleet.py checks the plan in detail)."""
    emu.load_scenario("fleet")
    result = vmssroll("fleet", "plan", str(EXAMPLES / "fleets" / "web-3.1.yaml"), "-o", "json")
    assert result.exit_code == 0, result.output
    assert [len(w["sets"]) for w in json.loads(result.stdout)["waves"]] == [4, 16, 12]


@pytest.mark.parametrize("policy", sorted(p.name for p in (EXAMPLES / "policies").iterdir()))
def test_policy_files_validate_and_apply(vmssroll, emu, policy):
    path = str(EXAMPLES / "policies" / policy)
    assert vmssroll("policy", "validate", "--file", path).exit_code == 0
    assert vmssroll("policy", "validate", "--file", path, "-g", "rg-demo", "-n", "web").exit_code == 0
    emu.clear_requests()
    dry = vmssroll("enable-rolling", "-g", "rg-demo", "-n", "web", "--file", path, "--dry-run", "-o", "json")
    assert dry.exit_code == 0, dry.output
    assert not [r for r in emu.requests if r.method != "GET"]


def test_json_and_yaml_conservative_policies_are_the_same():
    as_json = yaml.safe_load((EXAMPLES / "policies/conservative.json").read_text())
    as_yaml = yaml.safe_load((EXAMPLES / "policies/conservative.yaml").read_text())
    assert as_json == as_yaml


@pytest.mark.timeout(600)  # two rehearsals of up to 180 s each in subprocesses
def test_safe_rollout_completes_and_branches_on_a_fault():
    with Emulator(clock=ScaledClock(400), scenario="demo") as emu:
        good = subprocess.run(
            ["bash", str(EXAMPLES / "safe-rollout.sh"), "rg-demo", "web", "2.0.0"],
            env=shell_env(emu), capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert good.returncode == 0, good.stdout + good.stderr
        assert "rollout of 2.0.0 completed" in good.stdout
        bad = subprocess.run(
            ["bash", str(EXAMPLES / "safe-rollout.sh"), "rg-demo", "web", "3.0.0-bad"],
            env=shell_env(emu), capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert bad.returncode == 5, bad.stdout + bad.stderr
        assert "rollout FAULTED" in bad.stderr


@pytest.mark.timeout(600)  # three rehearsals in subprocesses
def test_approve_os_upgrade_runbook_approves_and_branches_on_a_fault():
    image = ("Canonical", "ubuntu-24_04-lts", "server")
    script = ["bash", str(EXAMPLES / "approve-os-upgrade.sh"), "rg-demo", "web"]
    from vmssroll.emulator.scenarios import load

    scenario = load("automatic-os")
    scenario["platform_images"] = [i for i in scenario["platform_images"] if not i.get("after")]  # none later
    with Emulator(clock=ScaledClock(400), scenario=scenario) as emu:
        nothing = subprocess.run(script, env=shell_env(emu), capture_output=True, text=True, timeout=180)
        assert nothing.returncode == 0, nothing.stdout + nothing.stderr
        assert "nothing waiting for approval" in nothing.stdout
        emu.publish_image(*image, "1.2.0")
        good = subprocess.run(script, env=shell_env(emu), capture_output=True, text=True, timeout=180)
        assert good.returncode == 0, good.stdout + good.stderr
        assert "approved OS upgrade completed" in good.stdout
        assert "Platform" in good.stdout and "1.2.0" in good.stdout  # the history
        emu.publish_image(*image, "2.0.0-bad")
        bad = subprocess.run(script, env=shell_env(emu), capture_output=True, text=True, timeout=180)
        assert bad.returncode == 5, bad.stdout + bad.stderr
        assert "OS upgrade FAULTED" in bad.stderr and "Faulted" in bad.stdout
        assert {vm["os_version"] for vm in emu.vms("rg-demo", "web")} == {"1.2.0"}  # rolled back


def test_safe_rollout_stops_when_not_ready():
    with Emulator(clock=ScaledClock(400), scenario="flexible-no-extension") as emu:
        scale_set = next(iter(emu.scenario["scale_sets"]))
        done = subprocess.run(
            ["bash", str(EXAMPLES / "safe-rollout.sh"), scale_set["resource_group"], scale_set["name"], "2.0.0"],
            env=shell_env(emu), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 3, done.stdout + done.stderr
        assert not [r for r in emu.requests if r.method != "GET"]


def test_scenario_examples_load_and_behave():
    with Emulator(clock=ScaledClock(1), scenario=str(EXAMPLES / "scenarios/bad-image.yaml")) as emu:
        assert len(emu.vms("rg-shop", "checkout")) == 12
    from tests.helpers import azure

    with Emulator(scenario=str(EXAMPLES / "scenarios/stuck-instance.yaml")) as emu:
        from vmssroll.domain.target import ScaleSetRef

        ref = ScaleSetRef(emu.subscription_id, "rg-shop", "api")
        image = {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "1.1.0"}
        body = {"properties": {"virtualMachineProfile": {"storageProfile": {"imageReference": image}}}}
        azure(emu).patch(ref, body, None, applied=lambda _: False, wait=None, unconditional=True)
        emu.clock.advance(3600)
        status = azure(emu).latest_upgrade(ref)
        assert status is not None and status.running  # stalled on instance 4, never completes
        assert status.progress.in_progress >= 1


@pytest.mark.timeout(600)  # each shell step may take up to 240 s
def test_ci_snippet_rehearsal_job_runs_here(tmp_path):
    workflow = yaml.safe_load((EXAMPLES / "ci/github-actions.yml").read_text())
    steps = workflow["jobs"]["rehearse"]["steps"]
    scripts = [s["run"] for s in steps if "run" in s and not s["run"].startswith("pip install")]
    assert scripts, "the rehearsal job has a shell step"
    for script in scripts:
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=EXAMPLES.parent, env={**shell_env(), "RUNNER_TEMP": str(tmp_path)},
            capture_output=True, text=True, timeout=240,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        assert "rollout of 2.0.0 completed" in done.stdout


@pytest.mark.timeout(600)  # two rehearsals of up to 180 s each in subprocesses
def test_progressive_rollout_is_done_and_baked_then_a_bad_release_is_put_back():
    with Emulator(clock=ScaledClock(200), scenario="demo") as emu:
        env = shell_env(emu) | {"AUTO_RESUME": "2s", "GATE_INTERVAL": "1s", "BAKE": "3s"}
        script = str(EXAMPLES / "progressive-rollout.sh")
        good = subprocess.run(
            ["bash", script, "rg-demo", "web", "2.0.0"], env=env, capture_output=True, text=True, timeout=180
        )
        assert good.returncode == 0, good.stdout + good.stderr
        assert "rollout of 2.0.0 done and baked" in good.stdout
        assert "Paused at " in good.stderr and "Resumed after 2s with every gate passing" in good.stderr
        bad = subprocess.run(
            ["bash", script, "rg-demo", "web", "3.0.0-bad"],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert bad.returncode == 5, bad.stdout + bad.stderr
        assert "STOPPED (by Azure or a gate); the previous image was put back" in bad.stderr
        assert "Undone: " in bad.stderr
        model = emu.vmss("rg-demo", "web")
        assert (
            model["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]["version"]
            == "2.0.0"
        )
        assert model["tags"]["vmssroll.phase"] == "undone"
