"""`-v` shows every request (method, path, status, time, request ids) and what each write sent; `--debug` adds
headers with secrets redacted and the answers' bodies. The token never appears."""

from __future__ import annotations

import re

from tests.helpers import target
from vmssroll.adapter.connection import EMULATOR_TOKEN

LINE = re.compile(
    r"^http: (?P<method>GET|PATCH|POST|PUT|DELETE) (?P<path>\S+) (?P<status>\d{3}) \d+ ms "
    r"x-ms-request-id=(?P<rid>\S+) x-ms-correlation-request-id=\S+$"
)


def request_lines(stderr: str) -> list[re.Match[str]]:
    return [m for line in stderr.splitlines() if (m := LINE.match(line))]


def test_verbose_shows_every_read_with_status_and_request_id(vmssroll, emu):
    result = vmssroll("status", *target(), "-v")
    assert result.exit_code == 0, result.output
    shown = [(m["method"], m["path"].split("?")[0], int(m["status"])) for m in request_lines(result.stderr)]
    sent = [(r.method, r.path, r.status) for r in emu.requests]
    # The same requests and answers; not in the same order: reads run in parallel, and a line is printed when
    # its answer arrives, while the emulator logs each request as it comes in.
    assert sorted(shown) == sorted(sent) and len(sent) >= 3, (shown, sent)
    assert all(m["rid"] != "-" for m in request_lines(result.stderr))


def test_verbose_shows_what_a_write_sent_and_its_answer(vmssroll, emu):
    result = vmssroll("policy", "set", *target(), "--max-batch-instance-percent", "30", "--yes", "-v")
    assert result.exit_code == 0, result.output
    sent = [
        line for line in result.stderr.splitlines() if line.startswith("http: PATCH") and " sent " in line
    ]
    assert len(sent) == 1
    assert sent[0].endswith(
        'sent {"properties":{"upgradePolicy":{"rollingUpgradePolicy":{"maxBatchInstancePercent":30}}}}'
    )
    answered = [m for m in request_lines(result.stderr) if m["method"] == "PATCH"]
    assert [int(m["status"]) for m in answered] == [r.status for r in emu.requests if r.method == "PATCH"]


def test_without_verbose_no_request_is_shown(vmssroll, emu):
    result = vmssroll("status", *target())
    assert result.exit_code == 0
    assert "http:" not in result.stderr


def test_debug_adds_redacted_headers_and_bodies_and_never_the_token(vmssroll, emu):
    result = vmssroll("policy", "set", *target(), "--max-batch-instance-percent", "30", "--yes", "--debug")
    assert result.exit_code == 0, result.output
    assert "http:   > Authorization: REDACTED" in result.stderr
    assert re.search(r"^http:   < x-ms-request-id: \S+$", result.stderr, re.M)
    assert re.search(r'^http:   < body: \{"id": "/subscriptions/', result.stderr, re.M)
    assert EMULATOR_TOKEN not in result.output
