"""Reads sent together (results in order, the first failure in order raised after all have ended, the first
call in the calling thread), and a fleet's targets resolved from every subscription's listing through the
real SDK against the emulator's `fleet` scenario."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from vmssroll.adapter.client import Azure
from vmssroll.adapter.connection import resolve_connection
from vmssroll.adapter.fleet import resolve
from vmssroll.adapter.parallel import Outcome, outcome, together
from vmssroll.domain.errors import AuthFailed
from vmssroll.domain.fleet import parse_fleet

AMERICAS = "3f2a8c1e-5b7d-4e9a-8c21-7d4b6e0f1a01"
EUROPE = "8b4e2d90-1c3f-4a6b-9e72-5f0d3c8a2b02"
ASIA = "c7d19e53-2a84-4f1b-b6e0-9a3c5d7f4e03"
EMPTY: dict[str, int] = {}


def test_no_call_and_one_call_run_as_they_are() -> None:
    assert together() == []
    where: list[threading.Thread] = []

    def here() -> int:
        where.append(threading.current_thread())
        return 7

    assert together(here) == [7]
    assert where == [threading.current_thread()]
    with pytest.raises(KeyError):
        together(lambda: EMPTY["missing"])


def test_calls_run_at_once_and_their_results_come_back_in_order() -> None:
    meet = threading.Barrier(3, timeout=10)  # passes only when all three are running at the same time
    threads: dict[int, threading.Thread] = {}

    def call(n: int) -> Any:
        threads[n] = threading.current_thread()
        meet.wait()
        return n * 10

    assert together(lambda: call(1), lambda: call(2), lambda: call(3)) == [10, 20, 30]
    assert threads[1] is threading.current_thread()
    assert {threads[2].name, threads[3].name} == {"vmssroll-read"}
    assert threads[2].daemon and threads[3].daemon and threads[2] is not threads[3]
    pair = threading.Barrier(2, timeout=10)
    assert together(lambda: pair.wait() * 0 + 1, lambda: pair.wait() * 0 + 2) == [1, 2]  # two overlap too


def test_the_first_failure_in_order_is_raised_after_every_call_ended() -> None:
    ended: list[str] = []

    def fails(name: str, error: BaseException) -> Any:
        def call() -> Any:
            ended.append(name)
            raise error

        return call

    def slow_ok() -> str:
        threading.Event().wait(0.05)
        ended.append("ok")
        return "ok"

    with pytest.raises(ValueError, match="second"):
        together(slow_ok, fails("b", ValueError("second")), fails("c", KeyError("third")))
    assert sorted(ended) == ["b", "c", "ok"]
    ended.clear()
    with pytest.raises(KeyError):
        together(fails("a", KeyError("first")), fails("b", ValueError("second")), slow_ok)
    assert sorted(ended) == ["a", "b", "ok"]


def test_a_base_exception_in_a_thread_is_raised_in_its_turn() -> None:
    with pytest.raises(KeyboardInterrupt):
        together(lambda: 1, lambda: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(SystemExit):
        together(lambda: 1, lambda: 2, lambda: (_ for _ in ()).throw(SystemExit(3)))


def test_an_outcome_keeps_a_value_or_an_ordinary_exception() -> None:
    assert outcome(lambda: 5) == Outcome(5) and outcome(lambda: 5).get() == 5
    kept: Outcome[int] = outcome(lambda: EMPTY["k"])
    assert kept.value is None and isinstance(kept.error, KeyError)
    with pytest.raises(KeyError):
        kept.get()
    assert outcome(lambda: None).get() is None
    with pytest.raises(KeyboardInterrupt):  # not an ordinary exception: raised at once
        outcome(lambda: (_ for _ in ()).throw(KeyboardInterrupt()))


def clients(emu, subscriptions: list[str]) -> dict[str, Azure]:
    made = {}
    for sub in subscriptions:
        conn = resolve_connection(
            cloud="AzureCloud", endpoint=emu.url, ca_bundle=emu.ca_path, subscription=sub
        )
        made[sub] = Azure(conn, lro_interval=0)
    return made


def fleet_doc(**targets: Any) -> Any:
    return parse_fleet(
        {
            "name": "web-3.1",
            "change": {"image_version": "3.1.0"},
            "targets": targets,
            "waves": [{"name": "all"}],
        }
    )


def test_a_fleets_targets_are_the_listed_sets_that_match_in_listing_order(emu):
    emu.load_scenario("fleet")
    subs = [ASIA, AMERICAS, EUROPE]
    fleet = fleet_doc(subscriptions=subs, tags={"app": "web"})
    emu.clear_requests()
    got = resolve(fleet, clients(emu, subs))
    assert got.listed == 40 and len(got.members) == 32
    assert [m.key for m in got.members] == sorted(m.key for m in got.members)
    assert {m.subscription for m in got.members} == {AMERICAS, EUROPE, ASIA}
    for member in got.members:
        model = got.model(member)
        assert model.id.lower() == member.id.lower() and model.name == member.name
        assert dict(model.tags)["app"] == "web"
    assert set(got.models) == {m.id.lower() for m in got.members}
    assert sorted(r.path.split("/")[2] for r in emu.requests) == sorted(subs)
    assert all(r.method == "GET" for r in emu.requests)


def test_a_fleet_of_one_subscription_and_of_names(emu):
    emu.load_scenario("fleet")
    everything = resolve(fleet_doc(subscriptions=[EUROPE]), clients(emu, [EUROPE]))
    assert {m.subscription for m in everything.members} == {EUROPE}
    assert everything.listed == len(everything.members) > 0
    first = everything.members[0]
    named = resolve(fleet_doc(subscriptions=[EUROPE], names=[first.name.upper()]), clients(emu, [EUROPE]))
    assert [m.name for m in named.members] == [m.name for m in everything.members if m.name == first.name]
    assert named.listed == everything.listed


def test_a_subscription_that_cannot_be_listed_fails_the_whole_resolution(emu):
    emu.load_scenario("fleet")
    emu.faults.add(kind="status", status=403, method="GET", path_regex=f"^/subscriptions/{EUROPE}/")
    subs = [AMERICAS, EUROPE, ASIA]
    with pytest.raises(AuthFailed) as caught:
        resolve(fleet_doc(subscriptions=subs), clients(emu, subs))
    assert caught.value.message.startswith(
        f"listing the scale sets of subscription {EUROPE}: not authorised ("
    )
