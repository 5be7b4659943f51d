"""Fleets, the pure part: the fleet file read with every problem at once, which sets are targets, which wave
each goes to, and where a set stands from its rollout record."""

from __future__ import annotations

from typing import Any

import pytest

from vmssroll.documents import parse_yaml
from vmssroll.domain.fleet import (
    Change,
    FleetInvalid,
    Member,
    SetState,
    Targets,
    assign,
    matches,
    missing_ids,
    parse_fleet,
    record_id,
    standing_from_tags,
    standing_of,
    unassigned,
)
from vmssroll.domain.progressive import Kind, Phase, Record

SUB1 = "11111111-1111-1111-1111-111111111111"
SUB2 = "22222222-2222-2222-2222-222222222222"
SUB3 = "33333333-3333-3333-3333-333333333333"

GOOD = f"""
name: web-3.1
change:
  image_version: 3.1.0
targets:
  subscriptions: [{SUB1}, {SUB2.upper()}]
  resource_groups: [rg-web-*]
  names: [web-*]
  tags: {{app: web}}
waves:
  - name: canary
    select: {{regions: [westus2]}}
    max_parallel: 1
    bake: 10m
  - name: ring1
    select: {{regions: [eastus, West Europe]}}
    max_parallel: 3
  - name: rest
    max_parallel: 10
gates: ["curl -fsS http://example.invalid/health"]
gate_interval: 30s
gate_failures: 2
stop:
  max_faulted: 1
  undo: wave
"""


def doc(**changes: Any) -> dict[str, Any]:
    base = parse_yaml(GOOD)
    for key, value in changes.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return base


def problems(document: Any) -> list[str]:
    with pytest.raises(FleetInvalid) as caught:
        parse_fleet(document)
    return caught.value.problems_text


def member(
    name: str, location: str = "westus2", sub: str = SUB1, rg: str = "rg-web-1", **tags: str
) -> Member:
    return Member(sub, rg, name, location, tags or {"app": "web"}, 5, "Rolling", "Uniform")


def test_a_good_file_reads_whole() -> None:
    fleet = parse_fleet(doc())
    assert fleet.name == "web-3.1"
    assert fleet.change == Change(Kind.IMAGE, image_version="3.1.0")
    assert fleet.targets.subscriptions == (SUB1, SUB2)  # lowercased
    assert fleet.targets.tags == {"app": "web"}
    assert [w.name for w in fleet.waves] == ["canary", "ring1", "rest"]
    assert fleet.waves[0].bake == 600 and fleet.waves[0].max_parallel == 1
    assert fleet.waves[1].select is not None and fleet.waves[1].select.regions == ("eastus", "West Europe")
    assert fleet.waves[2].select is None and fleet.waves[2].max_parallel == 10
    assert fleet.gates == ("curl -fsS http://example.invalid/health",)
    assert (fleet.gate_interval, fleet.gate_failures) == (30, 2)
    assert (fleet.stop.max_faulted, fleet.stop.undo) == (1, "wave")
    assert fleet.record_id == "fleet:web-3.1" == record_id("web-3.1")


def test_defaults() -> None:
    fleet = parse_fleet(
        {
            "name": "f",
            "change": {"os_upgrade": True},
            "targets": {"subscriptions": [SUB1]},
            "waves": [{"name": "w"}],
        }
    )
    assert fleet.change.kind is Kind.OS
    assert fleet.waves[0].max_parallel == 1 and fleet.waves[0].bake == 0 and fleet.waves[0].select is None
    assert (fleet.gates, fleet.gate_interval, fleet.gate_failures) == ((), 30, 3)
    assert (fleet.stop.max_faulted, fleet.stop.undo) == (0, "none")


