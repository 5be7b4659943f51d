"""What a write sets in motion: one pure function every write command asks before it sends anything.

From the scale set (mode, rolling policy), its instances (when they could be read), the latest rolling upgrade
and the kind of write, `consequence` says what Azure will do because of the write (a rolling upgrade in
batches, every instance at once, nothing until later), how sure that is, and whether the write is dangerous
enough to need `--force`. The batches come from the rollout plan (`plan_rollout`), the health arithmetic from
the plan's `pre_check`: nothing here re-derives them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import StrEnum
from typing import Any

from vmssroll.domain.durations import parse_duration
from vmssroll.domain.model import Instance, ScaleSet
from vmssroll.domain.plan import DEFAULT_BATCH_TIME, Plan, PreCheck, batch_size, plan_rollout, pre_check
from vmssroll.domain.policy import PolicyChange, apply, apply_os, effective, effective_os
from vmssroll.domain.rollout import batch_estimate
from vmssroll.domain.unknown import Unknown
from vmssroll.domain.upgrade import UpgradeStatus

# not verified against Azure: whether a running upgrade picks up a policy change. Its status document keeps
# the policy it started with (`properties.policy`), so vmssroll assumes the change waits for the next upgrade.
RUNNING_KEEPS_POLICY = "the running one keeps the policy it started with"


class WriteKind(StrEnum):
    """The kinds of write vmssroll makes, by what Azure does with them."""

    POLICY = "policy"  # properties.upgradePolicy: rolling fields and/or the mode (policy set, enable/disable)
    MODEL = "model"  # a model change: every instance falls behind (set-image; later rollout and undo)
    RESTART = "restart"  # an empty model update: Azure looks again at the instances behind
    START_OS = "start-os"  # an OS image rolling upgrade of every instance
    START_EXTENSION = "start-extension"  # an extension rolling upgrade of every instance
    APPROVE_OS = "approve-os"  # approving a deferred automatic OS upgrade: it runs, for all or some instances


@dataclass(frozen=True)
class Write:
    kind: WriteKind
    change: PolicyChange = field(default_factory=PolicyChange)  # POLICY only: what the write changes
    instances: tuple[str, ...] = ()  # APPROVE_OS only: the instances approved (none: every pending one)

    @classmethod
    def policy(cls, change: PolicyChange) -> Write:
        return cls(WriteKind.POLICY, change)


class Effect(StrEnum):
    ROLLING_UPGRADE = "rolling-upgrade"  # a rolling upgrade starts, in batches
    ALL_AT_ONCE = "all-at-once"  # Automatic mode: the instances behind are updated at once
    NOTHING_NOW = "nothing-now"  # nothing starts now; later writes or commands decide
    NEXT_UPGRADE = "next-upgrade"  # a policy that waits for the next upgrade
    RETARGETS_RUNNING = "retargets-running"  # a model change under a running upgrade
    UPGRADE_GOES_ON = "upgrade-goes-on"  # back to Manual while an upgrade runs: it is not stopped
    ALREADY_RUNNING = "already-running"  # Azure starts nothing: an upgrade is running
    NOTHING_TO_DO = "nothing-to-do"  # every instance is on the latest model


class Danger(StrEnum):
    """Writes refused without --force (exit 3, nothing sent)."""

    AUTOMATIC_WITH_INSTANCES_BEHIND = "automatic-with-instances-behind"
    MODEL_CHANGE_WHILE_ROLLING = "model-change-while-rolling"
    MANUAL_WHILE_ROLLING = "manual-while-rolling"
    NEXT_BATCH_FAULTS = "next-batch-faults"


@dataclass(frozen=True)
class Refusal:
    danger: Danger
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"code": self.danger.value, "message": self.message}


@dataclass(frozen=True)
class Consequence:
    """What a write sets in motion, and how sure that is."""

    effect: Effect
    text: str  # one sentence: "starts a rolling upgrade of 8 instances in 4 batches of 2" (`plan` has them)
    instances: int | None  # how many instances it sets in motion; None: unknown
    plan: Plan | None = None  # the batches, when a rolling upgrade starts and the instances are known
    unknown: str | None = None  # why it is not sure (the instances could not be read)
    refusal: Refusal | None = None  # dangerous: refused without --force
    notes: tuple[str, ...] = ()
    next_step: NextStep | None = None  # what to run instead, when this write cannot do what is wanted

    @property
    def certain(self) -> bool:
        return self.unknown is None

    def to_json(self) -> dict[str, Any]:
        return {
            "effect": self.effect.value,
            "text": self.text,
            "instances": self.instances,
            "certain": self.certain,
            "unknown": self.unknown,
            "refusal": None if self.refusal is None else self.refusal.to_json(),
            "notes": list(self.notes),
            "nextStep": None if self.next_step is None else self.next_step.value,
            "plan": None if self.plan is None else self.plan.to_json(),
        }


Instances = Sequence[Instance] | Unknown  # Unknown: the listing failed (a supplementary read)


def consequence(
    scale_set: ScaleSet,
    instances: Instances,
    upgrade: UpgradeStatus | None,
    write: Write,
    *,
    batch_time: timedelta | None = None,
) -> Consequence:
    """What `write` sets in motion on `scale_set`, given its instances and its latest rolling upgrade."""
    per_batch = batch_time or parse_duration(DEFAULT_BATCH_TIME, what="batch time")
    facts = _Facts(scale_set, instances, upgrade, per_batch)
    match write.kind:
        case WriteKind.POLICY:
            return _policy(facts, write.change)
        case WriteKind.MODEL:
            return _model(facts)
        case WriteKind.RESTART:
            return _restart(facts)
        case WriteKind.START_OS | WriteKind.START_EXTENSION:
            return _start(facts, "OS image" if write.kind is WriteKind.START_OS else "extension")
        case WriteKind.APPROVE_OS:
            return _approve(facts, write.instances)


@dataclass(frozen=True)
class _Facts:
    scale_set: ScaleSet
    instances: Instances
    upgrade: UpgradeStatus | None
    batch_time: timedelta

    @property
    def mode(self) -> str:
        return self.scale_set.upgrade_policy.mode or "Manual"

    @property
    def running(self) -> bool:
        return self.upgrade is not None and self.upgrade.running

    @property
    def members(self) -> list[Instance] | None:
        """Instances made from the model (attached Flexible VMs are not upgraded by it); None: unknown."""
        if isinstance(self.instances, Unknown):
            return None
        return [i for i in self.instances if not i.attached]

    @property
    def behind(self) -> int | None:
        members = self.members
        return None if members is None else sum(1 for i in members if i.latest_model_applied is False)

    @property
    def unknown(self) -> str | None:
        if isinstance(self.instances, Unknown):
            return f"the instances could not be read ({self.instances.reason})"
        return None

    def plan(self, policy: Mapping[str, Any], *, everything: bool) -> Plan | None:
        members = self.members
        if members is None:
            return None
        return plan_rollout(
            members,
            self.scale_set.zones,
            effective(policy),
            batch_time=self.batch_time,
            everything=everything,
        )


def _rolling(facts: _Facts, policy: Mapping[str, Any], *, everything: bool, note: str = "") -> Consequence:
    """A rolling upgrade starts: of the instances behind, or (`everything`) of all of them."""
    plan = facts.plan(policy, everything=everything)
    if plan is None:
        what = (
            f"every instance ({facts.scale_set.capacity} by the scale set's capacity)"
            if everything
            else "the instances behind the model, if any"
        )
        return Consequence(
            Effect.ROLLING_UPGRADE,
            f"starts a rolling upgrade of {what}; its batches cannot be planned{note}",
            facts.scale_set.capacity if everything else None,
            unknown=facts.unknown,
        )
    notes: list[str] = []
    if plan.refused_at is not None:
        notes.append(plan.verdict())
    return Consequence(
        Effect.ROLLING_UPGRADE,
        f"starts a rolling upgrade of {_count(len(plan.candidates))} in {_batches(plan)}{note}",
        len(plan.candidates),
        plan=plan,
        notes=tuple(notes),
    )


def _all_at_once(facts: _Facts, *, everything: bool) -> Consequence:
    members = facts.members
    if members is None:
        what = "every instance" if everything else "every instance behind the model"
        return Consequence(
            Effect.ALL_AT_ONCE,
            f"upgrades {what} at once (Automatic mode: no batches, no health checks)",
            facts.scale_set.capacity if everything else None,
            unknown=facts.unknown,
        )
    n = len(members) if everything else (facts.behind or 0)
    every = "all " if n == len(members) else ""
    return Consequence(
        Effect.ALL_AT_ONCE,
        f"upgrades {every}{_count(n)} at once (Automatic mode: no batches, no health checks)",
        n,
    )


def _policy(facts: _Facts, change: PolicyChange) -> Consequence:
    result = _policy_effect(facts, change)
    notes = automatic_os_notes(facts.scale_set.upgrade_policy.automatic_os, change)
    return _with(result, notes=result.notes + notes) if notes else result


def automatic_os_notes(stored: Mapping[str, Any], change: PolicyChange) -> tuple[str, ...]:
    """What a change of the automatic OS upgrade policy sets in motion later: Azure, not vmssroll, starts
    those upgrades when a newer image version is published (the history says `startedBy: Platform`)."""
    before, after = effective_os(stored), apply_os(stored, change)
    if before == after:
        return ()
    on, deferred = after["enableAutomaticOSUpgrade"], after["osRollingUpgradeDeferral"]
    notes: list[str] = []
    if on and not before["enableAutomaticOSUpgrade"]:
        notes.append(
            "from now on Azure starts an OS image rolling upgrade by itself whenever a newer version of the image "
            "is published (`vmssroll history` shows them, started by Platform)"
        )
    elif not on and before["enableAutomaticOSUpgrade"]:
        notes.append("Azure starts no more automatic OS upgrades; one already running goes on")
    if on and deferred and not (before["osRollingUpgradeDeferral"] and before["enableAutomaticOSUpgrade"]):
        notes.append("each automatic OS upgrade waits until you approve it: `vmssroll approve`")
    elif on and not deferred and before["osRollingUpgradeDeferral"]:
        notes.append(
            "automatic OS upgrades no longer wait for approval: the next one runs as soon as it starts"
        )
    if on and after["disableAutomaticRollback"] and not before["disableAutomaticRollback"]:
        notes.append("an instance whose OS upgrade fails keeps the new image: no automatic rollback")
    return tuple(notes)


def _policy_effect(facts: _Facts, change: PolicyChange) -> Consequence:
    before = facts.mode
    after, rolling = apply(
        facts.scale_set.upgrade_policy.mode, facts.scale_set.upgrade_policy.rolling, change
    )
    behind = facts.behind
    switch_to_automatic = after == "Automatic" and before != "Automatic"
    if switch_to_automatic and behind != 0:
        result = _all_at_once(facts, everything=False)
        why = (
            f"{_count(behind)} {'are' if behind != 1 else 'is'} behind the model"
            if behind is not None
            else f"{facts.unknown}, so instances may be behind the model"
        )
        refusal = Refusal(
            Danger.AUTOMATIC_WITH_INSTANCES_BEHIND,
            f"switching to Automatic while {why} updates them all at once, with no batches and no health checks",
        )
        return _with(result, refusal=refusal)
    if facts.running:
        assert facts.upgrade is not None
        if after == "Manual" and before != "Manual":
            return Consequence(
                Effect.UPGRADE_GOES_ON,
                f"the running upgrade ({facts.upgrade.code}) goes on: switching to Manual does not stop it "
                "(`vmssroll cancel` does); no new upgrade starts by itself afterwards",
                None,
                refusal=Refusal(
                    Danger.MANUAL_WHILE_ROLLING,
                    f"a rolling upgrade is {facts.upgrade.code}: switching to Manual does not stop it, the "
                    "upgrade goes on",
                ),
            )
        return _with(
            Consequence(
                Effect.NEXT_UPGRADE, f"applies to the next upgrade; {RUNNING_KEEPS_POLICY}", None,
                unknown=facts.unknown, notes=(f"{RUNNING_KEEPS_POLICY}: not verified against Azure",),
            ),
            refusal=_next_batch_faults(facts, rolling),
        )  # fmt: skip
    if after == "Rolling":
        if behind == 0:
            return Consequence(
                Effect.NEXT_UPGRADE,
                "starts no upgrade now (every instance is on the latest model); applies to the next upgrade",
                0,
            )
        note = (
            " (not verified: Azure may start it at once or with the next model change)"
            if before != "Rolling"
            else ""
        )
        return _rolling(facts, rolling, everything=False, note=note)
    if after == "Automatic":
        if behind == 0:
            return Consequence(
                Effect.NOTHING_NOW,
                "changes nothing now; the next model change updates every instance at once "
                "(Automatic mode: no batches, no health checks)",
                0,
            )
        return _all_at_once(facts, everything=False)
    waiting = f"; {_count(behind)} behind the model stay as they are" if behind else ""
    if before != "Manual":
        text = "changes nothing now; from now on a model change starts no upgrade (Manual mode)"
    else:
        text = (
            "changes nothing until the next model change (Manual mode: the rolling policy applies to the "
            "upgrades you start)"
        )
    return Consequence(Effect.NOTHING_NOW, text + waiting, 0, unknown=facts.unknown)


def _next_batch_faults(facts: _Facts, rolling: Mapping[str, Any]) -> Refusal | None:
    """The running upgrade's next batch under the new policy, when the arithmetic says it faults."""
    members = facts.members
    if members is None or not members or facts.upgrade is None:
        return None
    total = len(members)
    unhealthy = sum(1 for i in members if i.health.counts_unhealthy)
    estimate = batch_estimate(facts.upgrade, total)
    number = estimate.current + 1 if estimate else 1

    def check(policy: Mapping[str, Any]) -> PreCheck:
        size = batch_size(total, int(policy["maxBatchInstancePercent"]))
        return pre_check(number, unhealthy, total, size, int(policy["maxUnhealthyInstancePercent"]), size)

    old = check(effective(facts.upgrade.policy or facts.scale_set.upgrade_policy.rolling))
    new = check(effective(rolling))
    if not new.refused or old.refused:
        return None
    return Refusal(
        Danger.NEXT_BATCH_FAULTS,
        f"with maxUnhealthyInstancePercent {new.limit}, the running upgrade's next batch faults if Azure applies "
        f"the new policy to it, and so does the next upgrade: {new.arithmetic()}",
    )


