"""A new image for the scale set's model: which imageReference to send, and what happens next."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from vmssroll.domain.errors import InvalidInput, has_control, shown

# Used with fullmatch (`$` also matches before a trailing newline).
_VERSION = re.compile(r"latest|[0-9A-Za-z][0-9A-Za-z.\-_]{0,63}")
_GALLERY_VERSION = re.compile(
    r"(?P<base>/subscriptions/.+/images/[^/]+)/versions/(?P<version>[^/]+)", re.IGNORECASE
)
# What --image-id may name: a managed image, a gallery image version, or a gallery image definition (its
# latest version). Segments are ARM names: no slash, no control character, no whitespace.
_SEGMENT = r"[^/\s\x00-\x1f\x7f]{1,260}"
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_IMAGE_ID = re.compile(
    rf"/subscriptions/{_GUID}/resourceGroups/[\w()\-.]{{1,90}}/providers/Microsoft\.Compute/"
    rf"(?:images/{_SEGMENT}|galleries/{_SEGMENT}/images/{_SEGMENT}(?:/versions/{_SEGMENT})?)",
    re.IGNORECASE,
)


def check_image_args(*, version: str | None, image_id: str | None, version_flag: str = "--version") -> None:
    """The flags alone, checked before any request (`version_flag`: the version's flag in the command)."""
    if (version is None) == (image_id is None):
        raise InvalidInput(f"give exactly one of {version_flag} or --image-id")
    if image_id is not None and (not _IMAGE_ID.fullmatch(image_id) or has_control(image_id)):
        raise InvalidInput(
            f"--image-id {shown(image_id, 200)} is not the resource id of an image or a gallery image version "
            "(/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Compute/images/NAME or "
            ".../galleries/GALLERY/images/DEFINITION/versions/VERSION)"
        )
    if version is not None and not _VERSION.fullmatch(version):
        raise InvalidInput(f"{version_flag} {shown(version)} is not an image version (e.g. 1.2.3 or latest)")


def new_image_reference(
    current: Mapping[str, Any], *, version: str | None, image_id: str | None
) -> dict[str, Any]:
    """The imageReference to PATCH: a marketplace version, a gallery image version, or another image id."""
    check_image_args(version=version, image_id=image_id)
    if image_id is not None:
        return {"id": image_id}
    assert version is not None
    if not _VERSION.fullmatch(version):
        raise InvalidInput(f"--version {shown(version)} is not an image version (e.g. 1.2.3 or latest)")
    if current.get("id"):
        match = _GALLERY_VERSION.fullmatch(str(current["id"]))
        if not match:
            raise InvalidInput("the scale set's image is not a gallery image version; use --image-id")
        return {"id": f"{match['base']}/versions/{version}"}
    if not current.get("publisher"):
        raise InvalidInput("the scale set has no image reference to version; use --image-id")
    return {**{k: v for k, v in current.items() if k in ("publisher", "offer", "sku")}, "version": version}


# Azure's refusal of `osRollingUpgrade` on a scale set that is not built from a platform image (FACTS.md;
# quoted by users, status code not verified).
OS_UPGRADE_NEEDS_PLATFORM_IMAGE = (
    "The OS Rolling Upgrade API cannot be used on a VM Scale Set unless the VM Scale Set is using a Platform "
    "Image select the OS by setting imageReference."
)


def image_source(image: Mapping[str, Any]) -> str | None:
    """What the scale set is built from when it is not a platform image (None: a platform image)."""
    for key, what in (
        ("sharedGalleryImageId", "a shared gallery image"),
        ("communityGalleryImageId", "a community gallery image"),
    ):
        if image.get(key):
            return f"{what} ({image[key]})"
    if image.get("id"):
        kind = "a gallery image" if "/galleries/" in str(image["id"]).lower() else "a custom image"
        return f"{kind} ({image['id']})"
    if not all(image.get(k) for k in ("publisher", "offer", "sku")):
        return "no platform image reference (publisher, offer and sku)"
    return None


def os_upgrade_refusal(name: str, image: Mapping[str, Any]) -> str | None:
    """Why Azure would refuse an OS rolling upgrade of this scale set, or None when it would accept it."""
    source = image_source(image)
    if source is None:
        return None
    return (
        f"{name} is built from {source}: an OS rolling upgrade moves instances to the latest platform image "
        f"version, and Azure refuses it on any other image: {OS_UPGRADE_NEEDS_PLATFORM_IMAGE}"
    )


def os_upgrade_note(image: Mapping[str, Any]) -> str | None:
    """What an OS rolling upgrade of a platform image pinned to a version does (None for `latest`)."""
    version = str(image.get("version") or "")
    if image_source(image) is not None or version.lower() == "latest":
        return None
    return (
        f"the image is pinned to version {version or '(none)'}: the OS upgrade moves instances to the latest "
        "platform image version; instances already on it are not affected"
    )
