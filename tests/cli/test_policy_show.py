"""`policy show` and the command-line contract: targets, endpoint, output, exit codes."""

from __future__ import annotations

from tests.helpers import target, writes


def test_show_table_marks_defaults_and_health_source(vmssroll, emu):
    result = vmssroll("policy", "show", *target())
    assert result.exit_code == 0, result.output
    assert "maxBatchInstancePercent" in result.stdout
    assert "Azure default" in result.stdout
    assert "probe" in result.stdout
    assert "Manual" in result.stdout


def test_show_json_is_one_document_field_by_field(vmssroll, emu):
    result = vmssroll("policy", "show", *target(), "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert doc["mode"] == "Manual"
    assert doc["scaleSet"]["name"] == "web"
    assert doc["scaleSet"]["zones"] == ["1", "2", "3"]
    assert doc["scaleSet"]["capacity"] == 10
    assert doc["rollingUpgradePolicy"] == {
        "maxBatchInstancePercent": 20,
        "maxUnhealthyInstancePercent": 20,
        "maxUnhealthyUpgradedInstancePercent": 20,
        "pauseTimeBetweenBatches": "PT0S",
        "prioritizeUnhealthyInstances": False,
        "enableCrossZoneUpgrade": False,
        "maxSurge": False,
        "rollbackFailedInstancesOnPolicyBreach": False,
    }
    assert [s["kind"] for s in doc["healthSources"]] == ["probe"]


def test_target_by_full_id(vmssroll, emu):
    rid = f"/subscriptions/{emu.subscription_id}/resourceGroups/rg-demo/providers/Microsoft.Compute/virtualMachineScaleSets/web"
    result = vmssroll("policy", "show", "--id", rid, "-o", "json")
    assert result.exit_code == 0, result.output
    assert result.json()["scaleSet"]["id"].lower() == rid.lower()


def test_unknown_scale_set_is_one_line_with_azure_code_exit_4(vmssroll, emu):
    result = vmssroll("policy", "show", "-g", "rg-demo", "-n", "nope")
    assert result.exit_code == 4
    assert "ResourceNotFound" in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_resource_group(vmssroll, emu):
    result = vmssroll("status", "-g", "rg-missing", "-n", "web")
    assert result.exit_code == 4
    assert "ResourceGroupNotFound" in result.stderr


def test_bad_target_is_exit_2_and_sends_nothing(vmssroll, emu):
    for args in (
        ("policy", "show", "-g", "rg-demo"),
        ("policy", "show", "-g", "bad name!", "-n", "web"),
        ("policy", "show", "--id", "/not/an/id"),
        ("status", "-g", "rg-demo", "-n", "web", "--endpoint", "http://127.0.0.1:1"),
        ("status", "-g", "rg-demo", "-n", "web", "-s", "not-a-guid"),
    ):
        emu.clear_requests()
        result = vmssroll(*args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.strip().startswith("error:"), result.stderr
        assert emu.requests == []


def test_options_come_from_the_environment(vmssroll, emu):
    # The fixture passes endpoint, CA bundle and subscription only as environment variables.
    result = vmssroll("status", *target(), "-o", "json")
    assert result.exit_code == 0, result.output
    assert writes(emu) == []


def test_verbose_shows_request_id_on_azure_errors(vmssroll, emu):
    result = vmssroll("policy", "show", "-g", "rg-demo", "-n", "nope", "--verbose")
    assert result.exit_code == 4
    assert "request id" in result.stderr
