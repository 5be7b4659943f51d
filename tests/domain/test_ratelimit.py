"""The rate-limit headers of real Azure answers (FACTS.md): every pair parsed, only read budgets kept."""

from __future__ import annotations

import pytest

from vmssroll.domain.ratelimit import is_read_budget, read_budgets, remaining

RESOURCE = "x-ms-ratelimit-remaining-resource"
C = "Microsoft.Compute/"


@pytest.mark.parametrize(
    ("value", "parsed", "reads"),
    [
        # a scale set GET
        (
            f"{C}GetVMScaleSet3Min;197,{C}GetVMScaleSet30Min;1297",
            {f"{C}GetVMScaleSet3Min": 197, f"{C}GetVMScaleSet30Min": 1297},
            {f"{C}GetVMScaleSet3Min": 197, f"{C}GetVMScaleSet30Min": 1297},
        ),
        (
            f"{C}GetVMScaleSetResource;14",
            {f"{C}GetVMScaleSetResource": 14},
            {f"{C}GetVMScaleSetResource": 14},
        ),
        (f"{C}HighCostGet3Min;159", {f"{C}HighCostGet3Min": 159}, {f"{C}HighCostGet3Min": 159}),
        # a write: its own budget, and the queued-operations count that is 0 on every write since 2021
        (
            f"{C}CreateVMScaleSetResource;11,{C}VmssQueuedVMOperations;0",
            {f"{C}CreateVMScaleSetResource": 11, f"{C}VmssQueuedVMOperations": 0},
            {},
        ),
        # an action (osRollingUpgrade, cancel)
        (
            f"{C}VMScaleSetActions3Min;239,{C}VMScaleSetActionsResource;11,{C}VmssQueuedVMOperations;0",
            {
                f"{C}VMScaleSetActions3Min": 239,
                f"{C}VMScaleSetActionsResource": 11,
                f"{C}VmssQueuedVMOperations": 0,
            },
            {},
        ),
        (" GetVMScaleSet3Min ; 5 , ", {"GetVMScaleSet3Min": 5}, {"GetVMScaleSet3Min": 5}),
        ("garbage;;x,;3,Name;-1", {}, {}),
        ("", {}, {}),
    ],
)
def test_compute_resource_header(value, parsed, reads):
    assert remaining({RESOURCE: value}) == parsed
    assert read_budgets({RESOURCE: value}) == reads


def test_arm_subscription_budgets_are_read_budgets():
    headers = {
        "x-ms-ratelimit-remaining-subscription-reads": "11998",
        "x-ms-ratelimit-remaining-subscription-global-reads": "179998",
        "x-ms-ratelimit-remaining-subscription-writes": "1199",
    }
    assert read_budgets(headers) == {"subscription-reads": 11998, "subscription-global-reads": 179998}


@pytest.mark.parametrize(
    ("name", "read"),
    [
        ("subscription-reads", True),
        (f"{C}GetVirtualMachine3Min", True),
        (f"{C}ListVMScaleSetVMs3Min", True),
        (f"{C}VmssQueuedVMOperations", False),
        (f"{C}PutVMScaleSet3Min", False),
        (f"{C}DeleteVMScaleSet3Min", False),
    ],
)
def test_which_counters_are_read_budgets(name, read):
    assert is_read_budget(name) is read
