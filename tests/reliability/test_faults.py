"""Transient faults through the real SDK: throttling, bursts of 5xx, dropped connections and slow answers,
during reads, during a long-running write and during a watch."""

from __future__ import annotations

import json

import pytest

from tests.helpers import NAME, RG, push_image, set_rolling, target, writes
from tests.reliability.checks import one_clear_line, vmss_path
from vmssroll.adapter.client import Azure

SCALE_SET = r"/virtualMachineScaleSets/web$"
LATEST = r"/rollingUpgrades/latest$"
OPERATION = r"/operations/"


def budget(retries: int):
    """An adapter factory with a small SDK retry budget (azure-core's back-off sleeps real time)."""
    return lambda conn, on: Azure(conn, retries=on, retry_total=retries)


def retry_notes(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if "retrying in" in line]


def statuses(emu, method: str, suffix: str) -> list[int]:
    return [r.status for r in emu.requests if r.method == method and r.path.endswith(suffix)]


# Reads ------------------------------------------------------------------------------------------------------


def test_reads_ride_out_throttling_with_visible_back_off(vmssroll, emu):
    emu.faults.add(kind="status", status=429, retry_after=0, method="GET", path_regex=SCALE_SET, count=3)
    result = vmssroll("policy", "show", *target(), "-o", "json")
    assert result.exit_code == 0, result.output
    assert result.json()["scaleSet"]["name"] == NAME
    assert statuses(emu, "GET", "/web") == [429, 429, 429, 200]
    notes = retry_notes(result)
    assert len(notes) == 3 and all(n.startswith("warning: Azure: 429") for n in notes), result.stderr


def test_retry_after_is_honoured(vmssroll, emu):
    emu.faults.add(kind="status", status=429, retry_after=1, method="GET", path_regex=SCALE_SET, count=1)
    result = vmssroll("policy", "show", *target())
    assert result.exit_code == 0, result.output
    assert "retrying in 1.0s" in result.stderr


def test_reads_ride_out_a_burst_of_500_and_503(vmssroll, emu):
    emu.faults.add(kind="status", status=500, method="GET", path_regex=LATEST, count=2)
    emu.faults.add(kind="status", status=503, method="GET", path_regex=LATEST, count=1)
    emu.faults.add(kind="status", status=502, method="GET", path_regex=r"/virtualMachines$", count=3)
    result = vmssroll("status", *target(), "-o", "json")
    assert result.exit_code == 0, result.output
    assert statuses(emu, "GET", "/latest") == [500, 500, 503, 404]  # 404: no upgrade yet
    assert len(retry_notes(result)) == 6


def test_reads_ride_out_dropped_connections_and_slow_answers(vmssroll, emu):
    emu.faults.add(kind="drop", method="GET", path_regex=SCALE_SET, count=2)
    emu.faults.add(kind="slow", delay=0.2, method="GET", path_regex=LATEST, count=1)
    result = vmssroll("status", *target(), "-o", "json")
    assert result.exit_code == 0, result.output
    assert statuses(emu, "GET", "/web") == [0, 0, 200]
    assert any("no answer" in n for n in retry_notes(result))


@pytest.mark.parametrize("status", [429, 500, 503])
def test_faults_that_outlast_the_retry_budget_end_with_exit_4_and_one_line(vmssroll, emu, status):
    emu.faults.add(kind="status", status=status, retry_after=0, method="GET", path_regex=SCALE_SET)
    result = vmssroll("policy", "show", *target(), azure_factory=budget(2))
    assert result.exit_code == 4, result.output
    errors = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert len(errors) == 1 and errors[0].startswith("error: reading scale set web:"), result.stderr
    assert "retries ran out" in errors[0]
    assert "Traceback" not in result.output
    assert len(statuses(emu, "GET", "/web")) == 3  # one try and two retries, then it stops


def test_an_unreachable_endpoint_is_exit_4_and_one_line(vmssroll, emu):
    emu.faults.add(kind="drop", method="GET")
    result = vmssroll("status", *target(), azure_factory=budget(1))
    assert result.exit_code == 4
    assert "dropped before the answer" in result.stderr.splitlines()[-1]
    assert "Traceback" not in result.output


# Writes -----------------------------------------------------------------------------------------------------


