"""The Application Health extension's public settings: ones it accepts, and what it will do with them."""

from __future__ import annotations

from typing import Any

from vmssroll.domain.model import Extension
from vmssroll.domain.prereq.report import Facts, Rule, Status, vmss_args

GRACE_PERIOD_MAX = 7200  # seconds, rich health states only
PROTOCOLS = ("http", "https", "tcp")


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.strip().isdigit() and int(value) > 0:
        return int(value)
    return None


def _rich(ext: Extension) -> bool | None:
    """True for typeHandlerVersion 2.x (rich states), False for 1.x (binary), None when unknown."""
    major = (ext.type_handler_version or "").strip().split(".", 1)[0]
    return {"2": True, "1": False}.get(major)


def extension_problems(ext: Extension) -> tuple[list[str], list[str]]:
    """(errors, warnings) in the extension's public settings."""
    s = {str(k): v for k, v in ext.settings.items()}
    errors: list[str] = []
    warnings: list[str] = []
    protocol = str(s.get("protocol") or "").lower()
    if protocol not in PROTOCOLS:
        errors.append(f"protocol {s.get('protocol')!r} must be one of http, https, tcp")
    port = s.get("port")
    if port is None:
        if protocol == "tcp":
            errors.append("port is required with tcp")
        elif protocol in ("http", "https"):
            warnings.append(f"no port: {protocol} defaults to {80 if protocol == 'http' else 443}; set it")
        else:
            errors.append("port is required")
    elif not 1 <= (_positive_int(port) or 0) <= 65535:
        errors.append(f"port {port!r} is not a port number (1-65535)")
    path = s.get("requestPath")
    if protocol in ("http", "https") and not path:
        errors.append(f"requestPath is required with {protocol}")
    if protocol == "tcp" and path:
        errors.append("requestPath is not allowed with tcp")
    for key in ("intervalInSeconds", "numberOfProbes"):
        if key in s and _positive_int(s[key]) is None:
            errors.append(f"{key} {s[key]!r} must be a positive whole number")
    rich = _rich(ext)
    if rich is None:
        warnings.append(f"typeHandlerVersion {ext.type_handler_version!r} is neither 1.x nor 2.x")
    if "gracePeriod" in s:
        grace = _positive_int(s["gracePeriod"])
        if rich is False:
            warnings.append("gracePeriod is ignored with binary states (typeHandlerVersion 1.x)")
        elif grace is None or grace > GRACE_PERIOD_MAX:
            errors.append(f"gracePeriod {s['gracePeriod']!r} must be 1-{GRACE_PERIOD_MAX} seconds")
    return errors, warnings


def extension_settings(facts: Facts) -> Rule | None:
    """The Application Health extension's settings are ones it accepts."""
    ss = facts.scale_set
    ext = ss.health_extension
    if ext is None:
        return None
    rich = _rich(ext)
    states = {True: "rich states (2.x)", False: "binary states (1.x)", None: "unknown states"}[rich]
    evidence = {
        "extension": ext.name,
        "type": ext.type,
        "typeHandlerVersion": ext.type_handler_version,
        "states": states,
        "settings": dict(ext.settings),
    }
    errors, warnings = extension_problems(ext)
    if errors:
        return Rule(
            "extension-settings",
            Status.FAILED,
            f"{ext.name}: " + "; ".join(errors + warnings),
            evidence,
            f"az vmss extension set {vmss_args(ss)} --name {ext.type} --publisher {ext.publisher} "
            f"--version {ext.type_handler_version or '2.0'} --settings "
            """'{"protocol": "http", "port": 80, "requestPath": "/health"}' (use your application's values; """
            """tcp takes a port and no requestPath)""",
        )
    if warnings:
        return Rule("extension-settings", Status.WARNING, f"{ext.name}: " + "; ".join(warnings), evidence)
    return Rule(
        "extension-settings",
        Status.PASSED,
        f"{ext.name}: {_describe_settings(ext)}, {states}",
        evidence,
    )


def _describe_settings(ext: Extension) -> str:
    s = ext.settings
    return f"{s.get('protocol')} port {s.get('port', 'default')}" + (
        f" path {s['requestPath']}" if s.get("requestPath") else ""
    )
