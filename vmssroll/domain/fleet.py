"""Fleets (`vmssroll fleet ...`): one change through many scale sets, in waves, across subscriptions.

Pure: the fleet file read and validated (every problem at once, nothing sent), which resolved scale sets are
targets (`matches`), which wave each target goes to (`assign`: the first wave whose `select` matches it), and
where a set stands in this fleet from its rollout record (`standing_of`). Per-set progress lives in each set's
rollout record (progressive.Record, tags `vmssroll.*`) with the id `fleet:<name>`, so `fleet status`, a second
runner and a rerun all read it from Azure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Any

from vmssroll.domain.durations import human, parse_duration
from vmssroll.domain.errors import InvalidInput, has_control, shown
from vmssroll.domain.image import check_image_args
from vmssroll.domain.model import ScaleSet
from vmssroll.domain.progressive import Kind, Phase, Record
from vmssroll.domain.target import GUID, SCALE_SET_ID

NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
RECORD_PREFIX = "fleet:"
MAX_PARALLEL = 100
MAX_LIST = 1000  # entries of one list in the file (subscriptions, patterns, ids, gates)
DEFAULT_GATE_INTERVAL = 30.0
DEFAULT_GATE_FAILURES = 3
UNDO_CHOICES = ("none", "wave")

TOP_KEYS = ("name", "change", "targets", "waves", "gates", "gate_interval", "gate_failures", "stop")
CHANGE_KEYS = ("image_version", "image_id", "os_upgrade", "extensions")
TARGET_KEYS = ("subscriptions", "resource_groups", "names", "tags", "ids")
WAVE_KEYS = ("name", "select", "max_parallel", "bake")
SELECT_KEYS = ("regions", "resource_groups", "names", "tags")
STOP_KEYS = ("max_faulted", "undo")


# Types ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """What the fleet rolls out to each set: an image (a version of the current one, or another image id), an
    OS image upgrade or an extension upgrade."""

    kind: Kind
    image_version: str | None = None
    image_id: str | None = None

    def describe(self) -> str:
        if self.kind is Kind.OS:
            return "OS image upgrade"
        if self.kind is Kind.EXTENSIONS:
            return "extension upgrade"
        return f"image version {self.image_version}" if self.image_version else f"image {self.image_id}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "imageVersion": self.image_version, "imageId": self.image_id}


@dataclass(frozen=True)
class Selector:
    """A wave's `select`: a set matches when it matches every filter given (an empty filter matches all)."""

    regions: tuple[str, ...] = ()
    resource_groups: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "regions": list(self.regions),
            "resourceGroups": list(self.resource_groups),
            "names": list(self.names),
            "tags": dict(self.tags),
        }


@dataclass(frozen=True)
class Wave:
    name: str
    select: Selector | None  # None: every target left
    max_parallel: int = 1
    bake: float = 0.0  # seconds

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "select": None if self.select is None else self.select.to_json(),
            "maxParallel": self.max_parallel,
            "bakeSeconds": self.bake,
        }


@dataclass(frozen=True)
class StopRule:
    max_faulted: int = 0  # halt when more than this many sets faulted or stopped
    undo: str = "none"  # none | wave


@dataclass(frozen=True)
class Targets:
    """Which scale sets the fleet covers: a set is a target when it matches every filter given."""

    subscriptions: tuple[str, ...]  # lowercase GUIDs
    resource_groups: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    ids: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "subscriptions": list(self.subscriptions),
            "resourceGroups": list(self.resource_groups),
            "names": list(self.names),
            "tags": dict(self.tags),
            "ids": list(self.ids),
        }


@dataclass(frozen=True)
class Fleet:
    name: str
    change: Change
    targets: Targets
    waves: tuple[Wave, ...]
    gates: tuple[str, ...] = ()
    gate_interval: float = DEFAULT_GATE_INTERVAL
    gate_failures: int = DEFAULT_GATE_FAILURES
    stop: StopRule = field(default_factory=StopRule)

    @property
    def record_id(self) -> str:
        """The id of the rollout record this fleet writes on each of its sets."""
        return record_id(self.name)


def record_id(fleet_name: str) -> str:
    return RECORD_PREFIX + fleet_name


