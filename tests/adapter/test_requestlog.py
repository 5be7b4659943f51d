"""The request log: one INFO line per attempt (method, path, status, time, request ids), what each write
sent, and at DEBUG the headers (credentials redacted) and the answer's body, clipped. Through the real SDK
against the emulator, and the text helpers called directly."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from tests.helpers import azure, ref
from vmssroll.adapter.connection import EMULATOR_TOKEN
from vmssroll.adapter.requestlog import (
    BODY_LIMIT,
    _body_text,
    _clip,
    _path,
    _request_body,
    redacted,
)
from vmssroll.domain.errors import AzureRequestFailed

SET_PATH = (
    "/subscriptions/{sub}/resourceGroups/rg-demo/providers/Microsoft.Compute/virtualMachineScaleSets/web"
)
ANSWERED = re.compile(
    r"^(?P<method>[A-Z]+) (?P<path>\S+) (?P<status>\d{3}) (?P<ms>\d+) ms "
    r"x-ms-request-id=(?P<rid>\S+) x-ms-correlation-request-id=(?P<cid>\S+)$"
)


def lines(caplog: pytest.LogCaptureFixture, level: int = logging.INFO) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "vmssroll.requests" and r.levelno == level]


def test_each_read_is_one_line_with_its_status_time_and_request_ids(emu, caplog):
    caplog.set_level(logging.INFO, logger="vmssroll.requests")
    azure(emu).scale_set(ref(emu))
    path = SET_PATH.format(sub=emu.subscription_id)
    shown = [m for line in lines(caplog) if (m := ANSWERED.match(line))]
    assert len(shown) == len(lines(caplog)) == len(emu.requests) == 1, lines(caplog)
    line = shown[0]
    assert (line["method"], line["path"].split("?")[0], line["status"]) == ("GET", path, "200")
    assert re.fullmatch(r"api-version=[0-9-]+(-preview)?", line["path"].split("?")[1])
    # the emulator's answers carry a request id and no correlation id
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", line["rid"])
    assert line["cid"] == "-"
    assert not lines(caplog, logging.DEBUG)  # headers and bodies only at DEBUG


def test_a_write_says_what_it_sent_before_its_answer(emu, caplog):
    caplog.set_level(logging.INFO, logger="vmssroll.requests")
    body = {"properties": {"upgradePolicy": {"rollingUpgradePolicy": {"maxBatchInstancePercent": 30}}}}
    azure(emu).patch(ref(emu), body, None, applied=lambda _: True, wait=None, unconditional=True)
    path = SET_PATH.format(sub=emu.subscription_id)
    sent = [line for line in lines(caplog) if line.startswith("PATCH ") and " sent " in line]
    assert len(sent) == 1
    assert re.fullmatch(
        re.escape(path)
        + r"\?api-version=\S+ sent "
        + re.escape(
            '{"properties":{"upgradePolicy":{"rollingUpgradePolicy":{"maxBatchInstancePercent":30}}}}'
        ),
        sent[0].removeprefix("PATCH "),
    ), sent
    answered = [m for line in lines(caplog) if (m := ANSWERED.match(line)) and m["method"] == "PATCH"]
    assert [m["status"] for m in answered] == [str(r.status) for r in emu.requests if r.method == "PATCH"]
    assert lines(caplog).index(sent[0]) < lines(caplog).index(answered[0].string)


def test_a_write_without_a_body_says_so(emu, caplog):
    caplog.set_level(logging.INFO, logger="vmssroll.requests")
    with pytest.raises(AzureRequestFailed):  # the scenario's image is not a platform one: refused, 409
        azure(emu).start(ref(emu), "os")
    posts = [line for line in lines(caplog) if line.startswith("POST ") and " sent " in line]
    assert posts and all(line.endswith(" sent no body") for line in posts), posts


def test_debug_shows_headers_redacted_and_the_answers_body(emu, caplog):
    caplog.set_level(logging.DEBUG, logger="vmssroll.requests")
    azure(emu).scale_set(ref(emu))
    debug = lines(caplog, logging.DEBUG)
    assert "  > Authorization: REDACTED" in debug
    assert any(re.fullmatch(r"  < x-ms-request-id: \S+", line) for line in debug), debug
    bodies = [line for line in debug if line.startswith("  < body: ")]
    assert len(bodies) == 1 and bodies[0].startswith('  < body: {"id": "/subscriptions/')
    assert all(EMULATOR_TOKEN not in r.getMessage() for r in caplog.records)


def test_an_attempt_without_an_answer_is_its_own_line(emu, caplog):
    caplog.set_level(logging.INFO, logger="vmssroll.requests")
    emu.faults.add(kind="drop", method="GET", path_regex=r"/virtualMachineScaleSets/web$")
    with pytest.raises(AzureRequestFailed):
        azure(emu).scale_set(ref(emu))
    path = SET_PATH.format(sub=emu.subscription_id)
    dropped = [line for line in lines(caplog) if ": no answer after " in line]
    assert len(dropped) >= 2, lines(caplog)  # each retry is its own attempt, and its own line
    for line in dropped:
        assert re.fullmatch(
            re.escape(f"GET {path}") + r"\?api-version=\S+: no answer after \d+ ms \(\w+\)", line
        )


def test_nothing_is_logged_below_info(emu, caplog):
    caplog.set_level(logging.WARNING, logger="vmssroll.requests")
    azure(emu).scale_set(ref(emu))
    assert not [r for r in caplog.records if r.name == "vmssroll.requests"]


def test_credential_headers_are_redacted_whatever_their_case() -> None:
    headers: dict[str, Any] = {
        "Authorization": "Bearer secret",
        "cookie": "a=b",
        "Set-Cookie": "c=d",
        "x-ms-authorization-auxiliary": "Bearer other",
        "Content-Type": "application/json",
        "Content-Length": 12,
    }
    assert redacted(headers) == {
        "Authorization": "REDACTED",
        "cookie": "REDACTED",
        "Set-Cookie": "REDACTED",
        "x-ms-authorization-auxiliary": "REDACTED",
        "Content-Type": "application/json",
        "Content-Length": "12",
    }


@pytest.mark.parametrize(
    ("url", "path"),
    [
        (
            "https://management.azure.com/subscriptions/s?api-version=2024-07-01",
            "/subscriptions/s?api-version=2024-07-01",
        ),
        ("https://management.azure.com/subscriptions/s", "/subscriptions/s"),
        ("https://127.0.0.1:8443/a/b?x=1&y=2", "/a/b?x=1&y=2"),
        ("https://127.0.0.1:8443/a/b?", "/a/b"),
    ],
)
def test_the_path_and_query_without_the_host(url: str, path: str) -> None:
    assert _path(url) == path


class Request:
    def __init__(self, **attributes: Any) -> None:
        self.__dict__.update(attributes)


class Streamed:
    @property
    def content(self) -> Any:
        raise RuntimeError("a streamed request's content cannot be read")

    body = b'{"a": 1}'


def test_the_request_body_is_its_content_body_or_data_whichever_it_has() -> None:
    assert _request_body(Request(content=b"c", body=b"b", data=b"d")) == b"c"
    assert _request_body(Request(content=None, body=b"b", data=b"d")) == b"b"
    assert _request_body(Request(content=b"", body=None, data={"k": 1})) == {"k": 1}
    assert _request_body(Request()) is None
    assert _request_body(Streamed()) == b'{"a": 1}'


def circular() -> list[Any]:
    loop: list[Any] = []
    loop.append(loop)
    return loop


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (None, ""),
        (b'{"a": 1, "b": [1, 2]}', '{"a":1,"b":[1,2]}'),
        ('{"name": "é"}', '{"name":"é"}'),
        ("not  json\n at all", "not json at all"),
        (b"\xff\xfe not utf-8", "\ufffd\ufffd not utf-8"),
        ({"properties": {"capacity": 3}}, '{"properties":{"capacity":3}}'),
        ({"when": __import__("datetime").date(2026, 12, 2)}, '{"when":"2026-12-02"}'),
        (circular(), "[[...]]"),
    ],
    ids=["none", "json-bytes", "json-text", "text", "not-utf8", "dict", "date", "circular"],
)
def test_a_body_is_shown_as_compact_json_or_as_clipped_text(body: Any, text: str) -> None:
    assert _body_text(body) == text


def test_a_long_body_is_clipped_with_how_much_was_left_out() -> None:
    assert BODY_LIMIT == 4000
    exact = "x" * BODY_LIMIT
    assert _clip(exact) == exact
    assert _clip(exact + "yz") == f"{exact}… (2 more characters)"
    assert _clip("  spread \n over\tlines  ") == "spread over lines"
    assert _body_text("a" * (BODY_LIMIT + 10)) == "a" * BODY_LIMIT + "… (10 more characters)"


def test_debug_clips_a_long_answer(emu, caplog):
    caplog.set_level(logging.DEBUG, logger="vmssroll.requests")
    azure(emu).instances(ref(emu))
    bodies = [line for line in lines(caplog, logging.DEBUG) if line.startswith("  < body: ")]
    assert bodies and all(len(line) <= len("  < body: ") + BODY_LIMIT + 40 for line in bodies)
    clipped = [line for line in bodies if re.search(r"… \(\d+ more characters\)$", line)]
    assert clipped, [len(line) for line in bodies]
