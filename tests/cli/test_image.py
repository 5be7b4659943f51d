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


def _image(emu):
    return emu.vmss(RG, NAME)["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]


def test_set_image_to_the_image_it_has_changes_nothing_and_sends_nothing(vmssroll, emu):
    version = _image(emu)["id"].rsplit("/", 1)[1]
    emu.clear_requests()
    result = vmssroll("set-image", *target(), "--version", version, "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert (doc["changes"], doc["applied"], doc["consequence"], doc["dryRun"]) == ([], False, None, False)
    assert writes(emu) == []
    text = vmssroll("set-image", *target(), "--version", version, "--yes")
    assert (text.exit_code, text.stdout) == (
        0,
        f"No change: the scale set's model already has image version {version}.\n",
    )


def test_set_image_json_says_applied_with_the_image_read_back(vmssroll, emu):
    old = _image(emu)["id"]
    new = old.rsplit("/", 1)[0] + "/2.0.0"
    result = vmssroll("set-image", *target(), "--version", "2.0.0", "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert set(doc) == {"scaleSet", "dryRun", "changes", "applied", "consequence", "imageReference"}
    assert (doc["applied"], doc["dryRun"]) == (True, False)
    assert doc["changes"] == [{"field": "imageReference.id", "before": old, "after": new}]
    assert doc["imageReference"] == {"id": new} == _image(emu)
    assert doc["consequence"]["effect"] == "nothing-now"  # Manual mode: the instances wait behind the model
    text = vmssroll("set-image", *target(), "--version", "3.0.0", "--yes")
    assert text.exit_code == 0, text.output
    assert text.stdout.splitlines()[0] == "Applied and confirmed by reading the model back:"


def test_set_image_dry_run_json_names_each_change_and_what_it_would_set_in_motion(vmssroll, emu):
    set_rolling(emu)
    old = _image(emu)["id"]
    emu.clear_requests()
    result = vmssroll("set-image", *target(), "--version", "2.0.0", "--dry-run", "--yes", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    new = old.rsplit("/", 1)[0] + "/2.0.0"
    assert doc["scaleSet"].endswith(
        f"/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/{NAME}"
    )
    assert doc["dryRun"] is True and doc["applied"] is False
    assert doc["changes"] == [{"field": "imageReference.id", "before": old, "after": new}]
    assert doc["consequence"]["effect"] == "rolling-upgrade" and doc["consequence"]["instances"] == 10
    assert writes(emu) == []  # --yes does not make a dry run send anything
    assert _image(emu)["id"] == old


def test_set_image_during_an_upgrade_is_refused_unless_forced(vmssroll, emu):
    set_rolling(emu)
    assert vmssroll("set-image", *target(), "--version", "2.0.0", "--yes").exit_code == 0  # an upgrade runs
    emu.clear_requests()
    refused = vmssroll("set-image", *target(), "--version", "3.0.0", "--yes")
    assert refused.exit_code == 3, refused.output
    assert "error: refused: " in refused.stderr and "nothing was sent" in refused.stderr
    assert f"let it finish (vmssroll wait -g {RG} -n {NAME}) or cancel it first" in refused.stderr
    assert writes(emu) == []
    dry = vmssroll("set-image", *target(), "--version", "3.0.0", "--dry-run")
    assert dry.exit_code == 3 and writes(emu) == []
    forced = vmssroll("set-image", *target(), "--version", "3.0.0", "--yes", "--force")
    assert forced.exit_code == 0, forced.output
    assert "--force: sending although" in forced.stderr
    assert [m for m, _ in writes(emu)] == ["PATCH"]
    assert _image(emu)["id"].endswith("/versions/3.0.0")


def test_set_image_no_wait_says_it_was_accepted_and_how_to_follow_it(vmssroll, emu):
    set_rolling(emu)
    emu.clear_requests()
    result = vmssroll("set-image", *target(), "--version", "2.0.0", "--yes", "--no-wait", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = result.json()
    assert (doc["applied"], doc["accepted"], doc["finished"]) == (False, True, False)
    assert doc["provisioningState"] == "Updating"
    assert doc["follow"] == f"vmssroll watch -g {RG} -n {NAME}"  # Rolling: the rollout it started
    assert [m for m, _ in writes(emu)] == ["PATCH"]


def test_set_image_no_wait_in_manual_mode_follows_the_model(vmssroll, emu):
    assert emu.vmss(RG, NAME)["properties"]["upgradePolicy"]["mode"] == "Manual"
    result = vmssroll("set-image", *target(), "--version", "2.0.0", "--yes", "--no-wait")
    assert result.exit_code == 0, result.output
    follow = f"vmssroll policy show -g {RG} -n {NAME}"
    assert f"not waiting for it to finish. Follow it with: {follow}" in result.stderr
    assert "Accepted by Azure (not finished, not yet confirmed):" in result.output


def test_set_image_asks_first_and_a_no_sends_nothing(vmssroll, emu):
    emu.clear_requests()
    result = vmssroll("set-image", *target(), "--version", "2.0.0", stdin="n\n", tty=True)
    assert result.exit_code == 0, result.output
    assert "Change the image of web?" in result.output
    assert writes(emu) == []
    yes = vmssroll("set-image", *target(), "--version", "2.0.0", stdin="y\n", tty=True)
    assert yes.exit_code == 0, yes.output
    assert _image(emu)["id"].endswith("/versions/2.0.0")


def test_set_image_with_the_instances_unreadable_is_sent_and_says_what_is_unsure(vmssroll, emu):
    emu.load_scenario("demo")  # a marketplace image: the version alone changes
    emu.faults.add(kind="status", status=403, method="GET", path_regex=r"/virtualMachines$")
    emu.clear_requests()
    result = vmssroll("set-image", *target(), "--version", "3.0.0", "--yes")
    assert result.exit_code == 0, result.output
    lines = [" ".join(line.split()) for line in result.stderr.splitlines()]
    assert lines[0] == (
        "warning: instances: unknown (listing refused: 403 AuthorizationFailed): what the write sets in motion "
        "is unsure"
    )
    assert lines[1:4] == ["Model change for web:", "field before after", "─" * 39]
    assert lines[4] == "imageReference.version 1.0.0 3.0.0"
    assert "Not sure: the instances could not be read (listing refused: 403 AuthorizationFailed)." in lines
    assert result.stdout.splitlines()[0] == "Applied and confirmed by reading the model back:"
    assert [m for m, _ in writes(emu)] == ["PATCH"]
    assert _image(emu)["version"] == "3.0.0"
