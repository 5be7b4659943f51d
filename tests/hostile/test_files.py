"""Hostile files (`--file`, scenarios, `--ca-bundle`): regular files only, 1 MiB read bounded, no YAML alias
blow-up, nesting capped, duplicate keys and YAML 1.1 conversions refused, messages quoting a short excerpt."""

from __future__ import annotations

import json
import os
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import target
from vmssroll.documents import DocumentError, load_file, parse_json, parse_yaml
from vmssroll.emulator import ScenarioError
from vmssroll.emulator.scenarios import load as load_scenario

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(12)
)


def refused(result, emu) -> None:
    assert result.exit_code == 2, result.output
    assert emu.requests == [], [(r.method, r.path) for r in emu.requests]
    assert "Traceback" not in result.output
    assert all(line.startswith("error: ") for line in result.stderr.splitlines() if line.strip())
    assert len(result.stderr) < 2000, len(result.stderr)


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "policy.yaml"
    os.mkfifo(path)
    yield path
    # Unblock anything that did open it for reading (the old code did, and hung), so the test ends either way.
    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK) if _has_reader(path) else None
    if fd is not None:
        os.close(fd)


def _has_reader(path) -> bool:
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        return True
    except OSError:
        return False


def _in_time(fn, seconds: float = 5.0):
    """Run fn in a thread; fail (instead of hanging the suite) when it does not return in time."""
    box: list = []

    def call() -> None:
        try:
            box.append(("ok", fn()))
        except BaseException as exc:
            box.append(("raised", exc))

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "hung reading a file"
    kind, value = box[0]
    if kind == "raised":
        raise value
    return value


def test_a_fifo_device_or_directory_is_refused_without_hanging(vmssroll, emu, fifo, tmp_path):
    """Fails on the old code: reading --file from a FIFO blocked for ever waiting for a writer."""
    for path in (fifo, "/dev/zero", tmp_path):
        emu.clear_requests()
        result = _in_time(lambda p=path: vmssroll("policy", "set", *target(), "--file", str(p), "--yes"))
        refused(result, emu)
        assert "not a regular file" in result.stderr
    emu.clear_requests()
    result = _in_time(lambda: vmssroll("policy", "show", *target(), "--ca-bundle", str(fifo)))
    refused(result, emu)
    with pytest.raises(ScenarioError, match="not a regular file"):
        _in_time(lambda: load_scenario(str(fifo)))


def test_a_file_over_one_mebibyte_is_refused(vmssroll, emu, tmp_path):
    big = tmp_path / "policy.json"
    big.write_text('{"mode": "Rolling", "x": "' + "a" * (1024 * 1024) + '"}')
    emu.clear_requests()
    result = vmssroll("policy", "set", *target(), "--file", str(big), "--yes")
    refused(result, emu)
    assert "too large" in result.stderr


def test_yaml_aliases_are_refused_before_they_expand(vmssroll, emu, tmp_path):
    """Fails on the old code: a billion-laughs document of 400 bytes expanded to 150 million nodes."""
    bomb = tmp_path / "policy.yaml"
    bomb.write_text(BOMB)
    emu.clear_requests()
    result = _in_time(lambda: vmssroll("policy", "set", *target(), "--file", str(bomb), "--yes"))
    refused(result, emu)
    assert "aliases" in result.stderr
    with pytest.raises(DocumentError, match="aliases"):
        parse_yaml("a: &x {b: 1}\nc: *x\n")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("mode: Rolling\nrollingUpgradePolicy:\n  maxBatchInstancePercent: 010\n", "YAML 1.1 number"),
        ("mode: Rolling\nrollingUpgradePolicy:\n  maxBatchInstancePercent: 0x0a\n", "YAML 1.1 number"),
        ("mode: Rolling\nrollingUpgradePolicy:\n  enableCrossZoneUpgrade: yes\n", "YAML 1.1 boolean"),
        ("mode: Rolling\nrollingUpgradePolicy:\n  prioritizeUnhealthyInstances: on\n", "YAML 1.1 boolean"),
        ("mode: Rolling\nmode: Manual\n", "duplicate key"),
        ("mode: Rolling\nrollingUpgradePolicy: " + "[" * 40 + "]" * 40 + "\n", "nested"),
    ],
)
def test_yaml_surprises_and_duplicates_are_refused_not_converted(vmssroll, emu, tmp_path, text, why):
    """Fails on the old code: `010` was read as 8, `0x0a` as 10, `yes`/`on` as true, the last duplicate
    won."""
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    emu.clear_requests()
    result = vmssroll("policy", "set", *target(), "--file", str(path), "--yes")
    refused(result, emu)
    assert why in result.stderr, result.stderr


def test_json_duplicates_nan_and_depth_are_refused(tmp_path):
    for text, why in (
        ('{"mode": "Rolling", "mode": "Manual"}', "duplicate key"),
        ('{"rollingUpgradePolicy": {"maxBatchInstancePercent": NaN}}', "NaN"),
        ("[" * 100_000 + "]" * 100_000, "nested"),
    ):
        path = tmp_path / "policy.json"
        path.write_text(text)
        with pytest.raises(DocumentError, match=why):
            load_file(path)


def test_quoted_values_stay_text(tmp_path):
    assert parse_yaml("a: '010'\nb: 'yes'\nc: 10\nd: true\n") == {"a": "010", "b": "yes", "c": 10, "d": True}


def test_a_bad_value_is_quoted_short_and_escaped(vmssroll, emu, tmp_path):
    path = tmp_path / "policy.json"
    value = "\x1b]0;pwned\x07" + "x" * 50_000
    path.write_text(
        json.dumps({"mode": "Rolling", "rollingUpgradePolicy": {"pauseTimeBetweenBatches": value}})
    )
    emu.clear_requests()
    result = vmssroll("policy", "set", *target(), "--file", str(path), "--yes")
    refused(result, emu)
    assert "\x1b" not in result.output and "\x07" not in result.output


def request(emu, method: str, path: str, body: object) -> tuple[int, None, object]:
    import http.client
    import ssl

    ctx = ssl.create_default_context(cafile=emu.ca_path)
    conn = http.client.HTTPSConnection("127.0.0.1", emu.port, context=ctx, timeout=5)
    conn.request(method, path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    return resp.status, None, json.loads(raw) if raw else None


def test_the_control_api_loads_built_in_scenarios_only(emu, tmp_path):
    """Fails on the old code: POST /_emulator/scenario {"name": "/any/path"} read that file."""
    scenario = tmp_path / "mine.yaml"
    scenario.write_text("resource_groups: [{name: rg}]\nscale_sets: [{name: x, resource_group: rg}]\n")
    status, _, body = request(emu, "POST", "/_emulator/scenario", {"name": str(scenario)})
    assert status == 400 and "built-in scenarios only" in json.dumps(body)
    status, _, body = request(emu, "POST", "/_emulator/scenario", {"name": "/etc/passwd"})
    assert status == 400
    status, _, _ = request(emu, "POST", "/_emulator/scenario", {"name": "uniform-probe"})
    assert status == 200
    load_scenario(str(scenario))  # the command line still may


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(st.binary(max_size=400))
def test_arbitrary_bytes_parse_or_refuse_cleanly(data):
    text = data.decode("utf-8", "replace")
    for parse in (parse_yaml, parse_json):
        try:
            parse(text)
        except DocumentError as exc:
            assert len(str(exc)) < 300 and "\x1b" not in str(exc)
