"""The rolling upgrade policy: its fields, their ranges, validation, merging, diffs and the PATCH body."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from vmssroll.domain.durations import parse_duration, to_iso
from vmssroll.domain.errors import InvalidInput, shown
from vmssroll.domain.model import ScaleSet

MODES = ("Manual", "Automatic", "Rolling")


@dataclass(frozen=True)
class Field:
    """One field of `rollingUpgradePolicy`: its REST name, flag, kind, range and Azure's default."""

    rest: str
    flag: str
    kind: Literal["percent", "bool", "duration"]
    default: Any
    low: int = 0
    high: int = 100
    help: str = ""


FIELDS: tuple[Field, ...] = (
    Field("maxBatchInstancePercent", "--max-batch-instance-percent", "percent", 20, 5, 100,
          "largest share of instances upgraded at once"),
    Field("maxUnhealthyInstancePercent", "--max-unhealthy-instance-percent", "percent", 20, 5, 100,
          "largest share of the whole set that may be unhealthy, checked before each batch"),
    Field("maxUnhealthyUpgradedInstancePercent", "--max-unhealthy-upgraded-instance-percent", "percent", 20, 0, 100,
          "largest share of upgraded instances that may be unhealthy, checked after each batch"),
    Field("pauseTimeBetweenBatches", "--pause-time-between-batches", "duration", "PT0S",
          help="wait between batches"),
    Field("prioritizeUnhealthyInstances", "--prioritize-unhealthy", "bool", False,
          help="upgrade unhealthy instances first"),
    Field("enableCrossZoneUpgrade", "--cross-zone", "bool", False,
          help="let a batch span availability zones"),
    Field("maxSurge", "--max-surge", "bool", False,
          help="create new instances per batch before deleting the old ones"),
    Field("rollbackFailedInstancesOnPolicyBreach", "--rollback-on-breach", "bool", False,
          help="restore failed instances' previous model when the policy is breached"),
)  # fmt: skip
BY_REST = {f.rest: f for f in FIELDS}
FILE_KEYS = ("mode", "rollingUpgradePolicy")


@dataclass(frozen=True)
class PolicyChange:
    """What the user asked for: a mode and/or some rolling fields (REST name → value)."""

    mode: str | None = None
    rolling: Mapping[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.mode is None and not self.rolling

    def over(self, other: PolicyChange) -> PolicyChange:
        """This change laid over `other` (flags over a file)."""
        return PolicyChange(mode=self.mode or other.mode, rolling={**other.rolling, **self.rolling})


_WHOLE = re.compile(r"\s*-?[0-9]{1,12}\s*")


def check_value(spec: Field, value: Any, *, source: str) -> Any:
    """One field's value, normalised, or InvalidInput naming the field and the accepted range."""
    where = f"policy file rollingUpgradePolicy.{spec.rest}" if source == "file" else spec.flag
    if spec.kind == "percent":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and _WHOLE.fullmatch(value):
                value = int(value)
            else:
                raise InvalidInput(f"{where}: {shown(value)} is not a whole number ({spec.low}-{spec.high})")
        if not spec.low <= value <= spec.high:
            raise InvalidInput(
                f"{where}: {value} is out of range; it must be between {spec.low} and {spec.high}"
            )
        return value
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise InvalidInput(f"{where}: {shown(value)} is not true or false")
        return value
    if not isinstance(value, str):
        raise InvalidInput(f"{where}: {shown(value)} is not a duration (e.g. PT30S, 2m, 1h30m)")
    return to_iso(parse_duration(value, what=where))


def fix_for(spec: Field) -> str:
    """What to give instead, for a field whose value was refused."""
    if spec.kind == "percent":
        return f"give a whole number from {spec.low} to {spec.high}"
    if spec.kind == "bool":
        return f"use {spec.flag} or --no-{spec.flag[2:]} (true or false in a file)"
    return "give an ISO 8601 duration (PT30S, PT1H30M) or 30s, 2m, 1h30m; at most 7 days"


class PolicyInvalid(InvalidInput):
    """Every problem found in a policy at once; the message is one line per problem."""

    def __init__(self, problems: list[Finding]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))

    @property
    def problems_text(self) -> list[str]:
        """One line each, as the error boundary shows them."""
        return [p.message for p in self.problems]


def canonical_mode(value: str | None) -> str | None:
    """A mode as Azure spells it, whatever the case read (`rolling` → `Rolling`); an unknown one as given."""
    if value is None:
        return None
    return next((m for m in MODES if m.lower() == value.strip().lower()), value)


def check_mode(value: Any, *, where: str = "--mode") -> str:
    for mode in MODES:
        if isinstance(value, str) and value.strip().lower() == mode.lower():
            return mode
    raise InvalidInput(f"{where}: {shown(value)} is not one of {', '.join(MODES)}")


def _unknown(key: str, known: tuple[str, ...], where: str) -> Finding:
    if not where and key in BY_REST:
        near = f"rollingUpgradePolicy.{key}"
        hint = f"; did you mean {near!r}? (rolling fields go under rollingUpgradePolicy)"
    else:
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
        if not close:
            lowered = {k.lower(): k for k in known}
            close = [lowered[key.lower()]] if key.lower() in lowered else []
        near = where + close[0] if close else ""
        hint = f"; did you mean {near!r}?" if close else f"; known keys: {', '.join(known)}"
    return Finding(
        "error",
        f"{where}{key}",
        f"policy file: unknown key {shown(where + key, 80)}{hint}",
        f"rename it to {near!r}" if near else "remove it",
    )


