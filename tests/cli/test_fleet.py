"""`vmssroll fleet plan | status` end to end: the real SDK against the emulator's `fleet` scenario (40 scale
sets in 3 subscriptions), checking what a user sees and what was sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vmssroll.domain.progressive import Kind, Phase, Record

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fleets" / "web-3.1.yaml"
AMERICAS = "3f2a8c1e-5b7d-4e9a-8c21-7d4b6e0f1a01"
EUROPE = "8b4e2d90-1c3f-4a6b-9e72-5f0d3c8a2b02"
ASIA = "c7d19e53-2a84-4f1b-b6e0-9a3c5d7f4e03"


def fleet_file(tmp_path: Path, **changes: Any) -> str:
    doc: dict[str, Any] = {
        "name": "web-3.1",
        "change": {"image_version": "3.1.0"},
        "targets": {"subscriptions": [AMERICAS, EUROPE, ASIA], "tags": {"app": "web"}},
        "waves": [
            {"name": "canary", "select": {"regions": ["westus2"]}},
            {"name": "europe", "select": {"regions": ["westeurope", "northeurope"]}, "max_parallel": 5},
            {"name": "rest", "max_parallel": 10},
        ],
    }
    doc.update(changes)
    path = tmp_path / "fleet.json"
    path.write_text(json.dumps(doc))
    return str(path)


@pytest.fixture
def fleet(emu):
    emu.load_scenario("fleet")
    emu.clear_requests()
    return emu


def names(wave: dict[str, Any]) -> list[str]:
    return [s["name"] for s in wave["sets"]]


def set_tags(emu, rg: str, name: str, tags: dict[str, str]) -> None:
    with emu.lock:
        ss = emu.world.find(rg, name)
        ss.model["tags"] = {**(ss.model.get("tags") or {}), **tags}


def test_plan_of_the_example_lists_every_wave_and_sends_only_reads(vmssroll, fleet):
    result = vmssroll("fleet", "plan", str(EXAMPLE), "-o", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [w["name"] for w in doc["waves"]] == ["canary", "ring-1", "rest"]
    assert [len(w["sets"]) for w in doc["waves"]] == [4, 16, 12]
    assert doc["total"]["scaleSets"] == 32 and doc["listed"] == 40  # the 8 api sets are no targets
    assert doc["total"]["instances"] == sum(s["instances"] for w in doc["waves"] for s in w["sets"])
    assert set(names(doc["waves"][0])) == {f"web-westus2-0{n}" for n in range(1, 5)}
    assert {s["region"] for s in doc["waves"][1]["sets"]} == {"eastus", "westeurope"}
    assert all(s["ready"] is True and s["state"] == "pending" for w in doc["waves"] for s in w["sets"])
    assert doc["waves"][0]["does"].startswith("roll out image version 3.1.0 to 4 scale set(s)")
    assert doc["unassigned"] == [] and doc["missingIds"] == []
    sent = fleet.requests
    assert {r.method for r in sent} == {"GET"}
    listings = [
        r.path
        for r in sent
        if r.path.lower().endswith("/providers/microsoft.compute/virtualmachinescalesets")
    ]
    assert sorted(p.split("/")[2] for p in listings) == sorted([AMERICAS, EUROPE, ASIA])  # one client each
    # api sets are listed but never read on their own
    assert not [r for r in sent if "/virtualMachineScaleSets/api-" in r.path]


def test_plan_as_a_table(vmssroll, fleet):
    result = vmssroll("fleet", "plan", str(EXAMPLE), width=160)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "fleet web-3.1: image version 3.1.0 to 32 scale set(s), 98 instance(s), in 3 wave(s) across 3 "
        "subscription(s)"
    )
    assert any(
        line.startswith("wave 1 of 3: canary: roll out image version 3.1.0 to 4 scale set(s)")
        for line in lines
    )
    row = next(line for line in lines if line.startswith("web-westeurope-03"))
    assert row.split() == ["web-westeurope-03", "8b4e2d90…", "rg-web-westeurope", "westeurope", "2", "Rolling",
                           "pending", "ready"]  # fmt: skip


def test_a_bad_fleet_file_sends_nothing_and_names_every_problem(vmssroll, fleet, tmp_path):
    path = fleet_file(
        tmp_path,
        name="web 3.1",
        targets={"subscriptions": ["prod"]},
        waves=[{"name": "canary", "max_parallel": 0}],
        stop={"undo": "all"},
    )
    result = vmssroll("fleet", "plan", path)
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 4, result.stderr
    assert "error: fleet file targets.subscriptions[0]: 'prod' is not a subscription id (a GUID)" in errors
    assert fleet.requests == []
    missing = vmssroll("fleet", "status", str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 2 and missing.stderr.startswith("error: fleet file '")
    assert fleet.requests == []


def test_targets_in_no_wave_are_listed_and_refused(vmssroll, fleet, tmp_path):
    path = fleet_file(tmp_path, waves=[{"name": "canary", "select": {"regions": ["westus2"]}}])
    result = vmssroll("fleet", "plan", path)
    assert result.exit_code == 2
    assert "28 target(s) in no wave:" in result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 28 and all(": a target in no wave" in e for e in errors)
    assert "add a wave without select" in result.stderr
    assert {r.method for r in fleet.requests} == {"GET"}


def test_ids_that_name_no_scale_set_and_a_fleet_that_matches_nothing(vmssroll, fleet, tmp_path):
    gone = f"/subscriptions/{ASIA}/resourceGroups/rg-web-japaneast/providers/Microsoft.Compute/virtualMachineScaleSets/x"
    there = gone.replace("/x", "/web-japaneast-01")
    result = vmssroll("fleet", "plan", fleet_file(tmp_path, targets={"ids": [there, gone]}), "-o", "json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["missingIds"] == [gone]
    assert f"error: fleet plan: {gone}: no such scale set" in result.stderr
    none = vmssroll(
        "fleet", "plan", fleet_file(tmp_path, targets={"subscriptions": [ASIA], "names": ["db-*"]})
    )
    assert none.exit_code == 2 and "error: fleet plan: the fleet's targets match no scale set" in none.stderr


def test_a_set_not_ready_or_busy_is_exit_3(vmssroll, fleet, tmp_path):
    with fleet.lock:
        fleet.world.find("rg-web-westus2", "web-westus2-02").props["upgradePolicy"]["mode"] = "Manual"
    busy = Record("20260101T000000Z", Kind.IMAGE, Phase.PAUSED, 3, checkpoints=(50,), passed=(50,))
    set_tags(fleet, "rg-web-japaneast", "web-japaneast-01", busy.to_tags())
    result = vmssroll("fleet", "plan", fleet_file(tmp_path), "-o", "json")
    assert result.exit_code == 3, result.output
    rows = {s["name"]: s for w in json.loads(result.stdout)["waves"] for s in w["sets"]}
    assert rows["web-westus2-02"]["ready"] is False
    assert rows["web-westus2-02"]["problems"] == ["mode: Manual mode: a model change rolls nothing there"]
    assert rows["web-japaneast-01"]["state"] == "busy"
    assert "some scale sets are not ready or busy" in result.stderr


def test_a_subscription_that_cannot_be_listed_fails_the_plan(vmssroll, fleet, tmp_path):
    fleet.faults.add(
        kind="status", status=403, method="GET", path_regex=f"/subscriptions/{EUROPE}/providers/"
    )
    result = vmssroll("fleet", "plan", fleet_file(tmp_path))
    assert result.exit_code == 9, result.output
    assert f"listing the scale sets of subscription {EUROPE}" in result.stderr


def test_readiness_unknown_when_a_read_fails(vmssroll, fleet, tmp_path):
    fleet.faults.add(kind="status", status=500, method="GET", path_regex="web-westus2-03/virtualMachines")
    result = vmssroll("fleet", "plan", fleet_file(tmp_path), "-o", "json")
    rows = {s["name"]: s for w in json.loads(result.stdout)["waves"] for s in w["sets"]}
    assert result.exit_code == 0, result.output
    assert rows["web-westus2-03"]["unknown"] and "instances: unknown" in rows["web-westus2-03"]["unknown"]


def test_status_reads_each_sets_record_and_polls_only_what_is_unfinished(vmssroll, fleet, tmp_path):
    done = Record("fleet:web-3.1", Kind.IMAGE, Phase.DONE, 3)
    rolling = Record("fleet:web-3.1", Kind.IMAGE, Phase.ROLLING, 4, checkpoints=(50,))
    stopped = Record("fleet:web-3.1", Kind.IMAGE, Phase.STOPPED, 2, reason="gate failed 2 time(s) in a row")
    other = Record("fleet:web-3.0", Kind.IMAGE, Phase.ROLLING, 3)
    set_tags(fleet, "rg-web-westus2", "web-westus2-01", done.to_tags())
    set_tags(fleet, "rg-web-westus2", "web-westus2-02", rolling.to_tags())
    set_tags(fleet, "rg-web-westeurope", "web-westeurope-03", stopped.to_tags())
    set_tags(fleet, "rg-web-japaneast", "web-japaneast-01", other.to_tags())
    set_tags(
        fleet,
        "rg-web-japaneast",
        "web-japaneast-02",
        {"vmssroll.rollout": "fleet:web-3.1", "vmssroll.kind": "?"},
    )
    result = vmssroll("fleet", "status", fleet_file(tmp_path), "-o", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    rows = {s["name"]: s for w in doc["waves"] for s in w["sets"]}
    assert rows["web-westus2-01"]["state"] == "done" and rows["web-westus2-01"]["standing"] == "done"
    assert rows["web-westus2-02"]["state"] == "active" and rows["web-westus2-02"]["phase"] == "rolling"
    assert rows["web-westeurope-03"]["state"] == "stopped"
    assert rows["web-westeurope-03"]["standing"] == "stopped by a gate: gate failed 2 time(s) in a row"
    assert (
        rows["web-japaneast-01"]["state"] == "busy"
        and "fleet:web-3.0 is rolling" in rows["web-japaneast-01"]["standing"]
    )
    assert rows["web-japaneast-02"]["state"] == "unknown"
    assert (
        rows["web-japaneast-03"]["state"] == "pending"
        and rows["web-japaneast-03"]["standing"] == "not started"
    )
    assert doc["total"]["states"] == {
        "done": 1,
        "active": 1,
        "stopped": 1,
        "busy": 1,
        "unknown": 1,
        "pending": 27,
    }
    latest = sorted(
        r.path.split("/")[8] for r in fleet.requests if r.path.endswith("/rollingUpgrades/latest")
    )
    assert latest == ["web-westeurope-03", "web-westus2-02"]  # never a finished set, never another's
    assert {r.method for r in fleet.requests} == {"GET"}
    table = vmssroll("fleet", "status", fleet_file(tmp_path), width=160)
    assert "wave 1 of 3: canary: 1 of 4 done (1 active, 2 pending)" in table.stdout
    assert "sets: 1 active, 1 busy, 1 done, 27 pending, 1 stopped, 1 unknown" in table.stdout


def test_fleet_help_lists_its_commands(vmssroll):
    result = vmssroll("fleet", "--help")
    assert result.exit_code == 0
    assert "plan" in result.stdout and "status" in result.stdout
    plan = vmssroll("fleet", "plan", "--help")
    assert "FLEET_FILE" in plan.stdout and "--resource-group" not in plan.stdout


def test_one_token_for_every_subscription(vmssroll, fleet, mocker):
    from tests.cli.test_parallel_reads import CountingCredential

    credential = CountingCredential()
    credential.release.set()
    mocker.patch("vmssroll.adapter.client.credential_for", return_value=credential)
    result = vmssroll("fleet", "status", str(EXAMPLE), "-o", "json")
    assert result.exit_code == 0, result.output
    listed = {r.path.split("/")[2] for r in fleet.requests if r.path.endswith("/virtualMachineScaleSets")}
    assert listed == {AMERICAS, EUROPE, ASIA} and credential.calls == 1
