"""Which scale set a command talks to: names and resource ids, validated before any request."""

from __future__ import annotations

import re
from dataclasses import dataclass

from vmssroll.domain.errors import InvalidInput, has_control, shown

# Every pattern is used with fullmatch: `$` also matches before a trailing newline, so `rg\n` would pass.
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Azure's naming rules: resource groups 1-90 of letters, digits, _ ( ) - . and not ending in a period;
# scale sets 1-64 of letters, digits, _ . - starting with a letter or digit and ending with one or _.
_RESOURCE_GROUP = re.compile(r"[\w()\-.]{1,90}")
_SCALE_SET = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.\-]{0,62}[A-Za-z0-9_])?")
SCALE_SET_ID = re.compile(
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.Compute/virtualMachineScaleSets/(?P<name>[^/]+)/?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ScaleSetRef:
    """A scale set's coordinates."""

    subscription: str
    resource_group: str
    name: str

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Compute/virtualMachineScaleSets/{self.name}"
        )

    def args(self) -> str:
        """The command-line arguments that name this scale set (for hints)."""
        return f"-g {self.resource_group} -n {self.name}"


def check_subscription(value: str | None) -> str:
    if not value:
        raise InvalidInput(
            "no subscription: pass --subscription/-s or set AZURE_SUBSCRIPTION_ID",
        )
    if not GUID.fullmatch(value):
        raise InvalidInput(f"--subscription {shown(value)} is not a subscription id (a GUID)")
    return value.lower()


def check_resource_group(value: str) -> str:
    if not _RESOURCE_GROUP.fullmatch(value) or value.endswith(".") or has_control(value):
        raise InvalidInput(
            f"--resource-group {shown(value)} is not a valid resource group name "
            "(1-90 letters, digits, _ ( ) - . and not ending in a period)"
        )
    return value


def check_scale_set_name(value: str) -> str:
    if not _SCALE_SET.fullmatch(value):
        raise InvalidInput(
            f"--name {shown(value)} is not a valid scale set name "
            "(1-64 letters, digits, _ . - starting with a letter or digit)"
        )
    return value


def resolve_target(
    *,
    resource_group: str | None,
    name: str | None,
    resource_id: str | None,
    subscription: str | None,
) -> ScaleSetRef:
    """Build the target from --id, or from -g/-n and the subscription; every mistake is an InvalidInput."""
    if resource_id is not None:
        if resource_group is not None or name is not None:
            raise InvalidInput("give either --id or --resource-group/--name, not both")
        match = SCALE_SET_ID.fullmatch(resource_id.strip(" "))  # spaces around a pasted id, never a newline
        if not match or has_control(resource_id):
            raise InvalidInput(
                f"--id {shown(resource_id, 160)} is not a scale set id "
                "(/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Compute/virtualMachineScaleSets/NAME)"
            )
        return ScaleSetRef(
            subscription=check_subscription(match["sub"]),
            resource_group=check_resource_group(match["rg"]),
            name=check_scale_set_name(match["name"]),
        )
    missing = [
        flag for flag, value in (("--resource-group/-g", resource_group), ("--name/-n", name)) if not value
    ]
    if missing:
        raise InvalidInput(f"missing {' and '.join(missing)} (or give the scale set's full --id)")
    assert resource_group is not None and name is not None
    return ScaleSetRef(
        subscription=check_subscription(subscription),
        resource_group=check_resource_group(resource_group),
        name=check_scale_set_name(name),
    )