def change_from_document(data: Any) -> PolicyChange:
    """A policy file (the shape `policy export` writes: mode + rollingUpgradePolicy) as a PolicyChange.

    Every problem is collected before raising PolicyInvalid, so one run shows them all.
    """
    if not isinstance(data, Mapping):
        raise InvalidInput(
            "policy file: the top level must be an object with mode and/or rollingUpgradePolicy"
        )
    if "upgradePolicy" in data and len(data) == 1:
        data = data["upgradePolicy"]
        if not isinstance(data, Mapping):
            raise InvalidInput("policy file: upgradePolicy must be an object")
    problems = [_unknown(str(key), FILE_KEYS, "") for key in data if key not in FILE_KEYS]
    mode = None
    if data.get("mode") is not None:
        try:
            mode = check_mode(data["mode"], where="policy file mode")
        except InvalidInput as err:
            problems.append(Finding("error", "mode", err.message, f"use one of {', '.join(MODES)}"))
    rolling_raw = data.get("rollingUpgradePolicy") or {}
    if not isinstance(rolling_raw, Mapping):
        problems.append(
            Finding(
                "error",
                "rollingUpgradePolicy",
                "policy file: rollingUpgradePolicy must be an object",
                "give an object of rolling fields",
            )
        )
        rolling_raw = {}
    rolling: dict[str, Any] = {}
    for key, value in rolling_raw.items():
        spec = BY_REST.get(str(key))
        if spec is None:
            problems.append(_unknown(str(key), tuple(BY_REST), "rollingUpgradePolicy."))
            continue
        try:
            rolling[spec.rest] = check_value(spec, value, source="file")
        except InvalidInput as err:
            problems.append(Finding("error", spec.rest, err.message, fix_for(spec)))
    if problems:
        raise PolicyInvalid(problems)
    return PolicyChange(mode=mode, rolling=rolling)


def effective(rolling: Mapping[str, Any]) -> dict[str, Any]:
    """Every rolling field with its value, Azure's default filling the unset ones."""
    return {f.rest: rolling[f.rest] if rolling.get(f.rest) is not None else f.default for f in FIELDS}


def apply(
    current_mode: str | None, current: Mapping[str, Any], change: PolicyChange
) -> tuple[str, dict[str, Any]]:
    """The mode and effective rolling policy after the change."""
    return change.mode or current_mode or "Manual", effective({**current, **change.rolling})


@dataclass(frozen=True)
class Finding:
    severity: Literal["error", "warning"]
    field: str
    message: str
    fix: str


def cross_check(rolling: Mapping[str, Any], scale_set: ScaleSet | None) -> list[Finding]:
    """Rules between fields, and between the policy and the scale set it is meant for."""
    policy = effective(rolling)
    findings: list[Finding] = []
    if policy["maxBatchInstancePercent"] > policy["maxUnhealthyInstancePercent"]:
        findings.append(
            Finding(
                "warning",
                "maxBatchInstancePercent",
                f"batch {policy['maxBatchInstancePercent']}% is above maxUnhealthyInstancePercent "
                f"{policy['maxUnhealthyInstancePercent']}%: a batch in flight counts as unhealthy, so one "
                "unhealthy instance can stop the upgrade",
                "lower --max-batch-instance-percent or raise --max-unhealthy-instance-percent",
            )
        )
    if scale_set is None:
        return findings
    if policy["enableCrossZoneUpgrade"] and not scale_set.zones:
        findings.append(
            Finding(
                "error",
                "enableCrossZoneUpgrade",
                f"cross-zone upgrade needs a zonal scale set; {scale_set.name} has no zones",
                "drop --cross-zone (use --no-cross-zone)",
            )
        )
    if policy["maxSurge"] and scale_set.overprovision is not False:
        findings.append(
            Finding(
                "error",
                "maxSurge",
                f"MaxSurge needs overprovision off; {scale_set.name} has overprovision "
                f"{'on' if scale_set.overprovision else 'unset (on by default)'}",
                'set "overprovision": false on the scale set first, or drop --max-surge',
            )
        )
    return findings


@dataclass(frozen=True)
class Difference:
    field: str
    before: Any
    after: Any


def diff(
    before_mode: str | None, before: Mapping[str, Any], after_mode: str, after: Mapping[str, Any]
) -> list[Difference]:
    """The fields that change, mode first, in the order of FIELDS."""
    changes = [Difference("mode", before_mode, after_mode)] if (before_mode or "Manual") != after_mode else []
    old = effective(before)
    new = effective(after)
    changes += [Difference(f.rest, old[f.rest], new[f.rest]) for f in FIELDS if old[f.rest] != new[f.rest]]
    return changes


def patch_body(changes: list[Difference]) -> dict[str, Any]:
    """The PATCH document: `properties.upgradePolicy` with only the fields that change."""
    policy: dict[str, Any] = {}
    rolling = {d.field: d.after for d in changes if d.field != "mode"}
    for d in changes:
        if d.field == "mode":
            policy["mode"] = d.after
    if rolling:
        policy["rollingUpgradePolicy"] = rolling
    return {"properties": {"upgradePolicy": policy}}


def mismatches(
    mode: str, wanted: Mapping[str, Any], stored_mode: str | None, stored: Mapping[str, Any]
) -> list[str]:
    """What Azure stored differently from what was asked (empty when the write is confirmed)."""
    problems = [f"mode is {stored_mode}, asked {mode}"] if (stored_mode or "Manual") != mode else []
    got = effective(stored)
    problems += [f"{k} is {got[k]!r}, asked {v!r}" for k, v in effective(wanted).items() if got[k] != v]
    return problems


def export_document(mode: str | None, rolling: Mapping[str, Any]) -> dict[str, Any]:
    """The file `policy export` writes and `policy set/validate --file` read."""
    return {"mode": mode or "Manual", "rollingUpgradePolicy": effective(rolling)}
