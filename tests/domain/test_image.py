"""set-image's flags, the imageReference it sends, and what an OS rolling upgrade would do to an image."""

from __future__ import annotations

from typing import Any

import pytest

from vmssroll.domain.errors import InvalidInput
from vmssroll.domain.image import (
    OS_UPGRADE_NEEDS_PLATFORM_IMAGE,
    check_image_args,
    image_source,
    new_image_reference,
    os_upgrade_note,
    os_upgrade_refusal,
)

SUB = "/subscriptions/00000000-0000-0000-0000-000000000001"
RG = f"{SUB}/resourceGroups/rg-demo"
GALLERY = f"{RG}/providers/Microsoft.Compute/galleries/gal/images/web"
MANAGED = f"{RG}/providers/Microsoft.Compute/images/golden"
MARKETPLACE = {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "1.0.0"}

IMAGE_ID_ERROR = "is not the resource id of an image or a gallery image version"


@pytest.mark.parametrize(
    "image_id",
    [
        MANAGED,
        GALLERY,
        f"{GALLERY}/versions/2.0.0",
        f"{GALLERY}/versions/latest",
        MANAGED.lower(),  # ARM ids are case-insensitive
        f"{SUB}/resourceGroups/rg.(a)-_1/providers/Microsoft.Compute/images/golden",
        f"{SUB}/resourceGroups/{'r' * 90}/providers/Microsoft.Compute/images/{'n' * 260}",
    ],
)
def test_image_ids_accepted(image_id: str) -> None:
    check_image_args(version=None, image_id=image_id)
    assert new_image_reference(MARKETPLACE, version=None, image_id=image_id) == {"id": image_id}


