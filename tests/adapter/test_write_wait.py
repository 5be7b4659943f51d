"""Waiting for a PATCH through the adapter (Azure.patch with a WriteWait): the operation is polled on the
command's clock, each poll reported; a poll that fails for a passing reason is asked again and said, one that
cannot succeed ends the wait; an operation that ends Failed is one error with Azure's code and message; a lost
answer is read back, and followed by reading the scale set until it settles. The real SDK against the
emulator (and tests/hostile/server.py for answers the emulator never gives)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from tests.conftest import SimClock
from tests.helpers import azure, ref, set_rolling
from tests.hostile.server import Hostile, Seen, hostile_server
from vmssroll.adapter.client import Azure
from vmssroll.domain.errors import AzureRequestFailed, NotFound
from vmssroll.domain.writing import WriteProgress, WriteWait

TAGS = {"tags": {"env": "demo", "owner": "platform-team", "release": "r2"}}


def no_retries(emu: Any) -> Azure:
    return azure(emu, retries=False)


def is_poll(seen: Seen) -> bool:
    return seen.method == "GET" and "/operations/" in seen.path


def operation_polls(emu: Any) -> list[Any]:
    return [r for r in emu.requests if r.method == "GET" and "/operations/" in r.path]


def write(client: Azure, emu: Any, clock: SimClock, seen: list[WriteProgress], **kw: Any) -> Any:
    etag = client.scale_set(ref(emu)).etag
    return client.patch(
        ref(emu), TAGS, etag, applied=lambda _: False, wait=WriteWait(clock, seen.append, **kw)
    )


def test_a_rolling_write_is_polled_as_azure_asks_and_each_poll_reported(emu):
    set_rolling(emu)
    client, clock = azure(emu), SimClock(emu)
    seen: list[WriteProgress] = []
    etag = client.scale_set(ref(emu)).etag
    emu.clear_requests()
    done = write(client, emu, clock, seen)
    assert done.provisioning_state == "Succeeded" and done.tags["release"] == "r2"
    # Updating at the first poll and at the one Retry-After asked for; "done" once it ended, 2 minutes on.
    assert seen == [
        WriteProgress("web", "Updating", 0.0),
        WriteProgress("web", "Updating", 97.0),
        WriteProgress("web", "done", 120.0, done=True),
    ]
    assert clock.slept == [97.0, 23.0]
    assert [(r.method, r.path.rsplit("/", 2)[-2]) for r in emu.requests] == [
        ("GET", "virtualMachineScaleSets"),
        ("PATCH", "virtualMachineScaleSets"),
        ("GET", "operations"),
        ("GET", "operations"),
        ("GET", "operations"),
        ("GET", "virtualMachineScaleSets"),  # what Azure stored, read once it finished
    ]
    assert emu.requests[1].if_match == etag


def test_a_write_that_ends_at_its_first_poll_reports_nothing(emu):
    client, clock = azure(emu), SimClock(emu)
    seen: list[WriteProgress] = []
    done = write(client, emu, clock, seen)
    assert done.tags["release"] == "r2" and seen == [] and clock.slept == []
    assert len(operation_polls(emu)) == 1


def test_a_write_waits_within_the_callers_deadline_and_gives_it_back(emu):
    # A watch sets "no deadline" on its clock; the write bounds its own requests, then restores it.
    set_rolling(emu)
    client, clock = azure(emu), SimClock(emu)
    seen: list[WriteProgress] = []
    client.set_deadline(clock, None)
    write(client, emu, clock, seen)
    assert (client.budget.clock, client.budget.at) == (clock, None)
    assert seen[-1] == WriteProgress("web", "done", 120.0, done=True)
    later = clock.monotonic() + 3600
    client.set_deadline(clock, later)
    write(client, emu, clock, [])
    assert (client.budget.clock, client.budget.at) == (clock, later)


def test_a_write_that_does_not_finish_in_time_is_timed_out_with_its_state(emu):
    from vmssroll.domain.errors import TimedOut

    set_rolling(emu)
    client, clock = azure(emu), SimClock(emu)
    seen: list[WriteProgress] = []
    with pytest.raises(TimedOut) as caught:
        write(client, emu, clock, seen, limit=60)
    assert caught.value.message == (
        "Azure accepted the change to web but had not finished it after 1m00s (provisioningState Updating); "
        "it may still land"
    )
    assert caught.value.hint == "check with `vmssroll policy show -g rg-demo -n web` before re-running"
    assert clock.slept == [60.0] and [p.state for p in seen] == ["Updating"]


@pytest.mark.parametrize("status", [429, 503])
def test_a_poll_failing_for_a_passing_reason_is_asked_again_and_said(emu, caplog, status):
    # Retry-After longer than the SDK waits out: the SDK hands the answer back at once.
    emu.faults.add(
        kind="status", status=status, method="GET", path_regex="/operations/", count=1, retry_after=600
    )
    client, clock = azure(emu), SimClock(emu)
    seen: list[WriteProgress] = []
    with caplog.at_level(logging.WARNING, logger="vmssroll.adapter"):
        done = write(client, emu, clock, seen)
    assert done.tags["release"] == "r2"
    asked = [r.getMessage() for r in caplog.records if "asking again" in r.getMessage()]
    assert asked == [f"waiting for the update of web: HTTP {status}; asking again"]
    assert [r.status for r in operation_polls(emu)] == [status, 200]
    assert seen == [WriteProgress("web", "Succeeded", 0.0), WriteProgress("web", "done", 0.0, done=True)]


def test_a_poll_whose_connection_drops_is_asked_again_and_said(emu, caplog):
    emu.faults.add(kind="drop", method="GET", path_regex="/operations/", count=1)
    client, clock = no_retries(emu), SimClock(emu)
    with caplog.at_level(logging.WARNING, logger="vmssroll.adapter"):
        done = write(client, emu, clock, [])
    assert done.tags["release"] == "r2"
    [said] = [r.getMessage() for r in caplog.records if "asking again" in r.getMessage()]
    assert said.startswith("waiting for the update of web: ") and "dropped" in said


@pytest.mark.parametrize("status", [400, 404])
def test_a_poll_refused_for_good_ends_the_wait_with_its_status(emu, status):
    emu.faults.add(kind="status", status=status, method="GET", path_regex="/operations/")
    client = azure(emu, lro_interval=10)  # were it asked again, it would be until the wait's limit
    with pytest.raises(AzureRequestFailed) as caught:
        write(client, emu, SimClock(emu), [], limit=60)
    emu.faults.clear()
    err = caught.value
    assert err.message == f"waiting for the update of web: HTTP {status}"
    assert (err.status, err.code, err.transient) == (status, "OperationUnreadable", False)
    assert len(operation_polls(emu)) == 1  # not asked again


def test_reading_an_operation_that_does_not_exist_is_its_http_status(emu):
    url = f"{emu.url}/subscriptions/{emu.subscription_id}/providers/Microsoft.Compute/locations/westeurope/"
    with pytest.raises(AzureRequestFailed) as caught:
        azure(emu).operation_status(url + "operations/nope?api-version=2026-04-01")
    err = caught.value
    assert (err.message, err.status, err.code) == (
        "reading the upgrade's operation: HTTP 404",
        404,
        "OperationUnreadable",
    )


def test_an_operation_poll_that_gets_no_answer_names_what_was_read(emu):
    emu.faults.add(kind="drop", method="GET", path_regex="/operations/")
    url = f"{emu.url}/subscriptions/{emu.subscription_id}/providers/Microsoft.Compute/locations/westeurope/"
    with pytest.raises(AzureRequestFailed) as caught:
        no_retries(emu).operation_status(url + "operations/x?api-version=2026-04-01")
    emu.faults.clear()
    assert caught.value.message.startswith("reading the upgrade's operation: ")
    assert caught.value.transient


def answering(server: Hostile, body: bytes, kind: str = "application/json; charset=utf-8") -> None:
    """Every poll of an operation answered 200 with `body` (of Content-Type `kind`)."""

    def tamper(seen: Seen, status: int, headers: dict[str, str], raw: bytes) -> tuple[int, dict, bytes]:
        return (200, {**headers, "Content-Type": kind}, body) if is_poll(seen) else (status, headers, raw)

    server.tamper = tamper


@pytest.mark.parametrize(
    ("operation", "ended"),
    [
        (
            {"status": "Failed", "error": {"code": "AllocationFailed", "message": "No capacity in zone 2."}},
            "Failed (AllocationFailed: No capacity in zone 2.)",
        ),
        ({"status": "Canceled", "error": {"code": "OperationCanceled"}}, "Canceled (OperationCanceled)"),
        ({"status": "Failed", "error": "broken"}, "Failed (Failed)"),
        ({"status": "Failed", "error": {"code": 7, "message": ["x"]}}, "Failed (Failed)"),
    ],
)
def test_an_operation_that_ends_unsuccessfully_is_one_error_with_azures_words(emu, operation, ended):
    with hostile_server(emu) as server:
        answering(server, json.dumps(operation).encode())
        client = azure(server)
        with pytest.raises(AzureRequestFailed) as caught:
            write(client, emu, SimClock(emu), [])
        status = client.operation_status(server.url + next(s.path for s in server.seen if is_poll(s)))
    err = caught.value
    assert err.message == f"updating scale set web: Azure accepted the change but its operation ended {ended}"
    assert err.hint == "see what is stored with `vmssroll policy show -g rg-demo -n web`"
    error = operation["error"] if isinstance(operation["error"], dict) else {}
    code = error.get("code") if isinstance(error.get("code"), str) else None
    message = error.get("message") if isinstance(error.get("message"), str) else None
    assert err.code == code
    assert (status.status, status.error_code, status.error_message) == (operation["status"], code, message)


@pytest.mark.parametrize(
    ("body", "kind"),
    [(b"<html>busy</html>", "text/html"), (b"[1, 2]", "application/json"), (b'"x"', "text/plain")],
    ids=["html", "list", "string"],
)
def test_an_operation_answer_that_is_not_an_object_is_unreadable(emu, body, kind):
    with hostile_server(emu) as server:
        answering(server, body, kind)
        client = azure(server)
        url = f"{server.url}/subscriptions/{emu.subscription_id}/providers/Microsoft.Compute/locations/x/"
        with pytest.raises(AzureRequestFailed) as caught:
            client.operation_status(url + "operations/y?api-version=2026-04-01")
    err = caught.value
    assert (
        err.message == "reading the upgrade's operation: Azure's answer could not be read (not a JSON object)"
    )
    assert err.hint == "nothing was changed by reading; re-run, and report it if it persists"


def test_an_operation_answered_with_no_body_has_succeeded(emu):
    with hostile_server(emu) as server:
        answering(server, b"")
        client = azure(server)
        url = f"{server.url}/subscriptions/{emu.subscription_id}/providers/Microsoft.Compute/locations/x/"
        status = client.operation_status(url + "operations/y?api-version=2026-04-01")
    assert (status.status, status.error_code, status.error_message) == ("Succeeded", None, None)


def test_an_accepted_answer_without_a_state_is_reported_as_updating(emu):
    set_rolling(emu)

    def patched(seen: Seen) -> bool:
        return seen.method == "PATCH"

    with hostile_server(emu) as server:

        def tamper(seen: Seen, status: int, headers: dict[str, str], raw: bytes) -> tuple[int, dict, bytes]:
            if seen.method != "PATCH":
                return status, headers, raw
            doc = json.loads(raw)
            del doc["properties"]["provisioningState"]
            return status, headers, json.dumps(doc).encode()

        server.tamper = tamper
        seen: list[WriteProgress] = []
        write(azure(server), emu, SimClock(emu), seen)
    assert [p.state for p in seen] == ["Updating", "Updating", "done"]


# A lost answer ----------------------------------------------------------------------------------------------


def test_a_lost_answer_in_rolling_mode_is_read_back_then_followed_until_it_settles(emu):
    set_rolling(emu)
    emu.faults.add(kind="drop", method="PATCH", after_commit=True, count=1)
    client, clock = azure(emu), SimClock(emu)
    seen: list[WriteProgress] = []
    etag = client.scale_set(ref(emu)).etag
    emu.clear_requests()
    done = client.patch(
        ref(emu),
        TAGS,
        etag,
        applied=lambda s: s.tags.get("release") == "r2",
        wait=WriteWait(clock, seen.append),
    )
    assert done.provisioning_state == "Succeeded" and done.tags["release"] == "r2"
    assert [r.method for r in emu.requests] == ["PATCH"] + ["GET"] * 13  # never sent twice
    assert set(clock.slept) == {10.0} and len(clock.slept) == 12  # the scale set every 10 s, 2 minutes
    assert seen[0] == WriteProgress("web", "Updating", 0.0) and seen[-1].done and seen[-1].state == "done"
    assert [p.state for p in seen[:-1]] == ["Updating"] * 12


def test_a_lost_answer_that_cannot_be_read_back_is_unknown(emu):
    emu.faults.add(kind="drop", method="PATCH", count=1)
    client = azure(emu)
    etag = client.scale_set(ref(emu)).etag
    emu.faults.add(kind="status", status=404, method="GET", path_regex="/virtualMachineScaleSets/web$")
    with pytest.raises(AzureRequestFailed) as caught:
        client.patch(ref(emu), TAGS, etag, applied=lambda _: True, wait=WriteWait(SimClock(emu)))
    emu.faults.clear()
    err = caught.value
    assert err.message == (
        "updating scale set web: Azure did not answer and the scale set could not be read back, "
        "so whether the change is in place is unknown"
    )
    assert err.hint == "check it with `vmssroll status -g rg-demo -n web` before re-running"
    assert isinstance(err.__cause__, NotFound)
