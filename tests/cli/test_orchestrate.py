"""`vmssroll rollout --orchestrate`: vmssroll upgrades a Manual-mode Uniform scale set itself, batch by
batch (`manualupgrade`), on the emulator's clock through the real SDK; the batches read from its log."""

from __future__ import annotations

import itertools

import pytest

from tests.cli.test_rollout import events, image_version, tags
from tests.helpers import NAME, RG, set_rolling, target, writes
from tests.reliability.checks import diff_paths


def manual_upgrades(emu) -> list[list[str]]:
    return [
        [str(i) for i in (r.body or {}).get("instanceIds", [])]
        for r in emu.requests
        if r.method == "POST" and r.path.endswith("/manualupgrade")
    ]


def zone_of(emu) -> dict[str, str]:
    return {str(vm["instance_id"]): str(vm.get("zone")) for vm in emu.vms(RG, NAME)}


def test_orchestrate_with_a_canary_of_1(vmssroll, emu):
    before = emu.vmss(RG, NAME)
    emu.clear_requests()
    result = vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--orchestrate", "--canary", "1",
        "--gate", "true", "--yes", "-o", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    batches = manual_upgrades(emu)
    assert len(batches[0]) == 1  # the canary: exactly one instance
    upgraded = [i for b in batches for i in b]
    assert sorted(upgraded, key=int) == sorted(zone_of(emu), key=int)  # every instance, once
    assert all(len(b) <= 2 for b in batches)  # 20% of 10: batches of at most two
    assert all(len({zone_of(emu)[i] for i in b}) == 1 for b in batches)  # a batch never spans zones
    found = events(result.stdout)
    done = [e for e in found if e["event"] == "batch" and e["message"].startswith("Settled")]
    assert [e["instanceIds"] for e in done] == batches and done[0]["canary"] is True
    # each batch was sent only after the one before had settled
    posts = [r for r in emu.requests if r.method == "POST" and r.path.endswith("/manualupgrade")]
    assert all(a.sim_time < b.sim_time for a, b in itertools.pairwise(posts))
    assert found[-1]["event"] == "done"
    assert image_version(emu) == "2.0.0" and tags(emu)["vmssroll.phase"] == "done"
    assert all(vm["latest_model_applied"] for vm in emu.vms(RG, NAME))
    assert not [p for m, p in writes(emu) if p.endswith("/cancel") or "rollingUpgrade" in p]
    after = emu.vmss(RG, NAME)
    assert diff_paths(before, after) <= {
        "properties.virtualMachineProfile.storageProfile.imageReference.id",
        "etag",
    } | {f"tags.{k}" for k in tags(emu)}


