"""Several subscriptions in one scenario: each holds its own resource groups and scale sets, `list_all` lists
one subscription's sets (paged), reads are counted per subscription, and the `fleet` scenario."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError

from tests.emulator.emu_helpers import Credential, make_client
from tests.emulator.test_http import request
from vmssroll.emulator import Emulator
from vmssroll.emulator.scenarios import ScenarioError, load

SUB1 = "11111111-1111-1111-1111-111111111111"
SUB2 = "22222222-2222-2222-2222-222222222222"
SUB3 = "33333333-3333-3333-3333-333333333333"


def two_subscriptions() -> dict[str, Any]:
    """The same resource group and set name in two subscriptions, and a group only the second holds."""
    return {
        "subscriptions": [SUB1, SUB2],
        "resource_groups": [
            {"name": "rg-web", "location": "eastus"},
            {"name": "rg-web", "subscription": SUB2, "location": "westeurope"},
            {"name": "rg-two", "subscription": SUB2},
        ],
        "scale_sets": [
            {"name": "web", "resource_group": "rg-web", "capacity": 2, "tags": {"n": "1"}},
            {
                "name": "web",
                "resource_group": "rg-web",
                "subscription": SUB2,
                "capacity": 3,
                "tags": {"n": "2"},
            },
            {"name": f"b{0}", "resource_group": "rg-two", "subscription": SUB2, "capacity": 1},
            *(
                {"name": f"a{n}", "resource_group": "rg-two", "subscription": SUB2, "capacity": 1}
                for n in range(4)
            ),
        ],
    }


def client_for(emu: Emulator, subscription: str) -> Any:
    from azure.mgmt.compute import ComputeManagementClient

    return ComputeManagementClient(
        Credential(), subscription, base_url=emu.url, connection_verify=emu.ca_path, retry_total=0
    )


def test_each_subscription_holds_its_own_sets(served: Emulator) -> None:
    served.load_scenario(two_subscriptions())
    assert served.subscription_id == SUB1 and served.subscription_ids == [SUB1, SUB2]
    one, two = client_for(served, SUB1), client_for(served, SUB2)
    first, second = (
        one.virtual_machine_scale_sets.get("rg-web", "web"),
        two.virtual_machine_scale_sets.get("rg-web", "web"),
    )
    assert (first.location, first.sku.capacity, first.tags) == ("eastus", 2, {"n": "1"})
    assert (second.location, second.sku.capacity, second.tags) == ("westeurope", 3, {"n": "2"})
    assert first.id.startswith(f"/subscriptions/{SUB1}/") and second.id.startswith(f"/subscriptions/{SUB2}/")
    with pytest.raises(ResourceNotFoundError):
        one.virtual_machine_scale_sets.get("rg-two", "a0")  # the group is the second subscription's
    # a write in one subscription leaves the other's same-named set alone
    one.virtual_machine_scale_sets.begin_update("rg-web", "web", {"tags": {"n": "changed"}}).result()
    assert two.virtual_machine_scale_sets.get("rg-web", "web").tags == {"n": "2"}
    assert served.vmss("rg-web", "web", SUB2)["tags"] == {"n": "2"}
    with pytest.raises(KeyError):
        served.vmss("rg-web", "web")  # in two subscriptions: which one must be said


def test_list_all_lists_one_subscription_paged(served: Emulator) -> None:
    served.load_scenario(two_subscriptions())
    served.clear_requests()
    listed = [s.id for s in client_for(served, SUB2).virtual_machine_scale_sets.list_all()]
    assert sorted(s.rsplit("/", 1)[-1] for s in listed) == ["a0", "a1", "a2", "a3", "b0", "web"]
    assert all(s.startswith(f"/subscriptions/{SUB2}/") for s in listed)
    pages = [r for r in served.requests if r.path.endswith("/virtualMachineScaleSets")]
    assert len(pages) == 2  # six sets at three a page (the served emulator's page size)
    assert [s.name for s in client_for(served, SUB1).virtual_machine_scale_sets.list_all()] == ["web"]
    with pytest.raises(ResourceNotFoundError) as caught:
        list(client_for(served, SUB3).virtual_machine_scale_sets.list_all())
    assert caught.value.error is not None and caught.value.error.code == "SubscriptionNotFound"


def test_reads_are_counted_per_subscription(served: Emulator) -> None:
    served.load_scenario(two_subscriptions())
    remaining: dict[str, list[int]] = {SUB1: [], SUB2: []}

    def keep(response: Any) -> None:
        sub = response.http_request.url.split("/subscriptions/")[1].split("/")[0]
        remaining[sub].append(
            int(response.http_response.headers["x-ms-ratelimit-remaining-subscription-reads"])
        )

    for sub in (SUB1, SUB2, SUB1, SUB2, SUB1):
        client_for(served, sub).virtual_machine_scale_sets.get("rg-web", "web", raw_response_hook=keep)
    assert remaining[SUB1][0] - remaining[SUB1][-1] == 2 and remaining[SUB2][0] - remaining[SUB2][-1] == 1


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (
            lambda s: s.update(subscription=SUB1),
            "subscriptions: give subscription or subscriptions, not both",
        ),
        (lambda s: s.update(subscriptions=[]), "subscriptions: must list at least one subscription"),
        (lambda s: s.update(subscriptions=[SUB1, SUB1.upper()]), "subscriptions[1]: is empty or named twice"),
        (lambda s: s["scale_sets"][0].update(subscription=SUB3), "scale_sets[0].subscription"),
        (lambda s: s["resource_groups"][1].update(subscription=SUB3), "resource_groups[1].subscription"),
        (lambda s: s["scale_sets"][0].update(resource_group="rg-two"), "scale_sets[0].resource_group"),
    ],
)
def test_bad_subscriptions_are_named(change: Any, where: str) -> None:
    scenario = two_subscriptions()
    change(scenario)
    with pytest.raises(ScenarioError) as caught:
        load(scenario)
    assert str(caught.value).startswith(where)


def test_one_subscription_as_before(served: Emulator) -> None:
    served.load_scenario("demo")
    assert served.subscription_ids == [served.subscription_id]
    assert [s.name for s in make_client(served).virtual_machine_scale_sets.list_all()] == ["web"]


def test_the_fleet_scenario(served: Emulator) -> None:
    served.load_scenario("fleet")
    sets = [
        s
        for sub in served.subscription_ids
        for s in client_for(served, sub).virtual_machine_scale_sets.list_all()
    ]
    assert len(sets) == 40 and len(served.subscription_ids) == 3
    assert len({s.location for s in sets}) == 5
    assert Counter(s.tags["app"] for s in sets) == {"web": 32, "api": 8}
    assert {s.upgrade_policy.mode for s in sets} == {"Rolling"}
    assert all(
        any(
            e.properties.type == "ApplicationHealthLinux"
            for e in s.virtual_machine_profile.extension_profile.extensions
        )
        for s in sets
    )
    # the bad release: 3.1.0 breaks one application (and no other), which the fleet-wide check reports
    assert request(served, "GET", "/_emulator/app")[0] == 200
    bad = next(s for s in sets if s.name == "web-westeurope-03")
    sub = bad.id.split("/")[2]
    new = {"id": image_id(bad, "3.1.0")}
    for name in ("web-westeurope-03", "web-westeurope-01"):  # Rolling: a model change rolls by itself
        client_for(served, sub).virtual_machine_scale_sets.begin_update(
            "rg-web-westeurope",
            name,
            {"properties": {"virtualMachineProfile": {"storageProfile": {"imageReference": new}}}},
            polling=False,
        )
    served.clock.advance(600)
    status, _, body = request(served, "GET", "/_emulator/app")
    assert status == 503 and [b["name"] for b in body["broken"]] == ["web-westeurope-03"]
    assert body["message"].startswith("1 of 40 application(s) failing: rg-web-westeurope/web-westeurope-03")
    assert request(served, "GET", f"/_emulator/app/{sub}/rg-web-westeurope/web-westeurope-03")[0] == 503
    assert request(served, "GET", f"/_emulator/app/{sub}/rg-web-westeurope/web-westeurope-01")[0] == 200


def image_id(scale_set: Any, version: str) -> str:
    current = scale_set.virtual_machine_profile.storage_profile.image_reference.id
    return current.rsplit("/", 1)[0] + "/" + version


def test_serve_names_each_sets_subscription() -> None:
    from vmssroll.emulator.foreground import describe

    lines = describe(load("fleet"))
    expected = "  -g rg-web-westeurope -n web-westeurope-03 -s 8b4e2d90-1c3f-4a6b-9e72-5f0d3c8a2b02  ("
    assert any(line.startswith(expected) for line in lines)
    assert sum(" -s " in line for line in lines) == 40
    assert not any(" -s " in line for line in describe(load("demo")))
