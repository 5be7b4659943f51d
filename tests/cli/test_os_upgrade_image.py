"""`start os` needs a platform image: refused offline on any other (exit 3, Azure's message), and a pinned
version is explained."""

from __future__ import annotations

import pytest

from tests.helpers import patch, set_rolling, target, writes
from vmssroll.domain.image import OS_UPGRADE_NEEDS_PLATFORM_IMAGE, image_source, os_upgrade_note

GALLERY = (
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/web/versions/1.0.0"
)
MANAGED = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/images/golden"
PLATFORM = {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server"}


@pytest.mark.parametrize(
    ("image", "source"),
    [
        ({**PLATFORM, "version": "latest"}, None),
        ({**PLATFORM, "version": "1.0.0"}, None),
        ({"id": MANAGED}, f"a custom image ({MANAGED})"),
        ({"id": GALLERY}, f"a gallery image ({GALLERY})"),
        (
            {"sharedGalleryImageId": "/SharedGalleries/x/Images/y"},
            "a shared gallery image (/SharedGalleries/x/Images/y)",
        ),
        ({"publisher": "Canonical"}, "no platform image reference (publisher, offer and sku)"),
    ],
)
def test_image_source(image, source):
    assert image_source(image) == source


def test_only_a_pinned_platform_version_gets_a_note():
    assert os_upgrade_note({**PLATFORM, "version": "latest"}) is None
    assert os_upgrade_note({"id": GALLERY}) is None
    assert "instances already on it are not affected" in (
        os_upgrade_note({**PLATFORM, "version": "1.0.0"}) or ""
    )


def test_start_os_on_a_custom_image_is_refused_before_anything_is_sent(vmssroll, emu):
    set_rolling(emu)  # uniform-probe is built from a gallery image version
    emu.clear_requests()
    result = vmssroll("start", "os", *target(), "--yes")
    assert result.exit_code == 3, result.output
    assert OS_UPGRADE_NEEDS_PLATFORM_IMAGE in result.stderr
    assert "built from a gallery image" in result.stderr and "nothing was sent" in result.stderr
    assert writes(emu) == []


def test_start_os_on_a_pinned_platform_version_says_who_is_not_affected(vmssroll, emu):
    emu.load_scenario("demo")  # Canonical ... version 1.0.0
    set_rolling(emu)
    result = vmssroll("start", "os", *target(), "--yes")
    assert result.exit_code == 0, result.output
    assert "pinned to version 1.0.0" in result.stderr
    assert "instances already on it are not affected" in result.stderr
    assert [p.rsplit("/", 1)[-1] for m, p in writes(emu) if m == "POST"] == ["osRollingUpgrade"]


def test_start_os_on_latest_says_nothing_more(vmssroll, emu):
    emu.load_scenario("demo")
    image = {**PLATFORM, "version": "latest"}
    patch(emu, {"properties": {"virtualMachineProfile": {"storageProfile": {"imageReference": image}}}})
    set_rolling(emu)  # rolls the new image out
    emu.clock.advance(3600)
    result = vmssroll("start", "os", *target(), "--yes")
    assert result.exit_code == 0, result.output
    assert "pinned" not in result.output
