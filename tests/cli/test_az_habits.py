"""Habits an az user brings: `--ids` with one or more ids (`--id` too), and the Azure CLI's current
subscription when neither -s nor AZURE_SUBSCRIPTION_ID says one."""

from __future__ import annotations

import json

from tests.helpers import NAME, RG, target
from vmssroll.adapter.azcli import current_subscription


def vmss_id(emu, name: str = NAME, rg: str = RG) -> str:
    return f"/subscriptions/{emu.subscription_id}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}"


def az_profile(folder, subscription: str, *, default: bool = True) -> None:
    """What `az login` leaves in AZURE_CONFIG_DIR: a profile written with a byte order mark."""
    profile = {
        "installationId": "x",
        "subscriptions": [
            {"id": "00000000-0000-0000-0000-0000000000aa", "name": "other", "isDefault": False},
            {
                "id": subscription,
                "name": "Contoso Prod",
                "isDefault": default,
                "environmentName": "AzureCloud",
            },
        ],
    }
    (folder / "azureProfile.json").write_bytes(json.dumps(profile).encode("utf-8-sig"))


def test_the_cli_current_subscription_is_used_and_said_with_v(vmssroll, emu, tmp_path):
    az_profile(tmp_path, emu.subscription_id)
    result = vmssroll(
        "status",
        *target(),
        "-v",
        env={"AZURE_SUBSCRIPTION_ID": None},  # type: ignore[dict-item]
        environ={"AZURE_CONFIG_DIR": str(tmp_path)},
    )
    assert result.exit_code == 0, result.output
    said = [line for line in result.stderr.splitlines() if "Azure CLI's current one" in line]
    assert said == [
        f"subscription {emu.subscription_id} (Contoso Prod): the Azure CLI's current one, "
        f"from {tmp_path / 'azureProfile.json'}"
    ]
    assert all(emu.subscription_id in r.path for r in emu.requests)
    quiet = vmssroll(
        "status", *target(), env={"AZURE_SUBSCRIPTION_ID": None}, environ={"AZURE_CONFIG_DIR": str(tmp_path)}
    )  # type: ignore[dict-item]
    assert quiet.exit_code == 0 and "Azure CLI" not in quiet.stderr


def test_an_explicit_subscription_wins_over_the_cli_one(vmssroll, emu, tmp_path):
    az_profile(tmp_path, "00000000-0000-0000-0000-0000000000bb")
    result = vmssroll("status", *target(), "-v", environ={"AZURE_CONFIG_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert "Azure CLI" not in result.stderr


def test_without_any_subscription_it_is_bad_input_and_nothing_is_sent(vmssroll, emu, tmp_path):
    result = vmssroll(
        "status", *target(), env={"AZURE_SUBSCRIPTION_ID": None}, environ={"AZURE_CONFIG_DIR": str(tmp_path)}
    )  # type: ignore[dict-item]
    assert result.exit_code == 2 and "no subscription" in result.stderr
    assert emu.requests == []


def test_reading_the_profile(tmp_path):
    assert current_subscription({"AZURE_CONFIG_DIR": str(tmp_path)}) is None  # no profile: az never logged in
    az_profile(tmp_path, "00000000-0000-0000-0000-0000000000cc", default=False)
    assert current_subscription({"AZURE_CONFIG_DIR": str(tmp_path)}) is None  # no default chosen
    az_profile(tmp_path, "00000000-0000-0000-0000-0000000000cc")
    found = current_subscription({"AZURE_CONFIG_DIR": str(tmp_path)})
    assert found is not None and found.id.endswith("cc") and found.name == "Contoso Prod"
    (tmp_path / "azureProfile.json").write_text("{not json")
    assert current_subscription({"AZURE_CONFIG_DIR": str(tmp_path)}) is None
    home = tmp_path / "home"
    (home / ".azure").mkdir(parents=True)
    az_profile(home / ".azure", "00000000-0000-0000-0000-0000000000dd")
    assert current_subscription({"HOME": str(home)}).id.endswith("dd")  # type: ignore[union-attr]


def test_id_is_an_alias_of_ids(vmssroll, emu):
    result = vmssroll("policy", "show", "--id", vmss_id(emu), "-o", "json")
    assert result.exit_code == 0, result.output
    assert result.json()["scaleSet"]["name"] == NAME


def test_several_ids_after_one_flag_run_the_command_for_each_with_the_worst_exit_code(vmssroll, emu):
    missing = vmss_id(emu, "nope")
    result = vmssroll("policy", "show", "--ids", vmss_id(emu), missing, "-o", "json")
    assert result.exit_code == 4, result.output  # web: 0, nope: 4 (not found)
    gets = [r.path for r in emu.requests if r.method == "GET"]
    assert any(p.endswith(f"/{NAME}") for p in gets) and any(p.endswith("/nope") for p in gets)
    found, _ = json.JSONDecoder().raw_decode(result.stdout)  # the first of two documents (then nope's error)
    assert found["scaleSet"]["name"] == NAME
    assert "scale set 1 of 2" in result.stderr and "scale set 2 of 2" in result.stderr


def test_ids_as_az_tsv_gives_them_and_repeated(vmssroll, emu):
    both = f"{vmss_id(emu)} {vmss_id(emu)}"
    assert vmssroll("status", "--ids", both).exit_code == 0
    repeated = vmssroll("status", "--ids", vmss_id(emu), "--ids", vmss_id(emu))
    assert repeated.exit_code == 0
    assert repeated.stderr.count("scale set 2 of 2") == 1


def test_a_stray_argument_is_still_refused(vmssroll, emu):
    result = vmssroll("status", *target(), "extra")
    assert result.exit_code == 2
    assert "unexpected argument 'extra'" in result.output
    assert emu.requests == []


def test_one_bad_id_among_several_sends_nothing(vmssroll, emu):
    result = vmssroll("status", "--ids", vmss_id(emu), "--ids", "not-an-id")
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        line for line in result.stderr.splitlines() if line.startswith("error: --id 'not-an-id'")
    ]
    assert emu.requests == []
