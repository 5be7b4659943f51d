"""--events is checked before any request; an endpoint with user info is refused and never shown; an emulator
bound to every address (0.0.0.0, ::) gives a URL a client can connect to."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime

import pytest

from tests.helpers import azure, ref, set_rolling, target
from vmssroll.emulator import Emulator, ManualClock


def refused(result, emu) -> None:
    assert result.exit_code == 2, result.output
    assert emu.requests == [], [(r.method, r.path) for r in emu.requests]
    assert result.stderr.startswith("error: ") and "Traceback" not in result.output


def test_events_must_be_a_writable_regular_file_checked_before_any_request(vmssroll, emu, tmp_path):
    """Fails on the old code: the file was opened after the first requests, and a directory ended in a
    traceback (exit 1), a FIFO with no reader hung the watch."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for events in (tmp_path, fifo, tmp_path / "missing" / "events.jsonl", "/dev/null/x"):
        emu.clear_requests()
        refused(vmssroll("watch", *target(), "--events", str(events), "--timeout", "1m"), emu)
    set_rolling(emu)
    emu.clear_requests()
    good = tmp_path / "events.jsonl"
    assert vmssroll("watch", *target(), "--events", str(good), "--timeout", "1m").exit_code == 0
    assert good.read_text().count('"event":') >= 1


def test_events_dash_means_stdout(vmssroll, emu):
    set_rolling(emu)
    result = vmssroll("watch", *target(), "--events", "-", "--timeout", "1m")
    assert result.exit_code == 0, result.output
    assert '"event":"done"' in result.stdout
    assert not os.path.exists("-")


@pytest.mark.parametrize(
    "userinfo", ["user:hunter2-secret@", "hunter2-secret@", ":hunter2-secret@", "user%40x:hunter2-secret@"]
)
def test_an_endpoint_with_user_info_is_refused_and_never_shown(vmssroll, emu, userinfo):
    """Fails on the old code: the URL was accepted, and the requests went out."""
    emu.clear_requests()
    endpoint = emu.url.replace("https://", f"https://{userinfo}")
    result = vmssroll("status", *target(), "--endpoint", endpoint, "-v")
    refused(result, emu)
    assert "hunter2" not in result.output and "user info" in result.stderr
    debug = vmssroll("status", *target(), "--endpoint", endpoint, "--debug")  # with its traceback
    assert debug.exit_code == 2 and "hunter2" not in debug.output and emu.requests == []


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_an_emulator_bound_to_every_address_gives_a_connectable_url(host):
    """Fails on the old code: the URL was https://0.0.0.0:PORT, which the certificate does not name."""
    if host == "::" and not socket.has_ipv6:
        pytest.skip("no IPv6")
    emu = Emulator(clock=ManualClock(start=datetime(2026, 1, 5, tzinfo=UTC)), host=host)
    try:
        emu.start()
    except OSError:
        pytest.skip(f"cannot bind {host} here")
    try:
        assert "0.0.0.0" not in emu.url and "[::]" not in emu.url
        emu.load_scenario("uniform-probe")
        assert azure(emu).scale_set(ref(emu)).name == "web"
    finally:
        emu.stop()