def _model(facts: _Facts) -> Consequence:
    policy = facts.scale_set.upgrade_policy.rolling
    if facts.running:
        assert facts.upgrade is not None
        return Consequence(
            Effect.RETARGETS_RUNNING,
            f"changes the target of the running upgrade ({facts.upgrade.code}) mid-flight: instances already "
            "upgraded fall behind again",
            None,
            refusal=Refusal(
                Danger.MODEL_CHANGE_WHILE_ROLLING,
                f"a rolling upgrade is {facts.upgrade.code}: a model change now changes its target mid-flight",
            ),
        )
    match facts.mode:
        case "Rolling":
            return _rolling(facts, policy, everything=True)
        case "Automatic":
            return _all_at_once(facts, everything=True)
    members = facts.members
    n = facts.scale_set.capacity if members is None else len(members)
    return Consequence(
        Effect.NOTHING_NOW,
        f"puts {_count(n)} behind the model; none changes until you upgrade it (Manual mode)",
        0,
        unknown=facts.unknown,
    )


def _restart(facts: _Facts) -> Consequence:
    if facts.running:
        assert facts.upgrade is not None
        return Consequence(
            Effect.ALREADY_RUNNING, f"starts nothing: an upgrade is already {facts.upgrade.code}", 0
        )
    if facts.behind == 0:
        text = "starts nothing: every instance is on the latest model"
        step = after_stop(facts.upgrade, 0)
        if step is not None and facts.upgrade is not None:
            text += (
                f"; the {facts.upgrade.code} upgrade was an OS image or extension upgrade, not a model change"
            )
        return Consequence(Effect.NOTHING_TO_DO, text, 0, next_step=step)
    match facts.mode:
        case "Rolling":
            return _rolling(facts, facts.scale_set.upgrade_policy.rolling, everything=False)
        case "Automatic":
            return _all_at_once(facts, everything=False)
    return Consequence(
        Effect.NOTHING_NOW,
        "starts nothing: an empty model update starts no upgrade in Manual mode",
        0,
        unknown=facts.unknown,
    )


