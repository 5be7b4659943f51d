"""Hostile servers: deadlines hold whatever the server does, paging and polling never take the token elsewhere
or loop, bodies are capped before parsing, and a write without an etag is refused. Every test talks to the
hostile server of tests/hostile/server.py through the real SDK, with short limits, in a few seconds at
most."""

from __future__ import annotations

import json

import pytest

from tests.helpers import azure, push_image, ref, set_rolling, target, writes
from tests.hostile.server import Answer, Seen, hostile_server, in_time
from vmssroll.adapter.connection import EMULATOR_TOKEN
from vmssroll.domain.errors import AzureRequestFailed


def latest(seen: Seen) -> bool:
    return seen.method == "GET" and seen.path.split("?")[0].endswith("/rollingUpgrades/latest")


def listing(seen: Seen) -> bool:
    return seen.method == "GET" and "/virtualMachines?" in seen.path


@pytest.fixture
def upgrading(emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    return emu


# Time limits ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["trickle", "hang"])
def test_timeout_holds_against_a_trickling_or_silent_answer(vmssroll, upgrading, how):
    """Fails on the old code: one byte every 0.2 s kept the read timeout (60 s per read) from ever firing, and
    a silent server held each request for 60 s, so `--timeout 2s` did not end the watch in time."""
    with hostile_server(upgrading) as server:

        def rule(seen: Seen, answer: Answer) -> bool:
            if not latest(seen):
                return False
            if how == "trickle":
                answer.trickle(200, b'{"properties": {}}' + b" " * 4000, every=0.2)
            else:
                answer.hang()
            return True

        server.rule = rule
        result, took = in_time(
            lambda: vmssroll("watch", *target(), "--timeout", "2s", "--interval", "1s", env=server.env())
        )
    assert result.exit_code == 7, result.output
    assert "timed out after 2s" in result.stderr
    assert took < 8, took


@pytest.mark.parametrize(
    "value", ["inf", "1e308", "99999999999", "nan", "-5", "Thu, 01 Jan 2099 00:00:00 GMT"]
)
def test_a_giant_or_malformed_retry_after_is_capped(vmssroll, upgrading, value):
    """Fails on the old code: `inf` crashed the watch (OverflowError, exit 1), `1e308` and a date far ahead
    made it sleep past --timeout, `nan` crashed the SDK's own retry."""
    with hostile_server(upgrading) as server:

        def rule(seen: Seen, answer: Answer) -> bool:
            if latest(seen):
                answer.send(
                    429,
                    {"error": {"code": "TooManyRequests", "message": "slow down"}},
                    {"Retry-After": value},
                )
                return True
            return False

        server.rule = rule
        watch, took = in_time(
            lambda: vmssroll("watch", *target(), "--timeout", "5m", "--interval", "10s", env=server.env())
        )
        assert watch.exit_code == 7, watch.output
        assert "timed out after 5m" in watch.stderr and "Traceback" not in watch.output
        # the SDK's own retries (a one-shot command): no crash, no sleep of hours, one clear line
        status, took = in_time(lambda: vmssroll("status", *target(), env=server.env()), seconds=20)
    assert status.exit_code == 4, status.output
    assert "429" in status.stderr or "TooManyRequests" in status.stderr
    assert took < 15, took


# Paging and polling -----------------------------------------------------------------------------------------


def test_a_foreign_next_link_is_not_followed_and_never_gets_the_token(vmssroll, upgrading):
    """Fails on the old code: the next page on another host was requested with the bearer token."""
    with hostile_server(upgrading) as server, hostile_server(upgrading) as other:

        def tamper(seen, status, headers, body):
            if listing(seen):
                doc = json.loads(body)
                doc["nextLink"] = other.url + seen.path.split("?")[0] + "?page=2"
                body = json.dumps(doc).encode()
            return status, headers, body

        server.tamper = tamper
        result, _ = in_time(lambda: vmssroll("status", *target(), env=server.env()))
        with pytest.raises(AzureRequestFailed, match="next page is on another host"):
            azure(server).instances(ref(upgrading))
    # status goes on without the instances (a supplementary read), and says why
    assert result.exit_code == 0, result.output
    assert "instances: unknown (listing stopped: NextLinkOnAnotherHost)" in result.stdout
    assert other.seen == [] or all(s.authorization is None for s in other.seen)


def test_an_operation_url_on_another_host_is_polled_without_the_token(vmssroll, emu):
    """Fails on the old code: the SDK polled Azure-AsyncOperation on the other host with the bearer token."""
    with hostile_server(emu) as server, hostile_server(emu) as other:

        def tamper(seen, status, headers, body):
            if seen.method == "PATCH":
                headers = {k: v.replace(server.url, other.url) for k, v in headers.items()}
            return status, headers, body

        server.tamper = tamper
        result, _ = in_time(
            lambda: vmssroll(
                "policy", "set", *target(), "--max-batch-instance-percent", "30", "--yes", env=server.env()
            )
        )
    assert other.seen, "the operation URL was not polled at all"
    assert all(s.authorization is None for s in other.seen), [s.path for s in other.seen]
    assert EMULATOR_TOKEN not in result.output


@pytest.mark.parametrize("kind", ["loop", "endless"])
def test_a_looping_or_endless_listing_ends_with_an_error(vmssroll, upgrading, kind):
    """Fails on the old code: a nextLink back to a page already read, or a new page for ever, never ended."""
    with hostile_server(upgrading) as server:
        counter = {"n": 0}

        def rule(seen: Seen, answer: Answer) -> bool:
            if not listing(seen):
                return False
            counter["n"] += 1
            base = server.url + seen.path.split("&page=")[0]
            link = base if kind == "loop" else f"{base}&page={counter['n']}"
            answer.send(200, {"value": [], "nextLink": link})
            return True

        server.rule = rule
        result, _ = in_time(lambda: vmssroll("status", *target(), env=server.env()), seconds=60)
    assert result.exit_code == 0, result.output  # status goes on without the instances, and says why
    assert f"listing stopped: {'NextLinkLoop' if kind == 'loop' else 'TooManyPages'}" in result.stdout
    assert counter["n"] == (2 if kind == "loop" else 200)


@pytest.mark.parametrize("declared", [True, False])
def test_an_answer_over_64_mib_is_refused_before_parsing(vmssroll, upgrading, declared):
    """Fails on the old code: an endless body was read into memory until the process died."""
    with hostile_server(upgrading) as server:

        def rule(seen: Seen, answer: Answer) -> bool:
            if not listing(seen):
                return False
            if declared:
                answer.h.send_response(200)
                answer.h.send_header("Content-Length", str(65 * 1024 * 1024))
                answer.h.end_headers()
                answer.h.wfile.write(b'{"value": []')
                answer.stop.wait(30)
            else:
                answer.endless()
            return True

        server.rule = rule
        with pytest.raises(AzureRequestFailed, match="larger than 64 MiB"):
            in_time(lambda: azure(server).instances(ref(upgrading)), seconds=60)
        if declared:  # the command goes on without the instances (a supplementary read)
            result, _ = in_time(lambda: vmssroll("status", *target(), env=server.env()), seconds=60)
            assert result.exit_code == 0 and "instances: unknown" in result.stdout, result.output


# Writes -----------------------------------------------------------------------------------------------------


def test_no_etag_from_azure_means_no_write(vmssroll, emu):
    """Fails on the old code: the PATCH went out without If-Match, unconditionally."""
    with hostile_server(emu) as server:

        def tamper(seen, status, headers, body):
            if seen.method == "GET" and seen.path.split("?")[0].endswith("/virtualMachineScaleSets/web"):
                doc = json.loads(body)
                doc.pop("etag", None)
                body = json.dumps(doc).encode()
                headers = {k: v for k, v in headers.items() if k.lower() != "etag"}
            return status, headers, body

        server.tamper = tamper
        emu.clear_requests()
        for args in (
            ("policy", "set", *target(), "--max-batch-instance-percent", "30", "--yes"),
            ("set-image", *target(), "--version", "2.0.0", "--yes"),
        ):
            result = vmssroll(*args, env=server.env())
            assert result.exit_code == 4, result.output
            assert "no etag" in result.stderr
    assert writes(emu) == []
