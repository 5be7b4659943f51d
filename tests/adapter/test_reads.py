"""The adapter's reads of a scale set, its latest upgrade and its instances: the requests sent (a Flexible
scale set's members listed through the VM API, straight away once its model is known), Azure's clock and
read budgets from the answers, and answers that cannot be read named by what was read. The real SDK against
the emulator (tests/hostile/server.py for answers the emulator never gives)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import azure, ref
from tests.hostile.server import Seen, hostile_server
from vmssroll.adapter.client import Azure
from vmssroll.adapter.connection import resolve_connection
from vmssroll.domain.errors import AzureRequestFailed, NotFound

IMAGE = ("Canonical", "ubuntu-24_04-lts", "server")


def asked(emu: Any) -> list[str]:
    return [r.path.split("/providers/Microsoft.Compute/")[-1] for r in emu.requests]


@pytest.fixture
def flex(emu: Any) -> Any:
    emu.load_scenario("flexible-extension")
    return emu


def test_a_flexible_scale_sets_members_are_listed_through_the_vm_api_once_its_model_is_known(flex):
    client = azure(flex)
    target = ref(flex, "flex", "rg-flex")
    client.scale_set(target)
    flex.clear_requests()
    members = client.instances(target)
    assert members and all(m.name for m in members)
    assert asked(flex) == ["virtualMachines"]  # no scale-set VM API first: the model says Flexible
    [listing] = flex.requests
    assert listing.query["$filter"] == f"'virtualMachineScaleSet/id' eq '{target.id}'"
    assert listing.query["$expand"] == "instanceView"


def test_a_flexible_scale_set_not_read_yet_is_tried_as_uniform_then_read(flex):
    client = azure(flex)
    target = ref(flex, "flex", "rg-flex")
    flex.clear_requests()
    reading = client.instances_reading(target)
    assert asked(flex) == [
        "virtualMachineScaleSets/flex/virtualMachines",
        "virtualMachineScaleSets/flex",
        "virtualMachines",
    ]
    assert [r.status for r in flex.requests] == [400, 200, 200]
    assert len(reading.value) == len(flex.vms("rg-flex", "flex")) and reading.pages == 1
    flex.clear_requests()
    client.instances(target)
    assert asked(flex) == ["virtualMachines"]  # known Flexible from now on


def test_a_uniform_listing_refused_otherwise_is_raised(emu):
    emu.faults.add(kind="status", status=400, method="GET", path_regex="/virtualMachines$", code="BadRequest")
    with pytest.raises(AzureRequestFailed) as caught:
        azure(emu).instances(ref(emu))
    emu.faults.clear()
    assert caught.value.message.startswith("listing the instances of web: BadRequest")
    assert [r.path.rsplit("/", 1)[-1] for r in emu.requests] == ["virtualMachines"]  # not taken for Flexible


def test_the_latest_upgrade_comes_with_azures_clock_and_read_budget(emu):
    emu.load_scenario("automatic-os")
    client = azure(emu)
    emu.publish_image(*IMAGE, "1.0.1")
    client.start(ref(emu), "os")
    emu.clock.advance(42)
    reading = client.latest_reading(ref(emu))
    assert reading.value is not None and reading.value.running
    assert reading.server_time == emu.clock.now()
    assert reading.rate_limits and all(isinstance(v, int) for v in reading.rate_limits.values())


def test_a_latest_upgrade_answer_that_is_not_an_object_names_what_was_read(emu):
    with hostile_server(emu) as server:

        def rule(seen: Seen, answer: Any) -> bool:
            if seen.path.split("?")[0].endswith("/rollingUpgrades/latest"):
                answer.send(200, [{"properties": {}}])
                return True
            return False

        server.rule = rule
        conn = resolve_connection(
            cloud="AzureCloud",
            endpoint=server.url,
            ca_bundle=server.ca_path,
            subscription=emu.subscription_id,
        )
        with pytest.raises(AzureRequestFailed) as caught:
            Azure(conn, lro_interval=0).latest_upgrade(ref(emu))
    assert caught.value.message == (
        "reading the latest rolling upgrade of web: Azure's answer could not be read "
        "(a list where an object was expected)"
    )


def test_a_latest_upgrade_of_a_missing_group_is_not_found(emu):
    with pytest.raises(NotFound) as caught:
        azure(emu).latest_upgrade(ref(emu, rg="rg-gone"))
    assert caught.value.code == "ResourceGroupNotFound"


def test_every_scale_set_of_the_subscription_is_listed(emu):
    emu.load_scenario("fleet")
    sub = "3f2a8c1e-5b7d-4e9a-8c21-7d4b6e0f1a01"  # prod-americas, one of the fleet's three
    conn = resolve_connection(cloud="AzureCloud", endpoint=emu.url, ca_bundle=emu.ca_path, subscription=sub)
    reading = Azure(conn, lro_interval=0).list_all()
    stored = sorted((k[1], k[2]) for k in emu.world.scale_sets if k[0] == sub)
    assert len(stored) > 1
    assert sorted((s.resource_group.lower(), s.name.lower()) for s in reading.value) == stored
    [listing] = emu.requests
    assert listing.path == f"/subscriptions/{sub}/providers/Microsoft.Compute/virtualMachineScaleSets"
    assert listing.query["api-version"] == "2026-04-01"
    assert reading.server_time == emu.clock.now() and reading.pages == 1
