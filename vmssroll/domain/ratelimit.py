"""Azure's remaining request budgets, from the headers of its answers; only read budgets slow reads down.

ARM sends `x-ms-ratelimit-remaining-subscription-reads: 11998` (and `-global-reads` since 2024); Compute
sends, on every answer, `x-ms-ratelimit-remaining-resource` with several `Name;remaining` pairs separated by
commas, e.g. `Microsoft.Compute/GetVMScaleSet3Min;197,Microsoft.Compute/GetVMScaleSet30Min;1297`. Writes and
actions carry their own counters (`CreateVMScaleSetResource;11`, `VMScaleSetActions3Min;239`) and
`VmssQueuedVMOperations;0`, a count of queued operations rather than an exhausted budget: none of these says
anything about how fast a watch may read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

SUBSCRIPTION_READS = "x-ms-ratelimit-remaining-subscription-reads"
GLOBAL_READS = "x-ms-ratelimit-remaining-subscription-global-reads"
RESOURCE = "x-ms-ratelimit-remaining-resource"

# A Compute counter of reads: its name (after the provider) starts with Get or List, or is a HighCostGet one.
_READ_COUNTER = re.compile(r"^(?:[A-Za-z.]+/)?(?:Get|List|HighCostGet)", re.IGNORECASE)


def remaining(headers: Mapping[str, str]) -> dict[str, int]:
    """Every budget the answer states: {"subscription-reads": 11998, "Microsoft.Compute/GetVMScaleSet3Min":
    197}. Malformed pairs are skipped."""
    found: dict[str, int] = {}
    for header, name in (
        (SUBSCRIPTION_READS, "subscription-reads"),
        (GLOBAL_READS, "subscription-global-reads"),
    ):
        value = (headers.get(header) or "").strip()
        if value.isdigit():
            found[name] = int(value)
    for pair in (headers.get(RESOURCE) or "").split(","):
        name, _, left = pair.strip().rpartition(";")
        if name.strip() and left.strip().isdigit():
            found[name.strip()] = int(left)
    return found


def is_read_budget(name: str) -> bool:
    return name in ("subscription-reads", "subscription-global-reads") or bool(_READ_COUNTER.match(name))


def read_budgets(headers: Mapping[str, str]) -> dict[str, int]:
    """Only the budgets that reads spend (what a watch should slow down for)."""
    return {name: left for name, left in remaining(headers).items() if is_read_budget(name)}
