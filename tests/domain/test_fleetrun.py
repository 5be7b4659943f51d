"""Running a fleet, the pure part: a set's state from its record and its latest upgrade, and the decision of
what the fleet does next (waves in order, max_parallel, bake, the stop rule)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vmssroll.domain.fleet import record_id
from vmssroll.domain.fleetrun import (
    Decision,
    Next,
    SetState,
    WaveSpec,
    decide,
    fleet_interval,
    from_record,
    observe,
    summary,
    written,
)
from vmssroll.domain.progressive import Kind, Phase, Record
from vmssroll.domain.upgrade import Progress, UpgradeStatus

S = SetState
FLEET = record_id("web-3.1")
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def rec(phase: Phase, rid: str = FLEET) -> Record:
    return Record(rid, Kind.IMAGE, phase, 10)


def status(code="RollingForward", ok=0, failed=0, running=0, pending=0, start=T0, action="Start"):
    return UpgradeStatus(code, action, start, start, Progress(ok, failed, running, pending))


@pytest.mark.parametrize(
    ("record", "state"),
    [
        (None, S.PENDING),
        (rec(Phase.ROLLING), S.ROLLING),
        (rec(Phase.BAKING), S.COMPLETED),
        (rec(Phase.DONE), S.DONE),
        (rec(Phase.STOPPED), S.STOPPED),
        (rec(Phase.UNDOING), S.UNDOING),
        (rec(Phase.UNDONE), S.UNDONE),
        (rec(Phase.ROLLING, "20260105T090000Z"), S.BUSY),  # `vmssroll rollout` in progress
        (rec(Phase.PAUSED, "fleet:other"), S.BUSY),
        (rec(Phase.DONE, "fleet:other"), S.PENDING),  # another fleet finished with it: ours may start
        (rec(Phase.UNDONE, "20260105T090000Z"), S.PENDING),
    ],
)
def test_a_sets_state_from_its_record(record, state) -> None:
    assert from_record(record, FLEET) is state


@pytest.mark.parametrize(
    ("state", "found", "stale", "expected", "percent"),
    [
        (S.STARTING, None, None, S.STARTING, None),
        (S.STARTING, status("Completed", ok=10), T0, S.STARTING, None),  # the upgrade before ours
        (S.STARTING, status(ok=3, running=2, pending=5), T0 - timedelta(hours=1), S.ROLLING, 30),
        (S.ROLLING, status("Completed", ok=10), None, S.COMPLETED, 100),
        (S.ROLLING, status("Faulted", ok=2, failed=1, pending=7), None, S.FAULTED, 30),
        (S.ROLLING, status("Cancelled", ok=2, pending=8), None, S.CANCELLED, 20),
        (S.ROLLING, status(ok=2, running=2, pending=6, action="Cancel"), None, S.ROLLING, 20),
        (S.UNDOING, status("Completed", ok=10), T0 - timedelta(hours=1), S.UNDONE, 100),
        (S.UNDOING, status("Completed", ok=10), T0, S.UNDOING, None),  # still the stopped upgrade
        (S.UNDOING, status("RollingForward", ok=1, pending=9), None, S.UNDOING, 10),
        (S.DONE, status("Completed", ok=10), None, S.DONE, None),  # a settled set is not judged again
    ],
)
def test_an_active_sets_state_from_its_latest_upgrade(state, found, stale, expected, percent) -> None:
    seen = observe(state, found, stale)
    assert seen.state is expected and seen.percent == percent


def test_faulted_names_azures_error() -> None:
    found = UpgradeStatus("Faulted", "Start", T0, T0, Progress(1, 3, 0, 6), error_code="UpgradeFaulted")
    assert observe(S.ROLLING, found).message == "Azure stopped the upgrade (Faulted: UpgradeFaulted)"


WAVES = (
    WaveSpec("canary", ("a",), max_parallel=1, bake=600),
    WaveSpec("ring", ("b", "c", "d"), max_parallel=2),
    WaveSpec("rest", ("e", "f"), max_parallel=5),
)


def states(**given: SetState) -> dict[str, SetState]:
    return {k: given.get(k, S.PENDING) for w in WAVES for k in w.keys}


def test_the_first_wave_starts_alone() -> None:
    assert decide(WAVES, states()) == Decision(Next.ROLL, 0, ("a",))


def test_a_wave_whose_sets_completed_bakes_and_the_next_starts_only_when_all_are_done() -> None:
    assert decide(WAVES, states(a=S.COMPLETED)).next is Next.BAKE
    found = decide(WAVES, states(a=S.DONE))
    assert (found.next, found.wave, found.start) == (Next.ROLL, 1, ("b", "c"))


def test_max_parallel_counts_the_active_sets() -> None:
    found = decide(WAVES, states(a=S.DONE, b=S.ROLLING, c=S.COMPLETED))
    assert found.start == ("d",)
    assert decide(WAVES, states(a=S.DONE, b=S.ROLLING, c=S.STARTING)).start == ()
    assert decide(WAVES, states(a=S.DONE, b=S.DONE, c=S.DONE, d=S.DONE)).start == ("e", "f")


def test_every_wave_done_is_done() -> None:
    assert decide(WAVES, {k: S.DONE for k in "abcdef"}).next is Next.DONE


def test_one_fault_halts_the_fleet_by_default_and_names_the_set() -> None:
    found = decide(WAVES, states(a=S.DONE, b=S.FAULTED, c=S.ROLLING))
    assert found.next is Next.HALT and found.wave == 1
    assert "1 set(s) failed, more than the 0 allowed: b (faulted)" in found.reason


def test_max_faulted_lets_that_many_through_and_the_wave_completes_around_them() -> None:
    given = states(a=S.DONE, b=S.FAULTED, c=S.DONE, d=S.COMPLETED)
    assert decide(WAVES, given, max_faulted=1).next is Next.BAKE
    assert decide(WAVES, {**given, "d": S.BUSY}, max_faulted=1).next is Next.HALT


def test_a_busy_set_counts_only_once_its_wave_is_reached() -> None:
    assert decide(WAVES, states(e=S.BUSY)).start == ("a",)
    assert decide(WAVES, states(a=S.BUSY)).next is Next.HALT


def test_a_tripped_gate_halts_whatever_else() -> None:
    found = decide(WAVES, states(a=S.ROLLING), tripped="gate `curl` failed 3 time(s) in a row")
    assert found.next is Next.HALT and found.reason.startswith("gate `curl`")


def test_an_earlier_runs_halt_halts_again() -> None:
    assert decide(WAVES, states(a=S.DONE, b=S.STOPPED)).next is Next.HALT
    assert decide(WAVES, states(a=S.UNDONE)).next is Next.HALT


def test_the_summary_counts_each_waves_sets() -> None:
    rows = summary(WAVES, states(a=S.DONE, b=S.ROLLING, c=S.ROLLING))
    assert rows[0] == {"wave": "canary", "sets": 1, "done": 1, "states": {"done": 1}}
    assert rows[1]["states"] == {"rolling": 2, "pending": 1}


@pytest.mark.parametrize(
    ("current", "wanted", "already"),
    [
        (Phase.ROLLING, Phase.BAKING, False),
        (Phase.BAKING, Phase.BAKING, True),
        (Phase.DONE, Phase.BAKING, True),  # never back from done to baking
        (Phase.BAKING, Phase.DONE, False),
        (Phase.ROLLING, Phase.STOPPED, False),
        (Phase.DONE, Phase.STOPPED, True),  # a set that completed is not stopped
        (Phase.UNDONE, Phase.UNDOING, True),
        (Phase.STOPPED, Phase.UNDOING, False),
    ],
)
def test_a_phase_another_runner_wrote_is_not_written_back(current, wanted, already) -> None:
    assert written(current, wanted) is already


@pytest.mark.parametrize(
    ("reads", "remaining", "interval"),
    [
        (50, {}, 10.0),  # nothing said: the interval
        (
            50,
            {"Microsoft.Compute/GetVMScaleSet3Min": 2000, "Microsoft.Compute/GetVMScaleSet30Min": 20000},
            10.0,
        ),
        (50, {"Microsoft.Compute/GetVMScaleSet3Min": 197}, 50 * 180 / 197),  # Azure's budget: spread it
        (50, {"Microsoft.Compute/GetVMScaleSet30Min": 1297}, 50 * 1800 / 1297),
        (1, {"Microsoft.Compute/GetVMScaleSet3Min": 197}, 10.0),  # one set: as a watch
        (50, {"Microsoft.Compute/GetVMScaleSet3Min": 0}, 300.0),  # spent: the longest wait
        (1, {"subscription-reads": 50}, 20.0),  # ARM's own budget low: as a watch slows down
    ],
)
def test_a_subscriptions_refresh_spreads_its_read_budget(reads, remaining, interval) -> None:
    assert fleet_interval(10.0, reads, remaining) == pytest.approx(interval)


def test_a_rolling_set_says_its_batch_as_watch_estimates_it() -> None:
    # Azure's default policy: batches of 20%, so 5 batches of 2 for 10 instances; 5 started: the third
    assert observe(S.ROLLING, status(ok=3, running=2, pending=5), capacity=10).batch == "3/5"
    assert observe(S.ROLLING, status("Completed", ok=10), capacity=10).batch is None
