"""Steps shared by `policy set` and `enable-rolling`/`disable-rolling`: judge the prerequisites, wait for
health, refuse or go on, and apply a policy change with one PATCH."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from vmssroll.cli.common import Invocation, confirm
from vmssroll.domain import policy as rules
from vmssroll.domain.errors import AzureRequestFailed, ExitCode, InvalidInput, NotReady, TimedOut
from vmssroll.domain.prereq import MAX_SURGE_FEATURE, Facts, Purpose, Report, evaluate, purpose_for
from vmssroll.domain.unknown import Unknown

if TYPE_CHECKING:
    from vmssroll.adapter.client import Azure
    from vmssroll.domain.model import Instance, ScaleSet

POLL_SECONDS = 10.0
WAITABLE = {"instance-health", "unhealthy-share"}  # failures that time (and --wait-healthy) may clear


def preflight(
    inv: Invocation, azure: Azure, purpose: Purpose, change: rules.PolicyChange | None = None
) -> tuple[Facts, Report]:
    """Read what the rules need (scale set, instances, the probe's load balancer, the feature) and judge.

    With `change`, the rules judge the rolling policy as it will be after the change; else the stored one.
    """
    from vmssroll.adapter.parallel import together
    from vmssroll.domain.prereq import probe_load_balancer

    def model_and_sources() -> tuple[ScaleSet, Any, Purpose, list[str] | None, str | None]:
        ss = azure.scale_set(inv.target)
        stored = ss.upgrade_policy
        rolling = rules.apply(stored.mode, stored.rolling, change)[1] if change is not None else None
        chosen = purpose_for(purpose, rolling if rolling is not None else stored.rolling)
        lb = probe_load_balancer(ss)
        lb_probes, feature = together(  # both need the model; the instances are listed meanwhile
            lambda: azure.load_balancer_probes(lb) if lb else None,
            lambda: azure.feature_state(*MAX_SURGE_FEATURE) if chosen is Purpose.MAX_SURGE else None,
        )
        return ss, rolling, chosen, lb_probes, feature

    (ss, rolling, purpose, lb_probes, feature), listed = together(
        model_and_sources, lambda: azure.instances_or_unknown(inv.target)
    )
    missing = listed if isinstance(listed, Unknown) else None
    instances = () if isinstance(listed, Unknown) else tuple(listed)
    facts = Facts(ss, instances, lb_probes, feature, rolling, instances_unknown=missing)
    return facts, evaluate(purpose, facts)


def refuse(inv: Invocation, report: Report) -> NotReady:
    """Show the report as the command's result and name the failure (exit 3, nothing sent)."""
    from vmssroll.ui.prereq import report_view

    inv.out.result(report.to_json(), report_view(report))
    names = ", ".join(r.name for r in report.failed)
    return NotReady(
        f"{report.scale_set} is not ready for {report.purpose.value} ({names}); nothing was sent",
        hint="apply the fixes shown and re-run; enable-rolling --force sends the change anyway",
    )


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
) -> tuple[Facts, Report]:
    """The checks for switching to Rolling with `change`; refuses (exit 3) unless forced. Returns what was
    read and the report (the command's JSON carries it)."""
    from vmssroll.domain.prereq import all_healthy
    from vmssroll.ui.prereq import report_view

    facts, report = preflight(inv, azure, Purpose.ROLLING, change)
    failed = {r.name for r in report.failed}
    if wait is not None and facts.instances_unknown is not None:
        raise AzureRequestFailed(
            f"--wait-healthy needs the instances, and they could not be listed: "
            f"{facts.instances_unknown.line()}; nothing was sent",
            hint="re-run once the instances can be listed (a 403 means the identity lacks read access to "
            "the scale set's VMs)",
        )
    if wait is not None and failed <= WAITABLE and not all_healthy(facts.instances):
        wait_until_healthy(inv, azure, wait)
        facts, report = preflight(inv, azure, Purpose.ROLLING, change)
        failed = {r.name for r in report.failed}
    if report.ready:
        inv.out.say(report_view(report, fixes=False))
        return facts, report
    if not force:
        raise refuse(inv, report)
    inv.out.say(report_view(report))
    inv.out.warn(
        f"--force: sending the change although {len(failed)} check(s) failed ({', '.join(sorted(failed))}); "
        "Azure may refuse it, or start an upgrade that faults"
    )
    return facts, report


