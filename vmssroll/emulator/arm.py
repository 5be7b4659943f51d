"""ARM conventions: error envelopes, Azure's messages, time format, resource ids.

Messages marked "not verified" are our own wording; keep them here so they are easy to change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

VMSS_TYPE = "Microsoft.Compute/virtualMachineScaleSets"


class ArmError(Exception):
    """An ARM error answer: HTTP status plus the `{"error": {...}}` envelope."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        target: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return envelope(self.code, self.message, self.target)


@dataclass
class Response:
    """What a handler answers; the server adds the common headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def envelope(code: str, message: str, target: str | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if target:
        err["target"] = target
    return {"error": err}


def iso(dt: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and a Z, like the official examples."""
    if dt is None:
        return None
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def azure_time(dt: datetime | None) -> str | None:
    """Time as Compute writes it in rolling upgrade status: 7-digit fraction and an offset
    (`2018-05-03T16:44:41.8750706-07:00`; the emulator's clock is UTC, so `+00:00`)."""
    if dt is None:
        return None
    text = dt.replace(tzinfo=dt.tzinfo or UTC).isoformat(timespec="microseconds")
    return text[:26] + "0" + text[26:]


def custom_image_os_upgrade() -> ArmError:
    # the message is Azure's (quoted by users, FACTS.md); the status and code are not verified: 409
    # OperationNotAllowed, as Compute answers other operations not allowed on a scale set
    return ArmError(
        409,
        "OperationNotAllowed",
        "The OS Rolling Upgrade API cannot be used on a VM Scale Set unless the VM Scale Set is using a Platform "
        "Image select the OS by setting imageReference.",
    )


def vmss_id(sub: str, rg: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{VMSS_TYPE}/{name}"


# --- verbatim messages from Azure (FACTS.md) ---


def vmss_not_found(rg: str, name: str) -> ArmError:
    return ArmError(
        404,
        "ResourceNotFound",
        f"The Resource '{VMSS_TYPE}/{name}' under resource group '{rg}' was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def resource_not_found(rtype: str, rg: str, name: str) -> ArmError:
    return ArmError(
        404,
        "ResourceNotFound",
        f"The Resource '{rtype}/{name}' under resource group '{rg}' was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def rg_not_found(rg: str) -> ArmError:
    return ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")


def subscription_not_found(sub: str) -> ArmError:
    # not verified: wording
    return ArmError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")


def no_upgrade_to_cancel() -> ArmError:
    return ArmError(409, "OperationNotAllowed", "There is no ongoing Rolling Upgrade to cancel.")


def rolling_without_health() -> ArmError:
    return ArmError(
        400,
        "BadRequest",
        "Rolling Upgrade mode is not supported for this Virtual Machine Scale Set because a health probe "
        "or health extension was not provided.",
    )


def manual_upgrade_on_flexible(name: str) -> ArmError:
    return ArmError(
        409,
        "OperationNotAllowed",
        f"Operation 'VirtualMachineScaleSets.ManualUpgrade.POST' is not allowed on Virtual Machine Scale Set "
        f"'{name}'.",
    )


def vmss_vm_api_on_flexible(name: str) -> ArmError:
    # FACTS.md: Flexible scale sets have no scale-set VM API (400 BadRequest, as reported by users)
    return ArmError(
        400,
        "BadRequest",
        f"Operation 'VirtualMachineScaleSets.virtualMachines.GET' is not allowed on Virtual Machine Scale Set "
        f"'{name}'.",
    )


def feature_not_registered(sub: str, feature: str) -> ArmError:
    return ArmError(
        400,
        "SubscriptionNotRegisteredForFeature",
        f"Subscription {sub} is not registered for feature {feature} required to carry out the requested "
        "operation.",
    )


def missing_auth() -> ArmError:
    return ArmError(
        401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."
    )


def max_unhealthy_error(percent: int, threshold: int) -> dict[str, Any]:
    return {
        "code": "MaxUnhealthyInstancePercentExceededInRollingUpgrade",
        "message": "Rolling Upgrade failed after exceeding the MaxUnhealthyInstancePercent value defined in the "
        f"RollingUpgradePolicy. {percent}% of instances are in an unhealthy state - more than the threshold of "
        f"{threshold}%. To apply upgrades, consider increasing the MaxUnhealthyInstancePercent value.",
    }


def max_unhealthy_upgraded_error(percent: int, threshold: int, first_failed: str) -> dict[str, Any]:
    return {
        "code": "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade",
        "message": "Rolling Upgrade failed after exceeding the MaxUnhealthyUpgradedInstancePercent value defined "
        f"in the RollingUpgradePolicy. {percent}% of instances are in an unhealthy state after being upgraded - "
        f"more than the threshold of {threshold}%. The most impactful error is: Instance found to be unhealthy "
        f"or unreachable.. First failed instance ID is: {first_failed}.",
    }


# --- our own wording (not verified) ---


def no_rolling_upgrade() -> ArmError:
    # not verified: Compute's generic 404 for a missing entity; code and message are a well-founded guess.
    return ArmError(404, "NotFound", "The entity was not found in this Azure location.")


def upgrade_already_running(name: str) -> ArmError:
    # not verified
    return ArmError(
        409,
        "OperationNotAllowed",
        f"A Rolling Upgrade is already in progress on Virtual Machine Scale Set '{name}'.",
    )


def deferral_not_enabled(name: str) -> ArmError:
    # not verified: Azure's answer to approveRollingUpgrade when osRollingUpgradeDeferral is off (modelled on
    # the cancel's "There is no ongoing Rolling Upgrade to cancel.")
    return ArmError(
        409,
        "OperationNotAllowed",
        f"Approving a rolling upgrade is not allowed on Virtual Machine Scale Set '{name}' because "
        "automaticOSUpgradePolicy.osRollingUpgradeDeferral is not enabled.",
    )


def nothing_to_approve(name: str) -> ArmError:
    # not verified: Azure's answer to approveRollingUpgrade when no deferred OS upgrade is pending
    return ArmError(
        409,
        "OperationNotAllowed",
        f"There is no deferred OS Rolling Upgrade pending approval on Virtual Machine Scale Set '{name}'.",
    )


def invalid_parameter(target: str, message: str) -> ArmError:
    # not verified: wording of the range / format messages
    return ArmError(400, "InvalidParameter", message, target=target)


def precondition_failed() -> ArmError:
    return ArmError(
        412, "PreconditionFailed", "The condition specified using HTTP conditional header(s) is not met."
    )


FAULT_ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "The request is invalid."),
    401: (
        "InvalidAuthenticationToken",
        "The access token is invalid. Please refresh the token and try again.",
    ),
    403: (
        "AuthorizationFailed",
        "The client does not have authorization to perform action over scope or the scope is invalid. "
        "If access was recently granted, please refresh your credentials.",
    ),
    404: ("NotFound", "The requested resource was not found."),
    409: ("Conflict", "The request conflicts with the current state of the resource."),
    429: (
        "TooManyRequests",
        "The request is being throttled as the limit has been reached for operation 'GetVirtualMachine'.",
    ),
    500: ("InternalServerError", "The server encountered an internal error. Please retry the request."),
    502: ("BadGateway", "The gateway did not receive a response in time."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable. Please retry the request."),
    504: ("GatewayTimeout", "The gateway did not receive a response in time."),
}
