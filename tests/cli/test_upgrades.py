"""Rolling upgrades end to end: the real SDK against the emulator, on its simulated clock."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from tests.helpers import NAME, RG, push_image, set_rolling, target, writes
from vmssroll.emulator.scenarios import SCENARIO_DIR


def scenario(name: str, **changes):
    data = yaml.safe_load((SCENARIO_DIR / f"{name}.yaml").read_text())
    data["scale_sets"][0].update(changes)
    return data


def test_status_before_any_upgrade(vmssroll, emu):
    result = vmssroll("status", *target(), "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert doc["upgrade"] is None and doc["kind"] is None
    assert doc["message"] == "No upgrade has run yet"
    assert doc["instances"]["total"] == 10
    assert doc["instances"]["onLatestModel"] == 10


def test_status_joins_instances_and_what_is_rolling_out(vmssroll, emu):
    emu.load_scenario("demo")
    push_image(emu, "2.0.0")  # Manual mode: instances fall behind, nothing starts
    result = vmssroll("status", *target(), "-o", "json")
    doc = result.json()
    assert doc["upgrade"] is None
    assert doc["instances"]["notOnLatestModel"] == [str(i) for i in range(10)]
    assert {"field": "imageReference.version", "from": ["1.0.0"], "to": "2.0.0"} in doc["rollingOut"]
    table = vmssroll("status", *target())
    assert "imageReference.version" in table.stdout and "2.0.0" in table.stdout


def test_status_costs_one_get_each_and_the_listing(vmssroll, emu):
    emu.clear_requests()
    vmssroll("status", *target())
    paths = [r.path.rsplit("/", 1)[-1] for r in emu.requests]
    assert sorted(paths) == ["latest", "virtualMachines", "web"]  # sent together (issue 19): in any order


def test_watch_completes_and_the_events_file_holds_every_transition(vmssroll, emu, tmp_path):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    events = tmp_path / "events.jsonl"
    emu.clear_requests()
    result = vmssroll("watch", *target(), "--events", str(events))
    assert result.exit_code == 0, result.output
    assert "Completed" in result.stdout
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert lines[0]["state"] == "RollingForward"
    assert lines[-1]["event"] == "done" and lines[-1]["state"] == "Completed" and lines[-1]["exitCode"] == 0
    done = [e["upgrade"]["properties"]["progress"]["successfulInstanceCount"] for e in lines]
    assert done == sorted(done) and done[-1] == 10
    assert len({e["percent"] for e in lines}) >= 5  # each batch's progress shows up
    assert emu.requests and writes(emu) == []  # the watch read, and wrote nothing


def test_watch_json_is_one_event_per_change_in_rest_shape(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    result = vmssroll("watch", *target(), "-o", "json")
    assert result.exit_code == 0
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert all("runningStatus" in e["upgrade"]["properties"] for e in events)
    assert events[-1]["done"] is True
    keys = [(e["state"], e["percent"]) for e in events]
    assert len(keys) == len(set(keys))


def test_breach_after_a_batch_faults_exit_5_with_azure_code(vmssroll, emu):
    emu.load_scenario("demo")
    set_rolling(emu)
    push_image(emu, "3.0.0-bad")
    result = vmssroll("watch", *target())
    assert result.exit_code == 5, result.output
    assert "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade" in result.output
    wait = vmssroll("wait", *target(), "-o", "json")
    assert wait.exit_code == 5
    assert wait.json()["exitCode"] == 5


def test_breach_before_the_first_batch(vmssroll, emu):
    emu.load_scenario("uniform-unhealthy")
    set_rolling(emu)
    push_image(emu, "2.0.0")
    result = vmssroll("wait", *target())
    assert result.exit_code == 5
    assert "MaxUnhealthyInstancePercentExceededInRollingUpgrade" in result.output
    status = vmssroll("status", *target(), "-o", "json").json()
    assert status["error"]["code"] == "MaxUnhealthyInstancePercentExceededInRollingUpgrade"
    assert status["upgrade"]["properties"]["progress"]["successfulInstanceCount"] == 0


def test_rollback_on_breach_passes_through_rolling_back(vmssroll, emu, tmp_path):
    emu.load_scenario("demo")
    set_rolling(emu, rollbackFailedInstancesOnPolicyBreach=True)
    push_image(emu, "3.0.0-bad")
    events = tmp_path / "e.jsonl"
    result = vmssroll("watch", *target(), "--events", str(events), "--interval", "5s")
    assert result.exit_code == 5
    states = [json.loads(line)["state"] for line in events.read_text().splitlines()]
    assert "RollingBack" in states and states[-1] == "Faulted"
    versions = {vm["profile"]["storageProfile"]["imageReference"]["version"] for vm in emu.vms(RG, NAME)}
    assert "3.0.0-bad" not in versions


def test_cancel_midway_lets_in_flight_finish_then_restart_completes(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.clock.advance(100)  # batch 1 done, batch 2 in flight
    midway = vmssroll("status", *target(), "-o", "json").json()
    in_flight = midway["instances"]["inFlight"]
    assert in_flight and midway["kind"] == "model"
    result = vmssroll("cancel", *target(), "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert doc["upgrade"]["properties"]["runningStatus"]["code"] == "Cancelled"
    assert doc["upgrade"]["properties"]["runningStatus"]["lastAction"] == "Cancel"
    # --timeout: were Cancelled ever read as a success, the wait would otherwise look for an upgrade forever
    assert vmssroll("wait", *target(), "--timeout", "1h").exit_code == 6
    status = vmssroll("status", *target(), "-o", "json").json()
    assert set(in_flight) <= set(_latest(emu))  # the instances in flight finished
    assert status["instances"]["notOnLatestModel"]
    etag = emu.vmss(RG, NAME)["etag"]
    emu.clear_requests()
    restart = vmssroll("restart", *target(), "--yes", "--watch", "--interval", "30s")
    assert restart.exit_code == 0, restart.output
    assert vmssroll("status", *target(), "-o", "json").json()["instances"]["notOnLatestModel"] == []
    # The restart's own write: one empty PATCH of the scale set, conditional on the etag it read.
    patches = [r for r in emu.requests if r.method in ("PUT", "PATCH", "POST", "DELETE")]
    assert [(r.method, r.path.rsplit("/", 1)[-1], r.if_match, r.body) for r in patches] == [
        ("PATCH", NAME, etag, {})
    ]


def _latest(emu):
    return [vm["instance_id"] for vm in emu.vms(RG, NAME) if vm["latest_model_applied"]]


def _until_rolling_back(emu):
    """Advance the simulated clock until the latest upgrade is RollingBack (a breach with rollback on)."""
    from tests.helpers import azure, ref

    for _ in range(200):
        latest = azure(emu).latest_upgrade(ref(emu))
        if latest is not None and latest.code == "RollingBack":
            return
        emu.clock.advance(5)
    raise AssertionError(f"never RollingBack: {latest}")


def test_a_rollback_is_running_status_says_so_and_restart_and_start_are_refused(vmssroll, emu):
    emu.load_scenario("demo")
    set_rolling(emu, rollbackFailedInstancesOnPolicyBreach=True)
    push_image(emu, "3.0.0-bad")
    _until_rolling_back(emu)
    doc = vmssroll("status", *target(), "-o", "json").json()
    assert doc["state"] == "RollingBack" and doc["running"] is True, doc
    emu.clear_requests()
    restart = vmssroll("restart", *target(), "--yes")
    assert restart.exit_code == 8, restart.output
    assert "RollingBack" in restart.stderr
    start = vmssroll("start", "os", *target(), "--yes")
    assert start.exit_code == 8, start.output
    assert writes(emu) == []
    assert vmssroll("wait", *target(), "--timeout", "1h").exit_code == 5  # the rollback ends Faulted


def test_cancel_with_nothing_running_is_exit_8_with_azures_message(vmssroll, emu):
    result = vmssroll("cancel", *target(), "--yes")
    assert result.exit_code == 8
    assert "There is no ongoing Rolling Upgrade to cancel." in result.stderr
    assert "Traceback" not in result.output and "already exists" not in result.output


def test_cancel_needs_yes_without_a_terminal(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.clear_requests()
    result = vmssroll("cancel", *target())
    assert result.exit_code == 2
    assert "--yes" in result.stderr
    assert writes(emu) == []


def test_restart_refuses_while_rolling_and_says_when_nothing_to_do(vmssroll, emu):
    assert "Nothing to do" in vmssroll("restart", *target(), "--yes").output
    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.clear_requests()
    result = vmssroll("restart", *target(), "--yes")
    assert result.exit_code == 8
    assert writes(emu) == []


def test_start_os_upgrade_and_watch(vmssroll, emu):
    emu.load_scenario("demo")  # a platform image: OS upgrades need one
    set_rolling(emu)
    result = vmssroll("start", "os", *target(), "--yes", "--watch")
    assert result.exit_code == 0, result.output
    assert any(m == "POST" and p.endswith("/osRollingUpgrade") for m, p in writes(emu))
    again = vmssroll("start", "extension", *target(), "--yes")
    assert again.exit_code == 0
    refused = vmssroll("start", "os", *target(), "--yes")
    assert refused.exit_code == 8  # the extension upgrade is rolling


def test_start_and_cancel_return_without_a_poller_running_and_poll_nothing_afterwards(vmssroll, emu):
    from tests.conftest import lro_pollers

    emu.load_scenario("demo")  # a platform image: an OS upgrade is possible
    set_rolling(emu)
    emu.clear_requests()
    start = vmssroll("start", "os", *target(), "--yes")
    assert start.exit_code == 0, start.output
    assert vmssroll("cancel", *target(), "--yes", "--no-wait").exit_code == 0
    assert not lro_pollers()
    # Only the commands' own requests: the reads for what the start sets in motion (scale set, latest upgrade,
    # instances, sent together: in any order), the POST, the state it reached (start's answer says it), and no
    # GET of the operation.
    paths = [(r.method, r.path.rsplit("/", 1)[-1]) for r in emu.requests]
    reads = [("GET", "latest"), ("GET", "virtualMachines"), ("GET", "web")]
    assert sorted(paths[:3]) == reads, paths
    assert paths[3:] == [("POST", "osRollingUpgrade"), ("GET", "latest"), ("POST", "cancel")], paths


def test_max_surge_creates_new_instance_ids(vmssroll, emu):
    set_rolling(emu, maxSurge=True)
    before = {vm["instance_id"] for vm in emu.vms(RG, NAME)}
    push_image(emu, "2.0.0")
    assert vmssroll("wait", *target()).exit_code == 0
    after = {vm["instance_id"] for vm in emu.vms(RG, NAME)}
    assert len(after) == 10 and not (after & before)


def _batches(emu, vmssroll, seconds):
    """The sets of instances in flight, sampled through `status` as the simulated clock moves."""
    seen: list[Any] = []
    for _ in range(40):
        doc = vmssroll("status", *target(), "-o", "json").json()
        flight = doc["instances"]["inFlight"]
        if flight and (not seen or seen[-1] != flight):
            seen.append(flight)
        if doc["upgrade"] and not doc["running"]:
            break
        emu.clock.advance(seconds)
    return seen


def _zones(emu):
    return {vm["instance_id"]: vm["zone"] for vm in emu.vms(RG, NAME)}


def test_zonal_batches_stay_in_one_zone_cross_zone_do_not(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    zones = _zones(emu)
    zonal = _batches(emu, vmssroll, 30)
    assert all(len({zones[i] for i in batch}) == 1 for batch in zonal)
    emu.load_scenario("uniform-probe")
    set_rolling(emu, enableCrossZoneUpgrade=True)
    push_image(emu, "2.0.0")
    cross = _batches(emu, vmssroll, 30)
    assert any(len({zones[i] for i in batch}) > 1 for batch in cross)


def test_prioritize_unhealthy_upgrades_them_first(vmssroll, emu):
    emu.load_scenario("uniform-unhealthy")  # 2, 5 and 7 unhealthy
    set_rolling(
        emu, prioritizeUnhealthyInstances=True, maxUnhealthyInstancePercent=50, enableCrossZoneUpgrade=True
    )
    push_image(emu, "2.0.0")
    first = _batches(emu, vmssroll, 30)[0]
    assert set(first) <= {"2", "5", "7"}


def test_stalled_upgrade_hits_the_progress_deadline(vmssroll, emu):
    emu.load_scenario(scenario("uniform-probe", health_rules=[{"instance_id": "0", "health": "silent"}]))
    set_rolling(emu)
    push_image(emu, "2.0.0")
    result = vmssroll("watch", *target(), "--progress-deadline", "10m")
    assert result.exit_code == 7
    assert "no progress within 10m" in result.output
    # it names the instance holding the batch up, and since when it has been seen so
    stuck = r"not moving: 0 no health signal since \d\d:\d\d:\d\dZ or earlier$"
    assert re.search(stuck, result.stderr.strip())
    waited = vmssroll("wait", *target(), "--progress-deadline", "5m")
    assert waited.exit_code == 7 and re.search(stuck, waited.stderr.strip())


def test_watch_timeout(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    result = vmssroll("wait", *target(), "--timeout", "2m")
    assert result.exit_code == 7
    assert "timed out" in result.output


class InterruptingClock:
    def __init__(self, inner, after: int) -> None:
        self.inner, self.after = inner, after

    def monotonic(self):
        return self.inner.monotonic()

    def utcnow(self):
        return self.inner.utcnow()

    def sleep(self, seconds):
        self.after -= 1
        if self.after < 0:
            raise KeyboardInterrupt
        self.inner.sleep(seconds)


def test_ctrl_c_leaves_the_upgrade_running_exit_130(vmssroll, emu):
    from tests.conftest import SimClock

    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.clear_requests()
    result = vmssroll("watch", *target(), clock=InterruptingClock(SimClock(emu), 3))
    assert result.exit_code == 130
    assert "nothing was cancelled" in result.stderr
    assert f"vmssroll watch -g {RG} -n {NAME}" in result.stderr
    assert writes(emu) == []
    assert vmssroll("status", *target(), "-o", "json").json()["running"] is True


def test_watch_rides_out_429_and_503(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.faults.add(
        kind="status", status=429, retry_after=7, method="GET", path_regex="rollingUpgrades/latest", count=2
    )
    emu.faults.add(kind="status", status=503, method="GET", path_regex="rollingUpgrades/latest", count=3)
    result = vmssroll("watch", *target(), "--interval", "5s")
    assert result.exit_code == 0, result.output
    assert "429" in result.stderr and "503" in result.stderr and "retrying" in result.stderr
    statuses = [r.status for r in emu.requests if r.path.endswith("/latest")]
    assert statuses.count(429) == 2 and statuses.count(503) == 3


def test_watch_honours_retry_after_and_never_polls_faster_than_the_interval(vmssroll, emu):
    from tests.conftest import SimClock

    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.faults.add(
        kind="status", status=429, retry_after=45, method="GET", path_regex="rollingUpgrades/latest", count=1
    )
    clock = SimClock(emu)
    assert vmssroll("wait", *target(), "--interval", "15s", clock=clock).exit_code == 0
    assert min(clock.slept) >= 15
    assert 45 in clock.slept


def test_restart_whose_answer_is_lost_is_confirmed_by_reading_back(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.clock.advance(100)
    assert vmssroll("cancel", *target(), "--yes").exit_code == 0
    emu.faults.add(kind="drop", method="PATCH", after_commit=True, count=1)
    etag = emu.vmss(RG, NAME)["etag"]
    emu.clear_requests()
    result = vmssroll("restart", *target(), "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    assert vmssroll("status", *target(), "-o", "json").json()["running"] is True
    # one PATCH only (its answer was lost; the new etag read back confirmed it), with If-Match
    assert [(r.method, r.if_match) for r in emu.requests if r.method != "GET"] == [("PATCH", etag)]


@pytest.mark.parametrize("command", ["wait", "watch"])
@pytest.mark.parametrize(
    ("option", "value"), [("--timeout", "5x"), ("--progress-deadline", "soon"), ("--interval", "-1s")]
)
def test_a_bad_duration_names_its_option_and_sends_nothing(vmssroll, emu, command, option, value):
    emu.clear_requests()
    result = vmssroll(command, *target(), option, value)
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        f"error: {option}: '{value}' is not a duration (use e.g. 30s, 2m, 1h30m, 1d or PT30S)"
    ]
    assert emu.requests == []


def test_an_events_file_that_cannot_be_appended_to_is_refused_before_any_request(vmssroll, emu, tmp_path):
    import os

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # no reader: opening it for writing without blocking fails at once
    cases = [
        (tmp_path, "Is a directory"),
        (tmp_path / "missing" / "events.jsonl", "No such file or directory"),
        (fifo, "No such device or address"),
        ("/dev/null", "not a regular file (give a file, or - for stdout)"),
    ]
    emu.clear_requests()
    for path, why in cases:
        result = vmssroll("watch", *target(), "--events", str(path))
        assert result.exit_code == 2, (path, result.output)
        assert result.stderr.splitlines() == [f"error: --events '{path}': {why}"]
    assert emu.requests == []
    assert not (tmp_path / "missing").exists()


def test_wait_with_instances_reports_them_as_of_the_last_listing(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    result = vmssroll("wait", *target(), "--instances", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert set(doc) == {"message", "exitCode", "upgrade", "unknown", "nextStep", "instances", "instancesAsOf"}
    assert (doc["exitCode"], doc["unknown"], doc["nextStep"]) == (0, {}, None)
    assert doc["message"] == "Rolling upgrade Completed: 10 succeeded, 0 failed, 0 in progress, 0 pending"
    assert doc["instances"]["total"] == 10 and doc["instances"]["notOnLatestModel"] == []
    assert doc["instancesAsOf"] == emu.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")  # read as it ended
    plain = vmssroll("wait", *target(), "-o", "json").json()
    assert set(plain) == {"message", "exitCode", "upgrade", "unknown", "nextStep"}


def test_watch_on_a_terminal_ends_with_the_verdict(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    result = vmssroll("watch", *target(), tty=True)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[-1] == (
        "Rolling upgrade Completed: 10 succeeded, 0 failed, 0 in progress, 0 pending"
    )


@pytest.mark.parametrize(("interval", "every", "timeout"), [("0s", 1.0, 10), ("30s", 30.0, 120)])
def test_wait_refreshes_at_its_interval_and_never_faster_than_a_second(
    vmssroll, emu, interval, every, timeout
):
    from tests.conftest import SimClock

    set_rolling(emu)
    push_image(emu, "2.0.0")
    clock = SimClock(emu)
    result = vmssroll("wait", *target(), "--interval", interval, "--timeout", f"{timeout}s", clock=clock)
    assert result.exit_code == 7, result.output  # the upgrade takes longer: it gives up at the timeout
    assert set(clock.slept) == {every} and sum(clock.slept) == timeout
