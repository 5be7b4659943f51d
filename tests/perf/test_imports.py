"""Start-up stays lean: help, completion and argument errors never load the Azure SDK. Each check runs in a
fresh interpreter, so nothing loaded by the tests counts. (What each layer may import is read from the code by
tests/test_layering.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

# Runs the CLI in-process on each argument list (help and usage errors end in SystemExit), then prints which
# modules got loaded, as JSON on the last line of stderr.
DRIVER = textwrap.dedent(
    """
    import json, sys
    from vmssroll.cli.app import app
    for argv in json.loads(sys.argv[1]):
        try:
            app(argv, prog_name="vmssroll")
        except SystemExit:
            pass
    sys.stderr.write("\\n" + json.dumps(sorted(sys.modules)) + "\\n")
    """
)


def _loaded_after(*argvs: list[str], env: dict[str, str] | None = None) -> tuple[set[str], str]:
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(list(argvs))],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    *_, last = proc.stderr.rstrip("\n").rsplit("\n", 1)
    return set(json.loads(last)), proc.stdout + proc.stderr


def _azure(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m == "azure" or m.startswith("azure."))


def _commands() -> list[list[str]]:
    """Every command path of the app (`status`, `policy show`, ...), read from the app itself."""
    import typer.main

    from vmssroll.cli.app import app

    found: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        subcommands = getattr(command, "commands", None)
        if path:
            found.append(path)
        for name, sub in sorted((subcommands or {}).items()):
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def test_the_app_has_commands_to_check() -> None:
    names = {" ".join(c) for c in _commands()}
    assert {"status", "watch", "wait", "cancel", "restart", "start", "policy show"} <= names


def test_help_of_the_app_and_of_every_command_loads_no_azure_sdk() -> None:
    argvs = [["--help"], *[[*c, "--help"] for c in _commands()]]
    modules, output = _loaded_after(*argvs)
    assert "Usage" in output
    assert "azure.mgmt" not in modules
    assert _azure(modules) == []


def test_usage_and_input_errors_load_no_azure_sdk() -> None:
    modules, output = _loaded_after(
        ["no-such-command"],
        ["status", "--no-such-option"],
        ["watch", "-g", "rg", "-n", "web", "--interval"],  # option without its value
        ["watch", "-g", "rg", "-n", "web", "--interval", "soon"],  # refused by vmssroll before any request
        ["status"],  # no scale set named: exit 2 before any request
        ["status", "--id", "/not/a/resource/id"],
    )
    assert "No such command" in output and "No such option" in output
    assert "azure.mgmt" not in modules
    assert _azure(modules) == []


def test_shell_completion_loads_no_azure_sdk() -> None:
    import os

    env = {
        **os.environ,
        "_VMSSROLL_COMPLETE": "complete_bash",
        "COMP_WORDS": "vmssroll sta",
        "COMP_CWORD": "1",
    }
    modules, output = _loaded_after([], env=env)
    assert "status" in output
    assert _azure(modules) == []
