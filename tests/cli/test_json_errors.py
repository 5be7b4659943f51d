"""With -o json a failure is also a JSON document on stdout, `{"error": {code, message, exitCode, hint}}`, so
`vmssroll ... -o json | jq` never reads plain text; stderr keeps its `error:` line."""

from __future__ import annotations

import json

import pytest

from tests.helpers import target, writes

SCALE_SET = r"/virtualMachineScaleSets/web$"


def error_of(result) -> dict:
    doc = json.loads(result.stdout)
    assert set(doc) == {"error"}
    assert set(doc["error"]) == {"code", "message", "exitCode", "hint"}
    assert doc["error"]["exitCode"] == result.exit_code
    line = [x for x in result.stderr.splitlines() if x.startswith("error: ")][-1]
    assert doc["error"]["message"] in line  # the same failure on both streams
    return doc["error"]


@pytest.mark.parametrize(
    "args",
    [
        ("status", "-o", "json"),  # no scale set named
        ("watch", *target(), "--interval", "soon", "-o", "json"),
        ("policy", "set", *target(), "--max-batch-instance-percent", "150", "--yes", "-o", "json"),
    ],
)
def test_bad_input_is_exit_2_and_a_json_error_with_nothing_sent(vmssroll, emu, args):
    emu.clear_requests()
    result = vmssroll(*args)
    assert result.exit_code == 2, result.output
    error = error_of(result)
    assert error["code"] in ("InvalidInput", "PolicyInvalid")
    assert emu.requests == []


def test_an_azure_failure_is_exit_4_with_azures_code_and_the_hint(vmssroll, emu):
    emu.faults.add(
        kind="status", status=400, code="SomethingBroke", message="It broke.", path_regex=SCALE_SET
    )
    result = vmssroll("policy", "show", *target(), "-o", "json")
    assert result.exit_code == 4, result.output
    error = error_of(result)
    assert error["code"] == "SomethingBroke"
    assert "It broke." in error["message"]
    assert error["hint"] is None


def test_retries_running_out_is_exit_4_with_a_hint(vmssroll, emu):
    emu.faults.add(kind="status", status=503, retry_after=0, method="GET", path_regex=SCALE_SET)
    result = vmssroll("status", *target(), "-o", "json", azure_factory=_budget(1))
    assert result.exit_code == 4, result.output
    assert "retries ran out" in error_of(result)["hint"]


def test_a_conflict_is_exit_8_with_azures_code(vmssroll, emu):
    result = vmssroll("cancel", *target(), "--yes", "-o", "json")
    assert result.exit_code == 8, result.output
    error = error_of(result)
    assert "no ongoing Rolling Upgrade" in error["message"]
    assert error["code"] not in ("", "Conflict")  # Azure's own code, as it answered


def test_a_refused_authorisation_is_exit_9_with_azures_code(vmssroll, emu):
    emu.faults.add(kind="status", status=403, path_regex=SCALE_SET)
    result = vmssroll("status", *target(), "-o", "json")
    assert result.exit_code == 9, result.output
    error = error_of(result)
    assert error["code"] == "AuthorizationFailed"
    assert "Virtual Machine Contributor" in error["hint"]


def test_without_json_stdout_stays_empty_on_failure(vmssroll, emu):
    result = vmssroll("cancel", *target(), "--yes")
    assert result.exit_code == 8
    assert result.stdout == ""


def test_a_command_that_gave_its_result_document_keeps_it_as_the_only_document(vmssroll, emu):
    emu.load_scenario("uniform-unhealthy")
    result = vmssroll("enable-rolling", *target(), "--yes", "-o", "json")
    assert result.exit_code == 3, result.output
    doc = json.loads(result.stdout)  # the report, one document
    assert "error" not in doc and doc["ready"] is False
    assert writes(emu) == []


def _budget(retries: int):
    """An adapter with a small SDK retry budget (azure-core's back-off sleeps real time)."""
    from vmssroll.adapter.client import Azure

    return lambda conn, on: Azure(conn, retries=on, retry_total=retries)