def test_a_bad_release_stops_at_the_canary_and_undo_rolls_it_back(vmssroll, emu):
    emu.load_scenario("demo")  # 3.0.0-bad turns instances unhealthy (Application Health extension)
    before = emu.vmss(RG, NAME)
    result = vmssroll(
        "rollout", *target(), "--image-version", "3.0.0-bad", "--orchestrate", "--canary", "1",
        "--on-failure", "undo", "--yes",
    )  # fmt: skip
    assert result.exit_code == 5, result.output
    assert "after the canary (instance 0): 1 of 1 upgraded instance(s) unhealthy (0)" in result.stderr
    assert "more than maxUnhealthyUpgradedInstancePercent 20%" in result.stderr
    assert manual_upgrades(emu) == [["0"], ["0"]]  # the canary, then its roll-back: nothing else touched
    rolling = [line for line in result.stderr.splitlines() if "back (manualupgrade)" in line]
    assert [line.split("Rolling ", 1)[1] for line in rolling] == ["instance(s) 0 back (manualupgrade)"]
    undone = [line for line in result.stderr.splitlines() if "Undone: " in line]
    # the canary rolled back healthy: nothing said still unhealthy
    assert [line.split("Undone: ", 1)[1] for line in undone] == [
        "1 instance(s) rolled back to the previous image"
    ]
    assert tags(emu)["vmssroll.phase"] == "undone"
    image = emu.vmss(RG, NAME)["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]
    assert image["version"] == "1.0.0"
    assert all(vm["latest_model_applied"] for vm in emu.vms(RG, NAME))
    changed = diff_paths(before, emu.vmss(RG, NAME))
    assert {p for p in changed if not p.startswith("tags.")} == {"etag"}


def test_a_stopped_orchestration_is_undone_later_from_another_command(vmssroll, emu):
    emu.load_scenario("demo")
    result = vmssroll(
        "rollout", *target(), "--image-version", "3.0.0-bad", "--orchestrate", "--canary", "2", "--yes"
    )
    assert result.exit_code == 5, result.output
    assert f"Put the previous image back with: vmssroll undo {' '.join(target())}" in result.stderr
    assert tags(emu)["vmssroll.phase"] == "stopped" and manual_upgrades(emu) == [["0", "3"]]
    undone = vmssroll("undo", *target(), "--yes", "-o", "json")
    assert undone.exit_code == 0, undone.output
    assert manual_upgrades(emu)[-1] == ["0", "3"]
    found = [e for e in events(undone.stdout) if e["event"] in ("undo", "undone")]
    assert [(e["event"], e["message"]) for e in found[1:]] == [
        ("undo", "Rolling instance(s) 0, 3 back (manualupgrade)"),
        ("undone", "Undone: 2 instance(s) rolled back to the previous image"),
    ]
    assert found[0]["event"] == "undo" and found[0]["message"].startswith("Undo: the image reference is back")
    assert found[1]["instanceIds"] == ["0", "3"] and found[2]["record"]["phase"] == "undone"
    assert all(vm["latest_model_applied"] for vm in emu.vms(RG, NAME))
    assert tags(emu)["vmssroll.phase"] == "undone"


def test_orchestrate_is_refused_where_it_cannot_work(vmssroll, emu):
    for args, says in [
        (("--os", "--orchestrate"), "--orchestrate needs an image rollout"),
        (("--image-version", "2.0.0", "--canary", "1"), "--canary goes with --orchestrate"),
        (("--image-version", "2.0.0", "--orchestrate", "--canary", "0"), "--canary 0: give 1 or more"),
    ]:
        emu.clear_requests()
        result = vmssroll("rollout", *target(), *args, "--yes")
        assert result.exit_code == 2 and says in result.stderr, (args, result.output)
        assert emu.requests == []
    emu.clear_requests()
    result = vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--orchestrate", "--canary", "11", "--yes"
    )
    assert result.exit_code == 3 and "--canary 11: web has 10 instance(s)" in result.stderr
    set_rolling(emu)
    result = vmssroll("rollout", *target(), "--image-version", "2.0.0", "--orchestrate", "--yes")
    assert result.exit_code == 3 and "web is in Rolling mode: Azure would upgrade" in result.stderr
    assert writes(emu) == [("PATCH", writes(emu)[0][1])]  # only set_rolling's own PATCH


def test_resume_watch_of_an_orchestration_follows_its_record(vmssroll, emu):
    paused = vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--orchestrate", "--canary", "1",
        "--checkpoint", "30%", "--timeout", "30m", "--yes",
    )  # fmt: skip
    assert paused.exit_code == 7 and "Paused at 30%: 4 of 10 instance(s) upgraded" in paused.stderr
    # the rollout that paused is gone: nothing sends the next batch, the watch says so and times out
    gone = vmssroll("resume", *target(), "--watch", "--timeout", "2m")
    assert gone.exit_code == 7, gone.output
    assert "Resumed the rollout from 30%." in gone.stderr
    assert "4 of 10 instance(s) on the new model" in gone.stderr
    assert "--timeout ran out while the rollout is rolling; nothing was cancelled" in gone.stderr
    assert manual_upgrades(emu) == [["0"], ["3"], ["6", "9"]]


