"""Raw HTTP: authentication, common headers, the control API, faults."""

from __future__ import annotations

import http.client
import json
import ssl
import time
from typing import Any

import pytest

from vmssroll.emulator import Emulator


def request(
    emu: Emulator,
    method: str,
    path: str,
    body: Any = None,
    auth: bool = True,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    ctx = ssl.create_default_context(cafile=emu.ca_path)
    conn = http.client.HTTPSConnection("127.0.0.1", emu.port, context=ctx, timeout=5)
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    if auth:
        hdrs["Authorization"] = "Bearer secret-token-value"
    conn.request(method, path, body=None if body is None else json.dumps(body), headers=hdrs)
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, json.loads(raw) if raw else None


def vmss_path(emu: Emulator, suffix: str = "") -> str:
    sub = emu.subscription_id
    return (
        f"/subscriptions/{sub}/resourceGroups/rg-demo/providers/Microsoft.Compute/virtualMachineScaleSets/web"
        f"{suffix}?api-version=2026-04-01"
    )


def test_missing_authorization_is_refused(live: Emulator) -> None:
    status, headers, body = request(live, "GET", vmss_path(live), auth=False)
    assert status == 401
    assert body == {"error": {"code": "AuthenticationFailed",
                              "message": "Authentication failed. The 'Authorization' header is missing."}}  # fmt: skip
    assert headers["x-ms-request-id"]


def test_common_headers_and_the_token_is_never_logged(live: Emulator) -> None:
    status, headers, body = request(live, "GET", vmss_path(live))
    assert status == 200 and headers["etag"] == '"1"' and body["etag"] == '"1"'
    assert int(headers["x-ms-ratelimit-remaining-subscription-reads"]) < 12000
    assert "secret-token-value" not in json.dumps([r.as_json() for r in live.requests])
    status, _, log = request(live, "GET", "/_emulator/requests")
    assert status == 200 and "secret-token-value" not in json.dumps(log)
    assert log[0]["method"] == "GET" and log[0]["status"] == 200 and log[0]["sim_time"].endswith("Z")


def test_unknown_route_and_other_reads(live: Emulator) -> None:
    sub = live.subscription_id
    status, _, body = request(live, "GET", f"/subscriptions/{sub}/nothing/here?api-version=1")
    assert status == 404 and body["error"]["code"]
    status, _, body = request(live, "GET", f"/subscriptions/{sub}/resourceGroups/rg-demo?api-version=1")
    assert status == 200 and body["name"] == "rg-demo"
    path = f"/subscriptions/{sub}/providers/Microsoft.Features/providers/Microsoft.Compute/features/MaxSurgeRollingUpgrade"
    status, _, body = request(live, "GET", path + "?api-version=2021-07-01")
    assert (
        body["name"] == "Microsoft.Compute/MaxSurgeRollingUpgrade"
        and body["properties"]["state"] == "Registered"
    )
    live.load_scenario("uniform-probe")
    lb = f"/subscriptions/{sub}/resourceGroups/rg-demo/providers/Microsoft.Network/loadBalancers/lb-web?api-version=1"
    status, _, body = request(live, "GET", lb)
    assert body["properties"]["probes"][0]["properties"]["requestPath"] == "/health"
    status, _, body = request(live, "GET", lb.replace("lb-web", "lb-nope"))
    assert status == 404 and body["error"]["code"] == "ResourceNotFound"


def test_if_match_on_put_and_patch(live: Emulator) -> None:
    status, _, body = request(
        live, "PATCH", vmss_path(live), {"tags": {"a": "b"}}, headers={"If-Match": '"9"'}
    )
    assert status == 412 and body["error"]["code"] == "PreconditionFailed"
    status, headers, _ = request(live, "PATCH", vmss_path(live), {}, headers={"If-Match": '"1"'})
    assert status == 200 and headers["etag"] == '"2"' and "/operations/" in headers["azure-asyncoperation"]


def test_control_api(live: Emulator) -> None:
    assert request(live, "GET", "/_emulator/clock")[2] == {"now": "2026-01-01T00:00:00.000Z"}
    assert (
        request(live, "POST", "/_emulator/clock/advance", {"seconds": 90})[2]["now"]
        == "2026-01-01T00:01:30.000Z"
    )
    status, _, rule = request(
        live, "POST", "/_emulator/faults", {"kind": "status", "status": 500, "count": 1}
    )
    assert status == 201 and rule["count"] == 1
    assert request(live, "GET", vmss_path(live))[0] == 500
    assert request(live, "GET", vmss_path(live))[0] == 200
    request(live, "POST", "/_emulator/faults", {"kind": "status", "status": 403})
    status, _, body = request(live, "GET", vmss_path(live))
    assert status == 403 and body["error"]["code"] == "AuthorizationFailed"
    request(live, "DELETE", "/_emulator/faults")
    state = request(live, "GET", "/_emulator/state/rg-demo/web")[2]
    assert state["properties"]["virtualMachineProfile"]["osProfile"]["adminPassword"]
    assert request(live, "DELETE", "/_emulator/requests")[0] == 200
    assert request(live, "GET", "/_emulator/requests")[2] == []
    status, _, body = request(live, "POST", "/_emulator/scenario", {"name": "flexible-extension"})
    assert status == 200 and live.vms("rg-flex", "flex")
    status, _, body = request(live, "POST", "/_emulator/scenario", {"scale_sets": [{"name": "x"}]})
    assert status == 400 and "scale_sets[0].resource_group" in body["error"]["message"]


def test_drop_and_slow_faults(live: Emulator) -> None:
    live.faults.add(kind="drop", path_regex="/web$", count=1)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        request(live, "GET", vmss_path(live))
    assert live.requests[-1].status == 0
    live.faults.add(kind="slow", delay=0.05, count=1)
    started = time.monotonic()
    assert request(live, "GET", vmss_path(live))[0] == 200
    assert time.monotonic() - started >= 0.05


def test_probability_faults_are_reproducible(live: Emulator) -> None:
    def run() -> list[int]:
        live.faults.clear()
        live.faults.add(kind="status", status=503, probability=0.5, seed=7)
        return [request(live, "GET", vmss_path(live))[0] for _ in range(12)]

    first = run()
    assert first == run() and set(first) == {200, 503}


def test_throttling_headers(live: Emulator) -> None:
    live.faults.add(kind="status", status=429, retry_after=2, count=1)
    status, headers, body = request(live, "GET", vmss_path(live))
    assert status == 429 and body["error"]["code"] == "TooManyRequests"
    assert headers["retry-after"] == "2" and headers["x-ms-ratelimit-remaining-subscription-reads"] == "0"