def test_a_5xx_on_the_patch_is_retried_with_the_same_if_match_and_confirmed(vmssroll, emu):
    before = emu.vmss(RG, NAME)["etag"]
    emu.faults.add(kind="status", status=503, method="PATCH", count=2)
    result = vmssroll("policy", "set", *target(), "--max-batch-instance-percent", "30", "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    patches = [r for r in emu.requests if r.method == "PATCH"]
    assert [r.status for r in patches] == [503, 503, 200]
    assert {r.if_match for r in patches} == {before}
    assert {json.dumps(r.body, sort_keys=True) for r in patches} == {
        json.dumps(patches[0].body, sort_keys=True)
    }
    assert (
        emu.vmss(RG, NAME)["properties"]["upgradePolicy"]["rollingUpgradePolicy"]["maxBatchInstancePercent"]
        == 30
    )
    assert result.json()["applied"] is True


def test_faults_while_the_long_running_write_is_polled(vmssroll, emu):
    emu.faults.add(kind="status", status=503, method="GET", path_regex=OPERATION, count=2)
    emu.faults.add(kind="drop", method="GET", path_regex=OPERATION, count=1)
    emu.faults.add(kind="status", status=429, retry_after=0, method="GET", path_regex=SCALE_SET, count=1)
    result = vmssroll("policy", "set", *target(), "--max-unhealthy-instance-percent", "40", "--yes")
    assert result.exit_code == 0, result.output
    assert [r.status for r in emu.requests if r.method == "PATCH"] == [200]  # one write, never repeated
    stored = emu.vmss(RG, NAME)["properties"]["upgradePolicy"]["rollingUpgradePolicy"]
    assert stored["maxUnhealthyInstancePercent"] == 40


def test_a_patch_whose_answer_is_lost_after_it_landed_is_read_back_not_resent(vmssroll, emu):
    emu.faults.add(kind="drop", method="PATCH", after_commit=True, count=1)
    result = vmssroll(
        "policy", "set", *target(), "--pause-time-between-batches", "PT1M", "--yes", "-o", "json"
    )
    assert result.exit_code == 0, result.output
    assert [r.status for r in emu.requests if r.method == "PATCH"] == [0]  # sent once; the answer was lost
    assert emu.requests[-1].method == "GET" and emu.requests[-1].path == vmss_path(emu)  # read back
    doc = result.json()
    assert (
        doc["applied"] is True
        and doc["upgradePolicy"]["rollingUpgradePolicy"]["pauseTimeBetweenBatches"] == "PT1M"
    )


def test_a_patch_lost_before_it_landed_is_resent_once_on_the_same_etag(vmssroll, emu):
    etag = emu.vmss(RG, NAME)["etag"]
    emu.faults.add(kind="drop", method="PATCH", count=1)
    result = vmssroll("policy", "set", *target(), "--max-batch-instance-percent", "25", "--yes", "-v")
    assert result.exit_code == 0, result.output
    patches = [r for r in emu.requests if r.method == "PATCH"]
    assert [r.status for r in patches] == [0, 200]
    assert patches[0].body == patches[1].body and patches[0].if_match == patches[1].if_match == etag
    assert "sending the same change again" in result.stderr
    rolling = emu.vmss(RG, NAME)["properties"]["upgradePolicy"]["rollingUpgradePolicy"]
    assert rolling["maxBatchInstancePercent"] == 25


def test_a_resend_never_applies_over_someone_elses_change(vmssroll, emu):
    """The answer is lost and, before the read-back, someone else changes the scale set: no resend, exit 4."""
    original = emu.arm.dispatch

    def meddle(req):
        patched = any(r.method == "PATCH" for r in emu.requests)
        if req.method == "GET" and req.path == vmss_path(emu) and patched:  # someone else wrote meanwhile
            emu.arm.dispatch = original
            ss = emu.world.find(RG, NAME)
            ss.model.setdefault("tags", {})["owner"] = "someone-else"
            ss.etag += 1
        return original(req)

    emu.faults.add(kind="drop", method="PATCH", count=1)
    emu.arm.dispatch = meddle
    result = vmssroll("policy", "set", *target(), "--max-batch-instance-percent", "25", "--yes")
    assert result.exit_code == 4, result.output
    assert "whether this change is in place is unknown" in result.stderr
    assert [r.status for r in emu.requests if r.method == "PATCH"] == [0]  # never resent
    assert emu.vmss(RG, NAME)["tags"]["owner"] == "someone-else"


def test_a_patch_that_never_gets_through_ends_exit_4_with_nothing_changed(vmssroll, emu):
    before = emu.vmss(RG, NAME)
    emu.faults.add(kind="drop", method="PATCH")
    result = vmssroll("policy", "set", *target(), "--max-batch-instance-percent", "25", "--yes")
    assert result.exit_code == 4, result.output
    assert "the change is not in place and nothing else changed" in result.stderr.splitlines()[-1]
    assert len([r for r in emu.requests if r.method == "PATCH"]) == 2  # the first and one proven-safe resend
    assert emu.vmss(RG, NAME) == before


def test_a_patch_throttled_beyond_the_budget_changes_nothing(vmssroll, emu):
    before = emu.vmss(RG, NAME)
    emu.faults.add(kind="status", status=429, retry_after=0, method="PATCH")
    result = vmssroll(
        "policy", "set", *target(), "--max-batch-instance-percent", "25", "--yes", azure_factory=budget(2)
    )
    assert result.exit_code == 4
    assert result.stderr.splitlines()[-1].startswith("error: updating scale set web: TooManyRequests")
    assert emu.vmss(RG, NAME) == before


@pytest.mark.parametrize("kind", ["os", "extension"])
def test_a_start_whose_answer_is_lost_is_read_back(vmssroll, emu, kind):
    emu.load_scenario("demo")  # a platform image: OS upgrades need one
    set_rolling(emu)
    emu.faults.add(kind="drop", method="POST", after_commit=True, count=1)
    result = vmssroll("start", kind, *target(), "--yes")
    assert result.exit_code == 0, result.output
    assert len([w for w in writes(emu) if w[0] == "POST"]) == 1
    assert vmssroll("status", *target(), "-o", "json").json()["running"] is True


def test_a_start_that_did_not_land_is_exit_4(vmssroll, emu):
    set_rolling(emu)
    emu.faults.add(kind="drop", method="POST", count=1)
    result = vmssroll("start", "extension", *target(), "--yes")
    assert result.exit_code == 4
    one_clear_line(result)


def test_a_cancel_whose_answer_is_lost_is_read_back_and_followed(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.clock.advance(60)
    emu.faults.add(kind="drop", method="POST", path_regex="/cancel$", after_commit=True, count=1)
    result = vmssroll("cancel", *target(), "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    assert result.json()["upgrade"]["properties"]["runningStatus"]["code"] == "Cancelled"


# Watches ----------------------------------------------------------------------------------------------------


def test_a_watch_rides_out_throttling_errors_and_drops_and_says_so(vmssroll, emu, tmp_path):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.faults.add(kind="status", status=429, retry_after=30, method="GET", path_regex=LATEST, count=2)
    emu.faults.add(kind="status", status=503, method="GET", path_regex=LATEST, count=2)
    emu.faults.add(kind="drop", method="GET", path_regex=r"/virtualMachines$", count=2)
    emu.faults.add(kind="slow", delay=0.05, method="GET", count=3)
    events = tmp_path / "events.jsonl"
    result = vmssroll("watch", *target(), "--events", str(events))
    assert result.exit_code == 0, result.output
    assert "Completed" in result.stdout
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    retries = [e for e in lines if e["event"] == "retry"]
    assert [e["httpStatus"] for e in retries] == [429, 429, 503, 503]
    # a dropped listing never holds up a refresh: the instances are unknown until the next listing
    assert any(
        (e.get("unknown") or {}).get("instances") == "listing failed: no answer from Azure" for e in lines
    )
    assert "instances: unknown (listing failed: no answer from Azure)" in result.stderr
    assert retries[0]["retryIn"] == 30  # Retry-After honoured (on the simulated clock)
    assert lines[-1]["event"] == "done" and lines[-1]["state"] == "Completed"
    assert "retrying in" in result.stderr  # visible back-off in line mode


def test_a_watch_starting_during_an_outage_rides_it_out(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.faults.add(kind="status", status=503, method="GET", path_regex=SCALE_SET, count=2)
    result = vmssroll("wait", *target())
    assert result.exit_code == 0, result.output


def test_a_watch_gives_up_with_exit_4_when_the_outage_outlasts_its_budget(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.faults.add(kind="status", status=503, method="GET", path_regex=LATEST)
    result = vmssroll("watch", *target(), "-o", "json")
    assert result.exit_code == 4, result.output
    assert "Traceback" not in result.output
    events = [json.loads(line) for line in result.stdout.splitlines()]
    waits = [e["retryIn"] for e in events if e["event"] == "retry"]
    assert len(waits) == 30 and waits == sorted(waits) and max(waits) == 120  # capped exponential back-off
    assert result.stderr.splitlines()[-1].startswith("error: reading the latest rolling upgrade of web")
    assert events[-1]["event"] == "error" and events[-1]["error"]["exitCode"] == 4  # the stream ends with it


def test_a_watch_with_a_timeout_ends_on_time_even_in_an_outage(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.faults.add(kind="status", status=503, method="GET", path_regex=LATEST)
    result = vmssroll("wait", *target(), "--timeout", "5m")
    assert result.exit_code == 7, result.output
