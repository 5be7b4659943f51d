"""Secrets: the bearer token never reaches stdout, stderr, an events file or the SDK's HTTP log; TLS is always
verified, and a custom CA comes only from --ca-bundle; the emulator stays on loopback unless told
otherwise."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest

from tests.helpers import push_image, quick_writes, set_rolling, target
from tests.reliability.tamper import tampering_proxy
from vmssroll.adapter.connection import EMULATOR_TOKEN
from vmssroll.ui.console import redact

AUTH_VALUE = re.compile(
    r"(?i)authorization['\"]?\s*[:=]\s*['\"]?(?:bearer\s+)?(?!REDACTED|bearer\s)[^'\"\s,}]+"
)


def assert_clean(*texts: str) -> None:
    for text in texts:
        assert EMULATOR_TOKEN not in text
        assert not AUTH_VALUE.search(text), AUTH_VALUE.search(text)


def test_verbose_and_debug_output_never_holds_the_token(vmssroll, emu, tmp_path):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    events = tmp_path / "events.jsonl"
    emu.faults.add(kind="status", status=503, method="GET", path_regex=r"/latest$", count=1)
    watch = vmssroll("watch", *target(), "--verbose", "--debug", "--events", str(events))
    assert watch.exit_code == 0, watch.output
    assert "Authorization" in watch.stderr  # the SDK's HTTP log is there, with the header's value redacted
    policy = vmssroll(
        "policy", "set", *target(), "--max-batch-instance-percent", "30", "--yes", "-v", "--debug"
    )
    assert policy.exit_code == 0
    failed = vmssroll(
        "cancel", *target(), "--yes", "--debug", "-v"
    )  # nothing running: a traceback with --debug
    assert failed.exit_code == 8 and "Traceback" in failed.stderr
    assert_clean(watch.output, policy.output, failed.output, events.read_text())


def test_a_subprocess_with_debug_logging_never_prints_the_token(emu, tmp_path):
    env = dict(
        os.environ,
        VMSSROLL_ARM_ENDPOINT=emu.url,
        VMSSROLL_CA_BUNDLE=emu.ca_path,
        AZURE_SUBSCRIPTION_ID=emu.subscription_id,
    )
    emu.load_scenario(quick_writes())  # `policy set` runs in another process, on the real clock
    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.clock.advance(3600)
    runs = [
        ["status", *target(), "--debug", "--verbose", "-o", "json"],
        ["policy", "set", *target(), "--max-batch-instance-percent", "35", "--yes", "--debug"],
        ["watch", *target(), "--debug", "--events", str(tmp_path / "e.jsonl")],
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "vmssroll", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in runs
    ]
    try:
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=60)
            assert proc.returncode == 0, stderr[-2000:]
            assert "Authorization" in stderr
            assert_clean(stdout, stderr)
    finally:
        # None may outlive the test: a watch left running would poll the session emulator into the next
        # test's request log.
        for proc in procs:
            proc.kill()
            proc.wait()
    assert_clean((tmp_path / "e.jsonl").read_text())


def test_a_server_that_echoes_the_token_gets_it_redacted(vmssroll, emu):
    def echo(method, path, status, body):
        message = f"token 'Bearer {EMULATOR_TOKEN}' rejected; Authorization: Bearer {EMULATOR_TOKEN}"
        return 401, json.dumps({"error": {"code": "InvalidAuthenticationToken", "message": message}}).encode()

    with tampering_proxy(emu, echo) as (url, ca):
        result = vmssroll(
            "status", *target(), "--debug", env={"VMSSROLL_ARM_ENDPOINT": url, "VMSSROLL_CA_BUNDLE": ca}
        )
    assert result.exit_code == 9
    assert "InvalidAuthenticationToken" in result.stderr
    assert_clean(result.output)


@pytest.mark.parametrize(
    "text",
    [
        f"Authorization: Bearer {EMULATOR_TOKEN}",
        f"'Authorization': 'Bearer {EMULATOR_TOKEN}'",
        f'{{"authorization": "{EMULATOR_TOKEN}"}}',
        f"headers={{'Authorization': '{EMULATOR_TOKEN}'}}",
        f"bearer {EMULATOR_TOKEN}",
    ],
)
def test_redact_removes_every_shape_of_the_header(text):
    assert EMULATOR_TOKEN not in redact(text)


def test_without_ca_bundle_the_emulator_is_not_trusted(vmssroll, emu, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_path)  # must not decide whom we trust
    monkeypatch.setenv("CURL_CA_BUNDLE", emu.ca_path)
    result = vmssroll("policy", "show", *target(), env={"VMSSROLL_CA_BUNDLE": ""})
    assert result.exit_code == 4, result.output
    assert "TLS certificate is not trusted" in result.stderr and "--ca-bundle" in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert emu.requests == [], [(r.method, r.path, r.status) for r in emu.requests]  # no request was read


def test_a_ca_bundle_that_is_not_a_certificate_is_bad_input(vmssroll, emu, tmp_path):
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate")
    result = vmssroll("status", *target(), "--ca-bundle", str(bogus))
    assert result.exit_code == 2
    assert emu.requests == []


def test_plain_http_endpoints_are_refused(vmssroll, emu):
    result = vmssroll("status", *target(), "--endpoint", emu.url.replace("https://", "http://"))
    assert result.exit_code == 2
    assert "bearer tokens are never sent over http" in result.stderr


def _serve(*args: str) -> tuple[subprocess.Popen[str], list[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "vmssroll.emulator", "--scenario", "uniform-probe", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 30
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if line.startswith("Press Ctrl-C"):
            break
    return proc, lines


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.wait(timeout=10)


def test_the_emulator_listens_on_loopback_by_default():
    proc, lines = _serve()
    try:
        assert any(re.search(r"listening on https://127\.0\.0\.1:\d+", line) for line in lines), lines
        assert not any("WARNING" in line for line in lines)
    finally:
        _stop(proc)


def test_the_emulator_warns_when_told_to_listen_beyond_loopback():
    proc, lines = _serve("--host", "0.0.0.0")
    try:
        assert any("not a loopback address" in line for line in lines), lines
    finally:
        _stop(proc)
