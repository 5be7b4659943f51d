"""Fault injection rules: error statuses, dropped connections, slow answers."""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from .arm import FAULT_ERRORS, ArmError

KINDS = ("status", "drop", "slow")


@dataclass
class FaultRule:
    """One rule; it expires after `count` hits (None: never)."""

    kind: str
    status: int = 500
    method: str | None = None
    path_regex: str | None = None
    count: int | None = None
    probability: float = 1.0
    seed: int | None = None
    retry_after: float | None = None
    delay: float = 0.1
    after_commit: bool = False
    code: str | None = None
    message: str | None = None
    hits: int = 0
    _pattern: re.Pattern[str] | None = field(default=None, repr=False)
    _random: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        self._pattern = re.compile(self.path_regex) if self.path_regex else None
        self._random = random.Random(self.seed)

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return not (self._pattern and not self._pattern.search(path))

    def error(self, method: str, path: str) -> ArmError:
        """The ARM error answer of a status fault."""
        code, message = FAULT_ERRORS.get(self.status, ("Error", f"Injected HTTP {self.status}."))
        if self.status == 403:
            action = "read" if method == "GET" else "write"
            message = (
                "The client 'emulator-client' with object id '00000000-0000-0000-0000-000000000000' does not have "
                f"authorization to perform action 'Microsoft.Compute/virtualMachineScaleSets/{action}' over scope "
                f"'{path}' or the scope is invalid. If access was recently granted, please refresh your credentials."
            )
        headers: dict[str, str] = {}
        if self.retry_after is not None:
            headers["Retry-After"] = f"{self.retry_after:g}"
        if self.status == 429:
            headers["x-ms-ratelimit-remaining-subscription-reads"] = "0"
            headers.setdefault("Retry-After", "1")
        return ArmError(self.status, self.code or code, self.message or message, headers=headers)

    def describe(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


class Faults:
    """The active fault rules (thread-safe)."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def add(self, kind: str = "status", **options: Any) -> FaultRule:
        rule = FaultRule(kind=kind, **options)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def pick(self, method: str, path: str) -> FaultRule | None:
        """The first matching rule that fires for this request (consumes one of its hits)."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path):
                    continue
                if rule.probability < 1.0 and rule._random.random() >= rule.probability:
                    continue
                rule.hits += 1
                if rule.count is not None and rule.hits >= rule.count:
                    self._rules.remove(rule)
                return rule
        return None
