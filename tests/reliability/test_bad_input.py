"""Bad input everywhere (property-based): arbitrary strings and numbers at every option, arbitrary file
contents and scenario files. Never a traceback; refused input is exit 2, a clear `error:` message, and no
request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.helpers import target

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# A shell cannot pass NUL in an argument (argv entries are C strings), so neither do these tests.
ARG = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=40)
NASTY = st.sampled_from(
    ["", " ", "-", "--", "-1", "1e3", "NaN", "inf", "0x10", "٥٠", "½", "50%", "5 0", "\n", "\t50", "50\n",
     "../../etc/passwd", "web;rm -rf /", "$(id)", "a" * 200, "P", "PT", "P1Y", "PT-5S", "PT1.5.5S", "1h-1m",
     "99999999999999999999h", "P9999999999D", "\u202eweb", "WEB", "web.", "_web", "rg/../x", "%2e%2e"]
)  # fmt: skip
TEXT = st.one_of(NASTY, ARG)
NUMBER = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


def clear_refusal(result: Any, problems: int = 1) -> None:
    """The contract for bad input: exit 2, and stderr is `error:` lines only, one per problem (at most
    `problems` bad values were given). Never the error boundary's report of a crash (exit 1), never a
    traceback.
    """
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "unexpected error" not in result.output, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert 1 <= len(lines) <= problems, result.stderr
    assert all(line.startswith("error: ") for line in lines), result.stderr


def no_requests(emu: Any) -> None:
    assert emu.requests == [], [(r.method, r.path) for r in emu.requests]


def outcome(result: Any, emu: Any, problems: int = 1, accepted: tuple[int, ...] = (0, 4)) -> None:
    """For input that may be valid: refused means the contract above with nothing sent; accepted means one of
    the `accepted` exit codes (4: a well-formed name that does not exist, 404) and Azure was asked."""
    assert "Traceback" not in result.output and "unexpected error" not in result.output, result.output
    if result.exit_code == 2:
        clear_refusal(result, problems)
        no_requests(emu)
    else:
        assert result.exit_code in accepted, result.output
        assert emu.requests


# Scale set coordinates --------------------------------------------------------------------------------------


@SETTINGS
@given(rg=TEXT, name=TEXT)
def test_any_resource_group_and_name(vmssroll, emu, rg, name):
    emu.clear_requests()
    outcome(vmssroll("policy", "show", "-g", rg, "-n", name), emu, problems=2)


@SETTINGS
@given(
    resource_id=st.one_of(
        TEXT,
        st.builds(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachineScaleSets/{}".format,
            st.one_of(st.uuids().map(str), TEXT),
            TEXT,
            TEXT,
        ),
    )
)
def test_any_resource_id(vmssroll, emu, resource_id):
    emu.clear_requests()
    outcome(vmssroll("status", "--id", resource_id), emu)


@SETTINGS
@given(subscription=TEXT)
def test_any_subscription(vmssroll, emu, subscription):
    emu.clear_requests()
    result = vmssroll("status", *target(), "--subscription", subscription)
    if subscription.strip() == "":
        return outcome(result, emu)
    clear_refusal(result)  # not a GUID
    no_requests(emu)


@SETTINGS
@given(
    cloud=TEXT,
    endpoint=st.one_of(TEXT.filter(lambda s: not s.lower().startswith("https://")), st.just("https://")),
)
def test_any_cloud_and_endpoint(vmssroll, emu, cloud, endpoint):
    emu.clear_requests()
    clear_refusal(vmssroll("status", *target(), "--cloud", cloud, "--endpoint", endpoint), problems=2)
    no_requests(emu)


# Policy values ----------------------------------------------------------------------------------------------

PERCENT_FLAGS = (
    ("--max-batch-instance-percent", 5),
    ("--max-unhealthy-instance-percent", 5),
    ("--max-unhealthy-upgraded-instance-percent", 0),
)


@SETTINGS
@given(flag=st.sampled_from(PERCENT_FLAGS), value=st.one_of(TEXT, NUMBER))
def test_any_percentage_is_checked_offline(vmssroll, emu, flag, value):
    emu.clear_requests()
    result = vmssroll("policy", "validate", flag[0], value)
    no_requests(emu)
    stripped = value.strip()
    valid = stripped.isascii() and stripped.isdigit() and flag[1] <= int(stripped) <= 100
    if valid:
        assert result.exit_code == 0, result.output
    else:
        clear_refusal(result)


@SETTINGS
@given(flag=st.sampled_from(PERCENT_FLAGS), value=st.integers().filter(lambda v: not 0 <= v <= 100).map(str))
def test_an_out_of_range_percentage_never_reaches_azure(vmssroll, emu, flag, value):
    emu.clear_requests()
    clear_refusal(vmssroll("policy", "set", *target(), flag[0], value, "--yes"))
    no_requests(emu)


@SETTINGS
@given(value=TEXT)
def test_any_pause_duration(vmssroll, emu, value):
    emu.clear_requests()
    result = vmssroll("policy", "validate", "--pause-time-between-batches", value)
    no_requests(emu)
    if result.exit_code:
        clear_refusal(result)


@SETTINGS
@given(
    option=st.sampled_from(["--interval", "--timeout", "--progress-deadline"]), value=st.one_of(TEXT, NUMBER)
)
def test_any_watch_duration(vmssroll, emu, option, value):
    emu.clear_requests()
    outcome(vmssroll("wait", *target(), option, value), emu)


@SETTINGS
@given(value=st.one_of(TEXT, NUMBER))
def test_any_wait_healthy_duration_is_checked_before_any_request(vmssroll, emu, value):
    emu.clear_requests()
    outcome(vmssroll("enable-rolling", *target(), "--wait-healthy", value, "--dry-run"), emu, accepted=(0,))


@SETTINGS
@given(mode=TEXT.filter(lambda s: s.strip().lower() not in ("manual", "automatic", "rolling")))
def test_any_mode(vmssroll, emu, mode):
    emu.clear_requests()
    clear_refusal(vmssroll("policy", "set", *target(), "--mode", mode, "--yes"))
    no_requests(emu)


# Files ------------------------------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
POLICY_KEYS = st.sampled_from(
    ["mode", "rollingUpgradePolicy", "maxBatchInstancePercent", "maxSurge", "pauseTimeBetweenBatches",
     "enableCrossZoneUpgrade", "upgradePolicy", "automaticOSUpgradePolicy", ""]
)  # fmt: skip
POLICY_LIKE = st.recursive(
    st.none() | st.booleans() | st.integers(-200, 200) | st.text(max_size=10) | NASTY,
    lambda children: st.dictionaries(POLICY_KEYS, children, max_size=5) | st.lists(children, max_size=3),
    max_leaves=10,
)


@SETTINGS
@given(doc=st.one_of(JSON, POLICY_LIKE), suffix=st.sampled_from([".json", ".yaml", ".yml", ".txt"]))
def test_any_policy_document(vmssroll, emu, tmp_path_factory, doc, suffix):
    path = Path(tmp_path_factory.mktemp("policy")) / f"policy{suffix}"
    path.write_text(json.dumps(doc), encoding="utf-8")  # JSON is YAML too
    emu.clear_requests()
    result = vmssroll("policy", "validate", "--file", str(path))
    no_requests(emu)
    if result.exit_code:
        clear_refusal(result, problems=99)  # a document may have several problems: one line each


@SETTINGS
@given(
    raw=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)),
    suffix=st.sampled_from([".json", ".yaml"]),
)
def test_any_policy_file_bytes(vmssroll, emu, tmp_path_factory, raw, suffix):
    path = Path(tmp_path_factory.mktemp("policy")) / f"policy{suffix}"
    path.write_bytes(raw)
    emu.clear_requests()
    # accepted: applied (0), or not ready for the Rolling mode it asks for (3)
    outcome(
        vmssroll("policy", "set", *target(), "--file", str(path), "--yes"), emu, problems=99, accepted=(0, 3)
    )


def test_a_missing_or_unreadable_policy_file(vmssroll, emu, tmp_path):
    emu.clear_requests()
    clear_refusal(vmssroll("policy", "validate", "--file", str(tmp_path / "missing.json")))
    clear_refusal(vmssroll("policy", "validate", "--file", str(tmp_path)))  # a directory
    no_requests(emu)


# Scenario files (the emulator's input) ----------------------------------------------------------------------


def _scenario_strategy() -> st.SearchStrategy[Any]:
    from vmssroll.emulator import scenarios

    leaf = st.none() | st.booleans() | st.integers(-5, 2000) | st.text("ab-_1", max_size=6)
    value = st.recursive(
        leaf, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text("abcxyz_", max_size=6), c, max_size=3),
        max_leaves=6,
    )  # fmt: skip
    scale_set = st.fixed_dictionaries(
        {"name": st.just("web") | value, "resource_group": st.just("rg") | value},
        optional={f: value for f in sorted(scenarios._SET - {"name", "resource_group"})},
    )
    return st.fixed_dictionaries(
        {"scale_sets": st.lists(scale_set, min_size=1, max_size=2) | value},
        optional={k: value for k in sorted(scenarios._TOP - {"scale_sets"})},
    )


@settings(SETTINGS, max_examples=200, phases=[Phase.generate])  # no shrinking while it is a known gap
@given(doc=st.deferred(_scenario_strategy))
def test_any_scenario_is_loaded_or_refused_with_a_scenario_error(doc):
    from datetime import UTC, datetime

    from vmssroll.emulator import scenarios

    try:
        scenarios.build(scenarios.load(doc), datetime(2026, 1, 5, tzinfo=UTC))
    except scenarios.ScenarioError as err:
        assert str(err)


@pytest.mark.parametrize(
    "content",
    ["scale_sets: [", "scale_sets: 7", "{}", "scale_sets: [{name: web}]", "\x00\x01", "name: [unclosed"],
)
def test_the_emulator_command_refuses_a_bad_scenario_file_in_one_line(tmp_path, content):
    import subprocess
    import sys

    path = tmp_path / "bad.yaml"
    path.write_text(content)
    proc = subprocess.run(
        [sys.executable, "-m", "vmssroll.emulator", "--scenario", str(path), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
