"""`vmssroll plan`: predict the rollout of the current or a proposed policy. Reads only."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from vmssroll.cli.common import Invocation, command
from vmssroll.cli.policy_options import PolicyFlags
from vmssroll.domain import policy as rules
from vmssroll.domain.errors import ExitCode, InvalidInput
from vmssroll.domain.model import ScaleSet
from vmssroll.domain.plan import DEFAULT_BATCH_TIME

BatchTimeOpt = Annotated[
    str,
    typer.Option(
        "--batch-time", metavar="DURATION", help="Assumed time one batch takes (30s, 5m, 1h30m or PT5M)."
    ),
]
AllOpt = Annotated[
    bool,
    typer.Option(
        "--all",
        help="Plan a re-image of every instance, as an OS or extension upgrade would, not only those behind.",
    ),
]


def plan(
    inv: Invocation,
    policy: PolicyFlags,
    batch_time: BatchTimeOpt = DEFAULT_BATCH_TIME,
    everything: AllOpt = False,
) -> int:
    """Predict the batches of a rolling upgrade under the stored policy, or the one the flags or --file
    propose.

    Shows the instances behind the model, the batches in order (zones, size, MaxSurge instances), the health
    checks before and after each batch with their arithmetic, a minimum duration and the assumptions made
    (Azure does not publish its exact batching). Sends no write.

    Exit 0 when every batch would pass the check before it; 3 when Azure would fault the upgrade before a
    batch (MaxUnhealthyInstancePercentExceededInRollingUpgrade); 2 for bad input.
    """
    from vmssroll.domain.durations import parse_duration
    from vmssroll.domain.plan import mode_note, plan_rollout
    from vmssroll.ui.plan import plan_view

    change = policy.change()
    per_batch = parse_duration(batch_time, what="--batch-time")
    from vmssroll.adapter.parallel import together

    azure = inv.azure()
    # the model and the instances, read together (issue 19)
    ss, instances = together(lambda: azure.scale_set(inv.target), lambda: azure.instances(inv.target))
    mode, rolling = rules.apply(ss.upgrade_policy.mode, ss.upgrade_policy.rolling, change)
    findings = rules.cross_check(rolling, ss)
    errors = [f for f in findings if f.severity == "error"]
    if errors and not change.empty:
        raise InvalidInput(f"{errors[0].message}; {errors[0].fix}")
    result = plan_rollout(instances, ss.zones, rolling, batch_time=per_batch, everything=everything)
    notes = [n for n in (mode_note(mode), *(f.message for f in findings)) if n]
    doc = {**_header(ss, mode, proposed=not change.empty, notes=notes), **result.to_json()}
    inv.out.result(doc, plan_view(doc))
    return ExitCode.NOT_READY if result.refused_at is not None else ExitCode.OK


def _header(ss: ScaleSet, mode: str, *, proposed: bool, notes: list[str]) -> dict[str, Any]:
    return {
        "scaleSet": {
            "id": ss.id,
            "name": ss.name,
            "resourceGroup": ss.resource_group,
            "zones": list(ss.zones),
        },
        "mode": mode,
        "proposed": proposed,
        "notes": notes,
    }


def register(app: typer.Typer) -> None:
    command(app, "plan", policy_flags=True)(plan)
