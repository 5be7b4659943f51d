"""Automatic OS image upgrades in the emulator, through the real azure-mgmt-compute client: platform image
versions published on the simulated clock, upgrades started by the platform, deferral and
approveRollingUpgrade, rollback of a failing image, and osUpgradeHistory (paged, newest first)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError

from tests.emulator.emu_helpers import make_client
from vmssroll.emulator import Emulator

RG, NAME = "rg-demo", "web"
IMAGE = ("Canonical", "ubuntu-24_04-lts", "server")
OS = "automaticOSUpgradePolicy"


@pytest.fixture
def auto(served: Emulator) -> Emulator:
    served.load_scenario("automatic-os")
    return served


def turn_on(client: Any, **policy: bool) -> None:
    body = {"properties": {"upgradePolicy": {OS: {"enableAutomaticOSUpgrade": True, **policy}}}}
    client.virtual_machine_scale_sets.begin_update(RG, NAME, body).result()


def history(client: Any) -> list[dict[str, Any]]:
    return [h.as_dict() for h in client.virtual_machine_scale_sets.get_os_upgrade_history(RG, NAME)]


def versions(client: Any) -> list[str]:
    return [
        vm.as_dict()["properties"]["storageProfile"]["imageReference"]["exactVersion"]
        for vm in client.virtual_machine_scale_set_vms.list(RG, NAME)
    ]


def test_a_published_version_is_rolled_out_by_the_platform(auto: Emulator) -> None:
    client = make_client(auto)
    turn_on(client)
    assert versions(client) == ["1.0.0"] * 10 and history(client) == []
    auto.clock.advance(3600)  # the scenario publishes 1.1.0 after an hour
    [entry] = history(client)
    props = entry["properties"]
    assert props["startedBy"] == "Platform" and props["runningStatus"]["code"] == "RollingForward"
    assert props["targetImageReference"] == dict(
        zip(("publisher", "offer", "sku"), IMAGE, strict=True), version="1.1.0"
    )
    auto.clock.advance(3600)
    [entry] = history(client)
    assert entry["properties"]["runningStatus"]["code"] == "Completed"
    assert entry["properties"]["progress"]["successfulInstanceCount"] == 10
    assert entry["properties"]["rollbackInfo"] == {
        "successfullyRolledbackInstanceCount": 0,
        "failedRolledbackInstanceCount": 0,
    }
    assert versions(client) == ["1.1.0"] * 10
    vm = auto.vms(RG, NAME)[0]
    assert vm["latest_model_applied"] is True  # an OS image upgrade leaves the model as it is


def test_without_automatic_upgrades_a_new_version_starts_nothing(auto: Emulator) -> None:
    client = make_client(auto)
    auto.clock.advance(3700)
    assert history(client) == [] and versions(client) == ["1.0.0"] * 10
    # a user's OS upgrade moves to the newest version; history says User
    client.virtual_machine_scale_set_rolling_upgrades.begin_start_os_upgrade(RG, NAME, polling=False)
    auto.clock.advance(3600)
    [entry] = history(client)
    assert entry["properties"]["startedBy"] == "User" and versions(client) == ["1.1.0"] * 10


def test_deferral_holds_the_upgrade_until_it_is_approved(auto: Emulator) -> None:
    client = make_client(auto)
    turn_on(client, osRollingUpgradeDeferral=True)
    auto.clock.advance(7200)
    assert history(client) == [] and versions(client) == ["1.0.0"] * 10  # announced, waiting
    sdk = client.virtual_machine_scale_sets
    sdk.begin_approve_rolling_upgrade(RG, NAME, {"instanceIds": ["0", "1"]}, polling=False)
    approve = [r for r in auto.requests if r.method == "POST"][-1]
    assert approve.path.endswith("/approveRollingUpgrade") and approve.body == {"instanceIds": ["0", "1"]}
    auto.clock.advance(600)
    assert versions(client) == ["1.1.0"] * 2 + ["1.0.0"] * 8  # only the approved instances
    sdk.begin_approve_rolling_upgrade(RG, NAME, polling=False)  # the rest
    location = auto.requests[-1]
    assert location.method == "POST" and location.body is None  # no body: every pending instance
    auto.clock.advance(3600)
    assert versions(client) == ["1.1.0"] * 10
    assert [h["properties"]["progress"]["successfulInstanceCount"] for h in history(client)] == [8, 2]
    with pytest.raises(ResourceExistsError) as nothing:
        sdk.begin_approve_rolling_upgrade(RG, NAME, polling=False)
    assert nothing.value.error is not None and nothing.value.error.code == "OperationNotAllowed"
    assert "no deferred OS Rolling Upgrade pending approval" in str(nothing.value)


def test_approving_without_deferral_or_unknown_instances_is_refused(auto: Emulator) -> None:
    client = make_client(auto)
    sdk = client.virtual_machine_scale_sets
    with pytest.raises(ResourceExistsError) as off:
        sdk.begin_approve_rolling_upgrade(RG, NAME, polling=False)
    assert "osRollingUpgradeDeferral is not enabled" in str(off.value)
    turn_on(client, osRollingUpgradeDeferral=True)
    auto.clock.advance(3600)
    with pytest.raises(HttpResponseError) as unknown:
        sdk.begin_approve_rolling_upgrade(RG, NAME, {"instanceIds": ["42"]}, polling=False)
    assert unknown.value.status_code == 400 and "42" in str(unknown.value)
    assert history(client) == []


def test_a_failing_image_is_rolled_back_and_the_history_says_so(auto: Emulator) -> None:
    client = make_client(auto)
    turn_on(client)
    auto.publish_image(*IMAGE, "2.0.0-bad")
    codes = []
    for _ in range(8):
        auto.clock.advance(15)
        latest = client.virtual_machine_scale_set_rolling_upgrades.get_latest(RG, NAME).as_dict()
        codes.append(latest["properties"]["runningStatus"]["code"])
    assert "RollingBack" in codes and codes[-1] == "Faulted"
    [entry] = history(client)
    props = entry["properties"]
    assert props["runningStatus"]["code"] == "Faulted" and props["runningStatus"]["endTime"]
    assert props["error"]["code"] == "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade"
    assert props["progress"]["failedInstanceCount"] == 2  # Azure's default policy: batches of 20%
    assert props["rollbackInfo"]["successfullyRolledbackInstanceCount"] == 2
    assert versions(client) == ["1.0.0"] * 10
    assert {vm["health"] for vm in auto.vms(RG, NAME)} == {"healthy"}


def test_with_rollback_disabled_the_failed_instances_keep_the_new_image(auto: Emulator) -> None:
    client = make_client(auto)
    turn_on(client, disableAutomaticRollback=True)
    auto.publish_image(*IMAGE, "2.0.0-bad")
    auto.clock.advance(600)
    [entry] = history(client)
    assert entry["properties"]["runningStatus"]["code"] == "Faulted"
    assert entry["properties"]["rollbackInfo"]["successfullyRolledbackInstanceCount"] == 0
    assert versions(client).count("2.0.0-bad") == 2


def test_the_history_is_paged_newest_first(auto: Emulator) -> None:
    client = make_client(auto)
    ops = client.virtual_machine_scale_set_rolling_upgrades
    for n in range(12):
        auto.publish_image(*IMAGE, f"1.0.{n + 1}")
        ops.begin_start_os_upgrade(RG, NAME, polling=False)
        auto.clock.advance(600)
    pages = client.virtual_machine_scale_sets.get_os_upgrade_history(RG, NAME).by_page()
    sizes = [len(list(page)) for page in pages]
    assert sizes == [10, 2]
    targets = [h["properties"]["targetImageReference"]["version"] for h in history(client)]
    assert targets == [f"1.0.{n}" for n in range(12, 0, -1)]
    listed = [r for r in auto.requests if r.path.endswith("/osUpgradeHistory")]
    assert any("$skiptoken" in r.query for r in listed)


def test_the_control_call_publishes_later_on_the_clock(auto: Emulator) -> None:
    import ssl
    import urllib.request

    client = make_client(auto)
    turn_on(client)
    body = json.dumps(
        {"publisher": IMAGE[0], "offer": IMAGE[1], "sku": IMAGE[2], "version": "1.0.5", "after": 60}
    )
    request = urllib.request.Request(
        f"{auto.url}/_emulator/images", body.encode(), {"Content-Type": "application/json"}, method="POST"
    )
    context = ssl.create_default_context(cafile=auto.ca_path)
    with urllib.request.urlopen(request, context=context) as answer:
        assert json.loads(answer.read()) == {"published": "1.0.5", "after": 60}
    assert history(client) == []
    auto.clock.advance(61)
    [entry] = history(client)
    assert entry["properties"]["targetImageReference"]["version"] == "1.0.5"
