"""The rolling upgrade policy rules: values, files, merging, cross-checks, diffs and the PATCH body."""

from __future__ import annotations

import string
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vmssroll.domain import policy as rules
from vmssroll.domain.errors import InvalidInput
from vmssroll.domain.model import ScaleSet, UpgradePolicy
from vmssroll.domain.policy import BY_REST, FIELDS, PolicyChange, PolicyInvalid, check_value

DEFAULTS = {f.rest: f.default for f in FIELDS}
OS_DEFAULTS = {f.rest: False for f in rules.OS_FIELDS}
PERCENTS = [f for f in FIELDS if f.kind == "percent"]
BOOLS = [f for f in FIELDS if f.kind == "bool"]


def scale_set(*, zones: tuple[str, ...] = ("1", "2", "3"), overprovision: bool | None = False) -> ScaleSet:
    return ScaleSet(
        id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web",
        name="web",
        resource_group="rg",
        location="westeurope",
        orchestration_mode="Uniform",
        capacity=10,
        zones=zones,
        overprovision=overprovision,
        sku="Standard_D2s_v5",
        etag='"1"',
        upgrade_policy=UpgradePolicy("Manual"),
        health_probe_id=None,
        extensions=(),
        external_health=False,
        image={},
    )


def test_fields_match_azure_ranges_and_defaults() -> None:
    assert {f.rest: (f.kind, f.low, f.high, f.default) for f in FIELDS} == {
        "maxBatchInstancePercent": ("percent", 5, 100, 20),
        "maxUnhealthyInstancePercent": ("percent", 5, 100, 20),
        "maxUnhealthyUpgradedInstancePercent": ("percent", 0, 100, 20),
        "pauseTimeBetweenBatches": ("duration", 0, 100, "PT0S"),
        "prioritizeUnhealthyInstances": ("bool", 0, 100, False),
        "enableCrossZoneUpgrade": ("bool", 0, 100, False),
        "maxSurge": ("bool", 0, 100, False),
        "rollbackFailedInstancesOnPolicyBreach": ("bool", 0, 100, False),
    }


# --- check_value --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rest", "value", "source", "expected"),
    [
        ("maxBatchInstancePercent", "5", "flag", 5),
        ("maxBatchInstancePercent", " 100 ", "flag", 100),
        ("maxBatchInstancePercent", 50, "file", 50),
        ("maxUnhealthyUpgradedInstancePercent", "0", "flag", 0),
        ("maxUnhealthyUpgradedInstancePercent", 0, "file", 0),
        ("pauseTimeBetweenBatches", "30s", "flag", "PT30S"),
        ("pauseTimeBetweenBatches", "PT1H30M", "file", "PT1H30M"),
        ("pauseTimeBetweenBatches", "1h30m", "file", "PT1H30M"),
        ("maxSurge", True, "flag", True),
        ("maxSurge", False, "file", False),
    ],
)
def test_value_accepted(rest: str, value: Any, source: str, expected: Any) -> None:
    assert check_value(BY_REST[rest], value, source=source) == expected


