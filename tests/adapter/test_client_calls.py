"""The Azure adapter's other calls, one by one: ARM reads outside Compute (features, load balancers), the
latest upgrade's 404 with Azure's clock, what another client read, starting and approving upgrades (no poller
left running, failures named by what was tried) and the OS upgrade history. The real SDK against the emulator
and its faults (tests/hostile/server.py for answers the emulator never gives)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from tests.conftest import lro_pollers
from tests.helpers import RG, azure, patch, ref
from tests.hostile.server import Seen, hostile_server
from vmssroll.adapter.client import Azure
from vmssroll.domain.errors import AzureRequestFailed, Conflict

FEATURE = "/providers/Microsoft.Features/providers/Microsoft.Compute/features/MaxSurgeRollingUpgrade"
IMAGE = ("Canonical", "ubuntu-24_04-lts", "server")


def no_retries(emu: Any) -> Azure:
    return azure(emu, retries=False)


def lb_id(emu: Any, name: str = "lb-web") -> str:
    return f"/subscriptions/{emu.subscription_id}/resourceGroups/{RG}/providers/Microsoft.Network/loadBalancers/{name}"


# Reads outside Compute ------------------------------------------------------------------------------------


def test_a_feature_and_a_load_balancers_probes_are_read(emu):
    client = azure(emu)
    assert client.feature_state("Microsoft.Compute", "MaxSurgeRollingUpgrade") in (
        "Registered",
        "NotRegistered",
    )
    assert client.load_balancer_probes(lb_id(emu)) == ["http-health"]
    assert client.load_balancer_probes(lb_id(emu, "missing")) is None  # 404: it does not exist
    [sent] = [r for r in emu.requests if r.path.endswith("/loadBalancers/lb-web")]
    assert sent.query["api-version"] == "2024-05-01"


def test_a_refused_read_outside_compute_says_what_was_read_and_azures_words(emu):
    emu.faults.add(
        kind="status", status=403, method="GET", path_regex="/features/", code="AuthorizationFailed"
    )
    with pytest.raises(AzureRequestFailed) as caught:
        azure(emu).feature_state("Microsoft.Compute", "MaxSurgeRollingUpgrade")
    emu.faults.clear()
    err = caught.value
    path = f"/subscriptions/{emu.subscription_id}{FEATURE}"
    assert err.message.startswith(f"reading {path}: AuthorizationFailed: The client 'emulator-client'")
    assert (err.code, err.status) == ("AuthorizationFailed", 403)


def test_a_read_outside_compute_that_gets_no_answer_says_what_was_read(emu):
    emu.faults.add(kind="drop", method="GET", path_regex="/loadBalancers/")
    with pytest.raises(AzureRequestFailed) as caught:
        no_retries(emu).load_balancer_probes(lb_id(emu))
    emu.faults.clear()
    assert caught.value.message.startswith(f"reading {lb_id(emu)}: ")
    assert "dropped" in caught.value.message and caught.value.transient


@pytest.mark.parametrize(
    ("status", "body", "kind", "said", "code"),
    [
        (500, b"<html>oops</html>", "text/html", "500: <html>oops</html>", None),
        (500, b'{"error": "flat"}', "application/json", '500: {"error": "flat"}', None),
        (503, b'["x"]', "application/json", '503: ["x"]', None),
        (400, b'{"error": {"code": "Bad"}}', "application/json", 'Bad: {"error": {"code": "Bad"}}', "Bad"),
    ],
    ids=["html", "flat-error", "list", "code-only"],
)
def test_an_error_answer_outside_compute_is_said_as_given(emu, status, body, kind, said, code):
    def rule(seen: Seen, answer: Any) -> bool:
        if "/features/" not in seen.path:
            return False
        answer.h.send_response(status)
        answer.h.send_header("Content-Type", kind)
        answer.h.send_header("Content-Length", str(len(body)))
        answer.h.end_headers()
        answer.h.wfile.write(body)
        return True

    with hostile_server(emu) as server:
        server.rule = rule
        client = azure(server, retries=False)
        with pytest.raises(AzureRequestFailed) as caught:
            client.feature_state("Microsoft.Compute", "MaxSurgeRollingUpgrade")
    err = caught.value
    assert err.message == f"reading /subscriptions/{emu.subscription_id}{FEATURE}: {said}"
    assert (err.code, err.status) == (code, status)


@pytest.mark.parametrize(
    ("body", "state", "probes"),
    [
        (b"[1, 2]", None, None),
        (b'"Registered"', None, None),
        (b"null", None, None),
        (b'{"properties": ["state"]}', None, []),
        (
            b'{"properties": {"state": "Pending", "probes": [{"name": "a"}, "b", {"name": "c"}]}}',
            "Pending",
            ["a", "c"],
        ),
    ],
    ids=["list", "string", "null", "properties-list", "probes-mixed"],
)
def test_an_answer_outside_compute_that_is_not_an_object_is_no_document(emu, body, state, probes):
    def rule(seen: Seen, answer: Any) -> bool:
        if "/features/" in seen.path or "/loadBalancers/" in seen.path:
            answer.send(200, body)
            return True
        return False

    with hostile_server(emu) as server:
        server.rule = rule
        client = azure(server)
        assert client.feature_state("Microsoft.Compute", "MaxSurgeRollingUpgrade") == state
        path = f"/subscriptions/{emu.subscription_id}/resourceGroups/{RG}/providers/Microsoft.Network/"
        assert client.load_balancer_probes(path + "loadBalancers/lb-web") == probes


def test_an_answer_outside_compute_that_is_not_json_is_one_failure(emu):
    def rule(seen: Seen, answer: Any) -> bool:
        if "/features/" not in seen.path:
            return False
        answer.h.send_response(200)
        answer.h.send_header("Content-Type", "text/plain")
        answer.h.send_header("Content-Length", "4")
        answer.h.end_headers()
        answer.h.wfile.write(b"okay")
        return True

    with hostile_server(emu) as server:
        server.rule = rule
        client = azure(server)
        with pytest.raises(AzureRequestFailed) as caught:
            client.feature_state("Microsoft.Compute", "MaxSurgeRollingUpgrade")
    assert (
        caught.value.message
        == f"reading /subscriptions/{emu.subscription_id}{FEATURE}: the answer was not JSON"
    )


# The latest upgrade, and what another client read ----------------------------------------------------------


def test_no_upgrade_yet_is_none_with_azures_clock(emu):
    client = azure(emu)
    client.scale_set(ref(emu))
    emu.clock.advance(300)
    reading = client.latest_reading(ref(emu))
    assert reading.value is None
    assert reading.server_time == emu.clock.now()


def test_a_scale_set_another_client_read_is_not_read_again_for_a_404(emu):
    emu.faults.add(
        kind="status",
        status=404,
        method="GET",
        path_regex=r"/rollingUpgrades/latest$",
        code="ResourceNotFound",
        message="The Resource 'Microsoft.Compute/virtualMachineScaleSets/web' under resource group "
        "'rg-demo' was not found.",
    )
    reader, other = azure(emu), azure(emu)
    other.scale_set_exists(ref(emu), reader.scale_set(ref(emu)))
    emu.clear_requests()
    assert other.latest_upgrade(ref(emu)) is None  # no upgrade yet: the scale set is known to exist
    emu.faults.clear()
    assert [r.path.rsplit("/", 1)[-1] for r in emu.requests] == ["latest"]
    fresh = azure(emu)
    fresh.scale_set_exists(ref(emu))
    emu.clear_requests()
    assert fresh.latest_upgrade(ref(emu)) is None
    assert [r.path.rsplit("/", 1)[-1] for r in emu.requests] == ["latest"]


# Starting, approving, the history ---------------------------------------------------------------------------


@pytest.fixture
def auto(emu: Any) -> Any:
    emu.load_scenario("automatic-os")
    return emu


def test_start_returns_azures_operation_and_leaves_no_poller(auto):
    client = azure(auto)
    auto.publish_image(*IMAGE, "1.0.1")
    before = lro_pollers()
    url = client.start(ref(auto), "os")
    assert lro_pollers() - before == set()
    assert url is not None and "/operations/" in url
    assert client.operation_status(url).status == "InProgress"
    latest = client.latest_upgrade(ref(auto))
    assert latest is not None and latest.running


@pytest.mark.parametrize("kind", ["os", "extension"])
def test_a_refused_start_is_named_by_what_was_started(emu, kind):
    emu.faults.add(kind="status", status=409, method="POST", code="OperationNotAllowed", message="Busy.")
    with pytest.raises(Conflict) as caught:
        azure(emu).start(ref(emu), kind)
    emu.faults.clear()
    assert caught.value.message == f"starting the {kind} rolling upgrade of web: OperationNotAllowed: Busy."


def test_a_start_whose_answer_is_lost_but_took_effect_says_so(auto, caplog):
    auto.publish_image(*IMAGE, "1.0.1")
    auto.faults.add(kind="drop", method="POST", after_commit=True, count=1)
    with caplog.at_level(logging.INFO, logger="vmssroll.adapter"):
        assert azure(auto).start(ref(auto), "os") is None  # the answer, and its operation, were lost
    said = [r.getMessage() for r in caplog.records if "took effect" in r.getMessage()]
    assert said == [
        "starting the os rolling upgrade of web: no answer, but the latest upgrade shows it took effect"
    ]


def deferred(emu: Any) -> None:
    policy = {"enableAutomaticOSUpgrade": True, "osRollingUpgradeDeferral": True}
    patch(emu, {"properties": {"upgradePolicy": {"automaticOSUpgradePolicy": policy}}})
    emu.clock.advance(3600)  # 1.1.0 is published, and waits for approval


@pytest.mark.parametrize("ids", [None, ["0", "1"]])
def test_approve_returns_azures_operation_and_leaves_no_poller(auto, ids):
    deferred(auto)
    client = azure(auto)
    auto.clear_requests()
    before = lro_pollers()
    url = client.approve(ref(auto), ids)
    assert lro_pollers() - before == set()
    assert url is not None and "monitor=true" in url
    [sent] = [r for r in auto.requests if r.method == "POST"]
    assert sent.path.endswith("/approveRollingUpgrade")
    assert sent.body == (None if ids is None else {"instanceIds": ids})
    assert client.operation_status(url).status == "InProgress"


def test_a_refused_approve_is_named_by_what_was_approved(auto):
    patch(
        auto,
        {"properties": {"upgradePolicy": {"automaticOSUpgradePolicy": {"osRollingUpgradeDeferral": True}}}},
    )
    with pytest.raises(Conflict) as caught:
        azure(auto).approve(ref(auto), None)
    assert caught.value.message.startswith("approving the deferred OS upgrade of web: OperationNotAllowed: ")


def test_the_os_upgrade_history_is_read_with_each_upgrade(auto):
    client = azure(auto)
    assert client.os_upgrade_history(ref(auto)).value == []
    for version in ("1.0.1", "1.0.2"):
        auto.publish_image(*IMAGE, version)
        client.start(ref(auto), "os")
        auto.clock.advance(600)
    reading = client.os_upgrade_history(ref(auto))
    assert [u.target.get("version") for u in reading.value] == ["1.0.2", "1.0.1"]
    assert [u.started_by for u in reading.value] == ["User", "User"]
    assert reading.pages == 1 and reading.server_time == auto.clock.now()


def test_a_refused_history_read_is_named_by_what_was_read(auto):
    auto.faults.add(kind="status", status=409, method="GET", path_regex="/osUpgradeHistory", message="No.")
    with pytest.raises(AzureRequestFailed) as caught:
        azure(auto).os_upgrade_history(ref(auto))
    auto.faults.clear()
    assert caught.value.message.startswith("reading the OS upgrade history of web: ")
    assert caught.value.message.endswith("No.")


def test_a_history_answer_that_is_not_an_object_names_its_page(auto):
    with hostile_server(auto) as server:

        def rule(seen: Seen, answer: Any) -> bool:
            if "/osUpgradeHistory" not in seen.path:
                return False
            answer.send(200, json.dumps(["x"]).encode())
            return True

        server.rule = rule
        client = azure(server)
        with pytest.raises(AzureRequestFailed) as caught:
            client.os_upgrade_history(ref(auto))
    assert caught.value.message == (
        "reading the OS upgrade history of web, page 1: Azure's answer could not be read "
        "(a list where an object was expected)"
    )


@pytest.mark.parametrize(
    "body",
    [b"<html>Service Unavailable</html>", b"{not json", b"[1, 2"],
    ids=["html", "truncated", "cut-list"],
)
def test_a_200_that_says_json_but_is_not_is_unreadable_not_ok(emu, body):
    """Fails on the old code: the SDK's DecodeError carries the answer's reason, and the line said
    "reading scale set web: OK"."""

    def rule(seen: Seen, answer: Any) -> bool:
        if seen.method == "GET" and (seen.path.split("?")[0].endswith("/web") or "/operations/" in seen.path):
            answer.send(200, body)  # Content-Type: application/json
            return True
        return False

    with hostile_server(emu) as server:
        server.rule = rule
        client = azure(server)
        with pytest.raises(AzureRequestFailed) as read:
            client.scale_set(ref(emu))
        url = f"{server.url}/subscriptions/{emu.subscription_id}/providers/Microsoft.Compute/locations/x/"
        with pytest.raises(AzureRequestFailed) as polled:
            client.operation_status(url + "operations/y?api-version=2026-04-01")
    assert read.value.message == "reading scale set web: Azure's answer could not be read (JSONDecodeError)"
    assert polled.value.message == (
        "reading the upgrade's operation: Azure's answer could not be read (JSONDecodeError)"
    )
    assert read.value.hint == "nothing was changed by reading; re-run, and report it if it persists"
    assert read.value.transient  # worth asking again: a write's wait does
