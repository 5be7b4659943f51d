"""`vmssroll fleet rollout` end to end: the real SDK against the emulator on its simulated clock, a fleet of
small Rolling scale sets in three regions, run in three waves."""

from __future__ import annotations

import copy
import itertools
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from tests.cli.test_rollout import HookClock, events
from tests.helpers import WRITES

SUB = "6f1c9b2e-0d3a-4c7e-9a51-2b8f4e7d1a01"
REGIONS = {"westus2": ["w1"], "eastus": ["e1", "e2", "e3"], "northeurope": ["n1", "n2"]}
GALLERY = (
    f"/subscriptions/{SUB}/resourceGroups/rg-images/providers/Microsoft.Compute/galleries/gallery/images/web"
)


def scenario(capacity: int = 4, broken: dict[str, str] | None = None) -> dict[str, Any]:
    """Six Rolling scale sets (one in westus2, three in eastus, two in northeurope) on image 1.0.0; the
    `broken` sets turn unhealthy on the given version (Azure faults their upgrade)."""
    from vmssroll.emulator import scenarios

    base = scenarios.load("uniform-probe")
    template = base["scale_sets"][0]
    sets = []
    for region, names in REGIONS.items():
        for name in names:
            spec = copy.deepcopy(template)
            spec.update(
                name=f"web-{name}",
                location=region,
                capacity=capacity,
                zones=None,
                upgrade_policy={
                    "mode": "Rolling",
                    "rollingUpgradePolicy": {
                        "maxBatchInstancePercent": 50,
                        "maxUnhealthyInstancePercent": 50,  # an undo may run past an unhealthy one
                        "pauseTimeBetweenBatches": "PT0S",
                    },
                },
                image={"id": f"{GALLERY}/versions/1.0.0"},
                timings={"updating": 20, "initializing": 10, "write": 20, "write_retry_after": 10},
                tags={"app": "web", "env": "prod"},
            )
            if broken and spec["name"] in broken:
                spec["health_rules"] = [{"image_version": broken[spec["name"]], "health": "unhealthy"}]
            sets.append(spec)
    return {**base, "scale_sets": sets}


