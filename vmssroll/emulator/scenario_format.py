"""The scenario format as a table: every field with the type(s) or values it may have, then the few checks a
type cannot say (capacity not negative, resource groups that exist, one key per health rule).

A spec is a type (`str`; `int` a whole number, never a bool; `float` any number; `dict` a JSON mapping with
string keys; `object` any JSON value), `None` (the field may be null, meaning absent), a tuple of specs (any
one of them), or one of the shapes below. Any malformed scenario raises one `ScenarioError` whose message
starts with the field's path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .latency import parse_latency
from .state import HEALTH_STATES

DEFAULT_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


class ScenarioError(ValueError):
    """An invalid scenario; the message names the offending field."""


@dataclass(frozen=True)
class ListOf:
    item: Any


@dataclass(frozen=True)
class MapOf:
    value: Any
    keys: tuple[type, ...] = (str,)


@dataclass(frozen=True)
class OneOf:
    values: tuple[str, ...]


@dataclass(frozen=True)
class Record:
    fields: Mapping[str, Any]
    required: tuple[str, ...] = ()
    more: bool = False  # other fields are allowed, as any JSON (REST shapes stored as written)


NUMBER = (int, float)
ID = (str, int)  # an instance id or a zone: "3" or 3
VERSION = (str, int, float)  # an image version as YAML may read it: 1.0.0, 2, 1.5
HEALTH = OneOf(HEALTH_STATES)
TAGS = (MapOf(str), None)
EXTENSION = Record(
    {"name": str, "properties": dict, "publisher": str, "type": str, "typeHandlerVersion": str,
     "settings": (dict, None), "protectedSettings": (dict, None)},
    more=True,  # compact: the other REST properties as written
)  # fmt: skip
EXTENSIONS = (ListOf(EXTENSION), None)
PROBE = Record(
    {"name": str, "protocol": str, "port": int, "request_path": str, "interval": int, "count": int}, ("name",)
)
LOAD_BALANCER = Record(
    {"name": str, "resource_group": str, "subscription": str, "probes": (ListOf(PROBE), None)},
    ("name", "resource_group"),
)
HEALTH_PROBE = Record({"load_balancer": str, "probe": str, "resource_group": str}, ("load_balancer", "probe"))
INSTANCE = Record({"health": HEALTH, "initializing_for": NUMBER, "image_version": VERSION})
HEALTH_RULE = Record({"image_version": VERSION, "instance_id": ID, "health": HEALTH}, ("health",))
ATTACHED_VM = Record({"name": str, "zone": (*ID, None), "extensions": EXTENSIONS}, ("name",))
SCALE_SET = Record(
    {
        "name": str,
        "resource_group": str,
        "subscription": str,  # one of the scenario's subscriptions; default: the first
        "location": str,
        "orchestration_mode": OneOf(("Uniform", "Flexible")),
        "capacity": int,
        "zones": (ListOf(ID), None),
        "overprovision": bool,
        "single_placement_group": bool,
        "sku": (str, Record({"name": str, "tier": str, "capacity": int})),
        "tags": TAGS,
        "upgrade_policy": (dict, None),
        "image": (MapOf(str), None),
        "health_probe": (str, HEALTH_PROBE, None),
        "extensions": EXTENSIONS,
        "os_profile": (dict, None),
        "timings": (
            Record(
                {
                    "updating": NUMBER,
                    "initializing": NUMBER,
                    "write": NUMBER,
                    "write_retry_after": NUMBER,
                    "upgrade_start": NUMBER,
                }
            ),
            None,
        ),
        "initial_health": HEALTH,
        "initializing_for": NUMBER,
        "instances": (MapOf(INSTANCE, keys=ID), None),
        "health_rules": (ListOf(HEALTH_RULE), None),
        "app_broken_by": (ListOf(VERSION), None),
        "no_signal_after_batch": OneOf(("failed", "passed")),
        "attached_vms": (ListOf(ATTACHED_VM), None),
        "profile": (dict, None),
    },
    ("name", "resource_group"),
)
PLATFORM_IMAGE = Record(
    {"publisher": str, "offer": str, "sku": str, "version": VERSION, "after": NUMBER},
    ("publisher", "offer", "sku", "version"),
)
SCENARIO = Record(
    {
        "name": (str, None),
        "description": (str, None),
        "subscription": (str, None),
        "subscriptions": (ListOf(str), None),  # several subscriptions; the first is the default
        "features": (MapOf(OneOf(("Registered", "NotRegistered"))), None),
        "latency": (
            str,
            *NUMBER,
            None,
        ),  # real time added to every answer: 150ms, 150ms±50ms, or milliseconds
        "resource_groups": (
            ListOf(Record({"name": str, "subscription": str, "location": str, "tags": TAGS}, ("name",))),
            None,
        ),
        "load_balancers": (ListOf(LOAD_BALANCER), None),
        "scale_sets": ListOf(SCALE_SET),
        "platform_images": (ListOf(PLATFORM_IMAGE), None),
    },
    ("scale_sets",),
)
_WHAT = {str: "a string", int: "a whole number", float: "a number", bool: "true or false", dict: "a mapping",
         object: "JSON data"}  # fmt: skip


def check(data: Any) -> None:
    """Raise ScenarioError for the first malformed field of a scenario."""
    _value(data, SCENARIO, "")
    try:
        parse_latency(data.get("latency"))
    except ValueError as exc:
        raise _fail("latency", str(exc)) from None
    subs = _subscriptions(data)
    for group in ("resource_groups", "load_balancers", "scale_sets"):
        for i, item in enumerate(data.get(group) or []):
            if "subscription" in item and item["subscription"].lower() not in subs:
                raise _fail(f"{group}[{i}].subscription", f"{item['subscription']!r} is not in subscriptions")
    rgs = {(_sub_of(r, subs), r["name"].lower()) for r in data.get("resource_groups") or []}
    for i, ss in enumerate(data["scale_sets"]):
        where = f"scale_sets[{i}]"
        if rgs and (_sub_of(ss, subs), ss["resource_group"].lower()) not in rgs:
            raise _fail(f"{where}.resource_group", f"{ss['resource_group']!r} is not in resource_groups")
        if ss.get("capacity", 0) < 0:
            raise _fail(f"{where}.capacity", "must be a non-negative integer")
        for j, rule in enumerate(ss.get("health_rules") or []):
            if ("image_version" in rule) == ("instance_id" in rule):
                raise _fail(f"{where}.health_rules[{j}]", "needs exactly one of image_version or instance_id")

    for i, image in enumerate(data.get("platform_images") or []):
        if image.get("after", 0) < 0:
            raise _fail(f"platform_images[{i}].after", "must be a number of seconds, 0 or more")


def _subscriptions(data: Mapping[str, Any]) -> list[str]:
    """The scenario's subscriptions in lower case, the default first; `subscription` and `subscriptions`
    together, an empty list or one named twice are errors."""
    if data.get("subscriptions") is None:
        return [str(data.get("subscription") or DEFAULT_SUBSCRIPTION).lower()]
    if data.get("subscription") is not None:
        raise _fail("subscriptions", "give subscription or subscriptions, not both")
    subs = [s.lower() for s in data["subscriptions"]]
    if not subs:
        raise _fail("subscriptions", "must list at least one subscription")
    for i, sub in enumerate(subs):
        if not sub or sub in subs[:i]:
            raise _fail(f"subscriptions[{i}]", "is empty or named twice")
    return subs


def _sub_of(item: Mapping[str, Any], subs: list[str]) -> str:
    return str(item.get("subscription") or subs[0]).lower()


def _fail(where: str, why: str) -> ScenarioError:
    return ScenarioError(f"{where or 'scenario'}: {why}")


def _at(where: str, key: Any) -> str:
    return f"{where}.{key}" if where else str(key)


def _value(value: Any, spec: Any, where: str) -> None:
    specs = spec if isinstance(spec, tuple) else (spec,)
    for s in specs:
        if s is None and value is None:
            return
        if (
            isinstance(s, type)
            and isinstance(value, s)
            and (s in (bool, object) or not isinstance(value, bool))
        ):
            if s in (dict, object):
                _json(value, where)
            return
        if isinstance(s, OneOf) and isinstance(value, str) and value in s.values:
            return
        if isinstance(s, ListOf) and isinstance(value, list):
            for i, item in enumerate(value):
                _value(item, s.item, f"{where}[{i}]")
            return
        if isinstance(s, MapOf | Record) and isinstance(value, dict):
            _mapping(value, s, where)
            return
    raise _fail(where, f"must be {_describe(specs)}, not {_shown(value)}")


def _mapping(value: dict[Any, Any], spec: MapOf | Record, where: str) -> None:
    if isinstance(spec, MapOf):
        for key, item in value.items():
            if not isinstance(key, spec.keys) or isinstance(key, bool):
                raise _fail(_at(where, key), f"the key must be {_describe(spec.keys)}")
            _value(item, spec.value, _at(where, key))
        return
    for key in value:
        if not isinstance(key, str):
            raise _fail(_at(where, key), "the key must be a string")
    unknown = sorted(k for k in value if k not in spec.fields)
    if unknown and not spec.more:
        raise _fail(_at(where, unknown[0]), f"unknown field (allowed: {', '.join(sorted(spec.fields))})")
    for key in spec.required:
        if key not in value:
            raise _fail(_at(where, key), "is required")
    for key, item in value.items():
        _value(item, spec.fields.get(key, object), _at(where, key))


def _json(value: Any, where: str) -> None:
    """REST data stored as written: JSON all the way down, string keys (YAML may add dates, sets, ...)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise _fail(_at(where, key), "the key must be a string")
            _json(item, _at(where, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _json(item, f"{where}[{i}]")
    elif value is not None and not isinstance(value, str | int | float):
        raise _fail(where, f"must be JSON data (a string, number, list or mapping), not {_shown(value)}")


def _describe(specs: tuple[Any, ...]) -> str:
    words: list[str] = []
    for s in specs:
        if isinstance(s, OneOf):
            words.append("one of " + ", ".join(s.values))
        elif isinstance(s, ListOf):
            words.append("a list")
        elif isinstance(s, MapOf | Record):
            words.append("a mapping")
        elif s is not None and not (s is int and float in specs):
            words.append(_WHAT[s])
    if None in specs:
        words.append("null")
    words = list(dict.fromkeys(words))
    return " or ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " or " + words[-1]


def _shown(value: Any) -> str:
    if isinstance(value, dict | list):
        return "a mapping" if isinstance(value, dict) else "a list"
    return repr(value) if len(repr(value)) <= 40 else type(value).__name__
