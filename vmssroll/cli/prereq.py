"""`vmssroll check | enable-rolling | disable-rolling`: the health prerequisites, and switching mode safely."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from vmssroll.cli.common import Invocation, command
from vmssroll.cli.policy_options import PolicyFlags
from vmssroll.domain import policy as rules
from vmssroll.domain.errors import ExitCode, InvalidInput, NotReady, TimedOut
from vmssroll.domain.prereq import MAX_SURGE_FEATURE, Facts, Purpose, Report, evaluate, purpose_for

if TYPE_CHECKING:
    from vmssroll.adapter.client import Azure
    from vmssroll.domain.model import Instance

ForOpt = Annotated[
    Purpose, typer.Option("--for", help="What to check for: rolling, max-surge or os-upgrade.")
]
WaitHealthyOpt = Annotated[
    str | None,
    typer.Option(
        "--wait-healthy", help="Wait up to this long for every instance to report Healthy (exit 7), e.g. 10m."
    ),
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Check and show the change; send nothing.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
ForceOpt = Annotated[
    bool,
    typer.Option("--force", help="Send the change although checks failed (Azure may still refuse it)."),
]

POLL_SECONDS = 10.0
WAITABLE = {"instance-health", "unhealthy-share"}  # failures that time (and --wait-healthy) may clear

app = typer.Typer()


def preflight(
    inv: Invocation, azure: Azure, purpose: Purpose, change: rules.PolicyChange | None = None
) -> tuple[Facts, Report]:
    """Read what the rules need (scale set, instances, the probe's load balancer, the feature) and judge.

    With `change`, the rules judge the rolling policy as it will be after the change; else the stored one.
    """
    from vmssroll.domain.prereq import probe_load_balancer

    ss = azure.scale_set(inv.target)
    stored = ss.upgrade_policy
    rolling = rules.apply(stored.mode, stored.rolling, change)[1] if change is not None else None
    purpose = purpose_for(purpose, rolling if rolling is not None else stored.rolling)
    instances = azure.instances(inv.target)
    lb = probe_load_balancer(ss)
    lb_probes = azure.load_balancer_probes(lb) if lb else None
    feature = azure.feature_state(*MAX_SURGE_FEATURE) if purpose is Purpose.MAX_SURGE else None
    facts = Facts(ss, tuple(instances), lb_probes, feature, rolling)
    return facts, evaluate(purpose, facts)


def refuse(inv: Invocation, report: Report) -> NotReady:
    """Show the report as the command's result and name the failure (exit 3, nothing sent)."""
    from vmssroll.ui.prereq import report_view

    doc = report.to_json()
    inv.out.result(doc, report_view(doc))
    names = ", ".join(r.name for r in report.failed)
    return NotReady(
        f"{report.scale_set} is not ready for {report.purpose.value} ({names}); nothing was sent",
        hint="apply the fixes shown and re-run (enable-rolling --force sends the change anyway)",
    )


@command(app, "check")
def check(inv: Invocation, purpose: ForOpt = Purpose.ROLLING) -> int:
    """Preflight report, one row per rule with its evidence and fix. Exit 0 ready, 3 not ready."""
    from vmssroll.ui.prereq import report_view

    _, report = preflight(inv, inv.azure(), purpose)
    doc = report.to_json()
    inv.out.result(doc, report_view(doc))
    return ExitCode.OK if report.ready else ExitCode.NOT_READY


def wait_until_healthy(inv: Invocation, azure: Azure, seconds: float) -> list[Instance]:
    """Poll the instances until every one reports Healthy; TimedOut when the time runs out."""
    from vmssroll.domain.durations import human
    from vmssroll.domain.health import count_health
    from vmssroll.domain.prereq import all_healthy, describe_counts

    clock = inv.env.clock
    deadline = clock.monotonic() + seconds
    shown = None
    while True:
        instances = azure.instances(inv.target)
        line = describe_counts(count_health(i for i in instances if not i.attached))
        if all_healthy(instances):
            inv.out.note(f"every instance reports Healthy: {line}")
            return instances
        left = deadline - clock.monotonic()
        if left <= 0:
            raise TimedOut(
                f"--wait-healthy ran out after {human(seconds)}: {line}; nothing was sent",
                hint=f"see `vmssroll check {inv.target.args()}` for the instances and their fixes",
            )
        if line != shown:
            inv.out.note(f"waiting for every instance to report Healthy: {line} ({human(left)} left)")
            shown = line
        clock.sleep(min(POLL_SECONDS, left))


def require_ready(
    inv: Invocation,
    azure: Azure,
    change: rules.PolicyChange,
    *,
    wait: float | None = None,
    force: bool = False,
) -> Facts:
    """The checks for switching to Rolling with `change`; refuses (exit 3) unless forced. Returns what was read."""
    from vmssroll.domain.prereq import all_healthy
    from vmssroll.ui.prereq import report_view

    facts, report = preflight(inv, azure, Purpose.ROLLING, change)
    failed = {r.name for r in report.failed}
    if wait is not None and failed <= WAITABLE and not all_healthy(facts.instances):
        wait_until_healthy(inv, azure, wait)
        facts, report = preflight(inv, azure, Purpose.ROLLING, change)
        failed = {r.name for r in report.failed}
    if report.ready:
        inv.out.say(report_view(report.to_json(), fixes=False))
        return facts
    if not force:
        raise refuse(inv, report)
    inv.out.say(report_view(report.to_json()))
    inv.out.warn(
        f"--force: sending the change although {len(failed)} check(s) failed ({', '.join(sorted(failed))}); "
        "Azure may refuse it, or start an upgrade that faults"
    )
    return facts


def warn_behind(inv: Invocation, facts: Facts) -> None:
    from vmssroll.domain.health import count_health

    counts = count_health(facts.members)
    if counts.behind:
        inv.out.warn(
            f"{len(counts.behind)} of {counts.total} instances are not on the latest model "
            f"({', '.join(counts.behind)}): switching to Rolling may start a rolling upgrade for them at once"
        )
    else:
        inv.out.note(f"all {counts.total} instances run the latest model: the switch alone starts no upgrade")


def need_answer(inv: Invocation, *, dry_run: bool, yes: bool) -> None:
    """Without a terminal the confirmation could never be answered: say so before any request (or wait)."""
    if not (dry_run or yes or inv.env.can_prompt()):
        raise InvalidInput("stdin is not a terminal, so pass --yes to confirm (or --dry-run to only look)")


@command(app, "enable-rolling", policy_flags=True)
def enable_rolling(
    inv: Invocation,
    policy: PolicyFlags,
    wait_healthy: WaitHealthyOpt = None,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    force: ForceOpt = False,
) -> int:
    """Check the health prerequisites, then switch to Rolling with one PATCH (If-Match), read back, confirm."""
    from vmssroll.cli.policy import apply_change
    from vmssroll.domain.durations import parse_duration

    asked = policy.change()
    if asked.mode not in (None, "Rolling"):
        raise InvalidInput(f"enable-rolling sets mode Rolling, but the policy file asks for {asked.mode}")
    change = rules.PolicyChange(mode="Rolling", rolling=asked.rolling)
    wait = parse_duration(wait_healthy, what="--wait-healthy").total_seconds() if wait_healthy else None
    need_answer(inv, dry_run=dry_run, yes=yes)
    azure = inv.azure()
    facts = require_ready(inv, azure, change, wait=wait, force=force)
    warn_behind(inv, facts)
    return apply_change(inv, azure, facts.scale_set, change, dry_run=dry_run, yes=yes)


@command(app, "disable-rolling")
def disable_rolling(inv: Invocation, dry_run: DryRunOpt = False, yes: YesOpt = False) -> int:
    """Back to Manual at once: no new automatic rollouts. A running upgrade is not cancelled by this."""
    from vmssroll.cli.policy import apply_change

    need_answer(inv, dry_run=dry_run, yes=yes)
    azure = inv.azure()
    ss = azure.scale_set(inv.target)
    latest = azure.latest_upgrade(inv.target)
    cancel = f"`vmssroll cancel {inv.target.args()}`"
    if latest is not None and latest.running:
        inv.out.warn(
            f"a rolling upgrade is {latest.code} now: switching to Manual does not stop it; run {cancel}"
        )
    else:
        inv.out.note(
            f"switching to Manual stops new automatic rollouts; it never cancels a running upgrade ({cancel} does)"
        )
    return apply_change(inv, azure, ss, rules.PolicyChange(mode="Manual"), dry_run=dry_run, yes=yes)
