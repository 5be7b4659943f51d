"""`vmssroll rollout --orchestrate`: vmssroll, not Azure, upgrades a Manual-mode Uniform scale set in batches.

The model change is the same PATCH as any image rollout (in Manual mode it starts nothing); then one
`manualupgrade` per batch of the plan, a canary of exactly N instances first, each batch read until its
instances settle on the new model and judged with the rolling policy's own health limits
(domain/orchestrate.py), with the rollout's gates, checkpoints, record, bake and undo (cli/progressive.py's
Rollout, whose following of Azure's upgrade this class replaces with its own batches).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from fractions import Fraction
from typing import TYPE_CHECKING

from vmssroll.cli.common import refuse_while_rolling
from vmssroll.cli.progressive import Rollout, Settings, first_gates, refuse_paused
from vmssroll.cli.rollout_record import read_record
from vmssroll.domain.errors import ExitCode, NotReady
from vmssroll.domain.model import Instance
from vmssroll.domain.orchestrate import Leg, State, judge, legs, refused_before
from vmssroll.domain.progressive import Gates, Kind, Phase, Record, crossed, writable_image
from vmssroll.domain.unknown import Unknown

if TYPE_CHECKING:
    from vmssroll.adapter.client import Azure
    from vmssroll.cli.common import Invocation
    from vmssroll.domain.model import ScaleSet


@dataclass
class Orchestration(Rollout):
    """A rollout whose batches vmssroll sends itself (`manualupgrade`), waiting for health between them."""

    legs: tuple[Leg, ...] = ()
    limit_after: int = 20  # maxUnhealthyUpgradedInstancePercent
    limit_before: int = 20  # maxUnhealthyInstancePercent
    pause_between: float = 0.0  # pauseTimeBetweenBatches, seconds
    sent: list[str] = field(default_factory=list)

    def run(self) -> int:
        for leg in self.legs:
            code = self.upgrade(leg)
            if code is None and leg is not self.legs[-1]:
                code = self.between()
            if code is not None:
                return code
        return self.bake()

    def instances(self) -> list[Instance]:
        """The instances, read again after the interval while a read fails (a supplementary read)."""
        while True:
            listed = self.azure.instances_or_unknown(self.inv.target)
            if not isinstance(listed, Unknown):
                return listed
            self.check_deadline()
            self.clock.sleep(self.opts.interval)

    def upgrade(self, leg: Leg) -> int | None:
        """Azure's check before a batch, the batch's `manualupgrade`, then its instances read until they
        settle; a gate tripping or the health limit breached stops the rollout."""
        refused = refused_before(self.instances(), leg, self.limit_before)
        if refused is not None:
            return self.halt(f"before the {leg.name(len(self.legs))}: {refused}")
        self.azure.manual_upgrade(self.inv.target, list(leg.instance_ids))
        self.sent.extend(leg.instance_ids)
        self.emit("batch", f"Upgrading {leg.name(len(self.legs))}", **self.fields(leg))
        while True:
            self.check_deadline()
            self.gates_due()
            if (tripped := self.gates.tripped) is not None:
                return self.halt(f"{tripped.line()} {self.gates.limit} time(s) in a row while rolling")
            found = judge(self.instances(), leg, self.sent, self.limit_after)
            if found.state is State.BREACHED:
                return self.halt(f"after the {leg.name(len(self.legs))}: {found.message}")
            if found.state is State.HEALTHY:
                self.emit(
                    "batch", f"Settled: {leg.name(len(self.legs))}, {found.message}", **self.fields(leg)
                )
                return None
            self.clock.sleep(min(self.opts.interval, self.opts.gate_interval))

    def fields(self, leg: Leg) -> dict[str, object]:
        return {
            "batch": leg.number,
            "batches": len(self.legs),
            "canary": leg.canary,
            "instanceIds": list(leg.instance_ids),
            "upgraded": len(self.sent),
            "total": self.record.total,
        }

    def between(self) -> int | None:
        """After a healthy batch: a checkpoint reached pauses the rollout; else the policy's pause between
        batches, with the gates running."""
        share = Fraction(len(self.sent), max(1, self.record.total))
        reached = crossed(self.record.checkpoints, self.record.passed, share)
        if reached:
            return self.checkpoint(reached)
        ends = self.clock.monotonic() + self.pause_between
        while (left := ends - self.clock.monotonic()) > 0:
            self.check_deadline()
            self.gates_due()
            if (tripped := self.gates.tripped) is not None:
                return self.halt(f"{tripped.line()} {self.gates.limit} time(s) in a row between batches")
            self.clock.sleep(min(left, self.opts.gate_interval))
        return None

    def checkpoint(self, reached: tuple[int, ...]) -> int | None:
        """Record the pause (in Manual mode a write of the record starts nothing), then wait for resume."""
        ss, current = read_record(self.azure, self.inv)
        self.own(current)
        passed = tuple(sorted({*self.record.passed, *reached}))
        _, self.record = self.write(ss, replace(self.record, phase=Phase.PAUSED, passed=passed))
        self.emit(
            "paused",
            f"Paused at {passed[-1]}%: {len(self.sent)} of {self.record.total} instance(s) upgraded. "
            f"Resume with: vmssroll resume {self.inv.target.args()}",
            checkpoint=passed[-1],
            upgraded=len(self.sent),
            total=self.record.total,
            record=self.record.to_json(),
        )
        return self.wait_for_resume()

    def halt(self, reason: str) -> int:
        """Record the stop (nothing rolls by itself in Manual mode: no cancel), then stop or undo."""
        ss, current = read_record(self.azure, self.inv)
        self.own(current)
        _, self.record = self.write(ss, replace(self.record, phase=Phase.STOPPED, reason=reason))
        return self.failed(reason, ExitCode.FAULTED)


def preflight(inv: Invocation, azure: Azure, opts: Settings) -> tuple[ScaleSet, Orchestration]:
    """`check`, Manual mode on a Uniform set, nothing running or paused, the plan, the canary, the gates once:
    a refusal is exit 3, nothing sent."""
    from vmssroll.cli.policy_change import preflight as check
    from vmssroll.cli.policy_change import refuse
    from vmssroll.domain.plan import plan_rollout
    from vmssroll.domain.policy import effective
    from vmssroll.domain.prereq import Purpose

    facts, report = check(inv, azure, Purpose.ROLLING)
    ss = facts.scale_set
    _refuse_scale_set(inv, ss)
    if not report.ready:
        raise refuse(inv, report)
    refuse_while_rolling(inv, azure)
    refuse_paused(inv, ss)
    if facts.instances_unknown is not None or not facts.instances:
        raise NotReady(f"the instances of {ss.name} could not be listed, so no batch can be chosen")
    policy = effective(ss.upgrade_policy.rolling)
    plan = plan_rollout(facts.instances, ss.zones, policy, batch_time=timedelta(minutes=5), everything=True)
    if plan.refused_at is not None:
        raise NotReady(f"before batch {plan.refused_at}: {plan.verdict()}; nothing was sent")
    if opts.canary > len(facts.instances):
        raise NotReady(f"--canary {opts.canary}: {ss.name} has {len(facts.instances)} instance(s)")
    found = legs(plan, opts.canary)
    inv.out.note(
        f"Plan: {found[0].name(len(found))} first, then {len(found) - 1} batch(es) of up to {plan.batch_size}, "
        "each upgraded by vmssroll (manualupgrade) and waited on until healthy"
    )
    record = Record(
        id=inv.env.clock.utcnow().strftime("%Y%m%dT%H%M%SZ"),
        kind=Kind.IMAGE,
        phase=Phase.ROLLING,
        total=len(facts.instances),
        checkpoints=opts.checkpoints,
        previous=writable_image(ss.image),
    )
    runner = Orchestration(
        inv, azure, opts, record, gates=Gates(opts.gates, opts.gate_failures), legs=found,
        limit_after=int(policy["maxUnhealthyUpgradedInstancePercent"]),
        limit_before=int(policy["maxUnhealthyInstancePercent"]), pause_between=plan.pause_seconds,
    )  # fmt: skip
    first_gates(runner)
    return ss, runner


def _refuse_scale_set(inv: Invocation, ss: ScaleSet) -> None:
    if ss.is_flexible:
        raise NotReady(
            f"{ss.name} is Flexible: Azure refuses manualupgrade there, so --orchestrate cannot upgrade it; "
            "nothing was sent",
            hint=f"let Azure roll it: vmssroll enable-rolling {inv.target.args()}",
        )
    mode = ss.upgrade_policy.mode or "Manual"
    if mode.lower() != "manual":
        raise NotReady(
            f"{ss.name} is in {mode} mode: Azure would upgrade the instances itself; --orchestrate is for "
            "Manual mode; nothing was sent",
            hint="drop --orchestrate (Rolling mode) or switch to Manual: vmssroll disable-rolling",
        )
