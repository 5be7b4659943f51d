"""A failed supplementary read (the instance listing) leaves the command working: the part is unknown, with
its reason, and the exit code comes from the primary signal."""

from __future__ import annotations

import pytest

from tests.helpers import push_image, set_rolling, target, writes
from vmssroll.adapter.client import Azure
from vmssroll.domain.errors import AuthFailed, AzureRequestFailed, NotFound
from vmssroll.domain.unknown import Unknown, is_supplementary_failure

LISTING = r"/virtualMachines$"
REFUSED = "instances: unknown (listing refused: 403 AuthorizationFailed)"


def refuse_listing(emu, status: int = 403) -> None:
    emu.faults.add(kind="status", status=status, retry_after=0, method="GET", path_regex=LISTING)


@pytest.mark.parametrize(
    ("err", "reason"),
    [
        (AuthFailed("x", status=403, code="AuthorizationFailed"), "listing refused: 403 AuthorizationFailed"),
        (NotFound("x", status=404, code="ResourceNotFound"), "listing refused: 404 ResourceNotFound"),
        (AzureRequestFailed("x", status=400, code="BadRequest"), "listing refused: 400 BadRequest"),
        (
            AzureRequestFailed("x", status=429, code="TooManyRequests"),
            "listing throttled: 429 TooManyRequests",
        ),
        (AzureRequestFailed("x", status=503), "listing failed: 503"),
        (AzureRequestFailed("x"), "listing failed: no answer from Azure"),
    ],
)
def test_the_reason_says_refused_throttled_or_failed(err, reason):
    assert is_supplementary_failure(err)
    assert Unknown.of("instances", "listing", err) == Unknown("instances", reason)


def test_a_refused_credential_is_not_a_supplementary_failure():
    assert not is_supplementary_failure(AuthFailed("x", status=401, code="InvalidAuthenticationToken"))
    assert not is_supplementary_failure(AuthFailed("no credential"))


def test_status_shows_everything_else_and_why_the_instances_are_missing(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    refuse_listing(emu)
    result = vmssroll("status", *target())
    assert result.exit_code == 0, result.output
    assert REFUSED in result.stdout
    assert "RollingForward" in result.stdout  # the upgrade status, the primary signal, is all there
    assert "scale set" in result.stdout and "web (Rolling mode" in result.stdout


def test_status_json_has_null_for_the_missing_part_and_says_why(vmssroll, emu):
    refuse_listing(emu)
    doc = vmssroll("status", *target(), "-o", "json").json()
    assert doc["instances"] is None and doc["rollingOut"] is None and doc["kind"] is None
    assert doc["unknown"] == {"instances": "listing refused: 403 AuthorizationFailed"}
    assert doc["scaleSet"]["name"] == "web"


def test_status_json_names_nothing_unknown_when_everything_was_read(vmssroll, emu):
    doc = vmssroll("status", *target(), "-o", "json").json()
    assert doc["unknown"] == {} and doc["instances"]["total"] == 10


def test_a_listing_throttled_beyond_the_retries_is_unknown_not_fatal(vmssroll, emu):
    refuse_listing(emu, 429)
    factory = lambda conn, on: Azure(conn, retries=on, retry_total=1)  # noqa: E731 (small real budget)
    result = vmssroll("status", *target(), "-o", "json", azure_factory=factory)
    assert result.exit_code == 0, result.output
    assert result.json()["unknown"] == {"instances": "listing throttled: 429 TooManyRequests"}


def test_watch_and_wait_follow_the_upgrade_to_its_end_without_the_instances(vmssroll, emu, tmp_path):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    refuse_listing(emu)
    events = tmp_path / "events.jsonl"
    watched = vmssroll("watch", *target(), "--events", str(events))
    assert watched.exit_code == 0, watched.output
    assert "Completed" in watched.stdout
    assert watched.stderr.count(REFUSED) == 1, watched.stderr  # said once, not every refresh
    import json

    last = json.loads(events.read_text().splitlines()[-1])
    assert last["event"] == "done" and last["instances"] is None
    assert last["unknown"] == {"instances": "listing refused: 403 AuthorizationFailed"}
    waited = vmssroll("wait", *target(), "-o", "json")
    assert waited.exit_code == 0, waited.output
    assert waited.json()["unknown"] == {"instances": "listing refused: 403 AuthorizationFailed"}


def test_watch_of_a_faulted_upgrade_still_exits_5_without_the_instances(vmssroll, emu):
    set_rolling(emu)
    emu.set_health("rg-demo", "web", image_version="2.0.0", health="unhealthy")
    push_image(emu, "2.0.0")
    refuse_listing(emu)
    result = vmssroll("watch", *target())
    assert result.exit_code == 5, result.output
    assert REFUSED in result.stderr
    waited = vmssroll("wait", *target())  # ended already: wait lists once, to know whether anyone is behind
    assert waited.exit_code == 5 and REFUSED in waited.stderr


def test_check_reports_instance_rules_unknown_and_stays_ready_on_static_prerequisites(vmssroll, emu):
    refuse_listing(emu)
    result = vmssroll("check", *target())
    assert result.exit_code == 0, result.output
    assert "ready for rolling" in result.stdout and "not verified" in result.stdout
    assert f"Not verified: {REFUSED}" in result.stdout
    doc = vmssroll("check", *target(), "-o", "json").json()
    states = {r["name"]: r["status"] for r in doc["rules"]}
    assert states["instance-health"] == states["latest-model"] == states["unhealthy-share"] == "unknown"
    assert states["health-source"] == "passed"
    assert doc["ready"] is True
    assert doc["unknown"] == {"instances": "listing refused: 403 AuthorizationFailed"}


def test_check_still_fails_on_static_prerequisites_without_the_instances(vmssroll, emu):
    emu.load_scenario("uniform-missing-probe")
    refuse_listing(emu)
    result = vmssroll("check", *target(), "-o", "json")
    assert result.exit_code == 3, result.output
    assert result.json()["ready"] is False


def test_enable_rolling_wait_healthy_needs_the_instances_and_says_why(vmssroll, emu):
    refuse_listing(emu)
    result = vmssroll("enable-rolling", *target(), "--wait-healthy", "5m", "--yes")
    assert result.exit_code == 4, result.output
    assert "--wait-healthy needs the instances" in result.stderr and REFUSED in result.stderr
    assert writes(emu) == []


def test_enable_rolling_without_waiting_switches_and_warns_that_behind_is_unknown(vmssroll, emu):
    refuse_listing(emu)
    result = vmssroll("enable-rolling", *target(), "--yes")
    assert result.exit_code == 0, result.output
    # what the switch sets in motion, and that it is unsure
    assert "starts a rolling upgrade of the instances behind the model, if any" in result.stderr
    assert "Not sure: the instances could not be read (listing refused: 403" in result.stderr
    assert [m for m, _ in writes(emu)] == ["PATCH"]


def test_a_404_on_latest_right_after_reading_the_scale_set_means_no_upgrade_yet(vmssroll, emu):
    # whatever the text says: this one names the scale set, which alone would read as "no such scale set"
    emu.faults.add(
        kind="status",
        status=404,
        method="GET",
        path_regex=r"/rollingUpgrades/latest$",
        code="ResourceNotFound",
        message="The Resource 'Microsoft.Compute/virtualMachineScaleSets/web' under resource group "
        "'rg-demo' was not found.",
    )
    result = vmssroll("status", *target())
    assert result.exit_code == 0, result.output
    assert "No upgrade has run yet" in result.stdout