def _start(facts: _Facts, what: str) -> Consequence:
    if facts.running:
        assert facts.upgrade is not None
        return Consequence(
            Effect.ALREADY_RUNNING, f"starts nothing: an upgrade is already {facts.upgrade.code}", 0
        )
    # OS image and extension rolling upgrades use the rolling policy whatever the mode (FACTS).
    result = _rolling(facts, facts.scale_set.upgrade_policy.rolling, everything=True)
    return _with(result, text=result.text.replace("a rolling upgrade", f"an {what} rolling upgrade", 1))


def _approve(facts: _Facts, approved: tuple[str, ...]) -> Consequence:
    """The deferred automatic OS upgrade runs: with the rolling policy in Rolling mode or with
    useRollingUpgradePolicy, else with Azure's default policy. Which instances are still pending is not
    readable through ARM (Azure announces it to the VMs only), so the plan covers the approved instances, or
    every instance, as an upper bound."""
    if facts.running:
        assert facts.upgrade is not None
        return Consequence(
            Effect.ALREADY_RUNNING, f"starts nothing: an upgrade is already {facts.upgrade.code}", 0
        )
    ss = facts.scale_set
    uses_rolling = (ss.upgrade_policy.mode or "").lower() == "rolling" or bool(
        effective_os(ss.upgrade_policy.automatic_os)["useRollingUpgradePolicy"]
    )
    policy = ss.upgrade_policy.rolling if uses_rolling else {}
    which = (
        "its rolling upgrade policy"
        if uses_rolling
        else "Azure's default policy (useRollingUpgradePolicy off)"
    )
    if approved and facts.members is not None:
        chosen = set(approved)
        facts = replace(facts, instances=[i for i in facts.members if i.instance_id in chosen])
    result = _rolling(facts, policy, everything=True)
    text = result.text.replace("a rolling upgrade", "the deferred OS image rolling upgrade", 1)
    notes = (*result.notes, f"it runs with {which}", "instances already on the newest image are not affected")
    return _with(result, text=text, notes=notes)


