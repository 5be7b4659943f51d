"""Typed results of the commands, each with the one JSON document `-o json` prints."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vmssroll.domain import policy as rules
from vmssroll.domain.health import HealthSource, health_sources
from vmssroll.domain.model import Instance, ScaleSet
from vmssroll.domain.progressive import rollout_document
from vmssroll.domain.rollout import (
    InstanceSummary,
    ModelChange,
    outset,
    rolling_out,
    summarize,
    upgrade_kind,
    watch_verdict,
)
from vmssroll.domain.unknown import Unknown
from vmssroll.domain.upgrade import UpgradeStatus, Verdict


@dataclass(frozen=True)
class StatusResult:
    """What `vmssroll status` found: the scale set, its latest upgrade (None: none has run yet), the instances
    and what is rolling out (None when the instances could not be listed: `unknown` says why)."""

    scale_set: ScaleSet
    upgrade: UpgradeStatus | None
    instances: InstanceSummary | None
    kind: str | None
    verdict: Verdict
    rolling_out: tuple[ModelChange, ...] | None
    latest_model_from: str | None  # "azure", or "compared" (Flexible members); None when not listed
    unknown: tuple[Unknown, ...] = ()

    @property
    def rollout(self) -> dict[str, Any] | None:
        """The rollout recorded on the scale set by `vmssroll rollout`, if any (see domain/progressive)."""
        return rollout_document(self.scale_set.tags, self.upgrade)

    @property
    def stalled(self) -> tuple[str, ...]:
        """Instances still in flight while no upgrade is rolling: nothing moves them on."""
        if self.instances is None or (self.upgrade is not None and self.upgrade.running):
            return ()
        return self.instances.in_flight

    def to_json(self) -> dict[str, Any]:
        ss, status = self.scale_set, self.upgrade
        return {
            "scaleSet": {
                "id": ss.id,
                "name": ss.name,
                "mode": ss.upgrade_policy.mode or "Manual",
                "capacity": ss.capacity,
            },
            "upgrade": None if status is None else status.document,
            "state": None if status is None else status.code,
            "kind": self.kind,
            "running": bool(status and status.running),
            "percentComplete": None if status is None else status.progress.percent,
            "error": None
            if status is None or not status.error_code
            else {"code": status.error_code, "message": status.error_message},
            "message": self.verdict.message,
            "instances": None
            if self.instances is None
            else self.instances.to_json() | {"stalled": list(self.stalled)},
            "rollingOut": None if self.rolling_out is None else [c.to_json() for c in self.rolling_out],
            "rollout": self.rollout,
            "unknown": {u.part: u.reason for u in self.unknown},
            "latestModelFrom": self.latest_model_from,
        }


def status_result(
    ss: ScaleSet, status: UpgradeStatus | None, listed: Sequence[Instance] | Unknown, args: str
) -> StatusResult:
    """Join the scale set, its latest upgrade (the primary signal) and its instances into what `status`
    shows; instances that could not be listed leave their part unknown. `args` names the target in the
    commands the verdict may suggest."""
    mode = ss.upgrade_policy.mode
    if isinstance(listed, Unknown):
        verdict = watch_verdict(status, outset(status, None, mode, args))
        return StatusResult(ss, status, None, None, verdict, None, None, (listed,))
    summary = summarize(listed)
    compared = any(i.latest_model_from == "compared" for i in listed)
    return StatusResult(
        scale_set=ss,
        upgrade=status,
        instances=summary,
        kind=upgrade_kind(status, summary),
        verdict=watch_verdict(status, outset(status, summary, mode, args)),
        rolling_out=tuple(rolling_out(ss, listed)),
        latest_model_from="compared" if compared else "azure",
    )


@dataclass(frozen=True)
class PolicyShow:
    """`policy show`: the scale set, its mode, every rolling field (defaults marked), its health sources."""

    scale_set: ScaleSet
    sources: tuple[HealthSource, ...]

    @classmethod
    def of(cls, ss: ScaleSet) -> PolicyShow:
        return cls(ss, tuple(health_sources(ss)))

    @property
    def mode(self) -> str:
        return self.scale_set.upgrade_policy.mode or "Manual"

    @property
    def mode_is_default(self) -> bool:
        return self.scale_set.upgrade_policy.mode is None

    @property
    def rolling(self) -> dict[str, Any]:
        """Every rolling field's value in effect (Azure's default where none is stored)."""
        return rules.effective(self.scale_set.upgrade_policy.rolling)

    @property
    def defaults(self) -> list[str]:
        """The rolling fields at Azure's default (unset, or set to the default)."""
        stored = self.scale_set.upgrade_policy.rolling
        return [f.rest for f in rules.FIELDS if stored.get(f.rest) is None or stored[f.rest] == f.default]

    @property
    def automatic_os(self) -> dict[str, Any]:
        """Every automaticOSUpgradePolicy field's value in effect (false where none is stored)."""
        return rules.effective_os(self.scale_set.upgrade_policy.automatic_os)

    @property
    def os_defaults(self) -> list[str]:
        """The automaticOSUpgradePolicy fields not stored."""
        stored = self.scale_set.upgrade_policy.automatic_os
        return [f.rest for f in rules.OS_FIELDS if stored.get(f.rest) is None]

    def to_json(self) -> dict[str, Any]:
        ss = self.scale_set
        return {
            "scaleSet": {
                "id": ss.id,
                "name": ss.name,
                "resourceGroup": ss.resource_group,
                "location": ss.location,
                "orchestrationMode": ss.orchestration_mode,
                "capacity": ss.capacity,
                "zones": list(ss.zones),
                "overprovision": ss.overprovision,
                "etag": ss.etag,
                "provisioningState": ss.provisioning_state,
            },
            "mode": self.mode,
            "modeIsDefault": self.mode_is_default,
            "rollingUpgradePolicy": self.rolling,
            "defaults": self.defaults,
            "automaticOSUpgradePolicy": self.automatic_os,
            "automaticOSUpgradeDefaults": self.os_defaults,
            "extensions": [
                {
                    "name": e.name,
                    "publisher": e.publisher,
                    "type": e.type,
                    "typeHandlerVersion": e.type_handler_version,
                    "enableAutomaticUpgrade": e.automatic_upgrade,
                    "autoUpgradeMinorVersion": e.auto_upgrade_minor_version,
                }
                for e in ss.extensions
            ],
            "healthSources": [s.to_json() for s in self.sources],
        }


@dataclass(frozen=True)
class PolicyValidation:
    """`policy validate`: the policy as it would be (None when the input is invalid) and the findings."""

    policy: Mapping[str, Any] | None
    findings: tuple[rules.Finding, ...]
    scale_set_id: str | None = None

    @property
    def valid(self) -> bool:
        return self.policy is not None and not any(f.severity == "error" for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "policy": None if self.policy is None else dict(self.policy),
            "findings": [f.__dict__ for f in self.findings],
            "scaleSet": self.scale_set_id,
        }
