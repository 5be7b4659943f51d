"""The upgrade engine on a manual clock (in-process, no HTTP)."""

from __future__ import annotations

from tests.emulator.emu_helpers import Sim, rolling


def test_rolling_upgrade_completes_zone_by_zone(sim: Sim) -> None:
    assert sim.patch(rolling("2.0.0")).status == 200
    assert sim.busy() == ["0", "3"]  # zone 1 first, batch of 2 (20% of 10)
    status = sim.latest()["properties"]
    assert status["runningStatus"]["code"] == "RollingForward"
    assert status["progress"] == {
        "successfulInstanceCount": 0, "failedInstanceCount": 0, "inProgressInstanceCount": 2, "pendingInstanceCount": 8
    }  # fmt: skip
    sim.advance(20)
    vms = sim.vms()
    assert vms["0"]["provisioning_state"] == "Succeeded" and vms["0"]["health"] == "initializing"
    assert vms["0"]["latest_model_applied"] and not vms["6"]["latest_model_applied"]
    sim.advance(10)
    assert sim.busy() == ["6", "9"]
    seen = [sim.busy()]
    for _ in range(4):
        sim.advance(30)
        seen.append(sim.busy())
    assert seen == [["6", "9"], ["1", "4"], ["7"], ["2", "5"], ["8"]]
    sim.advance(30)
    status = sim.latest()["properties"]
    assert status["runningStatus"]["code"] == "Completed"
    assert status["progress"]["successfulInstanceCount"] == 10
    assert all(v["latest_model_applied"] and v["health"] == "healthy" for v in sim.vms().values())


def test_result_does_not_depend_on_polling(sim: Sim) -> None:
    sim.patch(rolling("2.0.0"))
    sim.advance(10_000)
    assert sim.latest()["properties"]["runningStatus"]["code"] == "Completed"


def test_cross_zone_batches_follow_instance_ids(sim: Sim) -> None:
    sim.patch(rolling("2.0.0", enableCrossZoneUpgrade=True))
    assert sim.busy() == ["0", "1"]
    sim.advance(30)
    assert sim.busy() == ["2", "3"]


def test_breach_after_a_batch(sim: Sim) -> None:
    sim.patch(rolling("3.0.0-bad"))
    sim.advance(30)
    props = sim.latest()["properties"]
    assert props["runningStatus"]["code"] == "Faulted"
    assert props["error"]["code"] == "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade"
    assert (
        "100% of instances are in an unhealthy state after being upgraded - more than the threshold of 20%"
        in (props["error"]["message"])
    )
    assert props["error"]["message"].endswith("First failed instance ID is: 0.")
    assert props["progress"]["failedInstanceCount"] == 2 and props["progress"]["pendingInstanceCount"] == 8
    sim.advance(600)
    assert sim.busy() == [] and not sim.vms()["6"]["latest_model_applied"]


def test_breach_before_the_first_batch() -> None:
    sim = Sim("uniform-unhealthy")
    sim.patch(rolling("2.0.0"))  # the gallery image id stays; a version field still changes the model
    props = sim.latest()["properties"]
    assert props["runningStatus"]["code"] == "Faulted"
    assert props["error"]["code"] == "MaxUnhealthyInstancePercentExceededInRollingUpgrade"
    # 3 unhealthy of 10 = 30% >= 20%: the limit is already reached before any batch
    assert (
        "30% of instances are in an unhealthy state - more than the threshold of 20%."
        in props["error"]["message"]
    )
    assert sim.busy() == []


def test_rollback_restores_failed_instances(sim: Sim) -> None:
    sim.patch(rolling("3.0.0-bad", rollbackFailedInstancesOnPolicyBreach=True))
    sim.advance(30)
    props = sim.latest()["properties"]
    assert props["runningStatus"]["code"] == "RollingBack"
    assert sim.busy() == ["0", "3"]
    sim.advance(30)
    props = sim.latest()["properties"]
    assert props["runningStatus"]["code"] == "Faulted"
    assert props["error"]["code"] == "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade"
    vms = sim.vms()
    ref = vms["0"]["profile"]["storageProfile"]["imageReference"]
    assert ref["version"] == "1.0.0" and vms["0"]["health"] == "healthy"


