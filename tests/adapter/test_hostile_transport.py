"""The transport against a hostile server (tests/hostile/server.py) through the adapter, in-process: the token
goes to the endpoint's host only, a silent or trickling answer ends at the deadline, and a body declared over
the cap is refused before it is read."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.conftest import SimClock
from tests.helpers import azure, ref, set_rolling
from tests.hostile.server import Answer, Seen, hostile_server, in_time
from vmssroll.adapter.connection import EMULATOR_TOKEN
from vmssroll.domain.errors import AzureRequestFailed, Unreachable
from vmssroll.domain.writing import WriteWait


def causes(err: BaseException) -> list[str]:
    said: list[str] = []
    cause: Any = err.__cause__
    while cause is not None and len(said) < 10:
        said.append(str(cause))
        cause = getattr(cause, "inner_exception", None) or cause.__cause__ or cause.__context__
    return said


def scale_set_read(seen: Seen) -> bool:
    return seen.method == "GET" and seen.path.split("?")[0].endswith("/virtualMachineScaleSets/web")


def test_an_operation_url_on_another_host_is_polled_without_the_token(emu):
    set_rolling(emu)  # a write in Rolling mode is followed through its operation
    body = {"properties": {"upgradePolicy": {"rollingUpgradePolicy": {"maxBatchInstancePercent": 30}}}}
    with hostile_server(emu) as server, hostile_server(emu) as other:

        def tamper(seen: Seen, status: int, headers: dict[str, str], answer: bytes) -> Any:
            if seen.method == "PATCH":
                headers = {k: v.replace(server.url, other.url) for k, v in headers.items()}
            return status, headers, answer

        server.tamper = tamper
        client = azure(server)
        wait = WriteWait(SimClock(emu))
        with pytest.raises(AzureRequestFailed) as caught:  # the emulator behind it answers 401 without one
            in_time(
                lambda: client.patch(
                    ref(emu), body, None, applied=lambda _: True, wait=wait, unconditional=True
                )
            )
    assert caught.value.message == "waiting for the update of web: HTTP 401"
    assert len(other.seen) == 1, [s.path for s in other.seen]  # its 401 challenge is not answered
    assert other.seen[0].authorization is None
    assert server.seen and all(s.authorization == f"Bearer {EMULATOR_TOKEN}" for s in server.seen)


def test_an_operation_url_on_the_same_port_under_another_host_name_is_polled_without_the_token(emu):
    """The token is bound to the endpoint's host name and port together: `localhost` on the emulator's port
    is another host to it (the same port was enough to send the token before), though the same server."""
    set_rolling(emu)
    body = {"properties": {"upgradePolicy": {"rollingUpgradePolicy": {"maxBatchInstancePercent": 30}}}}
    with hostile_server(emu) as server:
        renamed = server.url.replace("127.0.0.1", "localhost")

        def tamper(seen: Seen, status: int, headers: dict[str, str], answer: bytes) -> Any:
            if seen.method == "PATCH":
                headers = {k: v.replace(server.url, renamed) for k, v in headers.items()}
            return status, headers, answer

        server.tamper = tamper
        client = azure(server)
        with pytest.raises(AzureRequestFailed) as caught:
            in_time(
                lambda: client.patch(
                    ref(emu),
                    body,
                    None,
                    applied=lambda _: True,
                    wait=WriteWait(SimClock(emu)),
                    unconditional=True,
                )
            )
    assert caught.value.message == "waiting for the update of web: HTTP 401"
    polls = [s for s in server.seen if "/operations/" in s.path]
    assert len(polls) == 1 and polls[0].authorization is None, [
        (s.path, s.authorization) for s in server.seen
    ]
    assert all(s.authorization == f"Bearer {EMULATOR_TOKEN}" for s in server.seen if s not in polls)


@pytest.mark.parametrize("how", ["trickle", "hang"])
def test_a_silent_or_trickling_answer_ends_at_the_deadline(emu, how):
    with hostile_server(emu) as server:

        def rule(seen: Seen, answer: Answer) -> bool:
            if not scale_set_read(seen):
                return False
            if how == "trickle":
                answer.trickle(200, b'{"properties": {}}' + b" " * 4000, every=0.1)
            else:
                answer.hang()
            return True

        server.rule = rule
        client = azure(server)
        client.set_deadline(time, time.monotonic() + 0.8)
        started = time.monotonic()
        with pytest.raises(Unreachable) as caught:
            client.scale_set(ref(emu))
        took = time.monotonic() - started
    assert took < 5, took
    # the attempt that hung ended at the deadline, and the retry after it was not sent at all
    assert caught.value.retryable is True
    assert "no time left before the deadline; not sent" in " ".join(causes(caught.value))


def test_an_answer_declared_over_64_mib_is_refused_before_it_is_read(emu):
    with hostile_server(emu) as server:

        def rule(seen: Seen, answer: Answer) -> bool:
            if not scale_set_read(seen):
                return False
            answer.h.send_response(200)
            answer.h.send_header("Content-Length", str(65 * 1024 * 1024))
            answer.h.end_headers()
            answer.h.wfile.write(b'{"properties": {}')
            answer.stop.wait(30)
            return True

        server.rule = rule
        with pytest.raises(AzureRequestFailed) as caught:
            in_time(lambda: azure(server).scale_set(ref(emu)), seconds=30)
    assert caught.value.message == "reading scale set web: the answer is larger than 64 MiB; it was not read"