@dataclass(frozen=True)
class Member:
    """A resolved target: one scale set as listed in its subscription (plain data)."""

    subscription: str
    resource_group: str
    name: str
    location: str
    tags: Mapping[str, str] = field(default_factory=dict)
    capacity: int = 0
    mode: str | None = None  # the upgrade policy's mode (Rolling, Automatic, Manual)
    orchestration: str | None = None  # Uniform | Flexible

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Compute/virtualMachineScaleSets/{self.name}"
        )

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity as Azure compares it (case-insensitive), and the order sets are listed in."""
        return (self.subscription.lower(), self.resource_group.lower(), self.name.lower())


@dataclass(frozen=True)
class WavePlan:
    wave: Wave
    members: tuple[Member, ...]


# Matching ---------------------------------------------------------------------------------------------------


def region_key(location: str) -> str:
    """A region as compared: `West US 2` and `westus2` are the same region."""
    return location.replace(" ", "").lower()


def _any_pattern(patterns: Sequence[str], value: str) -> bool:
    return not patterns or any(fnmatchcase(value.lower(), p.lower()) for p in patterns)


def _tags_match(wanted: Mapping[str, str], tags: Mapping[str, str]) -> bool:
    """Every wanted tag present with the same value; tag names compare case-insensitively (as in Azure),
    values exactly."""
    have = {k.lower(): v for k, v in tags.items()}
    return all(have.get(k.lower()) == v for k, v in wanted.items())


def matches(targets: Targets, member: Member) -> bool:
    """Whether a resolved scale set is one of the fleet's targets."""
    return (
        member.subscription.lower() in targets.subscriptions
        and _any_pattern(targets.resource_groups, member.resource_group)
        and _any_pattern(targets.names, member.name)
        and _tags_match(targets.tags, member.tags)
        and (not targets.ids or member.id.lower() in {i.lower() for i in targets.ids})
    )


def selects(selector: Selector | None, member: Member) -> bool:
    if selector is None:
        return True
    return (
        (not selector.regions or region_key(member.location) in {region_key(r) for r in selector.regions})
        and _any_pattern(selector.resource_groups, member.resource_group)
        and _any_pattern(selector.names, member.name)
        and _tags_match(selector.tags, member.tags)
    )


def assign(fleet: Fleet, members: Iterable[Member]) -> tuple[WavePlan, ...]:
    """The fleet's waves in order, each with its sets: every target goes to the first wave whose `select`
    matches it. Sets that are not targets are left out; targets in no wave are `unassigned`."""
    targets = sorted({m.key: m for m in members if matches(fleet.targets, m)}.values(), key=lambda m: m.key)
    taken: set[tuple[str, str, str]] = set()
    plans: list[WavePlan] = []
    for wave in fleet.waves:
        mine = tuple(m for m in targets if m.key not in taken and selects(wave.select, m))
        taken.update(m.key for m in mine)
        plans.append(WavePlan(wave, mine))
    return tuple(plans)


def unassigned(fleet: Fleet, members: Iterable[Member]) -> tuple[Member, ...]:
    """The targets no wave takes (a validation error in `plan`, never silently skipped)."""
    listed = list(members)
    taken = {m.key for plan in assign(fleet, listed) for m in plan.members}
    return tuple(
        sorted(
            {m.key: m for m in listed if matches(fleet.targets, m) and m.key not in taken}.values(),
            key=lambda m: m.key,
        )
    )


def missing_ids(fleet: Fleet, members: Iterable[Member]) -> tuple[str, ...]:
    """The ids the file names that no listed scale set has (deleted, or a typo)."""
    found = {m.id.lower() for m in members}
    return tuple(i for i in fleet.targets.ids if i.lower() not in found)


# Where a set stands -----------------------------------------------------------------------------------------


class SetState(StrEnum):
    """A set's place in this fleet, read from its rollout record."""

    PENDING = "pending"  # no record of this fleet (and no other rollout in progress)
    ACTIVE = "active"  # this fleet's record, rolling, paused or baking
    DONE = "done"  # this fleet's record, done: never touched again
    STOPPED = "stopped"  # this fleet's record, stopped by a gate or Azure, or undone
    BUSY = "busy"  # another rollout's record in progress: reported, not touched
    UNKNOWN = "unknown"  # the record could not be read


_IN_PROGRESS = (Phase.ROLLING, Phase.PAUSED, Phase.BAKING, Phase.UNDOING)


def standing_of(fleet_name: str, record: Record | None) -> SetState:
    """Where a set stands in the fleet named `fleet_name`, from its rollout record (None: no record)."""
    if record is None:
        return SetState.PENDING
    if record.id != record_id(fleet_name):
        return SetState.BUSY if record.phase in _IN_PROGRESS else SetState.PENDING
    if record.phase is Phase.DONE:
        return SetState.DONE
    if record.phase in (Phase.STOPPED, Phase.UNDONE):
        return SetState.STOPPED
    return SetState.ACTIVE


