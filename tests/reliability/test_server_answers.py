"""Malformed or unexpected answers from the server: no traceback, one clear line or a tolerant reading."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.helpers import push_image, set_rolling, target
from tests.reliability.checks import one_clear_line
from tests.reliability.tamper import tampering_proxy

SCALE_SET = re.compile(r"/virtualMachineScaleSets/web$")
LATEST = re.compile(r"/rollingUpgrades/latest$")
VMS = re.compile(r"/virtualMachines$")


def rewrite(pattern: re.Pattern[str], change: Any):
    """A tamper function: answers on paths matching `pattern` get `change(doc)` (bytes, or a document)."""

    def tamper(method: str, path: str, status: int, body: bytes):
        if method != "GET" or not pattern.search(path) or status >= 400:
            return None
        new = change(json.loads(body))
        return status, new if isinstance(new, bytes) else json.dumps(new).encode()

    return tamper


def through(vmssroll, emu, tamper, *args: str):
    with tampering_proxy(emu, tamper) as (url, ca):
        return vmssroll(*args, env={"VMSSROLL_ARM_ENDPOINT": url, "VMSSROLL_CA_BUNDLE": ca})


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"", b"<html><body>502 Bad Gateway</body></html>", b"[1, 2", b"\xff\xfe\x00garbage"],
    ids=["truncated", "empty", "html", "cut-list", "binary"],
)
def test_invalid_json_from_the_server_is_exit_4_and_one_line(vmssroll, emu, body):
    result = through(vmssroll, emu, rewrite(SCALE_SET, lambda _: body), "policy", "show", *target())
    assert result.exit_code == 4, result.output
    line = one_clear_line(result)
    assert "reading scale set web" in line


@pytest.mark.parametrize(
    "doc",
    [[], "a string", None, 42, {"properties": None}, {"properties": "x", "sku": []}],
    ids=["list", "string", "null", "number", "null-properties", "wrong-types"],
)
def test_wrongly_shaped_scale_set_documents_never_traceback(vmssroll, emu, doc):
    result = through(
        vmssroll, emu, rewrite(SCALE_SET, lambda _: doc), "policy", "show", *target(), "-o", "json"
    )
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 4), result.output
    if result.exit_code:
        one_clear_line(result)


def _status(change):
    def edit(doc):
        change(doc)
        return doc

    return edit


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.pop("id", None),
        lambda d: d["properties"]["runningStatus"].update(code="Paused"),
        lambda d: d["properties"]["runningStatus"].update(code="rollingforward"),
        lambda d: d["properties"].pop("progress"),
        lambda d: d["properties"].pop("runningStatus"),
        lambda d: d["properties"]["runningStatus"].update(startTime="yesterday", lastAction=7),
        lambda d: d["properties"]["progress"].update(successfulInstanceCount="many", failedInstanceCount=None),
        lambda d: d.update(properties=None),
        lambda d: d["properties"].update(error="not an object"),
        lambda d: d["properties"]["policy"].update(maxBatchInstancePercent="twenty", somethingNew=True),
    ],
    ids=[
        "no-id", "unknown-code", "lowercase-code", "no-progress", "no-running-status", "bad-times",
        "bad-counts", "null-properties", "error-string", "odd-policy",
    ],
)  # fmt: skip
def test_odd_upgrade_status_documents_are_read_tolerantly(vmssroll, emu, change):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    result = through(vmssroll, emu, rewrite(LATEST, _status(change)), "status", *target(), "-o", "json")
    assert "Traceback" not in result.output
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert doc["instances"]["total"] == 10


def test_unknown_states_are_shown_as_they_are_and_a_watch_still_ends_by_its_deadline(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")

    def paused(doc):
        doc["properties"]["runningStatus"]["code"] = "Paused"
        return doc

    result = through(
        vmssroll, emu, rewrite(LATEST, paused), "watch", *target(), "--timeout", "10m", "--interval", "30s"
    )
    assert result.exit_code == 7, result.output
    assert "Unrecognised state 'Paused'" in result.output
    assert "timed out after" in result.stderr


@pytest.mark.parametrize(
    "change",
    [
        lambda d: [vm.pop("instanceId") for vm in d["value"]],
        lambda d: [vm["properties"].pop("instanceView") for vm in d["value"]],
        lambda d: [vm["properties"]["instanceView"]["vmHealth"]["status"].update(code="HealthState/odd") for vm in d["value"]],
        lambda d: [vm.update(properties=None, zones="1") for vm in d["value"]],
        lambda d: d.update(value=[]),
    ],
    ids=["no-instance-id", "no-instance-view", "odd-health", "null-properties", "empty"],
)  # fmt: skip
def test_odd_instance_listings_are_read_tolerantly(vmssroll, emu, change):
    result = through(vmssroll, emu, rewrite(VMS, _status(change)), "status", *target(), "-o", "json")
    assert "Traceback" not in result.output
    assert result.exit_code == 0, result.output


def test_an_error_answer_that_is_not_arm_shaped_is_one_line(vmssroll, emu):
    def gateway(method, path, status, body):
        if method == "GET" and SCALE_SET.search(path):
            return 404, b"<html>Not Found</html>"
        return None

    result = through(vmssroll, emu, gateway, "policy", "show", *target())
    assert result.exit_code == 4, result.output
    one_clear_line(result)


@pytest.mark.parametrize("method", ["GET", "PATCH"])
def test_an_azure_message_on_several_lines_is_still_one_error_line(vmssroll, emu, method):
    """Azure's message goes into the error line as it came: one with line breaks gave an `error:` line and
    then lines without the prefix, which a script reading stderr for `error:` loses. The JSON document keeps
    the message as Azure sent it."""
    message = "The operation could not be completed.\r\n  Details:\n\nquota exceeded in westeurope.  "
    emu.faults.add(kind="status", status=409, method=method, code="OperationNotAllowed", message=message)
    write = ("policy", "set", *target(), "--max-batch-instance-percent", "15", "--yes")
    args = write if method == "PATCH" else ("policy", "show", *target())
    result = vmssroll(*args)
    assert result.exit_code == 8, result.output
    assert "Traceback" not in result.output
    said = [line for line in result.stderr.splitlines() if "Details" in line or "quota" in line]
    assert said == [
        f"error: {'updating' if method == 'PATCH' else 'reading'} scale set web: OperationNotAllowed: "
        "The operation could not be completed. Details: quota exceeded in westeurope."
    ], result.stderr
    as_json = vmssroll(*args, "-o", "json")
    assert message.strip() in json.loads(as_json.stdout)["error"]["message"]