def test_resume_watch_ends_with_the_rollouts_own_end(vmssroll, emu):
    from tests.cli.test_rollout import HookClock
    from tests.helpers import patch

    vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--orchestrate", "--checkpoint", "10%",
        "--timeout", "10m", "--yes",
    )  # fmt: skip
    assert tags(emu)["vmssroll.phase"] == "paused"

    def stop() -> None:  # what the rollout that paused writes when a gate stops it
        patch(emu, {"tags": {"vmssroll.phase": "stopped", "vmssroll.reason": "gate `x` failed"}})

    clock = HookClock(emu, lambda: tags(emu).get("vmssroll.phase") == "rolling", stop)
    result = vmssroll("resume", *target(), "--watch", "-o", "json", clock=clock)
    assert result.exit_code == 5, result.output
    found = events(result.stdout)
    assert [e["event"] for e in found] == ["resumed", "progress", "record"]
    assert found[-1]["message"] == "The rollout is stopped: gate `x` failed"


def test_orchestrate_is_refused_on_a_flexible_scale_set(vmssroll, emu):
    emu.load_scenario("flexible-extension")
    emu.clear_requests()
    result = vmssroll(
        "rollout", "-g", "rg-flex", "-n", "flex", "--image-version", "2.0.0", "--orchestrate", "--yes"
    )
    assert result.exit_code == 3, result.output
    assert "flex is Flexible: Azure refuses manualupgrade there" in result.stderr
    assert writes(emu) == []


def test_resume_of_an_orchestration_says_who_sends_the_next_batches(vmssroll, emu):
    paused = vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--orchestrate", "--checkpoint", "10%",
        "--timeout", "10m", "--yes",
    )  # fmt: skip
    assert paused.exit_code == 7 and tags(emu)["vmssroll.phase"] == "paused", paused.output
    result = vmssroll("resume", *target())
    assert result.exit_code == 0, result.output
    assert "The rollout --orchestrate that paused sends the next batches" in result.stdout
    assert f"See where it stands with: vmssroll status {' '.join(target())}" in result.stdout
    assert "vmssroll watch" not in result.stdout  # Azure runs no rolling upgrade to watch
    assert tags(emu)["vmssroll.phase"] == "rolling"


def test_a_gate_tripping_while_a_batch_is_in_flight_undoes_every_instance(vmssroll, emu, tmp_path):
    from tests.cli.test_rollout import HookClock

    flag = tmp_path / "bad"
    busy = lambda: len(manual_upgrades(emu)) == 2 and any(vm["phase"] != "idle" for vm in emu.vms(RG, NAME))  # noqa: E731
    result = vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--orchestrate", "--gate", f"! test -e {flag}",
        "--gate-failures", "1", "--gate-interval", "5s", "--on-failure", "undo", "--yes",
        clock=HookClock(emu, busy, flag.touch),
    )  # fmt: skip
    assert result.exit_code == 5, result.output
    assert "Rollout stopped: gate `! test -e" in result.stderr and "undoing it" in result.stderr
    assert manual_upgrades(emu)[:2] == [["0"], ["3"]] and len(manual_upgrades(emu)) == 3
    assert sorted(manual_upgrades(emu)[2]) == ["0", "3"]  # after the batch in flight had finished
    assert image_version(emu) == "1.0.0" and tags(emu)["vmssroll.phase"] == "undone"
    assert all(vm["latest_model_applied"] for vm in emu.vms(RG, NAME))


def test_a_batch_whose_answer_was_lost_is_read_back_and_not_sent_twice(vmssroll, emu):
    # Azure takes the canary's manualupgrade, but its answer never arrives (the connection drops after it)
    emu.faults.add(kind="drop", method="POST", path_regex="manualupgrade", after_commit=True, count=1)
    result = vmssroll("rollout", *target(), "--image-version", "2.0.0", "--orchestrate", "--yes")
    assert result.exit_code == 0, result.output
    sent = [i for batch in manual_upgrades(emu) for i in batch]
    assert sorted(sent, key=int) == [str(i) for i in range(10)]  # each instance once: nothing sent twice
    assert all(vm["latest_model_applied"] for vm in emu.vms(RG, NAME))
    emu.faults.add(
        kind="drop", method="POST", path_regex="manualupgrade", count=1
    )  # lost before Azure saw it
    again = vmssroll("rollout", *target(), "--image-version", "3.0.0", "--orchestrate", "--yes")
    assert again.exit_code != 0 and "error: " in again.stderr and "Traceback" not in again.stderr
    assert tags(emu)["vmssroll.phase"] == "rolling"  # the record says where it stands; undo can put it back


