"""`vmssroll approve | history`: automatic OS image upgrades, approved when deferred, and what Azure did."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from vmssroll.cli.common import Invocation, YesOpt, command, confirm, refuse_while_rolling
from vmssroll.cli.upgrades import IntervalOpt, WatchOpt, after_start, deadlines
from vmssroll.domain.errors import ExitCode, InvalidInput, NotReady, has_control, shown

InstanceIdsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--instance-ids",
        metavar="ID",
        help="Approve only these instances (repeat the flag, or separate by spaces or commas); "
        "without it, every pending instance.",
    ),
]

app = typer.Typer()
_INSTANCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,79}")


def instance_ids(given: list[str] | None) -> tuple[str, ...]:
    """--instance-ids, checked before any request: instance ids (Uniform) or VM names (Flexible), whole."""
    ids = [part for value in given or [] for part in re.split(r"[ ,]", value) if part]
    for value in ids:
        if has_control(value) or not _INSTANCE.fullmatch(value):
            raise InvalidInput(f"--instance-ids: {shown(value)} is not an instance id or VM name")
    if given is not None and not ids:
        raise InvalidInput("--instance-ids: no instance given (leave the flag out to approve every one)")
    return tuple(dict.fromkeys(ids))


@command(app, "approve")
def approve(
    inv: Invocation,
    instance_ids_: InstanceIdsOpt = None,
    yes: YesOpt = False,
    watch_: WatchOpt = False,
    interval: IntervalOpt = "10s",
) -> int:
    """Approve the deferred automatic OS upgrade (approveRollingUpgrade): all pending instances, or some.

    Refused (exit 3, nothing sent) when the scale set does not defer OS upgrades; exit 8 when Azure says
    nothing is pending or an upgrade is already running. --watch follows the upgrade it lets run, like start
    --watch."""
    from vmssroll.cli.writes import judge, show
    from vmssroll.domain.consequence import Write, WriteKind
    from vmssroll.domain.policy import effective_os

    limits = deadlines(interval, None, None)
    ids = instance_ids(instance_ids_)
    azure = inv.azure()
    ss = azure.scale_set(inv.target)
    policy = effective_os(ss.upgrade_policy.automatic_os)
    if not policy["osRollingUpgradeDeferral"]:
        raise NotReady(
            f"{ss.name} does not defer OS upgrades (osRollingUpgradeDeferral is off): there is nothing to "
            "approve; nothing was sent",
            hint=f"to hold automatic OS upgrades for approval: vmssroll policy set {inv.target.args()} "
            "--automatic-os-upgrade --os-upgrade-deferral",
        )
    latest = refuse_while_rolling(inv, azure)
    result = judge(inv, azure, ss, Write(WriteKind.APPROVE_OS, instances=ids), latest=latest)
    if not yes:  # with --yes it comes with the result, so a failure stays one line on stderr
        show(inv, result)
    which = f"instance(s) {', '.join(ids)}" if ids else "every pending instance"
    confirm(inv, f"Approve the deferred OS upgrade of {which} of {ss.name}?", yes=yes)
    operation = azure.approve(inv.target, list(ids) or None)
    doc: dict[str, Any] = {
        "approved": list(ids) or "all",
        "operation": operation,
        "consequence": result.to_json(),
    }
    return after_start(inv, limits, watch_, doc, azure, operation=operation)


@command(app, "history")
def history(inv: Invocation) -> int:
    """The OS image upgrade history (osUpgradeHistory), newest first: when, started by a user or the platform,
    from which image to which, the outcome and counts, rollbacks; and the rollout vmssroll recorded, if
    any."""
    from vmssroll.domain.history import read_history
    from vmssroll.ui.history import history_view

    azure = inv.azure()
    reading = azure.os_upgrade_history(inv.target)
    entries = read_history(reading.value)
    rollout, unknown = recorded_rollout(inv, azure)
    doc = {
        "scaleSet": {
            "id": inv.target.id,
            "name": inv.target.name,
            "resourceGroup": inv.target.resource_group,
        },
        "upgrades": [e.to_json() for e in entries],
        "pages": reading.pages,
        "rollout": rollout,
        "unknown": unknown,
    }
    inv.out.result(doc, history_view(doc))
    return ExitCode.OK


def recorded_rollout(inv: Invocation, azure: Any) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The rollout `vmssroll rollout` recorded on the scale set (its tags), beside the latest upgrade: a
    supplementary read, shown as unknown with its reason when it fails."""
    from vmssroll.domain.errors import VmssrollError
    from vmssroll.domain.progressive import rollout_document
    from vmssroll.domain.unknown import Unknown, is_supplementary_failure

    try:
        ss = azure.scale_set(inv.target)
        return rollout_document(ss.tags, azure.latest_upgrade(inv.target)), {}
    except VmssrollError as err:
        if not is_supplementary_failure(err):
            raise
        missing = Unknown.of("rollout", "reading the scale set", err)
        return None, {missing.part: missing.reason}
