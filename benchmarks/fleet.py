"""`vmssroll fleet rollout` at scale, against the embedded emulator: `python benchmarks/fleet.py`.

200 scale sets x 50 instances in 4 subscriptions and 5 regions, Rolling at 20% batches, rolled out in three
waves (a canary set, a ring of 39 at up to 20 at once, the other 160 at up to 50 at once) with the emulator's
Compute read budgets set to Azure's (GetVMScaleSet 197 per 3 minutes, 1,297 per 30 minutes, per subscription),
so the pacing has something to pace against. The runner runs in a child process (its peak memory is its own),
on simulated time moved through the emulator's control API, drawing its live view for a pretend 160x50
terminal. Figures (issue 18's goals beside them):

- requests per second per subscription over the run, and the most in any 3-minute window (Azure's budget);
- vmssroll's own CPU per refresh of the whole fleet (thread CPU of one pass of the loop, minus the time inside
  the SDK's calls): median, 95th percentile and max, goal <= 50 ms;
- peak memory of the runner's process, goal <= 200 MB;
- verdict latency: simulated seconds from the end of a set's upgrade (Azure's lastActionTime) to the runner
  seeing it, goal <= one refresh interval.
`--sets`, `--instances`, `--subscriptions` make it smaller for a quick look.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import ControlClock, peak_rss_mb

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
REGIONS = ("westus2", "eastus", "westeurope", "northeurope", "japaneast")
AZURE_BUDGET_3MIN, AZURE_BUDGET_30MIN = 197, 1297  # GetVMScaleSet's, as seen in real answers (FACTS.md)
HEALTH = {"name": "HealthExtension", "publisher": "Microsoft.ManagedServices", "type": "ApplicationHealthLinux",
          "typeHandlerVersion": "2.0", "settings": {"protocol": "http", "port": 80, "requestPath": "/health"}}  # fmt: skip


def subscriptions(count: int) -> list[str]:
    return [f"{i + 1:08x}-0000-4000-8000-{i + 1:012x}" for i in range(count)]


def scenario(sets: int, instances: int, subs: list[str]) -> dict[str, Any]:
    groups = [
        {"name": f"rg-web-{region}", "subscription": sub, "location": region}
        for sub in subs
        for region in REGIONS
    ]
    scale_sets = []
    for i in range(sets):
        sub, region = subs[i % len(subs)], REGIONS[(i // len(subs)) % len(REGIONS)]
        scale_sets.append(
            {
                "name": f"web-{i:03d}",
                "subscription": sub,
                "resource_group": f"rg-web-{region}",
                "location": region,
                "capacity": instances,
                "tags": {"app": "web"},
                "upgrade_policy": {
                    "mode": "Rolling",
                    "rollingUpgradePolicy": {"maxBatchInstancePercent": 20},
                },
                "image": {
                    "id": f"/subscriptions/{sub}/resourceGroups/rg-images/providers/Microsoft.Compute/"
                    "galleries/gallery/images/web/versions/1.0.0"
                },
                "timings": {"updating": 20, "initializing": 10, "write": 20, "write_retry_after": 10},
                "extensions": [HEALTH],
            }
        )
    return {"subscriptions": subs, "resource_groups": groups, "scale_sets": scale_sets}


def fleet_file(path: Path, subs: list[str]) -> None:
    path.write_text(
        json.dumps(
            {
                "name": "web-2.0",
                "change": {"image_version": "2.0.0"},
                "targets": {"subscriptions": subs, "tags": {"app": "web"}},
                "waves": [
                    {"name": "canary", "select": {"names": ["web-000"]}},
                    {"name": "ring", "select": {"regions": ["westus2"]}, "max_parallel": 20},
                    {"name": "rest", "max_parallel": 50},
                ],
            }
        )
    )


# --- the child: the runner, instrumented --------------------------------------------------------------------


def child(args: dict[str, Any]) -> None:
    """Runs `fleet rollout` in this process; prints one JSON line of figures."""
    import vmssroll.adapter.client as client
    import vmssroll.cli.fleet_rollout as runner
    from vmssroll.cli.app import app
    from vmssroll.cli.environment import Environment
    from vmssroll.domain.fleetrun import SetState

    start_rss = peak_rss_mb()
    sdk = [0.0]

    depth = [0]

    def in_sdk(fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*a: Any, **kw: Any) -> Any:  # a call inside another (latest_upgrade) counts once
            depth[0] += 1
            began = time.thread_time()
            try:
                return fn(*a, **kw)
            finally:
                depth[0] -= 1
                if depth[0] == 0:
                    sdk[0] += time.thread_time() - began

        return wrapper

    for name in ("latest_reading", "latest_upgrade", "scale_set", "patch", "cancel", "list_all"):
        setattr(client.Azure, name, in_sdk(getattr(client.Azure, name)))
    seen: dict[str, str] = {}  # set name -> simulated time the runner saw its upgrade end
    original_poll = runner.FleetRunner.poll

    def poll(self: Any, run: Any) -> None:
        before = run.state
        original_poll(self, run)
        if run.state is SetState.COMPLETED and before is not SetState.COMPLETED:
            seen[run.member.name] = clock.utcnow().isoformat()

    runner.FleetRunner.poll = poll  # type: ignore[method-assign]
    drawn = [0.0]
    original_draw = runner.FleetRunner.draw

    def draw(self: Any) -> None:
        began = time.thread_time()
        try:
            original_draw(self)
        finally:
            drawn[0] += time.thread_time() - began

    runner.FleetRunner.draw = draw  # type: ignore[method-assign]
    passes: list[dict[str, float]] = []
    mark = [time.thread_time()]

    def end_of_pass() -> None:
        total = (time.thread_time() - mark[0]) * 1000
        passes.append(
            {"total": total, "sdk": sdk[0] * 1000, "own": total - sdk[0] * 1000, "draw": drawn[0] * 1000}
        )
        sdk[0] = drawn[0] = 0.0

    clock = ControlClock(args["url"], args["ca"], end_of_pass)
    original_sleep = clock.sleep

    def sleep(seconds: float) -> None:
        original_sleep(seconds)
        mark[0] = time.thread_time()  # the POST that moves the emulator's clock is not part of a pass
        sdk[0] = drawn[0] = 0.0

    clock.sleep = sleep
    screen = io.StringIO()
    env = Environment(
        clock=clock, stdout=screen, stderr=io.StringIO(), stdout_isatty=True, stdin_isatty=False, width=160
    )
    os.environ.update({"VMSSROLL_ARM_ENDPOINT": args["url"], "VMSSROLL_CA_BUNDLE": args["ca"],
                       "LINES": "50", "COLUMNS": "160"})  # fmt: skip
    mark[0] = time.thread_time()
    try:
        app(["fleet", "rollout", args["file"], "--yes", "--interval", f"{args['interval']}s"], obj=env,
            prog_name="vmssroll")  # fmt: skip
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    end_of_pass()
    print(json.dumps({"exit_code": code, "passes": passes, "seen": seen, "slept": clock.slept,
                      "start_rss_mb": start_rss, "peak_rss_mb": peak_rss_mb(),
                      "tail": screen.getvalue()[-400:]}))  # fmt: skip


# --- the parent: the emulator and the figures ------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=200)
    parser.add_argument("--instances", type=int, default=50)
    parser.add_argument("--subscriptions", type=int, default=4)
    parser.add_argument("--interval", type=int, default=10)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.child:
        child(json.loads(opts.child))
        return
    from vmssroll.emulator import Emulator, ManualClock, ratelimits

    name, _, _ = ratelimits.BUDGETS["get"]
    ratelimits.BUDGETS["get"] = (name, AZURE_BUDGET_3MIN, AZURE_BUDGET_30MIN)
    subs = subscriptions(opts.subscriptions)
    emu = Emulator(clock=ManualClock(start=START), page_size=100)
    emu.start()
    try:
        emu.load_scenario(scenario(opts.sets, opts.instances, subs))
        emu.clear_requests()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "fleet.json"
            fleet_file(path, subs)
            args = {"url": emu.url, "ca": emu.ca_path, "file": str(path), "interval": opts.interval}
            began = time.monotonic()
            found = subprocess.run(
                [sys.executable, __file__, "--child", json.dumps(args)],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            wall = time.monotonic() - began
        if found.returncode != 0 or not found.stdout.strip():
            sys.exit(f"the runner failed:\n{found.stderr[-3000:]}")
        figures = json.loads(found.stdout.strip().splitlines()[-1])
        report(opts, emu, figures, wall, subs)
    finally:
        emu.stop()


def report(opts: Any, emu: Any, figures: dict[str, Any], wall: float, subs: list[str]) -> None:
    requests = list(emu.requests)
    span = (requests[-1].sim_time - requests[0].sim_time).total_seconds() if requests else 0.0
    per_sub: Counter[str] = Counter()
    windows: dict[str, Counter[int]] = defaultdict(Counter)
    kinds: Counter[str] = Counter()
    for r in requests:
        parts = r.path.split("/")
        sub = parts[2].lower() if len(parts) > 2 else ""
        per_sub[sub] += 1
        if r.method == "GET":
            windows[sub][int((r.sim_time - START).total_seconds() // 180)] += 1
        kinds[
            f"{r.method} {'latest' if r.path.endswith('/latest') else parts[-1] if len(parts) < 9 else 'set'}"
        ] += 1
    first, *rest = figures["passes"]  # the first pass also imports and builds what the run needs, once
    passes = [p["own"] for p in rest] or [first["own"]]
    totals = [p["total"] for p in rest] or [first["total"]]
    ended = {
        ss.name: ss.upgrades[-1].end_time
        for ss in emu.world.scale_sets.values()
        if ss.upgrades and ss.upgrades[-1].end_time is not None
    }
    lat = [
        (datetime.fromisoformat(at) - ended[name]).total_seconds()
        for name, at in figures["seen"].items()
        if name in ended
    ]
    q95 = statistics.quantiles(passes, n=20)[-1] if len(passes) >= 20 else max(passes)
    print(f"fleet rollout: {opts.sets} sets x {opts.instances} instances in {len(subs)} subscriptions, "
          f"--interval {opts.interval}s; exit {figures['exit_code']}; {wall:.0f} s of real time for "
          f"{span / 60:.1f} simulated minutes")  # fmt: skip
    print(f"requests: {len(requests)} in all ({dict(kinds.most_common(6))})")
    for sub in subs:
        busiest = max(windows[sub].values(), default=0)
        print(f"  subscription {sub[:8]}: {per_sub[sub]} requests, {per_sub[sub] / max(span, 1):.2f}/s; most "
              f"reads in a 3-minute window {busiest} (Azure's GetVMScaleSet budget: {AZURE_BUDGET_3MIN})")  # fmt: skip
    print(f"first pass (listing {opts.sets} sets, imports, the first frame): {first['own']:.0f} ms own CPU, "
          f"{first['total']:.0f} ms with the SDK")  # fmt: skip
    print(f"passes of the loop: {len(passes)}; vmssroll's own CPU per pass: median {statistics.median(passes):.1f} "
          f"ms, p95 {q95:.1f} ms, max {max(passes):.1f} ms (goal <= 50 ms); with the SDK: median "
          f"{statistics.median(totals):.1f} ms, max {max(totals):.1f} ms; the slowest own: "
          f"{', '.join(f'{p:.0f}' for p in sorted(passes)[-5:])} ms")  # fmt: skip
    draws = sorted((p["own"], p["draw"]) for p in rest)[-5:]
    print("  the slowest passes, own CPU (of which drawing the live view): "
          + ", ".join(f"{own:.0f} ({d:.0f})" for own, d in draws) + " ms")  # fmt: skip
    print(f"peak memory of the runner: {figures['peak_rss_mb']:.0f} MB (at start {figures['start_rss_mb']:.0f} MB; "
          "goal <= 200 MB)")  # fmt: skip
    if lat:
        print(f"verdict latency: median {statistics.median(lat):.1f} s, max {max(lat):.1f} s of simulated time "
              f"over {len(lat)} sets (goal <= one refresh, {opts.interval} s; refreshes paced to "
              f"{max(figures['slept']):.0f} s at most)")  # fmt: skip


if __name__ == "__main__":
    main()
