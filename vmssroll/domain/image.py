"""A new image for the scale set's model: which imageReference to send, and what happens next."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from vmssroll.domain.errors import InvalidInput

_VERSION = re.compile(r"^(latest|[0-9A-Za-z][0-9A-Za-z.\-_]{0,63})$")
_GALLERY_VERSION = re.compile(
    r"^(?P<base>/subscriptions/.+/images/[^/]+)/versions/(?P<version>[^/]+)$", re.IGNORECASE
)


def check_image_args(*, version: str | None, image_id: str | None) -> None:
    """The flags alone, checked before any request."""
    if (version is None) == (image_id is None):
        raise InvalidInput("give exactly one of --version or --image-id")
    lowered = (image_id or "").lower()
    if image_id is not None and (
        not lowered.startswith("/subscriptions/") or "/providers/microsoft.compute/" not in lowered
    ):
        raise InvalidInput(f"--image-id {image_id!r} is not an image resource id")
    if version is not None and not _VERSION.match(version):
        raise InvalidInput(f"--version {version!r} is not an image version (e.g. 1.2.3 or latest)")


def new_image_reference(
    current: Mapping[str, Any], *, version: str | None, image_id: str | None
) -> dict[str, Any]:
    """The imageReference to PATCH: a marketplace version, a gallery image version, or another image id."""
    check_image_args(version=version, image_id=image_id)
    if image_id is not None:
        return {"id": image_id}
    assert version is not None
    if not _VERSION.match(version):
        raise InvalidInput(f"--version {version!r} is not an image version (e.g. 1.2.3 or latest)")
    if current.get("id"):
        match = _GALLERY_VERSION.match(str(current["id"]))
        if not match:
            raise InvalidInput("the scale set's image is not a gallery image version; use --image-id")
        return {"id": f"{match['base']}/versions/{version}"}
    if not current.get("publisher"):
        raise InvalidInput("the scale set has no image reference to version; use --image-id")
    return {**{k: v for k, v in current.items() if k in ("publisher", "offer", "sku")}, "version": version}


def consequence(mode: str | None) -> str:
    """What Azure does with a model change in each upgrade mode."""
    match (mode or "Manual").lower():
        case "rolling":
            return "Rolling mode: a rolling upgrade starts at once, in batches, as the policy says."
        case "automatic":
            return "Automatic mode: EVERY instance is updated at once, with no batches and no health gate."
        case _:
            return "Manual mode: instances stay on their image until you upgrade them (manual upgrade)."
