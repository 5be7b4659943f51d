"""Independent reads sent together (issue 19): with the emulator answering after a real latency, the request
log shows them in flight at the same time; reads that depend on another wait for it; pages stay in order; a
failing read among them is still reported as unknown; and the token is fetched while the SDK is imported.

Small latencies (30 ms) and a few requests each: these tests assert what overlaps, never how long it took.
The emulator's gate holds the answers until the requests expected together have all arrived (5 s at most),
so a busy machine, where a new TLS connection can take longer than the latency, cannot make them look apart;
requests sent one after another never overlap, gate or not."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from itertools import pairwise
from typing import Any

import pytest

from tests.helpers import push_image, set_rolling, sigint_default, target
from vmssroll.emulator import Emulator, RequestRecord
from vmssroll.emulator.latency import Gate, Latency
from vmssroll.emulator.scenarios import load

LATENCY = Latency(0.03)


def kind(record: RequestRecord) -> str:
    last = record.path.rsplit("/", 1)[-1]
    return {"web": "scale set", "latest": "latest", "virtualMachines": "page"}.get(last, last)


def overlapping(records: list[RequestRecord]) -> bool:
    """Every one of them was in flight at once: each arrived before any was answered."""
    return max(r.received for r in records) < min(r.answered for r in records)


def by_kind(emu: Emulator) -> dict[str, list[RequestRecord]]:
    found: dict[str, list[RequestRecord]] = {}
    for record in emu.requests:
        found.setdefault(kind(record), []).append(record)
    return found


def test_status_sends_its_three_reads_together(vmssroll, emu):
    emu.latency, emu.gate = LATENCY, Gate(3)
    result = vmssroll("status", *target(), "-o", "json")
    assert result.exit_code == 0, result.output
    assert result.json()["instances"]["total"] == 10
    reads = by_kind(emu)
    assert sorted(reads) == ["latest", "page", "scale set"]
    assert overlapping([reads["scale set"][0], reads["latest"][0], reads["page"][0]])


def test_the_pages_after_the_first_follow_each_other_in_order(vmssroll, emu):
    emu.page_size = 4  # 10 instances: three pages
    try:
        emu.load_scenario(load("uniform-probe") | {"latency": "30ms"})
        emu.gate = Gate(3)  # the scale set, the latest upgrade, the first page
        result = vmssroll("status", *target(), "-o", "json")
    finally:
        emu.page_size = emu.arm.page_size = 100
    assert result.exit_code == 0, result.output
    assert result.json()["instances"]["total"] == 10
    pages = by_kind(emu)["page"]
    assert [p.query.get("$skiptoken") for p in pages] == [None, "4", "8"]
    assert all(later.received >= earlier.answered for earlier, later in pairwise(pages))
    assert overlapping([by_kind(emu)["scale set"][0], pages[0]])  # the first page went with the others


def test_check_lists_the_instances_while_it_reads_the_model_and_then_the_probe(vmssroll, emu):
    emu.latency, emu.gate = LATENCY, Gate(2, 2)
    result = vmssroll("check", *target(), "--for", "max-surge")
    assert result.exit_code in (0, 3), result.output
    reads = by_kind(emu)
    scale_set, page = reads["scale set"][0], reads["page"][0]
    balancer, feature = reads["lb-web"][0], reads["MaxSurgeRollingUpgrade"][0]
    assert overlapping([scale_set, page])
    # the probe's load balancer and the feature are named by the model: asked for once it came, together
    assert balancer.received >= scale_set.answered and feature.received >= scale_set.answered
    assert overlapping([balancer, feature])


def test_a_watch_refresh_reads_the_status_and_the_instances_together(vmssroll, emu):
    emu.latency, emu.gate = LATENCY, Gate(3)
    result = vmssroll("watch", *target(), "--timeout", "1m")  # no upgrade has run: one refresh ends it
    assert result.exit_code == 0, result.output
    reads = by_kind(emu)
    assert [len(reads[k]) for k in ("scale set", "latest", "page")] == [1, 1, 1]
    assert overlapping([reads["scale set"][0], reads["latest"][0], reads["page"][0]])


def test_a_failing_read_among_them_is_unknown_with_its_reason_and_the_others_are_kept(vmssroll, emu):
    emu.latency, emu.gate = LATENCY, Gate(3)
    emu.faults.add(kind="status", status=403, method="GET", path_regex=r"/virtualMachines$")
    result = vmssroll("status", *target(), "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert doc["unknown"] == {"instances": "listing refused: 403 AuthorizationFailed"}
    assert doc["scaleSet"]["name"] == "web" and doc["message"]  # the scale set and the status are all there
    reads = by_kind(emu)
    assert overlapping([reads["scale set"][0], reads["latest"][0], reads["page"][0]])


def test_a_primary_read_that_fails_ends_the_command_as_before(vmssroll, emu):
    emu.latency = LATENCY
    emu.faults.add(kind="status", status=403, method="GET", path_regex=r"/latest$")
    result = vmssroll("status", *target())
    assert result.exit_code == 9, result.output
    assert result.stderr.count("error:") == 1 and "latest rolling upgrade" in result.stderr


class CountingCredential:
    """A credential that takes its time and counts how often it is asked (a test double for az)."""

    def __init__(self) -> None:
        from azure.core.credentials import AccessToken

        self.calls = 0
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.token = AccessToken("counting-credential-token", 4_102_444_800)

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        with self.lock:
            self.calls += 1
        self.release.wait(30)
        return self.token


def test_the_client_is_built_while_the_token_is_fetched_and_every_read_shares_it(vmssroll, emu, mocker):
    from tests.helpers import azure

    credential = CountingCredential()
    mocker.patch("vmssroll.adapter.client.credential_for", return_value=credential)
    client = azure(emu)  # returns while the token is still being fetched: nothing waited for it
    assert credential.calls == 1 and not credential.release.is_set()
    credential.release.set()
    emu.clear_requests()
    emu.latency, emu.gate = LATENCY, Gate(3)
    from vmssroll.adapter.parallel import together
    from vmssroll.domain.target import ScaleSetRef

    ref = ScaleSetRef(emu.subscription_id, "rg-demo", "web")
    together(lambda: client.scale_set(ref), lambda: client.latest_upgrade(ref), lambda: client.instances(ref))
    assert credential.calls == 1  # one token for the three threads' first requests
    assert overlapping(emu.requests)


def test_a_watch_asks_for_one_token_although_it_reads_with_two_clients(vmssroll, emu, mocker):
    # The watch's refreshes go through a client without retries, its first reads through one with them: with
    # the Azure CLI behind the credential, each token asked for is most of a second and a process of its own.
    credential = CountingCredential()
    credential.release.set()
    mocker.patch("vmssroll.adapter.client.credential_for", return_value=credential)
    result = vmssroll("watch", *target(), "-o", "json")
    assert result.exit_code == 0, result.output
    assert {r.path.rsplit("/", 1)[-1] for r in emu.requests} >= {"web", "latest", "virtualMachines"}
    assert credential.calls == 1


def test_a_credential_failing_in_the_background_fails_the_first_request_with_one_line(vmssroll, emu, mocker):
    from vmssroll.domain.errors import AuthFailed

    class Failing:
        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            raise AuthFailed("no Azure credential found", hint="run `az login`")

    mocker.patch("vmssroll.adapter.client.credential_for", return_value=Failing())
    result = vmssroll("status", *target())
    assert result.exit_code == 9, result.output
    assert result.stderr.splitlines() == ["error: no Azure credential found (run `az login`)"]  # said once
    assert emu.requests == []  # nothing was sent without a token


# In a fresh interpreter (the SDK not yet imported): the credential is asked before the SDK's client module
# has finished importing, and the import finishes while the token is still on its way.
OVERLAP_CHILD = textwrap.dedent(
    """
    import sys, threading, time
    from unittest import mock
    from vmssroll.adapter.connection import resolve_connection

    seen = {}

    def sdk_loaded():
        module = sys.modules.get("azure.mgmt.compute")
        return module is not None and hasattr(module, "ComputeManagementClient")

    class SlowAz:  # a stand-in for the Azure CLI: most of a second per token
        def get_token(self, *scopes, **kwargs):
            seen["sdk loaded when asked"] = sdk_loaded()
            deadline = time.monotonic() + 60
            while not sdk_loaded() and time.monotonic() < deadline:
                time.sleep(0.01)
            seen["sdk loaded while waiting"] = sdk_loaded()
            from azure.core.credentials import AccessToken
            return AccessToken("slow-az-token", 4102444800)

    conn = resolve_connection(cloud="AzureCloud", endpoint=None, ca_bundle=None, subscription="s" * 8)
    with mock.patch("vmssroll.adapter.client.credential_for", return_value=SlowAz()):
        from vmssroll.adapter.client import Azure
        azure = Azure(conn)
        azure.credential.get_token(conn.scope)
    print(seen)
    """
)


def test_the_token_is_fetched_while_the_sdk_is_imported():
    done = subprocess.run(
        [sys.executable, "-c", OVERLAP_CHILD], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == str(
        {"sdk loaded when asked": False, "sdk loaded while waiting": True}
    )


def test_plan_reads_the_model_and_the_instances_together(vmssroll, emu):
    emu.latency, emu.gate = LATENCY, Gate(2)
    result = vmssroll("plan", *target())
    assert result.exit_code in (0, 3), result.output
    reads = by_kind(emu)
    assert overlapping([reads["scale set"][0], reads["page"][0]])


def test_a_write_reads_the_latest_upgrade_and_the_instances_together_for_its_consequence(vmssroll, emu):
    emu.latency, emu.gate = LATENCY, Gate(1, 2)  # the model first, alone
    result = vmssroll("set-image", *target(), "--version", "2.0.0", "--dry-run")
    assert result.exit_code in (0, 3), result.output
    reads = by_kind(emu)
    assert overlapping([reads["latest"][0], reads["page"][0]])
    assert not [r for r in emu.requests if r.method != "GET"]  # a dry run sends nothing


@pytest.mark.parametrize("words", [("restart",), ("start", "extension")], ids=["restart", "start-extension"])
def test_a_write_that_starts_an_upgrade_reads_the_model_the_latest_and_the_instances_together(
    vmssroll, emu, words
):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.clock.advance(100)
    assert vmssroll("cancel", *target(), "--yes").exit_code == 0  # stopped midway: instances behind the model
    emu.clear_requests()
    emu.latency, emu.gate = LATENCY, Gate(3)
    result = vmssroll(*words, *target(), "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    reads = by_kind(emu)
    assert overlapping([reads["scale set"][0], reads["latest"][0], reads["page"][0]])
    assert [r.method for r in emu.requests[:3]] == ["GET"] * 3  # nothing is written before all three


STUCK_CHILD = textwrap.dedent(
    """
    import time
    from vmssroll.adapter.parallel import together
    def first():  # runs once the other thread has started
        print("reading", flush=True)
        time.sleep(300)
    together(first, lambda: time.sleep(300))  # a server that never answers, twice
    """
)


def test_ctrl_c_during_reads_sent_together_ends_at_once_whatever_the_other_threads_wait_for():
    import signal

    child = subprocess.Popen(
        [sys.executable, "-c", STUCK_CHILD],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_default,
    )
    assert child.stdout is not None and child.stdout.readline() == "reading\n"
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)  # not the 300 s the other thread's read would take
    assert child.returncode != 0 and "KeyboardInterrupt" in err
