"""`vmssroll check | enable-rolling | disable-rolling`: health prerequisites, and switching mode safely."""

from __future__ import annotations

from typing import Annotated

import typer

from vmssroll.cli.common import DryRunOpt, ForceOpt, Invocation, NoWaitOpt, YesOpt, command, need_answer
from vmssroll.cli.policy_change import apply_change, preflight, require_ready
from vmssroll.cli.policy_options import PolicyFlags
from vmssroll.domain import policy as rules
from vmssroll.domain.errors import ExitCode, InvalidInput
from vmssroll.domain.prereq import Purpose

ForOpt = Annotated[
    Purpose, typer.Option("--for", help="What to check for: rolling, max-surge or os-upgrade.")
]
WaitHealthyOpt = Annotated[
    str | None,
    typer.Option(
        "--wait-healthy",
        metavar="DURATION",
        help="Wait up to this long for every instance to report Healthy (exit 7), e.g. 10m.",
    ),
]

app = typer.Typer()


@command(app, "check")
def check(inv: Invocation, purpose: ForOpt = Purpose.ROLLING) -> int:
    """Preflight report, one row per rule with its evidence and fix. Exit 0 ready, 3 not ready."""
    from vmssroll.ui.prereq import report_view

    _, report = preflight(inv, inv.azure(), purpose)
    inv.out.result(report.to_json(), report_view(report))
    return ExitCode.OK if report.ready else ExitCode.NOT_READY


@command(app, "enable-rolling", policy_flags=True)
def enable_rolling(
    inv: Invocation,
    policy: PolicyFlags,
    wait_healthy: WaitHealthyOpt = None,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    force: ForceOpt = False,
    no_wait: NoWaitOpt = False,
) -> int:
    """Check the health prerequisites, then switch to Rolling: one PATCH (If-Match), wait for Azure to finish
    it, read back, confirm."""
    from vmssroll.domain.durations import parse_duration

    asked = policy.change()
    if asked.mode not in (None, "Rolling"):
        raise InvalidInput(f"enable-rolling sets mode Rolling, but the policy file asks for {asked.mode}")
    change = rules.PolicyChange(mode="Rolling", rolling=asked.rolling)
    wait = parse_duration(wait_healthy, what="--wait-healthy").total_seconds() if wait_healthy else None
    need_answer(inv, dry_run=dry_run, yes=yes)
    azure = inv.azure()
    facts, report = require_ready(inv, azure, change, wait=wait, force=force)
    return apply_change(
        inv,
        azure,
        facts.scale_set,
        change,
        dry_run=dry_run,
        yes=yes,
        force=force,
        instances=facts.instances_unknown or facts.instances,
        check=report,
        no_wait=no_wait,
    )


@command(app, "disable-rolling")
def disable_rolling(
    inv: Invocation,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    force: ForceOpt = False,
    no_wait: NoWaitOpt = False,
) -> int:
    """Back to Manual at once: no new automatic rollouts. A running upgrade is not cancelled by this: while
    one runs, the switch is refused (exit 3) unless --force."""

    need_answer(inv, dry_run=dry_run, yes=yes)
    azure = inv.azure()
    ss = azure.scale_set(inv.target)
    inv.out.note(
        "switching to Manual stops new automatic rollouts; it never cancels a running upgrade "
        f"(`vmssroll cancel {inv.target.args()}` does)"
    )
    change = rules.PolicyChange(mode="Manual")
    return apply_change(inv, azure, ss, change, dry_run=dry_run, yes=yes, force=force, no_wait=no_wait)
