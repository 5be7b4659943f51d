"""The policy flags shared by `policy set/validate`, `enable-rolling` and `plan`, and reading them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from vmssroll.domain.errors import InvalidInput, shown
from vmssroll.domain.policy import (
    BY_REST,
    FIELDS,
    OS_BY_REST,
    OS_KEY,
    Field,
    Finding,
    PolicyChange,
    PolicyInvalid,
    change_from_document,
    check_mode,
    check_value,
    fix_for,
)


def _option(field: Field) -> Any:
    """The Typer option of one policy field, from the domain's table (a flag may repeat: see change())."""
    said = field.help[:1].upper() + field.help[1:]
    if field.kind == "bool":
        return Annotated[
            list[bool] | None,
            typer.Option(f"{field.flag}/--no-{field.flag[2:]}", help=f"{said}.", metavar="BOOL"),
        ]
    if field.kind == "percent":
        text, metavar = f"{field.low}-{field.high}: {field.help}.", "PERCENT"
    else:
        text, metavar = f"{said}: ISO 8601 (PT30S) or 30s, 2m, 1h30m.", "DURATION"
    return Annotated[list[str] | None, typer.Option(field.flag, help=text, metavar=metavar)]


def attribute(field: Field) -> str:
    """`--max-batch-instance-percent` → `max_batch_instance_percent`, the parameter and PolicyFlags name."""
    return field.flag[2:].replace("-", "_")


OPTIONS: dict[str, Any] = {attribute(f): _option(f) for f in FIELDS}
FileOpt = Annotated[
    Path | None,
    typer.Option(
        "--file", "-f", metavar="FILE", help="Policy file (JSON or YAML, as `policy export` writes)."
    ),
]


_REST = {attribute(f): f.rest for f in FIELDS}  # flag attribute → REST field


Given = str | bool | list[str] | list[bool] | None  # a flag may be repeated; different values contradict


@dataclass(frozen=True)
class PolicyFlags:
    max_batch_instance_percent: Given = None
    max_unhealthy_instance_percent: Given = None
    max_unhealthy_upgraded_instance_percent: Given = None
    pause_time_between_batches: Given = None
    prioritize_unhealthy: Given = None
    cross_zone: Given = None
    max_surge: Given = None
    rollback_on_breach: Given = None
    file: Path | None = None
    mode: str | None = None
    automatic_os: Mapping[str, Given] = field(default_factory=dict)  # REST name → the --[no-]FLAG values

    def _given(self) -> list[tuple[Field, Given]]:
        """Every policy field and what its flag was given, rolling fields first."""
        rolling = [(BY_REST[rest], getattr(self, attr)) for attr, rest in _REST.items()]
        return rolling + [(OS_BY_REST[rest], given) for rest, given in self.automatic_os.items()]

    def change(self) -> PolicyChange:
        """Flags laid over the file; every value checked, every problem reported before anything is sent."""
        problems: list[Finding] = []
        from_file = PolicyChange()
        if self.file is not None:
            try:
                from_file = read_policy_file(self.file)
            except PolicyInvalid as err:
                problems += err.problems
            except InvalidInput as err:
                problems.append(Finding("error", "--file", err.message, "fix the file"))
        found: dict[str, dict[str, Any]] = {}
        for spec, given in self._given():
            values = given if isinstance(given, list) else [] if given is None else [given]
            checked: list[Any] = []
            for value in values:
                try:
                    checked.append(check_value(spec, value, source="flag"))
                except InvalidInput as err:
                    problems.append(Finding("error", spec.flag, err.message, fix_for(spec)))
            distinct = list(dict.fromkeys(checked))
            if len(distinct) > 1:
                shown = (
                    f"{spec.flag} and --no-{spec.flag[2:]}"
                    if spec.kind == "bool"
                    else f"{spec.flag} {' and '.join(map(str, distinct))}"
                )
                problems.append(
                    Finding(
                        "error",
                        spec.flag,
                        f"{spec.flag}: contradictory values given ({shown})",
                        "give it once",
                    )
                )
            elif distinct and len(checked) == len(values):
                found.setdefault(spec.group, {})[spec.rest] = not distinct[0] if spec.invert else distinct[0]
        mode = None
        if self.mode is not None:
            try:
                mode = check_mode(self.mode)
            except InvalidInput as err:
                problems.append(Finding("error", "--mode", err.message, "use Manual, Automatic or Rolling"))
        if problems:
            raise PolicyInvalid(problems)
        rolling, automatic_os = found.get("rollingUpgradePolicy", {}), found.get(OS_KEY, {})
        return PolicyChange(mode=mode, rolling=rolling, automatic_os=automatic_os).over(from_file)


def read_policy_file(path: Path) -> PolicyChange:
    """A policy file, read bounded and parsed strictly (see vmssroll.documents)."""
    from vmssroll.documents import DocumentError, load_file

    try:
        data = load_file(path)
    except DocumentError as exc:
        raise InvalidInput(f"--file {shown(str(path), 200)}: {exc}") from None
    return change_from_document(data)
