"""Azure's shapes as the tool meets them through the real SDK: latest's times, modes in any case, POST
actions."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from azure.core.exceptions import ResourceExistsError

from tests.helpers import azure, push_image, ref, set_rolling, target
from vmssroll.adapter.convert import scale_set_from_rest


def test_latest_with_seven_digit_fractions_and_offsets_is_read(vmssroll, emu):
    set_rolling(emu)
    started = emu.clock.now()
    push_image(emu, "2.0.0")
    status = azure(emu).latest_upgrade(ref(emu))
    assert status is not None and status.code == "RollingForward"
    assert status.start_time == started and status.start_time.tzinfo is not None
    assert status.last_action_time == started - timedelta(milliseconds=30)  # recorded: a little before
    doc = vmssroll("status", *target(), "-o", "json")
    assert doc.exit_code == 0, doc.output
    assert doc.json()["running"] is True


def test_a_mode_stored_in_any_case_reads_as_azures_spelling(vmssroll, emu):
    client = azure(emu)
    etag = client.scale_set(ref(emu)).etag
    client.patch(
        ref(emu),
        {"properties": {"upgradePolicy": {"mode": "rolling"}}},
        etag,
        applied=lambda _: True,
        wait=None,
    )
    shown = vmssroll("policy", "show", *target(), "-o", "json")
    assert shown.exit_code == 0, shown.output
    assert shown.json()["mode"] == "Rolling"
    for sent in ("rolling", "ROLLING", " Rolling "):
        read = scale_set_from_rest({"id": "/x", "properties": {"upgradePolicy": {"mode": sent}}})
        assert read.upgrade_policy.mode == "Rolling"
    assert (
        scale_set_from_rest({"properties": {"upgradePolicy": {"mode": "Later"}}}).upgrade_policy.mode
        == "Later"
    )


def test_os_upgrade_of_a_custom_image_is_refused_by_azure_through_the_sdk(emu):
    client = azure(emu).client.virtual_machine_scale_set_rolling_upgrades
    with pytest.raises(ResourceExistsError) as info:  # azure-core maps 409 to ResourceExistsError
        client.begin_start_os_upgrade("rg-demo", "web")  # uniform-probe: a gallery image
    assert "unless the VM Scale Set is using a Platform Image" in str(info.value)
    emu.load_scenario("demo")  # a marketplace (platform) image
    assert client.begin_start_os_upgrade("rg-demo", "web").status() == "InProgress"


def test_the_start_of_a_cancelled_upgrade_succeeds_and_the_upgrade_says_cancelled(vmssroll, emu):
    emu.load_scenario("demo")
    client = azure(emu).client.virtual_machine_scale_set_rolling_upgrades
    start = client.begin_start_os_upgrade("rg-demo", "web")
    emu.clock.advance(10)
    result = vmssroll("cancel", *target(), "--yes")
    assert result.exit_code == 0, result.output
    emu.clock.advance(60)
    assert start.result(timeout=10) is None  # recorded: Succeeded after the cancel, not Canceled
    doc = vmssroll("status", *target(), "-o", "json").json()
    running = doc["upgrade"]["properties"]["runningStatus"]
    assert (running["code"], running["lastAction"], doc["running"]) == ("Cancelled", "Cancel", False)
    assert doc["upgrade"]["properties"]["progress"]["pendingInstanceCount"] == 8


def test_the_emulators_compute_budgets_do_not_slow_a_watch_after_a_write_and_an_action(vmssroll, emu):
    set_rolling(emu)  # answered with VmssQueuedVMOperations;0, as Azure does on every write
    result = vmssroll("start", "extension", *target(), "--yes", "--watch", "-o", "json", "--interval", "10s")
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert events and not [e for e in events if e.get("event") == "pace"]
    sent = [r for r in emu.requests if r.method == "POST"]
    assert len(sent) == 1


def test_status_shows_instances_without_a_health_signal_as_such_never_as_failed(vmssroll, emu):
    emu.load_scenario("uniform-missing-probe")  # the probe does not exist: no instance reports vmHealth
    result = vmssroll("status", *target())
    assert result.exit_code == 0, result.output
    lines = {line.split(None, 1)[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert "10 no health signal" in lines["health"]
    assert lines["failed"].split()[-1] == "none"
    doc = vmssroll("status", *target(), "-o", "json").json()
    assert doc["instances"]["health"] == {"silent": 10} and doc["instances"]["failed"] == []
