"""The Azure CLI's current subscription, read from its profile as az, Terraform's azurerm provider and
Bicep do."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CliSubscription:
    id: str
    name: str
    source: str  # the profile file it came from


def profile_path(environ: Mapping[str, str]) -> Path:
    """`$AZURE_CONFIG_DIR/azureProfile.json`, by default `~/.azure/azureProfile.json` (az's own rule)."""
    home = environ.get("HOME") or environ.get("USERPROFILE") or os.path.expanduser("~")
    folder = environ.get("AZURE_CONFIG_DIR") or os.path.join(home, ".azure")
    return Path(folder) / "azureProfile.json"


def current_subscription(environ: Mapping[str, str]) -> CliSubscription | None:
    """The subscription `az account show` would name (`isDefault` in the profile), or None when az has no
    profile, no default or an unreadable one: then the caller asks for --subscription as before."""
    path = profile_path(environ)
    try:
        # az writes the profile with a byte order mark; 1 MiB is far more than any profile holds.
        with path.open("rb") as handle:
            raw = handle.read(1 << 20)
        profile = json.loads(raw.decode("utf-8-sig"))
    except (OSError, ValueError):
        return None
    subscriptions = profile.get("subscriptions") if isinstance(profile, dict) else None
    for sub in subscriptions if isinstance(subscriptions, list) else []:
        if isinstance(sub, dict) and sub.get("isDefault") is True and isinstance(sub.get("id"), str):
            return CliSubscription(sub["id"], str(sub.get("name") or ""), str(path))
    return None
