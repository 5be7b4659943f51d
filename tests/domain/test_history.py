"""Reading the OS upgrade history: newest first, the image each upgrade came from, short image names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vmssroll.domain.history import OsUpgrade, image_text, read_history
from vmssroll.domain.upgrade import Progress

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def entry(version: str, code: str = "Completed", minutes: int | None = 0, by: str = "Platform") -> OsUpgrade:
    start = None if minutes is None else T0 + timedelta(minutes=minutes)
    target = {"publisher": "P", "offer": "O", "sku": "S", "version": version}
    return OsUpgrade(code, start, None, by, target, Progress(successful=1))


def test_newest_first_whatever_order_azure_gives() -> None:
    got = read_history([entry("1", minutes=0), entry("3", minutes=20), entry("2", minutes=10)])
    assert [e.target["version"] for e in got] == ["3", "2", "1"]


def test_each_upgrade_comes_from_the_last_completed_one_before_it() -> None:
    got = read_history(
        [
            entry("1"),
            entry("2-bad", "Faulted", 10),
            entry("2", "Completed", 20),
            entry("3", "RollingForward", 30),
        ]
    )
    assert [(e.target["version"], e.source and e.source["version"]) for e in got] == [
        ("3", "2"),
        ("2", "1"),  # the faulted one (rolled back) did not change what the instances ran
        ("2-bad", "1"),
        ("1", None),  # nothing older: unknown
    ]


def test_entries_without_a_start_time_go_last_in_azures_order() -> None:
    got = read_history([entry("a", minutes=None), entry("b", minutes=5), entry("c", minutes=None)])
    assert [e.target["version"] for e in got] == ["b", "a", "c"]


def test_to_json_carries_counts_rollback_and_azures_item() -> None:
    item = OsUpgrade(
        "Faulted", T0, T0 + timedelta(minutes=2), "User", {"publisher": "P", "offer": "O", "sku": "S",
        "version": "2"}, Progress(0, 2, 0, 8), "Breach", "too many", 2, 0, None, document={"x": 1},
    )  # fmt: skip
    doc = item.to_json()
    assert doc["state"] == "Faulted" and doc["startedBy"] == "User" and doc["toText"] == "P:O:S:2"
    assert doc["endTime"] == "2026-01-05T09:02:00+00:00"
    assert doc["progress"] == {"successful": 0, "failed": 2, "inProgress": 0, "pending": 8}
    assert doc["rollback"] == {"succeeded": 2, "failed": 0, "error": None}
    assert doc["error"] == {"code": "Breach", "message": "too many"} and doc["upgrade"] == {"x": 1}
    assert doc["from"] is None and doc["fromText"] is None


@pytest.mark.parametrize(
    ("ref", "text"),
    [
        ({"publisher": "Canonical", "offer": "ubuntu", "sku": "server", "version": "1.2.3"}, "Canonical:ubuntu:server:1.2.3"),
        ({"publisher": "C", "offer": "u", "sku": "s", "version": "latest", "exactVersion": "1.2"}, "C:u:s:1.2"),
        ({"id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/galleries/g/images/web/versions/2"},
         "images/web/versions/2"),
        ({"sharedGalleryImageId": "/SharedGalleries/x/Images/web"}, "Images/web"),
        ({"communityGalleryImageId": "/CommunityGalleries/c/Images/web/Versions/3/"}, "Images/web/Versions/3"),
        # an id without an images/ part: its last two parts
        ({"id": "/a/b/c/"}, "b/c"),
        ({"id": "web"}, "web"),
        ({"offer": "u", "version": "1"}, "?:u:?:1"),
        ({"publisher": "C", "offer": "u", "sku": "s"}, "C:u:s:?"),
        ({}, "-"),
    ],
)  # fmt: skip
def test_image_text(ref: dict[str, str], text: str) -> None:
    assert image_text(ref) == text


def test_to_json_of_an_upgrade_that_came_from_a_known_image() -> None:
    first, second = entry("1", minutes=0), entry("2", minutes=10)
    newest = read_history([first, second])[0]
    doc = newest.to_json()
    assert doc["startTime"] == "2026-01-05T09:10:00+00:00" and doc["endTime"] is None
    assert doc["from"] == dict(first.target) and doc["fromText"] == "P:O:S:1"
    assert doc["to"] == dict(second.target) and doc["toText"] == "P:O:S:2"
    assert doc["error"] is None