def fleet_file(tmp_path: Path, **changes: Any) -> str:
    doc: dict[str, Any] = {
        "name": "web-2.0",
        "change": {"image_version": "2.0.0"},
        "targets": {"subscriptions": [SUB], "tags": {"app": "web"}},
        "waves": [
            {"name": "canary", "select": {"regions": ["westus2"]}},
            {"name": "ring", "select": {"regions": ["eastus"]}, "max_parallel": 2, "bake": "5m"},
            {"name": "rest", "max_parallel": 5},
        ],
        **changes,
    }
    path = tmp_path / "fleet.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def version(emu, name: str) -> str:
    ss = emu.vmss("rg-demo", name)
    return str(ss["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]["id"]).rsplit(
        "/", 1
    )[-1]


def phase(emu, name: str) -> str | None:
    return (emu.vmss("rg-demo", name).get("tags") or {}).get("vmssroll.phase")


def set_writes(emu, name: str) -> list[tuple[str, str]]:
    return [
        (r.method, r.path)
        for r in emu.requests
        if r.method in WRITES and f"/virtualMachineScaleSets/{name}" in r.path
    ]


def requests_to(emu, name: str) -> list[str]:
    return [f"{r.method} {r.path}" for r in emu.requests if f"/virtualMachineScaleSets/{name}" in r.path]


def image_patches(emu, name: str) -> int:
    return sum(
        1
        for r in emu.requests
        if r.method == "PATCH"
        and f"/virtualMachineScaleSets/{name}" in r.path
        and "imageReference" in json.dumps(getattr(r, "body", None) or {})
    )


ALL = [f"web-{n}" for names in REGIONS.values() for n in names]


def test_a_three_wave_fleet_completes_wave_after_wave(vmssroll, emu, tmp_path):
    emu.load_scenario(scenario())
    emu.clear_requests()
    result = vmssroll("fleet", "rollout", fleet_file(tmp_path), "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    assert all(version(emu, n) == "2.0.0" and phase(emu, n) == "done" for n in ALL)
    assert all(
        vm["latest_model_applied"] for n in ALL for vm in emu.vms("rg-demo", n)
    )  # every instance upgraded
    found = events(result.stdout)
    kinds = [e["event"] for e in found]
    assert kinds[-1] == "done"
    waves = [(e["wave"], e["state"]) for e in found if e["event"] == "wave"]
    assert waves == [
        ("canary", "started"), ("canary", "done"), ("ring", "started"), ("ring", "baking"), ("ring", "done"),
        ("rest", "started"), ("rest", "done"),
    ]  # fmt: skip
    # a set of a later wave is started only after every set of the wave before it is done
    assert {e["batch"] for e in found if e["event"] == "set" and e["state"] == "rolling"} == {"1/2", "2/2"}
    order = [e["scaleSet"] for e in found if e["event"] == "set" and e["state"] == "starting"]
    assert order[0] == "web-w1" and set(order[1:4]) == {"web-e1", "web-e2", "web-e3"}
    assert set(order[4:]) == {"web-n1", "web-n2"}
    # each set's change was sent once
    assert all(image_patches(emu, n) == 1 for n in ALL)
    assert result.stderr.splitlines()[0] == (
        "Fleet web-2.0: image version 2.0.0 to 6 set(s) in 3 wave(s) (canary 1, ring 3, rest 2); 0 already done"
    )
    starting = [e for e in found if e["event"] == "set" and e["state"] == "starting"]
    assert all(e["percent"] == 0 and e["detail"] == "image version 2.0.0 sent" for e in starting)
    for name in ALL:  # each set's record: this fleet's, the image it set and the one before, no reason
        record = emu.vmss("rg-demo", name)["tags"]
        assert record["vmssroll.rollout"] == "fleet:web-2.0" and record["vmssroll.kind"] == "image"
        assert json.loads(record["vmssroll.target"]) == {"id": f"{GALLERY}/versions/2.0.0"}
        assert json.loads(record["vmssroll.previous"]) == {"id": f"{GALLERY}/versions/1.0.0"}
        assert "vmssroll.reason" not in record and record["vmssroll.total"] == "4"
    # a finished set is never read again: no request to a wave's sets once the next wave began
    paths = [r.path for r in emu.requests]

    def first(name: str) -> int:
        return next(i for i, p in enumerate(paths) if p.endswith(f"/{name}") or f"/{name}/" in p)

    def last(name: str) -> int:
        return max(i for i, p in enumerate(paths) if p.endswith(f"/{name}") or f"/{name}/" in p)

    assert last("web-w1") < first("web-e1")
    assert max(last(n) for n in ("web-e1", "web-e2", "web-e3")) < min(first(n) for n in ("web-n1", "web-n2"))


def test_a_fault_in_wave_2_halts_the_fleet_and_wave_3_gets_no_request(vmssroll, emu, tmp_path):
    emu.load_scenario(scenario(broken={"web-e2": "2.0.0"}))
    emu.clear_requests()
    result = vmssroll("fleet", "rollout", fleet_file(tmp_path), "--yes", "-o", "json")
    assert result.exit_code == 5, result.output
    found = events(result.stdout)
    halt = next(e for e in found if e["event"] == "halt")
    assert "1 set(s) failed, more than the 0 allowed" in halt["message"] and "web-e2" in halt["message"]
    assert found[-1]["event"] == "stopped" and found[-1]["exitCode"] == 5
    # wave 3: not a single request (the subscription's listing aside)
    assert requests_to(emu, "web-n1") == [] and requests_to(emu, "web-n2") == []
    assert version(emu, "web-n1") == "1.0.0" and phase(emu, "web-n1") is None
    # wave 1 finished; in wave 2 Azure faulted e2 (its record left as Azure's state says), the fleet stopped
    # e1, which rolled beside it (recorded before its cancel), and e3 was never started
    assert phase(emu, "web-w1") == "done"
    assert phase(emu, "web-e2") == "rolling"
    assert phase(emu, "web-e1") in ("stopped", "done")
    assert phase(emu, "web-e3") is None and set_writes(emu, "web-e3") == []


def test_the_stop_rule_undoes_the_wave_when_the_file_says_so(vmssroll, emu, tmp_path):
    emu.load_scenario(scenario(broken={"web-e2": "2.0.0"}))
    path = fleet_file(tmp_path, stop={"max_faulted": 0, "undo": "wave"})
    result = vmssroll("fleet", "rollout", path, "--yes")
    assert result.exit_code == 5, result.output
    assert "halted: 1 set(s) failed" in result.stdout
    for name in ("web-e1", "web-e2"):
        assert version(emu, name) == "1.0.0", name
        assert phase(emu, name) == "undone", name
        assert all(vm["latest_model_applied"] for vm in emu.vms("rg-demo", name))
    assert phase(emu, "web-w1") == "done" and version(emu, "web-w1") == "2.0.0"  # an earlier wave stays
    assert version(emu, "web-e3") == "1.0.0" and phase(emu, "web-e3") is None


def test_max_faulted_lets_the_fleet_go_on_past_one_fault(vmssroll, emu, tmp_path):
    emu.load_scenario(scenario(broken={"web-e2": "2.0.0"}))
    result = vmssroll("fleet", "rollout", fleet_file(tmp_path, stop={"max_faulted": 1}), "--yes")
    assert result.exit_code == 0, result.output
    assert all(phase(emu, n) == "done" for n in ALL if n != "web-e2")
    # off a terminal: one timestamped line per change, on stdout
    lines = result.stdout.splitlines()
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", line) for line in lines), lines
    faulted = r"Z ring: web-e2 \(rg-demo\) faulted \d+%: Azure stopped the upgrade \(Faulted: MaxUnhealthy"
    assert any(re.search(faulted, line) for line in lines), lines
    assert lines[-1].endswith(
        "Fleet web-2.0 done: 6 set(s) in 3 wave(s); 1 failed, within the 1 the stop rule allows: web-e2 (faulted)"
    )


def test_on_a_terminal_the_live_view_shows_each_set_and_each_waves_progress(vmssroll, emu, tmp_path):
    emu.load_scenario(scenario())
    result = vmssroll("fleet", "rollout", fleet_file(tmp_path), "--yes", tty=True, width=120)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Fleet web-2.0: image version 2.0.0" in out
    assert "Fleet web-2.0 done: 6 set(s) in 3 wave(s)" in out
    final = out[out.rindex("Fleet web-2.0: image version 2.0.0") :]  # the last frame
    for name in ALL:
        assert re.search(rf"{name}\s+rg-demo\s+\w+\s+done\s+100%", final), name
    assert "3/3" in final and "2/2" in final and "1/1" in final
    # the view is redrawn after each pass in which a set changed, not only when a wave event is printed: the
    # canary's row goes through every state and batch Azure reported while it rolled
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)
    seen: list[str] = []
    for frame in plain.split("Fleet web-2.0: image version 2.0.0 · ")[1:]:
        row = re.search(
            r"^canary\s+web-w1\s+rg-demo\s+westus2\s+(\w+\s+\d+%(\s+\d/\d)?(\s+RollingForward|\s+image .* sent)?)",
            frame,
            re.M,
        )
        assert row, frame
        if not seen or seen[-1] != " ".join(row[1].split()):
            seen.append(" ".join(row[1].split()))
    assert seen == [
        "starting 0% image version 2.0.0 sent", "rolling 0% 1/2 RollingForward", "rolling 50% 2/2 RollingForward",
        "done 100%",
    ]  # fmt: skip


def test_ctrl_c_in_wave_2_then_a_rerun_finishes_without_repeating_wave_1(vmssroll, emu, tmp_path):
    emu.load_scenario(scenario())
    path = fleet_file(tmp_path)

    def ring_rolling() -> bool:
        return phase(emu, "web-e1") == "rolling"

    def interrupt() -> None:
        raise KeyboardInterrupt

    first = vmssroll("fleet", "rollout", path, "--yes", clock=HookClock(emu, ring_rolling, interrupt))
    assert first.exit_code == 130, first.output
    assert "run it again to continue" in first.stderr
    assert phase(emu, "web-w1") == "done" and phase(emu, "web-n1") is None
    emu.clear_requests()
    again = vmssroll("fleet", "rollout", path, "--yes", "-o", "json")
    assert again.exit_code == 0, again.output
    assert requests_to(emu, "web-w1") == []  # wave 1 is done: not read, not written
    assert all(version(emu, n) == "2.0.0" and phase(emu, n) == "done" for n in ALL)
    assert all(image_patches(emu, n) <= 1 for n in ALL)
    # the sets the first run started were followed, not changed again
    assert image_patches(emu, "web-e1") == 0


def test_two_concurrent_runners_never_change_one_set_twice(emu, tmp_path):
    """Two runners of one fleet in two processes, the emulator's clock moving on in real time beside them.
    Both runners read the canary with the same etag: If-Match lets one change it, the other gets 412 and
    follows what the first started."""
    import os
    import subprocess
    import sys
    import threading
    import time

    emu.load_scenario(scenario())
    waves = [  # no bake: the runners' clock is the real one
        {"name": "canary", "select": {"regions": ["westus2"]}},
        {"name": "ring", "select": {"regions": ["eastus"]}, "max_parallel": 2},
        {"name": "rest", "max_parallel": 5},
    ]
    path = fleet_file(tmp_path, waves=waves)
    # the canary's two PATCHes are held until both arrived (both runners read the same etag first, however far
    # apart a loaded machine starts them): one wins, the other meets If-Match and gets 412
    from vmssroll.emulator.latency import Gate

    emu.gate = Gate(2, methods=("PATCH",), timeout=60)
    emu.clear_requests()
    env = dict(os.environ, VMSSROLL_ARM_ENDPOINT=emu.url, VMSSROLL_CA_BUNDLE=emu.ca_path, NO_COLOR="1")
    command = [sys.executable, "-m", "vmssroll", "fleet", "rollout", path, "--yes", "--interval", "1s"]
    procs = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    stop = threading.Event()

    def tick() -> None:  # a simulated minute per real second
        while not stop.is_set():
            emu.clock.advance(3.0)
            time.sleep(0.05)

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        outcomes = [(p.wait(timeout=90), p.stdout.read(), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    finally:
        stop.set()
        emu.gate = None
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [code for code, _, _ in outcomes] == [0, 0], "\n".join(e for _, _, e in outcomes)
    assert all(version(emu, n) == "2.0.0" and phase(emu, n) == "done" for n in ALL)
    for name in ALL:  # one change per set, whoever sent it
        changed = [
            r
            for r in emu.requests
            if r.method == "PATCH"
            and r.path.endswith(f"/virtualMachineScaleSets/{name}")
            and "imageReference" in json.dumps(r.body or {})
            and r.status < 300
        ]
        assert len(changed) == 1, (name, changed)
    lost = [r for r in emu.requests if r.method == "PATCH" and r.status == 412]
    assert lost and all(r.path.endswith("/web-w1") for r in lost[:1])
    assert any("claimed by another runner first (412)" in out for _, out, _ in outcomes)


def test_a_fleet_across_three_subscriptions_completes_with_one_client_each(vmssroll, emu, tmp_path):
    emu.load_scenario("fleet")
    subs = ["3f2a8c1e-5b7d-4e9a-8c21-7d4b6e0f1a01", "8b4e2d90-1c3f-4a6b-9e72-5f0d3c8a2b02",
            "c7d19e53-2a84-4f1b-b6e0-9a3c5d7f4e03"]  # fmt: skip
    waves = [
        {"name": "ring0", "select": {"tags": {"ring": "0"}}, "max_parallel": 4},
        {"name": "ring1", "select": {"tags": {"ring": "1"}}, "max_parallel": 8},
        {"name": "rest", "max_parallel": 20},
    ]
    doc = {"name": "web-3.2", "change": {"image_version": "3.2.0"},
           "targets": {"subscriptions": subs, "tags": {"app": "web"}}, "waves": waves}  # fmt: skip
    path = tmp_path / "fleet.json"
    path.write_text(json.dumps(doc))
    emu.clear_requests()
    result = vmssroll("fleet", "rollout", str(path), "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    found = events(result.stdout)
    done = {(e["subscription"], e["scaleSet"]) for e in found if e["event"] == "set" and e["state"] == "done"}
    assert len(done) == 32 and {sub for sub, _ in done} == set(subs)
    listings = [r.path.split("/")[2] for r in emu.requests if r.path.endswith("/virtualMachineScaleSets")]
    assert sorted(listings) == sorted(subs)  # one listing per subscription
    for sub, name in done:
        rg = "rg-web-" + name.split("-")[1]
        model = emu.vmss(rg, name, subscription=sub)
        image = model["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]["id"]
        assert image.endswith("/images/web/versions/3.2.0")
        assert (
            model["tags"]["vmssroll.rollout"] == "fleet:web-3.2" and model["tags"]["vmssroll.phase"] == "done"
        )
    assert not [r.path for r in emu.requests if "/virtualMachineScaleSets/api-" in r.path]  # not a target


def test_a_bad_fleet_file_is_refused_with_every_problem_and_nothing_sent(vmssroll, emu, tmp_path):
    path = tmp_path / "fleet.yaml"
    path.write_text(
        "name: 'web 3.1'\nchange: {image_version: 3.1.0, os_upgrade: true}\nwaves: []\nspeed: 3\n"
    )
    emu.clear_requests()
    result = vmssroll("fleet", "rollout", str(path), "--yes")
    assert result.exit_code == 2, result.output
    for says in ("name", "change", "waves", "speed", "targets"):
        assert says in result.stderr, (says, result.stderr)
    assert emu.requests == []


def test_targets_in_no_wave_refuse_the_fleet_before_any_change(vmssroll, emu, tmp_path):
    emu.load_scenario(scenario())
    waves = [{"name": "canary", "select": {"regions": ["westus2"]}}]
    emu.clear_requests()
    result = vmssroll("fleet", "rollout", fleet_file(tmp_path, waves=waves), "--yes")
    assert result.exit_code == 3, result.output
    assert result.stderr.strip() == (
        "error: 5 target(s) are in no wave: rg-demo/web-e1, rg-demo/web-e2, rg-demo/web-e3, rg-demo/web-n1, "
        "rg-demo/web-n2; nothing was sent (add a wave without `select` to take every target left)"
    )
    assert [r for r in emu.requests if r.method != "GET"] == []


def test_a_gate_failing_in_wave_2_halts_the_fleet_and_cancels_what_rolls(vmssroll, emu, tmp_path):
    emu.load_scenario(scenario())
    flag = tmp_path / "checkout-broken"
    gate = f"if test -e {flag}; then echo 'checkout errors: 12%'; exit 1; fi"
    path = fleet_file(tmp_path, gates=[gate], gate_interval="10s", gate_failures=2)

    def ring_rolling() -> bool:
        return phase(emu, "web-e1") == "rolling" and phase(emu, "web-e2") == "rolling"

    clock = HookClock(emu, ring_rolling, flag.touch)
    result = vmssroll("fleet", "rollout", path, "--yes", "-o", "json", clock=clock)
    assert result.exit_code == 5, result.output
    found = events(result.stdout)
    failing = [e for e in found if e["event"] == "gate" and not e["ok"]]
    assert len(failing) == 2 and "checkout errors: 12%" in failing[-1]["output"]
    halt = next(e for e in found if e["event"] == "halt")
    assert (
        halt["reason"].startswith(f"gate `{gate}` failed (exit 1)") and "2 time(s) in a row" in halt["reason"]
    )
    assert phase(emu, "web-w1") == "done"
    assert phase(emu, "web-e1") == "stopped" and phase(emu, "web-e2") == "stopped"
    for name in ("web-e1", "web-e2"):  # recorded stopped with the halt's reason, then cancelled
        last = [e for e in found if e["event"] == "set" and e["scaleSet"] == name][-1]
        assert last["state"] == "stopped" and last["detail"] == "cancelled by the fleet's halt", last
        assert emu.vmss("rg-demo", name)["tags"]["vmssroll.reason"] == f"fleet halted: {halt['reason']}"
    cancels = [r.path for r in emu.requests if r.method == "POST" and r.path.endswith("/cancel")]
    assert sorted(p.split("/")[-3] for p in cancels) == ["web-e1", "web-e2"]
    assert phase(emu, "web-e3") is None and requests_to(emu, "web-n1") == []


def test_a_set_whose_record_cannot_be_read_is_refused_and_never_written(vmssroll, emu, tmp_path):
    """A person edited a set's record: whose it was cannot be told, so the fleet refuses that set (as
    `rollout` does), sends it nothing and leaves the tags as found; the stop rule counts it. It was taken for
    no record and claimed over."""
    spec = scenario()
    damaged = {"app": "web", "env": "prod", "vmssroll.rollout": "fleet:other", "vmssroll.phase": "half-done"}
    next(s for s in spec["scale_sets"] if s["name"] == "web-n1")["tags"] = damaged
    emu.load_scenario(spec)
    emu.clear_requests()
    result = vmssroll("fleet", "rollout", fleet_file(tmp_path, stop={"max_faulted": 1}), "--yes")
    assert result.exit_code == 0, result.output
    assert set_writes(emu, "web-n1") == [] and emu.vmss("rg-demo", "web-n1")["tags"] == damaged
    assert version(emu, "web-n1") == "1.0.0"
    refused = [line for line in result.stdout.splitlines() if "web-n1" in line and " refused" in line]
    assert refused and "rollout record (tags vmssroll.*) cannot be read" in refused[0], result.stdout
    assert "nothing was sent to it" in refused[0]
    assert all(phase(emu, n) == "done" for n in ALL if n != "web-n1")
    assert result.stdout.splitlines()[-1].endswith(
        "1 failed, within the 1 the stop rule allows: web-n1 (refused)"
    )


def fleet_record(emu, name: str, phase_: str) -> dict[str, str]:
    """The tags another runner of fleet web-2.0 writes on a set it claimed (its image changed to 2.0.0)."""
    from vmssroll.domain.progressive import Kind, Phase, Record

    ss = emu.vmss("rg-demo", name)
    image = ss["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]
    record = Record(
        id="fleet:web-2.0", kind=Kind.IMAGE, phase=Phase(phase_), total=4, previous={"id": image["id"]},
        target={"id": f"{GALLERY}/versions/2.0.0"}, write="0a1b2c3d",
    )  # fmt: skip
    return record.to_tags(ss.get("tags") or {})


def test_a_gate_failing_during_a_bake_halts_the_fleet_and_names_the_bake(vmssroll, emu, tmp_path):
    emu.load_scenario(scenario())
    flag = tmp_path / "checkout-broken"
    gate = f"! test -e {flag}"
    path = fleet_file(tmp_path, gates=[gate], gate_interval="10s", gate_failures=2)

    since: list[datetime] = []

    def a_minute_into_the_bake() -> bool:  # the ring's sets completed, recorded baking, a minute ago
        if not since and all(phase(emu, n) == "baking" for n in ("web-e1", "web-e2", "web-e3")):
            since.append(emu.clock.now())
        return bool(since) and (emu.clock.now() - since[0]).total_seconds() >= 60

    clock = HookClock(emu, a_minute_into_the_bake, flag.touch)
    result = vmssroll("fleet", "rollout", path, "--yes", "-o", "json", clock=clock)
    assert result.exit_code == 5, result.output
    found = events(result.stdout)
    baking = next(i for i, e in enumerate(found) if e["event"] == "wave" and e["state"] == "baking")
    assert found[baking]["message"] == "ring: every set completed; baking 5m00s"
    # through the bake the gates run every gate_interval, as between refreshes
    gates = [e for e in found[baking:] if e["event"] == "gate"]
    times = [datetime.fromisoformat(e["time"].replace("Z", "+00:00")) for e in gates]
    assert len(gates) >= 6 and {(b - a).total_seconds() for a, b in itertools.pairwise(times)} == {10.0}
    assert [e["ok"] for e in gates][-2:] == [False, False]
    halt = next(e for e in found if e["event"] == "halt")
    assert halt["reason"] == f"gate `{gate}` failed (exit 1) 2 time(s) in a row during the bake of ring"
    assert halt["message"] == f"Fleet web-2.0 halted: {halt['reason']}"
    assert found[-1]["event"] == "stopped" and found[-1]["reason"] == halt["reason"]
    # the ring's sets completed: they stay baking (not done), nothing is cancelled, the last wave gets nothing
    assert [phase(emu, n) for n in ("web-e1", "web-e2", "web-e3")] == ["baking"] * 3
    assert [r for r in emu.requests if r.path.endswith("/cancel")] == []
    assert requests_to(emu, "web-n1") == [] and phase(emu, "web-w1") == "done"


def test_a_set_already_upgrading_when_its_turn_comes_is_busy_and_gets_no_change(vmssroll, emu, tmp_path):
    """Someone started an upgrade of web-n1 (a slow one) before the fleet: when its wave comes, the fleet
    finds it running, sends nothing to the set and reports it busy; the stop rule counts it."""
    from tests.helpers import push_image

    spec = scenario()
    slow = next(s for s in spec["scale_sets"] if s["name"] == "web-n1")
    slow["timings"] = {**slow["timings"], "updating": 3600}
    emu.load_scenario(spec)
    push_image(emu, "1.5.0", "web-n1")
    emu.clear_requests()
    result = vmssroll("fleet", "rollout", fleet_file(tmp_path, stop={"max_faulted": 1}), "--yes")
    assert result.exit_code == 0, result.output
    busy = [line for line in result.stdout.splitlines() if " rest: web-n1 " in line]
    assert busy and busy[-1].endswith(" rest: web-n1 (rg-demo) busy: an upgrade is already RollingForward")
    assert set_writes(emu, "web-n1") == [] and phase(emu, "web-n1") is None
    assert version(emu, "web-n1") == "1.5.0"
    assert all(phase(emu, n) == "done" for n in ALL if n != "web-n1")
    assert result.stdout.splitlines()[-1].endswith(
        "1 failed, within the 1 the stop rule allows: web-n1 (busy)"
    )


def test_a_set_another_runner_claimed_since_the_listing_is_followed_not_changed(vmssroll, emu, tmp_path):
    """Between this run's listing and web-n1's turn, another runner of the same fleet claimed web-n1 (its
    image and this fleet's record in one PATCH): this run follows that upgrade and records it done, and never
    sends the change itself."""
    from tests.helpers import patch

    emu.load_scenario(scenario())

    def claim() -> None:
        image = {"id": f"{GALLERY}/versions/2.0.0"}
        body = {"properties": {"virtualMachineProfile": {"storageProfile": {"imageReference": image}}}}
        patch(emu, {**body, "tags": fleet_record(emu, "web-n1", "rolling")}, "web-n1")

    clock = HookClock(emu, lambda: phase(emu, "web-w1") == "done", claim)
    emu.clear_requests()
    result = vmssroll("fleet", "rollout", fleet_file(tmp_path), "--yes", "-o", "json", clock=clock)
    assert result.exit_code == 0, result.output
    found = [e for e in events(result.stdout) if e["event"] == "set" and e["scaleSet"] == "web-n1"]
    assert found[0]["state"] == "rolling" and found[0]["detail"] == "changed by another runner"
    assert found[-1]["state"] == "done" and found[-1]["percent"] == 100
    assert image_patches(emu, "web-n1") == 1  # the other runner's, none of this run's
    assert phase(emu, "web-n1") == "done" and version(emu, "web-n1") == "2.0.0"


def test_a_record_another_runner_moved_on_is_never_written_back(vmssroll, emu, tmp_path):
    """While the canary rolls, another runner of the fleet records it done: when this run sees the upgrade
    complete it does not write `baking` over `done` (nor `done` again)."""
    from tests.helpers import patch

    emu.load_scenario(scenario())

    def done_elsewhere() -> None:
        patch(emu, {"tags": {"vmssroll.phase": "done"}}, "web-w1")

    clock = HookClock(emu, lambda: phase(emu, "web-w1") == "rolling", done_elsewhere)
    emu.clear_requests()
    result = vmssroll("fleet", "rollout", fleet_file(tmp_path), "--yes", clock=clock)
    assert result.exit_code == 0, result.output
    this_run = [r for r in emu.requests if r.method == "PATCH" and r.path.endswith("/web-w1")]
    assert len(this_run) == 2  # this run's claim, then the other runner's `done`; nothing after it
    assert phase(emu, "web-w1") == "done" and all(phase(emu, n) == "done" for n in ALL)


def test_an_extension_fleet_sends_the_extension_upgrade_to_each_set(vmssroll, emu, tmp_path):
    emu.load_scenario(scenario())
    waves = [{"name": "all", "max_parallel": 6}]
    emu.clear_requests()
    result = vmssroll(
        "fleet",
        "rollout",
        fleet_file(tmp_path, change={"extensions": True}, waves=waves),
        "--yes",
        "-o",
        "json",
    )
    assert result.exit_code == 0, result.output
    started = [r.path.split("/")[-2] for r in emu.requests if r.path.endswith("/extensionRollingUpgrade")]
    assert sorted(started) == sorted(ALL)
    starting = [e for e in events(result.stdout) if e["event"] == "set" and e["state"] == "starting"]
    assert {e["scaleSet"] for e in starting} == set(ALL)
    assert all(e["percent"] == 0 and e["detail"] == "extension upgrade sent" for e in starting), starting
    assert all(phase(emu, n) == "done" and version(emu, n) == "1.0.0" for n in ALL)


def test_an_os_fleet_refuses_sets_on_a_gallery_image_and_sends_nothing(vmssroll, emu, tmp_path):
    from vmssroll.domain.image import os_upgrade_refusal

    emu.load_scenario(scenario())
    waves = [{"name": "all", "max_parallel": 6}]
    path = fleet_file(tmp_path, change={"os_upgrade": True}, waves=waves, stop={"max_faulted": 6})
    emu.clear_requests()
    result = vmssroll("fleet", "rollout", path, "--yes", "--interval", "30s")
    assert result.exit_code == 0, result.output
    # every set refused at once: nothing to follow, the next pass (which ends the fleet) waits out --interval
    lines = result.stdout.splitlines()
    first, last = (
        datetime.fromisoformat(line.split(" ", 1)[0].replace("Z", "+00:00")) for line in (lines[0], lines[-1])
    )
    assert (
        last - first
    ).total_seconds() == 30 and " Fleet web-2.0 done: 6 set(s) in 1 wave(s); 6 failed" in lines[-1]
    for name in ALL:
        says = os_upgrade_refusal(name, {"id": f"{GALLERY}/versions/1.0.0"})
        assert says and name in says
        assert any(
            line.endswith(f" all: {name} (rg-demo) refused: {says}") for line in result.stdout.splitlines()
        )
        assert set_writes(emu, name) == []


def test_the_stop_rule_undoes_every_set_the_wave_changed_past_one_it_refused(vmssroll, emu, tmp_path):
    """web-e1 is in Manual mode (refused: a model change rolls nothing there), web-e3 faults: two failed, the
    fleet halts and undoes the wave: web-e2 and web-e3, the refused set first in the wave skipped."""
    spec = scenario(broken={"web-e3": "2.0.0"})
    manual = next(s for s in spec["scale_sets"] if s["name"] == "web-e1")
    manual["upgrade_policy"] = {"mode": "Manual"}
    emu.load_scenario(spec)
    path = fleet_file(tmp_path, stop={"max_faulted": 1, "undo": "wave"})
    result = vmssroll("fleet", "rollout", path, "--yes")
    assert result.exit_code == 5, result.output
    assert any(
        line.endswith(" ring: web-e1 (rg-demo) refused: Manual mode: a model change rolls nothing")
        for line in result.stdout.splitlines()
    ), result.stdout
    assert set_writes(emu, "web-e1") == [] and version(emu, "web-e1") == "1.0.0"
    for name in ("web-e2", "web-e3"):
        assert version(emu, name) == "1.0.0" and phase(emu, name) == "undone", name
        assert all(vm["latest_model_applied"] for vm in emu.vms("rg-demo", name))


def test_ctrl_c_during_a_bake_then_a_rerun_bakes_again_and_records_the_wave_done(vmssroll, emu, tmp_path):
    emu.load_scenario(scenario())
    path = fleet_file(tmp_path)

    def ring_baking() -> bool:
        return all(phase(emu, n) == "baking" for n in ("web-e1", "web-e2", "web-e3"))

    def interrupt() -> None:
        raise KeyboardInterrupt

    first = vmssroll("fleet", "rollout", path, "--yes", clock=HookClock(emu, ring_baking, interrupt))
    assert first.exit_code == 130, first.output
    emu.clear_requests()
    again = vmssroll("fleet", "rollout", path, "--yes", "-o", "json")
    assert again.exit_code == 0, again.output
    assert "6 set(s) in 3 wave(s) (canary 1, ring 3, rest 2); 1 already done" in again.stderr
    found = events(again.stdout)
    ring = [e for e in found if e["event"] == "set" and e["wave"] == "ring"]
    # known from their records: completed (no percent read), then baked again and recorded done at 100%
    assert [(e["state"], e["percent"]) for e in ring] == [("completed", None)] * 3 + [("done", 100)] * 3
    assert ("ring", "baking") in [(e.get("wave"), e.get("state")) for e in found if e["event"] == "wave"]
    assert all(image_patches(emu, n) == 0 for n in ("web-w1", "web-e1", "web-e2", "web-e3"))
    assert all(phase(emu, n) == "done" for n in ALL)


def test_a_change_that_starts_no_rolling_upgrade_stops_the_set_after_the_grace(vmssroll, emu, tmp_path):
    """web-w1 has no instance: its model change starts no rolling upgrade (Azure starts one only for instances
    behind the model). After the grace the fleet stops waiting for it and the stop rule halts the fleet."""
    from vmssroll.cli.fleet_rollout import START_GRACE

    spec = scenario()
    next(s for s in spec["scale_sets"] if s["name"] == "web-w1")["capacity"] = 0
    emu.load_scenario(spec)
    emu.clear_requests()
    result = vmssroll("fleet", "rollout", fleet_file(tmp_path), "--yes", "-o", "json")
    assert result.exit_code == 5, result.output
    found = [e for e in events(result.stdout) if e["event"] == "set" and e["scaleSet"] == "web-w1"]
    assert [(e["state"], e["detail"]) for e in found] == [
        ("starting", "image version 2.0.0 sent"),
        ("starting", "waiting for the upgrade to start"),
        ("stopped", "no rolling upgrade started for the change"),
    ]
    started, stopped = (
        datetime.fromisoformat(e["time"].replace("Z", "+00:00")) for e in (found[0], found[-1])
    )
    assert START_GRACE <= (stopped - started).total_seconds() <= START_GRACE + 20
    halt = next(e for e in events(result.stdout) if e["event"] == "halt")
    assert "web-w1" in halt["reason"] and version(emu, "web-w1") == "2.0.0"
    assert all(requests_to(emu, n) == [] for n in ALL if n != "web-w1")  # no other wave began


def test_when_azure_is_slow_to_start_upgrades_each_set_waits_for_its_own(vmssroll, emu, tmp_path):
    """Azure shows each set's rolling upgrade 60 s after its change. A second fleet over the same sets (their
    latest upgrade Completed by the first) waits for each set's new upgrade instead of taking the old one's
    end: the fleet is done only when every instance runs the new image."""
    spec = scenario()
    for s in spec["scale_sets"]:
        s["timings"] = {**s["timings"], "upgrade_start": 60}
    emu.load_scenario(spec)
    first = vmssroll("fleet", "rollout", fleet_file(tmp_path), "--yes", "-o", "json")
    assert first.exit_code == 0, first.output
    assert all(version(emu, n) == "2.0.0" for n in ALL)
    second = fleet_file(tmp_path, name="web-3.0", change={"image_version": "3.0.0"})
    result = vmssroll("fleet", "rollout", second, "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    for name in ALL:
        assert all(vm["latest_model_applied"] for vm in emu.vms("rg-demo", name)), name
        assert version(emu, name) == "3.0.0" and phase(emu, name) == "done", name


def test_a_set_another_rollout_took_over_while_it_rolled_is_busy_and_never_written_again(
    vmssroll, emu, tmp_path
):
    """While the canary rolls, another rollout's record replaces the fleet's on it: when its upgrade
    completes the fleet does not record it baking, reports it busy (saying why) and, within the stop rule,
    finishes the other sets; the JSON summary says exit 0 and lists the busy set."""
    from tests.helpers import patch

    emu.load_scenario(scenario())
    other = {"vmssroll.rollout": "rollout-5f3a", "vmssroll.phase": "rolling"}

    def taken_over() -> None:
        patch(emu, {"tags": {**emu.vmss("rg-demo", "web-w1")["tags"], **other}}, "web-w1")

    clock = HookClock(emu, lambda: phase(emu, "web-w1") == "rolling", taken_over)
    path = fleet_file(tmp_path, stop={"max_faulted": 1})
    result = vmssroll("fleet", "rollout", path, "--yes", "-o", "json", clock=clock)
    assert result.exit_code == 0, result.output
    tags = emu.vmss("rg-demo", "web-w1")["tags"]
    assert {k: tags[k] for k in other} == other  # the other rollout's record, as it wrote it
    found = events(result.stdout)
    busy = [e for e in found if e["event"] == "set" and e["scaleSet"] == "web-w1" and e["state"] == "busy"]
    assert [e["detail"] for e in busy] == ["its rollout record is no longer this fleet's"]
    assert (
        busy[0]["message"]
        == "canary: web-w1 (rg-demo) busy 100%: its rollout record is no longer this fleet's"
    )
    assert all(phase(emu, n) == "done" for n in ALL if n != "web-w1")
    done = found[-1]
    assert done["event"] == "done" and done["exitCode"] == 0
    assert done["message"] == (
        "Fleet web-2.0 done: 6 set(s) in 3 wave(s); 1 failed, within the 1 the stop rule allows: web-w1 (busy)"
    )
    assert [(f["scaleSet"], f["state"], f["detail"]) for f in done["failed"]] == [
        ("web-w1", "busy", "its rollout record is no longer this fleet's")
    ]


def test_a_halt_whose_cancel_azure_refuses_follows_that_set_to_its_end_and_stops(vmssroll, emu, tmp_path):
    """The halt's cancel of one rolling set meets Azure's 409 (its upgrade ended before the cancel): the
    fleet does not crash nor send it again; it cancels the other, follows both to their end and stops."""
    emu.load_scenario(scenario())
    flag = tmp_path / "checkout-broken"
    gate = f"! test -e {flag}"
    path = fleet_file(tmp_path, gates=[gate], gate_interval="10s", gate_failures=1)
    emu.faults.add(
        kind="status", status=409, method="POST", path_regex=r"/web-e1/rollingUpgrades/cancel$",
        code="OperationNotAllowed", message="There is no ongoing Rolling Upgrade to cancel.",
    )  # fmt: skip

    def ring_rolling() -> bool:
        return phase(emu, "web-e1") == "rolling" and phase(emu, "web-e2") == "rolling"

    clock = HookClock(emu, ring_rolling, flag.touch)
    result = vmssroll("fleet", "rollout", path, "--yes", "-o", "json", clock=clock)
    assert result.exit_code == 5, result.output
    found = events(result.stdout)
    assert [e["event"] for e in found if e["event"] in ("halt", "stopped", "done")] == ["halt", "stopped"]
    assert found[-1]["event"] == "stopped" and found[-1]["exitCode"] == 5
    cancels = [r.path for r in emu.requests if r.method == "POST" and r.path.endswith("/cancel")]
    assert sorted(p.split("/")[-3] for p in cancels) == ["web-e1", "web-e2"]  # each sent once
    last = {
        n: [e for e in found if e["event"] == "set" and e["scaleSet"] == n][-1] for n in ("web-e1", "web-e2")
    }
    assert (
        last["web-e2"]["state"] == "stopped" and last["web-e2"]["detail"] == "cancelled by the fleet's halt"
    )
    assert (last["web-e1"]["state"], last["web-e1"]["percent"]) == ("completed", 100)  # as Azure says
    assert phase(emu, "web-e2") == "stopped"
    assert phase(emu, "web-e3") is None and requests_to(emu, "web-n1") == []


def test_with_interval_1s_a_lone_rolling_set_is_read_every_second(vmssroll, emu, tmp_path):
    """--interval 1s (the least it takes): a set rolling alone in its subscription, with its read budget
    plenty, is read once a second of the simulated clock, from its start to its end."""
    emu.load_scenario(scenario())
    path = fleet_file(tmp_path, targets={"subscriptions": [SUB], "names": ["web-w1"]},
                      waves=[{"name": "only"}])  # fmt: skip
    emu.clear_requests()
    result = vmssroll("fleet", "rollout", path, "--yes", "--interval", "1s", "-o", "json")
    assert result.exit_code == 0, result.output
    assert phase(emu, "web-w1") == "done" and requests_to(emu, "web-e1") == []
    reads = [
        r.sim_time
        for r in emu.requests
        if r.method == "GET" and r.path.endswith("/web-w1/rollingUpgrades/latest")
    ]
    gaps = {(b - a).total_seconds() for a, b in itertools.pairwise(reads)}
    assert len(reads) >= 20 and gaps == {1.0}, (len(reads), gaps)