def test_cancel_lets_in_flight_instances_finish_then_restart_with_empty_patch(sim: Sim) -> None:
    sim.patch(rolling("2.0.0"))
    sim.advance(10)
    resp = sim.call("POST", sim.base() + "/rollingUpgrades/cancel")
    assert resp.status == 202 and "monitor=true" in resp.headers["Location"]
    status = sim.latest()["properties"]["runningStatus"]
    assert status["code"] == "RollingForward" and status["lastAction"] == "Cancel"
    assert status["lastActionTime"] == "2026-01-01T00:00:10.0000000+00:00"
    op = sim.call("GET", resp.headers["Location"].split("https://x")[1].split("?")[0])
    assert op.body["status"] == "InProgress"
    sim.advance(20)
    props = sim.latest()["properties"]
    assert props["runningStatus"]["code"] == "Cancelled" and props["runningStatus"]["lastAction"] == "Cancel"
    assert props["progress"]["pendingInstanceCount"] == 8  # the instances not reached stay pending
    assert (
        sim.call("GET", resp.headers["Location"].split("https://x")[1].split("?")[0]).body["status"]
        == "Succeeded"
    )
    vms = sim.vms()
    assert [i for i, v in vms.items() if v["latest_model_applied"]] == ["0", "3"]
    sim.advance(600)
    assert sim.busy() == []
    # a second cancel: nothing is rolling
    again = sim.call("POST", sim.base() + "/rollingUpgrades/cancel")
    assert again.status == 409 and again.body["error"]["code"] == "OperationNotAllowed"
    # restart: an empty model update starts a new upgrade over the instances still behind
    assert sim.patch({}).status == 200
    props = sim.latest()["properties"]
    assert props["runningStatus"] == {
        "code": "RollingForward", "startTime": "2026-01-01T00:10:30.0000000+00:00", "lastAction": "Start",
        "lastActionTime": "2026-01-01T00:10:29.9700000+00:00",  # recorded: a few tens of ms before startTime
    }  # fmt: skip
    assert props["progress"]["pendingInstanceCount"] + props["progress"]["inProgressInstanceCount"] == 8
    sim.advance(3600)
    assert sim.latest()["properties"]["runningStatus"]["code"] == "Completed"


def test_cancel_during_pause_is_immediate(sim: Sim) -> None:
    sim.patch(rolling("2.0.0", pauseTimeBetweenBatches="PT5M"))
    sim.advance(40)
    assert sim.busy() == []
    sim.call("POST", sim.base() + "/rollingUpgrades/cancel")
    assert sim.latest()["properties"]["runningStatus"]["code"] == "Cancelled"


def test_pause_between_batches(sim: Sim) -> None:
    sim.patch(rolling("2.0.0", pauseTimeBetweenBatches="PT1M"))
    sim.advance(30)
    assert sim.busy() == []
    sim.advance(60)
    assert sim.busy() == ["6", "9"]


def test_max_surge_creates_new_instances_and_deletes_old_ones() -> None:
    sim = Sim("uniform-probe")
    assert sim.patch(rolling("2.0.0", maxSurge=True)).status == 200
    vms = sim.vms()
    assert sorted(vms, key=int) == [str(i) for i in range(12)]
    assert vms["10"]["provisioning_state"] == "Creating" and vms["10"]["zone"] == vms["0"]["zone"] == "1"
    assert vms["11"]["zone"] == vms["3"]["zone"]
    assert vms["0"]["phase"] == "idle"
    sim.advance(90)
    vms = sim.vms()
    assert "0" not in vms and "3" not in vms and vms["10"]["latest_model_applied"]
    assert sim.busy() == ["12", "13"]
    sim.advance(3600)
    props = sim.latest()["properties"]
    assert (
        props["runningStatus"]["code"] == "Completed" and props["progress"]["successfulInstanceCount"] == 10
    )
    assert sorted(sim.vms(), key=int) == [str(i) for i in range(10, 20)]


def test_prioritize_unhealthy_zonal_and_cross_zone() -> None:
    sim = Sim("uniform-unhealthy")  # unhealthy: 2 (zone 3), 5 (zone 3), 7 (zone 2)
    sim.patch(rolling("2.0.0", prioritizeUnhealthyInstances=True, maxUnhealthyInstancePercent=100,
                      maxUnhealthyUpgradedInstancePercent=100))  # fmt: skip
    assert sim.busy() == ["1", "7"]  # zones holding unhealthy first (2, 3), unhealthy first within the zone
    sim.load("uniform-unhealthy")
    sim.patch(rolling("2.0.0", prioritizeUnhealthyInstances=True, enableCrossZoneUpgrade=True,
                      maxUnhealthyInstancePercent=100, maxUnhealthyUpgradedInstancePercent=100))  # fmt: skip
    assert sim.busy() == ["2", "5"]
    sim.advance(90)
    assert sim.busy() == ["0", "7"]


def test_silent_instance_stalls_the_upgrade(sim: Sim) -> None:
    scenario = dict(sim.emu.scenario)
    ss = dict(scenario["scale_sets"][0], health_rules=[{"instance_id": "3", "health": "silent"}])
    sim.load({**scenario, "scale_sets": [ss]})
    sim.patch(rolling("2.0.0"))
    sim.advance(3600)
    props = sim.latest()["properties"]
    assert props["runningStatus"]["code"] == "RollingForward"
    assert (
        props["progress"]["inProgressInstanceCount"] == 1 and props["progress"]["pendingInstanceCount"] == 8
    )
    assert sim.vms()["3"]["health"] is None  # vmHealth absent


