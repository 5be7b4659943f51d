"""The policy flags shared by `policy set/validate`, `enable-rolling` and `plan`, and reading them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from vmssroll.domain.errors import InvalidInput
from vmssroll.domain.policy import BY_REST, PolicyChange, change_from_document, check_mode, check_value

PANEL = "Rolling upgrade policy"

MaxBatchOpt = Annotated[
    str | None,
    typer.Option(
        "--max-batch-instance-percent", help="5-100: largest share upgraded at once.", rich_help_panel=PANEL
    ),
]
MaxUnhealthyOpt = Annotated[
    str | None,
    typer.Option(
        "--max-unhealthy-instance-percent",
        help="5-100: unhealthy share of the set allowed before each batch.",
        rich_help_panel=PANEL,
    ),
]
MaxUnhealthyUpgradedOpt = Annotated[
    str | None,
    typer.Option(
        "--max-unhealthy-upgraded-instance-percent",
        help="0-100: unhealthy share of upgraded instances allowed after each batch.",
        rich_help_panel=PANEL,
    ),
]
PauseOpt = Annotated[
    str | None,
    typer.Option(
        "--pause-time-between-batches", help="ISO 8601 (PT30S) or 30s, 2m, 1h30m.", rich_help_panel=PANEL
    ),
]
PrioritizeOpt = Annotated[
    bool | None,
    typer.Option(
        "--prioritize-unhealthy/--no-prioritize-unhealthy", help="Unhealthy first.", rich_help_panel=PANEL
    ),
]
CrossZoneOpt = Annotated[
    bool | None,
    typer.Option("--cross-zone/--no-cross-zone", help="Batches may span zones.", rich_help_panel=PANEL),
]
MaxSurgeOpt = Annotated[
    bool | None,
    typer.Option(
        "--max-surge/--no-max-surge", help="New instances per batch, then delete old.", rich_help_panel=PANEL
    ),
]
RollbackOpt = Annotated[
    bool | None,
    typer.Option(
        "--rollback-on-breach/--no-rollback-on-breach",
        help="Restore failed instances on a policy breach.",
        rich_help_panel=PANEL,
    ),
]
FileOpt = Annotated[
    Path | None,
    typer.Option(
        "--file", "-f", help="Policy file (JSON or YAML, as `policy export` writes).", rich_help_panel=PANEL
    ),
]


_REST = {  # flag attribute → REST field
    "max_batch_instance_percent": "maxBatchInstancePercent",
    "max_unhealthy_instance_percent": "maxUnhealthyInstancePercent",
    "max_unhealthy_upgraded_instance_percent": "maxUnhealthyUpgradedInstancePercent",
    "pause_time_between_batches": "pauseTimeBetweenBatches",
    "prioritize_unhealthy": "prioritizeUnhealthyInstances",
    "cross_zone": "enableCrossZoneUpgrade",
    "max_surge": "maxSurge",
    "rollback_on_breach": "rollbackFailedInstancesOnPolicyBreach",
}


@dataclass(frozen=True)
class PolicyFlags:
    max_batch_instance_percent: str | None = None
    max_unhealthy_instance_percent: str | None = None
    max_unhealthy_upgraded_instance_percent: str | None = None
    pause_time_between_batches: str | None = None
    prioritize_unhealthy: bool | None = None
    cross_zone: bool | None = None
    max_surge: bool | None = None
    rollback_on_breach: bool | None = None
    file: Path | None = None
    mode: str | None = None

    def change(self) -> PolicyChange:
        """Flags laid over the file; every value checked, before anything is sent."""
        from_file = read_policy_file(self.file) if self.file is not None else PolicyChange()
        rolling: dict[str, Any] = {}
        for attr, rest in _REST.items():
            value = getattr(self, attr)
            if value is not None:
                rolling[rest] = check_value(BY_REST[rest], value, source="flag")
        mode = check_mode(self.mode) if self.mode is not None else None
        return PolicyChange(mode=mode, rolling=rolling).over(from_file)


def read_policy_file(path: Path) -> PolicyChange:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"--file {str(path)!r}: {getattr(exc, 'strerror', None) or exc}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise InvalidInput(f"--file {str(path)!r}: not valid YAML{where}") from None
    else:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InvalidInput(f"--file {str(path)!r}: not valid JSON ({exc})") from None
    return change_from_document(data)