@pytest.mark.parametrize(
    ("rest", "value", "source", "says"),
    [
        (
            "maxBatchInstancePercent",
            "4",
            "flag",
            "--max-batch-instance-percent: 4 is out of range; it must be between 5 and 100",
        ),
        ("maxBatchInstancePercent", "101", "flag", "between 5 and 100"),
        ("maxBatchInstancePercent", "-5", "flag", "-5 is out of range"),
        ("maxBatchInstancePercent", "ten", "flag", "'ten' is not a whole number (5-100)"),
        ("maxBatchInstancePercent", "5.0", "flag", "is not a whole number"),
        ("maxBatchInstancePercent", "", "flag", "is not a whole number"),
        ("maxBatchInstancePercent", "²", "flag", "is not a whole number"),  # isdigit() but not int()
        ("maxBatchInstancePercent", "５０", "flag", "is not a whole number"),  # full-width digits
        (
            "maxBatchInstancePercent",
            "9" * 5000,
            "flag",
            "is not a whole number",
        ),  # beyond int()'s digit limit
        (
            "maxBatchInstancePercent",
            50.0,
            "file",
            "policy file rollingUpgradePolicy.maxBatchInstancePercent: 50.0",
        ),
        ("maxBatchInstancePercent", True, "file", "is not a whole number"),
        ("maxBatchInstancePercent", None, "file", "is not a whole number"),
        ("maxUnhealthyInstancePercent", 4, "file", "between 5 and 100"),
        ("maxUnhealthyUpgradedInstancePercent", -1, "file", "between 0 and 100"),
        ("maxUnhealthyUpgradedInstancePercent", "101", "flag", "between 0 and 100"),
        ("pauseTimeBetweenBatches", 30, "file", "is not a duration"),
        ("pauseTimeBetweenBatches", "P1M", "file", "months or years"),
        ("pauseTimeBetweenBatches", "8d", "flag", "--pause-time-between-batches: '8d' is longer than 7 days"),
        ("maxSurge", "true", "file", "'true' is not true or false"),
        ("maxSurge", 1, "file", "1 is not true or false"),
        ("maxSurge", None, "file", "is not true or false"),
        (
            "rollbackFailedInstancesOnPolicyBreach",
            "yes",
            "flag",
            "--rollback-on-breach: 'yes' is not true or false",
        ),
    ],
)
def test_value_refused(rest: str, value: Any, source: str, says: str) -> None:
    with pytest.raises(InvalidInput) as err:
        check_value(BY_REST[rest], value, source=source)
    assert says in err.value.message


@given(st.sampled_from(PERCENTS), st.integers(-(10**6), 10**6), st.booleans())
def test_every_percent_in_range_is_accepted_and_every_other_refused(spec, value: int, as_text: bool) -> None:
    given_value: Any = str(value) if as_text else value
    if spec.low <= value <= spec.high:
        assert check_value(spec, given_value, source="flag" if as_text else "file") == value
    else:
        with pytest.raises(InvalidInput, match=f"between {spec.low} and {spec.high}"):
            check_value(spec, given_value, source="flag" if as_text else "file")


@given(
    st.sampled_from(PERCENTS),
    st.text(max_size=8).filter(
        lambda t: not t.strip().lstrip("-").isascii() or not t.strip().lstrip("-").isdigit()
    ),
)
def test_percent_text_that_is_not_a_whole_number_is_refused(spec, text: str) -> None:
    with pytest.raises(InvalidInput, match="not a whole number"):
        check_value(spec, text, source="flag")


@given(
    st.sampled_from(BOOLS),
    st.one_of(st.none(), st.integers(), st.floats(), st.text(), st.lists(st.booleans())),
)
def test_booleans_in_files_are_only_true_or_false(spec, value: Any) -> None:
    with pytest.raises(InvalidInput, match="is not true or false"):
        check_value(spec, value, source="file")


@given(st.sampled_from(BOOLS), st.booleans())
def test_booleans_accepted(spec, value: bool) -> None:
    assert check_value(spec, value, source="file") is value


@given(st.integers(0, 7 * 86400))
def test_every_duration_in_range_becomes_iso(seconds: int) -> None:
    spec = BY_REST["pauseTimeBetweenBatches"]
    iso = check_value(spec, f"PT{seconds}S", source="file")
    assert check_value(spec, str(seconds), source="flag") == iso
    assert check_value(spec, iso, source="file") == iso  # normalised values are fixed points


