"""Which health signal a scale set has, and how its instances report health."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from vmssroll.domain.model import Health, Instance, ScaleSet


@dataclass(frozen=True)
class HealthSource:
    kind: str  # "probe" | "extension" | "external"
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "detail": self.detail}


def health_sources(scale_set: ScaleSet) -> list[HealthSource]:
    """Every configured health signal (Azure accepts exactly one)."""
    sources: list[HealthSource] = []
    if scale_set.health_probe_id:
        sources.append(HealthSource("probe", scale_set.health_probe_id))
    ext = scale_set.health_extension
    if ext is not None:
        sources.append(
            HealthSource("extension", f"{ext.name} ({ext.type} {ext.type_handler_version or '?'})")
        )
    if scale_set.external_health:
        sources.append(HealthSource("external", "properties.externalHealthPolicy"))
    return sources


@dataclass(frozen=True)
class HealthCounts:
    total: int
    by_state: Mapping[Health, int]
    behind: tuple[str, ...]  # instance ids not on the latest model

    @property
    def unhealthy(self) -> int:
        return sum(n for h, n in self.by_state.items() if h.counts_unhealthy)

    @property
    def healthy(self) -> int:
        return self.by_state.get(Health.HEALTHY, 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            **{h.value: self.by_state.get(h, 0) for h in Health},
            "notOnLatestModel": list(self.behind),
        }


def count_health(instances: Iterable[Instance]) -> HealthCounts:
    items = list(instances)
    return HealthCounts(
        total=len(items),
        by_state=Counter(i.health for i in items),
        behind=tuple(
            i.instance_id for i in sorted(items, key=lambda i: i.sort_key) if i.latest_model_applied is False
        ),
    )


def parse_probe_id(probe_id: str) -> tuple[str, str] | None:
    """(load balancer id, probe name) from a probe id, or None when it is not a load balancer probe."""
    parts = probe_id.strip("/").split("/")
    lowered = [p.lower() for p in parts]
    try:
        lb = lowered.index("loadbalancers")
    except ValueError:
        return None
    if (
        lb < 1
        or lowered[lb - 1] != "microsoft.network"
        or len(parts) != lb + 4
        or lowered[lb + 2] != "probes"
    ):
        return None
    return "/" + "/".join(parts[: lb + 2]), parts[lb + 3]
