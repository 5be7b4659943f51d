"""The upgrade policy: the rolling fields and the automatic OS upgrade fields, their ranges, validation,
merging, diffs and the PATCH body."""

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
    group: str = "rollingUpgradePolicy"  # the object of `upgradePolicy` the field lives in
    invert: bool = False  # the flag says the opposite of the REST field (--automatic-rollback: disable...)


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
OS_KEY = "automaticOSUpgradePolicy"
OS_FIELDS: tuple[Field, ...] = (
    Field("enableAutomaticOSUpgrade", "--automatic-os-upgrade", "bool", False, group=OS_KEY,
          help="apply each newer OS image version automatically, in a rolling fashion"),
    Field("useRollingUpgradePolicy", "--use-rolling-policy-for-os-upgrade", "bool", False, group=OS_KEY,
          help="automatic OS upgrades follow the rolling upgrade policy (else Azure's default policy)"),
    Field("disableAutomaticRollback", "--automatic-rollback", "bool", False, group=OS_KEY, invert=True,
          help="roll failed instances back to the previous OS image (--no-automatic-rollback sets "
               "disableAutomaticRollback)"),
    Field("osRollingUpgradeDeferral", "--os-upgrade-deferral", "bool", False, group=OS_KEY,
          help="hold each automatic OS upgrade until it is approved (vmssroll approve)"),
)  # fmt: skip
OS_BY_REST = {f.rest: f for f in OS_FIELDS}
FILE_KEYS = ("mode", "rollingUpgradePolicy", OS_KEY)


