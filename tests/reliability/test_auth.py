"""Authentication and authorization: exit 9, a line that says what to do, never a request retried forever."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.helpers import NAME, RG, push_image, set_rolling, target
from tests.reliability.checks import one_clear_line

SUB = "11111111-2222-3333-4444-555555555555"
EXPIRED = (
    "Lifetime validation failed, the token is expired. The access token expiry UTC time '1/5/2026 8:00:00 AM' "
    "is earlier than current UTC time '1/5/2026 9:00:00 AM'."
)


def clean_env(home: str) -> dict[str, str]:
    """The environment with every Azure credential source removed (a fresh home: no CLI or MSAL caches)."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "MSI_", "IDENTITY_", "VMSSROLL_"))
    }
    env.update(HOME=home, USERPROFILE=home, PYTHONWARNINGS="default")
    return env


def test_no_credentials_is_exit_9_quickly_with_one_line_and_no_sdk_warnings(tmp_path):
    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "vmssroll",
            "policy",
            "show",
            *target(),
            "-s",
            SUB,
            "--endpoint",
            "https://management.invalid",
        ],
        env=clean_env(str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == 9, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: no Azure credential could get a token")
    for advice in ("az login", "AZURE_CLIENT_ID", "managed identity"):
        assert advice in lines[0]
    assert "WARNING" not in proc.stderr and "Traceback" not in proc.stderr
    assert elapsed < 20  # measured ~2 s, mostly imports; no credential probe hangs


def test_no_credentials_in_process_sends_nothing(vmssroll, emu, tmp_path, monkeypatch):
    for key in [
        k for k in os.environ if k.startswith(("AZURE_CLIENT", "AZURE_TENANT", "AZURE_USERNAME", "MSI_"))
    ]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))
    result = vmssroll(
        "status", *target(), "-s", SUB, env={"VMSSROLL_ARM_ENDPOINT": "https://management.invalid"}
    )
    assert result.exit_code == 9, result.output
    one_clear_line(result)
    assert emu.requests == []


@pytest.mark.parametrize(
    ("code", "message"),
    [("InvalidAuthenticationToken", None), ("ExpiredAuthenticationToken", EXPIRED)],
    ids=["invalid", "expired"],
)
def test_401_is_exit_9_with_what_to_do_and_is_not_retried(vmssroll, emu, code, message):
    emu.faults.add(kind="status", status=401, code=code, message=message)
    result = vmssroll("policy", "show", *target())
    assert result.exit_code == 9, result.output
    line = one_clear_line(result)
    assert "Azure refused the credential" in line and code in line and "az login" in line
    assert len(emu.requests) == 1


def test_401_with_retry_after_is_retried_a_bounded_number_of_times(vmssroll, emu):
    emu.faults.add(kind="status", status=401, retry_after=0)
    result = vmssroll("policy", "show", *target())
    assert result.exit_code == 9
    assert 1 < len(emu.requests) <= 4  # azure-core retries any answer with Retry-After, three times at most


def test_403_is_exit_9_and_names_the_role(vmssroll, emu):
    emu.faults.add(kind="status", status=403, method="GET")
    result = vmssroll("status", *target())
    assert result.exit_code == 9
    line = one_clear_line(result)
    assert "not authorised" in line and "AuthorizationFailed" in line
    assert "Virtual Machine Contributor" in line
    paths = [r.path for r in emu.requests]  # its three reads go together (issue 19); none is retried
    assert len(paths) <= 3 and len(set(paths)) == len(paths)


def test_a_reader_role_cannot_write_and_nothing_changes(vmssroll, emu):
    before = emu.vmss(RG, NAME)
    emu.faults.add(kind="status", status=403, method="PATCH")
    result = vmssroll("policy", "set", *target(), "--max-batch-instance-percent", "30", "--yes")
    assert result.exit_code == 9
    assert "Microsoft.Compute/virtualMachineScaleSets/write" in result.stderr.splitlines()[-1]
    assert len([r for r in emu.requests if r.method == "PATCH"]) == 1
    assert emu.vmss(RG, NAME) == before


def test_a_token_that_expires_during_a_watch_ends_it_with_exit_9(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.clock.advance(30)
    emu.clear_requests()
    emu.faults.add(
        kind="status", status=401, code="ExpiredAuthenticationToken", message=EXPIRED, method="GET"
    )
    result = vmssroll("watch", *target())
    assert result.exit_code == 9, result.output
    assert "az login" in result.stderr.splitlines()[-1]
    # a 401 is not a transient failure: the watch does not ride it out (the scale set, the status and the
    # instances were asked together, issue 19, each once)
    paths = [r.path for r in emu.requests]
    assert len(paths) <= 3 and len(set(paths)) == len(paths)


def test_a_403_on_cancel_is_exit_9(vmssroll, emu):
    set_rolling(emu)
    push_image(emu, "2.0.0")
    emu.faults.add(kind="status", status=403, method="POST")
    result = vmssroll("cancel", *target(), "--yes")
    assert result.exit_code == 9
    one_clear_line(result)