class NextStep(StrEnum):
    """What to run after a cancelled or faulted upgrade, by the kind of upgrade it was."""

    RESTART = "restart"  # a model change: an empty model update rolls the instances behind again
    START_AGAIN = "start-again"  # an OS image or extension upgrade: start it again

    def command(self, target_args: str) -> str:
        if self is NextStep.RESTART:
            return f"vmssroll restart {target_args}"
        return f"vmssroll start os {target_args} or vmssroll start extension {target_args} (whichever it was)"


def after_stop(upgrade: UpgradeStatus | None, behind: int | None) -> NextStep | None:
    """The next step after a cancelled or faulted upgrade, by its kind as far as it can be told.

    Instances behind the model mean a model change: `restart` (an empty model update) rolls them again. With
    none behind it was an OS image or extension upgrade (Azure's status does not say which): start it again.
    Unknown instances, or an upgrade that did not stop: None.
    """
    if upgrade is None or upgrade.code.lower() not in ("cancelled", "faulted") or behind is None:
        return None
    return NextStep.RESTART if behind else NextStep.START_AGAIN


def _with(c: Consequence, **changes: Any) -> Consequence:
    return replace(c, **changes)


def _count(n: int | None) -> str:
    if n is None:
        return "an unknown number of instances"
    return f"{n} instance{'s' if n != 1 else ''}"


def _batches(plan: Plan) -> str:
    sizes = [b.size for b in plan.batches if b.reached]
    n = len(plan.batches)
    word = "batch" if n == 1 else "batches"
    if not sizes:
        return f"{n} {word} (refused before the first)"
    if min(sizes) == max(sizes):
        return f"{n} {word} of {sizes[0]}"
    return f"{n} {word} of {min(sizes)} to {max(sizes)}"
