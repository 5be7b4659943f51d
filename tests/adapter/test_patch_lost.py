"""Azure.patch when the answer is lost or refused: the stored scale set is read back and decides; the same
PATCH is sent again (same body, same If-Match) only when the read-back proves the first never landed, and
every other case is one error that says what is known, with a hint. The real SDK against the emulator (and
tests/hostile/server.py for answers the emulator never gives)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from tests.helpers import NAME, RG, azure, ref
from tests.hostile.server import Seen, hostile_server
from vmssroll.adapter.client import Azure
from vmssroll.adapter.connection import resolve_connection
from vmssroll.domain.errors import AzureRequestFailed, Conflict

TAGS = {"tags": {"env": "demo", "owner": "platform-team", "release": "r2"}}


def released(ss: Any) -> bool:
    return ss.tags.get("release") == "r2"


def patches(emu: Any) -> list[Any]:
    return [r for r in emu.requests if r.method == "PATCH"]


def sent_so_far(emu: Any) -> list[tuple[str, str]]:
    return [(r.method, r.path.rsplit("/", 1)[-1]) for r in emu.requests]


def test_an_answer_lost_after_it_landed_is_read_back_and_not_sent_again(emu, caplog):
    client = azure(emu)
    etag = client.scale_set(ref(emu)).etag
    emu.faults.add(kind="drop", method="PATCH", after_commit=True, count=1)
    emu.clear_requests()
    with caplog.at_level(logging.INFO, logger="vmssroll.adapter"):
        stored = client.patch(ref(emu), TAGS, etag, applied=released, wait=None)
    assert released(stored) and stored.etag != etag
    assert sent_so_far(emu) == [("PATCH", NAME), ("GET", NAME)]
    said = [r.getMessage() for r in caplog.records]
    assert "the change is in place (read back after ServiceResponseError)" in said


def test_an_answer_lost_before_it_landed_is_sent_once_more_on_the_same_etag(emu, caplog):
    client = azure(emu)
    etag = client.scale_set(ref(emu)).etag
    emu.faults.add(kind="drop", method="PATCH", count=1)
    emu.clear_requests()
    with caplog.at_level(logging.INFO, logger="vmssroll.adapter"):
        stored = client.patch(ref(emu), TAGS, etag, applied=released, wait=None)
    assert released(stored)
    assert sent_so_far(emu) == [("PATCH", NAME), ("GET", NAME), ("PATCH", NAME)]
    first, second = patches(emu)
    assert first.body == second.body == TAGS and first.if_match == second.if_match == etag
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warned == [
        "no answer to the update of web, and reading it back shows it did not land; sending the same change "
        f"again (If-Match {etag})"
    ]


def test_an_answer_lost_twice_is_not_in_place_and_nothing_else_changed(emu):
    client = azure(emu)
    before = client.scale_set(ref(emu))
    emu.faults.add(kind="drop", method="PATCH")
    emu.clear_requests()
    with pytest.raises(AzureRequestFailed) as caught:
        client.patch(ref(emu), TAGS, before.etag, applied=released, wait=None)
    emu.faults.clear()
    err = caught.value
    assert err.message == (
        "updating scale set web: Azure did not answer; reading it back shows the change is not in place and "
        "nothing else changed"
    )
    lost = err.__cause__
    assert isinstance(lost, AzureRequestFailed) and lost.hint  # the lost answer's own advice, kept
    assert err.hint == lost.hint
    assert sent_so_far(emu) == [("PATCH", NAME), ("GET", NAME)] * 2
    assert client.scale_set(ref(emu)).etag == before.etag


def test_an_answer_lost_while_someone_else_changed_it_is_unknown_and_not_resent(emu):
    client = azure(emu)
    etag = client.scale_set(ref(emu)).etag
    original = emu.arm.dispatch

    def meddle(req: Any) -> Any:
        if req.method == "GET" and patches(emu):  # someone else writes before the read-back
            emu.arm.dispatch = original
            ss = emu.world.find(RG, NAME)
            ss.model.setdefault("tags", {})["owner"] = "someone-else"
            ss.etag += 1
        return original(req)

    emu.faults.add(kind="drop", method="PATCH", count=1)
    emu.arm.dispatch = meddle
    emu.clear_requests()
    try:
        with pytest.raises(AzureRequestFailed) as caught:
            client.patch(ref(emu), TAGS, etag, applied=released, wait=None)
    finally:
        emu.arm.dispatch = original
    err = caught.value
    assert err.message == (
        "updating scale set web: Azure did not answer, and the scale set has changed since it was read, so "
        "whether this change is in place is unknown"
    )
    assert err.hint == "check it with `vmssroll status -g rg-demo -n web` before re-running"
    assert isinstance(err.__cause__, AzureRequestFailed) and err.__cause__.transient
    assert sent_so_far(emu) == [("PATCH", NAME), ("GET", NAME)]
    assert emu.vmss(RG, NAME)["tags"]["owner"] == "someone-else"


def test_a_stale_etag_refused_is_a_conflict_after_the_read_back(emu):
    client = azure(emu)
    etag = client.scale_set(ref(emu)).etag
    emu.world.find(RG, NAME).etag += 1  # someone else wrote since it was read
    emu.clear_requests()
    with pytest.raises(Conflict) as caught:
        client.patch(ref(emu), TAGS, etag, applied=released, wait=None)
    assert caught.value.message.startswith("updating scale set web: the scale set changed since it was read")
    assert sent_so_far(emu) == [("PATCH", NAME), ("GET", NAME)]  # read back, never resent


def test_a_write_without_an_etag_is_refused_before_anything_is_sent(emu):
    emu.clear_requests()
    with pytest.raises(AzureRequestFailed) as caught:
        azure(emu).patch(ref(emu), TAGS, None, applied=released, wait=None)
    assert caught.value.message == (
        "updating scale set web: Azure returned no etag for it, so the change cannot be made conditional on "
        "what was read (If-Match); nothing was sent"
    )
    assert caught.value.hint == "re-run; if Azure keeps returning no etag, report it"
    assert emu.requests == []
    unconditional = azure(emu).patch(ref(emu), TAGS, None, applied=released, wait=None, unconditional=True)
    assert released(unconditional) and patches(emu)[0].if_match is None


@pytest.mark.parametrize(("body", "kind"), [([1, 2], "list"), ("web", "str")])
def test_an_accepted_answer_that_is_not_an_object_is_unreadable(emu, body, kind):
    with hostile_server(emu) as server:

        def tamper(seen: Seen, status: int, headers: dict[str, str], raw: bytes) -> tuple[int, dict, bytes]:
            return (
                (status, headers, json.dumps(body).encode())
                if seen.method == "PATCH"
                else (status, headers, raw)
            )

        server.tamper = tamper
        conn = resolve_connection(
            cloud="AzureCloud",
            endpoint=server.url,
            ca_bundle=server.ca_path,
            subscription=emu.subscription_id,
        )
        client = Azure(conn, lro_interval=0)
        with pytest.raises(AzureRequestFailed) as caught:
            client.patch(ref(emu), TAGS, client.scale_set(ref(emu)).etag, applied=released, wait=None)
    assert caught.value.message == (
        f"updating scale set web: Azure's answer could not be read (a {kind} where an object was expected)"
    )