# --- policy files -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({}, PolicyChange()),
        ({"mode": "rolling"}, PolicyChange(mode="Rolling")),
        ({"mode": None}, PolicyChange()),
        ({"rollingUpgradePolicy": None}, PolicyChange()),
        ({"rollingUpgradePolicy": {"maxSurge": True}}, PolicyChange(rolling={"maxSurge": True})),
        (
            {"upgradePolicy": {"mode": "Manual", "rollingUpgradePolicy": {"pauseTimeBetweenBatches": "2m"}}},
            PolicyChange(mode="Manual", rolling={"pauseTimeBetweenBatches": "PT2M"}),
        ),
        (
            rules.export_document("Automatic", {}),
            PolicyChange(mode="Automatic", rolling=DEFAULTS, automatic_os=OS_DEFAULTS),
        ),
    ],
)
def test_document_accepted(doc: Any, expected: PolicyChange) -> None:
    assert rules.change_from_document(doc) == expected


@pytest.mark.parametrize(
    ("doc", "lines"),
    [
        ([], ["the top level must be an object"]),
        ("mode: Manual", ["the top level must be an object"]),
        ({"upgradePolicy": 3}, ["upgradePolicy must be an object"]),
        ({"rollingUpgradePolicy": [1]}, ["rollingUpgradePolicy must be an object"]),
        ({"mode": "Fast"}, ["policy file mode: 'Fast' is not one of Manual, Automatic, Rolling"]),
        ({"mod": "Manual"}, ["unknown key 'mod'; did you mean 'mode'?"]),
        ({"MODE": "Manual"}, ["unknown key 'MODE'; did you mean 'mode'?"]),
        ({"maxSurge": True}, ["did you mean 'rollingUpgradePolicy.maxSurge'? (rolling fields go under"]),
        ({"zzz": 1}, ["unknown key 'zzz'; known keys: mode, rollingUpgradePolicy"]),
        (
            {"rollingUpgradePolicy": {"maxsurge": True}},
            ["unknown key 'rollingUpgradePolicy.maxsurge'; did you mean 'rollingUpgradePolicy.maxSurge'?"],
        ),
        (
            {"rollingUpgradePolicy": {"pauseTime": "PT1M"}},
            ["did you mean 'rollingUpgradePolicy.pauseTimeBetweenBatches'?"],
        ),
        (
            {"rollingUpgradePolicy": {"qqq": 1}},
            ["unknown key 'rollingUpgradePolicy.qqq'; known keys: maxBatchInstancePercent"],
        ),
        (
            {
                "mode": "x",
                "extra": 1,
                "rollingUpgradePolicy": {"maxSurge": "on", "maxBatchInstancePercent": 1, "y": 2},
            },
            [
                "unknown key 'extra'",
                "'x' is not one of",
                "'on' is not true or false",
                "1 is out of range",
                "rollingUpgradePolicy.y'",
            ],
        ),
    ],
)
def test_document_refused_with_every_problem(doc: Any, lines: list[str]) -> None:
    with pytest.raises(InvalidInput) as err:
        rules.change_from_document(doc)
    found = getattr(err.value, "problems_text", None) or [err.value.message]
    assert len(found) == len(lines), found
    for text in lines:
        assert any(text in line for line in found), (text, found)
    if isinstance(err.value, PolicyInvalid):
        assert [p.message for p in err.value.problems] == found
        assert all(p.severity == "error" and p.fix for p in err.value.problems)


KEY = st.text(alphabet=string.ascii_letters + string.digits + "_-. ", min_size=1, max_size=24)


@given(
    st.dictionaries(
        KEY.filter(lambda k: k not in rules.FILE_KEYS and k != "upgradePolicy"), st.integers(), min_size=1
    ),
    st.dictionaries(KEY.filter(lambda k: k not in BY_REST), st.booleans(), max_size=3),
)
def test_extra_keys_are_always_refused_one_problem_each(top: dict[str, Any], rolling: dict[str, Any]) -> None:
    doc = {"mode": "Manual", "rollingUpgradePolicy": {**DEFAULTS, **rolling}, **top}
    with pytest.raises(PolicyInvalid) as err:
        rules.change_from_document(doc)
    assert len(err.value.problems) == len(top) + len(rolling)
    assert all("unknown key" in p.message for p in err.value.problems)