def standing_from_tags(
    fleet_name: str, tags: Mapping[str, str]
) -> tuple[SetState, Record | None, str | None]:
    """`standing_of` from a set's tags; an unreadable record is UNKNOWN with its reason, never an error."""
    record, unreadable = Record.read_tags(tags)
    if unreadable:
        return SetState.UNKNOWN, None, unreadable
    return standing_of(fleet_name, record), record, None


# The fleet file ---------------------------------------------------------------------------------------------


class FleetInvalid(InvalidInput):
    """Every problem found in a fleet file at once; one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))

    @property
    def problems_text(self) -> list[str]:
        return list(self.problems)


class _Problems:
    def __init__(self) -> None:
        self.found: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.found.append(f"fleet file {where}: {message}" if where else f"fleet file: {message}")

    def unknown(self, data: Mapping[Any, Any], known: tuple[str, ...], where: str) -> None:
        for key in data:
            if key not in known:
                self.add(where, f"unknown key {shown(str(key), 60)}; known keys: {', '.join(known)}")


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _text_list(
    data: Mapping[str, Any], key: str, where: str, problems: _Problems, *, check: Any = None
) -> tuple[str, ...]:
    """A list of non-empty strings (a single string is taken as a list of one)."""
    raw = data.get(key)
    here = _path(where, key)
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        problems.add(here, "must be a list of text")
        return ()
    if len(raw) > MAX_LIST:
        problems.add(here, f"has {len(raw)} entries; at most {MAX_LIST}")
        return ()
    found: list[str] = []
    for index, item in enumerate(raw):
        if not isinstance(item, str) or not item.strip() or has_control(item):
            problems.add(f"{here}[{index}]", f"{shown(item)} is not a non-empty line of text")
            continue
        if check is not None:
            message = check(item.strip())
            if message:
                problems.add(f"{here}[{index}]", message)
                continue
        found.append(item.strip())
    return tuple(found)


def _tags(data: Mapping[str, Any], where: str, problems: _Problems) -> dict[str, str]:
    raw = data.get("tags")
    here = _path(where, "tags")
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.add(here, "must be an object of tag names and values (e.g. {app: web})")
        return {}
    found: dict[str, str] = {}
    for name, value in raw.items():
        if not isinstance(name, str) or not name or has_control(name):
            problems.add(here, f"{shown(name)} is not a tag name")
        elif not isinstance(value, str) or has_control(value):
            problems.add(f"{here}.{name}", f"{shown(value)} is not text (quote it: tag values are text)")
        else:
            found[name] = value
    return found


def _whole(
    data: Mapping[str, Any], key: str, where: str, problems: _Problems, *, low: int, high: int, default: int
) -> int:
    raw = data.get(key)
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
        problems.add(_path(where, key), f"{shown(raw)} is not a whole number from {low} to {high}")
        return default
    return raw


def _seconds(data: Mapping[str, Any], key: str, where: str, problems: _Problems, *, default: float) -> float:
    raw = data.get(key)
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        problems.add(_path(where, key), f"{shown(raw)} is not a duration (e.g. 30s, 10m, 1h30m)")
        return default
    try:
        return parse_duration(str(raw), what=f"fleet file {_path(where, key)}").total_seconds()
    except InvalidInput as err:
        problems.found.append(err.message)
        return default


def _check_subscription(value: str) -> str | None:
    return None if GUID.fullmatch(value) else f"{shown(value)} is not a subscription id (a GUID)"


def _check_pattern(value: str) -> str | None:
    return None if len(value) <= 260 else f"{shown(value)} is longer than 260 characters"


def _check_id(value: str) -> str | None:
    match = SCALE_SET_ID.fullmatch(value)
    if match is None or not GUID.fullmatch(match["sub"]):
        return (
            f"{shown(value, 160)} is not a scale set id (/subscriptions/SUB/resourceGroups/RG/providers/"
            "Microsoft.Compute/virtualMachineScaleSets/NAME)"
        )
    return None


def _change(data: Any, problems: _Problems) -> Change:
    fallback = Change(Kind.IMAGE, image_version="latest")
    if data is None:
        problems.add(
            "", "change is required (one of image_version, image_id, os_upgrade: true, extensions: true)"
        )
        return fallback
    if not isinstance(data, Mapping):
        problems.add(
            "change", "must be an object with one of image_version, image_id, os_upgrade, extensions"
        )
        return fallback
    problems.unknown(data, CHANGE_KEYS, "change")
    given = [k for k in CHANGE_KEYS if k in data]
    if len(given) != 1:
        problems.add(
            "change",
            f"give exactly one of {', '.join(CHANGE_KEYS)}"
            + (f" (found {', '.join(given)})" if given else ""),
        )
        return fallback
    key = given[0]
    value = data[key]
    if key in ("os_upgrade", "extensions"):
        if value is not True:
            problems.add(f"change.{key}", f"{shown(value)}: the only value is true")
            return fallback
        return Change(Kind.OS if key == "os_upgrade" else Kind.EXTENSIONS)
    if not isinstance(value, str):
        problems.add(f"change.{key}", f"{shown(value)} is not text (quote a version such as '3.1')")
        return fallback
    try:
        check_image_args(
            version=value if key == "image_version" else None,
            image_id=value if key == "image_id" else None,
        )
    except InvalidInput as err:
        flag = "--version" if key == "image_version" else "--image-id"
        problems.add(f"change.{key}", err.message.replace(flag + " ", "", 1))
        return fallback
    return Change(Kind.IMAGE, image_version=value if key == "image_version" else None,
                  image_id=value if key == "image_id" else None)  # fmt: skip


def _targets(data: Any, problems: _Problems) -> Targets:
    if not isinstance(data, Mapping):
        problems.add(
            "targets" if data is not None else "", "targets is required: an object (subscriptions, ...)"
        )
        return Targets(())
    problems.unknown(data, TARGET_KEYS, "targets")
    subscriptions = tuple(
        s.lower() for s in _text_list(data, "subscriptions", "targets", problems, check=_check_subscription)
    )
    ids = _text_list(data, "ids", "targets", problems, check=_check_id)
    id_subscriptions: list[str] = []
    for index, value in enumerate(ids):
        match = SCALE_SET_ID.fullmatch(value)
        assert match is not None
        sub = match["sub"].lower()
        if sub not in id_subscriptions:
            id_subscriptions.append(sub)
        if "subscriptions" in data and subscriptions and sub not in subscriptions:
            problems.add(
                f"targets.ids[{index}]", f"is in subscription {sub}, which targets.subscriptions lacks"
            )
    if "subscriptions" not in data:
        if not ids:
            problems.add("targets", "subscriptions is required (unless ids lists every target)")
        subscriptions = tuple(id_subscriptions)
    elif data.get("subscriptions") in ([], None, ""):
        problems.add("targets.subscriptions", "is empty; give at least one subscription id")
    return Targets(
        subscriptions=tuple(dict.fromkeys(subscriptions)),
        resource_groups=_text_list(data, "resource_groups", "targets", problems, check=_check_pattern),
        names=_text_list(data, "names", "targets", problems, check=_check_pattern),
        tags=_tags(data, "targets", problems),
        ids=ids,
    )


def _waves(data: Any, problems: _Problems) -> tuple[Wave, ...]:
    if not isinstance(data, list) or not data:
        problems.add("waves" if data is not None else "", "waves is required: a list of at least one wave")
        return ()
    waves: list[Wave] = []
    seen: dict[str, int] = {}
    takes_rest: str | None = None
    for index, raw in enumerate(data):
        where = f"waves[{index}]"
        if not isinstance(raw, Mapping):
            problems.add(where, "must be an object (name, select, max_parallel, bake)")
            continue
        problems.unknown(raw, WAVE_KEYS, where)
        name = raw.get("name")
        if not isinstance(name, str) or not NAME.fullmatch(name):
            problems.add(f"{where}.name", f"{shown(name)} is not a wave name (1-64 of A-Z a-z 0-9 . _ -)")
            name = f"wave-{index + 1}"
        elif name.lower() in seen:
            problems.add(f"{where}.name", f"{shown(name)} is also the name of waves[{seen[name.lower()]}]")
        seen.setdefault(name.lower(), index)
        if takes_rest is not None:
            problems.add(
                where,
                f"comes after wave {shown(takes_rest)}, which has no select and takes every target left",
            )
        select: Selector | None = None
        raw_select = raw.get("select")
        if raw_select is not None:
            if not isinstance(raw_select, Mapping):
                problems.add(f"{where}.select", "must be an object (regions, resource_groups, names, tags)")
            else:
                here = f"{where}.select"
                problems.unknown(raw_select, SELECT_KEYS, here)
                select = Selector(
                    regions=_text_list(raw_select, "regions", here, problems, check=_check_pattern),
                    resource_groups=_text_list(
                        raw_select, "resource_groups", here, problems, check=_check_pattern
                    ),
                    names=_text_list(raw_select, "names", here, problems, check=_check_pattern),
                    tags=_tags(raw_select, here, problems),
                )
                if not (select.regions or select.resource_groups or select.names or select.tags):
                    select = None  # an empty select takes every target left
        if select is None:
            takes_rest = takes_rest or name
        waves.append(
            Wave(
                name=name,
                select=select,
                max_parallel=_whole(
                    raw, "max_parallel", where, problems, low=1, high=MAX_PARALLEL, default=1
                ),
                bake=_seconds(raw, "bake", where, problems, default=0.0),
            )
        )
    return tuple(waves)


def _stop(data: Any, change: Change, problems: _Problems) -> StopRule:
    if data is None:
        return StopRule()
    if not isinstance(data, Mapping):
        problems.add("stop", "must be an object (max_faulted, undo)")
        return StopRule()
    problems.unknown(data, STOP_KEYS, "stop")
    max_faulted = _whole(data, "max_faulted", "stop", problems, low=0, high=100_000, default=0)
    undo = data.get("undo", "none")
    if not isinstance(undo, str) or undo.lower() not in UNDO_CHOICES:
        problems.add("stop.undo", f"{shown(undo)} is not one of {', '.join(UNDO_CHOICES)}")
        undo = "none"
    undo = undo.lower()
    if undo == "wave" and change.kind is not Kind.IMAGE:
        problems.add("stop.undo", f"wave: undo puts the previous image back; a change of {change.describe()} "
                                  "has none to put back (use undo: none)")  # fmt: skip
        undo = "none"
    return StopRule(max_faulted=max_faulted, undo=undo)


def parse_fleet(doc: Any) -> Fleet:
    """A fleet file's document (YAML or JSON, as documents.load_file reads it) as a Fleet; every problem is
    collected before raising FleetInvalid (exit 2, nothing sent)."""
    if not isinstance(doc, Mapping):
        raise FleetInvalid(
            ["fleet file: the top level must be an object (name, change, targets, waves, ...)"]
        )
    problems = _Problems()
    problems.unknown(doc, TOP_KEYS, "")
    name = doc.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        problems.add(
            "name" if name is not None else "",
            f"{shown(name)} is not a fleet name (1-64 of A-Z a-z 0-9 . _ -)"
            if name is not None
            else "name is required (1-64 of A-Z a-z 0-9 . _ -)",
        )
        name = "fleet"
    change = _change(doc.get("change"), problems)
    targets = _targets(doc.get("targets"), problems)
    waves = _waves(doc.get("waves"), problems)
    gates = _text_list(doc, "gates", "", problems)
    gate_interval = _seconds(doc, "gate_interval", "", problems, default=DEFAULT_GATE_INTERVAL)
    if gate_interval < 1 and "gate_interval" in doc:
        problems.add("gate_interval", "must be at least 1 second")
    gate_failures = _whole(
        doc, "gate_failures", "", problems, low=1, high=1000, default=DEFAULT_GATE_FAILURES
    )
    stop = _stop(doc.get("stop"), change, problems)
    if problems.found:
        raise FleetInvalid(problems.found)
    return Fleet(
        name=name,
        change=change,
        targets=targets,
        waves=waves,
        gates=gates,
        gate_interval=gate_interval,
        gate_failures=gate_failures,
        stop=stop,
    )


# Resolved sets ----------------------------------------------------------------------------------------------


def member_of(scale_set: ScaleSet) -> Member:
    """A scale set as listed (`list_all`) as a fleet member; its subscription is read from its id."""
    match = SCALE_SET_ID.fullmatch(scale_set.id.rstrip("/"))
    return Member(
        subscription=(match["sub"] if match else "").lower(),
        resource_group=match["rg"] if match else scale_set.resource_group,
        name=scale_set.name,
        location=scale_set.location,
        tags=dict(scale_set.tags),
        capacity=scale_set.capacity,
        mode=scale_set.upgrade_policy.mode,
        orchestration=scale_set.orchestration_mode,
    )


def member_json(member: Member) -> dict[str, Any]:
    return {
        "id": member.id,
        "name": member.name,
        "subscription": member.subscription,
        "resourceGroup": member.resource_group,
        "region": member.location,
        "instances": member.capacity,
        "mode": member.mode,
        "orchestration": member.orchestration,
    }


def wave_does(fleet: Fleet, plan: WavePlan) -> str:
    """What a wave will do, in one line."""
    sets = len(plan.members)
    if not sets:
        return "nothing: no target matches this wave"
    instances = sum(m.capacity for m in plan.members)
    at_once = min(plan.wave.max_parallel, sets)
    text = (
        f"roll out {fleet.change.describe()} to {sets} scale set(s) ({instances} instance(s)), "
        f"{at_once} at a time"
    )
    if plan.wave.bake:
        gates = f" with {len(fleet.gates)} gate(s) running" if fleet.gates else ""
        text += f", then bake {human(plan.wave.bake)}{gates}"
    return text
