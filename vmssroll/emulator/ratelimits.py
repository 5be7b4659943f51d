"""Compute's `x-ms-ratelimit-remaining-resource` header: per-operation budgets over 3- and 30-minute windows.

Real answers carry it on every Compute call, with several `Name;remaining` pairs (FACTS.md), e.g.
`Microsoft.Compute/GetVMScaleSet3Min;197,Microsoft.Compute/GetVMScaleSet30Min;1297` on a scale set GET, and
`Microsoft.Compute/VmssQueuedVMOperations;0` (a count of queued operations, not a budget) on writes and
actions. The names of the read and action counters are Azure's; the budgets, the names of the listing and
operation counters and the fixed windows are assumptions, kept in BUDGETS. The read budgets are set well above
Azure's so that long tests never run them low; low budgets are rehearsed with fault injection.
"""

from __future__ import annotations

from datetime import datetime

PREFIX = "Microsoft.Compute/"
QUEUED = f"{PREFIX}VmssQueuedVMOperations;0"
WINDOWS = (("3Min", 180), ("30Min", 1800))

# kind -> (counter name, budget per 3-minute window, budget per 30-minute window)
BUDGETS: dict[str, tuple[str, int, int]] = {
    "get": ("GetVMScaleSet", 2000, 20000),
    "list-vms": ("HighCostGetVMScaleSet", 2000, 20000),
    "operation": ("GetOperation", 4000, 40000),
    "write": ("CreateVMScaleSet", 240, 1200),
    "action": ("VMScaleSetActions", 240, 1200),
}


def kind_of(method: str, path: str) -> str | None:
    """Which Compute budget a request spends; None when it is not a Compute call."""
    low = path.lower()
    if "/providers/microsoft.compute/" not in low:
        return None
    if method == "GET":
        if "/operations/" in low:
            return "operation"
        return "list-vms" if "/virtualmachines" in low.split("/virtualmachinescalesets/", 1)[-1] else "get"
    if method in ("PUT", "PATCH"):
        return "write"
    return "action"


def subscription_of(path: str) -> str:
    """The subscription a request path names (lower case), or "" for one that names none."""
    parts = path.split("/")
    return parts[2].lower() if len(parts) > 2 and parts[1].lower() == "subscriptions" else ""


class ComputeBudgets:
    """Counts Compute calls per subscription and kind in fixed windows of simulated time."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, str, int], int] = {}

    def header(self, method: str, path: str, now: datetime) -> str | None:
        """Spend one call and return the header value to send, or None for a call that is not Compute's."""
        kind = kind_of(method, path)
        if kind is None:
            return None
        name, *budgets = BUDGETS[kind]
        pairs = []
        for (suffix, seconds), budget in zip(WINDOWS, budgets, strict=True):
            key = (subscription_of(path), kind, suffix, int(now.timestamp() // seconds))
            self._counts[key] = self._counts.get(key, 0) + 1
            pairs.append(f"{PREFIX}{name}{suffix};{max(0, budget - self._counts[key])}")
        if kind in ("write", "action"):
            pairs.append(QUEUED)
        return ",".join(pairs)