def test_model_change_while_rolling_is_picked_up(sim: Sim) -> None:
    sim.patch(rolling("2.0.0"))
    sim.advance(70)
    sim.patch(rolling("2.0.1"))
    sim.advance(3600)
    assert sim.latest()["properties"]["runningStatus"]["code"] == "Completed"
    vms = sim.vms()
    assert all(v["latest_model_applied"] for v in vms.values())
    assert {v["profile"]["storageProfile"]["imageReference"]["version"] for v in vms.values()} == {"2.0.1"}


def test_manual_mode_waits_for_manualupgrade(sim: Sim) -> None:
    sim.patch(
        {
            "properties": {
                "virtualMachineProfile": {"storageProfile": {"imageReference": {"version": "2.0.0"}}}
            }
        }
    )
    assert sim.busy() == []
    assert sim.call("GET", sim.base() + "/rollingUpgrades/latest").status == 404
    resp = sim.call("POST", sim.base() + "/manualupgrade", {"instanceIds": ["1", "2"]})
    assert resp.status == 202
    assert sim.busy() == ["1", "2"]
    sim.advance(30)
    assert [i for i, v in sim.vms().items() if v["latest_model_applied"]] == ["1", "2"]


def test_automatic_mode_updates_everyone_together(sim: Sim) -> None:
    body = rolling("2.0.0")
    body["properties"]["upgradePolicy"] = {"mode": "Automatic"}
    sim.patch(body)
    assert len(sim.busy()) == 10
    assert sim.call("GET", sim.base() + "/rollingUpgrades/latest").status == 404
    sim.advance(30)
    assert all(v["latest_model_applied"] for v in sim.vms().values())


def test_switching_to_rolling_while_behind_starts_an_upgrade(sim: Sim) -> None:
    sim.patch(
        {
            "properties": {
                "virtualMachineProfile": {"storageProfile": {"imageReference": {"version": "2.0.0"}}}
            }
        }
    )
    sim.patch({"properties": {"upgradePolicy": {"mode": "Rolling"}}})
    assert sim.latest()["properties"]["runningStatus"]["code"] == "RollingForward"


def test_os_and_extension_upgrades_cover_every_instance(sim: Sim) -> None:
    resp = sim.call("POST", sim.base() + "/osRollingUpgrade")
    assert resp.status == 202
    assert sim.latest()["properties"]["progress"]["pendingInstanceCount"] == 8
    again = sim.call("POST", sim.base() + "/extensionRollingUpgrade")
    assert again.status == 409 and again.body["error"]["code"] == "OperationNotAllowed"
    op_path = resp.headers["Location"].split("https://x")[1].split("?")[0]
    assert sim.call("GET", op_path, monitor="true").status == 202
    sim.advance(3600)
    assert sim.call("GET", op_path, monitor="true").status == 200
    history = sim.call("GET", sim.base() + "/osUpgradeHistory").body["value"]
    assert history[0]["properties"]["runningStatus"]["code"] == "Completed"


def test_initializing_scenario_turns_healthy_after_120_seconds() -> None:
    sim = Sim("uniform-initializing")
    assert {v["health"] for v in sim.vms().values()} == {"initializing"}
    sim.advance(119)
    assert {v["health"] for v in sim.vms().values()} == {"initializing"}
    sim.advance(1)
    assert {v["health"] for v in sim.vms().values()} == {"healthy"}


def test_write_validation_rules_and_rejections_change_nothing() -> None:
    nozones = Sim({"scale_sets": [{"name": "web", "resource_group": "rg-demo", "capacity": 2, "overprovision": False,
                                   "health_probe": "/subscriptions/s/resourceGroups/rg/providers/x"}]})  # fmt: skip
    resp = nozones.patch(
        {"properties": {"upgradePolicy": {"rollingUpgradePolicy": {"enableCrossZoneUpgrade": True}}}}
    )
    assert resp.status == 400 and "enableCrossZoneUpgrade" in resp.body["error"]["message"]
    feature = Sim("uniform-extension").patch(rolling("2.0.0", maxSurge=True))
    assert feature.status == 400 and feature.body["error"]["code"] == "SubscriptionNotRegisteredForFeature"
    missing = Sim("uniform-missing-probe")
    resp = missing.patch(rolling("2.0.0"))
    assert resp.status == 400 and "missing-probe" in resp.body["error"]["message"]
    assert missing.emu.vmss("rg-demo", "web")["etag"] == '"1"' and missing.busy() == []
    for bad in ({"maxUnhealthyUpgradedInstancePercent": 101}, {"maxUnhealthyInstancePercent": 4}):
        resp = Sim().patch(rolling("2.0.0", **bad))
        assert resp.status == 400 and resp.body["error"]["code"] == "InvalidParameter"
        assert next(iter(bad)) in resp.body["error"]["message"]
    ok = Sim().patch(rolling("2.0.0", maxUnhealthyUpgradedInstancePercent=0))
    assert ok.status == 200