def apply_change(
    inv: Invocation,
    azure: Any,
    ss: ScaleSet,
    change: rules.PolicyChange,
    *,
    dry_run: bool,
    yes: bool,
    force: bool = False,
    instances: Sequence[Instance] | Unknown | None = None,
    check: Report | None = None,
    no_wait: bool = False,
) -> int:
    """Diff, what it sets in motion, confirm, PATCH only upgradePolicy with If-Match, wait for Azure to
    finish it (not with `no_wait`), read back and confirm (shared with enable-rolling and disable-rolling). A
    dangerous consequence is refused unless `force`."""
    from vmssroll.cli.writes import accepted, follow_write, guard, judge, preview, show, waiting
    from vmssroll.domain.consequence import Write
    from vmssroll.ui.policy import changes_view, findings_view

    before = ss.upgrade_policy
    mode, after = rules.apply(before.mode, before.rolling, change)
    os_after = rules.apply_os(before.automatic_os, change)
    findings = rules.cross_check(after, ss)
    if change.automatic_os:
        findings += rules.cross_check_os(os_after, ss)
    if findings:
        inv.out.say(findings_view(findings))
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        raise InvalidInput(f"{errors[0].message}; {errors[0].fix}")
    changes = rules.diff(
        before.mode, before.rolling, mode, after, os_before=before.automatic_os, os_after=os_after
    )
    doc: dict[str, Any] = {
        "scaleSet": ss.id,
        "dryRun": dry_run,
        "changes": [c.__dict__ for c in changes],
        "applied": False,
        "warnings": [f.message for f in findings],
    }
    if check is not None:  # enable-rolling: the checks it passed (or was forced past) belong to its answer
        doc["check"] = check.to_json()
    if not changes:
        inv.out.result({**doc, "consequence": None}, changes_view(changes, title=""))
        return ExitCode.OK
    result = judge(inv, azure, ss, Write.policy(change), instances=instances)
    doc["consequence"] = result.to_json()
    if dry_run:
        title = "Would change (dry run: nothing sent):"
        return preview(inv, doc, result, changes_view(changes, title=title), force=force)
    if not yes:  # shown to be confirmed; with --yes the result below shows the same table once
        inv.out.say(changes_view(changes, title=f"Changes to {ss.name}'s upgrade policy:"))
    show(inv, result)
    guard(inv, result, force=force)
    confirm(inv, f"Apply these changes to {ss.name}?", yes=yes)

    def problems_in(now: ScaleSet) -> list[str]:
        stored = now.upgrade_policy
        return rules.mismatches(
            mode, after, stored.mode, stored.rolling, os_wanted=os_after, os_stored=stored.automatic_os
        )

    with waiting(inv, no_wait=no_wait) as wait:
        stored = azure.patch(
            inv.target,
            rules.patch_body(changes),
            ss.etag,
            applied=lambda now: not problems_in(now),
            wait=wait,
        )
    if wait is None:
        title = f"Accepted by Azure (not finished, not yet confirmed) for {ss.name}:"
        return accepted(inv, doc, stored, follow_write(inv), changes_view(changes, title=title))
    problems = problems_in(stored)
    if problems:
        raise AzureRequestFailed(
            f"Azure accepted the change but stored something else: {'; '.join(problems)}"
        )
    doc.update(
        applied=True,
        etag=stored.etag,
        upgradePolicy=rules.export_document(
            stored.upgrade_policy.mode, stored.upgrade_policy.rolling, stored.upgrade_policy.automatic_os
        ),
    )
    inv.out.result(doc, changes_view(changes, title=f"Applied and confirmed by reading {ss.name} back:"))
    return ExitCode.OK
