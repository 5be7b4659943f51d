"""The Azure CLI's current subscription, read from its profile file as az does: where the file is, which entry
is the default, and every shape of file that yields none (then the command asks for --subscription)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from vmssroll.adapter.azcli import CliSubscription, current_subscription, profile_path

SUB_A = "11111111-1111-1111-1111-111111111111"
SUB_B = "22222222-2222-2222-2222-222222222222"


def write_profile(folder: Path, document: Any, *, bom: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "azureProfile.json"
    text = document if isinstance(document, str) else json.dumps(document)
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode())
    return path


def profile(*subs: Any) -> dict[str, Any]:
    return {"installationId": "x", "subscriptions": list(subs)}


def test_the_profile_is_under_azure_config_dir_when_it_is_set(tmp_path: Path) -> None:
    env = {"AZURE_CONFIG_DIR": str(tmp_path / "cfg"), "HOME": str(tmp_path / "home")}
    assert profile_path(env) == tmp_path / "cfg" / "azureProfile.json"


def test_the_profile_is_under_home_dot_azure_by_default(tmp_path: Path) -> None:
    assert profile_path({"HOME": str(tmp_path)}) == tmp_path / ".azure" / "azureProfile.json"
    assert (
        profile_path({"HOME": str(tmp_path), "USERPROFILE": "elsewhere"})
        == tmp_path / ".azure" / "azureProfile.json"
    )
    assert profile_path({"USERPROFILE": str(tmp_path)}) == tmp_path / ".azure" / "azureProfile.json"
    assert (
        profile_path({"AZURE_CONFIG_DIR": "", "HOME": str(tmp_path)})
        == tmp_path / ".azure" / "azureProfile.json"
    )


def test_without_home_the_users_own_folder_is_used() -> None:
    assert profile_path({}) == Path(os.path.expanduser("~")) / ".azure" / "azureProfile.json"


def test_the_default_subscription_is_the_one_az_account_show_names(tmp_path: Path) -> None:
    path = write_profile(
        tmp_path / ".azure",
        profile(
            {"id": SUB_A, "name": "Dev", "isDefault": False},
            {"id": SUB_B, "name": "Prod", "isDefault": True, "tenantId": "t"},
        ),
    )
    got = current_subscription({"HOME": str(tmp_path)})
    assert got == CliSubscription(SUB_B, "Prod", str(path))


def test_the_profile_is_read_from_azure_config_dir(tmp_path: Path) -> None:
    write_profile(tmp_path / ".azure", profile({"id": SUB_A, "name": "Home", "isDefault": True}))
    path = write_profile(tmp_path / "cfg", profile({"id": SUB_B, "name": "Configured", "isDefault": True}))
    got = current_subscription({"HOME": str(tmp_path), "AZURE_CONFIG_DIR": str(tmp_path / "cfg")})
    assert got == CliSubscription(SUB_B, "Configured", str(path))


def test_a_profile_without_a_byte_order_mark_and_a_default_without_a_name(tmp_path: Path) -> None:
    path = write_profile(tmp_path / ".azure", profile({"id": SUB_A, "isDefault": True}), bom=False)
    assert current_subscription({"HOME": str(tmp_path)}) == CliSubscription(SUB_A, "", str(path))
    write_profile(tmp_path / ".azure", profile({"id": SUB_A, "name": None, "isDefault": True}))
    assert current_subscription({"HOME": str(tmp_path)}) == CliSubscription(SUB_A, "", str(path))


def test_the_first_default_wins(tmp_path: Path) -> None:
    write_profile(
        tmp_path / ".azure",
        profile(
            {"id": SUB_A, "name": "One", "isDefault": True}, {"id": SUB_B, "name": "Two", "isDefault": True}
        ),
    )
    got = current_subscription({"HOME": str(tmp_path)})
    assert got is not None and (got.id, got.name) == (SUB_A, "One")


@pytest.mark.parametrize(
    "document",
    [
        profile({"id": SUB_A, "name": "Dev", "isDefault": False}),
        profile({"id": SUB_A, "name": "Dev"}),
        profile({"id": SUB_A, "name": "Dev", "isDefault": "true"}),
        profile({"id": 12, "name": "Dev", "isDefault": True}),
        profile({"name": "Dev", "isDefault": True}),
        profile("not an entry", [SUB_A]),
        profile(),
        {"installationId": "x"},
        {"subscriptions": {"id": SUB_A, "isDefault": True}},
        {"SUBSCRIPTIONS": [{"id": SUB_A, "isDefault": True}]},
        [{"id": SUB_A, "isDefault": True}],
        "null",
        "{ not json",
        "",
    ],
)
def test_no_usable_default_is_none(tmp_path: Path, document: Any) -> None:
    write_profile(tmp_path / ".azure", document)
    assert current_subscription({"HOME": str(tmp_path)}) is None


def test_a_profile_that_is_not_utf8_is_none(tmp_path: Path) -> None:
    folder = tmp_path / ".azure"
    folder.mkdir()
    (folder / "azureProfile.json").write_bytes(b'{"subscriptions": [{"id": "\xff", "isDefault": true}]}')
    assert current_subscription({"HOME": str(tmp_path)}) is None


def test_no_profile_or_an_unreadable_one_is_none(tmp_path: Path) -> None:
    assert current_subscription({"HOME": str(tmp_path)}) is None
    (tmp_path / ".azure" / "azureProfile.json").mkdir(parents=True)  # a folder where the file belongs
    assert current_subscription({"HOME": str(tmp_path)}) is None


def test_only_the_first_mebibyte_is_read(tmp_path: Path) -> None:
    """No profile is that large: a bigger file is not read whole (it cannot hold a command up), so it is no
    JSON and yields none."""
    big = profile({"id": SUB_A, "name": "Dev", "isDefault": True}) | {"padding": "x" * (1 << 20)}
    write_profile(tmp_path / ".azure", big)
    assert current_subscription({"HOME": str(tmp_path)}) is None
    fits = profile({"id": SUB_A, "name": "Dev", "isDefault": True}) | {"padding": "x" * ((1 << 20) - 200)}
    assert (
        current_subscription({"HOME": str(write_profile(tmp_path / ".azure", fits).parent.parent)})
        is not None
    )
