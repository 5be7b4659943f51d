"""Listings page by page (Azure._pages and _next_page): every page's values, Azure's clock from the first
page, the read budgets of the last; a nextLink is followed only on the endpoint's own host over HTTPS, never
back to a page already read, and never past MAX_PAGES; a listing that fails is an Unknown with its reason for
a supplementary read (raised when a caller retries on its own). Pages are served by tests/hostile/server.py
in front of the emulator."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from tests.helpers import azure, ref
from tests.hostile.server import Hostile, Seen, hostile_server
from vmssroll.adapter import client as client_module
from vmssroll.domain.errors import AzureRequestFailed, NotFound
from vmssroll.domain.unknown import Unknown

DATES = ["Mon, 05 Jan 2026 09:00:00 GMT", "Mon, 05 Jan 2026 09:00:07 GMT", "Mon, 05 Jan 2026 09:00:09 GMT"]


def listing(seen: Seen) -> bool:
    return seen.method == "GET" and "/virtualMachineScaleSets/web/virtualMachines" in seen.path


def vm(n: int) -> dict[str, Any]:
    return {"instanceId": str(n), "name": f"web_{n}", "properties": {"latestModelApplied": True}}


def reply(answer: Any, body: Any, headers: dict[str, str]) -> None:
    """A 200 with exactly these headers (http.server's send_response would add a Date of its own)."""
    payload = json.dumps(body).encode()
    answer.h.send_response_only(200)
    for key, value in {
        "Content-Type": "application/json",
        "Content-Length": str(len(payload)),
        **headers,
    }.items():
        answer.h.send_header(key, value)
    answer.h.end_headers()
    answer.h.wfile.write(payload)


def serve(server: Hostile, next_link: Any, pages: int | None = None) -> None:
    """The instance listing in pages of one VM each: page n links to `next_link(n)` (None: the last)."""

    def rule(seen: Seen, answer: Any) -> bool:
        if not listing(seen):
            return False
        n = int(seen.path.split("page=")[1].split("&")[0]) if "page=" in seen.path else 0
        link = next_link(n) if pages is None or n + 1 < pages else None
        body = {"value": [vm(n), "not-a-vm", 7]}
        if link is not None:
            body["nextLink"] = link
        budget = {
            "x-ms-ratelimit-remaining-resource": f"Microsoft.Compute/HighCostGetVMScaleSet30Min;{90 - n}"
        }
        reply(answer, body, {"Date": DATES[min(n, 2)], **budget})
        return True

    server.rule = rule


def page_url(server: Hostile, n: int) -> str:
    return f"{server.url}{ref(server.emu).id}/virtualMachines?api-version=2026-04-01&page={n}"


def test_every_page_is_read_with_the_first_pages_clock_and_the_last_pages_budget(emu):
    with hostile_server(emu) as server:
        serve(
            server,
            lambda n: page_url(server, n + 1).removeprefix(server.url) if n % 2 else page_url(server, n + 1),
            3,
        )
        reading = azure(server).instances_reading(ref(emu))
        asked = [s for s in server.seen if listing(s)]
    assert [i.instance_id for i in reading.value] == ["0", "1", "2"]  # what is not an object is skipped
    assert reading.pages == 3 and len(asked) == 3
    assert reading.server_time is not None and reading.server_time.isoformat() == "2026-01-05T09:00:00+00:00"
    assert reading.rate_limits == {"Microsoft.Compute/HighCostGetVMScaleSet30Min": 88}


@pytest.mark.parametrize(
    "elsewhere", ["https://127.0.0.2:1/next", "http://{host}/next", "https://evil.example/{path}"]
)
def test_a_next_page_elsewhere_is_not_followed(emu, elsewhere):
    with hostile_server(emu) as server:
        host = server.url.removeprefix("https://")
        serve(server, lambda n: elsewhere.format(host=host, path="x"))
        client = azure(server)
        with pytest.raises(AzureRequestFailed) as caught:
            client.instances(ref(emu))
        asked = [s for s in server.seen if listing(s)]
        unknown = client.instances_or_unknown(ref(emu))
    err = caught.value
    assert (
        err.message == "listing the instances of web: the answer's next page is on another host; not followed"
    )
    assert (err.code, err.status) == ("NextLinkOnAnotherHost", None)
    assert len(asked) == 1
    assert unknown == Unknown("instances", "listing stopped: NextLinkOnAnotherHost")


def test_a_next_page_already_read_is_a_loop_and_stops(emu):
    with hostile_server(emu) as server:
        serve(server, lambda n: page_url(server, (n + 1) % 2))  # 0 -> 1 -> 0
        client = azure(server)
        with pytest.raises(AzureRequestFailed) as caught:
            client.instances(ref(emu))
        asked = [s for s in server.seen if listing(s)]
        unknown = client.instances_or_unknown(ref(emu))
    err = caught.value
    assert (
        err.message
        == "listing the instances of web: the answer's next page is one already read (a loop); stopped"
    )
    assert err.code == "NextLinkLoop"
    assert (
        len(asked) == 3
    )  # the first page (no page= in its URL), page 1, page 0: then page 1 again is refused
    assert unknown == Unknown("instances", "listing stopped: NextLinkLoop")


def test_a_listing_stops_at_max_pages(emu, monkeypatch):
    monkeypatch.setattr(client_module, "MAX_PAGES", 4)
    with hostile_server(emu) as server:
        serve(server, lambda n: page_url(server, n + 1), 4)
        assert azure(server).instances_reading(ref(emu)).pages == 4  # exactly the most: read
        server.seen.clear()
        serve(server, lambda n: page_url(server, n + 1))  # endless
        with pytest.raises(AzureRequestFailed) as caught:
            azure(server).instances(ref(emu))
        asked = [s for s in server.seen if listing(s)]
    assert caught.value.message == "listing the instances of web: more than 4 pages; stopped"
    assert caught.value.code == "TooManyPages" and len(asked) == 4


def test_an_empty_or_missing_value_is_no_instances(emu):
    with hostile_server(emu) as server:

        def rule(seen: Seen, answer: Any) -> bool:
            if listing(seen):
                answer.send(200, {"value": None, "nextLink": ""})
                return True
            return False

        server.rule = rule
        reading = azure(server).instances_reading(ref(emu))
    assert (reading.value, reading.pages, reading.rate_limits) == ([], 1, {})


# A supplementary read ------------------------------------------------------------------------------------


def test_a_failed_listing_is_unknown_with_its_reason_and_said_on_the_log(emu, caplog):
    emu.faults.add(
        kind="status", status=403, method="GET", path_regex="/virtualMachines$", code="AuthorizationFailed"
    )
    with caplog.at_level(logging.INFO, logger="vmssroll.adapter"):
        unknown = azure(emu).instances_or_unknown(ref(emu))
    emu.faults.clear()
    assert unknown == Unknown("instances", "listing refused: 403 AuthorizationFailed")
    [said] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("could not list")]
    assert said.startswith(
        "could not list the instances of web: listing the instances of web: not authorised (AuthorizationFailed: "
    )


def test_a_passing_failure_is_raised_for_a_caller_that_retries_on_its_own(emu):
    emu.faults.add(kind="status", status=429, retry_after=600, method="GET", path_regex="/virtualMachines$")
    client = azure(emu)
    assert client.instances_or_unknown(ref(emu)) == Unknown(
        "instances", "listing throttled: 429 TooManyRequests"
    )
    with pytest.raises(AzureRequestFailed) as caught:
        client.instances_or_unknown(ref(emu), transient=False)
    emu.faults.clear()
    assert caught.value.status == 429
    emu.faults.add(kind="status", status=400, method="GET", path_regex="/virtualMachines$", code="BadRequest")
    assert client.instances_or_unknown(ref(emu), transient=False) == Unknown(
        "instances", "listing refused: 400 BadRequest"
    )
    emu.faults.clear()


def test_a_missing_scale_set_is_unknown_as_refused_but_raised_by_instances(emu):
    client = azure(emu)
    assert client.instances_or_unknown(ref(emu, "gone")) == Unknown(
        "instances", "listing refused: 404 ResourceNotFound"
    )
    with pytest.raises(NotFound):
        client.instances(ref(emu, "gone"))
