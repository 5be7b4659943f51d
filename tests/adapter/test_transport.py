"""What the pipeline gets from us: Retry-After values made safe (capped, finite, or removed), the deadline's
budget, bodies read with a cap, and where the token may go. The parsers are called directly; the adapter's
budget and body cap are driven through the real SDK against the emulator."""

from __future__ import annotations

import io
from typing import Any

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.core.utils import CaseInsensitiveDict
from urllib3.response import HTTPResponse

from tests.helpers import azure, ref
from vmssroll.adapter.transport import (
    MAX_BODY,
    MAX_RETRY_AFTER,
    REQUEST_CAP,
    Budget,
    _read_bounded,
    host_of,
    retry_after_seconds,
    sanitize_retry_after,
)
from vmssroll.domain.errors import Unreachable

SERVER_NOW = "Tue, 05 Jan 2021 09:00:00 GMT"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def monotonic(self) -> float:
        return self.now


def test_the_caps() -> None:
    assert (MAX_RETRY_AFTER, REQUEST_CAP, MAX_BODY) == (120.0, 120.0, 64 * 1024 * 1024)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("5", 5.0),
        (" 7 ", 7.0),
        (3, 3.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("-4", 0.0),
        ("119.5", 119.5),
        ("120", 120.0),
        ("121", MAX_RETRY_AFTER),
        ("1e9", MAX_RETRY_AFTER),
        ("inf", MAX_RETRY_AFTER),
        ("-inf", 0.0),
        ("nan", None),
        ("soon", None),
        ("1" * 64, MAX_RETRY_AFTER),
        ("1" * 65, None),
        ("Tue, 05 Jan 2021 09:00:42 GMT", 42.0),
        ("Tue, 05 Jan 2021 08:59:00 GMT", 0.0),
        ("Tue, 05 Jan 2021 09:10:00 GMT", MAX_RETRY_AFTER),
        ("Tue, 05 Jan 2021 09:00:42 -0000", None),  # no time zone: not a date this can measure
        ("Tue, 99 Jan 2021 09:00:42 GMT", None),
    ],
)
def test_a_retry_after_value_in_seconds(value: Any, seconds: float | None) -> None:
    assert retry_after_seconds(value, date=SERVER_NOW) == seconds


@pytest.mark.parametrize(
    ("value", "seconds"), [("2500", 2.5), ("0", 0.0), ("999999", MAX_RETRY_AFTER), ("-1", 0.0), ("x", None)]
)
def test_a_retry_after_in_milliseconds(value: str, seconds: float | None) -> None:
    assert retry_after_seconds(value, milliseconds=True) == seconds


def test_an_http_date_is_never_read_as_milliseconds() -> None:
    assert retry_after_seconds("Tue, 05 Jan 2021 09:00:42 GMT", milliseconds=True, date=SERVER_NOW) == 42.0


