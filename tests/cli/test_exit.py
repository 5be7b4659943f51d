"""The console script ends without Python's module teardown (cli/app.leave): what it must still do on the way
out: deliver every byte of output to a file or pipe, run the exit handlers, and keep the exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ENTRY = "import sys; from vmssroll.cli.app import main; sys.argv[0] = 'vmssroll'; main()"


def run(
    code: str, *args: str, env_extra: dict[str, str] | None = None, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-c", code, *args],
        env={**os.environ, "COLUMNS": "100", **(env_extra or {})},
        text=True,
        timeout=60,
        **kwargs,
    )


def test_json_to_a_file_is_complete(emu, tmp_path: Path):
    # Written to a file, stdout is block-buffered: leaving without a flush would lose the document's tail.
    emu.load_scenario("large")
    env = {"VMSSROLL_ARM_ENDPOINT": emu.url, "VMSSROLL_CA_BUNDLE": emu.ca_path,
           "AZURE_SUBSCRIPTION_ID": emu.subscription_id}  # fmt: skip
    out = tmp_path / "status.json"
    with out.open("w") as file:
        proc = run(ENTRY, "status", "-g", "rg-large", "-n", "fleet", "-o", "json",
                   stdout=file, stderr=subprocess.PIPE, env_extra=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["instances"]["total"] == emu.vmss("rg-large", "fleet")["sku"]["capacity"]


def test_exit_handlers_run_and_the_code_is_kept(tmp_path: Path):
    mark = tmp_path / "atexit-ran"
    code = (
        "import atexit, sys; from pathlib import Path; "
        f"atexit.register(lambda: Path({str(mark)!r}).write_text('yes')); "
        + ENTRY.removeprefix("import sys; ")
    )
    proc = run(code, "status", "-g", "rg", "-n", "bad name!", capture_output=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: ")
    assert mark.read_text() == "yes"