@given(st.fixed_dictionaries({}, optional={f.rest: st.just(f.default) for f in FIELDS}))
def test_any_subset_of_valid_fields_is_accepted(rolling: dict[str, Any]) -> None:
    assert rules.change_from_document({"rollingUpgradePolicy": rolling}).rolling == rolling


# --- merging, cross-checks, diffs ---------------------------------------------------------------------------


def test_change_over_another_lets_the_top_one_win() -> None:
    file = PolicyChange(mode="Manual", rolling={"maxSurge": True, "maxBatchInstancePercent": 10})
    flags = PolicyChange(rolling={"maxBatchInstancePercent": 15})
    assert flags.over(file) == PolicyChange(
        mode="Manual", rolling={"maxSurge": True, "maxBatchInstancePercent": 15}
    )
    assert PolicyChange().empty and not flags.empty and not PolicyChange(mode="Manual").empty


@pytest.mark.parametrize(
    ("mode", "current", "change", "expected_mode", "changed"),
    [
        (None, {}, PolicyChange(), "Manual", {}),
        ("Rolling", {"maxSurge": True}, PolicyChange(), "Rolling", {"maxSurge": True}),
        ("Manual", {"maxSurge": True}, PolicyChange(rolling={"maxSurge": False}), "Manual", {}),
        ("Manual", {}, PolicyChange(mode="Automatic", rolling={"maxBatchInstancePercent": 5}), "Automatic",
         {"maxBatchInstancePercent": 5}),
        ("Manual", {"pauseTimeBetweenBatches": None}, PolicyChange(), "Manual", {}),
    ],
)  # fmt: skip
def test_apply(mode, current, change, expected_mode, changed) -> None:
    assert rules.apply(mode, current, change) == (expected_mode, {**DEFAULTS, **changed})


@pytest.mark.parametrize(
    ("rolling", "ss", "expected"),
    [
        ({}, None, []),
        ({"maxBatchInstancePercent": 20, "maxUnhealthyInstancePercent": 20}, None, []),
        ({"maxBatchInstancePercent": 21}, None, [("warning", "maxBatchInstancePercent")]),
        ({"maxUnhealthyInstancePercent": 5}, None, [("warning", "maxBatchInstancePercent")]),
        ({"enableCrossZoneUpgrade": True, "maxSurge": True}, None, []),  # offline: nothing to check against
        ({"enableCrossZoneUpgrade": True}, scale_set(), []),
        ({"enableCrossZoneUpgrade": True}, scale_set(zones=()), [("error", "enableCrossZoneUpgrade")]),
        ({"maxSurge": True}, scale_set(), []),
        ({"maxSurge": True}, scale_set(overprovision=True), [("error", "maxSurge")]),
        ({"maxSurge": True}, scale_set(overprovision=None), [("error", "maxSurge")]),
        (
            {"maxSurge": True, "enableCrossZoneUpgrade": True, "maxBatchInstancePercent": 100},
            scale_set(zones=(), overprovision=None),
            [
                ("warning", "maxBatchInstancePercent"),
                ("error", "enableCrossZoneUpgrade"),
                ("error", "maxSurge"),
            ],
        ),
    ],
)
def test_cross_check(rolling, ss, expected) -> None:
    findings = rules.cross_check(rolling, ss)
    assert [(f.severity, f.field) for f in findings] == expected
    assert all(f.message and f.fix for f in findings)


def test_cross_check_says_what_to_change() -> None:
    [zones] = rules.cross_check({"enableCrossZoneUpgrade": True}, scale_set(zones=()))
    assert "web has no zones" in zones.message and "--no-cross-zone" in zones.fix
    [surge] = rules.cross_check({"maxSurge": True}, scale_set(overprovision=None))
    assert "unset (on by default)" in surge.message and "overprovision" in surge.fix
    [batch] = rules.cross_check({"maxBatchInstancePercent": 50}, None)
    assert "50%" in batch.message and "20%" in batch.message
    assert "--max-batch-instance-percent" in batch.fix


