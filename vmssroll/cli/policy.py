"""`vmssroll policy show | validate | set | export`."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Annotated

import typer

from vmssroll.cli.common import DryRunOpt, ForceOpt, Invocation, NoWaitOpt, YesOpt, command, need_answer
from vmssroll.cli.policy_change import apply_change, require_ready
from vmssroll.cli.policy_options import PolicyFlags
from vmssroll.domain import policy as rules
from vmssroll.domain.errors import ExitCode, InvalidInput

app = typer.Typer(
    help="Show, validate, set and export the rolling upgrade policy.", invoke_without_command=True
)

ModeOpt = Annotated[
    str | None,
    typer.Option("--mode", metavar="MODE", help="Upgrade policy mode: Manual, Automatic or Rolling."),
]
OS_PANEL = "Automatic OS image upgrades (automaticOSUpgradePolicy)"
AutomaticOsUpgradeOpt = Annotated[
    list[bool] | None,
    typer.Option(
        "--automatic-os-upgrade/--no-automatic-os-upgrade",
        metavar="BOOL",
        rich_help_panel=OS_PANEL,
        help="Apply each newer OS image version automatically, in a rolling fashion (enableAutomaticOSUpgrade).",
    ),
]
UseRollingPolicyOpt = Annotated[
    list[bool] | None,
    typer.Option(
        "--use-rolling-policy-for-os-upgrade/--no-use-rolling-policy-for-os-upgrade",
        metavar="BOOL",
        rich_help_panel=OS_PANEL,
        help="Automatic OS upgrades follow the rolling upgrade policy, else Azure's default one "
        "(useRollingUpgradePolicy).",
    ),
]
AutomaticRollbackOpt = Annotated[
    list[bool] | None,
    typer.Option(
        "--automatic-rollback/--no-automatic-rollback",
        metavar="BOOL",
        rich_help_panel=OS_PANEL,
        help="Roll instances whose OS upgrade failed back to the previous image; --no-automatic-rollback sets "
        "disableAutomaticRollback.",
    ),
]
DeferralOpt = Annotated[
    list[bool] | None,
    typer.Option(
        "--os-upgrade-deferral/--no-os-upgrade-deferral",
        metavar="BOOL",
        rich_help_panel=OS_PANEL,
        help="Hold each automatic OS upgrade until it is approved with `vmssroll approve` "
        "(osRollingUpgradeDeferral).",
    ),
]


@command(app, "show")
def show(inv: Invocation) -> int:
    """Show the upgrade mode, the rolling policy, automatic OS and extension upgrades, the health source."""
    from vmssroll.domain.results import PolicyShow
    from vmssroll.ui.policy import policy_view

    shown = PolicyShow.of(inv.azure().scale_set(inv.target))
    inv.out.result(shown.to_json(), policy_view(shown))
    return ExitCode.OK


@command(app, "export")
def export(inv: Invocation) -> int:
    """Print the policy as JSON on stdout, the file `policy set --file` and `policy validate --file` accept.

    Redirect it to keep it: `vmssroll policy export -g rg -n web > policy.json`. It is the file whatever
    --output says."""
    ss = inv.azure().scale_set(inv.target)
    policy = ss.upgrade_policy
    doc = rules.export_document(policy.mode, policy.rolling, policy.automatic_os)
    inv.env.stdout.write(
        json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    )  # the file, whatever --output says
    return ExitCode.OK


@command(app, "validate", policy_flags=True)
def validate(inv: Invocation, policy: PolicyFlags) -> int:
    """Check a policy offline, and against a scale set when one is named. Exit 0 valid, 2 invalid."""
    from vmssroll.domain.results import PolicyValidation
    from vmssroll.ui.policy import findings_view

    try:
        change = policy.change()  # before any request: bad input never reaches Azure
    except rules.PolicyInvalid as err:
        inv.out.result(PolicyValidation(None, tuple(err.problems)).to_json(), None)
        raise
    scale_set = inv.azure().scale_set(inv.target) if inv.has_target else None
    base = scale_set.upgrade_policy.rolling if scale_set else {}
    _, after = rules.apply(scale_set.upgrade_policy.mode if scale_set else None, base, change)
    where = scale_set.id if scale_set else None
    checked = PolicyValidation(after, tuple(rules.cross_check(after, scale_set)), where)
    inv.out.result(checked.to_json(), findings_view(checked.findings))
    return ExitCode.OK if checked.valid else ExitCode.USAGE


@command(app, "set", policy_flags=True)
def set_policy(
    inv: Invocation,
    policy: PolicyFlags,
    mode: ModeOpt = None,
    automatic_os_upgrade: AutomaticOsUpgradeOpt = None,
    use_rolling_policy_for_os_upgrade: UseRollingPolicyOpt = None,
    automatic_rollback: AutomaticRollbackOpt = None,
    os_upgrade_deferral: DeferralOpt = None,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    force: ForceOpt = False,
    no_wait: NoWaitOpt = False,
) -> int:
    """Change only the given fields with one PATCH (If-Match), wait for Azure to finish it, read back and
    confirm.

    Says first what the change sets in motion; refuses (exit 3) a dangerous one unless --force."""
    given = (automatic_os_upgrade, use_rolling_policy_for_os_upgrade, automatic_rollback, os_upgrade_deferral)
    os_flags = {f.rest: value for f, value in zip(rules.OS_FIELDS, given, strict=True)}
    change = replace(policy, automatic_os=os_flags).change()
    if change.empty:
        raise InvalidInput("nothing to set: give policy flags, --file or --mode")
    need_answer(inv, dry_run=dry_run, yes=yes)
    azure = inv.azure()
    ss = azure.scale_set(inv.target)
    instances = None
    if change.mode == "Rolling" and (ss.upgrade_policy.mode or "Manual") != "Rolling":
        # The same checks as enable-rolling (no waiting): exit 3 with the fixes if not ready, unless --force.
        facts = require_ready(inv, azure, change, force=force)[0]
        ss, instances = facts.scale_set, facts.instances_unknown or facts.instances
    return apply_change(
        inv, azure, ss, change, dry_run=dry_run, yes=yes, force=force, instances=instances, no_wait=no_wait
    )
