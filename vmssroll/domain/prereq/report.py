"""What the rules look at (`Facts`), what each returns (`Rule`), the `Report` they make; shared fix texts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from vmssroll.domain.model import HEALTH_EXTENSION_PUBLISHER, Instance, ScaleSet
from vmssroll.domain.policy import effective
from vmssroll.domain.unknown import Unknown


class Purpose(StrEnum):
    """What the scale set is being checked for (`--for`)."""

    ROLLING = "rolling"
    MAX_SURGE = "max-surge"
    OS_UPGRADE = "os-upgrade"


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"
    UNKNOWN = "unknown"  # what the rule needs could not be read: not verified, and not a failure


@dataclass(frozen=True)
class Rule:
    """One rule's verdict: what was found (message, evidence) and, when it failed, how to fix it."""

    name: str
    status: Status
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "message": self.message,
            "evidence": dict(self.evidence),
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Facts:
    """Everything the rules look at, read from Azure by the command."""

    scale_set: ScaleSet
    instances: Sequence[Instance] = ()
    lb_probes: Sequence[str] | None = None  # probe names on the probe's load balancer; None: no such LB
    feature_state: str | None = None  # Microsoft.Compute/MaxSurgeRollingUpgrade; None: not read / not found
    rolling: Mapping[str, Any] | None = None  # the rolling policy to check against; None: the stored one
    instances_unknown: Unknown | None = None  # the instances could not be listed, and why

    @property
    def policy(self) -> dict[str, Any]:
        stored = self.scale_set.upgrade_policy.rolling
        return effective(self.rolling if self.rolling is not None else stored)

    @property
    def members(self) -> list[Instance]:
        """Instances made from the model (attached Flexible VMs are not upgraded by it)."""
        return [i for i in self.instances if not i.attached]


@dataclass(frozen=True)
class Report:
    purpose: Purpose
    scale_set: str
    rules: tuple[Rule, ...]
    unknown: tuple[Unknown, ...] = ()  # what could not be read, so the rules that need it are not verified

    @property
    def ready(self) -> bool:
        return not self.failed

    @property
    def failed(self) -> list[Rule]:
        return [r for r in self.rules if r.status is Status.FAILED]

    @property
    def warnings(self) -> list[Rule]:
        return [r for r in self.rules if r.status is Status.WARNING]

    def to_json(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "for": self.purpose.value,
            "scaleSet": self.scale_set,
            "rules": [r.to_json() for r in self.rules],
            "unknown": {u.part: u.reason for u in self.unknown},
        }


# Fix texts shared by several rules -------------------------------------------------------------------------


def vmss_args(ss: ScaleSet) -> str:
    """The scale set as `az vmss extension` names it."""
    return f"--resource-group {ss.resource_group} --vmss-name {ss.name}"


def short_args(ss: ScaleSet) -> str:
    """The scale set as `az vmss update` (and vmssroll) name it."""
    return f"-g {ss.resource_group} -n {ss.name}"


def vm_extension_fix(ss: ScaleSet, vm: str, settings: str) -> str:
    """Add the Application Health extension to one VM of a Flexible set (`settings`: what to pass)."""
    return (
        f"az vm extension set -g {ss.resource_group} --vm-name {vm} --name ApplicationHealthLinux "
        f"--publisher {HEALTH_EXTENSION_PUBLISHER} --version 2.0 --settings '{settings}'"
    )