def test_every_problem_at_once() -> None:
    found = problems(
        doc(
            name="bad name!",
            colour="blue",
            change={"image_version": "3.1.0", "os_upgrade": True},
            targets={"subscriptions": ["not-a-guid"], "tags": {"tier": 1}},
            waves=[
                {"name": "a", "select": {"names": ["x"]}, "max_parallel": 0, "bake": "soon"},
                {"name": "a", "extra": 1},
            ],
            gate_failures=0,
            stop={"undo": "everything"},
        )
    )
    text = "\n".join(found)
    for expected in (
        "fleet file name: 'bad name!' is not a fleet name",
        "fleet file: unknown key 'colour'",
        "fleet file change: give exactly one of image_version, image_id, os_upgrade, extensions (found "
        "image_version, os_upgrade)",
        "fleet file targets.subscriptions[0]: 'not-a-guid' is not a subscription id",
        "fleet file targets.tags.tier: 1 is not text",
        "fleet file waves[0].max_parallel: 0 is not a whole number from 1 to 100",
        "fleet file waves[0].bake: 'soon' is not a duration",
        "fleet file waves[1]: unknown key 'extra'",
        "fleet file waves[1].name: 'a' is also the name of waves[0]",
        "fleet file gate_failures: 0 is not a whole number from 1 to 1000",
        "fleet file stop.undo: 'everything' is not one of none, wave",
    ):
        assert expected in text, expected
    assert all(line.startswith("fleet file") for line in found)
    assert len(found) == 11


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"name": None}, "fleet file: name is required"),
        ({"change": None}, "fleet file: change is required"),
        ({"targets": None}, "fleet file: targets is required"),
        ({"waves": None}, "fleet file: waves is required"),
        ({"waves": []}, "fleet file waves: waves is required: a list of at least one wave"),
        ({"change": {"image_version": 3.1}}, "fleet file change.image_version: 3.1 is not text"),
        ({"change": {"image_version": "3 1"}}, "fleet file change.image_version: '3 1' is not an image version"),
        ({"change": {"image_id": "/nope"}}, "fleet file change.image_id: '/nope' is not the resource id"),
        ({"change": {"extensions": False}}, "fleet file change.extensions: False: the only value is true"),
        ({"change": "3.1.0"}, "fleet file change: must be an object"),
        ({"targets": {"names": ["web-*"]}}, "fleet file targets: subscriptions is required (unless ids"),
        ({"targets": {"subscriptions": []}}, "fleet file targets.subscriptions: is empty"),
        ({"targets": {"subscriptions": [SUB1], "ids": ["/x"]}}, "fleet file targets.ids[0]: '/x' is not a scale"),
        ({"waves": [{"name": "all"}, {"name": "late", "select": {"regions": ["eastus"]}}]},
         "fleet file waves[1]: comes after wave 'all', which has no select"),
        ({"waves": [{"name": "w", "select": {"zones": [1]}}]}, "fleet file waves[0].select: unknown key 'zones'"),
        ({"waves": ["canary"]}, "fleet file waves[0]: must be an object"),
        ({"gates": [""]}, "fleet file gates[0]: '' is not a non-empty line of text"),
        ({"gate_interval": "0s"}, "fleet file gate_interval: must be at least 1 second"),
        ({"stop": {"max_faulted": -1}}, "fleet file stop.max_faulted: -1 is not a whole number"),
        ({"change": {"extensions": True}}, "fleet file stop.undo: wave: undo puts the previous image back"),
    ],
)  # fmt: skip
def test_each_problem_named(changes: dict[str, Any], expected: str) -> None:
    found = problems(doc(**changes))
    assert any(line.startswith(expected) for line in found), found


def test_the_top_level_must_be_an_object() -> None:
    assert problems(["name"]) == [
        "fleet file: the top level must be an object (name, change, targets, waves, ...)"
    ]


