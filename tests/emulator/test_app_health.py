"""The application's own health (`app_broken_by`): a release that passes the VMs' health probe and still
breaks the application, served as a health endpoint a rollout's gate can read."""

from __future__ import annotations

from tests.emulator.emu_helpers import Sim, rolling
from tests.emulator.test_http import request


def test_a_broken_version_fails_the_application_in_proportion_and_not_the_probe(sim: Sim) -> None:
    assert sim.emu.app_health("rg-demo", "web") == {
        "healthy": True,
        "errorRate": 0,
        "message": "ok: 10 serving instance(s), no errors",
    }
    assert sim.patch(rolling("3.1.0", maxBatchInstancePercent=20)).status == 200
    sim.advance(20)  # the first batch of 2 is updated and serving again
    while sim.busy():
        sim.advance(5)
    found = sim.emu.app_health("rg-demo", "web")
    on = sum(
        1
        for v in sim.vms().values()
        if v["profile"]["storageProfile"]["imageReference"]["version"] == "3.1.0"
    )
    assert on >= 2 and found["healthy"] is False
    assert found["errorRate"] == round(100 * on / 10)
    assert found["message"].startswith(
        f"{found['errorRate']}% of requests fail: {on} of 10 serving instance(s)"
    )
    assert all(v["health"] == "healthy" for v in sim.vms().values())  # the VMs' health probe sees nothing


def test_updating_instances_serve_no_traffic(sim: Sim) -> None:
    sim.patch(rolling("3.1.0", maxBatchInstancePercent=20))
    assert sim.busy()
    assert sim.emu.app_health("rg-demo", "web")["message"] == "ok: 8 serving instance(s), no errors"


def test_the_health_endpoint_answers_200_or_503_and_can_be_changed(live) -> None:
    status, _, body = request(live, "GET", "/_emulator/app/rg-demo/web")
    assert status == 200 and body["healthy"] is True
    change = {"resource_group": "rg-demo", "name": "web", "image_version": "1.0.0", "broken": True}
    assert request(live, "POST", "/_emulator/app", change)[0] == 200
    status, _, body = request(live, "GET", "/_emulator/app/rg-demo/web")
    assert status == 503 and body["errorRate"] == 100 and "run 1.0.0" in body["message"]
    assert request(live, "POST", "/_emulator/app", change | {"broken": False})[0] == 200
    assert request(live, "GET", "/_emulator/app/rg-demo/web")[0] == 200
    assert request(live, "GET", "/_emulator/app/rg-demo/nope")[0] == 404
    assert request(live, "POST", "/_emulator/app", {"name": "web"})[0] == 400


def test_scenarios_declare_broken_versions(sim: Sim) -> None:
    sim.load({"resource_groups": [{"name": "rg", "location": "westeurope"}],
              "scale_sets": [{"name": "s", "resource_group": "rg", "capacity": 2, "app_broken_by": ["9.9"],
                              "image": {"publisher": "p", "offer": "o", "sku": "s", "version": "9.9"}}]})  # fmt: skip
    assert sim.emu.app_health("rg", "s")["errorRate"] == 100
