"""Retry-After given as an HTTP date is measured on the server's clock (its Date header), not the local one:
a local clock hours off must neither stretch the wait to the cap nor cancel it."""

from __future__ import annotations

from azure.core.utils import CaseInsensitiveDict

from vmssroll.adapter.transport import MAX_RETRY_AFTER, retry_after_seconds, sanitize_retry_after

SERVER_NOW = "Tue, 05 Jan 2021 09:00:00 GMT"  # years behind the machine's clock
THIRTY_LATER = "Tue, 05 Jan 2021 09:00:30 GMT"


def test_an_http_date_counts_from_the_answers_date() -> None:
    assert retry_after_seconds(THIRTY_LATER, date=SERVER_NOW) == 30.0
    assert retry_after_seconds(SERVER_NOW, date=THIRTY_LATER) == 0.0


def test_without_a_date_header_the_local_clock_is_used() -> None:
    assert retry_after_seconds(THIRTY_LATER) == 0.0  # long past here
    assert retry_after_seconds("Fri, 01 Jan 2100 00:00:00 GMT") == MAX_RETRY_AFTER


def test_an_unreadable_date_header_falls_back_to_the_local_clock() -> None:
    assert retry_after_seconds(THIRTY_LATER, date="yesterday") == 0.0


def test_an_answers_headers_are_rewritten_on_the_servers_clock() -> None:
    headers = CaseInsensitiveDict({"Retry-After": THIRTY_LATER, "Date": SERVER_NOW})
    sanitize_retry_after(headers)
    assert headers["retry-after"] == "30"