def test_orchestrate_refuses_a_rolling_or_flexible_set_with_the_whole_message_and_its_hint(vmssroll, emu):
    set_rolling(emu)
    emu.clear_requests()
    result = vmssroll("rollout", *target(), "--image-version", "2.0.0", "--orchestrate", "--yes")
    assert result.exit_code == 3, result.output
    assert result.stderr.strip() == (
        "error: web is in Rolling mode: Azure would upgrade the instances itself; --orchestrate is for Manual "
        "mode; nothing was sent; drop --orchestrate (Rolling mode) or switch to Manual: vmssroll disable-rolling"
    )
    assert writes(emu) == []
    emu.load_scenario("flexible-extension")
    emu.clear_requests()
    result = vmssroll(
        "rollout", "-g", "rg-flex", "-n", "flex", "--image-version", "2.0.0", "--orchestrate", "--yes"
    )
    assert result.exit_code == 3, result.output
    assert result.stderr.strip() == (
        "error: flex is Flexible: Azure refuses manualupgrade there, so --orchestrate cannot upgrade it; "
        "nothing was sent (let Azure roll it: vmssroll enable-rolling -g rg-flex -n flex)"
    )
    assert writes(emu) == []


def test_the_orchestrations_record_is_named_by_its_start_time(vmssroll, emu):
    started = emu.clock.now()
    result = vmssroll("rollout", *target(), "--image-version", "2.0.0", "--orchestrate", "--yes")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == (
        "Plan: canary (instance 0) first, then 6 batch(es) of up to 2, each upgraded by vmssroll "
        "(manualupgrade) and waited on until healthy"
    )
    assert tags(emu)["vmssroll.rollout"] == started.strftime("%Y%m%dT%H%M%SZ")
    assert tags(emu)["vmssroll.phase"] == "done" and tags(emu)["vmssroll.total"] == "10"


def test_the_check_before_each_batch_uses_the_policys_max_unhealthy_instance_percent(vmssroll, emu):
    """maxUnhealthyInstancePercent 5 (not the default 20) and a bad image whose upgraded instances turn
    unhealthy, tolerated after the batch (maxUnhealthyUpgradedInstancePercent 100): the canary's one unhealthy
    instance of 10 (10% > 5%) stops the rollout before batch 2, as Azure's own check would."""
    from tests.helpers import patch

    emu.load_scenario("demo")
    policy = {"maxUnhealthyInstancePercent": 5, "maxUnhealthyUpgradedInstancePercent": 100}
    patch(emu, {"properties": {"upgradePolicy": {"mode": "Manual", "rollingUpgradePolicy": policy}}})
    result = vmssroll("rollout", *target(), "--image-version", "3.0.0-bad", "--orchestrate", "--yes")
    assert result.exit_code == 5, result.output
    assert "Settled: canary (instance 0), 1 of 1 upgraded instance(s) unhealthy (limit 100%)" in result.stderr
    assert (
        "Rollout stopped: before the batch 2 of 10 (instance 3): 1 unhealthy of 10 = 10% > limit 5%: vmssroll "
        "stops the upgrade before batch 2 (MaxUnhealthyInstancePercentExceededInRollingUpgrade)."
    ) in result.stderr
    assert manual_upgrades(emu) == [["0"]]
    assert tags(emu)["vmssroll.phase"] == "stopped"