def test_ids_alone_name_the_subscriptions() -> None:
    ids = [
        f"/subscriptions/{SUB2}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/a",
        f"/subscriptions/{SUB1}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/b",
    ]
    fleet = parse_fleet(doc(targets={"ids": ids}))
    assert fleet.targets.subscriptions == (SUB2, SUB1)
    found = problems(doc(targets={"subscriptions": [SUB1], "ids": ids}))
    assert found == [
        f"fleet file targets.ids[0]: is in subscription {SUB2}, which targets.subscriptions lacks"
    ]


def test_matches_every_filter() -> None:
    targets = parse_fleet(doc()).targets
    assert matches(targets, member("web-1"))
    assert matches(targets, member("WEB-1", rg="RG-Web-9", sub=SUB2))  # case-insensitive
    assert not matches(targets, member("api-1"))
    assert not matches(targets, member("web-1", rg="rg-api"))
    assert not matches(targets, member("web-1", sub=SUB3))
    assert not matches(targets, member("web-1", app="api"))
    assert matches(targets, member("web-1", APP="web", tier="1"))  # tag names compare case-insensitively
    assert not matches(targets, member("web-1", app="Web"))  # values exactly
    by_id = Targets((SUB1,), ids=(member("web-2").id.upper(),))
    assert matches(by_id, member("web-2")) and not matches(by_id, member("web-1"))


def test_assign_takes_the_first_matching_wave_in_order() -> None:
    fleet = parse_fleet(doc())
    members = [
        member("web-3", "eastus"),
        member("web-1", "westus2"),
        member("web-2", "West Europe"),
        member("web-4", "westeurope", sub=SUB2),
        member("web-5", "japaneast"),
        member("api-1", "westus2"),  # not a target
        member("web-1", "westus2"),  # listed twice
    ]
    plans = assign(fleet, members)
    assert [(p.wave.name, [m.name for m in p.members]) for p in plans] == [
        ("canary", ["web-1"]),
        ("ring1", ["web-2", "web-3", "web-4"]),
        ("rest", ["web-5"]),
    ]
    assert unassigned(fleet, members) == ()


def test_targets_in_no_wave_are_reported() -> None:
    fleet = parse_fleet(doc(waves=[{"name": "canary", "select": {"regions": ["westus2"]}}]))
    members = [member("web-1", "westus2"), member("web-2", "eastus"), member("api-1", "eastus")]
    assert [m.name for p in assign(fleet, members) for m in p.members] == ["web-1"]
    assert [m.name for m in unassigned(fleet, members)] == ["web-2"]


def test_a_wave_may_select_by_group_name_and_tag() -> None:
    fleet = parse_fleet(
        doc(
            waves=[
                {"name": "g", "select": {"resource_groups": ["rg-web-2"]}},
                {"name": "n", "select": {"names": ["*-canary"]}},
                {"name": "t", "select": {"tags": {"ring": "0"}}},
                {"name": "rest"},
            ]
        )
    )
    members = [
        member("web-a", rg="rg-web-2"),
        member("web-canary"),
        member("web-t", app="web", ring="0"),
        member("web-z"),
    ]
    assert [[m.name for m in p.members] for p in assign(fleet, members)] == [
        ["web-a"],
        ["web-canary"],
        ["web-t"],
        ["web-z"],
    ]


def test_missing_ids() -> None:
    present = member("web-1")
    gone = (
        f"/subscriptions/{SUB1}/resourceGroups/rg-web-1/providers/Microsoft.Compute/virtualMachineScaleSets/x"
    )
    fleet = parse_fleet(doc(targets={"ids": [present.id.lower(), gone]}))
    assert missing_ids(fleet, [present]) == (gone,)


