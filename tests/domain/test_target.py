"""Which scale set a command talks to: names and ids, validated before any request (table-driven)."""

from __future__ import annotations

import pytest

from vmssroll.domain.errors import InvalidInput
from vmssroll.domain.target import (
    ScaleSetRef,
    check_resource_group,
    check_scale_set_name,
    check_subscription,
    resolve_target,
)

SUB = "6f1c9b2e-0d3a-4c7e-9a51-2b8f4e7d1a01"
ID = f"/subscriptions/{SUB}/resourceGroups/rg-demo/providers/Microsoft.Compute/virtualMachineScaleSets/web"


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        (
            {"resource_group": "rg-demo", "name": "web", "subscription": SUB},
            ScaleSetRef(SUB, "rg-demo", "web"),
        ),
        ({"resource_group": "rg", "name": "w", "subscription": SUB.upper()}, ScaleSetRef(SUB, "rg", "w")),
        ({"resource_id": ID}, ScaleSetRef(SUB, "rg-demo", "web")),
        ({"resource_id": ID + "/"}, ScaleSetRef(SUB, "rg-demo", "web")),
        ({"resource_id": f"  {ID}  "}, ScaleSetRef(SUB, "rg-demo", "web")),
        ({"resource_id": ID.lower()}, ScaleSetRef(SUB, "rg-demo", "web")),
        (
            {"resource_id": ID, "subscription": "ignored-when-the-id-names-one"},
            ScaleSetRef(SUB, "rg-demo", "web"),
        ),
        (
            {"resource_group": "RG_(prod).1", "name": "web_1.a-b", "subscription": SUB},
            ScaleSetRef(SUB, "RG_(prod).1", "web_1.a-b"),
        ),
        (
            {"resource_group": "r" * 90, "name": "w" * 64, "subscription": SUB},
            ScaleSetRef(SUB, "r" * 90, "w" * 64),
        ),
        ({"resource_group": "rg", "name": "web_", "subscription": SUB}, ScaleSetRef(SUB, "rg", "web_")),
    ],
)
def test_resolved(kw: dict[str, str], expected: ScaleSetRef) -> None:
    args = {"resource_group": None, "name": None, "resource_id": None, "subscription": None, **kw}
    assert resolve_target(**args) == expected


@pytest.mark.parametrize(
    ("kw", "says"),
    [
        ({}, "missing --resource-group/-g and --name/-n"),
        ({"resource_group": "rg"}, "missing --name/-n"),
        ({"name": "web"}, "missing --resource-group/-g"),
        ({"resource_group": "", "name": "web"}, "missing --resource-group/-g"),
        ({"resource_group": "rg", "name": "web"}, "no subscription"),
        ({"resource_group": "rg", "name": "web", "subscription": "not-a-guid"}, "not a subscription id"),
        ({"resource_id": ID, "resource_group": "rg"}, "either --id or --resource-group/--name"),
        ({"resource_id": ID, "name": "web"}, "either --id or --resource-group/--name"),
        ({"resource_id": "/not/an/id"}, "is not a scale set id"),
        ({"resource_id": ID.replace("virtualMachineScaleSets", "virtualMachines")}, "is not a scale set id"),
        ({"resource_id": ID + "/virtualMachines/0"}, "is not a scale set id"),
        ({"resource_id": ID.replace(SUB, "sub")}, "not a subscription id"),
        ({"resource_id": ID.replace("/web", "/-web")}, "not a valid scale set name"),
        (
            {"resource_group": "bad name!", "name": "web", "subscription": SUB},
            "not a valid resource group name",
        ),
        ({"resource_group": "rg.", "name": "web", "subscription": SUB}, "not ending in a period"),
        ({"resource_group": "r" * 91, "name": "web", "subscription": SUB}, "not a valid resource group name"),
        ({"resource_group": "rg", "name": "-web", "subscription": SUB}, "not a valid scale set name"),
        ({"resource_group": "rg", "name": "web-", "subscription": SUB}, "not a valid scale set name"),
        ({"resource_group": "rg", "name": "web.", "subscription": SUB}, "not a valid scale set name"),
        ({"resource_group": "rg", "name": "w" * 65, "subscription": SUB}, "not a valid scale set name"),
        ({"resource_group": "rg", "name": "we b", "subscription": SUB}, "not a valid scale set name"),
        ({"resource_group": "rg", "name": "web/x", "subscription": SUB}, "not a valid scale set name"),
    ],
)
def test_refused(kw: dict[str, str], says: str) -> None:
    args = {"resource_group": None, "name": None, "resource_id": None, "subscription": None, **kw}
    with pytest.raises(InvalidInput) as err:
        resolve_target(**args)
    assert says in err.value.message


