"""Automatic OS image upgrades end to end: `policy set` turns them on with deferral, the emulator publishes a
new image on its clock, the upgrade waits, `approve` lets it run, `history` shows it (table and JSON), and a
failing image is rolled back and the history says so. The real SDK against the emulator."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import RG, patch, target, writes

IMAGE = ("Canonical", "ubuntu-24_04-lts", "server")


@pytest.fixture
def auto(emu: Any) -> Any:
    emu.load_scenario("automatic-os")
    return emu


def posts(emu: Any, suffix: str) -> list[Any]:
    return [r for r in emu.requests if r.method == "POST" and r.path.endswith(suffix)]


def exact_versions(emu: Any) -> list[str]:
    return sorted({vm["os_version"] for vm in emu.vms(RG, "web")})


def turn_on(vmssroll: Any, *flags: str) -> None:
    result = vmssroll("policy", "set", *target(), "--automatic-os-upgrade", *flags, "--yes")
    assert result.exit_code == 0, result.output


def test_deferred_upgrade_waits_for_approve_then_history_shows_it(vmssroll, auto):
    turn_on(vmssroll, "--os-upgrade-deferral", "--use-rolling-policy-for-os-upgrade")
    auto.clock.advance(3600)  # 1.1.0 is published
    auto.clock.advance(3600)
    empty = vmssroll("history", *target())
    assert empty.exit_code == 0 and "No OS image upgrade has run on web." in empty.stdout
    assert exact_versions(auto) == ["1.0.0"]  # the upgrade waits
    result = vmssroll("approve", *target(), "--yes", "--watch", "--interval", "10s")
    assert result.exit_code == 0, result.output
    [sent] = posts(auto, "/approveRollingUpgrade")
    assert sent.body is None  # every pending instance
    assert "deferred OS image rolling upgrade of 10 instances" in result.output
    assert "Completed" in result.output
    assert exact_versions(auto) == ["1.1.0"]
    table = vmssroll("history", *target(), width=200)
    assert table.exit_code == 0, table.output
    assert "image Canonical:ubuntu-24_04-lts:server" in table.stdout
    row = next(line for line in table.stdout.splitlines() if "Platform" in line)
    assert "unknown" in row and " 1.1.0 " in row and "Completed" in row and "10/10" in row
    doc = vmssroll("history", *target(), "-o", "json").json()
    [entry] = doc["upgrades"]
    assert entry["startedBy"] == "Platform" and entry["state"] == "Completed"
    assert entry["to"]["version"] == "1.1.0" and entry["from"] is None
    assert entry["progress"] == {"successful": 10, "failed": 0, "inProgress": 0, "pending": 0}
    assert entry["upgrade"]["properties"]["startedBy"] == "Platform"  # Azure's own item, REST shape


def test_a_failing_image_is_rolled_back_and_the_history_says_so(vmssroll, auto):
    turn_on(vmssroll, "--os-upgrade-deferral")
    auto.clock.advance(3600)
    assert vmssroll("approve", *target(), "--yes", "--watch").exit_code == 0
    auto.publish_image(*IMAGE, "2.0.0-bad")
    watched = vmssroll("approve", *target(), "--yes", "--watch")
    assert watched.exit_code == 5, watched.output  # Faulted
    assert "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade" in watched.output
    assert exact_versions(auto) == ["1.1.0"]  # rolled back
    doc = vmssroll("history", *target(), "-o", "json").json()
    newest, older = doc["upgrades"]
    assert newest["state"] == "Faulted" and newest["toText"] == "Canonical:ubuntu-24_04-lts:server:2.0.0-bad"
    assert newest["fromText"] == "Canonical:ubuntu-24_04-lts:server:1.1.0"
    assert newest["rollback"] == {"succeeded": 2, "failed": 0, "error": None}
    assert newest["error"]["code"] == "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade"
    assert older["state"] == "Completed"
    table = vmssroll("history", *target(), width=220).stdout
    row = next(line for line in table.splitlines() if "Faulted" in line)
    assert row.split()[3:6] == ["1.1.0", "2.0.0-bad", "Faulted"] and " 2 " in row
    assert "Rolling Upgrade failed after exceeding" in table


def test_approve_refuses_without_deferral_and_sends_nothing(vmssroll, auto):
    turn_on(vmssroll)
    auto.clear_requests()
    result = vmssroll("approve", *target(), "--yes")
    assert result.exit_code == 3, result.output
    assert "osRollingUpgradeDeferral is off" in result.stderr and "--os-upgrade-deferral" in result.stderr
    assert writes(auto) == []


def test_approve_with_nothing_pending_is_azures_conflict(vmssroll, auto):
    turn_on(vmssroll, "--os-upgrade-deferral")
    result = vmssroll("approve", *target(), "--yes")
    assert result.exit_code == 8, result.output
    assert "OperationNotAllowed" in result.stderr and "pending approval" in result.stderr
    assert len(posts(auto, "/approveRollingUpgrade")) == 1


def test_approve_some_instances_sends_their_ids(vmssroll, auto):
    turn_on(vmssroll, "--os-upgrade-deferral")
    auto.clock.advance(3600)
    result = vmssroll(
        "approve", *target(), "--instance-ids", "0", "--instance-ids", "1,2", "--yes", "-o", "json"
    )
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert doc["approved"] == ["0", "1", "2"] and doc["state"] == "RollingForward"
    assert doc["operation"] and "operations/" in doc["operation"]
    assert doc["consequence"]["instances"] == 3
    [sent] = posts(auto, "/approveRollingUpgrade")
    assert sent.body == {"instanceIds": ["0", "1", "2"]}
    auto.clock.advance(600)
    assert sorted(vm["os_version"] for vm in auto.vms(RG, "web")) == ["1.0.0"] * 7 + ["1.1.0"] * 3


@pytest.mark.parametrize("bad", ["../0", "", "0\n", "a b\tc"])
def test_bad_instance_ids_are_refused_before_any_request(vmssroll, auto, bad):
    result = vmssroll("approve", *target(), "--instance-ids", bad, "--yes")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: --instance-ids")
    assert auto.requests == []


def test_history_is_read_through_every_page_newest_first(vmssroll, auto):
    for n in range(12):
        auto.publish_image(*IMAGE, f"1.0.{n + 1}")
        assert vmssroll("start", "os", *target(), "--yes").exit_code == 0
        auto.clock.advance(600)
    auto.clear_requests()
    doc = vmssroll("history", *target(), "-o", "json").json()
    assert doc["pages"] == 2
    assert [u["to"]["version"] for u in doc["upgrades"]] == [f"1.0.{n}" for n in range(12, 0, -1)]
    assert [u["startedBy"] for u in doc["upgrades"]] == ["User"] * 12
    assert doc["upgrades"][0]["fromText"].endswith(":1.0.11")
    assert [r.path.rsplit("/", 1)[-1] for r in auto.requests] == ["osUpgradeHistory"] * 2 + ["web", "latest"]
    assert doc["rollout"] is None and doc["unknown"] == {}  # no rollout recorded


def test_history_shows_the_rollout_vmssroll_recorded_or_why_it_is_unknown(vmssroll, auto):
    from vmssroll.domain.progressive import Kind, Phase, Record

    record = Record("r-os-1", Kind.OS, Phase.DONE, 10, (50,), (50,))
    patch(auto, {"tags": record.to_tags(auto.vmss(RG, "web")["tags"])})
    doc = vmssroll("history", *target(), "-o", "json").json()
    assert doc["rollout"]["record"]["id"] == "r-os-1" and doc["rollout"]["record"]["phase"] == "done"
    table = vmssroll("history", *target(), width=160).stdout
    assert "No OS image upgrade has run on web." in table and "r-os-1 (os)" in table
    auto.faults.add(kind="status", status=403, method="GET", path_regex=r"/virtualMachineScaleSets/web$")
    denied = vmssroll("history", *target(), "-o", "json")
    assert denied.exit_code == 0, denied.output  # a supplementary read: the history stands without it
    assert denied.json()["rollout"] is None and "403" in denied.json()["unknown"]["rollout"]
    auto.faults.clear()
