"""Latency: every ARM answer delayed by real time (`--latency 150ms±50ms`, or a scenario's `latency`), the
requests in flight together overlapping in the request log, and the simulated clock left alone.

Small latencies (30 ms) and few requests: the suite stays fast."""

from __future__ import annotations

import copy
import threading

import pytest
from typer.testing import CliRunner

from tests.emulator.test_http import request, vmss_path
from vmssroll.cli.app import app
from vmssroll.emulator import Emulator, ScenarioError
from vmssroll.emulator.latency import Gate, Latency, parse_latency
from vmssroll.emulator.scenarios import load


@pytest.mark.parametrize(
    ("text", "mean", "jitter"),
    [
        ("150ms", 0.15, 0.0),
        ("150ms±50ms", 0.15, 0.05),
        ("150ms+-50ms", 0.15, 0.05),
        ("0.2s ± 10ms", 0.2, 0.01),
        ("1s+-0.5", 1.0, 0.5),  # the spread takes the mean's unit when it has none
        ("40", 0.04, 0.0),  # a bare number is milliseconds
        (25, 0.025, 0.0),
        ("0ms", 0.0, 0.0),
        (None, 0.0, 0.0),
    ],
)
def test_latencies_are_read_as_durations(text, mean, jitter):
    latency = parse_latency(text)
    assert (latency.mean, latency.jitter) == pytest.approx((mean, jitter))
    assert bool(latency) == bool(mean or jitter)


@pytest.mark.parametrize("text", ["fast", "150 msec", "-5ms", "150ms±", "±50ms", "11s", "1e3ms", True])
def test_a_latency_that_is_not_a_duration_is_refused(text):
    with pytest.raises(ValueError, match="latency"):
        parse_latency(text)


def test_a_spread_never_goes_below_zero_and_stays_within_its_bounds():
    latency = Latency(0.01, 0.05, seed=3)
    draws = [latency.draw() for _ in range(200)]
    assert min(draws) == 0.0 and max(draws) <= 0.06
    assert len(set(draws)) > 100  # spread, not one value


def test_a_scenario_with_a_bad_latency_names_the_field():
    scenario = copy.deepcopy(load("demo")) | {"latency": "soon"}
    with pytest.raises(ScenarioError, match=r"^latency: a latency is a duration"):
        load(scenario)
    with pytest.raises(ScenarioError, match=r"^latency: must be"):
        load(copy.deepcopy(load("demo")) | {"latency": [1]})


def test_serve_refuses_a_bad_latency_with_one_line_before_serving():
    result = CliRunner().invoke(app, ["emulator", "serve", "--latency", "quick"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: --latency: a latency is a duration such as 150ms or 150ms±50ms, not 'quick'"
    ]


def test_answers_wait_the_latency_in_real_time_and_overlap_when_sent_together(live: Emulator):
    live.load_scenario(load("demo") | {"latency": "30ms"})
    live.gate = Gate(3)  # a busy machine's TLS handshakes cannot spread them apart
    before = live.clock.now()
    send_together(live)
    log = live.requests
    assert len(log) == 3
    assert all(r.answered - r.received >= 0.03 for r in log)
    # in flight together: each arrived before any was answered
    assert max(r.received for r in log) < min(r.answered for r in log)
    assert live.clock.now() == before  # real time only: the manual clock did not move
    assert all(r.sim_time == before for r in log)
    status, _, records = request(live, "GET", "/_emulator/requests")
    assert status == 200 and {"received", "answered"} <= set(records[0])


def send_together(emu: Emulator) -> None:
    paths = [vmss_path(emu), vmss_path(emu, "/rollingUpgrades/latest"), vmss_path(emu, "/virtualMachines")]
    threads = [threading.Thread(target=request, args=(emu, "GET", p)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_the_gate_never_makes_requests_sent_one_after_another_overlap(live: Emulator):
    live.gate = Gate(2, timeout=0.2)
    for path in (vmss_path(live), vmss_path(live, "/virtualMachines")):
        assert request(live, "GET", path)[0] == 200  # answered after the gate's timeout, not held forever
    first, second = live.requests
    assert second.received >= first.answered
    live.load_scenario("demo")
    assert live.gate is None  # a new scenario opens it


def test_the_latency_belongs_to_the_scenario_unless_given_to_the_emulator(live: Emulator):
    live.load_scenario(load("demo") | {"latency": "20ms±5ms"})
    assert (live.latency.mean, live.latency.jitter) == (0.02, 0.005)
    live.load_scenario("demo")
    assert not live.latency  # the next scenario has none: nothing lingers
    fixed = Emulator(scenario=load("demo") | {"latency": "20ms"}, latency="0ms")
    assert not fixed.latency  # the emulator's own (serve --latency) wins over the scenario's
    fixed.load_scenario(load("demo") | {"latency": "20ms"})
    assert not fixed.latency