@dataclass(frozen=True)
class PolicyChange:
    """What the user asked for: a mode, some rolling fields and/or some automatic OS upgrade fields (REST
    name → value, as Azure stores it: `disableAutomaticRollback`, not the flag's sense)."""

    mode: str | None = None
    rolling: Mapping[str, Any] = field(default_factory=dict)
    automatic_os: Mapping[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.mode is None and not self.rolling and not self.automatic_os

    def over(self, other: PolicyChange) -> PolicyChange:
        """This change laid over `other` (flags over a file)."""
        return PolicyChange(
            mode=self.mode or other.mode,
            rolling={**other.rolling, **self.rolling},
            automatic_os={**other.automatic_os, **self.automatic_os},
        )


_WHOLE = re.compile(r"\s*-?[0-9]{1,12}\s*")


def check_value(spec: Field, value: Any, *, source: str) -> Any:
    """One field's value, normalised, or InvalidInput naming the field and the accepted range."""
    where = f"policy file {spec.group}.{spec.rest}" if source == "file" else spec.flag
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
        return f"use {spec.flag} or --no-{spec.flag[2:]} ({spec.rest}: true or false in a file)"
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
    if not where and (key in BY_REST or key in OS_BY_REST):
        group = "rollingUpgradePolicy" if key in BY_REST else OS_KEY
        near = f"{group}.{key}"
        hint = f"; did you mean {near!r}? ({'rolling' if key in BY_REST else 'OS upgrade'} fields go under {group})"
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
    """A policy file (the shape `policy export` writes: mode, rollingUpgradePolicy, automaticOSUpgradePolicy,
    as in Azure's `upgradePolicy`) as a PolicyChange.

    Every problem is collected before raising PolicyInvalid, so one run shows them all.
    """
    if not isinstance(data, Mapping):
        raise InvalidInput(
            "policy file: the top level must be an object with mode, rollingUpgradePolicy and/or "
            "automaticOSUpgradePolicy"
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
    rolling = _group(data, "rollingUpgradePolicy", BY_REST, problems)
    automatic_os = _group(data, OS_KEY, OS_BY_REST, problems)
    if problems:
        raise PolicyInvalid(problems)
    return PolicyChange(mode=mode, rolling=rolling, automatic_os=automatic_os)


def _group(
    data: Mapping[str, Any], key: str, fields: Mapping[str, Field], problems: list[Finding]
) -> dict[str, Any]:
    """One object of a policy file (rollingUpgradePolicy or automaticOSUpgradePolicy), each value checked."""
    raw = data.get(key) or {}
    if not isinstance(raw, Mapping):
        problems.append(
            Finding("error", key, f"policy file: {key} must be an object", f"give an object of {key} fields")
        )
        return {}
    found: dict[str, Any] = {}
    for name, value in raw.items():
        spec = fields.get(str(name))
        if spec is None:
            problems.append(_unknown(str(name), tuple(fields), f"{key}."))
            continue
        try:
            found[spec.rest] = check_value(spec, value, source="file")
        except InvalidInput as err:
            problems.append(Finding("error", spec.rest, err.message, fix_for(spec)))
    return found


def effective(rolling: Mapping[str, Any]) -> dict[str, Any]:
    """Every rolling field with its value, Azure's default filling the unset ones."""
    return {f.rest: rolling[f.rest] if rolling.get(f.rest) is not None else f.default for f in FIELDS}


def effective_os(stored: Mapping[str, Any]) -> dict[str, Any]:
    """Every automatic OS upgrade field with its value, Azure's default (false) filling the unset ones."""
    return {f.rest: stored[f.rest] if stored.get(f.rest) is not None else f.default for f in OS_FIELDS}


def apply_os(current: Mapping[str, Any], change: PolicyChange) -> dict[str, Any]:
    """The effective automatic OS upgrade policy after the change."""
    return effective_os({**current, **change.automatic_os})


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
    before_mode: str | None,
    before: Mapping[str, Any],
    after_mode: str,
    after: Mapping[str, Any],
    *,
    os_before: Mapping[str, Any] | None = None,
    os_after: Mapping[str, Any] | None = None,
) -> list[Difference]:
    """The fields that change, mode first, in the order of FIELDS, then the automatic OS upgrade fields
    (`automaticOSUpgradePolicy.NAME`) when `os_after` is given."""
    changes = [Difference("mode", before_mode, after_mode)] if (before_mode or "Manual") != after_mode else []
    old = effective(before)
    new = effective(after)
    changes += [Difference(f.rest, old[f.rest], new[f.rest]) for f in FIELDS if old[f.rest] != new[f.rest]]
    if os_after is not None:
        old_os, new_os = effective_os(os_before or {}), effective_os(os_after)
        changes += [
            Difference(f"{OS_KEY}.{f.rest}", old_os[f.rest], new_os[f.rest])
            for f in OS_FIELDS
            if old_os[f.rest] != new_os[f.rest]
        ]
    return changes


def patch_body(changes: list[Difference]) -> dict[str, Any]:
    """The PATCH document: `properties.upgradePolicy` with only the fields that change."""
    policy: dict[str, Any] = {}
    prefix = f"{OS_KEY}."
    rolling = {d.field: d.after for d in changes if d.field != "mode" and not d.field.startswith(prefix)}
    automatic_os = {d.field[len(prefix) :]: d.after for d in changes if d.field.startswith(prefix)}
    for d in changes:
        if d.field == "mode":
            policy["mode"] = d.after
    if rolling:
        policy["rollingUpgradePolicy"] = rolling
    if automatic_os:
        policy[OS_KEY] = automatic_os
    return {"properties": {"upgradePolicy": policy}}


def mismatches(
    mode: str,
    wanted: Mapping[str, Any],
    stored_mode: str | None,
    stored: Mapping[str, Any],
    *,
    os_wanted: Mapping[str, Any] | None = None,
    os_stored: Mapping[str, Any] | None = None,
) -> list[str]:
    """What Azure stored differently from what was asked (empty when the write is confirmed)."""
    problems = [f"mode is {stored_mode}, asked {mode}"] if (stored_mode or "Manual") != mode else []
    got = effective(stored)
    problems += [f"{k} is {got[k]!r}, asked {v!r}" for k, v in effective(wanted).items() if got[k] != v]
    if os_wanted is not None:
        got_os = effective_os(os_stored or {})
        problems += [
            f"{OS_KEY}.{k} is {got_os[k]!r}, asked {v!r}"
            for k, v in effective_os(os_wanted).items()
            if got_os[k] != v
        ]
    return problems


def export_document(
    mode: str | None, rolling: Mapping[str, Any], automatic_os: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The file `policy export` writes and `policy set/validate --file` read (Azure's upgradePolicy shape)."""
    return {
        "mode": mode or "Manual",
        "rollingUpgradePolicy": effective(rolling),
        OS_KEY: effective_os(automatic_os or {}),
    }


def cross_check_os(automatic_os: Mapping[str, Any], scale_set: ScaleSet | None) -> list[Finding]:
    """Rules of the automatic OS upgrade fields: settings that do nothing while automatic upgrades are off,
    and an image that automatic OS upgrades would never move (a pinned version)."""
    policy = effective_os(automatic_os)
    findings: list[Finding] = []
    if not policy["enableAutomaticOSUpgrade"]:
        idle = [k for k in ("useRollingUpgradePolicy", "osRollingUpgradeDeferral") if policy[k]]
        if idle:
            findings.append(
                Finding(
                    "warning",
                    f"{OS_KEY}.{idle[0]}",
                    f"{', '.join(idle)} has no effect while enableAutomaticOSUpgrade is false",
                    "add --automatic-os-upgrade to turn automatic OS upgrades on",
                )
            )
        return findings
    if scale_set is not None:
        image = scale_set.image
        pinned = str(image.get("version") or "")
        gallery_version = "/versions/" in str(image.get("id") or "").lower()
        if (pinned and pinned.lower() != "latest") or gallery_version:
            findings.append(
                Finding(
                    "warning",
                    f"{OS_KEY}.enableAutomaticOSUpgrade",
                    f"{scale_set.name}'s image is pinned to one version: automatic OS upgrades follow only an "
                    "image referenced without a version (`latest`, or a gallery image definition)",
                    f"see `vmssroll check --for os-upgrade -g {scale_set.resource_group} -n {scale_set.name}`",
                )
            )
    return findings
