"""What a write sets in motion: mode × instances behind × upgrade running × kind of write, as tables.

The set used throughout: 10 instances, no zones, Azure's default policy (batches of 20% = 2 instances).
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import pytest

from vmssroll.domain.consequence import (
    Consequence,
    Danger,
    Effect,
    NextStep,
    Write,
    WriteKind,
    after_stop,
    consequence,
)
from vmssroll.domain.model import Health, Instance, ScaleSet, UpgradePolicy
from vmssroll.domain.policy import PolicyChange
from vmssroll.domain.unknown import Unknown
from vmssroll.domain.upgrade import Progress, UpgradeStatus

UNKNOWN = Unknown("instances", "listing throttled: 429 TooManyRequests")


def scale_set(mode: str | None, **rolling: Any) -> ScaleSet:
    return ScaleSet(
        id="/subscriptions/s/resourceGroups/rg-demo/providers/Microsoft.Compute/virtualMachineScaleSets/web",
        name="web",
        resource_group="rg-demo",
        location="westeurope",
        orchestration_mode="Uniform",
        capacity=10,
        zones=(),
        overprovision=False,
        sku="Standard_D2s_v5",
        etag='"1"',
        upgrade_policy=UpgradePolicy(mode, rolling),
        health_probe_id=None,
        extensions=(),
        external_health=False,
        image={"publisher": "Canonical", "offer": "o", "sku": "s", "version": "1.0.0"},
    )


def fleet(behind: int, *, unhealthy: tuple[int, ...] = (), n: int = 10) -> list[Instance]:
    """n instances; the last `behind` of them not on the latest model."""
    return [
        Instance(
            str(i),
            f"web_{i}",
            None,
            i < n - behind,
            "Succeeded",
            Health.UNHEALTHY if i in unhealthy else Health.HEALTHY,
        )
        for i in range(n)
    ]


def upgrade(code: str | None, *, done: int = 2, policy: dict[str, Any] | None = None) -> UpgradeStatus | None:
    if code is None:
        return None
    return UpgradeStatus(
        code=code,
        last_action="Start",
        start_time=None,
        last_action_time=None,
        progress=Progress(successful=done, pending=10 - done),
        policy=policy or {},
    )


POLICY = Write.policy(PolicyChange(rolling={"maxBatchInstancePercent": 10}))
TO_ROLLING = Write.policy(PolicyChange(mode="Rolling"))
TO_AUTOMATIC = Write.policy(PolicyChange(mode="Automatic"))
TO_MANUAL = Write.policy(PolicyChange(mode="Manual"))
MODEL = Write(WriteKind.MODEL)
RESTART = Write(WriteKind.RESTART)
START_OS = Write(WriteKind.START_OS)
START_EXTENSION = Write(WriteKind.START_EXTENSION)

AT_ONCE = "(Automatic mode: no batches, no health checks)"

# (mode, instances behind (None: unknown), latest upgrade, write) → (effect, instances, refusal, text)
CASES: list[tuple[str, str | None, int | None, str | None, Write, Effect, int | None, Danger | None, str]] = [
    # policy fields only
    ("rolling, 8 behind, idle: the PATCH starts the upgrade with the new policy", "Rolling", 8, None, POLICY,
     Effect.ROLLING_UPGRADE, 8, None, "starts a rolling upgrade of 8 instances in 8 batches of 1"),
    ("rolling, none behind", "Rolling", 0, None, POLICY, Effect.NEXT_UPGRADE, 0, None,
     "starts no upgrade now (every instance is on the latest model); applies to the next upgrade"),
    ("rolling, running", "Rolling", 8, "RollingForward", POLICY, Effect.NEXT_UPGRADE, None, None,
     "applies to the next upgrade; the running one keeps the policy it started with"),
    ("manual", "Manual", 8, None, POLICY, Effect.NOTHING_NOW, 0, None,
     "changes nothing until the next model change (Manual mode"),
    ("automatic, none behind", "Automatic", 0, None, POLICY, Effect.NOTHING_NOW, 0, None,
     "the next model change updates every instance at once"),
    # mode switches
    ("manual → rolling, 8 behind", "Manual", 8, None, TO_ROLLING, Effect.ROLLING_UPGRADE, 8, None,
     "starts a rolling upgrade of 8 instances in 4 batches of 2"),
    ("manual → rolling, none behind", "Manual", 0, None, TO_ROLLING, Effect.NEXT_UPGRADE, 0, None,
     "starts no upgrade now"),
    ("manual → rolling, instances unknown", "Manual", None, None, TO_ROLLING, Effect.ROLLING_UPGRADE, None,
     None, "starts a rolling upgrade of the instances behind the model, if any; its batches cannot be planned"),
    ("manual → automatic, 10 behind", "Manual", 10, None, TO_AUTOMATIC, Effect.ALL_AT_ONCE, 10,
     Danger.AUTOMATIC_WITH_INSTANCES_BEHIND, f"upgrades all 10 instances at once {AT_ONCE}"),
    ("manual → automatic, 3 behind", "Manual", 3, None, TO_AUTOMATIC, Effect.ALL_AT_ONCE, 3,
     Danger.AUTOMATIC_WITH_INSTANCES_BEHIND, f"upgrades 3 instances at once {AT_ONCE}"),
    ("rolling → automatic, instances unknown: may be behind", "Rolling", None, None, TO_AUTOMATIC,
     Effect.ALL_AT_ONCE, None, Danger.AUTOMATIC_WITH_INSTANCES_BEHIND, "every instance behind the model"),
    ("manual → automatic, none behind", "Manual", 0, None, TO_AUTOMATIC, Effect.NOTHING_NOW, 0, None,
     "changes nothing now"),
    ("rolling → manual, idle", "Rolling", 0, None, TO_MANUAL, Effect.NOTHING_NOW, 0, None,
     "from now on a model change starts no upgrade (Manual mode)"),
    ("rolling → manual, running: the upgrade goes on", "Rolling", 6, "RollingForward", TO_MANUAL,
     Effect.UPGRADE_GOES_ON, None, Danger.MANUAL_WHILE_ROLLING, "the running upgrade (RollingForward) goes on"),
    ("rolling → manual after a cancel", "Rolling", 6, "Cancelled", TO_MANUAL, Effect.NOTHING_NOW, 0, None,
     "6 instances behind the model stay as they are"),
    # model changes
    ("model, rolling", "Rolling", 0, None, MODEL, Effect.ROLLING_UPGRADE, 10, None,
     "starts a rolling upgrade of 10 instances in 5 batches of 2"),
    ("model, rolling, after a fault", "Rolling", 4, "Faulted", MODEL, Effect.ROLLING_UPGRADE, 10, None,
     "starts a rolling upgrade of 10 instances"),
    ("model, rolling, running", "Rolling", 8, "RollingForward", MODEL, Effect.RETARGETS_RUNNING, None,
     Danger.MODEL_CHANGE_WHILE_ROLLING, "changes the target of the running upgrade (RollingForward) mid-flight"),
    ("model, manual, running OS upgrade", "Manual", 0, "RollingForward", MODEL, Effect.RETARGETS_RUNNING, None,
     Danger.MODEL_CHANGE_WHILE_ROLLING, "mid-flight"),
    ("model, automatic", "Automatic", 0, None, MODEL, Effect.ALL_AT_ONCE, 10, None,
     f"upgrades all 10 instances at once {AT_ONCE}"),
    ("model, automatic, instances unknown", "Automatic", None, None, MODEL, Effect.ALL_AT_ONCE, 10, None,
     f"upgrades every instance at once {AT_ONCE}"),
    ("model, manual", "Manual", 0, None, MODEL, Effect.NOTHING_NOW, 0, None,
     "puts 10 instances behind the model; none changes until you upgrade it (Manual mode)"),
    ("model, rolling, instances unknown", "Rolling", None, None, MODEL, Effect.ROLLING_UPGRADE, 10, None,
     "starts a rolling upgrade of every instance (10 by the scale set's capacity)"),
    # restart
    ("restart after a cancel, 6 behind", "Rolling", 6, "Cancelled", RESTART, Effect.ROLLING_UPGRADE, 6, None,
     "starts a rolling upgrade of 6 instances in 3 batches of 2"),
    ("restart while running", "Rolling", 6, "RollingForward", RESTART, Effect.ALREADY_RUNNING, 0, None,
     "an upgrade is already RollingForward"),
    ("restart, none behind", "Rolling", 0, "Completed", RESTART, Effect.NOTHING_TO_DO, 0, None,
     "every instance is on the latest model"),
    ("restart after a cancelled OS upgrade", "Rolling", 0, "Cancelled", RESTART, Effect.NOTHING_TO_DO, 0,
     None, "the Cancelled upgrade was an OS image or extension upgrade, not a model change"),
    ("restart, automatic, 3 behind", "Automatic", 3, "Faulted", RESTART, Effect.ALL_AT_ONCE, 3, None,
     f"upgrades 3 instances at once {AT_ONCE}"),
    ("restart, manual", "Manual", 3, None, RESTART, Effect.NOTHING_NOW, 0, None,
     "an empty model update starts no upgrade in Manual mode"),
    # start os / extension: every instance, in any mode, with the rolling policy
    ("start os, manual", "Manual", 0, None, START_OS, Effect.ROLLING_UPGRADE, 10, None,
     "starts an OS image rolling upgrade of 10 instances in 5 batches of 2"),
    ("start extension, rolling, after a cancel", "Rolling", 0, "Cancelled", START_EXTENSION,
     Effect.ROLLING_UPGRADE, 10, None, "starts an extension rolling upgrade of 10 instances in 5 batches of 2"),
    ("start os, running", "Automatic", 0, "RollingForward", START_OS, Effect.ALREADY_RUNNING, 0, None,
     "an upgrade is already RollingForward"),
    ("start os, instances unknown", "Manual", None, None, START_OS, Effect.ROLLING_UPGRADE, 10, None,
     "starts an OS image rolling upgrade of every instance (10 by the scale set's capacity)"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "mode", "behind", "latest", "write", "effect", "count", "danger", "text"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_consequence_table(
    case: str,
    mode: str,
    behind: int | None,
    latest: str | None,
    write: Write,
    effect: Effect,
    count: int | None,
    danger: Danger | None,
    text: str,
) -> None:
    instances = UNKNOWN if behind is None else fleet(behind)
    c = consequence(scale_set(mode), instances, upgrade(latest), write)
    assert c.effect is effect
    assert c.instances == count
    assert (c.refusal.danger if c.refusal else None) is danger
    assert text in c.text
    assert c.certain is (behind is not None)
    if behind is None:
        assert "listing throttled: 429 TooManyRequests" in (c.unknown or "")
    doc = c.to_json()
    assert doc["effect"] == effect.value and doc["text"] == c.text and doc["certain"] is c.certain


def test_plan_is_the_domains_rollout_plan() -> None:
    c = consequence(scale_set("Manual"), fleet(8), None, TO_ROLLING)
    assert c.plan is not None
    assert [list(b.instance_ids) for b in c.plan.batches] == [["2", "3"], ["4", "5"], ["6", "7"], ["8", "9"]]
    assert c.to_json()["plan"]["batchSize"] == 2


def test_the_new_policy_plans_the_batches() -> None:
    change = PolicyChange(rolling={"maxBatchInstancePercent": 50, "maxUnhealthyInstancePercent": 60})
    c = consequence(scale_set("Rolling"), fleet(10), None, Write.policy(change))
    assert c.plan is not None and [b.size for b in c.plan.batches] == [5, 5]
    assert "10 instances in 2 batches of 5" in c.text


def test_a_plan_azure_would_refuse_says_so() -> None:
    c = consequence(scale_set("Manual"), fleet(8, unhealthy=(0, 1, 2, 3, 4)), None, TO_ROLLING)
    assert c.plan is not None and c.plan.refused_at == 1
    assert c.notes and "fault" in c.notes[0]


def _danger(mode: str, behind: int | None, latest: str | None, write: Write) -> Danger | None:
    """The refusals as the issue states them, written independently of the function."""
    running = latest in ("RollingForward", "RollingBack")
    change = write.change
    if write.kind is WriteKind.POLICY and change.mode == "Automatic" and mode != "Automatic" and behind != 0:
        return Danger.AUTOMATIC_WITH_INSTANCES_BEHIND
    if write.kind is WriteKind.MODEL and running:
        return Danger.MODEL_CHANGE_WHILE_ROLLING
    if write.kind is WriteKind.POLICY and change.mode == "Manual" and mode != "Manual" and running:
        return Danger.MANUAL_WHILE_ROLLING
    return None


@pytest.mark.parametrize(
    ("mode", "behind", "latest", "write"),
    list(
        itertools.product(
            ("Manual", "Automatic", "Rolling"),
            (0, 4, 10, None),
            (None, "RollingForward", "RollingBack", "Cancelled", "Faulted", "Completed"),
            (POLICY, TO_ROLLING, TO_AUTOMATIC, TO_MANUAL, MODEL, RESTART, START_OS, START_EXTENSION),
        )
    ),
)
def test_every_combination_refuses_exactly_the_dangerous_writes(
    mode: str, behind: int | None, latest: str | None, write: Write
) -> None:
    c = consequence(scale_set(mode), UNKNOWN if behind is None else fleet(behind), upgrade(latest), write)
    assert (c.refusal.danger if c.refusal else None) is _danger(mode, behind, latest, write)
    if not c.certain:
        assert behind is None
    if behind is None and c.effect in (Effect.ROLLING_UPGRADE, Effect.NOTHING_NOW):
        assert not c.certain
    assert c.text and c.effect in Effect
    if c.plan is not None:
        assert c.instances == len(c.plan.candidates)


# The running upgrade has upgraded 2 of 10 (batch 1 done); 2 instances are unhealthy now.
SICK = (8, 9)


@pytest.mark.parametrize(
    ("started", "new", "refused"),
    [
        ({}, {"maxUnhealthyInstancePercent": 50}, False),  # more room: never refused
        ({}, {"maxUnhealthyInstancePercent": 20}, False),  # nothing changes the arithmetic
        ({"maxUnhealthyInstancePercent": 50}, {"maxUnhealthyInstancePercent": 10}, True),  # 2 of 10 ≥ 10%
        ({"maxUnhealthyInstancePercent": 50}, {"maxUnhealthyInstancePercent": 5}, True),
        ({"maxUnhealthyInstancePercent": 50}, {"maxBatchInstancePercent": 10}, False),
        ({"maxUnhealthyInstancePercent": 5}, {"maxUnhealthyInstancePercent": 10}, False),  # faults anyway
    ],
)
def test_a_policy_change_that_makes_the_next_batch_fault_is_refused(
    started: dict[str, Any], new: dict[str, Any], refused: bool
) -> None:
    ss = scale_set("Rolling", **started)
    running = upgrade("RollingForward", policy=started)
    c = consequence(ss, fleet(8, unhealthy=SICK), running, Write.policy(PolicyChange(rolling=new)))
    assert c.effect is Effect.NEXT_UPGRADE
    assert (c.refusal is not None) is refused
    if c.refusal is not None:
        assert c.refusal.danger is Danger.NEXT_BATCH_FAULTS
        assert "before batch 2" in c.refusal.message and "2 unhealthy of 10" in c.refusal.message


def test_the_fault_arithmetic_needs_the_instances() -> None:
    running = upgrade("RollingForward", policy={"maxUnhealthyInstancePercent": 50})
    c = consequence(scale_set("Rolling"), UNKNOWN, running, Write.policy(PolicyChange(rolling={
        "maxUnhealthyInstancePercent": 5})))  # fmt: skip
    assert c.refusal is None and not c.certain


@pytest.mark.parametrize(
    ("latest", "behind", "step"),
    [
        ("Cancelled", 6, NextStep.RESTART),
        ("Faulted", 1, NextStep.RESTART),
        ("Cancelled", 0, NextStep.START_AGAIN),
        ("Faulted", 0, NextStep.START_AGAIN),
        ("Faulted", None, None),  # instances unknown: no guess
        ("Completed", 0, None),
        ("RollingForward", 3, None),
        (None, 3, None),
    ],
)
def test_the_next_step_after_a_stop_follows_the_kind_of_upgrade(
    latest: str | None, behind: int | None, step: NextStep | None
) -> None:
    assert after_stop(upgrade(latest), behind) is step


def test_restart_after_a_cancelled_os_upgrade_names_start() -> None:
    c = consequence(scale_set("Rolling"), fleet(0), upgrade("Cancelled"), RESTART)
    assert c.next_step is NextStep.START_AGAIN
    assert "vmssroll start os -g rg -n web" in c.next_step.command("-g rg -n web")
    assert c.to_json()["nextStep"] == "start-again"


def test_attached_vms_are_not_counted() -> None:
    instances = [*fleet(0, n=4), replace(fleet(1, n=1)[0], instance_id="x", attached=True)]
    c: Consequence = consequence(scale_set("Automatic"), instances, None, MODEL)
    assert c.instances == 4


def approving(mode: str | None, *, rolling: dict[str, Any] | None = None, **automatic_os: Any) -> ScaleSet:
    return replace(scale_set(mode), upgrade_policy=UpgradePolicy(mode, rolling or {}, automatic_os))


HALF = {"maxBatchInstancePercent": 50, "maxUnhealthyInstancePercent": 50}
DEFAULT_POLICY = "it runs with Azure's default policy (useRollingUpgradePolicy off)"
OWN_POLICY = "it runs with its rolling upgrade policy"

# (case, scale set, approved instances, listing) → (text, instances, note on the policy)
APPROVALS: list[tuple[str, ScaleSet, tuple[str, ...], bool, str, int, str]] = [
    ("manual: Azure's default policy, 20% batches", approving("Manual", rolling=HALF), (), True,
     "starts the deferred OS image rolling upgrade of 10 instances in 5 batches of 2", 10, DEFAULT_POLICY),
    ("no mode at all: Azure's default policy", approving(None, rolling=HALF), (), True,
     "starts the deferred OS image rolling upgrade of 10 instances in 5 batches of 2", 10, DEFAULT_POLICY),
    ("rolling mode: its own policy", approving("Rolling", rolling=HALF), (), True,
     "starts the deferred OS image rolling upgrade of 10 instances in 2 batches of 5", 10, OWN_POLICY),
    ("manual with useRollingUpgradePolicy: its own policy",
     approving("Manual", rolling=HALF, useRollingUpgradePolicy=True), (), True,
     "starts the deferred OS image rolling upgrade of 10 instances in 2 batches of 5", 10, OWN_POLICY),
    ("some instances approved: only those", approving("Rolling", rolling=HALF), ("2", "3", "7"), True,
     "starts the deferred OS image rolling upgrade of 3 instances in 3 batches of 1", 3, OWN_POLICY),
    ("instances unknown: every instance, by the capacity", approving("Manual"), ("2",), False,
     "starts the deferred OS image rolling upgrade of every instance (10 by the scale set's capacity); its "
     "batches cannot be planned", 10, DEFAULT_POLICY),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "ss", "approved", "listed", "text", "count", "which"), APPROVALS, ids=[c[0] for c in APPROVALS]
)
def test_approving_a_deferred_os_upgrade(
    case: str, ss: ScaleSet, approved: tuple[str, ...], listed: bool, text: str, count: int, which: str
) -> None:
    c = consequence(
        ss, fleet(0) if listed else UNKNOWN, None, Write(WriteKind.APPROVE_OS, instances=approved)
    )
    assert (c.effect, c.text, c.instances, c.refusal) == (Effect.ROLLING_UPGRADE, text, count, None)
    assert c.notes[-2:] == (which, "instances already on the newest image are not affected")
    if approved and listed:
        assert c.plan is not None
        assert sorted(i for b in c.plan.batches for i in b.instance_ids) == sorted(approved)
    if not listed:
        assert c.unknown == "the instances could not be read (listing throttled: 429 TooManyRequests)"


def test_approving_while_an_upgrade_runs_starts_nothing() -> None:
    c = consequence(approving("Rolling"), fleet(0), upgrade("RollingForward"), Write(WriteKind.APPROVE_OS))
    assert (c.effect, c.text, c.instances, c.notes) == (
        Effect.ALREADY_RUNNING,
        "starts nothing: an upgrade is already RollingForward",
        0,
        (),
    )