def test_each_batch_is_announced_when_sent_and_when_settled_with_its_place_and_the_running_count(
    vmssroll, emu
):
    result = vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--orchestrate", "--canary", "1", "--yes", "-o", "json"
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    sent = manual_upgrades(emu)
    found = [e for e in events(result.stdout) if e["event"] not in ("started", "done")]
    assert len(found) == 2 * len(sent)  # nothing but the batches between the start and the end
    upgraded = 0
    for number, ids in enumerate(sent, start=1):
        upgraded += len(ids)
        where = "canary" if number == 1 else f"batch {number} of {len(sent)}"
        name = f"{where} (instance{'s' if len(ids) > 1 else ''} {', '.join(ids)})"
        fields = {
            "batch": number, "batches": len(sent), "canary": number == 1, "instanceIds": ids,
            "upgraded": upgraded, "total": 10,
        }  # fmt: skip
        going, settled = found[2 * number - 2], found[2 * number - 1]
        assert {k: going[k] for k in ("event", "message", *fields)} == {
            "event": "batch",
            "message": f"Upgrading {name}",
            **fields,
        }
        assert {k: settled[k] for k in ("event", "message", *fields)} == {
            "event": "batch",
            "message": f"Settled: {name}, 0 of {upgraded} upgraded instance(s) unhealthy (limit 20%)",
            **fields,
        }


def test_resume_watch_stops_watching_when_another_rollout_takes_the_record(vmssroll, emu):
    from tests.cli.test_rollout import HookClock
    from tests.helpers import patch

    vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--orchestrate", "--checkpoint", "10%",
        "--timeout", "10m", "--yes",
    )  # fmt: skip
    assert tags(emu)["vmssroll.phase"] == "paused"

    def take() -> None:  # another rollout writes its own record over this one
        patch(emu, {"tags": {"vmssroll.rollout": "someone-else", "vmssroll.phase": "rolling"}})

    clock = HookClock(emu, lambda: tags(emu).get("vmssroll.phase") == "rolling", take)
    emu.clear_requests()
    result = vmssroll("resume", *target(), "--watch", clock=clock)
    assert result.exit_code == 8, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: the scale set's rollout record changed (another rollout started?); stopped watching"
    ]
    # the resume's record, then the other rollout's: the watch cancelled and sent nothing
    assert [m for m, _ in writes(emu)] == ["PATCH", "PATCH"]
    assert tags(emu)["vmssroll.rollout"] == "someone-else"


@pytest.mark.parametrize(("written", "code", "says"), [
    ({"vmssroll.phase": "paused", "vmssroll.passed": "10,50"}, 0, "paused again at 50%"),
    ({"vmssroll.phase": "done"}, 0, "done"),
    ({"vmssroll.phase": "stopped"}, 5, "stopped: no reason recorded"),
    ({"vmssroll.phase": "undoing"}, 6, "undoing"),
    ({"vmssroll.phase": "undone"}, 6, "undone"),
])  # fmt: skip
def test_resume_watch_of_an_orchestration_ends_with_each_end_its_record_says(
    vmssroll, emu, written, code, says
):
    from tests.cli.test_rollout import HookClock
    from tests.helpers import patch

    vmssroll(
        "rollout", *target(), "--image-version", "2.0.0", "--orchestrate", "--checkpoint", "10%",
        "--timeout", "10m", "--yes",
    )  # fmt: skip
    assert tags(emu)["vmssroll.phase"] == "paused"
    upgraded = sum(1 for vm in emu.vms(RG, NAME) if vm["latest_model_applied"])
    clock = HookClock(
        emu, lambda: tags(emu).get("vmssroll.phase") == "rolling", lambda: patch(emu, {"tags": written})
    )
    result = vmssroll("resume", *target(), "--watch", "-o", "json", clock=clock)
    assert result.exit_code == code, result.output
    found = events(result.stdout)
    assert [(e["event"], e["message"]) for e in found] == [
        ("resumed", "Resumed the rollout from 10%."),
        ("progress", f"{upgraded} of 10 instance(s) on the new model"),
        ("record", f"The rollout is {says}"),
    ]
    assert found[1]["onNewModel"] == upgraded and found[2]["record"]["phase"] == written["vmssroll.phase"]
