"""`vmssroll set-image`: a PATCH of the image reference alone, and what it sets in motion."""

from __future__ import annotations

from tests.helpers import NAME, RG, set_rolling, target, writes


def _without(model, *paths):
    import copy

    out = copy.deepcopy(model)
    for path in paths:
        node = out
        *parents, last = path.split(".")
        for key in parents:
            node = node[key]
        node.pop(last, None)
    return out


def test_set_image_patches_only_the_image_and_starts_a_rolling_upgrade(vmssroll, emu):
    set_rolling(emu)
    before = emu.vmss(RG, NAME)
    emu.clear_requests()
    result = vmssroll("set-image", *target(), "--version", "2.0.0", "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    assert result.json()["imageReference"]["id"].endswith("/versions/2.0.0")
    assert "What this sets in motion: starts a rolling upgrade of 10 instances" in result.stderr
    assert result.json()["consequence"]["effect"] == "rolling-upgrade"
    patches = [r for r in emu.requests if r.method == "PATCH"]
    assert len(patches) == 1 and patches[0].if_match
    assert patches[0].body == {
        "properties": {
            "virtualMachineProfile": {"storageProfile": {"imageReference": result.json()["imageReference"]}}
        }
    }
    after = emu.vmss(RG, NAME)
    image = "properties.virtualMachineProfile.storageProfile.imageReference"
    assert _without(before, "etag", image) == _without(after, "etag", image)
    assert vmssroll("status", *target(), "-o", "json").json()["running"] is True


def test_set_image_dry_run_and_bad_input_send_nothing(vmssroll, emu):
    emu.clear_requests()
    dry = vmssroll("set-image", *target(), "--version", "2.0.0", "--dry-run")
    assert dry.exit_code == 0 and "dry run" in dry.stdout
    assert writes(emu) == []
    emu.clear_requests()
    for args in (("--version", "bad version!"), ("--version", "1", "--image-id", "/x"), ()):
        bad = vmssroll("set-image", *target(), *args, "--yes")
        assert bad.exit_code == 2, (args, bad.output)
    assert emu.requests == []


def test_set_image_in_automatic_mode_warns_loudly(vmssroll, emu):
    from tests.helpers import patch

    patch(emu, {"properties": {"upgradePolicy": {"mode": "Automatic"}}})
    result = vmssroll("set-image", *target(), "--version", "2.0.0", "--yes")
    assert result.exit_code == 0
    assert "upgrades all 10 instances at once (Automatic mode: no batches, no health checks)" in result.stderr