def test_diff_lists_mode_first_then_fields_in_order_and_patch_body_only_changes() -> None:
    changes = rules.diff(
        None,
        {"maxSurge": True},
        "Automatic",
        {**DEFAULTS, "pauseTimeBetweenBatches": "PT1M", "maxSurge": False},
    )
    assert [(c.field, c.before, c.after) for c in changes] == [
        ("mode", None, "Automatic"),
        ("pauseTimeBetweenBatches", "PT0S", "PT1M"),
        ("maxSurge", True, False),
    ]
    assert rules.patch_body(changes) == {
        "properties": {
            "upgradePolicy": {
                "mode": "Automatic",
                "rollingUpgradePolicy": {"pauseTimeBetweenBatches": "PT1M", "maxSurge": False},
            }
        }
    }
    only_fields = rules.diff("Manual", {}, "Manual", {**DEFAULTS, "maxBatchInstancePercent": 30})
    assert rules.patch_body(only_fields) == {
        "properties": {"upgradePolicy": {"rollingUpgradePolicy": {"maxBatchInstancePercent": 30}}}
    }
    assert (
        rules.diff(None, {}, "Manual", DEFAULTS) == []
    )  # an unset mode is Manual; unset fields are defaults
    assert rules.patch_body([]) == {"properties": {"upgradePolicy": {}}}


@given(
    st.fixed_dictionaries(
        {},
        optional={
            f.rest: st.sampled_from(
                [f.default, 50 if f.kind == "percent" else "PT1M" if f.kind == "duration" else True]
            )
            for f in FIELDS
        },
    ),
    st.fixed_dictionaries(
        {},
        optional={
            f.rest: st.sampled_from(
                [f.default, 60 if f.kind == "percent" else "PT2M" if f.kind == "duration" else True]
            )
            for f in FIELDS
        },
    ),
)
def test_diff_then_patch_reaches_the_wanted_policy(before: dict[str, Any], change: dict[str, Any]) -> None:
    mode, after = rules.apply("Manual", before, PolicyChange(rolling=change))
    body = rules.patch_body(rules.diff("Manual", before, mode, after))
    sent = body["properties"]["upgradePolicy"].get("rollingUpgradePolicy", {})
    stored = {**before, **sent}
    assert rules.mismatches(mode, after, "Manual", stored) == []
    assert set(sent) <= set(change)  # only asked-for fields are ever sent


def test_mismatches_name_what_azure_stored_differently() -> None:
    wanted = {**DEFAULTS, "maxSurge": True}
    assert rules.mismatches("Rolling", wanted, "Rolling", {"maxSurge": True}) == []
    assert rules.mismatches("Rolling", wanted, "Manual", {}) == [
        "mode is Manual, asked Rolling",
        "maxSurge is False, asked True",
    ]


def test_export_document_is_every_field_with_defaults_filled() -> None:
    doc = rules.export_document(None, {"maxSurge": True})
    assert doc == {
        "mode": "Manual",
        "rollingUpgradePolicy": {**DEFAULTS, "maxSurge": True},
        "automaticOSUpgradePolicy": OS_DEFAULTS,
    }
    assert rules.change_from_document(doc).rolling == doc["rollingUpgradePolicy"]


@pytest.mark.parametrize(
    ("read", "canonical"),
    [("rolling", "Rolling"), (" MANUAL ", "Manual"), ("Automatic", "Automatic"), ("Sideways", "Sideways"),
     (None, None)],
)  # fmt: skip
def test_canonical_mode(read: str | None, canonical: str | None) -> None:
    assert rules.canonical_mode(read) == canonical


PINNED_WARNING = (
    "web's image is pinned to one version: automatic OS upgrades follow only an image referenced without a "
    "version (`latest`, or a gallery image definition)"
)
CHECK_OS = "see `vmssroll check --for os-upgrade -g rg -n web`"
IDLE_FIX = "add --automatic-os-upgrade to turn automatic OS upgrades on"
GALLERY = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/web"


