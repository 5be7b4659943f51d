"""The 1,000-instance scenario: every instance listed once, pages of the configured size.

Raw HTTP (one kept-alive connection) rather than the SDK, whose model deserialization of 1,000 VMs costs
about a second of client time; SDK paging itself is covered in test_sdk.py.
"""

from __future__ import annotations

import http.client
import json
import ssl
from urllib.parse import urlsplit

from tests.emulator.emu_helpers import START
from vmssroll.emulator import Emulator, ManualClock


def test_thousand_instances_are_listed_with_correct_paging() -> None:
    with Emulator(clock=ManualClock(start=START), scenario="large", page_size=100) as emu:
        conn = http.client.HTTPSConnection(
            "127.0.0.1", emu.port, context=ssl.create_default_context(cafile=emu.ca_path), timeout=10
        )
        base = f"/subscriptions/{emu.subscription_id}/resourceGroups/rg-large/providers/Microsoft.Compute"
        url: str | None = (
            f"{base}/virtualMachineScaleSets/fleet/virtualMachines?api-version=2026-04-01&$expand=instanceView"
        )
        vms = []
        while url:
            conn.request("GET", url, headers={"Authorization": "Bearer t"})
            resp = conn.getresponse()
            body = json.loads(resp.read())
            assert resp.status == 200 and len(body["value"]) <= 100
            vms += body["value"]
            next_link = body.get("nextLink")
            url = None
            if next_link:
                parts = urlsplit(next_link)
                assert f"{parts.scheme}://{parts.netloc}" == emu.url
                url = f"{parts.path}?{parts.query}"
        conn.close()
        assert [v["instanceId"] for v in vms] == [str(i) for i in range(1000)]
        assert {v["zones"][0] for v in vms} == {"1", "2", "3"}
        assert all(
            v["properties"]["instanceView"]["vmHealth"]["status"]["code"] == "HealthState/healthy"
            for v in vms
        )
        pages = [r for r in emu.requests if r.path.endswith("/virtualMachines")]
        assert [r.query.get("$skiptoken") for r in pages] == [None, *[str(n * 100) for n in range(1, 10)]]
        assert all(r.query.get("$expand") == "instanceView" for r in pages)