def lowered(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def test_the_headers_are_rewritten_capped_or_removed() -> None:
    headers = CaseInsensitiveDict(
        {
            "Retry-After": "1e6",
            "retry-after-ms": "1500",
            "x-ms-retry-after-ms": "garbage",
            "Content-Type": "application/json",
        }
    )
    sanitize_retry_after(headers)
    assert lowered(headers) == {
        "retry-after": "120",
        "retry-after-ms": "1500",
        "content-type": "application/json",
    }
    fractional = CaseInsensitiveDict({"Retry-After": "2.5", "x-ms-retry-after-ms": "99999999"})
    sanitize_retry_after(fractional)
    assert lowered(fractional) == {"retry-after": "2.5", "x-ms-retry-after-ms": "120000"}
    unreadable = CaseInsensitiveDict({"Retry-After": "nan"})
    sanitize_retry_after(unreadable)
    assert "retry-after" not in unreadable
    untouched = CaseInsensitiveDict({"Date": SERVER_NOW})
    sanitize_retry_after(untouched)
    assert lowered(untouched) == {"date": SERVER_NOW}


def test_a_retry_after_never_outlasts_the_deadline() -> None:
    budget = Budget()
    budget.set(Clock(100.0), 103.5)
    headers = CaseInsensitiveDict(
        {"Retry-After": "30", "retry-after-ms": "30000", "x-ms-retry-after-ms": "1000"}
    )
    sanitize_retry_after(headers, budget)
    assert lowered(headers) == {
        "retry-after": "3.5",
        "retry-after-ms": "3500",
        "x-ms-retry-after-ms": "1000",
    }
    budget.set(Clock(200.0), 103.5)  # past the deadline: no wait at all
    late = CaseInsensitiveDict({"Retry-After": "30"})
    sanitize_retry_after(late, budget)
    assert late["retry-after"] == "0"


def test_a_budget_without_a_deadline_caps_nothing() -> None:
    budget = Budget()
    assert (budget.left(), budget.cap(42.0)) == (None, 42.0)
    budget.set(Clock(5.0), None)
    assert (budget.left(), budget.cap(42.0)) == (None, 42.0)
    budget.set(None, 10.0)
    assert (budget.left(), budget.cap(42.0)) == (None, 42.0)


def test_a_budget_counts_down_on_its_clock() -> None:
    clock = Clock(1000.0)
    budget = Budget()
    budget.set(clock, 1030.0)
    assert (budget.left(), budget.cap(120.0), budget.cap(10.0)) == (30.0, 30.0, 10.0)
    clock.now = 1029.5
    assert (budget.left(), budget.cap(120.0)) == (0.5, 0.5)
    clock.now = 1040.0
    assert (budget.left(), budget.cap(120.0)) == (-10.0, 0.0)
    assert budget.cap(-1.0) == 0.0


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://Management.Azure.com/subscriptions", ("management.azure.com", 443)),
        ("https://management.azure.com:443/x", ("management.azure.com", 443)),
        ("https://127.0.0.1:8443/x", ("127.0.0.1", 8443)),
        ("http://example.net/x", ("example.net", 80)),
        ("http://example.net:443/x", ("example.net", 443)),
        ("/relative/path", ("", 80)),
    ],
)
def test_host_of_is_the_host_and_port_a_request_goes_to(url: str, host: tuple[str, int]) -> None:
    assert host_of(url) == host


def response_of(data: bytes, declared: str | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response.raw = HTTPResponse(body=io.BytesIO(data), preload_content=False)
    if declared is not None:
        response.headers["Content-Length"] = declared
    return response


def test_a_body_within_the_cap_is_read_whole() -> None:
    data = b"x" * 200_000  # several chunks
    response = response_of(data, str(len(data)))
    _read_bounded(response, max_body=len(data))
    assert b"".join(response.iter_content(65536)) == data  # as requests gives a body it read itself
    assert response.content == data


@pytest.mark.parametrize("declared", [None, "1", " 12 ", "not a number"])
def test_a_body_over_the_cap_is_refused_while_it_is_read(declared: str | None) -> None:
    response = response_of(b"y" * (3 * 1024 * 1024), declared)
    with pytest.raises(HttpResponseError) as caught:
        _read_bounded(response, max_body=2 * 1024 * 1024)
    assert caught.value.message == "the answer is larger than 2 MiB; it was not read"


def test_a_body_declared_over_the_cap_is_refused_before_it_is_read() -> None:
    response = response_of(b"z" * 10, declared=str(5 * 1024 * 1024))
    with pytest.raises(HttpResponseError) as caught:
        _read_bounded(response, max_body=4 * 1024 * 1024)
    assert caught.value.message == "the answer is larger than 4 MiB; it was not read"
    assert response.raw.tell() == 0  # not a byte read
    exact = response_of(b"z" * 10, declared="10")
    _read_bounded(exact, max_body=10)
    assert exact.content == b"z" * 10


def test_no_request_is_sent_once_the_deadline_has_passed(emu):
    client = azure(emu)
    client.set_deadline(Clock(50.0), 49.0)
    emu.clear_requests()
    with pytest.raises(Unreachable) as caught:
        client.scale_set(ref(emu))
    assert (
        caught.value.message
        == "reading scale set web: cannot reach Azure Resource Manager: the connection timed out"
    )
    assert caught.value.retryable is True
    said: list[str] = []
    err: Any = caught.value.__cause__
    while err is not None and len(said) < 10:
        said.append(str(err))
        err = getattr(err, "inner_exception", None) or err.__cause__ or err.__context__
    assert any("no time left before the deadline; not sent" in text for text in said), said
    assert emu.requests == []