@pytest.mark.parametrize(
    ("rid", "phase", "expected"),
    [
        ("fleet:web-3.1", Phase.DONE, SetState.DONE),
        ("fleet:web-3.1", Phase.ROLLING, SetState.ACTIVE),
        ("fleet:web-3.1", Phase.PAUSED, SetState.ACTIVE),
        ("fleet:web-3.1", Phase.BAKING, SetState.ACTIVE),
        ("fleet:web-3.1", Phase.STOPPED, SetState.STOPPED),
        ("fleet:web-3.1", Phase.UNDONE, SetState.STOPPED),
        ("fleet:web-3.0", Phase.ROLLING, SetState.BUSY),
        ("20260105T090000Z", Phase.PAUSED, SetState.BUSY),
        ("20260105T090000Z", Phase.DONE, SetState.PENDING),
        ("fleet:web-3.0", Phase.UNDONE, SetState.PENDING),
    ],
)
def test_standing_from_the_record(rid: str, phase: Phase, expected: SetState) -> None:
    record = Record(rid, Kind.IMAGE, phase, 5)
    assert standing_of("web-3.1", record) is expected
    assert standing_from_tags("web-3.1", record.to_tags())[0] is expected


def test_standing_without_a_record_or_with_an_unreadable_one() -> None:
    assert standing_of("f", None) is SetState.PENDING
    assert standing_from_tags("f", {"app": "web"}) == (SetState.PENDING, None, None)
    state, record, reason = standing_from_tags("f", {"vmssroll.rollout": "fleet:f", "vmssroll.kind": "nope"})
    assert state is SetState.UNKNOWN and record is None and reason and "cannot be read" in reason


def test_member_of_a_listed_scale_set() -> None:
    from vmssroll.domain.fleet import member_json, member_of
    from vmssroll.domain.model import ScaleSet, UpgradePolicy

    ss = ScaleSet(
        id=f"/subscriptions/{SUB1.upper()}/resourceGroups/RG-Web/providers/Microsoft.Compute/"
        "virtualMachineScaleSets/web-1",
        name="web-1", resource_group="rg-web", location="westus2", orchestration_mode="Uniform", capacity=4,
        zones=(), overprovision=None, sku=None, etag=None, upgrade_policy=UpgradePolicy("Rolling"),
        health_probe_id=None, extensions=(), external_health=False, image={}, tags={"app": "web"},
    )  # fmt: skip
    got = member_of(ss)
    assert got == Member(SUB1, "RG-Web", "web-1", "westus2", {"app": "web"}, 4, "Rolling", "Uniform")
    assert member_json(got) == {
        "id": f"/subscriptions/{SUB1}/resourceGroups/RG-Web/providers/Microsoft.Compute/virtualMachineScaleSets/web-1",
        "name": "web-1", "subscription": SUB1, "resourceGroup": "RG-Web", "region": "westus2", "instances": 4,
        "mode": "Rolling", "orchestration": "Uniform",
    }  # fmt: skip


def test_what_a_wave_does() -> None:
    from vmssroll.domain.fleet import wave_does

    fleet = parse_fleet(doc())
    plans = assign(fleet, [member("web-1", "westus2"), member("web-2", "eastus"), member("web-3", "eastus")])
    assert wave_does(fleet, plans[0]) == (
        "roll out image version 3.1.0 to 1 scale set(s) (5 instance(s)), 1 at a time, then bake 10m00s with "
        "1 gate(s) running"
    )
    assert (
        wave_does(fleet, plans[1])
        == "roll out image version 3.1.0 to 2 scale set(s) (10 instance(s)), 2 at a time"
    )
    assert wave_does(fleet, plans[2]) == "nothing: no target matches this wave"
    os_fleet = parse_fleet(doc(change={"os_upgrade": True}, stop=None, gates=None))
    assert wave_does(os_fleet, assign(os_fleet, [member("web-1")])[0]).startswith(
        "roll out OS image upgrade to 1"
    )
    ext = parse_fleet(doc(change={"extensions": True}, stop=None))
    assert ext.change.describe() == "extension upgrade"
    image = parse_fleet(doc(change={"image_id": ID}))
    assert image.change.describe() == f"image {ID}" and image.change.to_json()["imageId"] == ID


ID = f"/subscriptions/{SUB1}/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/web/versions/3.1.0"
