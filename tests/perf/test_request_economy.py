"""Request economy at 1,000 instances, counted in the emulator's request log (functional: no timings)."""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter

import pytest

from tests.conftest import SimClock
from tests.helpers import azure, ref
from vmssroll.emulator import Emulator

RG, NAME, SIZE = "rg-large", "fleet", 1000
TARGET = ("-g", RG, "-n", NAME)


@pytest.fixture
def large(emu: Emulator) -> Emulator:
    emu.load_scenario("large")
    return emu


def _push_image(emu: Emulator, version: str) -> None:
    image = emu.vmss(RG, NAME)["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]
    body = {
        "properties": {
            "virtualMachineProfile": {"storageProfile": {"imageReference": {**image, "version": version}}}
        }
    }
    azure(emu).patch(ref(emu, NAME, RG), body, None, applied=lambda _: False, wait=None, unconditional=True)
    emu.clear_requests()


def _kind(path: str) -> str:
    return {"latest": "latest", "virtualMachines": "page", NAME: "scale set"}.get(
        path.rsplit("/", 1)[-1], path
    )


def test_status_costs_one_scale_set_get_one_latest_get_and_one_listing(vmssroll, large):
    large.clear_requests()
    result = vmssroll("status", *TARGET, "-o", "json")
    assert result.exit_code == 0, result.output
    assert result.json()["instances"]["total"] == SIZE
    pages = math.ceil(SIZE / large.page_size)
    # sent together (issue 19), so in any order
    assert sorted((r.method, _kind(r.path)) for r in large.requests) == sorted(
        [("GET", "scale set"), ("GET", "latest"), *[("GET", "page")] * pages]
    )


def test_a_whole_upgrade_watch_averages_at_most_two_requests_per_refresh(vmssroll, large):
    _push_image(large, "2.0.0")
    clock = SimClock(large)
    result = vmssroll("watch", *TARGET, "-o", "json", "--interval", "10s", clock=clock)
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[-1]["state"] == "Completed"
    # the last listing is either fresh or says it predates the end; never read as current
    fresh = events[-1]["instancesAsOf"] == events[-1]["time"]
    assert events[-1]["instancesStale"] is not fresh
    assert fresh or events[-1]["instances"]["onLatestModel"] < SIZE
    requests = large.requests
    kinds = Counter(_kind(r.path) for r in requests)
    refreshes = kinds["latest"]
    assert {r.method for r in requests} == {"GET"}  # the watch writes nothing
    assert kinds["scale set"] == 1
    assert refreshes > 50  # a real upgrade, many refreshes long
    assert kinds["page"] >= 2 * math.ceil(SIZE / large.page_size)  # the instances were listed more than once
    assert len(requests) <= 2 * refreshes, kinds
    # every refresh reads the latest upgrade; never sooner than the interval after the previous one
    times = [r.sim_time for r in requests if _kind(r.path) == "latest"]
    assert min((b - a).total_seconds() for a, b in itertools.pairwise(times)) >= 10
    assert min(clock.slept) >= 10


def test_instance_pages_are_listed_only_once_the_refreshes_paid_for_them(vmssroll, large):
    """After each listing of P pages, the next waits until the refreshes since have earned P requests."""
    _push_image(large, "2.0.0")
    vmssroll("wait", *TARGET, "--interval", "10s", "--instances")
    pages = math.ceil(SIZE / large.page_size)
    earned = checked = 0
    requests = large.requests
    last_refresh = max(i for i, r in enumerate(requests) if _kind(r.path) == "latest")
    # after the verdict, --instances lists once more (asked for: the report must not predate the end)
    assert [_kind(r.path) for r in requests[last_refresh + 1 :]] == ["page"] * pages
    for spent, r in enumerate(requests[: last_refresh + 1], start=1):
        kind = _kind(r.path)
        if kind == "latest":
            earned += 2
        first_page = kind == "page" and r.query.get("$skiptoken") is None
        if first_page and earned > 2:  # a listing other than the first
            assert earned - (spent - 1) >= pages
            checked += 1
    assert checked >= 2