@pytest.mark.parametrize(
    ("check", "value", "ok"),
    [
        (check_subscription, SUB, True),
        (check_subscription, SUB.upper(), True),
        (check_subscription, SUB[:-1], False),
        (check_subscription, SUB.replace("-", ""), False),
        (check_subscription, "", False),
        (check_subscription, None, False),
        (check_resource_group, "a", True),
        (check_resource_group, "rg(1)", True),
        (check_resource_group, "", False),
        (check_resource_group, "rg/x", False),
        (check_scale_set_name, "a", True),
        (check_scale_set_name, "1", True),
        (check_scale_set_name, "_a", False),
        (check_scale_set_name, "", False),
    ],
)
def test_single_checks(check, value, ok: bool) -> None:
    if ok:
        assert check(value)
    else:
        with pytest.raises(InvalidInput):
            check(value)


def test_ref_id_and_args_round_trip() -> None:
    ref = ScaleSetRef(SUB, "rg-demo", "web")
    assert ref.id == ID
    assert resolve_target(resource_group=None, name=None, resource_id=ref.id, subscription=None) == ref
    assert ref.args() == "-g rg-demo -n web"
    assert check_subscription(SUB.upper()) == SUB


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({}, "missing --resource-group/-g and --name/-n (or give the scale set's full --id)"),
        ({"name": "web"}, "missing --resource-group/-g (or give the scale set's full --id)"),
        ({"resource_group": "rg", "name": "web"},
         "no subscription: pass --subscription/-s or set AZURE_SUBSCRIPTION_ID"),
        ({"resource_group": "rg", "name": "web", "subscription": "x"},
         "--subscription 'x' is not a subscription id (a GUID)"),
        ({"resource_id": ID, "name": "web"}, "give either --id or --resource-group/--name, not both"),
        ({"resource_id": "/x"},
         "--id '/x' is not a scale set id "
         "(/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Compute/virtualMachineScaleSets/NAME)"),
        ({"resource_id": ID + "\n"}, f"--id {ID + chr(10)!r} is not a scale set id "
         "(/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Compute/virtualMachineScaleSets/NAME)"),
        ({"resource_group": "rg.", "name": "web", "subscription": SUB},
         "--resource-group 'rg.' is not a valid resource group name "
         "(1-90 letters, digits, _ ( ) - . and not ending in a period)"),
        ({"resource_group": "rg", "name": "web-", "subscription": SUB},
         "--name 'web-' is not a valid scale set name (1-64 letters, digits, _ . - starting with a letter or "
         "digit)"),
    ],
)  # fmt: skip
def test_refusal_messages_exactly(kw: dict[str, str], message: str) -> None:
    args = {"resource_group": None, "name": None, "resource_id": None, "subscription": None, **kw}
    with pytest.raises(InvalidInput) as err:
        resolve_target(**args)
    assert err.value.message == message


def test_a_long_id_is_shown_up_to_160_characters_and_a_control_character_refused() -> None:
    long = "/x" * 100
    with pytest.raises(InvalidInput) as err:
        resolve_target(resource_group=None, name=None, resource_id=long, subscription=None)
    assert err.value.message.startswith(f"--id {long[:160]!r} (… 40 more characters) is not a scale set id")
    with pytest.raises(InvalidInput):
        resolve_target(
            resource_group=None, name=None, resource_id=ID.replace("web", "w\x1beb"), subscription=None
        )
    with pytest.raises(InvalidInput, match="resource group"):
        check_resource_group("rg\x7f")
    assert check_subscription(SUB.upper()) == SUB