@pytest.mark.parametrize(
    "image_id",
    [
        "",
        "golden",
        MANAGED + "/",
        MANAGED + "\n",
        MANAGED + " x",
        MANAGED.replace("golden", "gol den"),
        MANAGED.replace("golden", "gol\x1bden"),
        MANAGED.replace("golden", "gol\u202eden"),  # a bidirectional override reorders what a terminal shows
        f"{SUB}/resourceGroups/rg-demo/providers/Microsoft.Compute/disks/golden",
        f"{SUB}/resourceGroups/rg-demo/providers/Microsoft.Compute/galleries/gal",
        f"{SUB}/resourceGroups/rg-demo/providers/Microsoft.Compute/galleries/gal/images/web/versions/",
        f"{SUB}/resourceGroups/rg-demo/providers/Microsoft.Compute/images/golden/versions/1",
        "/subscriptions/not-a-guid/resourceGroups/rg-demo/providers/Microsoft.Compute/images/golden",
        f"{SUB}/resourceGroups/{'r' * 91}/providers/Microsoft.Compute/images/golden",
        f"{SUB}/resourceGroups//providers/Microsoft.Compute/images/golden",
        f"{SUB}/resourceGroups/rg-demo/providers/Microsoft.Compute/images/{'n' * 261}",
        f"{SUB}/resourceGroups/rg-demo/providers/MicrosoftXCompute/images/golden",
        "x" + MANAGED,
    ],
)
def test_image_ids_refused(image_id: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_image_args(version=None, image_id=image_id)
    message = refused.value.message
    assert message.startswith("--image-id ")
    assert IMAGE_ID_ERROR in message
    assert "(/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Compute/images/NAME or " in message
    assert message.endswith(".../galleries/GALLERY/images/DEFINITION/versions/VERSION)")
    assert "\x1b" not in message and "\u202e" not in message


def test_the_image_id_message_in_full() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_image_args(version=None, image_id="golden")
    assert refused.value.message == (
        "--image-id 'golden' is not the resource id of an image or a gallery image version "
        "(/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Compute/images/NAME or "
        ".../galleries/GALLERY/images/DEFINITION/versions/VERSION)"
    )


def test_a_long_image_id_is_shown_cut_to_200_characters() -> None:
    image_id = MANAGED + "/" + "x" * 400
    with pytest.raises(InvalidInput) as refused:
        check_image_args(version=None, image_id=image_id)
    assert refused.value.message.startswith(f"--image-id {image_id[:200]!r} (… {len(image_id) - 200} more")


@pytest.mark.parametrize("version", ["1.2.3", "latest", "2024.01.15", "a", "1-rc_2", "v" + "9" * 63])
def test_versions_accepted(version: str) -> None:
    check_image_args(version=version, image_id=None)
    assert new_image_reference(MARKETPLACE, version=version, image_id=None)["version"] == version


@pytest.mark.parametrize("version", ["", ".1", "-1", "_1", "1 2", "1/2", "1.2\n", "1.2;rm", "LATEST!"])
def test_versions_refused(version: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_image_args(version=version, image_id=None)
    assert refused.value.message == f"--version {version!r} is not an image version (e.g. 1.2.3 or latest)"


def test_a_version_too_long_is_refused_and_shown_cut() -> None:
    version = "v" + "9" * 64
    with pytest.raises(InvalidInput) as refused:
        check_image_args(version=version, image_id=None)
    assert refused.value.message == (
        f"--version {version[:40]!r} (… 25 more characters) is not an image version (e.g. 1.2.3 or latest)"
    )


@pytest.mark.parametrize(("version", "image_id"), [(None, None), ("1.0.0", MANAGED)])
def test_exactly_one_of_version_and_image_id(version: str | None, image_id: str | None) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_image_args(version=version, image_id=image_id)
    assert refused.value.message == "give exactly one of --version or --image-id"
    with pytest.raises(InvalidInput, match="exactly one"):
        new_image_reference(MARKETPLACE, version=version, image_id=image_id)


def test_a_marketplace_version_keeps_publisher_offer_and_sku() -> None:
    current = {**MARKETPLACE, "exactVersion": "1.0.0", "id": None}
    assert new_image_reference(current, version="2.0.0", image_id=None) == {
        "publisher": "Canonical",
        "offer": "ubuntu-24_04-lts",
        "sku": "server",
        "version": "2.0.0",
    }


@pytest.mark.parametrize("version", ["2.0.0", "latest"])
def test_a_gallery_image_version_changes_only_its_version(version: str) -> None:
    current = {"id": f"{GALLERY}/versions/1.0.0"}
    assert new_image_reference(current, version=version, image_id=None) == {
        "id": f"{GALLERY}/versions/{version}"
    }


def test_a_gallery_version_id_is_read_whatever_its_case() -> None:
    current = {"id": f"{GALLERY}/VERSIONS/1.0.0".upper()}
    assert new_image_reference(current, version="2.0.0", image_id=None) == {
        "id": f"{GALLERY}".upper() + "/versions/2.0.0"
    }


@pytest.mark.parametrize(
    ("current", "message"),
    [
        ({"id": MANAGED}, "the scale set's image is not a gallery image version; use --image-id"),
        ({"id": GALLERY}, "the scale set's image is not a gallery image version; use --image-id"),
        (
            {"id": f"{GALLERY}/versions/1.0.0/x"},
            "the scale set's image is not a gallery image version; use --image-id",
        ),
        ({}, "the scale set has no image reference to version; use --image-id"),
        ({"offer": "o", "sku": "s"}, "the scale set has no image reference to version; use --image-id"),
        ({"publisher": "", "id": ""}, "the scale set has no image reference to version; use --image-id"),
    ],
)
def test_a_version_needs_an_image_that_has_one(current: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        new_image_reference(current, version="2.0.0", image_id=None)
    assert refused.value.message == message


@pytest.mark.parametrize(
    ("image", "source"),
    [
        (MARKETPLACE, None),
        ({**MARKETPLACE, "version": "latest"}, None),
        (
            {"sharedGalleryImageId": "/SharedGalleries/g/Images/i"},
            "a shared gallery image (/SharedGalleries/g/Images/i)",
        ),
        (
            {"communityGalleryImageId": "/CommunityGalleries/c/Images/i", **MARKETPLACE},
            "a community gallery image (/CommunityGalleries/c/Images/i)",
        ),
        ({"id": f"{GALLERY}/versions/1.0.0"}, f"a gallery image ({GALLERY}/versions/1.0.0)"),
        (
            {"id": GALLERY.replace("galleries", "Galleries")},
            f"a gallery image ({GALLERY.replace('galleries', 'Galleries')})",
        ),
        ({"id": MANAGED}, f"a custom image ({MANAGED})"),
        ({}, "no platform image reference (publisher, offer and sku)"),
        ({"publisher": "Canonical", "offer": "o"}, "no platform image reference (publisher, offer and sku)"),
        ({"offer": "o", "sku": "s"}, "no platform image reference (publisher, offer and sku)"),
        (
            {"publisher": "p", "sku": "s", "offer": ""},
            "no platform image reference (publisher, offer and sku)",
        ),
    ],
)
def test_what_the_scale_set_is_built_from(image: dict[str, Any], source: str | None) -> None:
    assert image_source(image) == source
    refusal = os_upgrade_refusal("web", image)
    if source is None:
        assert refusal is None
    else:
        assert refusal == (
            f"web is built from {source}: an OS rolling upgrade moves instances to the latest platform image "
            f"version, and Azure refuses it on any other image: {OS_UPGRADE_NEEDS_PLATFORM_IMAGE}"
        )


def test_the_shared_gallery_is_named_before_the_community_gallery() -> None:
    image = {"sharedGalleryImageId": "shared", "communityGalleryImageId": "community"}
    assert image_source(image) == "a shared gallery image (shared)"


@pytest.mark.parametrize(
    ("image", "note"),
    [
        (
            MARKETPLACE,
            "the image is pinned to version 1.0.0: the OS upgrade moves instances to the latest platform image "
            "version; instances already on it are not affected",
        ),
        (
            {**MARKETPLACE, "version": None},
            "the image is pinned to version (none): the OS upgrade moves instances to the latest platform image "
            "version; instances already on it are not affected",
        ),
        ({**MARKETPLACE, "version": "latest"}, None),
        ({**MARKETPLACE, "version": "Latest"}, None),
        ({"id": MANAGED, "version": "1.0.0"}, None),
    ],
)
def test_what_an_os_upgrade_does_to_a_pinned_version(image: dict[str, Any], note: str | None) -> None:
    assert os_upgrade_note(image) == note
