"""With -o json a failure is also a JSON document on stdout, `{"error": {code, message, exitCode, hint}}`, so
`vmssroll ... -o json | jq` never reads plain text; stderr keeps its `error:` line."""

from __future__ import annotations

import json

import pytest

from tests.helpers import NAME, RG, push_image, set_rolling, target, writes

SCALE_SET = r"/virtualMachineScaleSets/web$"


def error_of(result, *, stream: bool = False) -> dict:
    doc = json.loads(result.stdout)
    if stream:  # a JSON Lines stream (a watch): one line, the error event
        assert result.stdout.count("\n") == 1 and doc.pop("event") == "error"
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
    error = error_of(result, stream=args[0] == "watch")
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
    assert error["code"] == "OperationNotAllowed"  # Azure's own code, as it answered


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


def documents(stdout: str) -> list[dict]:
    """The JSON documents on stdout, one after another (as `jq` reads them)."""
    decoder, docs, at = json.JSONDecoder(), [], 0
    while stdout[at:].strip():
        doc, end = decoder.raw_decode(stdout, at + len(stdout[at:]) - len(stdout[at:].lstrip()))
        docs.append(doc)
        at = end
    return docs


def scale_set_id(emu, name: str) -> str:
    return f"/subscriptions/{emu.subscription_id}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}"


def test_several_ids_give_one_document_each_in_their_order_result_or_error(vmssroll, emu):
    ids = [scale_set_id(emu, "nope"), scale_set_id(emu, NAME)]
    result = vmssroll("policy", "show", "--ids", *ids, "-o", "json")
    assert result.exit_code == 4, result.output  # the worst of 4 (not found) and 0
    missing, found = documents(result.stdout)
    assert missing["error"]["code"] == "ResourceNotFound" and missing["error"]["exitCode"] == 4
    assert found["scaleSet"]["name"] == NAME


def test_one_bad_id_among_several_is_one_error_document_and_nothing_sent(vmssroll, emu):
    emu.clear_requests()
    result = vmssroll("status", "-o", "json", "--ids", scale_set_id(emu, NAME), "--ids", "not-an-id")
    assert result.exit_code == 2, result.output
    assert error_of(result)["code"] == "InvalidInput"
    assert emu.requests == []


def test_a_watch_that_times_out_ends_its_json_lines_and_its_events_file_with_the_error(
    vmssroll, emu, tmp_path
):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    events = tmp_path / "events.jsonl"
    result = vmssroll("watch", *target(), "--timeout", "2m", "--events", str(events), "-o", "json")
    assert result.exit_code == 7, result.output
    streamed = [json.loads(line) for line in result.stdout.splitlines()]  # every line one event
    written = [json.loads(line) for line in events.read_text().splitlines()]
    for stream in (streamed, written):
        assert stream[0]["event"] == "status"
        assert stream[-1] == {"event": "error", "error": streamed[-1]["error"]}
        assert stream[-1]["error"]["code"] == "TimedOut" and stream[-1]["error"]["exitCode"] == 7


def test_a_watch_that_fails_before_its_first_event_still_streams_the_error_as_one_line(vmssroll, emu):
    emu.faults.add(kind="status", status=404, code="ResourceNotFound", path_regex=SCALE_SET)
    result = vmssroll("watch", *target(), "-o", "json")
    assert result.exit_code == 4, result.output
    assert error_of(result, stream=True)["code"] == "ResourceNotFound"


def test_start_watch_refused_is_the_error_event_of_its_stream(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")  # a model change: an upgrade is rolling
    result = vmssroll("start", "extension", *target(), "--watch", "--yes", "-o", "json")
    assert result.exit_code == 8, result.output
    assert error_of(result, stream=True)["exitCode"] == 8


def _budget(retries: int):
    """An adapter with a small SDK retry budget (azure-core's back-off sleeps real time)."""
    from vmssroll.adapter.client import Azure

    return lambda conn, on: Azure(conn, retries=on, retry_total=retries)