# (case, automaticOSUpgradePolicy, the set's image or None for no set) → the findings (field, message, fix)
OS_CROSS: list[tuple[str, dict[str, Any], dict[str, Any] | None, list[tuple[str, str, str]]]] = [
    ("off, nothing else", {}, {"version": "1.0.0"}, []),
    ("off, rolling policy set: idle", {"useRollingUpgradePolicy": True}, None,
     [("automaticOSUpgradePolicy.useRollingUpgradePolicy",
       "useRollingUpgradePolicy has no effect while enableAutomaticOSUpgrade is false", IDLE_FIX)]),
    ("off, deferral set: idle", {"osRollingUpgradeDeferral": True}, None,
     [("automaticOSUpgradePolicy.osRollingUpgradeDeferral",
       "osRollingUpgradeDeferral has no effect while enableAutomaticOSUpgrade is false", IDLE_FIX)]),
    ("off, both set: one finding naming both",
     {"useRollingUpgradePolicy": True, "osRollingUpgradeDeferral": True, "disableAutomaticRollback": True}, None,
     [("automaticOSUpgradePolicy.useRollingUpgradePolicy",
       "useRollingUpgradePolicy, osRollingUpgradeDeferral has no effect while enableAutomaticOSUpgrade is false",
       IDLE_FIX)]),
    ("on, no set to compare", {"enableAutomaticOSUpgrade": True}, None, []),
    ("on, latest", {"enableAutomaticOSUpgrade": True}, {"version": "latest"}, []),
    ("on, LATEST", {"enableAutomaticOSUpgrade": True}, {"version": "LATEST"}, []),
    ("on, no version", {"enableAutomaticOSUpgrade": True}, {"publisher": "Canonical"}, []),
    ("on, gallery definition", {"enableAutomaticOSUpgrade": True}, {"id": GALLERY}, []),
    ("on, pinned version", {"enableAutomaticOSUpgrade": True, "useRollingUpgradePolicy": True},
     {"version": "1.0.0"},
     [("automaticOSUpgradePolicy.enableAutomaticOSUpgrade", PINNED_WARNING, CHECK_OS)]),
    ("on, gallery version", {"enableAutomaticOSUpgrade": True}, {"id": GALLERY.upper() + "/VERSIONS/1.0.0"},
     [("automaticOSUpgradePolicy.enableAutomaticOSUpgrade", PINNED_WARNING, CHECK_OS)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "automatic_os", "image", "expected"), OS_CROSS, ids=[c[0] for c in OS_CROSS]
)
def test_cross_check_os(
    case: str,
    automatic_os: dict[str, Any],
    image: dict[str, Any] | None,
    expected: list[tuple[str, str, str]],
) -> None:
    ss = None if image is None else replace(scale_set(), image=image)
    found = rules.cross_check_os(automatic_os, ss)
    assert [(f.severity, f.field, f.message, f.fix) for f in found] == [("warning", *e) for e in expected]


def test_diff_of_the_automatic_os_fields_comes_after_the_rolling_ones() -> None:
    changes = rules.diff(
        "Manual",
        {},
        "Rolling",
        {"maxBatchInstancePercent": 50},
        os_before={"enableAutomaticOSUpgrade": True},
        os_after={"enableAutomaticOSUpgrade": False, "useRollingUpgradePolicy": True},
    )
    assert [(c.field, c.before, c.after) for c in changes] == [
        ("mode", "Manual", "Rolling"),
        ("maxBatchInstancePercent", 20, 50),
        ("automaticOSUpgradePolicy.enableAutomaticOSUpgrade", True, False),
        ("automaticOSUpgradePolicy.useRollingUpgradePolicy", False, True),
    ]
    assert rules.diff(None, {}, "Manual", {}, os_after={}) == []
